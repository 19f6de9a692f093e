//! A byte range of an object into memory (one ranged GET).

use std::ops::{Bound, RangeBounds};

use bytes::{Bytes, BytesMut};

use super::DownloadOptions;
use super::plan::parse_content_range;
use crate::s3::client::S3BucketClient;
use crate::s3::error::Error;
use crate::s3::object_args::with_sse_c;
use crate::s3::progress::{Direction, Tracker};

impl S3BucketClient {
    /// Reads bytes `range` of an object into memory with one ranged GET
    /// (boto3's `get_object(Range="bytes=A-B")`): `0..100` is the first 100
    /// bytes, `100..` everything from byte 100, `..=99` the same as `0..100`.
    /// A range reaching past the end of the object is cut at its end, as S3
    /// does. [`DownloadOptions::version_id`] reads from a version and
    /// [`DownloadOptions::progress`] reports the bytes.
    ///
    /// # Verification
    /// The answer must be the range asked for (its `Content-Range`) and hold
    /// as many bytes as it says. The bytes themselves are not checked
    /// against the object's ETag or checksum: S3 keeps no checksum of a part
    /// of an object. Fetch the whole object with
    /// [`download_bytes`](Self::download_bytes) when that matters.
    ///
    /// # Errors
    /// [`Error::NotFound`]; [`Error::SseCustomerKey`] when the object is
    /// SSE-C and [`DownloadOptions::sse_customer_key`] was not given, or is
    /// not its key; an [`Error::Service`] with code `InvalidRange`
    /// (HTTP 416) when the range starts at or past the end of the object
    /// (also any range of an empty object); [`Error::Integrity`] when the
    /// answer is not the range asked for or is cut short. An empty range
    /// (`5..5`) returns no bytes without a request.
    ///
    /// # Cancellation safety
    /// Dropping the future stops the download; nothing is kept.
    ///
    /// ```no_run
    /// # async fn f(c: ms_utils_communication::s3::S3BucketClient) -> Result<(), ms_utils_communication::s3::Error> {
    /// use ms_utils_communication::s3::DownloadOptions;
    /// // The 8-byte footer of a 1,000-byte file, then its first KiB.
    /// let footer = c.download_range("bucket", "data.parquet", 992..1000, DownloadOptions::new()).await?;
    /// let head = c.download_range("bucket", "data.parquet", ..1024, DownloadOptions::new()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn download_range(
        &self,
        bucket: &str,
        key: &str,
        range: impl RangeBounds<u64>,
        options: DownloadOptions,
    ) -> Result<Bytes, Error> {
        // Boxed: the transfer's state is large, and would otherwise
        // sit inside every future that awaits this one.
        Box::pin(async move {
            let start = match range.start_bound() {
                Bound::Included(&s) => s,
                Bound::Excluded(&s) => s.saturating_add(1),
                Bound::Unbounded => 0,
            };
            let last = match range.end_bound() {
                Bound::Included(&e) => Some(e),
                Bound::Excluded(&0) => return Ok(Bytes::new()),
                Bound::Excluded(&e) => Some(e - 1),
                Bound::Unbounded => None,
            };
            if last.is_some_and(|last| last < start) {
                return Ok(Bytes::new());
            }
            let header = match last {
                Some(last) => format!("bytes={start}-{last}"),
                None => format!("bytes={start}-"),
            };
            let customer_key = options.customer_key.as_ref();
            let out = match with_sse_c!(self.sdk.get_object(), customer_key)
                .bucket(bucket)
                .key(key)
                .set_version_id(options.version_id.clone())
                .range(header)
                .send()
                .await
            {
                Ok(out) => out,
                Err(e) => {
                    let err = Error::from_sdk(&self.target, "GetObject", bucket, Some(key), e);
                    let version_id = options.version_id.as_deref();
                    return Err(self
                        .sse_c_refusal(err, bucket, key, version_id, customer_key)
                        .await);
                }
            };
            let wrong = |detail: String| Error::Integrity {
                bucket: bucket.to_owned(),
                key: key.to_owned(),
                detail,
            };
            let announced = out.content_range.as_deref().unwrap_or_default();
            let Some((first, end, total)) = parse_content_range(announced) else {
                return Err(wrong(format!(
                    "GetObject of bytes {start}-{}: the answer is not a range (Content-Range `{announced}`)",
                    last.map(|l| l.to_string()).unwrap_or_default()
                )));
            };
            let cut = last.map_or(total.saturating_sub(1), |l| l.min(total.saturating_sub(1)));
            if first != start || end != cut {
                return Err(wrong(format!(
                    "GetObject of bytes {start}-{cut}: the server answered bytes {first}-{end}"
                )));
            }
            let expected = end - first + 1;
            if let Some(n) = out
                .content_length
                .and_then(|n| u64::try_from(n).ok())
                .filter(|&n| n != expected)
            {
                return Err(wrong(format!(
                    "GetObject of bytes {first}-{end}: server announced {n} bytes, expected {expected}"
                )));
            }
            let tracker = Tracker::new(
                options.progress.as_ref(),
                Direction::Download,
                key,
                Some(expected),
            );
            let mut body = out.body;
            let mut buf = BytesMut::with_capacity(usize::try_from(expected).unwrap_or(0));
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|e| {
                    Error::transport(&self.target, "GetObject", bucket, Some(key), e.into())
                })?;
                if (buf.len() + chunk.len()) as u64 > expected {
                    return Err(wrong(format!(
                        "GetObject of bytes {first}-{end}: the answer holds more than {expected} bytes"
                    )));
                }
                tracker.add(chunk.len() as u64);
                buf.extend_from_slice(&chunk);
            }
            if buf.len() as u64 != expected {
                return Err(wrong(format!(
                    "GetObject of bytes {first}-{end}: received {} bytes of {expected}",
                    buf.len()
                )));
            }
            Ok(buf.freeze())
        })
        .await
    }
}
