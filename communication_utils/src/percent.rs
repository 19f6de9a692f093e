//! The crate's one percent-encoder (RFC 3986): the gateway token in the
//! websocket URL, and S3 copy sources, version ids and tag sets.

use std::fmt::Write as _;

/// Percent-encodes every byte outside RFC 3986's unreserved set
/// (`A-Z a-z 0-9 - _ . ~`) and `keep`, as `%XX` in upper-case hex.
pub(crate) fn percent_encode(text: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') || keep.contains(&b)
        {
            out.push(char::from(b));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::percent_encode;

    #[test]
    fn unreserved_bytes_and_kept_ones_stay_and_the_rest_is_encoded() {
        assert_eq!(percent_encode("aZ09-_.~", b""), "aZ09-_.~");
        assert_eq!(percent_encode("a b/é+=", b""), "a%20b%2F%C3%A9%2B%3D");
        assert_eq!(percent_encode("a b/é", b"/"), "a%20b/%C3%A9");
    }
}
