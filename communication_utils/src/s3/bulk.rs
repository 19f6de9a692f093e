//! Many files at once: [`S3BucketClient::upload_dir`] and
//! [`S3BucketClient::download_prefix`], with bounded concurrency, one
//! aggregate progress report and a [`BulkSummary`] of what was done and what
//! failed.
//!
//! Each file goes through the single-file path ([`S3BucketClient::upload_file`],
//! [`S3BucketClient::download_file`]), so it is stored with the same metadata,
//! checked the same way and cancelled the same way as on its own.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use super::client::S3BucketClient;
use super::download::DownloadOptions;
use super::error::Error;
use super::progress::{Direction, Progress, ProgressBarListener, ProgressListener};
use super::upload_options::UploadOptions;

pub(crate) mod paths;

use paths::{Item, failed, folder, safe_join, walk_folder};

/// Files transferred at once unless [`BulkOptions::concurrency`] says otherwise.
pub const DEFAULT_BULK_CONCURRENCY: usize = 8;

/// One aggregate progress report for a whole batch.
///
/// ```
/// use ms_utils_communication::s3::BulkProgress;
/// fn line(p: &BulkProgress) -> String {
///     format!("{}/{} files, {}/{} bytes", p.files_done + p.files_failed, p.files_total,
///             p.bytes_done, p.bytes_total)
/// }
/// # let _ = line;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BulkProgress {
    /// Upload or download.
    pub direction: Direction,
    /// Bytes transferred so far, over all files (bytes of a file that then
    /// failed stay counted; never decreases).
    pub bytes_done: u64,
    /// Bytes of all files of the batch (known before the first transfer).
    pub bytes_total: u64,
    /// Files transferred successfully so far.
    pub files_done: usize,
    /// Files that failed so far.
    pub files_failed: usize,
    /// Files in the batch (failed entries of the local walk included).
    pub files_total: usize,
    /// Files being transferred at the time of this report (at most the
    /// configured concurrency).
    pub in_flight: usize,
}

/// Receives a batch's aggregate progress. Called from the transfer's tasks,
/// possibly from several threads, so keep it quick. Any
/// `Fn(&BulkProgress) + Send + Sync` is one, and so is
/// [`ProgressBarListener`] (one bar for the batch).
///
/// ```
/// use std::sync::Arc;
/// use ms_utils_communication::s3::{BulkOptions, BulkProgress};
/// let options = BulkOptions::new()
///     .progress(Arc::new(|p: &BulkProgress| eprintln!("{}/{}", p.bytes_done, p.bytes_total)));
/// # let _ = options;
/// ```
pub trait BulkProgressListener: Send + Sync {
    /// Called each time more bytes or files are done.
    fn on_bulk_progress(&self, progress: &BulkProgress);
}

impl<F> BulkProgressListener for F
where
    F: Fn(&BulkProgress) + Send + Sync,
{
    fn on_bulk_progress(&self, progress: &BulkProgress) {
        self(progress);
    }
}

impl BulkProgressListener for ProgressBarListener {
    fn on_bulk_progress(&self, p: &BulkProgress) {
        self.on_progress(&Progress {
            direction: p.direction,
            key: format!("{}/{} files", p.files_done + p.files_failed, p.files_total),
            transferred: p.bytes_done.min(p.bytes_total),
            total: Some(p.bytes_total),
        });
    }
}

/// Options of [`upload_dir`](S3BucketClient::upload_dir) and
/// [`download_prefix`](S3BucketClient::download_prefix): how many files at
/// once, and where the aggregate progress goes.
///
/// ```
/// use std::sync::Arc;
/// use ms_utils_communication::s3::{BulkOptions, ProgressBarListener};
/// let options = BulkOptions::new().concurrency(16).progress(Arc::new(ProgressBarListener::new()));
/// # let _ = options;
/// ```
#[derive(Clone)]
#[must_use]
pub struct BulkOptions {
    pub(crate) concurrency: usize,
    progress: Option<Arc<dyn BulkProgressListener>>,
    /// What each file of an upload batch gets (its listener aside).
    pub(crate) upload: UploadOptions,
}

impl Default for BulkOptions {
    fn default() -> Self {
        BulkOptions {
            concurrency: DEFAULT_BULK_CONCURRENCY,
            progress: None,
            upload: UploadOptions::new(),
        }
    }
}

impl fmt::Debug for BulkOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BulkOptions")
            .field("concurrency", &self.concurrency)
            .field("progress", &self.progress.is_some())
            .field("upload", &self.upload)
            .finish()
    }
}

impl BulkOptions {
    /// [`DEFAULT_BULK_CONCURRENCY`] files at once, no progress reporting.
    pub fn new() -> Self {
        Self::default()
    }

    /// At most this many files in flight at once (0 is taken as 1). Each
    /// file may itself use several connections (multipart parts, ranges) up
    /// to the client's [`TransferConfig`](super::TransferConfig).
    pub fn concurrency(mut self, files: usize) -> Self {
        self.concurrency = files.max(1);
        self
    }

    /// Aggregate progress reports go to this listener.
    pub fn progress(mut self, listener: Arc<dyn BulkProgressListener>) -> Self {
        self.progress = Some(listener);
        self
    }

    /// What every file of an upload batch gets ([`UploadOptions`]:
    /// encryption, storage class, tags, metadata, standard headers, ACL),
    /// as [`upload_file`](super::S3BucketClient::upload_file) gives it to
    /// one file (boto3's `ExtraArgs`, `aws s3 cp --recursive --sse ...`).
    /// Without a content type in them, each file's is guessed from its
    /// name. Their progress listener is not used: a batch reports through
    /// [`progress`](Self::progress). Downloads ignore them.
    ///
    /// ```
    /// use ms_utils_communication::s3::{BulkOptions, Encryption, UploadOptions};
    /// let o = BulkOptions::new().upload_options(
    ///     UploadOptions::new().encryption(Encryption::S3).storage_class("STANDARD_IA"),
    /// );
    /// # let _ = o;
    /// ```
    pub fn upload_options(mut self, options: UploadOptions) -> Self {
        self.upload = options;
        self
    }
}

/// One file of a batch that failed.
#[derive(Debug)]
#[non_exhaustive]
pub struct BulkFailure {
    /// The object key (for an upload, the key the file would have had).
    pub key: String,
    /// The local path.
    pub path: PathBuf,
    /// Why it failed.
    pub error: Error,
}

/// What a batch did: the files and bytes transferred, and every failure.
///
/// ```no_run
/// # async fn f(c: ms_utils_communication::s3::S3BucketClient) -> Result<(), ms_utils_communication::s3::Error> {
/// use ms_utils_communication::s3::BulkOptions;
/// let summary = c.upload_dir("/data/batch", "bucket", "batches/42", BulkOptions::new()).await?;
/// for f in &summary.failures {
///     eprintln!("{}: {}", f.path.display(), f.error);
/// }
/// assert_eq!(summary.files_done + summary.failures.len(), summary.files_total);
/// # Ok(()) }
/// ```
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct BulkSummary {
    /// Files transferred successfully.
    pub files_done: usize,
    /// Bytes of the files transferred successfully.
    pub bytes_done: u64,
    /// Files in the batch (`files_done + failures.len()`).
    pub files_total: usize,
    /// Bytes of all files of the batch.
    pub bytes_total: u64,
    /// The files that failed, each with its error, in no particular order.
    pub failures: Vec<BulkFailure>,
}

impl BulkSummary {
    /// True when no file failed.
    ///
    /// ```
    /// assert!(ms_utils_communication::s3::BulkSummary::default().is_complete());
    /// ```
    pub fn is_complete(&self) -> bool {
        self.failures.is_empty()
    }
}

/// The batch's shared counters.
struct Aggregate {
    listener: Option<Arc<dyn BulkProgressListener>>,
    direction: Direction,
    bytes_done: AtomicU64,
    bytes_total: u64,
    files_done: AtomicUsize,
    files_failed: AtomicUsize,
    files_total: usize,
    in_flight: AtomicUsize,
}

impl Aggregate {
    fn report(&self) {
        let Some(l) = &self.listener else { return };
        l.on_bulk_progress(&BulkProgress {
            direction: self.direction,
            bytes_done: self.bytes_done.load(Ordering::SeqCst),
            bytes_total: self.bytes_total,
            files_done: self.files_done.load(Ordering::SeqCst),
            files_failed: self.files_failed.load(Ordering::SeqCst),
            files_total: self.files_total,
            in_flight: self.in_flight.load(Ordering::SeqCst),
        });
    }
}

/// The per-file listener: turns a file's running total into increments of
/// the batch's.
struct FileListener {
    agg: Arc<Aggregate>,
    seen: AtomicU64,
}

impl ProgressListener for FileListener {
    fn on_progress(&self, p: &Progress) {
        let before = self.seen.fetch_max(p.transferred, Ordering::SeqCst);
        if p.transferred > before {
            self.agg
                .bytes_done
                .fetch_add(p.transferred - before, Ordering::SeqCst);
            self.agg.report();
        }
    }
}

impl S3BucketClient {
    /// Uploads every file under `local_dir`, recursively, hidden files
    /// included, with at most [`BulkOptions::concurrency`] files in flight.
    /// Each file is uploaded exactly as [`upload_file`](Self::upload_file)
    /// would (same `FileName`/`FileSize`/`FileType`/`CreationTime` metadata
    /// and Content-Type, multipart above the threshold), under the key
    /// `prefix` + `/` + its path relative to `local_dir` with `/` separators
    /// (no `/` is added when `prefix` is empty or already ends with one).
    ///
    /// Symbolic links to files are followed (the target's bytes are stored
    /// under the link's key); symbolic links to folders are not followed
    /// (which also rules out cycles) and are reported as failures, as are
    /// dangling links, FIFOs, sockets, devices, unreadable files and folders,
    /// and names that are not UTF-8. Nothing is skipped silently: every
    /// entry is either in [`BulkSummary::files_done`] or in
    /// [`BulkSummary::failures`]. Empty folders have no object.
    ///
    /// # Errors
    /// Only when the batch cannot start: [`Error::Io`] when `local_dir` is
    /// missing or not a folder. Failures of single files are in the summary.
    ///
    /// # Cancellation safety
    /// Dropping the future stops every transfer in flight (each as
    /// [`upload_file`](Self::upload_file) does); files already uploaded stay.
    ///
    /// ```no_run
    /// # async fn f(c: ms_utils_communication::s3::S3BucketClient) -> Result<(), ms_utils_communication::s3::Error> {
    /// use std::sync::Arc;
    /// use ms_utils_communication::s3::{BulkOptions, ProgressBarListener};
    /// let options = BulkOptions::new().concurrency(16).progress(Arc::new(ProgressBarListener::new()));
    /// let summary = c.upload_dir("/data/model", "bucket", "models/v2", options).await?;
    /// println!("{} files, {} bytes, {} failed", summary.files_done, summary.bytes_done, summary.failures.len());
    /// # Ok(()) }
    /// ```
    pub async fn upload_dir(
        &self,
        local_dir: impl AsRef<Path>,
        bucket: &str,
        prefix: &str,
        options: BulkOptions,
    ) -> Result<BulkSummary, Error> {
        let items = walk_folder(local_dir.as_ref(), &folder(prefix)).await?;
        let bucket: Arc<str> = bucket.into();
        let each = options.upload.clone();
        self.run_batch(
            items,
            Direction::Upload,
            options,
            move |this, item, listener| {
                let bucket = Arc::clone(&bucket);
                let file_options = each.clone().progress(listener);
                async move {
                    this.upload_file(&item.path, &bucket, Some(&item.key), file_options)
                        .await
                        .map(|out| out.size)
                }
            },
        )
        .await
    }

    /// Downloads every object under `prefix` (listed past 1,000 keys) into
    /// `local_dir` (created if missing), each at its key relative to the
    /// prefix, with at most [`BulkOptions::concurrency`] files in flight,
    /// each as [`download_file`](Self::download_file) does (temporary file,
    /// then renamed). A non-empty `prefix` is taken as a folder: `docs`
    /// means the keys under `docs/`.
    ///
    /// Keys that would land outside `local_dir` (a `..` part, an empty part
    /// as in `a//b` or a leading `/`) are not written: each is a failure
    /// with an [`Error::InvalidInput`] naming the key. A key ending in `/`
    /// (a "folder" marker made by consoles) creates that folder and counts
    /// as a file done with 0 bytes.
    ///
    /// # Errors
    /// Only when the batch cannot start: [`Error::Io`] when `local_dir`
    /// cannot be created; the listing's error (e.g. [`Error::NotFound`] for
    /// a missing bucket). Failures of single objects are in the summary.
    ///
    /// # Cancellation safety
    /// Dropping the future stops every transfer in flight (each as
    /// [`download_file`](Self::download_file) does: no temporary file is
    /// left); files already downloaded stay.
    ///
    /// ```no_run
    /// # async fn f(c: ms_utils_communication::s3::S3BucketClient) -> Result<(), ms_utils_communication::s3::Error> {
    /// use ms_utils_communication::s3::BulkOptions;
    /// let summary = c.download_prefix("bucket", "models/v2", "/data/model", BulkOptions::new()).await?;
    /// if !summary.is_complete() { eprintln!("{:?}", summary.failures); }
    /// # Ok(()) }
    /// ```
    pub async fn download_prefix(
        &self,
        bucket: &str,
        prefix: &str,
        local_dir: impl AsRef<Path>,
        options: BulkOptions,
    ) -> Result<BulkSummary, Error> {
        let root = local_dir.as_ref().to_owned();
        tokio::fs::create_dir_all(&root)
            .await
            .map_err(|e| Error::io(&root, e))?;
        let prefix = folder(prefix);
        let mut pages = self.list_pages(bucket, (!prefix.is_empty()).then_some(prefix.as_str()));
        let mut items = Vec::new();
        while let Some(page) = pages.next_page().await {
            for obj in page? {
                let rel = obj.key.get(prefix.len()..).unwrap_or_default();
                let marker = obj.key.ends_with('/');
                let rel = rel.strip_suffix('/').unwrap_or(rel);
                // A marker of the prefix itself is the local folder.
                let joined = if rel.is_empty() && obj.key.ends_with('/') {
                    Some(root.clone())
                } else {
                    safe_join(&root, rel)
                };
                match joined {
                    Some(path) => items.push(Item {
                        key: obj.key,
                        path,
                        size: if marker { 0 } else { obj.size },
                        modified: obj.last_modified,
                        early_error: None,
                    }),
                    None => {
                        let err = Error::InvalidInput(format!(
                            "key `{}` of bucket `{bucket}` would be written outside `{}` \
                             (`..`, an empty part or an absolute path): refused",
                            obj.key,
                            root.display()
                        ));
                        let shown = root.join(rel);
                        items.push(failed(obj.key, shown, err));
                    }
                }
            }
        }
        let bucket: Arc<str> = bucket.into();
        self.run_batch(
            items,
            Direction::Download,
            options,
            move |this, item, listener| {
                let bucket = Arc::clone(&bucket);
                async move { this.download_item(&bucket, &item, listener).await }
            },
        )
        .await
    }

    /// One object of a batch download, at its path: a key ending in `/`
    /// (a folder marker) makes the folder; any other is downloaded, its
    /// folders made first. Returns the bytes written.
    pub(crate) async fn download_item(
        &self,
        bucket: &str,
        item: &Item,
        listener: Arc<dyn ProgressListener>,
    ) -> Result<u64, Error> {
        if item.key.ends_with('/') {
            tokio::fs::create_dir_all(&item.path)
                .await
                .map_err(|e| Error::io(&item.path, e))?;
            return Ok(0);
        }
        if let Some(parent) = item.path.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(|e| Error::io(parent, e))?;
        }
        let options = DownloadOptions::new().progress(listener);
        let out = self
            .download_file(bucket, &item.key, &item.path, options)
            .await?;
        Ok(out.size)
    }

    /// Runs `transfer` on every item, at most `options.concurrency` at once.
    pub(crate) async fn run_batch<F, Fut>(
        &self,
        items: Vec<Item>,
        direction: Direction,
        options: BulkOptions,
        transfer: F,
    ) -> Result<BulkSummary, Error>
    where
        F: Fn(S3BucketClient, Arc<Item>, Arc<dyn ProgressListener>) -> Fut,
        Fut: Future<Output = Result<u64, Error>> + Send + 'static,
    {
        let agg = Arc::new(Aggregate {
            listener: options.progress.clone(),
            direction,
            bytes_done: AtomicU64::new(0),
            bytes_total: items.iter().map(|i| i.size).sum(),
            files_done: AtomicUsize::new(0),
            files_failed: AtomicUsize::new(0),
            files_total: items.len(),
            in_flight: AtomicUsize::new(0),
        });
        let mut summary = BulkSummary {
            files_total: agg.files_total,
            bytes_total: agg.bytes_total,
            ..BulkSummary::default()
        };
        agg.report();
        let mut running: HashMap<tokio::task::Id, Arc<Item>> = HashMap::new();
        let mut tasks = tokio::task::JoinSet::new();
        for mut item in items {
            if let Some(error) = item.early_error.take() {
                agg.files_failed.fetch_add(1, Ordering::SeqCst);
                summary.failures.push(BulkFailure {
                    key: item.key,
                    path: item.path,
                    error,
                });
                agg.report();
                continue;
            }
            while tasks.len() >= options.concurrency {
                finish_one(&mut tasks, &mut running, &agg, &mut summary).await;
            }
            let item = Arc::new(item);
            let listener: Arc<dyn ProgressListener> = Arc::new(FileListener {
                agg: Arc::clone(&agg),
                seen: AtomicU64::new(0),
            });
            agg.in_flight.fetch_add(1, Ordering::SeqCst);
            let fut = transfer(self.clone(), Arc::clone(&item), Arc::clone(&listener));
            let agg2 = Arc::clone(&agg);
            let handle = tasks.spawn(async move {
                let result = fut.await;
                agg2.in_flight.fetch_sub(1, Ordering::SeqCst);
                match &result {
                    Ok(size) => {
                        // Count what the per-file reports did not (e.g. an empty file).
                        listener.on_progress(&Progress {
                            direction: agg2.direction,
                            key: String::new(),
                            transferred: *size,
                            total: Some(*size),
                        });
                        agg2.files_done.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(_) => {
                        agg2.files_failed.fetch_add(1, Ordering::SeqCst);
                    }
                }
                agg2.report();
                result
            });
            running.insert(handle.id(), item);
        }
        while !tasks.is_empty() {
            finish_one(&mut tasks, &mut running, &agg, &mut summary).await;
        }
        Ok(summary)
    }
}

/// Waits for one transfer and records its outcome.
async fn finish_one(
    tasks: &mut tokio::task::JoinSet<Result<u64, Error>>,
    running: &mut HashMap<tokio::task::Id, Arc<Item>>,
    agg: &Aggregate,
    summary: &mut BulkSummary,
) {
    let Some(joined) = tasks.join_next_with_id().await else {
        return;
    };
    let (id, result) = match joined {
        Ok((id, r)) => (id, r),
        Err(e) => {
            // A panicked task never ran its own bookkeeping.
            agg.in_flight.fetch_sub(1, Ordering::SeqCst);
            agg.files_failed.fetch_add(1, Ordering::SeqCst);
            agg.report();
            (e.id(), Err(Error::task(e)))
        }
    };
    let Some(item) = running.remove(&id) else {
        return;
    };
    match result {
        Ok(size) => {
            summary.files_done += 1;
            summary.bytes_done += size;
        }
        Err(error) => summary.failures.push(BulkFailure {
            key: item.key.clone(),
            path: item.path.clone(),
            error,
        }),
    }
}
