//! Object versions on a bucket with versioning: listing versions and delete
//! markers, and the calls that name a version (metadata, delete, copy
//! source). Downloads name one with
//! [`DownloadOptions::version_id`](super::DownloadOptions::version_id);
//! batch deletes with [`ObjectId::version`](super::ObjectId::version).

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use super::client::S3BucketClient;
use super::copy_options::{CopyOptions, MetadataOptions};
use super::error::Error;
use super::metadata::ObjectMetadata;

/// One entry of a version listing: a version of an object, or a delete
/// marker (a "deleted" state of the key, which has a version id too).
///
/// ```no_run
/// # async fn f(c: ms_utils_communication::s3::S3BucketClient) -> Result<(), ms_utils_communication::s3::Error> {
/// for v in c.list_versions("bucket", "reports/").await? {
///     let state = if v.delete_marker { "deleted" } else { "stored" };
///     println!("{} {} {state} latest={}", v.key, v.version_id, v.is_latest);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ObjectVersion {
    /// The key.
    pub key: String,
    /// The version id (`null` for an object stored before versioning was
    /// turned on).
    pub version_id: String,
    /// True for the current version of the key (for a delete marker: the
    /// key is currently deleted).
    pub is_latest: bool,
    /// True for a delete marker (no content: `size` is 0, `e_tag` is `None`).
    pub delete_marker: bool,
    /// Size in bytes.
    pub size: u64,
    /// ETag, quotes included.
    pub e_tag: Option<String>,
    /// When this version was stored (or the marker placed).
    pub last_modified: Option<SystemTime>,
}

/// A version listing read page by page (up to 1,000 entries each),
/// following the key and version-id markers. Made by
/// [`S3BucketClient::list_version_pages`].
pub struct VersionPages {
    sdk: aws_sdk_s3::Client,
    target: Arc<str>,
    bucket: String,
    prefix: Option<String>,
    markers: (Option<String>, Option<String>),
    done: bool,
}

impl fmt::Debug for VersionPages {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VersionPages")
            .field("bucket", &self.bucket)
            .finish_non_exhaustive()
    }
}

impl VersionPages {
    /// The next page, `None` after the last one: the versions and delete
    /// markers of the page, by key; within a key the latest first, then
    /// newest first.
    ///
    /// # Cancellation safety
    /// Cancel-safe between pages: dropping the future before it completes
    /// loses at most the page being fetched, which the next call fetches again.
    ///
    /// ```no_run
    /// # async fn f(c: ms_utils_communication::s3::S3BucketClient) -> Result<(), ms_utils_communication::s3::Error> {
    /// let mut pages = c.list_version_pages("bucket", "");
    /// while let Some(page) = pages.next_page().await {
    ///     println!("{} versions", page?.len());
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn next_page(&mut self) -> Option<Result<Vec<ObjectVersion>, Error>> {
        if self.done {
            return None;
        }
        let result = self
            .sdk
            .list_object_versions()
            .bucket(&self.bucket)
            .set_prefix(self.prefix.clone())
            .set_key_marker(self.markers.0.clone())
            .set_version_id_marker(self.markers.1.clone())
            .send()
            .await;
        let out = match result {
            Ok(out) => out,
            Err(e) => {
                self.done = true;
                return Some(Err(Error::from_sdk(
                    &self.target,
                    "ListObjectVersions",
                    &self.bucket,
                    None,
                    e,
                )));
            }
        };
        let next = (
            out.next_key_marker.clone(),
            out.next_version_id_marker.clone(),
        );
        // A truncated page without new markers would be asked for again
        // forever: it ends the listing.
        self.done = !out.is_truncated.unwrap_or(false) || next.0.is_none() || next == self.markers;
        self.markers = next;
        let time = |t: Option<aws_sdk_s3::primitives::DateTime>| {
            t.and_then(|t| SystemTime::try_from(t).ok())
        };
        let mut page: Vec<ObjectVersion> = Vec::new();
        for v in out.versions.unwrap_or_default() {
            let Some(key) = v.key else { continue };
            page.push(ObjectVersion {
                key,
                version_id: v.version_id.unwrap_or_else(|| "null".to_owned()),
                is_latest: v.is_latest.unwrap_or(false),
                delete_marker: false,
                size: v.size.and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
                e_tag: v.e_tag,
                last_modified: time(v.last_modified),
            });
        }
        for m in out.delete_markers.unwrap_or_default() {
            let Some(key) = m.key else { continue };
            page.push(ObjectVersion {
                key,
                version_id: m.version_id.unwrap_or_else(|| "null".to_owned()),
                is_latest: m.is_latest.unwrap_or(false),
                delete_marker: true,
                size: 0,
                e_tag: None,
                last_modified: time(m.last_modified),
            });
        }
        // One order over both lists: by key, the latest first, then newest
        // first (a stable sort: equal times keep each list's own order).
        page.sort_by(|a, b| {
            a.key
                .cmp(&b.key)
                .then_with(|| b.is_latest.cmp(&a.is_latest))
                .then_with(|| b.last_modified.cmp(&a.last_modified))
        });
        Some(Ok(page))
    }
}

impl S3BucketClient {
    /// Every version and delete marker of the keys starting with `prefix`
    /// (`""` for all), following the markers past 1,000 (boto3's
    /// `list_object_versions`). On a bucket that never had versioning, each
    /// object is listed once, with version id `null`.
    ///
    /// # Errors
    /// [`Error::NotFound`] for a missing bucket; a
    /// [`is_not_implemented`](Error::is_not_implemented) [`Error::Service`]
    /// on stores without versions (the development server among them).
    ///
    /// ```no_run
    /// # async fn f(c: ms_utils_communication::s3::S3BucketClient) -> Result<(), ms_utils_communication::s3::Error> {
    /// let versions = c.list_versions("bucket", "config.json").await?;
    /// let previous = versions.iter().find(|v| v.key == "config.json" && !v.is_latest);
    /// # Ok(()) }
    /// ```
    pub async fn list_versions(
        &self,
        bucket: &str,
        prefix: &str,
    ) -> Result<Vec<ObjectVersion>, Error> {
        let mut pages = self.list_version_pages(bucket, prefix);
        let mut all = Vec::new();
        while let Some(page) = pages.next_page().await {
            all.extend(page?);
        }
        Ok(all)
    }

    /// [`list_versions`](Self::list_versions) page by page.
    ///
    /// ```no_run
    /// # async fn f(c: ms_utils_communication::s3::S3BucketClient) -> Result<(), ms_utils_communication::s3::Error> {
    /// let mut pages = c.list_version_pages("bucket", "logs/");
    /// while let Some(page) = pages.next_page().await {
    ///     for v in page?.iter().filter(|v| v.delete_marker) { println!("{} deleted", v.key); }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn list_version_pages(&self, bucket: &str, prefix: &str) -> VersionPages {
        VersionPages {
            sdk: self.sdk.clone(),
            target: self.target.clone(),
            bucket: bucket.to_owned(),
            prefix: Some(prefix.to_owned()).filter(|p| !p.is_empty()),
            markers: (None, None),
            done: false,
        }
    }

    /// [`get_file_metadata`](Self::get_file_metadata) of one version of
    /// the object. For a version written with an SSE-C key, use
    /// [`get_file_metadata_with`](Self::get_file_metadata_with) and
    /// [`MetadataOptions::version_id`] beside the key.
    ///
    /// # Errors
    /// [`Error::NotFound`] (code `NoSuchVersion`) for an unknown version of
    /// a bucket that exists; a `405 Method Not Allowed` [`Error::Service`]
    /// when the version is a delete marker (S3 answers so).
    ///
    /// ```no_run
    /// # async fn f(c: ms_utils_communication::s3::S3BucketClient) -> Result<(), ms_utils_communication::s3::Error> {
    /// let meta = c.get_file_metadata_version("bucket", "a.txt", "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY").await?;
    /// println!("{} bytes", meta.content_length);
    /// # Ok(()) }
    /// ```
    pub async fn get_file_metadata_version(
        &self,
        bucket: &str,
        key: &str,
        version_id: &str,
    ) -> Result<ObjectMetadata, Error> {
        self.get_file_metadata_with(bucket, key, MetadataOptions::new().version_id(version_id))
            .await
    }

    /// Deletes one version of an object (or a delete marker, which brings
    /// the version before it back as the current one). Unlike
    /// [`delete_file`](Self::delete_file) on a versioned bucket, which only
    /// adds a delete marker, the version is gone for good.
    ///
    /// # Errors
    /// [`Error::NotFound`] for a missing bucket; [`Error::AccessDenied`]
    /// without `s3:DeleteObjectVersion`. An unknown version of an existing
    /// key succeeds, as S3 answers.
    ///
    /// ```no_run
    /// # async fn f(c: ms_utils_communication::s3::S3BucketClient) -> Result<(), ms_utils_communication::s3::Error> {
    /// c.delete_file_version("bucket", "a.txt", "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY").await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_file_version(
        &self,
        bucket: &str,
        key: &str,
        version_id: &str,
    ) -> Result<(), Error> {
        self.sdk
            .delete_object()
            .bucket(bucket)
            .key(key)
            .version_id(version_id)
            .send()
            .await
            .map_err(|e| Error::from_sdk(&self.target, "DeleteObject", bucket, Some(key), e))?;
        Ok(())
    }

    /// [`copy`](Self::copy) of one version of the source (boto3's
    /// `CopySource={"Bucket": ..., "Key": ..., "VersionId": ...}`): how an
    /// old version is restored, copied onto its own key. With options (an
    /// SSE-C source key, the copy's encryption, ...), use
    /// [`copy_with`](Self::copy_with) and [`CopyOptions::source_version_id`].
    ///
    /// # Errors
    /// As for [`copy`](Self::copy); [`Error::NotFound`] (code
    /// `NoSuchVersion`) for an unknown version.
    ///
    /// ```no_run
    /// # async fn f(c: ms_utils_communication::s3::S3BucketClient) -> Result<(), ms_utils_communication::s3::Error> {
    /// // Restore the version before the current one.
    /// let versions = c.list_versions("bucket", "config.json").await?;
    /// if let Some(old) = versions.iter().find(|v| v.key == "config.json" && !v.is_latest && !v.delete_marker) {
    ///     c.copy_version("bucket", "config.json", &old.version_id, "bucket", "config.json").await?;
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn copy_version(
        &self,
        src_bucket: &str,
        src_key: &str,
        src_version_id: &str,
        dst_bucket: &str,
        dst_key: &str,
    ) -> Result<(), Error> {
        let options = CopyOptions::new().source_version_id(src_version_id);
        self.copy_with(src_bucket, src_key, dst_bucket, dst_key, options)
            .await
    }
}
