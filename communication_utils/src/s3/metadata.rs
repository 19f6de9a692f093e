//! The user metadata the original client writes (`FileName`, `FileSize`,
//! `FileType`, `CreationTime`), and how values that are not ASCII travel.
//!
//! S3 user metadata travels as HTTP headers, which only carry ASCII. A value
//! with other characters (a file named `café.txt`) is stored as an RFC 2047
//! encoded word, `=?UTF-8?B?<base64>?=` — the form AWS S3 itself uses when it
//! returns such values. [`decode_value`] turns it back; the Rust client does
//! that on every read. Python reads it back with
//! `str(email.header.make_header(email.header.decode_header(value)))`.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::SystemTime;

use aws_smithy_types::base64;

/// The key holding the file's base name (path uploads only, like the original).
pub const FILE_NAME: &str = "FileName";
/// The key holding the size as `"12.34 MB"` (MiB, two decimals, like the original).
pub const FILE_SIZE: &str = "FileSize";
/// The key holding the MIME type guessed from the file name (see
/// [`guess_content_type`]).
pub const FILE_TYPE: &str = "FileType";
/// The key holding the local file's ctime (or the upload time) in ISO 8601.
pub const CREATION_TIME: &str = "CreationTime";

/// The MIME type used when the extension says nothing.
pub const OCTET_STREAM: &str = "application/octet-stream";

/// Formats a size the way the original does: mebibytes with two decimals and
/// the unit `MB`.
///
/// ```
/// use ms_utils_communication::s3::metadata::format_file_size;
/// assert_eq!(format_file_size(0), "0.00 MB");
/// assert_eq!(format_file_size(12_939_428), "12.34 MB");
/// ```
pub fn format_file_size(bytes: u64) -> String {
    // Precision loss above 2^53 bytes is irrelevant at two decimals of a MiB.
    #[allow(clippy::cast_precision_loss)]
    let mib = bytes as f64 / (1024.0 * 1024.0);
    format!("{mib:.2} MB")
}

/// The `FileType` the Python original stores for a file uploaded from
/// `name`: what `mimetypes.guess_type(name)` returns on this machine, or
/// `application/octet-stream` when it returns no type. The Rust client also
/// sends it as the object's `Content-Type`.
///
/// This matches Python's `mimetypes.guess_type` (CPython 3.11, strict), the
/// system files included:
///
/// - **Table**: Python's whole built-in table (generated from CPython
///   3.11.7), then the system `mime.types` files Python reads, in its order:
///   `/etc/mime.types` (Debian's `media-types` package), `/etc/httpd/mime.types`,
///   `/etc/httpd/conf/mime.types`, `/etc/apache/mime.types`,
///   `/etc/apache2/mime.types`, `/usr/local/etc/httpd/conf/mime.types`,
///   `/usr/local/lib/netscape/mime.types`, `/usr/local/etc/mime.types`. The
///   files override the built-in table and a later file or line an earlier
///   one. They are read once, at the first call; a missing file is skipped,
///   so on a machine without `/etc/mime.types` both sides fall back to the
///   built-in table.
/// - **Suffixes**: `.tgz`, `.taz`, `.tz` stand for `.tar.gz`, `.tbz2` for
///   `.tar.bz2`, `.txz` for `.tar.xz`, `.svgz` for `.svg.gz` (any case).
/// - **Compression**: a last suffix `.gz`, `.Z`, `.bz2`, `.xz` or `.br`
///   (exact case) is set aside and the type is the one of the suffix before
///   it; like the original, the encoding itself is not stored, so
///   `x.tar.gz` is `application/x-tar` and `x.gz` `application/octet-stream`.
/// - **Case**: the extension is looked up lower-cased (`A.TXT` is
///   `text/plain`).
/// - **Names**: the extension is the last `.`-suffix of the part after the
///   last `/` (only `/` separates, as in Python on every system); leading
///   dots do not start one (`.bashrc` has none). A name that starts with
///   `something:` is read as a URL the way Python reads it, so
///   `data:…` names get the type of a `data:` URL.
///
/// Not followed: the Windows registry (Python on Windows adds it), changes
/// a Python process makes itself (`mimetypes.add_type`, `mimetypes.init`),
/// and a `mime.types` file that is not UTF-8 (Python raises on it; here the
/// bad bytes are replaced). With another Python version than 3.11 the
/// built-in tables can differ; `communication_utils/tests/python/gen_mime_table.py`
/// regenerates them.
///
/// ```
/// use ms_utils_communication::s3::metadata::guess_content_type;
/// assert_eq!(guess_content_type("report.json"), "application/json");
/// assert_eq!(guess_content_type("backup.tar.gz"), "application/x-tar");
/// assert_eq!(guess_content_type("weights.npy"), "application/octet-stream");
/// ```
pub fn guess_content_type(name: impl AsRef<Path>) -> String {
    let name = name.as_ref().to_string_lossy();
    super::mime::system()
        .guess_type(&name)
        .0
        .unwrap_or_else(|| OCTET_STREAM.to_owned())
}

/// Makes a metadata value safe for an HTTP header: ASCII printable values
/// pass unchanged, anything else becomes an RFC 2047 `=?UTF-8?B?...?=` word.
///
/// ```
/// use ms_utils_communication::s3::metadata::{decode_value, encode_value};
/// assert_eq!(encode_value("plain.txt"), "plain.txt");
/// let e = encode_value("café.txt");
/// assert_eq!(e, "=?UTF-8?B?Y2Fmw6kudHh0?=");
/// assert_eq!(decode_value(&e), "café.txt");
/// ```
pub fn encode_value(value: &str) -> String {
    let safe = value.bytes().all(|b| (0x20..0x7f).contains(&b)) && !looks_encoded(value);
    if safe {
        value.to_owned()
    } else {
        format!("=?UTF-8?B?{}?=", base64::encode(value.as_bytes()))
    }
}

fn looks_encoded(v: &str) -> bool {
    v.starts_with("=?") && v.ends_with("?=")
}

/// Reverses [`encode_value`]: decodes an RFC 2047 `B` (base64) or `Q` word in
/// UTF-8; any other value is returned unchanged.
///
/// ```
/// use ms_utils_communication::s3::metadata::decode_value;
/// assert_eq!(decode_value("=?utf-8?b?w6l0w6k=?="), "été");
/// assert_eq!(decode_value("12.34 MB"), "12.34 MB");
/// ```
pub fn decode_value(value: &str) -> String {
    decode_word(value).unwrap_or_else(|| value.to_owned())
}

fn decode_word(value: &str) -> Option<String> {
    let inner = value.strip_prefix("=?")?.strip_suffix("?=")?;
    let mut parts = inner.splitn(3, '?');
    let charset = parts.next()?;
    let enc = parts.next()?;
    let text = parts.next()?;
    if !charset.eq_ignore_ascii_case("utf-8") {
        return None;
    }
    let bytes = if enc.eq_ignore_ascii_case("b") {
        base64::decode(text).ok()?
    } else if enc.eq_ignore_ascii_case("q") {
        decode_q(text)?
    } else {
        return None;
    };
    String::from_utf8(bytes).ok()
}

fn decode_q(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'_' => out.push(b' '),
            b'=' => {
                let hi = char::from(bytes.next()?).to_digit(16)?;
                let lo = char::from(bytes.next()?).to_digit(16)?;
                out.push(u8::try_from(hi * 16 + lo).ok()?);
            }
            other => out.push(other),
        }
    }
    Some(out)
}

/// ISO 8601 in local time without offset, microseconds only when non-zero:
/// what Python's `datetime.fromtimestamp(t).isoformat()` prints.
pub(crate) fn iso_local(t: SystemTime) -> String {
    let dt: chrono::DateTime<chrono::Local> = t.into();
    if dt.timestamp_subsec_micros() == 0 {
        dt.format("%Y-%m-%dT%H:%M:%S").to_string()
    } else {
        dt.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
    }
}

/// The file's ctime, as the original reads it (`os.path.getctime`).
pub(crate) fn ctime(meta: &std::fs::Metadata) -> SystemTime {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let secs = meta.ctime();
        let nanos = u32::try_from(meta.ctime_nsec()).unwrap_or(0);
        if let Ok(secs) = u64::try_from(secs) {
            return SystemTime::UNIX_EPOCH + std::time::Duration::new(secs, nanos);
        }
    }
    meta.modified().unwrap_or_else(|_| SystemTime::now())
}

/// The metadata map sent with an upload: a copy of the caller's map, then the
/// four standard keys (which win, as in the original). Values are encoded with
/// [`encode_value`].
pub(crate) fn upload_metadata(
    caller: Option<&HashMap<String, String>>,
    file_name: Option<&str>,
    size: u64,
    file_type: &str,
    created: SystemTime,
) -> HashMap<String, String> {
    let mut map: HashMap<String, String> = caller
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), encode_value(v)))
                .collect()
        })
        .unwrap_or_default();
    if let Some(name) = file_name {
        map.insert(FILE_NAME.to_owned(), encode_value(name));
    }
    map.insert(FILE_SIZE.to_owned(), format_file_size(size));
    map.insert(FILE_TYPE.to_owned(), encode_value(file_type));
    map.insert(CREATION_TIME.to_owned(), iso_local(created));
    map
}

/// What [`get_file_metadata`](super::S3BucketClient::get_file_metadata) returns.
///
/// S3 hands user metadata keys back lower-cased (`FileName` comes back as
/// `filename`, in Python too); [`user`](Self::user) keeps them as the server
/// sent them, with values decoded by [`decode_value`], and
/// [`get`](Self::get) looks a key up ignoring case.
///
/// ```no_run
/// # async fn f(client: ms_utils_communication::s3::S3BucketClient) -> Result<(), ms_utils_communication::s3::Error> {
/// let meta = client.get_file_metadata("bucket", "a/b.json").await?;
/// println!("{:?} {:?}", meta.get("FileName"), meta.content_type);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ObjectMetadata {
    /// User metadata, keys as returned by the server (lower-case), values decoded.
    pub user: BTreeMap<String, String>,
    /// Size of the object in bytes.
    pub content_length: u64,
    /// The object's Content-Type, if stored.
    pub content_type: Option<String>,
    /// The ETag, quotes included.
    pub e_tag: Option<String>,
    /// Last modification time.
    pub last_modified: Option<SystemTime>,
    /// The version described, on a bucket with versioning (`None` where the
    /// store keeps no versions).
    pub version_id: Option<String>,
}

impl ObjectMetadata {
    pub(crate) fn from_parts(
        user: Option<&HashMap<String, String>>,
        content_length: u64,
        content_type: Option<String>,
        e_tag: Option<String>,
        last_modified: Option<SystemTime>,
    ) -> Self {
        let user = user
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), decode_value(v)))
                    .collect()
            })
            .unwrap_or_default();
        ObjectMetadata {
            user,
            content_length,
            content_type,
            e_tag,
            last_modified,
            version_id: None,
        }
    }

    /// A user metadata value, the key compared without case.
    ///
    /// ```
    /// # use ms_utils_communication::s3::metadata::ObjectMetadata;
    /// # fn f(meta: &ObjectMetadata) {
    /// let size = meta.get("FileSize"); // finds "filesize"
    /// # }
    /// ```
    pub fn get(&self, key: &str) -> Option<&str> {
        self.user
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_formatted_like_the_original() {
        assert_eq!(format_file_size(1), "0.00 MB");
        assert_eq!(format_file_size(5 * 1024 * 1024), "5.00 MB");
        assert_eq!(format_file_size(40 * 1024 * 1024 + 512 * 1024), "40.50 MB");
    }

    #[test]
    fn caller_map_is_copied_and_standard_keys_win() {
        let mut mine = HashMap::new();
        mine.insert("owner".to_owned(), "zoé".to_owned());
        mine.insert(FILE_SIZE.to_owned(), "mine".to_owned());
        let t = SystemTime::UNIX_EPOCH;
        let m = upload_metadata(Some(&mine), Some("a.csv"), 10, "text/csv", t);
        assert_eq!(mine.len(), 2, "caller's map untouched");
        assert_eq!(m[FILE_SIZE], "0.00 MB");
        assert_eq!(m[FILE_NAME], "a.csv");
        assert_eq!(decode_value(&m["owner"]), "zoé");
        assert!(m.values().all(|v| v.is_ascii()));
    }

    #[test]
    fn values_that_look_encoded_are_encoded_again() {
        let tricky = "=?UTF-8?B?Zm9v?=";
        assert_eq!(decode_value(&encode_value(tricky)), tricky);
    }

    #[test]
    fn q_words_decode() {
        assert_eq!(
            decode_value("=?UTF-8?Q?caf=C3=A9_au_lait?="),
            "café au lait"
        );
    }

    #[test]
    fn iso_time_has_micros_only_when_nonzero() {
        let whole = iso_local(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(3600));
        assert_eq!(whole.len(), "1970-01-01T01:00:00".len());
        let frac = iso_local(SystemTime::UNIX_EPOCH + std::time::Duration::from_micros(1_500_000));
        assert!(frac.ends_with(".500000"), "{frac}");
    }
}
