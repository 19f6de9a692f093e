//! Batch deletes: many keys (or versions) in `DeleteObjects` requests of up
//! to 1,000 each, and everything under a prefix; the summary says what was
//! deleted and, key by key, what was not.

use std::fmt;
use std::sync::Arc;

use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use aws_smithy_types::base64;
use futures_util::stream::FuturesUnordered;
use futures_util::{StreamExt, stream};

use super::client::S3BucketClient;
use super::error::Error;
use super::verify;

/// The most keys one `DeleteObjects` request may carry (S3's limit).
pub const DELETE_BATCH: usize = 1000;

/// `DeleteObjects` requests in flight at once.
const DELETE_CONCURRENCY: usize = 4;

/// An object to delete: a key, and a version of it on a versioned bucket.
/// `&str` and `String` convert into one (no version).
///
/// ```
/// use ms_utils_communication::s3::ObjectId;
/// let current: ObjectId = "logs/a.txt".into();
/// let old = ObjectId::new("logs/a.txt").version("3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY");
/// # let _ = (current, old);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ObjectId {
    /// The key.
    pub key: String,
    /// The version to delete; `None` deletes the current object (on a
    /// versioned bucket: adds a delete marker).
    pub version_id: Option<String>,
}

impl ObjectId {
    /// The current object under `key`.
    ///
    /// ```
    /// let id = ms_utils_communication::s3::ObjectId::new("a.txt");
    /// assert_eq!(id.version_id, None);
    /// ```
    pub fn new(key: impl Into<String>) -> Self {
        ObjectId {
            key: key.into(),
            version_id: None,
        }
    }

    /// This version of the key.
    ///
    /// ```
    /// let id = ms_utils_communication::s3::ObjectId::new("a.txt").version("v1");
    /// assert_eq!(id.version_id.as_deref(), Some("v1"));
    /// ```
    #[must_use]
    pub fn version(mut self, version_id: impl Into<String>) -> Self {
        self.version_id = Some(version_id.into());
        self
    }
}

impl From<&str> for ObjectId {
    fn from(key: &str) -> Self {
        ObjectId::new(key)
    }
}

impl From<String> for ObjectId {
    fn from(key: String) -> Self {
        ObjectId::new(key)
    }
}

impl From<&String> for ObjectId {
    fn from(key: &String) -> Self {
        ObjectId::new(key.as_str())
    }
}

/// One object the server reported deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeletedObject {
    /// The key.
    pub key: String,
    /// The version deleted, when one was named.
    pub version_id: Option<String>,
    /// True when the delete created a delete marker (a versioned bucket and
    /// no version named), or removed one (its version named).
    pub delete_marker: bool,
    /// The version id of that delete marker.
    pub delete_marker_version_id: Option<String>,
}

/// One object that was not deleted, and why.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DeleteFailure {
    /// The key.
    pub key: String,
    /// The version asked for, if any.
    pub version_id: Option<String>,
    /// The S3 error code the server gave for this key (`AccessDenied`,
    /// `InternalError`, ...); `None` when the whole request failed.
    pub code: Option<String>,
    /// The server's message for this key, or the failed request's error text.
    pub message: String,
    /// When the whole request carrying this key failed (after the client's
    /// retries): its error, shared by every key of that request.
    pub request_error: Option<Arc<Error>>,
}

impl fmt::Display for DeleteFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`", self.key)?;
        if let Some(v) = &self.version_id {
            write!(f, " (version {v})")?;
        }
        match &self.code {
            Some(code) => write!(f, " not deleted: {code}: {}", self.message),
            None => write!(f, " not deleted: {}", self.message),
        }
    }
}

/// What a batch delete did: S3 reports every key of a request in one of
/// the two lists (a key that did not exist as deleted).
///
/// ```no_run
/// # async fn f(c: ms_utils_communication::s3::S3BucketClient) -> Result<(), ms_utils_communication::s3::Error> {
/// let summary = c.delete_files("bucket", ["a.txt", "b.txt"]).await?;
/// for failure in &summary.failures { eprintln!("{failure}"); }
/// assert!(summary.is_complete());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct DeleteSummary {
    /// The objects deleted, in no particular order.
    pub deleted: Vec<DeletedObject>,
    /// The objects not deleted, in no particular order.
    pub failures: Vec<DeleteFailure>,
}

impl DeleteSummary {
    /// True when nothing failed.
    ///
    /// ```
    /// assert!(ms_utils_communication::s3::DeleteSummary::default().is_complete());
    /// ```
    pub fn is_complete(&self) -> bool {
        self.failures.is_empty()
    }

    fn absorb(&mut self, other: DeleteSummary) {
        self.deleted.extend(other.deleted);
        self.failures.extend(other.failures);
    }
}

impl S3BucketClient {
    /// Deletes many objects: `DeleteObjects` requests of up to
    /// [`DELETE_BATCH`] (1,000) keys, four in flight at once. Keys may name a
    /// version ([`ObjectId::version`]). A key that does not exist counts as
    /// deleted (S3 semantics). Each request carries a `Content-MD5` header
    /// besides the SDK's checksum, as stores that predate S3's newer
    /// checksums require.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when a key is empty (S3 would refuse the whole
    /// request); nothing is sent then. Otherwise none of its own: a key the
    /// server refused is in
    /// [`DeleteSummary::failures`] with the server's code and message; a
    /// request that failed as a whole (missing bucket, access denied,
    /// transport) puts each of its keys there with the request's error in
    /// [`DeleteFailure::request_error`], and the other requests still run.
    ///
    /// # Cancellation safety
    /// Dropping the future stops sending requests; the requests already
    /// received by the server may still delete their keys.
    ///
    /// ```no_run
    /// # async fn f(c: ms_utils_communication::s3::S3BucketClient) -> Result<(), ms_utils_communication::s3::Error> {
    /// let keys = c.list_files_with_prefix("bucket", "tmp/").await?;
    /// let summary = c.delete_files("bucket", &keys).await?;
    /// println!("{} deleted, {} failed", summary.deleted.len(), summary.failures.len());
    /// # Ok(()) }
    /// ```
    pub async fn delete_files<I>(&self, bucket: &str, keys: I) -> Result<DeleteSummary, Error>
    where
        I: IntoIterator,
        I::Item: Into<ObjectId>,
    {
        let ids: Vec<ObjectId> = keys.into_iter().map(Into::into).collect();
        if ids.iter().any(|id| id.key.is_empty()) {
            return Err(Error::InvalidInput(format!(
                "delete_files on bucket `{bucket}`: an empty key names no object"
            )));
        }
        let mut summary = DeleteSummary::default();
        let mut batches = stream::iter(ids.chunks(DELETE_BATCH))
            .map(|batch| self.delete_batch(bucket, batch))
            .buffer_unordered(DELETE_CONCURRENCY);
        while let Some(done) = batches.next().await {
            summary.absorb(done);
        }
        Ok(summary)
    }

    /// Deletes every object whose key starts with `prefix` (taken literally:
    /// `"tmp/"` for the folder `tmp`), listing and deleting a page of up to
    /// 1,000 keys at a time, a page deleted while the next one is listed.
    /// On a versioned bucket this deletes the current objects (each gets a
    /// delete marker), as `aws s3 rm --recursive` does; old versions stay
    /// (delete them with [`delete_files`](Self::delete_files) and the ids
    /// of [`list_versions`](Self::list_versions)).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an empty `prefix` (that would empty the
    /// bucket: pass the keys of [`list_files`](Self::list_files) to
    /// [`delete_files`](Self::delete_files) for that); a listing's error
    /// (e.g. [`Error::NotFound`] for a missing bucket), in which case the
    /// pages listed before may already be deleted: calling again goes on
    /// from what is left. Keys that could not be deleted are in the summary.
    ///
    /// # Cancellation safety
    /// As for [`delete_files`](Self::delete_files).
    ///
    /// ```no_run
    /// # async fn f(c: ms_utils_communication::s3::S3BucketClient) -> Result<(), ms_utils_communication::s3::Error> {
    /// let summary = c.delete_prefix("bucket", "jobs/42/").await?;
    /// assert!(summary.is_complete(), "{:?}", summary.failures);
    /// # Ok(()) }
    /// ```
    pub async fn delete_prefix(&self, bucket: &str, prefix: &str) -> Result<DeleteSummary, Error> {
        if prefix.is_empty() {
            return Err(Error::InvalidInput(format!(
                "delete_prefix on bucket `{bucket}` with an empty prefix would delete every object: refused"
            )));
        }
        // The pages as a stream: a page being fetched survives the select
        // below when a delete finishes first.
        let pages = stream::unfold(self.list_pages(bucket, Some(prefix)), |mut pages| async {
            pages.next_page().await.map(|page| (page, pages))
        });
        let mut pages = std::pin::pin!(pages);
        let mut summary = DeleteSummary::default();
        let mut deleting = FuturesUnordered::new();
        loop {
            // List the next page while the pages listed are deleted.
            let page = tokio::select! {
                page = pages.next() => page,
                Some(done) = deleting.next(), if !deleting.is_empty() => {
                    summary.absorb(done);
                    continue;
                }
            };
            let Some(page) = page else { break };
            let ids: Vec<ObjectId> = page?.into_iter().map(|o| ObjectId::new(o.key)).collect();
            if !ids.is_empty() {
                deleting.push(async move { self.delete_batch(bucket, &ids).await });
            }
            while deleting.len() >= DELETE_CONCURRENCY {
                if let Some(done) = deleting.next().await {
                    summary.absorb(done);
                }
            }
        }
        while let Some(done) = deleting.next().await {
            summary.absorb(done);
        }
        Ok(summary)
    }

    /// One `DeleteObjects` request for up to [`DELETE_BATCH`] objects.
    async fn delete_batch(&self, bucket: &str, ids: &[ObjectId]) -> DeleteSummary {
        let mut objects = Vec::with_capacity(ids.len());
        for id in ids {
            match ObjectIdentifier::builder()
                .key(&id.key)
                .set_version_id(id.version_id.clone())
                .build()
            {
                Ok(o) => objects.push(o),
                // Only a missing key fails the build, and `key` is set.
                Err(e) => return failed_request(ids, Error::InvalidInput(e.to_string())),
            }
        }
        let delete = match Delete::builder().set_objects(Some(objects)).build() {
            Ok(d) => d,
            Err(e) => return failed_request(ids, Error::InvalidInput(e.to_string())),
        };
        let result = self
            .sdk
            .delete_objects()
            .bucket(bucket)
            .delete(delete)
            .customize()
            .mutate_request(|req| {
                // The serialized XML is in memory; its MD5 is what older
                // stores insist on.
                let md5 = req.body().bytes().map(|b| base64::encode(verify::md5(b)));
                if let Some(md5) = md5 {
                    req.headers_mut().insert("Content-MD5", md5);
                }
            })
            .send()
            .await;
        let out = match result {
            Ok(out) => out,
            Err(e) => {
                return failed_request(
                    ids,
                    Error::from_sdk(&self.target, "DeleteObjects", bucket, None, e),
                );
            }
        };
        let mut summary = DeleteSummary::default();
        for d in out.deleted.unwrap_or_default() {
            let Some(key) = d.key else { continue };
            summary.deleted.push(DeletedObject {
                key,
                version_id: d.version_id,
                delete_marker: d.delete_marker.unwrap_or(false),
                delete_marker_version_id: d.delete_marker_version_id,
            });
        }
        for e in out.errors.unwrap_or_default() {
            summary.failures.push(DeleteFailure {
                key: e.key.unwrap_or_default(),
                version_id: e.version_id,
                code: e.code,
                message: e.message.unwrap_or_default(),
                request_error: None,
            });
        }
        summary
    }
}

/// Every key of a request that failed as a whole.
fn failed_request(ids: &[ObjectId], error: Error) -> DeleteSummary {
    let message = error.to_string();
    let error = Arc::new(error);
    DeleteSummary {
        deleted: Vec::new(),
        failures: ids
            .iter()
            .map(|id| DeleteFailure {
                key: id.key.clone(),
                version_id: id.version_id.clone(),
                code: None,
                message: message.clone(),
                request_error: Some(Arc::clone(&error)),
            })
            .collect(),
    }
}
