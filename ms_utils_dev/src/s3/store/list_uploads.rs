//! `ListMultipartUploads`, which `s3s-fs` does not implement: the uploads
//! still open, read from the files it keeps for each.

use s3s::dto::MultipartUpload;

use super::*;

/// One open upload as `ListMultipartUploads` lists it.
struct OpenUpload {
    key: String,
    upload_id: String,
    initiated: std::time::SystemTime,
}

impl DevStore {
    /// `ListMultipartUploads` from the files `s3s-fs` keeps per open upload:
    /// `.upload-{id}.json` (the owner; its mtime is the initiation time) and
    /// `.bucket-{b64}.object-{b64}.upload-{id}.metadata.json` (where the
    /// bucket and key are). Only the caller's own uploads are listed, sorted
    /// by key, then initiation time, then id; `prefix`, `key-marker`,
    /// `upload-id-marker` and `max-uploads` (at most 1,000) are honoured,
    /// `delimiter` is not (no common prefixes).
    pub(super) async fn list_uploads(
        &self,
        req: S3Request<ListMultipartUploadsInput>,
    ) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
        let caller = req.credentials.as_ref().map(|c| c.access_key.clone());
        let input = req.input;
        let odd = input.bucket.contains('/') || matches!(input.bucket.as_str(), "" | "." | "..");
        if odd || !self.root.join(&input.bucket).is_dir() {
            return Err(S3Error::new(s3s::S3ErrorCode::NoSuchBucket));
        }
        let prefix = input.prefix.clone().unwrap_or_default();
        let root = self.root.clone();
        let bucket = input.bucket.clone();
        let mut uploads = tokio::task::spawn_blocking(move || {
            open_uploads(&root, &bucket, &prefix, caller.as_deref())
        })
        .await
        .map_err(S3Error::internal_error)?
        .map_err(S3Error::internal_error)?;
        uploads.sort_by(|a, b| {
            (&a.key, a.initiated, &a.upload_id).cmp(&(&b.key, b.initiated, &b.upload_id))
        });

        let start = match (&input.key_marker, &input.upload_id_marker) {
            (Some(km), Some(um)) => uploads
                .iter()
                .position(|u| &u.key == km && &u.upload_id == um)
                .map(|i| i + 1)
                .unwrap_or_else(|| uploads.partition_point(|u| u.key <= *km)),
            (Some(km), None) => uploads.partition_point(|u| u.key <= *km),
            _ => 0,
        };
        let max = input
            .max_uploads
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(MAX_UPLOADS)
            .min(MAX_UPLOADS);
        let rest = uploads.get(start..).unwrap_or_default();
        let page = rest.get(..max.min(rest.len())).unwrap_or_default();
        let truncated = rest.len() > page.len();
        let last = page.last().filter(|_| truncated);
        Ok(S3Response::new(ListMultipartUploadsOutput {
            bucket: Some(input.bucket),
            prefix: input.prefix,
            key_marker: input.key_marker,
            upload_id_marker: input.upload_id_marker,
            max_uploads: Some(i32::try_from(max).unwrap_or(1000)),
            is_truncated: Some(truncated),
            next_key_marker: last.map(|u| u.key.clone()),
            next_upload_id_marker: last.map(|u| u.upload_id.clone()),
            uploads: Some(
                page.iter()
                    .map(|u| MultipartUpload {
                        key: Some(u.key.clone()),
                        upload_id: Some(u.upload_id.clone()),
                        initiated: Some(u.initiated.into()),
                        ..Default::default()
                    })
                    .collect(),
            ),
            ..Default::default()
        }))
    }
}

/// The open uploads of `bucket` under `prefix` owned by `caller`.
fn open_uploads(
    root: &Path,
    bucket: &str,
    prefix: &str,
    caller: Option<&str>,
) -> io::Result<Vec<OpenUpload>> {
    let head = format!(".bucket-{}.object-", b64(bucket));
    let mut out = Vec::new();
    for entry in std::fs::read_dir(root)? {
        let name = entry?.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(rest) = name
            .strip_prefix(&head)
            .and_then(|r| r.strip_suffix(".metadata.json"))
        else {
            continue;
        };
        let Some((key_b64, id)) = rest.split_once(".upload-") else {
            continue;
        };
        let Ok(upload_id) = Uuid::parse_str(id) else {
            continue;
        };
        let Some(key) = URL_SAFE_NO_PAD
            .decode(key_b64)
            .ok()
            .and_then(|k| String::from_utf8(k).ok())
        else {
            continue;
        };
        if !key.starts_with(prefix) {
            continue;
        }
        // The owner file is gone once the upload ended (or while it is
        // being completed).
        let info = root.join(format!(".upload-{upload_id}.json"));
        let (Ok(owner), Ok(meta)) = (std::fs::read(&info), std::fs::metadata(&info)) else {
            continue;
        };
        let owner: Option<String> = serde_json::from_slice(&owner).unwrap_or(None);
        if owner.as_deref() != caller {
            continue;
        }
        out.push(OpenUpload {
            key,
            upload_id: upload_id.to_string(),
            initiated: meta.modified()?,
        });
    }
    Ok(out)
}
