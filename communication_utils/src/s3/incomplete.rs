//! Multipart uploads that were started and never completed nor aborted: a
//! client killed half-way, or an abort that could not reach the server. Their
//! parts stay on the server (and are billed on a real store) until aborted.

use std::fmt;
use std::time::{Duration, SystemTime};

use futures_util::{StreamExt, stream};

use super::abort::abort_with_retry;
use super::client::S3BucketClient;
use super::error::Error;

/// How many aborts [`S3BucketClient::abort_incomplete_uploads`] sends at once.
const ABORT_CONCURRENCY: usize = 8;

/// A multipart upload still open on the server, as
/// [`S3BucketClient::list_incomplete_uploads`] lists it.
///
/// ```no_run
/// # async fn f(c: ms_utils_communication::s3::S3BucketClient) -> Result<(), ms_utils_communication::s3::Error> {
/// for u in c.list_incomplete_uploads("bucket", "uploads/").await? {
///     println!("{} {} started {:?}", u.key, u.upload_id, u.initiated);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IncompleteUpload {
    /// The key the upload would have created.
    pub key: String,
    /// The upload id (what `AbortMultipartUpload` takes).
    pub upload_id: String,
    /// When the upload was started, when the server says.
    pub initiated: Option<SystemTime>,
}

/// What [`S3BucketClient::abort_incomplete_uploads`] did with each upload it
/// listed: every one is in exactly one of the three lists.
///
/// ```no_run
/// # async fn f(c: ms_utils_communication::s3::S3BucketClient) -> Result<(), ms_utils_communication::s3::Error> {
/// let day = std::time::Duration::from_secs(24 * 3600);
/// let summary = c.abort_incomplete_uploads("bucket", "", day).await?;
/// println!("{} aborted, {} kept", summary.aborted.len(), summary.kept.len());
/// for (upload, err) in &summary.failed {
///     eprintln!("{} ({}) not aborted: {err}", upload.key, upload.upload_id);
/// }
/// # Ok(()) }
/// ```
#[derive(Default)]
#[non_exhaustive]
pub struct AbortSummary {
    /// The uploads aborted (their parts are gone).
    pub aborted: Vec<IncompleteUpload>,
    /// The uploads whose abort failed, with the error of its last try.
    pub failed: Vec<(IncompleteUpload, Error)>,
    /// The uploads left alone: started less than `older_than` ago, or of
    /// unknown age (the server gave no initiation time) when `older_than` is
    /// not zero.
    pub kept: Vec<IncompleteUpload>,
}

impl AbortSummary {
    /// True when every upload old enough was aborted (none failed).
    ///
    /// ```
    /// let s = ms_utils_communication::s3::AbortSummary::default();
    /// assert!(s.all_aborted());
    /// ```
    pub fn all_aborted(&self) -> bool {
        self.failed.is_empty()
    }
}

impl fmt::Debug for AbortSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortSummary")
            .field("aborted", &self.aborted)
            .field(
                "failed",
                &self
                    .failed
                    .iter()
                    .map(|(u, e)| (u, e.to_string()))
                    .collect::<Vec<_>>(),
            )
            .field("kept", &self.kept)
            .finish()
    }
}

impl S3BucketClient {
    /// The multipart uploads still open in `bucket` for keys starting with
    /// `prefix` (`""` for all), sorted by key then start time, following the
    /// listing's markers past 1,000 uploads.
    ///
    /// # Errors
    /// [`Error::NotFound`] for a missing bucket; [`Error::AccessDenied`]
    /// without the `s3:ListBucketMultipartUploads` right.
    ///
    /// ```no_run
    /// # async fn f(c: ms_utils_communication::s3::S3BucketClient) -> Result<(), ms_utils_communication::s3::Error> {
    /// let open = c.list_incomplete_uploads("bucket", "").await?;
    /// println!("{} uploads left open", open.len());
    /// # Ok(()) }
    /// ```
    pub async fn list_incomplete_uploads(
        &self,
        bucket: &str,
        prefix: &str,
    ) -> Result<Vec<IncompleteUpload>, Error> {
        let mut uploads = Vec::new();
        let mut markers: (Option<String>, Option<String>) = (None, None);
        loop {
            let out = self
                .sdk
                .list_multipart_uploads()
                .bucket(bucket)
                .set_prefix(Some(prefix.to_owned()).filter(|p| !p.is_empty()))
                .set_key_marker(markers.0.clone())
                .set_upload_id_marker(markers.1.clone())
                .send()
                .await
                .map_err(|e| {
                    Error::from_sdk(&self.target, "ListMultipartUploads", bucket, None, e)
                })?;
            uploads.extend(out.uploads().iter().filter_map(|u| {
                Some(IncompleteUpload {
                    key: u.key()?.to_owned(),
                    upload_id: u.upload_id()?.to_owned(),
                    initiated: u.initiated().and_then(|t| SystemTime::try_from(*t).ok()),
                })
            }));
            let next = (
                out.next_key_marker().map(str::to_owned),
                out.next_upload_id_marker().map(str::to_owned),
            );
            // A truncated page without new markers would be asked for again
            // forever: it ends the listing.
            if !out.is_truncated().unwrap_or(false) || next.0.is_none() || next == markers {
                // S3's order, also from stores that list in another one.
                uploads.sort_by(|a, b| (&a.key, a.initiated).cmp(&(&b.key, b.initiated)));
                return Ok(uploads);
            }
            markers = next;
        }
    }

    /// Aborts the multipart uploads of `bucket` under `prefix` (`""` for
    /// all) started at least `older_than` ago (`Duration::ZERO`: all of
    /// them), removing their parts. Each abort is tried again with backoff
    /// when it fails for a transport reason. Uploads in progress are
    /// younger than any sensible `older_than` (an hour, a day): a
    /// lifecycle rule (`AbortIncompleteMultipartUpload`) does the same on the
    /// server side.
    ///
    /// # Errors
    /// Only when the listing fails (as for
    /// [`list_incomplete_uploads`](Self::list_incomplete_uploads)); a
    /// failed abort is reported in [`AbortSummary::failed`] and the others
    /// are still tried.
    ///
    /// ```no_run
    /// # async fn f(c: ms_utils_communication::s3::S3BucketClient) -> Result<(), ms_utils_communication::s3::Error> {
    /// let summary = c
    ///     .abort_incomplete_uploads("bucket", "uploads/", std::time::Duration::from_secs(3600))
    ///     .await?;
    /// assert!(summary.all_aborted(), "{summary:?}");
    /// # Ok(()) }
    /// ```
    pub async fn abort_incomplete_uploads(
        &self,
        bucket: &str,
        prefix: &str,
        older_than: Duration,
    ) -> Result<AbortSummary, Error> {
        let now = SystemTime::now();
        let mut summary = AbortSummary::default();
        let mut old = Vec::new();
        for upload in self.list_incomplete_uploads(bucket, prefix).await? {
            let age = upload
                .initiated
                .map(|t| now.duration_since(t).unwrap_or_default());
            let old_enough = older_than.is_zero() || age.is_some_and(|a| a >= older_than);
            if old_enough {
                old.push(upload);
            } else {
                summary.kept.push(upload);
            }
        }
        let mut pending = Vec::with_capacity(old.len());
        for upload in old {
            pending.push(async move {
                let res = abort_with_retry(
                    &self.sdk,
                    &self.target,
                    bucket,
                    &upload.key,
                    &upload.upload_id,
                )
                .await;
                (upload, res)
            });
        }
        let mut results = stream::iter(pending).buffer_unordered(ABORT_CONCURRENCY);
        while let Some((upload, res)) = results.next().await {
            match res {
                Ok(()) => summary.aborted.push(upload),
                Err(e) => summary.failed.push((upload, e)),
            }
        }
        Ok(summary)
    }
}
