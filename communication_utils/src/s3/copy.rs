//! Server-side copies of any size: one `CopyObject` up to S3's 5 GiB limit,
//! a multipart copy (`UploadPartCopy` ranges) above it, which also rewrites
//! large objects' metadata (`fix_size.rs`).

use aws_sdk_s3::operation::head_object::HeadObjectOutput;
use std::collections::HashMap;

use aws_sdk_s3::types::{
    CompletedMultipartUpload, CompletedPart, MetadataDirective, TaggingDirective,
};
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use futures_util::{StreamExt, stream};

use super::abort::AbortGuard;
use super::client::{S3BucketClient, copy_source};
use super::copy_options::CopyOptions;
use super::encryption::SseCustomerKey;
use super::error::Error;
use super::object_args::{ObjectArgs, with_copy_source_sse_c, with_object_args, with_sse_c};

/// The largest object a single `CopyObject` may copy.
pub(crate) const COPY_OBJECT_LIMIT: u64 = 5 * 1024 * 1024 * 1024;

/// Size of each `UploadPartCopy` range when copying objects over the limit
/// (S3 allows up to 5 GiB per part; 1 GiB keeps a retried part cheap).
const COPY_PART_SIZE: u64 = 1024 * 1024 * 1024;

/// S3's smallest part (every part but the last).
const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;

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

fn size_of(head: &HeadObjectOutput) -> u64 {
    head.content_length
        .and_then(|n| u64::try_from(n).ok())
        .unwrap_or(0)
}

/// What the copy gets: the options' encryption, class, tags and ACL, and
/// the source's standard headers where the options set none.
fn destination_args(options: &CopyOptions, head: &HeadObjectOutput) -> ObjectArgs {
    let mut args = options.args.clone();
    let or = |given: &mut Option<String>, source: &Option<String>| {
        if given.is_none() {
            *given = source.clone();
        }
    };
    or(&mut args.cache_control, &head.cache_control);
    or(&mut args.content_disposition, &head.content_disposition);
    or(&mut args.content_encoding, &head.content_encoding);
    or(&mut args.content_language, &head.content_language);
    if args.expires.is_none() {
        // The raw header: the SDK's parsed field is deprecated.
        args.expires = head
            .expires_string
            .as_deref()
            .and_then(|v| DateTime::from_str(v, Format::HttpDate).ok())
            .and_then(|t| std::time::SystemTime::try_from(t).ok());
    }
    args
}

impl S3BucketClient {
    /// A copy of any size with S3's single-copy limit.
    pub(crate) async fn copy_object(
        &self,
        src: (&str, &str, Option<&str>),
        dst: (&str, &str),
        options: &CopyOptions,
    ) -> Result<(), Error> {
        self.copy_with_limit(src, dst, COPY_OBJECT_LIMIT, options)
            .await
    }

    /// [`copy_with`](Self::copy_with) with the single-copy limit as a
    /// parameter, so that tests can run the multipart path on a few MiB.
    pub(crate) async fn copy_with_limit(
        &self,
        (src_bucket, src_key, src_version): (&str, &str, Option<&str>),
        (dst_bucket, dst_key): (&str, &str),
        copy_limit: u64,
        options: &CopyOptions,
    ) -> Result<(), Error> {
        let head = self
            .head_object_full(
                src_bucket,
                src_key,
                src_version,
                options.source_key.as_ref(),
            )
            .await?;
        let size = size_of(&head);
        // Pinned to the version measured, so the size check below holds
        // even if another writer replaces the source meanwhile.
        let e_tag = head.e_tag.as_deref();
        let args = destination_args(options, &head);
        if size <= copy_limit || size == 0 {
            let source = copy_source(src_bucket, src_key, src_version);
            // The default directive (COPY) keeps the metadata and headers;
            // a header or type of the options replaces them all, so the
            // source's metadata and other headers go along.
            let replace = options.args.has_headers() || options.content_type.is_some();
            let copy = with_object_args!(self.sdk.copy_object(), &args, headers: replace);
            let mut copy = with_copy_source_sse_c!(copy, options.source_key.as_ref())
                .copy_source(source)
                .set_copy_source_if_match(e_tag.map(str::to_owned))
                .set_tagging_directive(
                    options
                        .args
                        .tags
                        .as_ref()
                        .map(|_| TaggingDirective::Replace),
                )
                .bucket(dst_bucket)
                .key(dst_key);
            if replace {
                copy = copy
                    .metadata_directive(MetadataDirective::Replace)
                    .set_content_type(options.content_type.clone().or(head.content_type.clone()))
                    .set_metadata(head.metadata.clone());
            }
            copy.send().await.map_err(|e| {
                Error::from_sdk(&self.target, "CopyObject", src_bucket, Some(src_key), e)
            })?;
        } else {
            let job = CopyJob {
                src_bucket,
                src_key,
                src_version,
                dst_bucket,
                dst_key,
                size,
                e_tag,
                // The metadata as stored (Python-compatible names, values
                // still encoded), so the copy reads back the same.
                headers: Headers {
                    content_type: options.content_type.clone().or(head.content_type.clone()),
                    metadata: head.metadata.clone(),
                    args,
                    source_key: options.source_key.clone(),
                },
            };
            self.multipart_copy(&job, copy_limit).await?;
        }
        let copied = self
            .head_object_with(dst_bucket, dst_key, options.args.customer_key())
            .await?;
        let copied = size_of(&copied);
        if copied != size {
            return Err(Error::Integrity {
                bucket: dst_bucket.to_owned(),
                key: dst_key.to_owned(),
                detail: format!(
                    "the copy of {src_bucket}/{src_key} has {copied} bytes, the source {size}"
                ),
            });
        }
        Ok(())
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
        let create = with_object_args!(self.sdk.create_multipart_upload(), &h.args, headers: true)
            .set_content_type(h.content_type.clone())
            .set_metadata(h.metadata.clone());
        let mut guard = AbortGuard::open(&self.sdk, &self.target, create, bucket, key).await?;
        let upload_id = guard.upload_id().to_owned();

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
    use std::collections::HashMap;

    use crate::s3::UploadOptions;
    use ms_utils_dev::s3::DevS3Server;

    const MIB: usize = 1024 * 1024;

    /// The multipart path normally runs only above 5 GiB; a 5 MiB limit
    /// sends a 12 MiB object through it in three parts.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_copy_over_the_limit_is_a_multipart_copy_keeping_metadata() {
        let server = DevS3Server::builder()
            .bucket("src")
            .bucket("dst")
            .start()
            .await
            .unwrap();
        let client = crate::s3::test_client(&server).await;
        let bytes: Vec<u8> = (0..12 * MIB as u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let mut metadata = HashMap::new();
        metadata.insert("owner".to_owned(), "Zoë".to_owned());
        client
            .upload_bytes(
                bytes.clone(),
                "src",
                "dir/a b.json",
                UploadOptions::new()
                    .content_type("application/json")
                    .metadata(metadata),
            )
            .await
            .unwrap();
        let before = client
            .get_file_metadata("src", "dir/a b.json")
            .await
            .unwrap();

        client
            .copy_with_limit(
                ("src", "dir/a b.json", None),
                ("dst", "copy.json"),
                5 * MIB as u64,
                &Default::default(),
            )
            .await
            .unwrap();

        let after = client.get_file_metadata("dst", "copy.json").await.unwrap();
        assert_eq!(after.content_length, bytes.len() as u64);
        assert_eq!(after.content_type.as_deref(), Some("application/json"));
        assert!(before.get("FileSize").is_some(), "{before:?}");
        assert_eq!(after.user, before.user);
        assert_eq!(after.get("owner"), Some("Zoë"));
        // A multipart ETag: "<md5>-3".
        assert!(
            after.e_tag.as_deref().is_some_and(|t| t.ends_with("-3\"")),
            "{:?}",
            after.e_tag
        );
        let got = client
            .download_bytes("dst", "copy.json", Default::default())
            .await
            .unwrap();
        assert!(
            got.as_ref() == bytes.as_slice(),
            "the bytes are the source's"
        );
        let open = std::fs::read_dir(server.root())
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().contains(".upload"))
            .count();
        assert_eq!(open, 0, "no upload left open");

        // A missing source is NotFound, and nothing is created.
        let err = client
            .copy_with_limit(
                ("src", "nope", None),
                ("dst", "nope"),
                0,
                &Default::default(),
            )
            .await
            .unwrap_err();
        assert!(err.is_not_found(), "{err:?}");
        assert!(!client.exists("dst", "nope").await.unwrap());
    }

    /// SSE-C through the multipart copy: the source's key on every
    /// `UploadPartCopy`, the destination's on the upload, its parts and its
    /// completion; the copy reads back with the new key only.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_multipart_copy_of_an_sse_c_object_takes_both_keys() {
        use crate::s3::{CopyOptions, DownloadOptions, Encryption, SseCustomerKey};

        let server = DevS3Server::builder()
            .bucket("sse-c")
            .start()
            .await
            .unwrap();
        let client = crate::s3::test_client(&server).await;
        let (old, new) = (SseCustomerKey::new([1; 32]), SseCustomerKey::new([2; 32]));
        let bytes: Vec<u8> = (0..12 * MIB as u32).map(|i| (i >> 7) as u8).collect();
        client
            .upload_bytes(
                bytes.clone(),
                "sse-c",
                "src",
                UploadOptions::new().encryption(Encryption::Customer(old.clone())),
            )
            .await
            .unwrap();
        let options = CopyOptions::new()
            .source_sse_customer_key(old.clone())
            .encryption(Encryption::Customer(new.clone()));
        client
            .copy_with_limit(
                ("sse-c", "src", None),
                ("sse-c", "dst"),
                5 * MIB as u64,
                &options,
            )
            .await
            .unwrap();
        let got = client
            .download_bytes("sse-c", "dst", DownloadOptions::new().sse_customer_key(new))
            .await
            .unwrap();
        assert!(got.as_ref() == bytes.as_slice());
        let err = client
            .download_bytes("sse-c", "dst", DownloadOptions::new().sse_customer_key(old))
            .await
            .unwrap_err();
        assert!(
            matches!(err, crate::s3::Error::SseCustomerKey { given: true, .. }),
            "{err:?}"
        );
        // Without the source's key the copy is refused before any part.
        let err = client
            .copy_with_limit(
                ("sse-c", "src", None),
                ("sse-c", "dst2"),
                5 * MIB as u64,
                &Default::default(),
            )
            .await
            .unwrap_err();
        assert!(err.is_sse_customer_key(), "{err:?}");
        assert!(!client.exists("sse-c", "dst2").await.unwrap());
    }
}
