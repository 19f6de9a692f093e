//! Python's `mimetypes.guess_type(name)` (strict, as CPython 3.11 does it)
//! for the `FileType` the original client stores.
//!
//! The database is what `mimetypes.init()` builds: the built-in table
//! ([`table`], generated from Python), then every file of
//! [`KNOWN_FILES`] that exists, in that order, each entry replacing an
//! earlier one for the same extension. It is built once, at first use.

use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

mod table;

/// `mimetypes.knownfiles`: the `mime.types` files Python reads, in its order
/// (the duplicate included, as Python reads it twice).
pub(crate) const KNOWN_FILES: [&str; 9] = [
    "/etc/mime.types",
    "/etc/httpd/mime.types",
    "/etc/httpd/conf/mime.types",
    "/etc/apache/mime.types",
    "/etc/apache2/mime.types",
    "/usr/local/etc/httpd/conf/mime.types",
    "/usr/local/lib/netscape/mime.types",
    "/usr/local/etc/httpd/conf/mime.types",
    "/usr/local/etc/mime.types",
];

/// What `guess_type` returns: the type (`None` when unknown) and the
/// encoding (`gzip` for `x.tar.gz`).
pub(crate) type Guess = (Option<String>, Option<&'static str>);

/// The strict half of a `mimetypes.MimeTypes` database: extension (dot
/// included, case kept as read) to type.
#[derive(Debug, Clone)]
pub(crate) struct MimeDb {
    types: HashMap<String, String>,
}

/// The database Python's module-level `guess_type` uses on this machine:
/// the built-in table, then [`KNOWN_FILES`]; read on the first call.
pub(crate) fn system() -> &'static MimeDb {
    static DB: OnceLock<MimeDb> = OnceLock::new();
    DB.get_or_init(|| MimeDb::load(&KNOWN_FILES))
}

impl MimeDb {
    /// The built-in table, then each of `files` that is a regular file, in
    /// order (`mimetypes.init(files)` with a fresh database).
    pub(crate) fn load<P: AsRef<Path>>(files: &[P]) -> Self {
        let mut db = MimeDb {
            types: table::TYPES
                .iter()
                .map(|&(ext, ty)| (ext.to_owned(), ty.to_owned()))
                .collect(),
        };
        for file in files {
            db.read_file(file.as_ref());
        }
        db
    }

    /// `os.path.isfile(file)` then `MimeTypes.read(file)`. A missing file,
    /// a directory, or one that cannot be read is skipped. Python decodes
    /// the file as UTF-8 and raises on invalid bytes (every `guess_type`
    /// then fails); here they are replaced and the rest of the file is used.
    fn read_file(&mut self, path: &Path) {
        if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
            return;
        }
        match std::fs::read(path) {
            Ok(bytes) => {
                let before = self.types.len();
                self.read_text(&String::from_utf8_lossy(&bytes));
                tracing::debug!(
                    path = %path.display(),
                    new_extensions = self.types.len() - before,
                    "read MIME types"
                );
            }
            Err(e) => {
                tracing::debug!(path = %path.display(), error = %e, "MIME types file not read");
            }
        }
    }

    /// `MimeTypes.readfp`: per line, whitespace-separated words, a word
    /// starting with `#` ends the line, the first word is the type and every
    /// other word an extension (without its dot) that now maps to it.
    fn read_text(&mut self, text: &str) {
        // Python's text files end lines at `\n`, `\r\n` and `\r`; the empty
        // "line" between `\r` and `\n` has no words, so splitting on either
        // is the same.
        for line in text.split(['\r', '\n']) {
            let mut words = line
                .split(is_python_space)
                .filter(|w| !w.is_empty())
                .take_while(|w| !w.starts_with('#'));
            let Some(ty) = words.next() else { continue };
            for suffix in words {
                self.types.insert(format!(".{suffix}"), ty.to_owned());
            }
        }
    }

    /// `MimeTypes.guess_type(url, strict=True)` of CPython 3.11.
    pub(crate) fn guess_type(&self, url: &str) -> Guess {
        let url = match split_scheme(url) {
            Some((scheme, rest)) if scheme == "data" => return (data_url_type(rest), None),
            Some((_, rest)) => rest,
            None => url,
        };
        let (base, ext) = splitext(url);
        let (mut base, mut ext) = (base.to_owned(), ext.to_owned());
        // Suffixes standing for others (`.tgz` is `.tar.gz`), compared lower-cased.
        while let Some(expanded) = lookup(table::SUFFIXES, &ext.to_lowercase()) {
            let joined = format!("{base}{expanded}");
            let (b, e) = splitext(&joined);
            (base, ext) = (b.to_owned(), e.to_owned());
        }
        // Encodings are compared with case: `.Z` is compress, `.z` nothing.
        let encoding = lookup(table::ENCODINGS, &ext);
        if encoding.is_some() {
            ext = splitext(&base).1.to_owned();
        }
        (self.types.get(&ext.to_lowercase()).cloned(), encoding)
    }
}

fn lookup(table: &'static [(&'static str, &'static str)], key: &str) -> Option<&'static str> {
    table.iter().find(|(k, _)| *k == key).map(|&(_, v)| v)
}

/// Whitespace as Python's `str.split()` sees it: Unicode `White_Space` plus
/// the separators U+001C..U+001F.
fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// `urllib.parse._splittype`: `scheme:rest` when the text before the first
/// `:` is not empty and has no `/`; the scheme lower-cased.
fn split_scheme(url: &str) -> Option<(String, &str)> {
    let (scheme, rest) = url.split_once(':')?;
    if scheme.is_empty() || scheme.contains('/') {
        return None;
    }
    Some((scheme.to_lowercase(), rest))
}

/// The type of a `data:` URL (what follows `data:`), as `guess_type` reads
/// it: up to the first `;` or `,`; `text/plain` when that is not a type.
/// No `,` at all: no type.
fn data_url_type(rest: &str) -> Option<String> {
    let (head, _) = rest.split_once(',')?;
    let ty = head.split_once(';').map_or(head, |(t, _)| t);
    if ty.contains('=') || !ty.contains('/') {
        Some("text/plain".to_owned())
    } else {
        Some(ty.to_owned())
    }
}

/// `posixpath.splitext`: the extension is from the last `.` of the last
/// `/`-separated component, unless that component is only dots before it
/// (`.bashrc` has no extension, `..a.txt` has `.txt`).
fn splitext(p: &str) -> (&str, &str) {
    let name_start = p.rfind('/').map_or(0, |i| i + 1);
    match p.rfind('.') {
        Some(dot) if dot >= name_start && p[name_start..dot].bytes().any(|b| b != b'.') => {
            p.split_at(dot)
        }
        _ => (p, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builtin() -> MimeDb {
        MimeDb::load::<&str>(&[])
    }

    fn ty(db: &MimeDb, name: &str) -> Option<String> {
        db.guess_type(name).0
    }

    #[test]
    fn splitext_is_posixpath_splitext() {
        assert_eq!(splitext("a/b.tar.gz"), ("a/b.tar", ".gz"));
        assert_eq!(splitext(".hidden"), (".hidden", ""));
        assert_eq!(splitext("..a.txt"), ("..a", ".txt"));
        assert_eq!(splitext("dir.d/noext"), ("dir.d/noext", ""));
        assert_eq!(splitext("x."), ("x", "."));
        assert_eq!(splitext("c:\\d.x\\y"), ("c:\\d", ".x\\y"));
        assert_eq!(splitext(""), ("", ""));
    }

    #[test]
    fn compressed_names_give_the_inner_type_and_the_encoding() {
        let db = builtin();
        let tar = Some("application/x-tar".to_owned());
        assert_eq!(db.guess_type("x.tar.gz"), (tar.clone(), Some("gzip")));
        assert_eq!(db.guess_type("x.tar.Z"), (tar.clone(), Some("compress")));
        assert_eq!(db.guess_type("x.tar.br"), (tar.clone(), Some("br")));
        assert_eq!(db.guess_type("x.gz"), (None, Some("gzip")));
        assert_eq!(
            db.guess_type("notes.txt.bz2"),
            (Some("text/plain".to_owned()), Some("bzip2"))
        );
        // Encodings are matched with case; `.z` and `.GZ` are plain extensions.
        assert_eq!(db.guess_type("x.tar.z"), (None, None));
        assert_eq!(db.guess_type("x.TAR.GZ"), (None, None));
        assert_eq!(db.guess_type("x.gz.tar"), (tar, None));
    }

    #[test]
    fn suffix_map_expands_before_encodings() {
        let db = builtin();
        let tar = Some("application/x-tar".to_owned());
        for (name, enc) in [
            ("x.tgz", "gzip"),
            ("x.taz", "gzip"),
            ("x.tz", "gzip"),
            ("x.TGZ", "gzip"), // suffix_map is compared lower-cased
            ("x.tbz2", "bzip2"),
            ("x.txz", "xz"),
        ] {
            assert_eq!(db.guess_type(name), (tar.clone(), Some(enc)), "{name}");
        }
        assert_eq!(
            db.guess_type("logo.svgz"),
            (Some("image/svg+xml".to_owned()), Some("gzip"))
        );
    }

    #[test]
    fn type_suffixes_are_compared_lower_cased() {
        let db = builtin();
        assert_eq!(ty(&db, "A.TXT").as_deref(), Some("text/plain"));
        assert_eq!(ty(&db, "x.Json").as_deref(), Some("application/json"));
        let mut db = builtin();
        db.read_text("application/x-upper ELN\n");
        // Python keeps `.ELN` as read but looks `.eln` up: never found.
        assert_eq!(ty(&db, "x.ELN"), None);
    }

    #[test]
    fn names_without_an_extension_have_no_type() {
        let db = builtin();
        for name in ["noext", ".hidden", "dir.d/noext", "x.", "", "/"] {
            assert_eq!(db.guess_type(name), (None, None), "{name:?}");
        }
        assert_eq!(ty(&db, ".hidden.txt").as_deref(), Some("text/plain"));
        assert_eq!(ty(&db, "..a.txt").as_deref(), Some("text/plain"));
    }

    #[test]
    fn a_leading_scheme_is_dropped_and_data_urls_read() {
        let db = builtin();
        assert_eq!(
            ty(&db, "scheme:x.json").as_deref(),
            Some("application/json")
        );
        assert_eq!(ty(&db, "a/b:x.json").as_deref(), Some("application/json"));
        assert_eq!(ty(&db, "c:\\dir\\x.txt").as_deref(), Some("text/plain"));
        assert_eq!(ty(&db, "data:2024.csv"), None, "data URL without a comma");
        assert_eq!(
            ty(&db, "data:image/png;base64,AAA").as_deref(),
            Some("image/png")
        );
        assert_eq!(ty(&db, "DATA:a=b/c,x").as_deref(), Some("text/plain"));
        assert_eq!(ty(&db, "data:text,x").as_deref(), Some("text/plain"));
    }

    #[test]
    fn mime_types_files_parse_like_readfp() {
        let mut db = builtin();
        db.read_text(
            "# comment line\n\
             text/x-a\ta1  a2 # a3 is commented out\n\
             text/x-b b1#not-a-comment\r\
             text/x-c c1\u{1c}c2\r\n\
             \n   \n\
             #text/x-d d1\n\
             text/x-e\n\
             application/x-f \u{a0}f1\u{3000}f2\n",
        );
        let check = |name: &str, want: Option<&str>| {
            assert_eq!(ty(&db, name).as_deref(), want, "{name}");
        };
        check("x.a1", Some("text/x-a"));
        check("x.a2", Some("text/x-a"));
        check("x.a3", None);
        check("x.b1#not-a-comment", Some("text/x-b"));
        check("x.c1", Some("text/x-c"));
        check("x.c2", Some("text/x-c"));
        check("x.d1", None);
        check("x.f1", Some("application/x-f"));
        check("x.f2", Some("application/x-f"));
    }

    #[test]
    fn files_override_the_builtin_table_and_later_files_earlier_ones() {
        let dir = tempfile::tempdir().unwrap();
        let first = dir.path().join("first.types");
        let second = dir.path().join("second.types");
        std::fs::write(&first, "text/x-first txt one\n").unwrap();
        std::fs::write(&second, "text/x-second one\nimage/webp webp\n").unwrap();
        let missing = dir.path().join("missing.types");
        let db = MimeDb::load(&[
            missing.as_path(),
            dir.path(), // a directory: skipped like a missing file
            &first,
            &second,
        ]);
        assert_eq!(ty(&db, "a.txt").as_deref(), Some("text/x-first"));
        assert_eq!(ty(&db, "a.one").as_deref(), Some("text/x-second"));
        assert_eq!(ty(&db, "a.webp").as_deref(), Some("image/webp"));
        assert_eq!(ty(&db, "a.json").as_deref(), Some("application/json"));
        assert_eq!(ty(&builtin(), "a.webp"), None, "not built into 3.11");
    }

    #[test]
    fn invalid_utf8_is_replaced_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("bad.types");
        std::fs::write(&f, b"text/x-bad \xff\xfe bad\ntext/x-ok ok\n").unwrap();
        let db = MimeDb::load(&[&f]);
        assert_eq!(ty(&db, "a.bad").as_deref(), Some("text/x-bad"));
        assert_eq!(ty(&db, "a.ok").as_deref(), Some("text/x-ok"));
    }

    #[test]
    fn python_whitespace_is_str_split_whitespace() {
        // `[hex(c) for c in range(0x110000) if chr(c).isspace()]`, CPython 3.11.
        let python: Vec<u32> = [
            0x9, 0xa, 0xb, 0xc, 0xd, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0,
        ]
        .into_iter()
        .chain([0x1680])
        .chain(0x2000..=0x200a)
        .chain([0x2028, 0x2029, 0x202f, 0x205f, 0x3000])
        .collect();
        let ours: Vec<u32> = (0..=0x10ffff_u32)
            .filter_map(char::from_u32)
            .filter(|&c| is_python_space(c))
            .map(u32::from)
            .collect();
        assert_eq!(ours, python);
    }

    #[test]
    fn the_builtin_table_is_whole() {
        assert_eq!(table::TYPES.len(), 149);
        assert!(
            table::TYPES.windows(2).all(|w| w[0].0 < w[1].0),
            "sorted, unique"
        );
        assert_eq!(builtin().types.len(), table::TYPES.len());
    }
}
