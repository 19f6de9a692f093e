//! Where `s3s-fs` answers differently from S3 in ways a client relies on,
//! made to answer as S3 does:
//!
//! - A listing that races a delete succeeds: `s3s-fs` reads a folder, then
//!   each file's size, and answers `InternalError` when a file went in
//!   between; such a listing is tried again (up to
//!   [`LISTING_ATTEMPTS`] times), as S3 lists consistently while deletes run.
//! - `ListObjectsV2` lists each object's ETag (`s3s-fs` lists none; S3
//!   always does, and `sync_up`'s ETag comparison reads it from there). The
//!   ETag is the one `s3s-fs` stored for the object; an object without one
//!   stored (written by another tool into the folder) is listed without.
//! - `DeleteObjects` on a missing bucket is `NoSuchBucket` (`s3s-fs` reports
//!   every key deleted).
//! - Object versions are not kept (`s3s-fs` has none): a request naming a
//!   version other than `null` (GET, HEAD, DELETE, a copy source, a key of
//!   `DeleteObjects`) answers `NotImplemented` instead of serving or
//!   deleting the current object. `PutBucketVersioning` and
//!   `ListObjectVersions` answer `NotImplemented` too (`s3s`'s default).

use s3s::S3ErrorCode;
use s3s::dto::CopySource;

use super::*;

/// How often a listing that failed with `InternalError` is tried.
const LISTING_ATTEMPTS: usize = 5;

impl DevStore {
    /// `ListObjectsV2` with each object's stored ETag.
    pub(super) async fn list_objects_v2_with_e_tags(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        let bucket = req.input.bucket.clone();
        let mut attempt = 1;
        let mut res = loop {
            match self.fs.list_objects_v2(req.clone()).await {
                Err(e) if *e.code() == S3ErrorCode::InternalError && attempt < LISTING_ATTEMPTS => {
                    attempt += 1;
                }
                other => break other?,
            }
        };
        let Some(objects) = res.output.contents.as_mut() else {
            return Ok(res);
        };
        let keys: Vec<Option<String>> = objects.iter().map(|o| o.key.clone()).collect();
        let root = self.root.clone();
        let tags = tokio::task::spawn_blocking(move || {
            keys.iter()
                .map(|k| k.as_deref().and_then(|k| stored_e_tag(&root, &bucket, k)))
                .collect::<Vec<_>>()
        })
        .await
        .map_err(S3Error::internal_error)?;
        for (object, tag) in objects.iter_mut().zip(tags) {
            if object.e_tag.is_none() {
                object.e_tag = tag.map(ETag::Strong);
            }
        }
        Ok(res)
    }

    /// `NoSuchBucket` for a write (`PutObject`, `CreateMultipartUpload`,
    /// `CopyObject`) into a bucket that was never created, as S3 answers
    /// (`s3s-fs` would create its folder); with auto-creation on, the
    /// bucket is created instead.
    pub(super) async fn require_bucket(&self, bucket: &str) -> S3Result<()> {
        let odd = bucket.contains('/') || matches!(bucket, "" | "." | "..");
        if odd {
            return Err(S3Error::new(S3ErrorCode::InvalidBucketName));
        }
        let dir = self.root.join(bucket);
        if self.auto_create_buckets {
            return tokio::fs::create_dir_all(&dir)
                .await
                .map_err(S3Error::internal_error);
        }
        match tokio::fs::metadata(&dir).await {
            Ok(m) if m.is_dir() => Ok(()),
            _ => Err(S3Error::with_message(
                S3ErrorCode::NoSuchBucket,
                "The specified bucket does not exist",
            )),
        }
    }

    /// `DeleteObjects`, `NoSuchBucket` for a missing bucket and
    /// `NotImplemented` for a version.
    pub(super) async fn delete_objects_checked(
        &self,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        let bucket = &req.input.bucket;
        let odd = bucket.contains('/') || matches!(bucket.as_str(), "" | "." | "..");
        if odd || !self.root.join(bucket).is_dir() {
            return Err(S3Error::new(S3ErrorCode::NoSuchBucket));
        }
        for object in &req.input.delete.objects {
            refuse_version(object.version_id.as_deref())?;
        }
        self.fs.delete_objects(req).await
    }
}

/// `NotImplemented` for a version other than `null` (the one version of an
/// object in an unversioned bucket).
pub(super) fn refuse_version(version_id: Option<&str>) -> S3Result<()> {
    match version_id {
        None | Some("null") => Ok(()),
        Some(_) => Err(S3Error::with_message(
            S3ErrorCode::NotImplemented,
            "the development server keeps no object versions",
        )),
    }
}

/// [`refuse_version`] for a copy source.
pub(super) fn refuse_source_version(source: &CopySource) -> S3Result<()> {
    match source {
        CopySource::Bucket { version_id, .. } => refuse_version(version_id.as_deref()),
        _ => Ok(()),
    }
}

/// The ETag `s3s-fs` stored for an object (in
/// `.bucket-{b64}.object-{b64}.internal.json`), unquoted.
fn stored_e_tag(root: &Path, bucket: &str, key: &str) -> Option<String> {
    let path = root.join(format!(
        ".bucket-{}.object-{}.internal.json",
        b64(bucket),
        b64(key)
    ));
    let text = std::fs::read(path).ok()?;
    let info: serde_json::Value = serde_json::from_slice(&text).ok()?;
    info.get("e_tag")?.as_str().map(str::to_owned)
}
