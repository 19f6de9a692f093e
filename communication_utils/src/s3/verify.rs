//! What a download checks its content against, decided from the object's
//! HEAD answer, and the MD5 arithmetic of S3 ETags.
//!
//! - A stored full-object CRC (CRC64NVME, CRC32, CRC32C; on a single-PUT
//!   object, or marked `FULL_OBJECT`) is computed here, each range (or the
//!   single GET) on its own task, and the ranges' CRCs combined in order
//!   (`crc.rs`): any download of such an object is checked, in parallel.
//! - A stored SHA1 or SHA256 of the whole object is checked by the SDK on a
//!   single GET made with checksum mode enabled, while the body streams.
//! - Otherwise a single-PUT ETag (32 hex digits) is the MD5 of the content,
//!   hashed while the body is written on a single GET; when the object is
//!   fetched as parallel ranges, in one pass over the whole (the file read
//!   back, or the buffer) once every range arrived.
//! - A multipart ETag (`"<32 hex>-N"`) is the MD5 of the N parts' binary
//!   MD5s: the object is fetched by part number, each part hashed as it
//!   arrives on its own task, and the part MD5s combined at the end.
//! - Composite checksums of multipart uploads are per part and are not used
//!   (the multipart ETag is checked instead); nor is a value of the wrong
//!   width or a CRC of a multipart object not marked `FULL_OBJECT` (moto
//!   5.2.5 stores such ones).
//! - SSE-KMS and SSE-C objects (whose ETag is not an MD5) without a usable
//!   checksum, and ETags of any other form, are not verified: see
//!   [`NotVerified`].

use md5::{Digest, Md5};

use super::crc::CrcKind;
use super::verification::{NotVerified, Verification};

/// What the content of a download is checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Check {
    /// A stored full-object CRC, computed here per GET and combined.
    Crc {
        /// Its kind.
        kind: CrcKind,
        /// The stored value.
        expected: u64,
    },
    /// A stored SHA1 or SHA256 of the whole object, validated by the SDK on
    /// a single GET with checksum mode enabled.
    FullChecksum(super::ChecksumAlgorithm),
    /// The MD5 of the whole content equals this (binary) ETag.
    Md5([u8; 16]),
    /// The MD5 of the concatenated MD5s of `parts` parts equals `md5`.
    Parts {
        /// The ETag's digest.
        md5: [u8; 16],
        /// The ETag's part count.
        parts: u32,
    },
    /// Nothing can be checked, for this reason.
    Skip(NotVerified),
}

impl Check {
    /// What a download checked this way reports.
    pub(crate) fn verification(&self) -> Verification {
        match self {
            Check::Crc { kind, .. } => Verification::Checksum(kind.public()),
            Check::FullChecksum(algorithm) => Verification::Checksum(*algorithm),
            Check::Md5(_) => Verification::EtagMd5,
            Check::Parts { parts, .. } => Verification::PartMd5s { parts: *parts },
            Check::Skip(why) => Verification::SizeOnly(why.clone()),
        }
    }
}

/// What the HEAD answer says about an object, as far as verification goes.
#[derive(Debug, Clone, Default)]
pub(crate) struct ObjectFacts<'a> {
    /// The ETag, quoted or not.
    pub e_tag: Option<&'a str>,
    /// `x-amz-server-side-encryption` (`AES256`, `aws:kms`, `aws:kms:dsse`).
    pub sse: Option<&'a str>,
    /// `x-amz-server-side-encryption-customer-algorithm` is present (SSE-C).
    pub sse_c: bool,
    /// A usable stored CRC of the whole object (see the module comment).
    pub crc: Option<(CrcKind, u64)>,
    /// A stored SHA1 or SHA256 of the whole object.
    pub full_sha: Option<super::ChecksumAlgorithm>,
    /// The download is a single GET with checksum mode enabled, so that
    /// the SDK validates a stored SHA.
    pub single_get_with_checksum_mode: bool,
}

/// Decides what a download checks (pure: HEAD facts in, decision out).
pub(crate) fn decide(facts: &ObjectFacts<'_>) -> Check {
    if let Some((kind, expected)) = facts.crc {
        return Check::Crc { kind, expected };
    }
    if let Some(sha) = facts.full_sha
        && facts.single_get_with_checksum_mode
    {
        return Check::FullChecksum(sha);
    }
    if facts.sse_c {
        return Check::Skip(NotVerified::SseC);
    }
    if facts.sse.is_some_and(|s| s.starts_with("aws:kms")) {
        return Check::Skip(NotVerified::SseKms);
    }
    let Some(tag) = facts.e_tag else {
        return Check::Skip(NotVerified::NoEtag);
    };
    match parse_e_tag(tag) {
        Some((md5, None)) => Check::Md5(md5),
        Some((md5, Some(parts))) => Check::Parts { md5, parts },
        None => Check::Skip(NotVerified::UnknownEtag),
    }
}

/// `"<32 hex>"` → (digest, None); `"<32 hex>-N"` → (digest, Some(N)), N ≥ 1.
pub(crate) fn parse_e_tag(tag: &str) -> Option<([u8; 16], Option<u32>)> {
    let tag = tag.trim();
    let tag = tag.strip_prefix("W/").unwrap_or(tag);
    let tag = tag.trim_matches('"');
    let (hex, parts) = match tag.split_once('-') {
        Some((h, n)) => {
            if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let n: u32 = n.parse().ok()?;
            if n == 0 {
                return None;
            }
            (h, Some(n))
        }
        None => (tag, None),
    };
    Some((parse_hex16(hex)?, parts))
}

fn parse_hex16(hex: &str) -> Option<[u8; 16]> {
    let bytes = hex.as_bytes();
    if bytes.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        let hi = char::from(pair[0]).to_digit(16)?;
        let lo = char::from(pair[1]).to_digit(16)?;
        out[i] = u8::try_from(hi * 16 + lo).ok()?;
    }
    Some(out)
}

/// Lower-case hex of a digest.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// An incremental MD5.
#[derive(Clone, Default)]
pub(crate) struct Md5Hasher(Md5);

impl Md5Hasher {
    pub(crate) fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    pub(crate) fn finish(self) -> [u8; 16] {
        self.0.finalize().into()
    }
}

/// The MD5 of `data`, in one call.
pub(crate) fn md5(data: &[u8]) -> [u8; 16] {
    let mut h = Md5Hasher::default();
    h.update(data);
    h.finish()
}

/// The MD5 of the file at `path`, read from its start to its end.
/// Blocking.
pub(crate) fn md5_file(path: &std::path::Path) -> std::io::Result<[u8; 16]> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut h = Md5::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        match file.read(&mut buf) {
            Ok(0) => return Ok(h.finalize().into()),
            Ok(n) => h.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// The multipart ETag digest: MD5 of the concatenated binary part MD5s.
pub(crate) fn combine_parts(part_md5s: &[[u8; 16]]) -> [u8; 16] {
    let mut h = Md5::new();
    for m in part_md5s {
        h.update(m);
    }
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_of_known_text() {
        assert_eq!(hex(&md5(b"abc")), "900150983cd24fb0d6963f7d28e17f72");
    }

    #[test]
    fn e_tags_parse() {
        let d = md5(b"abc");
        assert_eq!(
            parse_e_tag("\"900150983cd24fb0d6963f7d28e17f72\""),
            Some((d, None))
        );
        assert_eq!(
            parse_e_tag("900150983CD24FB0D6963F7D28E17F72-3"),
            Some((d, Some(3)))
        );
        assert_eq!(parse_e_tag("\"900150983cd24fb0d6963f7d28e17f72-0\""), None);
        assert_eq!(parse_e_tag("\"900150983cd24fb0d6963f7d28e17f72-\""), None);
        assert_eq!(parse_e_tag("\"900150983cd24fb0d6963f7d28e17f7\""), None);
        assert_eq!(parse_e_tag("\"zz0150983cd24fb0d6963f7d28e17f72\""), None);
        assert_eq!(parse_e_tag("\"900150983cd24fb0d6963f7d28e17f72-+3\""), None);
        assert_eq!(parse_e_tag("\"abc\""), None);
    }

    #[test]
    fn multipart_e_tag_is_md5_of_part_md5s() {
        // Two parts, "hello " and "world": the S3 rule, computed by hand.
        let parts = [md5(b"hello "), md5(b"world")];
        let mut cat = Vec::new();
        cat.extend_from_slice(&parts[0]);
        cat.extend_from_slice(&parts[1]);
        assert_eq!(combine_parts(&parts), md5(&cat));
        assert_ne!(combine_parts(&parts), md5(b"hello world"));
    }

    /// The two ways a download computes an MD5, on random content: fed in
    /// random pieces as a GET's frames arrive, and read back from a file in
    /// one pass; both equal `md-5`'s digest of the whole. Thousands of
    /// cases; the seed is printed on a failure (`MS_UTILS_PROP_SEED` replays it).
    #[test]
    fn random_content_hashes_as_md5_does_in_pieces_and_from_a_file() {
        use rand::Rng;

        let (mut rng, seed) = crate::prop_seed::rng();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("content");
        for n in 0..3_000 {
            // Every 50th case is also written to a file, of a size around
            // the file pass's read buffer (256 KiB); the others are short,
            // around the 64-byte block.
            let file = n % 50 == 0;
            let len = match (file, rng.random_range(0..2)) {
                (true, _) => 256 * 1024 + rng.random_range(0..=600) - 300,
                (false, 0) => rng.random_range(0..=200),
                (false, _) => rng.random_range(0..=4_000),
            };
            let mut data = vec![0u8; len];
            rng.fill(&mut data[..]);
            let want: [u8; 16] = Md5::digest(&data).into();
            let mut pieces = Md5Hasher::default();
            let mut at = 0;
            while at < data.len() {
                let end = (at + rng.random_range(0..=1_000)).min(data.len());
                pieces.update(&data[at..end]);
                at = end;
            }
            assert_eq!(pieces.finish(), want, "seed {seed}, case {n}: {len} bytes");
            if file {
                std::fs::write(&path, &data).unwrap();
                let got = md5_file(&path).unwrap();
                assert_eq!(got, want, "seed {seed}, case {n}: file of {len} bytes");
            }
        }
    }

    #[test]
    fn decisions() {
        use crate::s3::ChecksumAlgorithm;
        let single = "\"900150983cd24fb0d6963f7d28e17f72\"";
        let multi = "\"900150983cd24fb0d6963f7d28e17f72-4\"";
        let base = ObjectFacts {
            e_tag: Some(single),
            ..ObjectFacts::default()
        };
        assert_eq!(decide(&base), Check::Md5(md5(b"abc")));
        let f = ObjectFacts {
            e_tag: Some(multi),
            ..base.clone()
        };
        assert_eq!(
            decide(&f),
            Check::Parts {
                md5: md5(b"abc"),
                parts: 4
            }
        );
        // A stored CRC wins, single GET or ranges, encrypted or not.
        let crc = Some((CrcKind::Crc64Nvme, 42));
        for (sse, sse_c) in [(None, false), (Some("aws:kms"), false), (None, true)] {
            let f = ObjectFacts {
                crc,
                sse,
                sse_c,
                ..base.clone()
            };
            assert_eq!(
                decide(&f),
                Check::Crc {
                    kind: CrcKind::Crc64Nvme,
                    expected: 42
                }
            );
        }
        // A SHA when the SDK can check it (single GET with checksum mode)...
        let f = ObjectFacts {
            full_sha: Some(ChecksumAlgorithm::Sha256),
            single_get_with_checksum_mode: true,
            ..base.clone()
        };
        assert_eq!(decide(&f), Check::FullChecksum(ChecksumAlgorithm::Sha256));
        // ... and the ETag when it cannot (ranged download).
        let f = ObjectFacts {
            full_sha: Some(ChecksumAlgorithm::Sha256),
            ..base.clone()
        };
        assert_eq!(decide(&f), Check::Md5(md5(b"abc")));
        // SSE-S3 ETags are MD5s; SSE-KMS and SSE-C ones are not.
        let f = ObjectFacts {
            sse: Some("AES256"),
            ..base.clone()
        };
        assert_eq!(decide(&f), Check::Md5(md5(b"abc")));
        for sse in ["aws:kms", "aws:kms:dsse"] {
            let f = ObjectFacts {
                sse: Some(sse),
                ..base.clone()
            };
            assert_eq!(decide(&f), Check::Skip(NotVerified::SseKms));
        }
        let f = ObjectFacts {
            sse_c: true,
            ..base.clone()
        };
        assert_eq!(decide(&f), Check::Skip(NotVerified::SseC));
        let f = ObjectFacts {
            e_tag: Some("\"not-an-md5\""),
            ..base.clone()
        };
        assert_eq!(decide(&f), Check::Skip(NotVerified::UnknownEtag));
        let f = ObjectFacts {
            e_tag: None,
            ..base
        };
        assert_eq!(decide(&f), Check::Skip(NotVerified::NoEtag));
    }
}
