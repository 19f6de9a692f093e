//! The real `FileSize` for streams of unknown length.
//!
//! A multipart upload's metadata is sent with `CreateMultipartUpload`, before
//! the stream's length is known. Once the upload completed, the object is
//! copied onto itself on the server side with `MetadataDirective=REPLACE`
//! and the real size: the bytes never travel back through the client. S3's
//! `CopyObject` stops at 5 GiB; larger objects are rewritten with a
//! multipart copy (`UploadPartCopy`, in `copy.rs`), which has no such
//! limit. Both are
//! pinned to the ETag the upload produced, so an object another writer put
//! under the key in the meantime is left alone.

use std::collections::HashMap;

use aws_sdk_s3::types::{MetadataDirective, TaggingDirective};

use super::client::{S3BucketClient, encode_key};
use super::copy::{CopyJob, Headers};
use super::error::Error;
use super::metadata::{FILE_SIZE, format_file_size};
use super::object_args::{ObjectArgs, with_copy_source_sse_c, with_object_args};

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
