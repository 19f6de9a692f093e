//! Uploads: from a path, from bytes, from any `AsyncRead`. One PUT below the
//! multipart threshold; above it, parts uploaded in parallel with at most
//! `concurrency` in flight, and the upload aborted on any failure (or when the
//! caller drops the future), so no orphan parts stay behind (`abort.rs`).

use std::collections::HashMap;
use std::path::Path;
use std::time::SystemTime;

use aws_sdk_s3::operation::put_object::PutObjectOutput;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    ChecksumAlgorithm as SdkChecksumAlgorithm, ChecksumType, CompletedMultipartUpload,
    CompletedPart,
};
use aws_smithy_types::byte_stream::Length;
use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};

use super::abort::{AbortGuard, PartTasks};
use super::client::S3BucketClient;
use super::copy::COPY_OBJECT_LIMIT;
use super::error::Error;
use super::fix_size::Stored;
use super::metadata::{self, OCTET_STREAM};
use super::object_args::{ObjectArgs, with_object_args, with_sse_c};
use super::progress::{Direction, Tracker};
use super::upload_checksum::{UPLOAD_CRC, confirmed, file_crc};
use super::upload_options::{UploadOptions, UploadOutput};

/// S3 allows at most this many parts per upload.
const MAX_PARTS: u64 = 10_000;

/// Where the parts come from.
enum Source {
    File { path: std::path::PathBuf, size: u64 },
    Bytes(Bytes),
    Reader(Box<dyn AsyncRead + Unpin + Send>),
}

struct Prepared {
    bucket: String,
    key: String,
    content_type: String,
    metadata: HashMap<String, String>,
    /// The size `FileSize` says, when it was known before the upload.
    size_in_metadata: Option<u64>,
    tracker: Tracker,
    /// Send a full-object checksum (see `upload_checksum.rs`).
    crc: bool,
    /// Headers, encryption, class, tags and ACL.
    args: ObjectArgs,
}

impl S3BucketClient {
    /// Uploads a local file. The key defaults to the file's name (not its
    /// path). Stores `FileName`, `FileSize`, `FileType`, `CreationTime`
    /// (plus the caller's metadata) and the guessed Content-Type. The file is
    /// streamed from disk, never read whole.
    ///
    /// # Errors
    /// [`Error::Io`] when the file is missing, unreadable or not a regular file
    /// (nothing is sent); [`Error::NotFound`] for a missing bucket on servers
    /// that do not create it; transport and service errors. A failed
    /// multipart upload is aborted (its parts in flight let end first, the
    /// abort confirmed by `ListParts`); when that fails too, the error is an
    /// [`Error::UploadLeftOpen`] carrying the upload's failure, its
    /// [`upload_id`](Error::upload_id) and key.
    ///
    /// # Cancellation safety
    /// Dropping the future stops the upload; a multipart upload in progress
    /// is aborted in the background: the part requests in flight are let
    /// end first (for at most 30 s, then cancelled), so that none is stored
    /// after the abort, then the upload is aborted and `ListParts` must say
    /// it is gone (it is aborted again while it lists parts). The object is
    /// then either absent or the previous version. Should the abort fail,
    /// a WARN line names the upload (see
    /// [`abort_incomplete_uploads`](Self::abort_incomplete_uploads)).
    ///
    /// ```no_run
    /// # async fn f(c: ms_utils_communication::s3::S3BucketClient) -> Result<(), ms_utils_communication::s3::Error> {
    /// use ms_utils_communication::s3::UploadOptions;
    /// c.upload_file("/data/model.bin", "bucket", Some("models/v2.bin"), UploadOptions::new()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn upload_file(
        &self,
        path: impl AsRef<Path>,
        bucket: &str,
        object_name: Option<&str>,
        options: UploadOptions,
    ) -> Result<UploadOutput, Error> {
        // Boxed: the transfer's state is large, and would otherwise
        // sit inside every future that awaits this one.
        Box::pin(async move {
            let path = path.as_ref();
            let meta = tokio::fs::metadata(path)
                .await
                .map_err(|e| Error::io(path, e))?;
            if !meta.is_file() {
                return Err(Error::io(
                    path,
                    std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file"),
                ));
            }
            // Opening now turns a permission problem into an error before any request.
            drop(
                tokio::fs::File::open(path)
                    .await
                    .map_err(|e| Error::io(path, e))?,
            );
            let file_name = path.file_name().and_then(|n| n.to_str());
            let key = match (object_name, file_name) {
                (Some(k), _) => k.to_owned(),
                (None, Some(n)) => n.to_owned(),
                (None, None) => {
                    return Err(Error::InvalidInput(format!(
                        "`{}` has no UTF-8 file name; pass an object name",
                        path.display()
                    )));
                }
            };
            let size = meta.len();
            let content_type = options
                .content_type
                .clone()
                .unwrap_or_else(|| metadata::guess_content_type(path).to_owned());
            let metadata = metadata::upload_metadata(
                options.metadata.as_ref(),
                file_name,
                size,
                &content_type,
                metadata::ctime(&meta),
            );
            let prepared = Prepared {
                tracker: Tracker::new(
                    options.progress.as_ref(),
                    Direction::Upload,
                    &key,
                    Some(size),
                ),
                bucket: bucket.to_owned(),
                key,
                content_type,
                metadata,
                size_in_metadata: Some(size),
                crc: self.sends_checksums(),
                args: options.args.clone(),
            };
            let source = Source::File {
                path: path.to_owned(),
                size,
            };
            self.upload_source(prepared, source, Some(size)).await
        })
        .await
    }

    /// Uploads bytes held in memory under `key`. Stores `FileSize`,
    /// `FileType` (`application/octet-stream` unless set) and `CreationTime`
    /// (now), like the original does for a `BytesIO`.
    ///
    /// # Errors
    /// Transport and service errors.
    ///
    /// # Cancellation safety
    /// As for [`upload_file`](Self::upload_file).
    ///
    /// ```no_run
    /// # async fn f(c: ms_utils_communication::s3::S3BucketClient) -> Result<(), ms_utils_communication::s3::Error> {
    /// let json = serde_json::to_vec(&serde_json::json!({"ok": true})).unwrap();
    /// c.upload_bytes(json, "bucket", "status.json", Default::default()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn upload_bytes(
        &self,
        data: impl Into<Bytes>,
        bucket: &str,
        key: &str,
        options: UploadOptions,
    ) -> Result<UploadOutput, Error> {
        // Boxed: the transfer's state is large, and would otherwise
        // sit inside every future that awaits this one.
        Box::pin(async move {
            let data = data.into();
            let size = data.len() as u64;
            let prepared = self.prepare_unnamed(bucket, key, Some(size), &options);
            self.upload_source(prepared, Source::Bytes(data), Some(size))
                .await
        })
        .await
    }

    /// Uploads everything `reader` yields under `key`. Memory stays bounded
    /// by the parts in flight (`concurrency` × `part_size`), whatever the
    /// stream's length. `FileSize` always holds the real size, as in the
    /// original: a stream that ends before the multipart threshold goes as
    /// one PUT with the exact size; a longer one is uploaded multipart with
    /// `size_hint` (or 0) as `FileSize`, and when that turns out wrong the
    /// completed object is copied onto itself on the server with the real
    /// size (`CopyObject`, or a multipart copy above 5 GiB; no bytes travel
    /// back). Passing the exact `size_hint` saves that copy.
    ///
    /// # Errors
    /// [`Error::Reader`] when `reader` fails (a started multipart upload is
    /// aborted); transport and service errors. If only the metadata copy
    /// fails, the error is that copy's (`CopyObject`) and the object is
    /// stored with the hinted `FileSize`.
    ///
    /// # Cancellation safety
    /// As for [`upload_file`](Self::upload_file).
    ///
    /// ```no_run
    /// # async fn f(c: ms_utils_communication::s3::S3BucketClient) -> Result<(), Box<dyn std::error::Error>> {
    /// let file = tokio::fs::File::open("big.tar").await?;
    /// c.upload_reader(file, "bucket", "backups/big.tar", None, Default::default()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn upload_reader<R>(
        &self,
        reader: R,
        bucket: &str,
        key: &str,
        size_hint: Option<u64>,
        options: UploadOptions,
    ) -> Result<UploadOutput, Error>
    where
        R: AsyncRead + Unpin + Send + 'static,
    {
        // Boxed: the transfer's state is large, and would otherwise
        // sit inside every future that awaits this one.
        Box::pin(async move {
            let mut reader: Box<dyn AsyncRead + Unpin + Send> = Box::new(reader);
            let first_len = self
                .transfer
                .multipart_threshold
                .max(self.transfer.part_size);
            let first = read_up_to(reader.as_mut(), first_len).await?;
            if (first.len() as u64) < self.transfer.multipart_threshold {
                let size = first.len() as u64;
                let prepared = self.prepare_unnamed(bucket, key, Some(size), &options);
                return self
                    .upload_source(prepared, Source::Bytes(first), Some(size))
                    .await;
            }
            // Above the threshold the length is known only at the end: `FileSize`
            // is the hint for now, fixed after completion if it was wrong or missing.
            let prepared = self.prepare_unnamed(bucket, key, size_hint, &options);
            self.multipart(prepared, Source::Reader(reader), Some(first), None)
                .await
        })
        .await
    }

    fn prepare_unnamed(
        &self,
        bucket: &str,
        key: &str,
        total: Option<u64>,
        options: &UploadOptions,
    ) -> Prepared {
        let content_type = options
            .content_type
            .clone()
            .unwrap_or_else(|| OCTET_STREAM.to_owned());
        let metadata = metadata::upload_metadata(
            options.metadata.as_ref(),
            None,
            total.unwrap_or(0),
            &content_type,
            SystemTime::now(),
        );
        Prepared {
            tracker: Tracker::new(options.progress.as_ref(), Direction::Upload, key, total),
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            content_type,
            metadata,
            size_in_metadata: total,
            crc: self.sends_checksums(),
            args: options.args.clone(),
        }
    }

    async fn upload_source(
        &self,
        p: Prepared,
        source: Source,
        size: Option<u64>,
    ) -> Result<UploadOutput, Error> {
        let small = size.is_some_and(|s| s < self.transfer.multipart_threshold);
        if !small {
            return self.multipart(p, source, None, size).await;
        }
        let size = size.unwrap_or(0);
        let whole = match &source {
            Source::File { path, size } => Whole::File(path, *size),
            Source::Bytes(b) => Whole::Bytes(b),
            Source::Reader(_) => {
                return Err(Error::InvalidInput(
                    "reader sources are read before this point".into(),
                ));
            }
        };
        let mut crc = match (&whole, p.crc) {
            (Whole::File(path, size), true) => Some(file_crc(path, 0, *size).await?),
            (Whole::Bytes(b), true) => Some(UPLOAD_CRC.of(b)),
            _ => None,
        };
        let out = match self.put_once(&p, &whole, size, crc).await {
            Err(e) if crc.is_some() && self.checksum_refused(&e, "PutObject") => {
                crc = None;
                self.put_once(&p, &whole, size, None).await?
            }
            other => other?,
        };
        p.tracker.add(size);
        Ok(UploadOutput {
            checksum: confirmed(crc, out.checksum_crc64_nvme()),
            key: p.key,
            size,
            e_tag: out.e_tag,
            parts: 0,
        })
    }

    /// One `PutObject` of the whole source, with the CRC64NVME `crc` if set.
    async fn put_once(
        &self,
        p: &Prepared,
        whole: &Whole<'_>,
        size: u64,
        crc: Option<u64>,
    ) -> Result<PutObjectOutput, Error> {
        let body = match whole {
            Whole::File(path, size) => file_range(path, 0, *size).await?,
            Whole::Bytes(b) => ByteStream::from((*b).clone()),
        };
        with_object_args!(self.sdk.put_object(), &p.args, headers: true)
            .bucket(&p.bucket)
            .key(&p.key)
            .content_type(&p.content_type)
            .set_metadata(Some(p.metadata.clone()))
            .content_length(i64::try_from(size).unwrap_or(i64::MAX))
            .set_checksum_crc64_nvme(crc.map(|c| UPLOAD_CRC.encode(c)))
            .body(body)
            .send()
            .await
            .map_err(|e| Error::from_sdk(&self.target, "PutObject", &p.bucket, Some(&p.key), e))
    }

    /// `CreateMultipartUpload`, asking for a full-object CRC64NVME if `crc`;
    /// from then on, dropping the guard (or failing) aborts the upload.
    async fn create_once(&self, p: &Prepared, crc: bool) -> Result<AbortGuard, Error> {
        let create = with_object_args!(self.sdk.create_multipart_upload(), &p.args, headers: true)
            .content_type(&p.content_type)
            .set_metadata(Some(p.metadata.clone()))
            .set_checksum_algorithm(crc.then_some(SdkChecksumAlgorithm::Crc64Nvme))
            .set_checksum_type(crc.then_some(ChecksumType::FullObject));
        AbortGuard::open(&self.sdk, &self.target, create, &p.bucket, &p.key).await
    }

    async fn multipart(
        &self,
        mut p: Prepared,
        mut source: Source,
        first: Option<Bytes>,
        size: Option<u64>,
    ) -> Result<UploadOutput, Error> {
        // From here until completion, dropping this future (or failing)
        // aborts the upload: the guard owns the part tasks.
        let mut guard = match self.create_once(&p, p.crc).await {
            Err(e) if p.crc && self.checksum_refused(&e, "CreateMultipartUpload") => {
                p.crc = false;
                self.create_once(&p, false).await?
            }
            other => other?,
        };
        let upload_id = guard.upload_id().to_owned();
        let result = self
            .upload_parts(&p, &upload_id, &mut source, first, size, &mut guard.tasks)
            .await;
        let (parts, total, crc) = match result {
            Ok(v) => v,
            Err(e) => return Err(guard.abort_now(e).await),
        };
        let completed = CompletedMultipartUpload::builder()
            .set_parts(Some(parts.clone()))
            .build();
        let out = with_sse_c!(self.sdk.complete_multipart_upload(), p.args.customer_key())
            .bucket(&p.bucket)
            .key(&p.key)
            .upload_id(&upload_id)
            .multipart_upload(completed)
            .set_checksum_crc64_nvme(crc.map(|c| UPLOAD_CRC.encode(c)))
            .set_checksum_type(crc.map(|_| ChecksumType::FullObject))
            .send()
            .await;
        let out = match out {
            Ok(o) => o,
            Err(e) => {
                let e = Error::from_sdk(
                    &self.target,
                    "CompleteMultipartUpload",
                    &p.bucket,
                    Some(&p.key),
                    e,
                );
                return Err(guard.abort_now(e).await);
            }
        };
        guard.disarm();
        let checksum = confirmed(crc, out.checksum_crc64_nvme());
        let mut e_tag = out.e_tag;
        if p.size_in_metadata != Some(total) {
            let stored = Stored {
                bucket: &p.bucket,
                key: &p.key,
                content_type: &p.content_type,
                metadata: &p.metadata,
                size: total,
                e_tag: e_tag.as_deref(),
                args: &p.args,
            };
            e_tag = self.rewrite_file_size(&stored, COPY_OBJECT_LIMIT).await?;
        }
        if size.is_none() {
            p.tracker.finish(total);
        }
        Ok(UploadOutput {
            key: p.key.clone(),
            size: total,
            e_tag,
            parts: parts.len(),
            checksum,
        })
    }

    /// Uploads all parts, at most `concurrency` at once; returns them in
    /// order with the total size and, when the parts carry CRC64NVMEs, the
    /// CRC64NVME of the whole object.
    async fn upload_parts(
        &self,
        p: &Prepared,
        upload_id: &str,
        source: &mut Source,
        first: Option<Bytes>,
        size: Option<u64>,
        tasks: &mut PartTasks,
    ) -> Result<(Vec<CompletedPart>, u64, Option<u64>), Error> {
        let mut part_size = self.transfer.part_size;
        if let Some(s) = size {
            // Keep within S3's 10,000-part limit for very large files.
            part_size = part_size.max(s.div_ceil(MAX_PARTS));
        }
        let mut run = PartRun {
            tasks,
            done: Vec::new(),
            first,
            offset: 0,
            number: 0,
            lens: Vec::new(),
        };
        let result = self
            .spawn_parts(p, upload_id, source, part_size, &mut run)
            .await;
        // Let every part in flight finish before the caller aborts: a part the
        // server is still writing could otherwise land after the abort.
        let mut failure = result.err();
        while let Some(joined) = run.tasks.join_next().await {
            match flatten(joined) {
                Ok(part) => run.done.push(part),
                Err(e) => failure = failure.or(Some(e)),
            }
        }
        if let Some(e) = failure {
            return Err(e);
        }
        run.done.sort_by_key(|p| p.part_number);
        let crc = if p.crc {
            let pieces: Option<Vec<(u64, u64)>> = run
                .done
                .iter()
                .zip(&run.lens)
                .map(|(part, len)| {
                    let crc = UPLOAD_CRC.decode(part.checksum_crc64_nvme()?)?;
                    Some((crc, *len))
                })
                .collect();
            pieces.map(|p| UPLOAD_CRC.combine_all(p))
        } else {
            None
        };
        Ok((run.done, run.offset, crc))
    }

    async fn spawn_parts(
        &self,
        p: &Prepared,
        upload_id: &str,
        source: &mut Source,
        part_size: u64,
        run: &mut PartRun<'_>,
    ) -> Result<(), Error> {
        loop {
            // Wait for a free slot before reading the next part: this is what
            // bounds memory for streams.
            while run.tasks.len() >= self.transfer.concurrency {
                if let Some(joined) = run.tasks.join_next().await {
                    run.done.push(flatten(joined)?);
                }
            }
            let next = match source {
                Source::File { path, size } => {
                    if run.offset >= *size && run.number > 0 {
                        None
                    } else {
                        let len = part_size.min(*size - run.offset);
                        let body = file_range(path, run.offset, len).await?;
                        let crc = PartCrc::File(path.clone(), run.offset);
                        Some((body, len, crc))
                    }
                }
                Source::Bytes(b) => {
                    let total = b.len() as u64;
                    if run.offset >= total && run.number > 0 {
                        None
                    } else {
                        let len = part_size.min(total - run.offset);
                        let start = usize::try_from(run.offset).unwrap_or(usize::MAX);
                        let end = usize::try_from(run.offset + len).unwrap_or(usize::MAX);
                        let part = b.slice(start..end);
                        Some((ByteStream::from(part.clone()), len, PartCrc::Mem(part)))
                    }
                }
                Source::Reader(r) => {
                    let buf = match run.first.take() {
                        Some(b) => b,
                        None => read_up_to(r.as_mut(), part_size).await?,
                    };
                    if buf.is_empty() && run.number > 0 {
                        None
                    } else {
                        let len = buf.len() as u64;
                        Some((ByteStream::from(buf.clone()), len, PartCrc::Mem(buf)))
                    }
                }
            };
            let Some((body, len, part_crc)) = next else {
                return Ok(());
            };
            run.number += 1;
            run.offset += len;
            run.lens.push(len);
            let part_crc = p.crc.then_some(part_crc);
            let (sdk, target) = (self.sdk.clone(), self.target.clone());
            let (bucket, key, id) = (p.bucket.clone(), p.key.clone(), upload_id.to_owned());
            let tracker = p.tracker.clone();
            let part_number = run.number;
            let customer_key = p.args.customer_key().cloned();
            run.tasks.spawn(async move {
                let crc = match part_crc {
                    Some(PartCrc::File(path, offset)) => Some(file_crc(&path, offset, len).await?),
                    Some(PartCrc::Mem(bytes)) => Some(UPLOAD_CRC.of(&bytes)),
                    None => None,
                }
                .map(|c| UPLOAD_CRC.encode(c));
                let out = with_sse_c!(sdk.upload_part(), customer_key.as_ref())
                    .bucket(&bucket)
                    .key(&key)
                    .upload_id(id)
                    .part_number(part_number)
                    .content_length(i64::try_from(len).unwrap_or(i64::MAX))
                    .set_checksum_crc64_nvme(crc.clone())
                    .body(body)
                    .send()
                    .await
                    .map_err(|e| Error::from_sdk(&target, "UploadPart", &bucket, Some(&key), e))?;
                tracker.add(len);
                Ok(CompletedPart::builder()
                    .part_number(part_number)
                    .set_e_tag(out.e_tag)
                    .set_checksum_crc64_nvme(crc)
                    .build())
            });
            // A short part is the last one (a reader's first buffer may be
            // longer than `part_size`, and shorter only at the end).
            if len < part_size {
                return Ok(());
            }
        }
    }
}

/// The state of one multipart run, kept outside the spawning loop so that
/// the parts in flight can be drained whichever way the loop ends. The tasks
/// belong to the upload's `AbortGuard`, which cancels them if the upload
/// future is dropped.
struct PartRun<'a> {
    tasks: &'a mut PartTasks,
    done: Vec<CompletedPart>,
    first: Option<Bytes>,
    offset: u64,
    number: i32,
    /// The length of each part, by part number − 1.
    lens: Vec<u64>,
}

/// The source of a single PUT (sent again without a checksum when the
/// store refuses one).
enum Whole<'a> {
    File(&'a Path, u64),
    Bytes(&'a Bytes),
}

/// Where a part's CRC is computed from (on its task, before the request):
/// its range of the file, or its bytes.
enum PartCrc {
    File(std::path::PathBuf, u64),
    Mem(Bytes),
}

fn flatten(
    joined: Result<Result<CompletedPart, Error>, tokio::task::JoinError>,
) -> Result<CompletedPart, Error> {
    joined.map_err(Error::task)?
}

/// Bytes read from a file at once for a request body (the SDK reads 64 KiB
/// by default: a blocking-pool round trip per 64 KiB).
const FILE_READ_BUFFER: usize = 256 * 1024;

/// A retryable body reading `len` bytes of `path` from `offset`.
async fn file_range(path: &Path, offset: u64, len: u64) -> Result<ByteStream, Error> {
    ByteStream::read_from()
        .path(path)
        .buffer_size(FILE_READ_BUFFER)
        .offset(offset)
        .length(Length::Exact(len))
        .build()
        .await
        .map_err(|e| Error::io(path, std::io::Error::other(e)))
}

/// Reads until `limit` bytes or EOF.
async fn read_up_to(
    reader: &mut (dyn AsyncRead + Unpin + Send),
    limit: u64,
) -> Result<Bytes, Error> {
    let cap = usize::try_from(limit).unwrap_or(usize::MAX);
    let mut buf = BytesMut::with_capacity(cap);
    let mut taken = AsyncReadExt::take(reader, limit);
    while buf.len() < cap {
        let n = taken
            .read_buf(&mut buf)
            .await
            .map_err(|error| Error::Reader { error })?;
        if n == 0 {
            break;
        }
    }
    Ok(buf.freeze())
}
