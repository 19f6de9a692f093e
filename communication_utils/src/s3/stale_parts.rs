//! Removal of the temporary files (`.NAME.<16 hex>.part`) that downloads
//! killed half-way (the process ended, so no destructor ran) left behind.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// A download's temporary file last written this long ago is taken as left
/// by a download that died (a running download writes its file as the data
/// arrives; one stalled for an hour loses its file and fails at its rename).
pub(crate) const STALE_PART_AGE: Duration = Duration::from_secs(3600);

/// True for the names `download_file` gives its temporary files:
/// `.` + a non-empty name + `.` + 16 lower-case hex digits + `.part`.
pub(crate) fn is_our_part_name(name: &OsStr) -> bool {
    let Some(name) = name.to_str() else {
        return false;
    };
    let Some(rest) = name.strip_prefix('.').and_then(|n| n.strip_suffix(".part")) else {
        return false;
    };
    let Some((base, hex)) = rest.rsplit_once('.') else {
        return false;
    };
    !base.is_empty()
        && hex.len() == 16
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Removes from `dir` the regular files of our naming whose last change is
/// at least `max_age` old; best effort (a failure is logged at debug level
/// and skipped), never touching any other file. Returns the paths removed.
pub(crate) fn remove_stale_parts(dir: &Path, max_age: Duration) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            tracing::debug!(dir = %dir.display(), error = %e, "stale .part files not looked for");
            return removed;
        }
    };
    let now = SystemTime::now();
    for entry in entries.flatten() {
        if !is_our_part_name(&entry.file_name()) {
            continue;
        }
        // `DirEntry::metadata` does not follow symlinks: a link is left alone.
        let Ok(meta) = entry.metadata() else { continue };
        let old = meta
            .modified()
            .ok()
            .and_then(|t| now.duration_since(t).ok())
            .is_some_and(|age| age >= max_age);
        if !meta.is_file() || !old {
            continue;
        }
        let path = entry.path();
        match std::fs::remove_file(&path) {
            Ok(()) => {
                tracing::debug!(file = %path.display(), "stale download .part file removed");
                removed.push(path);
            }
            Err(e) => {
                tracing::debug!(file = %path.display(), error = %e, "stale .part file not removed");
            }
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_names_match() {
        for ok in [
            ".a.bin.0123456789abcdef.part",
            ".x.00000000000000ff.part",
            // A download to a dot-file, `.env`.
            "..env.0123456789abcdef.part",
        ] {
            assert!(is_our_part_name(OsStr::new(ok)), "{ok}");
        }
        for no in [
            "a.bin.0123456789abcdef.part",
            ".0123456789abcdef.part",
            ".a.0123456789ABCDEF.part",
            ".a.0123456789abcde.part",
            ".a.0123456789abcdef0.part",
            ".a.0123456789abcdeg.part",
            ".a.0123456789abcdef.partial",
            ".a.part",
            "notes.part",
        ] {
            assert!(!is_our_part_name(OsStr::new(no)), "{no}");
        }
    }
}
