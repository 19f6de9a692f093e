//! The real `FileSize` for streams of unknown length.
//!
//! A multipart upload's metadata is sent with `CreateMultipartUpload`, before
//! the stream's length is known. Once the upload completed, the object is
//! copied onto itself on the server side with `MetadataDirective=REPLACE`
//! and the real size: the bytes never travel back through the client. S3's
//! `CopyObject` stops at 5 GiB; larger objects are rewritten with a
//! multipart copy (`UploadPartCopy`), which has no such limit (the same
//! multipart copy serves [`S3BucketClient::copy`] above that limit). Both are
//! pinned to the ETag the upload produced, so an object another writer put
//! under the key in the meantime is left alone.

use std::collections::HashMap;

use aws_sdk_s3::types::{
    CompletedMultipartUpload, CompletedPart, MetadataDirective, TaggingDirective,
};
use futures_util::{StreamExt, stream};

use super::abort::AbortGuard;
use super::client::{S3BucketClient, copy_source, encode_key};
use super::encryption::SseCustomerKey;
use super::error::Error;
use super::metadata::{FILE_SIZE, format_file_size};
use super::object_args::{ObjectArgs, with_copy_source_sse_c, with_object_args, with_sse_c};

/// The largest object a single `CopyObject` may copy.
pub(crate) const COPY_OBJECT_LIMIT: u64 = 5 * 1024 * 1024 * 1024;

/// Size of each `UploadPartCopy` range when copying objects over the limit
/// (S3 allows up to 5 GiB per part; 1 GiB keeps a retried part cheap).
const COPY_PART_SIZE: u64 = 1024 * 1024 * 1024;

/// S3's smallest part (every part but the last).
const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;

/// What the metadata rewrite needs to know about the stored object.
pub(crate) struct Stored<'a> {
    pub(crate) bucket: &'a str,
    pub(crate) key: &'a str,
    pub(crate) content_type: &'a str,
    pub(crate) metadata: &'a HashMap<String, String>,
    pub(crate) size: u64,
    pub(crate) e_tag: Option<&'a str>,
    /// What the upload gave the object (encryption, class, tags, ACL,
    /// headers): a copy onto itself must give it again.
    pub(crate) args: &'a ObjectArgs,
}

/// The headers a multipart copy gives its destination (a multipart copy
/// copies only the bytes: everything else is sent with
/// `CreateMultipartUpload`), and the SSE-C key of its source.
#[derive(Default)]
pub(crate) struct Headers {
    pub(crate) content_type: Option<String>,
    pub(crate) metadata: Option<HashMap<String, String>>,
    /// Standard headers, encryption, class, tags, ACL of the destination.
    pub(crate) args: ObjectArgs,
    /// The SSE-C key the source was written with.
    pub(crate) source_key: Option<SseCustomerKey>,
}

/// One server-side multipart copy of `size` bytes, pinned to the source's
/// `e_tag` when known.
pub(crate) struct CopyJob<'a> {
    pub(crate) src_bucket: &'a str,
    pub(crate) src_key: &'a str,
    /// The source's version, when a version is copied.
    pub(crate) src_version: Option<&'a str>,
    pub(crate) dst_bucket: &'a str,
    pub(crate) dst_key: &'a str,
    pub(crate) size: u64,
    pub(crate) e_tag: Option<&'a str>,
    pub(crate) headers: Headers,
}

/// The part size of a multipart copy of `size` bytes done because the object
/// is over `copy_limit`: at most [`COPY_PART_SIZE`] (less when the limit is
/// smaller, which is how tests get several parts out of a few MiB), at least
/// S3's minimum part and whatever keeps the parts within 10,000.
fn copy_part_size(size: u64, copy_limit: u64) -> u64 {
    COPY_PART_SIZE
        .min(copy_limit.max(MIN_PART_SIZE))
        .max(size.div_ceil(10_000))
}

impl S3BucketClient {
    /// Rewrites the stored object's `FileSize` to `stored.size`; returns the
    /// object's new ETag. Objects above `copy_limit` go through a multipart
    /// copy (the limit is a parameter so that path can be tested small).
    pub(crate) async fn rewrite_file_size(
        &self,
        stored: &Stored<'_>,
        copy_limit: u64,
    ) -> Result<Option<String>, Error> {
        let mut metadata = stored.metadata.clone();
        metadata.insert(FILE_SIZE.to_owned(), format_file_size(stored.size));
        let source = format!("{}/{}", stored.bucket, encode_key(stored.key));
        if stored.size <= copy_limit || stored.size == 0 {
            let copy = with_object_args!(self.sdk.copy_object(), stored.args, headers: true);
            let out = with_copy_source_sse_c!(copy, stored.args.customer_key())
                .copy_source(&source)
                .set_copy_source_if_match(stored.e_tag.map(str::to_owned))
                .bucket(stored.bucket)
                .key(stored.key)
                .metadata_directive(MetadataDirective::Replace)
                .set_tagging_directive(stored.args.tags.as_ref().map(|_| TaggingDirective::Replace))
                .content_type(stored.content_type)
                .set_metadata(Some(metadata))
                .send()
                .await
                .map_err(|e| {
                    Error::from_sdk(
                        &self.target,
                        "CopyObject",
                        stored.bucket,
                        Some(stored.key),
                        e,
                    )
                })?;
            return Ok(out.copy_object_result.and_then(|r| r.e_tag));
        }
        let job = CopyJob {
            src_bucket: stored.bucket,
            src_key: stored.key,
            src_version: None,
            dst_bucket: stored.bucket,
            dst_key: stored.key,
            size: stored.size,
            e_tag: stored.e_tag,
            headers: Headers {
                content_type: Some(stored.content_type.to_owned()),
                metadata: Some(metadata),
                args: stored.args.clone(),
                source_key: stored.args.customer_key().cloned(),
            },
        };
        self.multipart_copy(&job, copy_limit).await
    }

    /// Copies `job.size` bytes of the source to the destination with
    /// `UploadPartCopy` ranges (see [`copy_part_size`]); returns the new
    /// object's ETag. A failure aborts the upload.
    pub(crate) async fn multipart_copy(
        &self,
        job: &CopyJob<'_>,
        copy_limit: u64,
    ) -> Result<Option<String>, Error> {
        let (bucket, key) = (job.dst_bucket, job.dst_key);
        let source = copy_source(job.src_bucket, job.src_key, job.src_version);
        let h = &job.headers;
        let create = with_object_args!(self.sdk.create_multipart_upload(), &h.args, headers: true);
        let created = create
            .bucket(bucket)
            .key(key)
            .set_content_type(h.content_type.clone())
            .set_metadata(h.metadata.clone())
            .send()
            .await
            .map_err(|e| {
                Error::from_sdk(&self.target, "CreateMultipartUpload", bucket, Some(key), e)
            })?;
        let upload_id = created
            .upload_id
            .ok_or_else(|| Error::InvalidInput("server returned no upload id".into()))?;
        let mut guard = AbortGuard::new(
            self.sdk.clone(),
            self.target.clone(),
            bucket,
            key,
            &upload_id,
        );

        // Futures built in a loop (not by a closure over borrowed data) keep
        // the whole future `Send`.
        let part_size = copy_part_size(job.size, copy_limit);
        let mut pending = Vec::new();
        let mut start = 0u64;
        let mut number = 0i32;
        while start < job.size {
            let end = (start + part_size).min(job.size) - 1;
            number += 1;
            pending.push(self.copy_part(job, &source, &upload_id, number, (start, end)));
            start = end + 1;
        }
        // Every part copy is let end, also after one failed, so that none
        // is still being stored when the upload is aborted.
        let results = stream::iter(pending)
            .buffer_unordered(self.transfer.concurrency.max(1))
            .collect::<Vec<Result<CompletedPart, Error>>>()
            .await;
        let mut parts = match results.into_iter().collect::<Result<Vec<_>, Error>>() {
            Ok(p) => p,
            Err(e) => return Err(guard.abort_now(e).await),
        };
        parts.sort_by_key(|p| p.part_number);
        let out = with_sse_c!(self.sdk.complete_multipart_upload(), h.args.customer_key())
            .bucket(bucket)
            .key(key)
            .upload_id(&upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await;
        match out {
            Ok(o) => {
                guard.disarm();
                Ok(o.e_tag)
            }
            Err(e) => {
                let e = Error::from_sdk(
                    &self.target,
                    "CompleteMultipartUpload",
                    bucket,
                    Some(key),
                    e,
                );
                Err(guard.abort_now(e).await)
            }
        }
    }

    async fn copy_part(
        &self,
        job: &CopyJob<'_>,
        source: &str,
        upload_id: &str,
        number: i32,
        (start, end): (u64, u64),
    ) -> Result<CompletedPart, Error> {
        let dst_key = job.headers.args.customer_key();
        let part = with_sse_c!(self.sdk.upload_part_copy(), dst_key);
        let out = with_copy_source_sse_c!(part, job.headers.source_key.as_ref())
            .bucket(job.dst_bucket)
            .key(job.dst_key)
            .upload_id(upload_id)
            .part_number(number)
            .copy_source(source)
            .copy_source_range(format!("bytes={start}-{end}"))
            .set_copy_source_if_match(job.e_tag.map(str::to_owned))
            .send()
            .await
            .map_err(|e| {
                Error::from_sdk(
                    &self.target,
                    "UploadPartCopy",
                    job.dst_bucket,
                    Some(job.dst_key),
                    e,
                )
            })?;
        Ok(CompletedPart::builder()
            .part_number(number)
            .set_e_tag(out.copy_part_result.and_then(|r| r.e_tag))
            .build())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::s3::UploadOptions;
    use ms_utils_dev::s3::DevS3Server;

    /// The multipart-copy path normally runs only above 5 GiB; a limit of 0
    /// forces it on a small object.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn multipart_copy_rewrites_file_size_and_keeps_the_bytes() {
        let server = DevS3Server::builder()
            .bucket("fix-size")
            .start()
            .await
            .unwrap();
        let client = crate::s3::test_client(&server).await;
        let bytes: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let up = client
            .upload_bytes(bytes.clone(), "fix-size", "k.bin", UploadOptions::new())
            .await
            .unwrap();
        let mut metadata = HashMap::new();
        metadata.insert("FileSize".to_owned(), "0.00 MB".to_owned());
        metadata.insert("owner".to_owned(), "me".to_owned());
        let stored = Stored {
            bucket: "fix-size",
            key: "k.bin",
            content_type: "text/plain",
            metadata: &metadata,
            size: 3 * 1024 * 1024,
            e_tag: up.e_tag.as_deref(),
            args: &ObjectArgs::default(),
        };
        tokio::time::timeout(
            std::time::Duration::from_secs(30),
            client.rewrite_file_size(&stored, 0),
        )
        .await
        .unwrap()
        .unwrap_err();
        // A size past the object's end is refused (InvalidRange) and the
        // upload aborted; the real size succeeds.
        let stored = Stored {
            size: bytes.len() as u64,
            ..stored
        };
        client.rewrite_file_size(&stored, 0).await.unwrap();
        let meta = client.get_file_metadata("fix-size", "k.bin").await.unwrap();
        assert_eq!(meta.get("FileSize"), Some("0.10 MB"));
        assert_eq!(meta.get("owner"), Some("me"));
        assert_eq!(meta.content_type.as_deref(), Some("text/plain"));
        let got = client
            .download_bytes("fix-size", "k.bin", Default::default())
            .await
            .unwrap();
        assert_eq!(got.as_ref(), bytes.as_slice());
        let open = std::fs::read_dir(server.root())
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().contains(".upload"))
            .count();
        assert_eq!(open, 0, "the failed copy's upload was aborted");
    }
}
