//! The full-object checksum an upload stores for later downloads to check:
//! a CRC64NVME, sent as a plain header (computed before the body: never the
//! `aws-chunked` trailer that Scaleway, OVH and Backblaze refuse), per part
//! and, combined, for the whole object of a multipart upload
//! (`ChecksumType::FullObject`).
//!
//! Detected: a store that refuses checksum headers (`400`/`501` with
//! `InvalidArgument`, `InvalidRequest`, `NotImplemented`, ... on a request
//! that carried one) gets the request again without, and this client sends
//! none to it from then on ([`UploadChecksum::Auto`]). A store that takes
//! the header and keeps nothing costs only the CRC; the upload's result says
//! whether the store confirmed the value.

use std::path::Path;
use std::sync::atomic::Ordering;

use super::client::S3BucketClient;
use super::config::UploadChecksum;
use super::crc::CrcKind;
use super::error::Error;
use super::verification::FullChecksum;

/// The algorithm uploads store.
pub(crate) const UPLOAD_CRC: CrcKind = CrcKind::Crc64Nvme;

impl S3BucketClient {
    /// Whether the next upload sends a checksum.
    pub(crate) fn sends_checksums(&self) -> bool {
        match self.transfer.upload_checksum {
            UploadChecksum::Off => false,
            UploadChecksum::Required => true,
            UploadChecksum::Auto => !self.checksums_refused.load(Ordering::Relaxed),
        }
    }

    /// After `e` answered a request that carried a checksum: true when the
    /// request should go again without it (the store refuses checksum
    /// headers and the policy is [`UploadChecksum::Auto`]); the client then
    /// stops sending them.
    pub(crate) fn checksum_refused(&self, e: &Error, operation: &str) -> bool {
        if self.transfer.upload_checksum != UploadChecksum::Auto || !refuses_checksums(e) {
            return false;
        }
        if !self.checksums_refused.swap(true, Ordering::Relaxed) {
            tracing::info!(
                endpoint = %self.target,
                operation,
                error = %e,
                "the store refuses checksum headers: uploads go without a full-object checksum \
                 from now on (downloads check ETags where they can)"
            );
        }
        true
    }
}

/// An answer a store gives to checksum headers it does not take. Not
/// `BadDigest` (a checksum that does not match the data: a real failure).
fn refuses_checksums(e: &Error) -> bool {
    match e {
        Error::Service { status, code, .. } => {
            let code = code.as_deref();
            *status == Some(501)
                || code == Some("NotImplemented")
                || (*status == Some(400)
                    && matches!(
                        code,
                        None | Some(
                            "InvalidArgument" | "InvalidRequest" | "BadRequest" | "InvalidHeader"
                        )
                    ))
        }
        _ => false,
    }
}

/// The checksum the store confirmed: the value sent, when the answer
/// echoes it.
pub(crate) fn confirmed(sent: Option<u64>, echoed: Option<&str>) -> Option<FullChecksum> {
    let sent = sent?;
    (UPLOAD_CRC.decode(echoed?) == Some(sent)).then(|| FullChecksum {
        algorithm: UPLOAD_CRC.public(),
        value: UPLOAD_CRC.encode(sent),
    })
}

/// The CRC of `len` bytes of `path` from `offset`, read on the blocking
/// pool in 1 MiB steps (the SDK reads the file again for the body, from
/// the page cache).
pub(crate) async fn file_crc(path: &Path, offset: u64, len: u64) -> Result<u64, Error> {
    let owned = path.to_owned();
    let crc = tokio::task::spawn_blocking(move || -> std::io::Result<u64> {
        use std::io::{Read, Seek, SeekFrom};
        let mut file = std::fs::File::open(&owned)?;
        file.seek(SeekFrom::Start(offset))?;
        let mut digest = UPLOAD_CRC.digest();
        let mut left = len;
        let mut buf = vec![0u8; 1024 * 1024];
        while left > 0 {
            let want = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
            let n = file.read(&mut buf[..want])?;
            if n == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the file is shorter than when the upload started",
                ));
            }
            digest.update(&buf[..n]);
            left -= n as u64;
        }
        Ok(digest.finish())
    })
    .await
    .map_err(Error::task)?;
    crc.map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::s3::RequestContext;

    #[test]
    fn only_the_answers_of_a_store_refusing_headers_count() {
        let service = |status: u16, code: Option<&str>| Error::Service {
            request: RequestContext::new(&"http://x".into(), "PutObject", "", None),
            code: code.map(Into::into),
            status: Some(status),
            message: None,
            cause: Box::new(std::io::Error::other("x")),
        };
        assert!(refuses_checksums(&service(400, Some("InvalidArgument"))));
        assert!(refuses_checksums(&service(400, None)));
        assert!(refuses_checksums(&service(501, None)));
        assert!(refuses_checksums(&service(400, Some("NotImplemented"))));
        assert!(!refuses_checksums(&service(400, Some("BadDigest"))));
        assert!(!refuses_checksums(&service(403, Some("AccessDenied"))));
        assert!(!refuses_checksums(&service(500, None)));
        assert!(!refuses_checksums(&Error::InvalidInput("x".into())));
    }

    #[test]
    fn a_checksum_counts_as_stored_when_echoed() {
        let crc = UPLOAD_CRC.of(b"abc");
        let value = UPLOAD_CRC.encode(crc);
        assert_eq!(
            confirmed(Some(crc), Some(&value)).map(|c| c.value),
            Some(value.clone())
        );
        assert_eq!(confirmed(Some(crc), None), None);
        assert_eq!(confirmed(Some(crc + 1), Some(&value)), None);
        assert_eq!(confirmed(None, Some(&value)), None);
    }
}
