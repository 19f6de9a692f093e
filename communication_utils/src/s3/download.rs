//! Downloads: to a path (through a temporary file in the same folder, renamed
//! on success) or into memory; large objects as parallel ranges.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumMode, ChecksumType, ServerSideEncryption};
use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt, stream};

use super::client::S3BucketClient;
use super::error::Error;
use super::in_order::{self, Frontier, StopOnDrop};
use super::progress::{Direction, ProgressListener, Tracker};
use super::range_writer::RangeWriter;
use super::verify::{self, Check, Md5Hasher, ObjectFacts};

/// Options of a download.
///
/// ```
/// use std::sync::Arc;
/// use ms_utils_communication::s3::{DownloadOptions, ProgressBarListener};
/// let o = DownloadOptions::new().progress(Arc::new(ProgressBarListener::new()));
/// # let _ = o;
/// ```
#[derive(Clone, Default)]
#[must_use]
pub struct DownloadOptions {
    progress: Option<Arc<dyn ProgressListener>>,
    sync: bool,
}

impl fmt::Debug for DownloadOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DownloadOptions")
            .field("progress", &self.progress.is_some())
            .field("sync", &self.sync)
            .finish()
    }
}

impl DownloadOptions {
    /// No progress reporting.
    ///
    /// ```
    /// let o = ms_utils_communication::s3::DownloadOptions::new();
    /// # let _ = o;
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Progress reports go to this listener.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use ms_utils_communication::s3::{DownloadOptions, Progress};
    /// let o = DownloadOptions::new().progress(Arc::new(|p: &Progress| eprintln!("{}", p.transferred)));
    /// # let _ = o;
    /// ```
    pub fn progress(mut self, listener: Arc<dyn ProgressListener>) -> Self {
        self.progress = Some(listener);
        self
    }

    /// Flush the file to disk (`fsync`) before it takes its final name, so
    /// that the name never points at a partly written file even after a
    /// power loss or an OS crash (default off, like boto3 and the Python
    /// original). Without it, a failed or cancelled download still never
    /// leaves a file under the final name; what the flush adds is
    /// durability across a machine crash, at a cost (about 0.1 s per 256 MiB
    /// on this project's CI machine, 12% of a download's time).
    ///
    /// ```
    /// let o = ms_utils_communication::s3::DownloadOptions::new().sync(true);
    /// # let _ = o;
    /// ```
    pub fn sync(mut self, on: bool) -> Self {
        self.sync = on;
        self
    }
}

/// What a download to a path did.
///
/// ```no_run
/// # async fn f(c: ms_utils_communication::s3::S3BucketClient) -> Result<(), ms_utils_communication::s3::Error> {
/// let out = c.download_file("bucket", "a.bin", "/tmp/a.bin", Default::default()).await?;
/// println!("{} bytes in {} ranges", out.size, out.ranges);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DownloadOutput {
    /// Bytes written.
    pub size: u64,
    /// The object's ETag.
    pub e_tag: Option<String>,
    /// Ranges fetched (1 for a single GET).
    pub ranges: usize,
}

/// Removes the temporary file unless the download committed it, including
/// when the download future is dropped half-way.
struct TempFile {
    path: PathBuf,
    committed: bool,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

struct Plan {
    bucket: String,
    key: String,
    size: u64,
    e_tag: Option<String>,
    ranges: Vec<(u64, u64)>,
    /// What the content is checked against.
    check: Check,
    /// Fetched by part number: the object's part count and the size of its
    /// first part (the offset of part `n` when the answer has no
    /// `Content-Range`).
    parts: Option<(u32, u64)>,
}

/// What one GET (a range, a part or the whole object) delivered.
struct Piece {
    /// Offset of its first byte in the object.
    start: u64,
    /// Bytes delivered.
    len: u64,
    /// Its MD5, when the check needs it.
    md5: Option<[u8; 16]>,
    /// Part number (1-based) or range index.
    index: usize,
}

impl S3BucketClient {
    /// Downloads an object to `dest`. The data goes to a temporary file in
    /// the same folder (`.NAME.RANDOM.part`), renamed to `dest` only once
    /// every byte arrived, sizes matched and the content was verified: a
    /// failure never leaves a half file under the final name, and the
    /// temporary file is removed.
    /// Objects of at least `download_threshold` bytes are fetched as
    /// parallel ranges (pinned to the first ETag with `If-Match`).
    ///
    /// # Verification
    /// Every byte is checked against what the store says the object is,
    /// before the file takes its final name, when
    /// [`TransferConfig::verify_checksums`](super::TransferConfig::verify_checksums)
    /// is on (the default):
    /// - a single GET (objects under `download_threshold`) with a stored
    ///   full-object checksum (CRC32, CRC32C, CRC64NVME, SHA1, SHA256): by
    ///   the SDK, while the body streams;
    /// - a single-PUT ETag (32 hex digits, no `-`), otherwise: the MD5 of the
    ///   whole content must equal it. On a single GET the body is hashed as
    ///   it is written. When the object is fetched as parallel ranges (also
    ///   when it has a stored checksum: the SDK checks those on whole-object
    ///   GETs only), an MD5 cannot be combined from the ranges' own hashes:
    ///   one thread reads the file back in order as the ranges land and
    ///   hashes it, overlapping the download, with no memory beyond a read
    ///   buffer; the first ranges are staggered in size so that they finish
    ///   in order. This costs the MD5 itself, about 1.5–2 ms of CPU per MiB;
    /// - a multipart ETag (`"<md5>-N"`): the object is fetched by part number
    ///   (GET `partNumber`, the parts in parallel, each hashed as it is
    ///   written) and the MD5 of the concatenated part MD5s must equal the
    ///   ETag. Composite (per-part) checksums are not used.
    ///
    /// A mismatch is an [`Error::Integrity`] and leaves no file (neither
    /// `dest` nor the temporary file). All of it is turned off with
    /// `verify_checksums = false`. It is skipped, with a DEBUG log naming
    /// why, when the store cannot tell: SSE-KMS and SSE-C objects (their
    /// ETag is not an MD5 of the content) without a stored checksum usable
    /// on a single GET, an ETag of neither form or none, and a multipart
    /// object on a store that does not serve its parts (GET `partNumber`).
    ///
    /// A process killed during a download cannot remove its temporary file:
    /// each download first removes, best effort, the stale temporary files
    /// of this naming (`.NAME.<16 hex digits>.part`, regular files only) in
    /// the destination folder that were last written an hour ago or more.
    /// No other file is touched.
    ///
    /// # Errors
    /// [`Error::NotFound`]; [`Error::Io`] when the folder is not writable;
    /// [`Error::Transport`] when the connection breaks; [`Error::Integrity`]
    /// when fewer bytes than announced arrive or the content does not match
    /// its checksum or ETag (its detail names the operation, what was
    /// expected and what was computed); then neither `dest` nor the
    /// temporary file is left.
    ///
    /// # Cancellation safety
    /// Dropping the future stops the download and removes the temporary file;
    /// `dest` is untouched.
    ///
    /// ```no_run
    /// # async fn f(c: ms_utils_communication::s3::S3BucketClient) -> Result<(), ms_utils_communication::s3::Error> {
    /// c.download_file("bucket", "models/v2.bin", "/data/model.bin", Default::default()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn download_file(
        &self,
        bucket: &str,
        key: &str,
        dest: impl AsRef<Path>,
        options: DownloadOptions,
    ) -> Result<DownloadOutput, Error> {
        let dest = dest.as_ref();
        let plan = self.plan(bucket, key).await?;
        let tracker = Tracker::new(
            options.progress.as_ref(),
            Direction::Download,
            key,
            Some(plan.size),
        );
        let name = dest
            .file_name()
            .ok_or_else(|| Error::InvalidInput(format!("`{}` names no file", dest.display())))?;
        let dir = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        let stale_dir = dir.clone();
        let _ = tokio::task::spawn_blocking(move || {
            super::stale_parts::remove_stale_parts(&stale_dir, super::stale_parts::STALE_PART_AGE)
        })
        .await;
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(".{:016x}.part", rand::random::<u64>()));
        let mut temp = TempFile {
            path: dir.join(tmp_name),
            committed: false,
        };
        let file = tokio::fs::File::create(&temp.path)
            .await
            .map_err(|e| Error::io(&temp.path, e))?;
        file.set_len(plan.size)
            .await
            .map_err(|e| Error::io(&temp.path, e))?;
        drop(file);

        let plan = Arc::new(plan);
        let single = plan.ranges.len() <= 1 && plan.parts.is_none();
        // A single-PUT object fetched as ranges: its MD5 is computed by a
        // blocking thread reading the file back in order as the ranges land
        // (see `in_order`). Dropping `_stop` (error or cancellation) ends it.
        let frontier = plan
            .md5_in_order(single)
            .then(|| Arc::new(Frontier::new(plan.ranges.len())));
        let _stop = frontier.clone().map(StopOnDrop);
        let hasher = frontier.clone().map(|frontier| {
            let (path, plan) = (temp.path.clone(), Arc::clone(&plan));
            tokio::task::spawn_blocking(move || {
                in_order::hash_in_order(&path, &plan.ranges, &frontier)
            })
        });
        // Each range (or part) runs in its own task: the bodies arrive in
        // small frames (4 KiB from s3s-fs), and draining them on one task
        // caps throughput at one core. Dropping the set (error or
        // cancellation) aborts the rest; they open the file without
        // `create`, so none can bring it back.
        let mut tasks = tokio::task::JoinSet::new();
        let mut pieces = Vec::with_capacity(plan.units());
        for index in 0..plan.units() {
            while tasks.len() >= self.transfer.download_concurrency {
                pieces.extend(join_piece(&mut tasks).await?);
            }
            let (this, plan, tracker, path, frontier) = (
                self.clone(),
                Arc::clone(&plan),
                tracker.clone(),
                temp.path.clone(),
                frontier.clone(),
            );
            tasks.spawn(async move {
                let frontier = frontier.as_deref().map(|f| (f, index));
                this.unit_to_file(&plan, index, single, &path, frontier, &tracker)
                    .await
            });
        }
        while !tasks.is_empty() {
            pieces.extend(join_piece(&mut tasks).await?);
        }
        verify_pieces(&plan, single, &mut pieces)?;
        if let Some(hasher) = hasher {
            let computed = hasher
                .await
                .map_err(Error::task)?
                .map_err(|e| Error::io(&temp.path, e))?;
            check_md5(&plan, "GetObject (ranges)", computed)?;
        }

        if options.sync {
            let f = tokio::fs::OpenOptions::new()
                .write(true)
                .open(&temp.path)
                .await
                .map_err(|e| Error::io(&temp.path, e))?;
            f.sync_all().await.map_err(|e| Error::io(&temp.path, e))?;
        }
        tokio::fs::rename(&temp.path, dest)
            .await
            .map_err(|e| Error::io(dest, e))?;
        temp.committed = true;
        Ok(DownloadOutput {
            size: plan.size,
            e_tag: plan.e_tag.clone(),
            ranges: plan.units(),
        })
    }

    /// Downloads an object into memory (large objects as parallel ranges).
    ///
    /// The content is verified, or verification skipped, as for
    /// [`download_file`](Self::download_file) (see its "Verification"), before
    /// it is returned; a mismatch is an [`Error::Integrity`] and nothing is
    /// returned. A multipart object is fetched by part number, each part
    /// hashed as it arrives. A single-PUT object fetched as ranges is hashed
    /// in one pass over the buffer once every range arrived (on the
    /// blocking pool; about 1.5–2 ms of CPU per MiB).
    ///
    /// # Memory
    /// One buffer of the object's size, allocated once: every range or part
    /// is written straight to its offset in it, so the peak is about the
    /// object's size (plus the frames in flight), not twice it.
    ///
    /// # Errors
    /// As for [`download_file`](Self::download_file), without the local ones.
    ///
    /// # Cancellation safety
    /// Dropping the future stops the download; nothing is kept.
    ///
    /// ```no_run
    /// # async fn f(c: ms_utils_communication::s3::S3BucketClient) -> Result<(), ms_utils_communication::s3::Error> {
    /// let bytes = c.download_bytes("bucket", "status.json", Default::default()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn download_bytes(
        &self,
        bucket: &str,
        key: &str,
        options: DownloadOptions,
    ) -> Result<Bytes, Error> {
        let plan = self.plan(bucket, key).await?;
        let tracker = Tracker::new(
            options.progress.as_ref(),
            Direction::Download,
            key,
            Some(plan.size),
        );
        let size = usize::try_from(plan.size)
            .map_err(|_| Error::InvalidInput("object larger than memory can address".into()))?;
        if plan.parts.is_some() {
            return self.parts_to_bytes(&plan, size, &tracker).await;
        }
        let mut buf = vec![0u8; size];
        let single = plan.ranges.len() <= 1;
        // Each range fills its own disjoint slice of one buffer: no copy, no
        // reassembly, and the futures run concurrently on this task. They are
        // built in a plain loop, not by a closure over `&mut [u8]`: such a
        // closure trips rustc's higher-ranked lifetime check and makes the
        // whole future non-`Send` (tests/s3_send.rs guards this).
        let mut pending = Vec::with_capacity(plan.ranges.len());
        let mut rest: &mut [u8] = &mut buf;
        for (index, &(start, end)) in plan.ranges.iter().enumerate() {
            let len = usize::try_from(end - start + 1)
                .unwrap_or(usize::MAX)
                .min(rest.len());
            let (head, tail) = std::mem::take(&mut rest).split_at_mut(len);
            rest = tail;
            pending.push(self.range_to_slice(&plan, index, single, head, &tracker));
        }
        let results = stream::iter(pending).buffer_unordered(self.transfer.download_concurrency);
        let mut pieces = results.try_collect::<Vec<Piece>>().await?;
        verify_pieces(&plan, single, &mut pieces)?;
        if plan.md5_in_order(single) {
            // A single-PUT object fetched as ranges: one pass over the
            // buffer once it is whole, on the blocking pool (the ranges
            // filled it on this task, which hashing in between would slow).
            let (hashed, computed) = tokio::task::spawn_blocking(move || {
                let mut md5 = Md5Hasher::default();
                md5.update(&buf);
                (buf, md5.finish())
            })
            .await
            .map_err(Error::task)?;
            check_md5(&plan, "GetObject (ranges)", computed)?;
            return Ok(Bytes::from(hashed));
        }
        Ok(Bytes::from(buf))
    }

    /// A multipart object into memory, its parts fetched in parallel by
    /// part number, each hashed as it arrives and written straight to its
    /// offset in one buffer of the object's size: the peak is the object
    /// once, not the parts plus their concatenation. A part's offset is
    /// known only from its answer (parts need not be of one size), so the
    /// buffer is shared behind a lock held for each copy alone (the parts
    /// all run on this task: it is never contended).
    async fn parts_to_bytes(
        &self,
        plan: &Plan,
        size: usize,
        tracker: &Tracker,
    ) -> Result<Bytes, Error> {
        let buf = Mutex::new(vec![0u8; size]);
        let pending =
            (0..plan.units()).map(|index| self.unit_to_buffer(plan, index, &buf, tracker));
        let results = stream::iter(pending).buffer_unordered(self.transfer.download_concurrency);
        let mut pieces = results.try_collect::<Vec<Piece>>().await?;
        // The parts must tile the object: no byte left out or written twice.
        verify_pieces(plan, false, &mut pieces)?;
        let buf = buf.into_inner().unwrap_or_else(PoisonError::into_inner);
        Ok(Bytes::from(buf))
    }

    /// HEAD first: the size decides single GET or ranges, the ETag pins the
    /// ranges, the ETag, stored checksums and encryption decide the check.
    async fn plan(&self, bucket: &str, key: &str) -> Result<Plan, Error> {
        // With checksum mode on, the HEAD answer carries stored checksums;
        // on a failure the plain HEAD tells a missing bucket from a missing key.
        let head = match self
            .sdk
            .head_object()
            .bucket(bucket)
            .key(key)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
        {
            Ok(head) => head,
            Err(_) => self.head_object(bucket, key).await?,
        };
        let size = head
            .content_length
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(0);
        let t = &self.transfer;
        let mut ranges: Vec<(u64, u64)> =
            if size >= t.download_threshold && size > t.download_part_size {
                (0..size)
                    .step_by(usize::try_from(t.download_part_size).unwrap_or(usize::MAX))
                    .map(|s| (s, (s + t.download_part_size).min(size) - 1))
                    .collect()
            } else {
                vec![(0, size.saturating_sub(1))]
            };
        let single = ranges.len() <= 1;
        let full_checksum = head.checksum_type != Some(ChecksumType::Composite)
            && [
                head.checksum_crc32(),
                head.checksum_crc32_c(),
                head.checksum_crc64_nvme(),
                head.checksum_sha1(),
                head.checksum_sha256(),
            ]
            .into_iter()
            .flatten()
            .any(|v| !v.contains('-'));
        let facts = ObjectFacts {
            e_tag: head.e_tag.as_deref(),
            sse: head
                .server_side_encryption
                .as_ref()
                .map(ServerSideEncryption::as_str),
            sse_c: head.sse_customer_algorithm.is_some(),
            full_checksum,
            single_get_with_checksum_mode: single && t.verify_checksums,
        };
        let mut check = if t.verify_checksums {
            verify::decide(&facts)
        } else {
            Check::Skip("verification is turned off (TransferConfig::verify_checksums)")
        };
        let mut parts = None;
        match check {
            Check::Md5(_) if !single => {
                ranges = staggered_ranges(size, t.download_part_size, t.download_concurrency);
            }
            Check::Parts { parts: n, .. } if size > 0 => {
                parts = self
                    .part_layout(bucket, key, head.e_tag.as_deref(), (n, size))
                    .await?;
                if parts.is_none() {
                    check =
                        Check::Skip("the store does not report the parts of a multipart object");
                }
            }
            Check::Parts { .. } => check = Check::Skip("an empty multipart object"),
            _ => {}
        }
        if let Check::Skip(why) = check {
            tracing::debug!(bucket, key, e_tag = ?head.e_tag, "download not verified: {why}");
        }
        Ok(Plan {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            size,
            e_tag: head.e_tag,
            ranges,
            check,
            parts,
        })
    }

    /// GET of part 1, its body dropped unread: the part count and the first
    /// part's size, when the store serves parts (`Content-Range` of a strict
    /// prefix and `x-amz-mp-parts-count` agreeing with the ETag's count).
    /// moto counts the parts on HEAD but answers a part GET with the whole
    /// object: a HEAD cannot tell, this GET can.
    async fn part_layout(
        &self,
        bucket: &str,
        key: &str,
        e_tag: Option<&str>,
        (parts, size): (u32, u64),
    ) -> Result<Option<(u32, u64)>, Error> {
        let out = self
            .sdk
            .get_object()
            .bucket(bucket)
            .key(key)
            .part_number(1)
            .set_if_match(e_tag.map(str::to_owned))
            .send()
            .await
            .map_err(|e| Error::from_sdk(&self.target, "GetObject", bucket, Some(key), e))?;
        let count = out.parts_count.and_then(|n| u32::try_from(n).ok());
        let first = out.content_length.and_then(|n| u64::try_from(n).ok());
        let range = out.content_range.as_deref().and_then(parse_content_range);
        drop(out);
        Ok(match (count, first, range) {
            (Some(n), Some(first), Some((0, last, total)))
                if n == parts
                    && first > 0
                    && last + 1 == first
                    && total == size
                    && (n == 1 || first < size) =>
            {
                Some((n, first))
            }
            _ => None,
        })
    }

    /// GETs one range (or the whole object when `whole`), returning the body
    /// and the number of bytes it must hold.
    async fn get_range(
        &self,
        plan: &Plan,
        (start, end): (u64, u64),
        whole: bool,
    ) -> Result<(ByteStream, u64), Error> {
        let mut req = self.sdk.get_object().bucket(&plan.bucket).key(&plan.key);
        let expected = if whole {
            if self.transfer.verify_checksums {
                req = req.checksum_mode(ChecksumMode::Enabled);
            }
            plan.size
        } else {
            req = req
                .range(format!("bytes={start}-{end}"))
                .set_if_match(plan.e_tag.clone());
            end - start + 1
        };
        let out = req.send().await.map_err(|e| {
            Error::from_sdk(&self.target, "GetObject", &plan.bucket, Some(&plan.key), e)
        })?;
        let announced = out.content_length.and_then(|n| u64::try_from(n).ok());
        if announced.is_some_and(|n| n != expected) {
            return Err(integrity(
                plan,
                format!("server announced {announced:?} bytes, expected {expected}"),
            ));
        }
        Ok((out.body, expected))
    }

    /// GETs unit `index`: part `index + 1` when fetching by part number,
    /// else range `index`. Returns the body, the offset of its first byte
    /// and the number of bytes it must hold.
    async fn get_unit(
        &self,
        plan: &Plan,
        index: usize,
        whole: bool,
    ) -> Result<(ByteStream, u64, u64), Error> {
        let Some((_, first)) = plan.parts else {
            let range = plan.ranges[index];
            let (body, expected) = self.get_range(plan, range, whole).await?;
            return Ok((body, range.0, expected));
        };
        let number = i32::try_from(index + 1).unwrap_or(i32::MAX);
        let out = self
            .sdk
            .get_object()
            .bucket(&plan.bucket)
            .key(&plan.key)
            .part_number(number)
            .set_if_match(plan.e_tag.clone())
            .send()
            .await
            .map_err(|e| {
                Error::from_sdk(&self.target, "GetObject", &plan.bucket, Some(&plan.key), e)
            })?;
        let len = out
            .content_length
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| integrity(plan, format!("part {number}: no Content-Length")))?;
        let start = match out.content_range.as_deref().map(parse_content_range) {
            Some(Some((a, b, total))) if b + 1 - a == len && total == plan.size => a,
            Some(_) => {
                return Err(integrity(
                    plan,
                    format!(
                        "part {number}: Content-Range {:?} does not match {len} bytes of {}",
                        out.content_range, plan.size
                    ),
                ));
            }
            None => index as u64 * first,
        };
        if start.checked_add(len).is_none_or(|end| end > plan.size) {
            return Err(integrity(
                plan,
                format!("part {number} ends beyond the object's {} bytes", plan.size),
            ));
        }
        Ok((out.body, start, len))
    }

    /// Unit `index` into the file at `path`, hashed when the check needs
    /// it; every buffer written is reported to `frontier` (the frontier and
    /// this range's index) when the object's MD5 is computed in order.
    async fn unit_to_file(
        &self,
        plan: &Plan,
        index: usize,
        whole: bool,
        path: &Path,
        frontier: Option<(&Frontier, usize)>,
        tracker: &Tracker,
    ) -> Result<Piece, Error> {
        let mut md5 = plan.hashes(whole).then(Md5Hasher::default);
        if plan.size == 0 {
            return Ok(Piece::new(0, 0, index, md5));
        }
        let (mut body, start, expected) = self.get_unit(plan, index, whole).await?;
        let mut out = RangeWriter::open(path, start, frontier).await?;
        let mut got = 0u64;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| body_error(&self.target, plan, e.into()))?;
            got += chunk.len() as u64;
            if got > expected {
                break;
            }
            if let Some(h) = md5.as_mut() {
                h.update(&chunk);
            }
            out.write(&chunk).await?;
            tracker.add(chunk.len() as u64);
        }
        check_len(plan, got, expected)?;
        out.finish().await?;
        Ok(Piece::new(start, got, index, md5))
    }

    /// One part of a multipart object, hashed and copied to its offset in
    /// `buf` as its frames arrive.
    async fn unit_to_buffer(
        &self,
        plan: &Plan,
        index: usize,
        buf: &Mutex<Vec<u8>>,
        tracker: &Tracker,
    ) -> Result<Piece, Error> {
        let mut md5 = Md5Hasher::default();
        let (mut body, start, expected) = self.get_unit(plan, index, false).await?;
        // `get_unit` checked that the part ends within the object.
        let mut at = usize::try_from(start).unwrap_or(usize::MAX);
        let mut got = 0u64;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| body_error(&self.target, plan, e.into()))?;
            got += chunk.len() as u64;
            if got > expected {
                break;
            }
            md5.update(&chunk);
            copy_at(plan, buf, at, &chunk)?;
            at += chunk.len();
            tracker.add(chunk.len() as u64);
        }
        check_len(plan, got, expected)?;
        Ok(Piece::new(start, got, index, Some(md5)))
    }

    async fn range_to_slice(
        &self,
        plan: &Plan,
        index: usize,
        whole: bool,
        slice: &mut [u8],
        tracker: &Tracker,
    ) -> Result<Piece, Error> {
        let mut md5 = plan.hashes(whole).then(Md5Hasher::default);
        let range = plan.ranges[index];
        if plan.size == 0 {
            return Ok(Piece::new(0, 0, index, md5));
        }
        let (mut body, expected) = self.get_range(plan, range, whole).await?;
        let mut at = 0usize;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| body_error(&self.target, plan, e.into()))?;
            let end = at + chunk.len();
            let Some(dst) = slice.get_mut(at..end) else {
                check_len(plan, end as u64, expected)?;
                break;
            };
            dst.copy_from_slice(&chunk);
            if let Some(h) = md5.as_mut() {
                h.update(&chunk);
            }
            at = end;
            tracker.add(chunk.len() as u64);
        }
        check_len(plan, at as u64, expected)?;
        Ok(Piece::new(range.0, at as u64, index, md5))
    }
}

impl Plan {
    /// GETs the download makes: parts, or ranges (1 for a single GET).
    fn units(&self) -> usize {
        match self.parts {
            Some((n, _)) => n as usize,
            None => self.ranges.len(),
        }
    }

    /// Whether the content is checked against a single-PUT ETag while it is
    /// fetched as ranges (`single`: a single GET), so that its MD5 must be
    /// computed over the ranges in order.
    fn md5_in_order(&self, single: bool) -> bool {
        matches!(self.check, Check::Md5(_)) && !single && self.parts.is_none()
    }

    /// Whether a GET of this plan hashes its bytes (`whole`: a single GET).
    fn hashes(&self, whole: bool) -> bool {
        match self.check {
            Check::Md5(_) => whole,
            Check::Parts { .. } => self.parts.is_some(),
            Check::FullChecksum | Check::Skip(_) => false,
        }
    }
}

impl Piece {
    fn new(start: u64, len: u64, index: usize, md5: Option<Md5Hasher>) -> Self {
        Self {
            start,
            len,
            md5: md5.map(Md5Hasher::finish),
            index,
        }
    }
}

/// Checks the pieces of a download against the plan's check: the MD5 of a
/// single GET against a single-PUT ETag, or the parts (which must tile the
/// object) against a multipart ETag. Sorts `pieces` by offset.
fn verify_pieces(plan: &Plan, single: bool, pieces: &mut [Piece]) -> Result<(), Error> {
    pieces.sort_by_key(|p| (p.start, p.index));
    match plan.check {
        Check::Md5(_) if single => {
            if let Some(computed) = pieces.first().and_then(|p| p.md5) {
                check_md5(plan, "GetObject", computed)?;
            }
        }
        Check::Parts {
            md5: expected,
            parts,
        } if plan.parts.is_some() => {
            let mut at = 0u64;
            let mut md5s = Vec::with_capacity(pieces.len());
            for p in pieces.iter() {
                if p.start != at {
                    return Err(integrity(
                        plan,
                        format!(
                            "GetObject by part: the parts leave bytes {at}..{} out",
                            p.start
                        ),
                    ));
                }
                at += p.len;
                md5s.extend(p.md5);
            }
            if at != plan.size || md5s.len() != pieces.len() {
                return Err(integrity(
                    plan,
                    format!(
                        "GetObject by part: the parts hold {at} bytes of {}",
                        plan.size
                    ),
                ));
            }
            let computed = verify::combine_parts(&md5s);
            if computed != expected {
                return Err(integrity(
                    plan,
                    format!(
                        "GetObject by part: multipart ETag mismatch: expected {}-{parts}, computed {}-{}",
                        verify::hex(&expected),
                        verify::hex(&computed),
                        md5s.len(),
                    ),
                ));
            }
        }
        _ => {}
    }
    Ok(())
}

/// Checks the MD5 of the whole content against a single-PUT ETag (a no-op
/// for any other check); `op` names the operation in the error.
fn check_md5(plan: &Plan, op: &str, computed: [u8; 16]) -> Result<(), Error> {
    match plan.check {
        Check::Md5(expected) if computed != expected => Err(integrity(
            plan,
            format!(
                "{op}: content MD5 does not match the ETag: expected {}, computed {}",
                verify::hex(&expected),
                verify::hex(&computed),
            ),
        )),
        _ => Ok(()),
    }
}

/// Copies `chunk` to `buf[at..]`, under the lock for that copy alone.
fn copy_at(plan: &Plan, buf: &Mutex<Vec<u8>>, at: usize, chunk: &[u8]) -> Result<(), Error> {
    let mut buf = buf.lock().unwrap_or_else(PoisonError::into_inner);
    let dst = at
        .checked_add(chunk.len())
        .and_then(|end| buf.get_mut(at..end))
        .ok_or_else(|| integrity(plan, "a part runs beyond the object's end".into()))?;
    dst.copy_from_slice(chunk);
    Ok(())
}

/// The ranges of an object whose MD5 is computed in order as they land:
/// the first `concurrency` ranges grow from `part / concurrency` to `part`,
/// the rest are `part` long. Ranges of one size started together finish
/// together, and the in-order hasher, which can only follow the lowest of
/// them, would be left with nearly all of the last round to hash once the
/// network is done (about 0.2 s per 128 MiB). Staggered, they finish one
/// after the other, in order, and the hasher keeps up with them. It costs
/// about `concurrency / 2` GETs more.
fn staggered_ranges(size: u64, part: u64, concurrency: usize) -> Vec<(u64, u64)> {
    let part = part.max(1);
    let n = u64::try_from(concurrency.max(1)).unwrap_or(u64::MAX);
    let mut ranges = Vec::new();
    let mut start = 0u64;
    let mut k = 1u64;
    while start < size {
        let len = if k <= n {
            (part.saturating_mul(k) / n).max(1)
        } else {
            part
        };
        k += 1;
        let end = start.saturating_add(len).min(size);
        ranges.push((start, end - 1));
        start = end;
    }
    ranges
}

/// `bytes A-B/TOTAL` → (A, B, TOTAL).
fn parse_content_range(v: &str) -> Option<(u64, u64, u64)> {
    let rest = v.trim().strip_prefix("bytes")?.trim_start();
    let (range, total) = rest.split_once('/')?;
    let (a, b) = range.split_once('-')?;
    let (a, b, total) = (
        a.trim().parse().ok()?,
        b.trim().parse().ok()?,
        total.trim().parse().ok()?,
    );
    (a <= b).then_some((a, b, total))
}

async fn join_piece(
    tasks: &mut tokio::task::JoinSet<Result<Piece, Error>>,
) -> Result<Option<Piece>, Error> {
    match tasks.join_next().await {
        Some(joined) => joined.map_err(Error::task)?.map(Some),
        None => Ok(None),
    }
}

fn integrity(plan: &Plan, detail: String) -> Error {
    Error::Integrity {
        bucket: plan.bucket.clone(),
        key: plan.key.clone(),
        detail,
    }
}

/// A body that broke off is a transport failure; one that failed the SDK's
/// checksum validation is an integrity failure. The SDK's checksum error
/// type is private to a crate we do not depend on, so it is recognised by
/// its message, anywhere in the source chain.
fn body_error(endpoint: &Arc<str>, plan: &Plan, source: super::error::BoxError) -> Error {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(source.as_ref());
    while let Some(e) = cause {
        let text = e.to_string();
        if text.contains("checksum mismatch") {
            return integrity(plan, format!("GetObject: stored checksum {text}"));
        }
        cause = e.source();
    }
    Error::transport(endpoint, "GetObject", &plan.bucket, Some(&plan.key), source)
}

fn check_len(plan: &Plan, got: u64, expected: u64) -> Result<(), Error> {
    if got == expected {
        Ok(())
    } else {
        Err(integrity(
            plan,
            format!("received {got} bytes of {expected}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::{parse_content_range, staggered_ranges};

    #[test]
    fn staggered_ranges_tile_the_object() {
        let r = staggered_ranges(100, 16, 4);
        assert_eq!(&r[..5], &[(0, 3), (4, 11), (12, 23), (24, 39), (40, 55)]);
        assert_eq!(r.last(), Some(&(88, 99)));
        for size in [1u64, 5, 17, 1000] {
            let r = staggered_ranges(size, 7, 3);
            assert_eq!(r.first().map(|x| x.0), Some(0));
            assert_eq!(r.last().map(|x| x.1), Some(size - 1));
            assert!(
                r.windows(2)
                    .all(|w| w[1].0 == w[0].1 + 1 && w[0].0 <= w[0].1)
            );
        }
    }

    #[test]
    fn content_ranges_parse() {
        assert_eq!(parse_content_range("bytes 0-9/20"), Some((0, 9, 20)));
        assert_eq!(parse_content_range("bytes 10-19/20"), Some((10, 19, 20)));
        assert_eq!(parse_content_range("bytes 9-0/20"), None);
        assert_eq!(parse_content_range("bytes */20"), None);
        assert_eq!(parse_content_range("0-9/20"), None);
    }
}
