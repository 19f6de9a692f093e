//! Downloads: to a path (through a temporary file in the same folder, renamed
//! on success) or into memory; large objects as parallel ranges or parts.
//! This file holds the public calls; the plan (HEAD, ranges or parts, the
//! check) is in `plan.rs`, the GETs in `fetch.rs`, the content checks in
//! `check.rs`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt, stream};

use super::client::S3BucketClient;
use super::encryption::SseCustomerKey;
use super::error::Error;
use super::progress::{Direction, ProgressListener, Tracker};
use super::verification::Verification;
use super::verify;

mod check;
mod fetch;
mod hash;
mod plan;
mod range;
mod to_writer;

use check::{check_md5, verify_pieces};
use fetch::join_piece;
use plan::Piece;

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
    version_id: Option<String>,
    require_verified: bool,
    customer_key: Option<SseCustomerKey>,
}

impl fmt::Debug for DownloadOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DownloadOptions")
            .field("progress", &self.progress.is_some())
            .field("sync", &self.sync)
            .field("version_id", &self.version_id)
            .field("require_verified", &self.require_verified)
            .field("customer_key", &self.customer_key)
            .finish()
    }
}

impl DownloadOptions {
    /// No progress reporting.
    pub fn new() -> Self {
        Self::default()
    }

    /// Progress reports go to this listener.
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
    pub fn sync(mut self, on: bool) -> Self {
        self.sync = on;
        self
    }

    /// Download this version of the object (boto3's `VersionId`), not the
    /// current one. Every request of the download names it; the version's
    /// own ETag and checksums verify it. An unknown version is
    /// [`Error::NotFound`] (code `NoSuchVersion`, or a `400` on some stores
    /// for a malformed id: then a [`Error::Service`]).
    pub fn version_id(mut self, version_id: impl Into<String>) -> Self {
        self.version_id = Some(version_id.into());
        self
    }
    /// Refuse to download what cannot be verified (default off): when the
    /// store gives nothing to check the content against (see
    /// [`NotVerified`](super::NotVerified)), the download fails with
    /// [`Error::Unverifiable`] before any byte is fetched, instead of being
    /// delivered with [`Verification::SizeOnly`](super::Verification::SizeOnly)
    /// and an INFO log line. Verification turned off in the
    /// [`TransferConfig`](super::TransferConfig) counts as "cannot".
    pub fn require_verified(mut self, on: bool) -> Self {
        self.require_verified = on;
        self
    }

    /// The SSE-C key the object was written with (S3 refuses to serve an
    /// SSE-C object without it). It goes with the HEAD and every GET.
    pub fn sse_customer_key(mut self, key: SseCustomerKey) -> Self {
        self.customer_key = Some(key);
        self
    }

    pub(crate) fn requires_verified(&self) -> bool {
        self.require_verified
    }
}

/// What a download to a path did.
///
/// ```no_run
/// # async fn f(c: ms_utils_communication::s3::S3BucketClient) -> Result<(), ms_utils_communication::s3::Error> {
/// let out = c.download_file("bucket", "a.bin", "/tmp/a.bin", Default::default()).await?;
/// println!("{} bytes in {} ranges, {}", out.size, out.ranges, out.verification);
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
    /// How the content was checked, or why it could not be.
    pub verification: Verification,
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
    /// is on (the default); [`DownloadOutput::verification`] says how:
    /// - a stored full-object CRC (CRC64NVME, which this client's uploads
    ///   store where the store keeps it, CRC32, CRC32C): each range's CRC is
    ///   computed on its own task as it arrives and the CRCs are combined in
    ///   order, whatever the object's size, type of upload or encryption
    ///   (SIMD CRC: a few ms of CPU per GiB);
    /// - a single GET (objects under `download_threshold`) with a stored
    ///   full-object SHA1 or SHA256: by the SDK, while the body streams;
    /// - a single-PUT ETag (32 hex digits, no `-`), otherwise: the MD5 of the
    ///   whole content must equal it. On a single GET the body is hashed as
    ///   it is written. When the object is fetched as parallel ranges (also
    ///   when it has a stored checksum: the SDK checks those on whole-object
    ///   GETs only), an MD5 cannot be combined from the ranges' own hashes:
    ///   once every range landed, the file is read back in one pass and
    ///   hashed (on the blocking pool, with no memory beyond a read buffer).
    ///   This costs the MD5 itself, about 1.5–2 ms of CPU per MiB;
    /// - a multipart ETag (`"<md5>-N"`): the object is fetched by part number
    ///   (GET `partNumber`, the parts in parallel, each hashed as it arrives
    ///   on its own task, about 1.5–2 ms of CPU per MiB) and the MD5 of the
    ///   concatenated part MD5s must equal the ETag.
    ///   Composite (per-part) checksums are not used.
    ///
    /// A mismatch is an [`Error::Integrity`] and leaves no file (neither
    /// `dest` nor the temporary file). All of it is turned off with
    /// `verify_checksums = false`. When the store gives nothing to check
    /// against (SSE-KMS and SSE-C objects without a stored full-object
    /// checksum, an ETag of neither form or none, a multipart object
    /// without one on a store that does not serve its parts: see
    /// [`NotVerified`](super::NotVerified)), only the size is checked: the
    /// result says [`Verification::SizeOnly`] with the reason, and an INFO
    /// line names the object and the reason; with
    /// [`DownloadOptions::require_verified`] it is an
    /// [`Error::Unverifiable`] instead, before any byte is fetched.
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
        // Boxed: the transfer's state is large, and would otherwise
        // sit inside every future that awaits this one.
        Box::pin(async move {
            let dest = dest.as_ref();
            let plan = self.plan(bucket, key, &options).await?;
            let tracker = Tracker::new(
                options.progress.as_ref(),
                Direction::Download,
                key,
                Some(plan.size),
            );
            let name = dest.file_name().ok_or_else(|| {
                Error::InvalidInput(format!("`{}` names no file", dest.display()))
            })?;
            let dir = match dest.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
                _ => PathBuf::from("."),
            };
            let stale_dir = dir.clone();
            let _ = tokio::task::spawn_blocking(move || {
                super::stale_parts::remove_stale_parts(
                    &stale_dir,
                    super::stale_parts::STALE_PART_AGE,
                )
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
                let (this, plan, tracker, path) = (
                    self.clone(),
                    Arc::clone(&plan),
                    tracker.clone(),
                    temp.path.clone(),
                );
                tasks.spawn(async move {
                    this.unit_to_file(&plan, index, single, &path, &tracker)
                        .await
                });
            }
            while !tasks.is_empty() {
                pieces.extend(join_piece(&mut tasks).await?);
            }
            verify_pieces(&plan, single, &mut pieces)?;
            if plan.md5_after_ranges(single) {
                // A single-PUT object fetched as ranges: one pass over the
                // file once every range landed, on the blocking pool.
                let path = temp.path.clone();
                let computed = tokio::task::spawn_blocking(move || verify::md5_file(&path))
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
                verification: plan.check.verification(),
            })
        })
        .await
    }

    /// Downloads an object into memory (large objects as parallel ranges).
    ///
    /// The content is verified, or verification skipped, as for
    /// [`download_file`](Self::download_file) (see its "Verification"), before
    /// it is returned; a mismatch is an [`Error::Integrity`] and nothing is
    /// returned. Content that could not be verified is logged at INFO with
    /// the reason, or refused with
    /// [`DownloadOptions::require_verified`]. A multipart object is fetched by part number, each part
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
        // Boxed: the transfer's state is large, and would otherwise
        // sit inside every future that awaits this one.
        Box::pin(async move {
            let plan = self.plan(bucket, key, &options).await?;
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
            // whole future non-`Send` (tests/it/s3/send.rs guards this).
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
            let results =
                stream::iter(pending).buffer_unordered(self.transfer.download_concurrency);
            let mut pieces = results.try_collect::<Vec<Piece>>().await?;
            verify_pieces(&plan, single, &mut pieces)?;
            if plan.md5_after_ranges(single) {
                // A single-PUT object fetched as ranges: one pass over the
                // buffer once it is whole, on the blocking pool (the ranges
                // filled it on this task, which hashing in between would slow).
                let (hashed, computed) = tokio::task::spawn_blocking(move || {
                    let computed = verify::md5(&buf);
                    (buf, computed)
                })
                .await
                .map_err(Error::task)?;
                check_md5(&plan, "GetObject (ranges)", computed)?;
                return Ok(Bytes::from(hashed));
            }
            Ok(Bytes::from(buf))
        })
        .await
    }
}
