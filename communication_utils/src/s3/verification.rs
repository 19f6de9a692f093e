//! What a download says about its content: how it was checked
//! ([`Verification`]), or why it could not be ([`NotVerified`]), and the
//! full-object checksums a store keeps ([`ChecksumAlgorithm`]). Every
//! download call reports one of these.

use std::fmt;

/// A full-object checksum algorithm of S3 (`x-amz-checksum-*`).
///
/// ```
/// use ms_utils_communication::s3::ChecksumAlgorithm;
/// assert_eq!(ChecksumAlgorithm::Crc64Nvme.to_string(), "CRC64NVME");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChecksumAlgorithm {
    /// CRC-64/NVME, the one this client stores with its uploads (S3's
    /// default for full-object checksums).
    Crc64Nvme,
    /// CRC-32 (ISO-HDLC, zlib's).
    Crc32,
    /// CRC-32C (Castagnoli).
    Crc32C,
    /// SHA-1.
    Sha1,
    /// SHA-256.
    Sha256,
}

impl fmt::Display for ChecksumAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ChecksumAlgorithm::Crc64Nvme => "CRC64NVME",
            ChecksumAlgorithm::Crc32 => "CRC32",
            ChecksumAlgorithm::Crc32C => "CRC32C",
            ChecksumAlgorithm::Sha1 => "SHA1",
            ChecksumAlgorithm::Sha256 => "SHA256",
        })
    }
}

/// A full-object checksum as the store keeps it: the algorithm and the
/// value, base64 of the big-endian digest as in `x-amz-checksum-*`.
///
/// ```no_run
/// # async fn f(c: ms_utils_communication::s3::S3BucketClient) -> Result<(), ms_utils_communication::s3::Error> {
/// let out = c.upload_bytes(b"hello".to_vec(), "bucket", "hello.txt", Default::default()).await?;
/// if let Some(sum) = &out.checksum {
///     println!("stored {}: {}", sum.algorithm, sum.value);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FullChecksum {
    /// The algorithm.
    pub algorithm: ChecksumAlgorithm,
    /// The value, base64 (`x-amz-checksum-crc64nvme: ...`).
    pub value: String,
}

/// How the content of a download was checked against what the store says
/// the object is. Sizes are checked in every case but
/// [`NotAtAll`](Verification::NotAtAll).
///
/// ```no_run
/// # async fn f(c: ms_utils_communication::s3::S3BucketClient) -> Result<(), ms_utils_communication::s3::Error> {
/// use ms_utils_communication::s3::Verification;
///
/// let out = c.download_file("bucket", "a.bin", "/tmp/a.bin", Default::default()).await?;
/// match &out.verification {
///     Verification::Checksum(algorithm) => println!("checked against its {algorithm}"),
///     v if v.is_verified() => println!("checked: {v}"),
///     v => eprintln!("not checked: {v}"),
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verification {
    /// Against the full-object checksum the store keeps.
    Checksum(ChecksumAlgorithm),
    /// The MD5 of the content equals the ETag of a single PUT.
    EtagMd5,
    /// The object was fetched by part number and the MD5s of its `parts`
    /// parts combine to its multipart ETag.
    PartMd5s {
        /// The number of parts.
        parts: u32,
    },
    /// The length was checked, the content not, for this reason.
    SizeOnly(NotVerified),
    /// Nothing was checked, for this reason.
    NotAtAll(NotVerified),
}

impl Verification {
    /// True when the content itself was checked (a checksum, the ETag MD5
    /// or the part MD5s).
    ///
    /// ```
    /// use ms_utils_communication::s3::{NotVerified, Verification};
    /// assert!(Verification::EtagMd5.is_verified());
    /// assert!(!Verification::SizeOnly(NotVerified::SseKms).is_verified());
    /// ```
    pub fn is_verified(&self) -> bool {
        matches!(
            self,
            Verification::Checksum(_) | Verification::EtagMd5 | Verification::PartMd5s { .. }
        )
    }

    /// Why the content was not checked, when it was not.
    ///
    /// ```
    /// use ms_utils_communication::s3::{NotVerified, Verification};
    /// let v = Verification::SizeOnly(NotVerified::TurnedOff);
    /// assert_eq!(v.not_verified(), Some(&NotVerified::TurnedOff));
    /// ```
    pub fn not_verified(&self) -> Option<&NotVerified> {
        match self {
            Verification::SizeOnly(why) | Verification::NotAtAll(why) => Some(why),
            _ => None,
        }
    }
}

impl fmt::Display for Verification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verification::Checksum(a) => write!(f, "verified against its stored {a} checksum"),
            Verification::EtagMd5 => f.write_str("verified against its ETag (MD5)"),
            Verification::PartMd5s { parts } => {
                write!(f, "verified against its multipart ETag ({parts} part MD5s)")
            }
            Verification::SizeOnly(why) => write!(f, "size checked, content not verified: {why}"),
            Verification::NotAtAll(why) => write!(f, "not verified: {why}"),
        }
    }
}

/// Why the content of a download could not be checked.
///
/// ```
/// use ms_utils_communication::s3::NotVerified;
/// assert!(NotVerified::SseC.to_string().contains("SSE-C"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NotVerified {
    /// [`TransferConfig::verify_checksums`](super::TransferConfig::verify_checksums) is off.
    TurnedOff,
    /// An SSE-KMS object without a usable full-object checksum: its ETag is
    /// not an MD5 of the content.
    SseKms,
    /// An SSE-C object without a usable full-object checksum: its ETag is
    /// not an MD5 of the content.
    SseC,
    /// The store sent no ETag and no usable checksum.
    NoEtag,
    /// The ETag is neither an MD5 nor a multipart ETag, and there is no
    /// usable checksum.
    UnknownEtag,
    /// A multipart object without a usable full-object checksum on a store
    /// that does not serve its parts (GET with `partNumber`).
    PartsNotServed,
    /// An empty object with a multipart ETag.
    EmptyMultipart,
    /// A part of an object (a byte range): the store's checksums and ETag
    /// are of the whole object.
    Range,
}

impl fmt::Display for NotVerified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NotVerified::TurnedOff => "verification is turned off (TransferConfig::verify_checksums)",
            NotVerified::SseKms => {
                "SSE-KMS object without a full-object checksum: its ETag is not an MD5 of the content"
            }
            NotVerified::SseC => {
                "SSE-C object without a full-object checksum: its ETag is not an MD5 of the content"
            }
            NotVerified::NoEtag => "the store sent no ETag and no full-object checksum",
            NotVerified::UnknownEtag => {
                "the ETag is neither an MD5 nor a multipart ETag, and there is no full-object checksum"
            }
            NotVerified::PartsNotServed => {
                "multipart object without a full-object checksum, on a store that does not serve \
                 its parts (GET partNumber)"
            }
            NotVerified::EmptyMultipart => "an empty multipart object",
            NotVerified::Range => "a byte range: the store's checksum and ETag are of the whole object",
        })
    }
}
