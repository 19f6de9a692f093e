//! The plan of a download (HEAD: size, ETag, check, ranges or parts) and
//! what each GET delivered.

use aws_sdk_s3::operation::head_object::HeadObjectOutput;
use aws_sdk_s3::types::{ChecksumMode, ChecksumType, ServerSideEncryption};

use crate::s3::ChecksumAlgorithm;
use crate::s3::client::S3BucketClient;
use crate::s3::crc::CrcKind;
use crate::s3::encryption::SseCustomerKey;
use crate::s3::error::Error;
use crate::s3::object_args::with_sse_c;
use crate::s3::verification::NotVerified;
use crate::s3::verify::{self, Check, ObjectFacts};

pub(super) struct Plan {
    pub(super) bucket: String,
    pub(super) key: String,
    /// The version every request of the download names, if one was asked for.
    pub(super) version_id: Option<String>,
    pub(super) size: u64,
    pub(super) e_tag: Option<String>,
    pub(super) ranges: Vec<(u64, u64)>,
    /// What the content is checked against.
    pub(super) check: Check,
    /// Fetched by part number: the object's part count and the size of its
    /// first part (the offset of part `n` when the answer has no
    /// `Content-Range`).
    pub(super) parts: Option<(u32, u64)>,
    /// The SSE-C key the object was written with, sent with every request.
    pub(super) customer_key: Option<SseCustomerKey>,
}

/// What one GET (a range, a part or the whole object) delivered.
pub(super) struct Piece {
    /// Offset of its first byte in the object.
    pub(super) start: u64,
    /// Bytes delivered.
    pub(super) len: u64,
    /// Its MD5 or CRC, when the check needs it.
    pub(super) digest: UnitDigest,
    /// Part number (1-based) or range index.
    pub(super) index: usize,
}

/// What one GET's bytes hashed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum UnitDigest {
    /// Not hashed on its own.
    None,
    Md5([u8; 16]),
    Crc(u64),
}

impl UnitDigest {
    pub(super) fn md5(self) -> Option<[u8; 16]> {
        match self {
            UnitDigest::Md5(m) => Some(m),
            _ => None,
        }
    }

    pub(super) fn crc(self) -> Option<u64> {
        match self {
            UnitDigest::Crc(c) => Some(c),
            _ => None,
        }
    }
}

impl S3BucketClient {
    /// HEAD first: the size decides single GET or ranges, the ETag pins the
    /// ranges, the ETag, stored checksums and encryption decide the check
    /// (the version and SSE-C key come from `options`); a download that
    /// requires verification fails here when it cannot have one
    /// ([`Plan::required`]).
    pub(super) async fn plan(
        &self,
        bucket: &str,
        key: &str,
        options: &super::DownloadOptions,
    ) -> Result<Plan, Error> {
        let plan = self
            .head_plan(
                bucket,
                key,
                options.version_id.as_deref(),
                options.customer_key.as_ref(),
            )
            .await?;
        plan.required(options)?;
        Ok(plan)
    }

    async fn head_plan(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
        customer_key: Option<&SseCustomerKey>,
    ) -> Result<Plan, Error> {
        // With checksum mode on, the HEAD answer carries stored checksums;
        // on a failure the plain HEAD tells a missing bucket from a missing key.
        let head = match with_sse_c!(self.sdk.head_object(), customer_key)
            .bucket(bucket)
            .key(key)
            .set_version_id(version_id.map(str::to_owned))
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
        {
            Ok(head) => head,
            Err(_) => {
                self.head_object_full(bucket, key, version_id, customer_key)
                    .await?
            }
        };
        let size = head
            .content_length
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(0);
        let t = &self.transfer;
        let ranges: Vec<(u64, u64)> = if size >= t.download_threshold && size > t.download_part_size
        {
            (0..size)
                .step_by(usize::try_from(t.download_part_size).unwrap_or(usize::MAX))
                .map(|s| (s, (s + t.download_part_size).min(size) - 1))
                .collect()
        } else {
            vec![(0, size.saturating_sub(1))]
        };
        let single = ranges.len() <= 1;
        let (crc, full_sha) = stored_checksums(&head);
        let facts = ObjectFacts {
            e_tag: head.e_tag.as_deref(),
            sse: head
                .server_side_encryption
                .as_ref()
                .map(ServerSideEncryption::as_str),
            sse_c: head.sse_customer_algorithm.is_some(),
            crc,
            full_sha,
            single_get_with_checksum_mode: single && t.verify_checksums,
        };
        let mut check = if t.verify_checksums {
            verify::decide(&facts)
        } else {
            Check::Skip(NotVerified::TurnedOff)
        };
        let mut parts = None;
        match check {
            Check::Parts { parts: n, .. } if size > 0 => {
                parts = self
                    .part_layout(
                        bucket,
                        key,
                        version_id,
                        head.e_tag.as_deref(),
                        (n, size),
                        customer_key,
                    )
                    .await?;
                if parts.is_none() {
                    check = Check::Skip(NotVerified::PartsNotServed);
                }
            }
            Check::Parts { .. } => check = Check::Skip(NotVerified::EmptyMultipart),
            _ => {}
        }
        match &check {
            // Asked for: said once, at DEBUG.
            Check::Skip(why @ NotVerified::TurnedOff) => {
                tracing::debug!(bucket, key, "download not verified: {why}");
            }
            Check::Skip(why) => {
                let e_tag = head.e_tag.as_deref().unwrap_or("none");
                tracing::info!(
                    bucket,
                    key,
                    e_tag,
                    "download not verified (size only): {why}"
                );
            }
            _ => {}
        }
        Ok(Plan {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            version_id: version_id.map(str::to_owned),
            size,
            e_tag: head.e_tag,
            ranges,
            check,
            parts,
            customer_key: customer_key.cloned(),
        })
    }

    /// GET of part 1, its body dropped unread: the part count and the first
    /// part's size, when the store serves parts (`Content-Range` of a strict
    /// prefix and `x-amz-mp-parts-count` agreeing with the ETag's count).
    /// moto (5.2.5, checked with boto3 1.35.99) counts the parts on a HEAD
    /// with `partNumber` (the part's length, `x-amz-mp-parts-count`) but
    /// answers a GET with `partNumber` with the whole object, without
    /// `Content-Range` or a part count: a HEAD cannot tell, this GET can.
    pub(super) async fn part_layout(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
        e_tag: Option<&str>,
        (parts, size): (u32, u64),
        customer_key: Option<&SseCustomerKey>,
    ) -> Result<Option<(u32, u64)>, Error> {
        let out = with_sse_c!(self.sdk.get_object(), customer_key)
            .bucket(bucket)
            .key(key)
            .set_version_id(version_id.map(str::to_owned))
            .part_number(1)
            .set_if_match(e_tag.map(str::to_owned))
            .send()
            .await
            .map_err(|e| Error::from_sdk(&self.target, "GetObject", bucket, Some(key), e))?;
        let count = out.parts_count.and_then(|n| u32::try_from(n).ok());
        let first = out.content_length.and_then(|n| u64::try_from(n).ok());
        let range = out.content_range.as_deref().and_then(parse_content_range);
        drop(out);
        Ok(match (count, first, range) {
            (Some(n), Some(first), Some((0, last, total)))
                if n == parts
                    && first > 0
                    && last + 1 == first
                    && total == size
                    && (n == 1 || first < size) =>
            {
                Some((n, first))
            }
            _ => None,
        })
    }
}

impl Plan {
    /// With [`DownloadOptions::require_verified`](super::DownloadOptions::require_verified),
    /// an object that cannot be verified is an error, before any GET.
    fn required(&self, options: &super::DownloadOptions) -> Result<(), Error> {
        match &self.check {
            Check::Skip(reason) if options.requires_verified() => Err(Error::Unverifiable {
                bucket: self.bucket.clone(),
                key: self.key.clone(),
                reason: reason.clone(),
            }),
            _ => Ok(()),
        }
    }

    /// GETs the download makes: parts, or ranges (1 for a single GET).
    pub(super) fn units(&self) -> usize {
        match self.parts {
            Some((n, _)) => n as usize,
            None => self.ranges.len(),
        }
    }

    /// Whether the content is checked against a single-PUT ETag while it is
    /// fetched as ranges (`single`: a single GET): an MD5 cannot be combined
    /// from the ranges' own, so the whole content is hashed in one pass once
    /// every range arrived.
    pub(super) fn md5_after_ranges(&self, single: bool) -> bool {
        matches!(self.check, Check::Md5(_)) && !single && self.parts.is_none()
    }

    /// Whether a GET of this plan hashes its bytes (`whole`: a single GET).
    pub(super) fn hashes(&self, whole: bool) -> bool {
        match self.check {
            Check::Md5(_) => whole,
            Check::Parts { .. } => self.parts.is_some(),
            Check::Crc { .. } => true,
            Check::FullChecksum(_) | Check::Skip(_) => false,
        }
    }
}

impl Piece {
    pub(super) fn new(start: u64, len: u64, index: usize, digest: UnitDigest) -> Self {
        Self {
            start,
            len,
            digest,
            index,
        }
    }
}

/// The full-object checksums of a HEAD answer that a download can use: a
/// CRC it computes itself, or a SHA the SDK checks on a single GET. Only
/// checksums of the whole object count: a single-PUT object's, or one
/// marked `FULL_OBJECT`; not a composite one (`...-N`, or `COMPOSITE`), nor
/// an unmarked one on a multipart object, nor a value of the wrong width.
fn stored_checksums(
    head: &HeadObjectOutput,
) -> (Option<(CrcKind, u64)>, Option<ChecksumAlgorithm>) {
    let multipart = head
        .e_tag
        .as_deref()
        .and_then(verify::parse_e_tag)
        .is_some_and(|(_, parts)| parts.is_some());
    let whole = match &head.checksum_type {
        Some(ChecksumType::FullObject) => true,
        None => !multipart,
        Some(_) => false,
    };
    fn usable(whole: bool, v: Option<&str>) -> Option<&str> {
        v.filter(|v| whole && !v.contains('-'))
    }
    let crc = [
        (CrcKind::Crc64Nvme, head.checksum_crc64_nvme()),
        (CrcKind::Crc32C, head.checksum_crc32_c()),
        (CrcKind::Crc32, head.checksum_crc32()),
    ]
    .into_iter()
    .find_map(|(kind, v)| {
        usable(whole, v)
            .and_then(|v| kind.decode(v))
            .map(|crc| (kind, crc))
    });
    let sha = [
        (ChecksumAlgorithm::Sha256, head.checksum_sha256()),
        (ChecksumAlgorithm::Sha1, head.checksum_sha1()),
    ]
    .into_iter()
    .find_map(|(a, v)| usable(whole, v).map(|_| a));
    (crc, sha)
}

/// `bytes A-B/TOTAL` → (A, B, TOTAL).
pub(super) fn parse_content_range(v: &str) -> Option<(u64, u64, u64)> {
    let rest = v.trim().strip_prefix("bytes")?.trim_start();
    let (range, total) = rest.split_once('/')?;
    let (a, b) = range.split_once('-')?;
    let (a, b, total) = (
        a.trim().parse().ok()?,
        b.trim().parse().ok()?,
        total.trim().parse().ok()?,
    );
    (a <= b).then_some((a, b, total))
}

#[cfg(test)]
mod tests {
    use super::parse_content_range;

    #[test]
    fn content_ranges_parse() {
        assert_eq!(parse_content_range("bytes 0-9/20"), Some((0, 9, 20)));
        assert_eq!(parse_content_range("bytes 10-19/20"), Some((10, 19, 20)));
        assert_eq!(parse_content_range("bytes 9-0/20"), None);
        assert_eq!(parse_content_range("bytes */20"), None);
        assert_eq!(parse_content_range("0-9/20"), None);
    }
}
