//! Listings: every key of a bucket (following continuation tokens past
//! 1,000), by prefix, or page by page for buckets too large to hold.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output;
use aws_sdk_s3::types::Object;

use super::client::S3BucketClient;
use super::error::Error;

/// One entry of a listing.
///
/// ```no_run
/// # async fn f(c: ms_utils_communication::s3::S3BucketClient) -> Result<(), ms_utils_communication::s3::Error> {
/// let mut pages = c.list_pages("bucket", Some("logs/"));
/// while let Some(page) = pages.next_page().await {
///     for obj in page? { println!("{} {}", obj.key, obj.size); }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ObjectInfo {
    /// The key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// ETag, quotes included.
    pub e_tag: Option<String>,
    /// Last modification time.
    pub last_modified: Option<SystemTime>,
}

/// A listing read page by page (up to 1,000 keys each), following
/// continuation tokens. Made by [`S3BucketClient::list_pages`].
pub struct ListPages {
    pager: Pager,
}

impl fmt::Debug for ListPages {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ListPages")
            .field("bucket", &self.pager.bucket)
            .finish_non_exhaustive()
    }
}

impl ListPages {
    /// The next page, `None` after the last one.
    ///
    /// # Cancellation safety
    /// Cancel-safe between pages: dropping the future before it completes
    /// loses at most the page being fetched, which the next call fetches again.
    ///
    /// ```no_run
    /// # async fn f(c: ms_utils_communication::s3::S3BucketClient) -> Result<(), ms_utils_communication::s3::Error> {
    /// let mut pages = c.list_pages("bucket", None);
    /// let mut n = 0;
    /// while let Some(page) = pages.next_page().await { n += page?.len(); }
    /// # Ok(()) }
    /// ```
    pub async fn next_page(&mut self) -> Option<Result<Vec<ObjectInfo>, Error>> {
        let out = match self.pager.next().await? {
            Ok(out) => out,
            Err(e) => return Some(Err(e)),
        };
        Some(Ok(objects_of(out.contents)))
    }
}

/// The paging of `ListObjectsV2` (continuation tokens), shared by the flat
/// and the delimited listings.
pub(crate) struct Pager {
    sdk: aws_sdk_s3::Client,
    /// The endpoint URL errors name.
    target: Arc<str>,
    pub(crate) bucket: String,
    prefix: Option<String>,
    delimiter: Option<String>,
    token: Option<String>,
    done: bool,
}

impl Pager {
    pub(crate) fn new(
        client: &S3BucketClient,
        bucket: &str,
        prefix: Option<&str>,
        delimiter: Option<&str>,
    ) -> Self {
        Pager {
            sdk: client.sdk.clone(),
            target: client.target.clone(),
            bucket: bucket.to_owned(),
            prefix: prefix.map(str::to_owned),
            delimiter: delimiter.map(str::to_owned),
            token: None,
            done: false,
        }
    }

    /// The next answer, `None` after the last one. Cancel-safe: the state
    /// changes only once an answer arrived.
    pub(crate) async fn next(&mut self) -> Option<Result<ListObjectsV2Output, Error>> {
        if self.done {
            return None;
        }
        let result = self
            .sdk
            .list_objects_v2()
            .bucket(&self.bucket)
            .set_prefix(self.prefix.clone())
            .set_delimiter(self.delimiter.clone())
            .set_continuation_token(self.token.clone())
            .send()
            .await;
        let out = match result {
            Ok(out) => out,
            Err(e) => {
                // A failed page ends the listing: retrying is the SDK's job.
                self.done = true;
                return Some(Err(Error::from_sdk(
                    &self.target,
                    "ListObjectsV2",
                    &self.bucket,
                    None,
                    e,
                )));
            }
        };
        // State changes only here, after the page arrived: that is what makes
        // dropping the future harmless.
        self.token = out.next_continuation_token.clone();
        self.done = !out.is_truncated.unwrap_or(false) || self.token.is_none();
        Some(Ok(out))
    }
}

/// The entries of a listing's `Contents`.
pub(crate) fn objects_of(contents: Option<Vec<Object>>) -> Vec<ObjectInfo> {
    contents
        .unwrap_or_default()
        .into_iter()
        .filter_map(|o| {
            Some(ObjectInfo {
                key: o.key?,
                size: o.size.and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
                e_tag: o.e_tag,
                last_modified: o.last_modified.and_then(|t| SystemTime::try_from(t).ok()),
            })
        })
        .collect()
}

impl S3BucketClient {
    /// All keys of a bucket, following continuation tokens past 1,000.
    ///
    /// # Errors
    /// [`Error::NotFound`] for a missing bucket.
    ///
    /// ```no_run
    /// # async fn f(c: ms_utils_communication::s3::S3BucketClient) -> Result<(), ms_utils_communication::s3::Error> {
    /// let keys = c.list_files("bucket").await?;
    /// # Ok(()) }
    /// ```
    pub async fn list_files(&self, bucket: &str) -> Result<Vec<String>, Error> {
        self.list_files_with_prefix(bucket, "").await
    }

    /// All keys starting with `prefix`.
    ///
    /// # Errors
    /// As for [`list_files`](Self::list_files).
    ///
    /// ```no_run
    /// # async fn f(c: ms_utils_communication::s3::S3BucketClient) -> Result<(), ms_utils_communication::s3::Error> {
    /// let logs = c.list_files_with_prefix("bucket", "logs/2024-").await?;
    /// # Ok(()) }
    /// ```
    pub async fn list_files_with_prefix(
        &self,
        bucket: &str,
        prefix: &str,
    ) -> Result<Vec<String>, Error> {
        let mut pages = self.list_pages(bucket, Some(prefix).filter(|p| !p.is_empty()));
        let mut keys = Vec::new();
        while let Some(page) = pages.next_page().await {
            keys.extend(page?.into_iter().map(|o| o.key));
        }
        Ok(keys)
    }

    /// A listing read page by page, for buckets too large to hold in memory.
    ///
    /// ```no_run
    /// # async fn f(c: ms_utils_communication::s3::S3BucketClient) -> Result<(), ms_utils_communication::s3::Error> {
    /// let mut pages = c.list_pages("bucket", Some("images/"));
    /// while let Some(page) = pages.next_page().await {
    ///     let page = page?;
    ///     println!("{} objects", page.len());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn list_pages(&self, bucket: &str, prefix: Option<&str>) -> ListPages {
        ListPages {
            pager: Pager::new(self, bucket, prefix, None),
        }
    }
}
