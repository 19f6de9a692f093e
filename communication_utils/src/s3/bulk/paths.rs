//! The files of a batch: a local folder walked into items, keys mapped to
//! local paths (never outside the target folder).

use std::path::{Component, Path, PathBuf};
use std::time::SystemTime;

use crate::s3::error::Error;

/// One file to transfer, or an entry that already failed before its transfer.
pub(crate) struct Item {
    pub(crate) key: String,
    pub(crate) path: PathBuf,
    pub(crate) size: u64,
    /// The source's modification time (the local file's, or the object's
    /// `LastModified`), when known.
    pub(crate) modified: Option<SystemTime>,
    pub(crate) early_error: Option<Error>,
}

/// `prefix` as a folder: empty, or ending in `/`.
pub(crate) fn folder(prefix: &str) -> String {
    if prefix.is_empty() || prefix.ends_with('/') {
        prefix.to_owned()
    } else {
        format!("{prefix}/")
    }
}

/// The local path of `rel` (a key relative to the prefix) under `dir`, or
/// `None` when it is not a plain relative path (`..`, absolute, empty parts).
pub(crate) fn safe_join(dir: &Path, rel: &str) -> Option<PathBuf> {
    let mut out = dir.to_owned();
    for part in rel.split('/') {
        let mut comps = Path::new(part).components();
        match (comps.next(), comps.next()) {
            (Some(Component::Normal(c)), None) if part != "." => out.push(c),
            _ => return None,
        }
    }
    Some(out)
}

/// The files under the folder `root` (which must be one), as [`walk`]
/// lists them for the key prefix `prefix`, walked on a blocking thread.
pub(crate) async fn walk_folder(root: &Path, prefix: &str) -> Result<Vec<Item>, Error> {
    let meta = tokio::fs::metadata(root)
        .await
        .map_err(|e| Error::io(root, e))?;
    if !meta.is_dir() {
        return Err(Error::io(
            root,
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a folder"),
        ));
    }
    let (root, prefix) = (root.to_owned(), prefix.to_owned());
    tokio::task::spawn_blocking(move || walk(&root, &prefix))
        .await
        .map_err(Error::task)
}

/// Walks `root` (blocking): regular files and symlinks to files become
/// items; unreadable folders, symlinks to folders and names that are not
/// UTF-8 become failed items.
pub(crate) fn walk(root: &Path, prefix: &str) -> Vec<Item> {
    let mut items = Vec::new();
    let mut stack = vec![(root.to_owned(), String::new())];
    while let Some((dir, rel)) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) => {
                items.push(failed(
                    format!("{prefix}{rel}"),
                    dir.clone(),
                    Error::io(&dir, e),
                ));
                continue;
            }
        };
        for entry in entries {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    items.push(failed(
                        format!("{prefix}{rel}"),
                        dir.clone(),
                        Error::io(&dir, e),
                    ));
                    continue;
                }
            };
            let path = entry.path();
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                let err = Error::InvalidInput(format!(
                    "`{}` has no UTF-8 name, so no key",
                    path.display()
                ));
                items.push(failed(format!("{prefix}{rel}?"), path, err));
                continue;
            };
            let key_rel = format!("{rel}{name}");
            let is_dir = match entry.file_type() {
                Ok(t) if t.is_dir() => true,
                Ok(t) if t.is_symlink() => {
                    if std::fs::metadata(&path).is_ok_and(|m| m.is_dir()) {
                        let err = Error::io(
                            &path,
                            std::io::Error::new(
                                std::io::ErrorKind::InvalidInput,
                                "symbolic link to a folder: not followed",
                            ),
                        );
                        items.push(failed(format!("{prefix}{key_rel}"), path, err));
                        continue;
                    }
                    false
                }
                Ok(_) => false,
                Err(e) => {
                    let err = Error::io(&path, e);
                    items.push(failed(format!("{prefix}{key_rel}"), path, err));
                    continue;
                }
            };
            if is_dir {
                stack.push((path, format!("{key_rel}/")));
            } else {
                // Symlinks to files are followed (their target's bytes are
                // uploaded); a dangling one fails in `upload_file`, as do
                // FIFOs, sockets and devices ("not a regular file").
                let meta = std::fs::metadata(&path)
                    .ok()
                    .filter(std::fs::Metadata::is_file);
                items.push(Item {
                    key: format!("{prefix}{key_rel}"),
                    path,
                    size: meta.as_ref().map_or(0, std::fs::Metadata::len),
                    modified: meta.and_then(|m| m.modified().ok()),
                    early_error: None,
                });
            }
        }
    }
    items.sort_by(|a, b| a.key.cmp(&b.key));
    items
}

pub(crate) fn failed(key: String, path: PathBuf, error: Error) -> Item {
    Item {
        key,
        path,
        size: 0,
        modified: None,
        early_error: Some(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_that_leave_the_folder_are_refused() {
        let d = Path::new("/tmp/x");
        assert_eq!(
            safe_join(d, "a/b.txt"),
            Some(PathBuf::from("/tmp/x/a/b.txt"))
        );
        assert_eq!(
            safe_join(d, ".hidden"),
            Some(PathBuf::from("/tmp/x/.hidden"))
        );
        for bad in [
            "../a",
            "a/../../b",
            "/etc/passwd",
            "a//b",
            "",
            "a/./b",
            "..",
        ] {
            assert_eq!(safe_join(d, bad), None, "{bad}");
        }
    }

    #[test]
    fn prefixes_are_folders() {
        assert_eq!(folder(""), "");
        assert_eq!(folder("a"), "a/");
        assert_eq!(folder("a/"), "a/");
    }
}
