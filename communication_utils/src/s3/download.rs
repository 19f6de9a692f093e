//! Downloads: to a path (through a temporary file in the same folder, renamed
//! on success) or into memory; large objects as parallel ranges.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ChecksumMode;
use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt, stream};
use tokio::io::{AsyncSeekExt, AsyncWriteExt, BufWriter};

use super::client::S3BucketClient;
use super::error::Error;
use super::progress::{Direction, ProgressListener, Tracker};

/// Buffer between the network and a range's file handle: large writes keep
/// the blocking-pool round trips of `tokio::fs` few.
const WRITE_BUFFER: usize = 512 * 1024;

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
}

impl S3BucketClient {
    /// Downloads an object to `dest`. The data goes to a temporary file in
    /// the same folder (`.NAME.RANDOM.part`), renamed to `dest` only once
    /// every byte arrived and sizes matched: a failure never leaves a half
    /// file under the final name, and the temporary file is removed.
    /// Objects of at least `download_threshold` bytes are fetched as
    /// parallel ranges (pinned to the first ETag with `If-Match`).
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
    /// when fewer bytes than announced arrive.
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
        let single = plan.ranges.len() <= 1;
        // Each range runs in its own task: the bodies arrive in small frames
        // (4 KiB from s3s-fs), and draining them on one task caps throughput
        // at one core. Dropping the set (error or cancellation) aborts the rest;
        // they open the file without `create`, so none can bring it back.
        let mut tasks = tokio::task::JoinSet::new();
        for &range in &plan.ranges {
            while tasks.len() >= self.transfer.download_concurrency {
                join_range(&mut tasks).await?;
            }
            let (this, plan, tracker, path) = (
                self.clone(),
                Arc::clone(&plan),
                tracker.clone(),
                temp.path.clone(),
            );
            tasks.spawn(async move {
                this.range_to_file(&plan, range, single, &path, &tracker)
                    .await
            });
        }
        while !tasks.is_empty() {
            join_range(&mut tasks).await?;
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
            ranges: plan.ranges.len(),
        })
    }

    /// Downloads an object into memory (large objects as parallel ranges).
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
        let mut buf = vec![0u8; size];
        let single = plan.ranges.len() <= 1;
        // Each range fills its own disjoint slice of one buffer: no copy, no
        // reassembly, and the futures run concurrently on this task. They are
        // built in a plain loop, not by a closure over `&mut [u8]`: such a
        // closure trips rustc's higher-ranked lifetime check and makes the
        // whole future non-`Send` (tests/s3_send.rs guards this).
        let mut pending = Vec::with_capacity(plan.ranges.len());
        let mut rest: &mut [u8] = &mut buf;
        for &(start, end) in &plan.ranges {
            let len = usize::try_from(end - start + 1)
                .unwrap_or(usize::MAX)
                .min(rest.len());
            let (head, tail) = std::mem::take(&mut rest).split_at_mut(len);
            rest = tail;
            pending.push(self.range_to_slice(&plan, (start, end), single, head, &tracker));
        }
        let results = stream::iter(pending).buffer_unordered(self.transfer.download_concurrency);
        results.try_collect::<Vec<()>>().await?;
        Ok(Bytes::from(buf))
    }

    /// HEAD first: the size decides single GET or ranges, the ETag pins the ranges.
    async fn plan(&self, bucket: &str, key: &str) -> Result<Plan, Error> {
        let head = self.head_object(bucket, key).await?;
        let size = head
            .content_length
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(0);
        let t = &self.transfer;
        let ranges = if size >= t.download_threshold && size > t.download_part_size {
            (0..size)
                .step_by(usize::try_from(t.download_part_size).unwrap_or(usize::MAX))
                .map(|s| (s, (s + t.download_part_size).min(size) - 1))
                .collect()
        } else {
            vec![(0, size.saturating_sub(1))]
        };
        Ok(Plan {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            size,
            e_tag: head.e_tag,
            ranges,
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
            return Err(Error::Integrity {
                bucket: plan.bucket.clone(),
                key: plan.key.clone(),
                detail: format!("server announced {announced:?} bytes, expected {expected}"),
            });
        }
        Ok((out.body, expected))
    }

    async fn range_to_file(
        &self,
        plan: &Plan,
        range: (u64, u64),
        whole: bool,
        path: &Path,
        tracker: &Tracker,
    ) -> Result<(), Error> {
        if plan.size == 0 {
            return Ok(());
        }
        let (mut body, expected) = self.get_range(plan, range, whole).await?;
        let mut file = tokio::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .await
            .map_err(|e| Error::io(path, e))?;
        file.seek(std::io::SeekFrom::Start(range.0))
            .await
            .map_err(|e| Error::io(path, e))?;
        let mut out = BufWriter::with_capacity(WRITE_BUFFER, file);
        let mut got = 0u64;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| body_error(&self.target, plan, e.into()))?;
            got += chunk.len() as u64;
            if got > expected {
                break;
            }
            out.write_all(&chunk)
                .await
                .map_err(|e| Error::io(path, e))?;
            tracker.add(chunk.len() as u64);
        }
        check_len(plan, got, expected)?;
        out.flush().await.map_err(|e| Error::io(path, e))?;
        Ok(())
    }

    async fn range_to_slice(
        &self,
        plan: &Plan,
        range: (u64, u64),
        whole: bool,
        slice: &mut [u8],
        tracker: &Tracker,
    ) -> Result<(), Error> {
        if plan.size == 0 {
            return Ok(());
        }
        let (mut body, expected) = self.get_range(plan, range, whole).await?;
        let mut at = 0usize;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| body_error(&self.target, plan, e.into()))?;
            let end = at + chunk.len();
            let Some(dst) = slice.get_mut(at..end) else {
                return check_len(plan, end as u64, expected);
            };
            dst.copy_from_slice(&chunk);
            at = end;
            tracker.add(chunk.len() as u64);
        }
        check_len(plan, at as u64, expected)
    }
}

async fn join_range(tasks: &mut tokio::task::JoinSet<Result<(), Error>>) -> Result<(), Error> {
    match tasks.join_next().await {
        Some(joined) => joined.map_err(Error::task)?,
        None => Ok(()),
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
            return Error::Integrity {
                bucket: plan.bucket.clone(),
                key: plan.key.clone(),
                detail: text,
            };
        }
        cause = e.source();
    }
    Error::transport(endpoint, "GetObject", &plan.bucket, Some(&plan.key), source)
}

fn check_len(plan: &Plan, got: u64, expected: u64) -> Result<(), Error> {
    if got == expected {
        Ok(())
    } else {
        Err(Error::Integrity {
            bucket: plan.bucket.clone(),
            key: plan.key.clone(),
            detail: format!("received {got} bytes of {expected}"),
        })
    }
}
