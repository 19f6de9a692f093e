//! Folder sync, as `aws s3 sync` does it: [`S3BucketClient::sync_up`]
//! (a local folder to a prefix) and [`S3BucketClient::sync_down`] (a prefix
//! to a local folder) copy only what is new or changed, optionally delete
//! what the source no longer has, take include/exclude patterns and can
//! dry-run. The copies go through [`upload_dir`](S3BucketClient::upload_dir)'s
//! and [`download_prefix`](S3BucketClient::download_prefix)'s batch runner,
//! each file as [`upload_file`](S3BucketClient::upload_file) /
//! [`download_file`](S3BucketClient::download_file) does it.
//!
//! # What counts as changed
//! A file is copied when the destination has no file at its path or key,
//! when the sizes differ, or else as [`SyncCompare`] says:
//! - [`SizeAndTime`](SyncCompare::SizeAndTime) (the default, `aws s3 sync`'s):
//!   up, when the local file was modified after the object was stored
//!   (`LastModified`); down, when the object's `LastModified` is not the
//!   local file's modification time (`sync_down` gives each file it
//!   downloads the object's time; `aws s3 sync` would skip an object
//!   replaced by one of the same size, as its `--exact-timestamps` option
//!   describes: this does not). Times are compared in whole seconds, S3's
//!   precision: a file changed within the second it was uploaded in is not
//!   seen as changed.
//! - [`SizeOnly`](SyncCompare::SizeOnly) (`--size-only`): sizes alone.
//! - [`SizeAndEtag`](SyncCompare::SizeAndEtag): the local file's MD5 (or,
//!   for a multipart ETag, its part MD5s at the client's
//!   [`part_size`](super::TransferConfig::part_size)) against the object's
//!   ETag; reads every local file of the same size as its object. Where the
//!   ETag cannot tell (no ETag, or a multipart ETag of another part size),
//!   the times decide. The ETag of an SSE-KMS or SSE-C object is not an MD5:
//!   such objects are always copied in this mode.
//!
//! # Patterns
//! [`SyncOptions::include`] and [`SyncOptions::exclude`] take shell
//! patterns, matched against the path relative to the folder or prefix with
//! `/` separators (`*` matches across `/`, `?` one character, `[a-z]` and
//! `[!a-z]` a class, as `aws s3 sync`'s). Every file is included until a
//! rule says otherwise; the last rule that matches decides. An excluded file
//! is neither copied nor deleted.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use futures_util::{StreamExt, stream};

use super::bulk::{BulkFailure, BulkOptions, BulkProgressListener};
use super::client::S3BucketClient;
use super::delete::DeleteFailure;
use super::error::Error;
use super::listing::ObjectInfo;
use super::upload_options::UploadOptions;
use super::verify;

mod decide;
mod down;
mod filter;
mod up;

use decide::Facts;
use filter::Rule;

/// How [`sync_up`](S3BucketClient::sync_up) and
/// [`sync_down`](S3BucketClient::sync_down) tell a changed file from an
/// unchanged one of the same size (see the module docs).
///
/// ```
/// use ms_utils_communication::s3::{SyncCompare, SyncOptions};
/// let o = SyncOptions::new().compare(SyncCompare::SizeAndEtag);
/// # let _ = o;
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SyncCompare {
    /// Size, then modification time (`aws s3 sync`'s default).
    #[default]
    SizeAndTime,
    /// Size alone (`aws s3 sync --size-only`).
    SizeOnly,
    /// Size, then the content's MD5 against the ETag (times where the ETag
    /// cannot tell).
    SizeAndEtag,
}

/// Why a file was copied, skipped or deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SyncReason {
    /// The destination has no file there.
    New,
    /// The sizes differ.
    SizeDiffers,
    /// The modification times say it changed (or one side has none).
    TimeDiffers,
    /// The content's MD5 differs from the ETag.
    ContentDiffers,
    /// Same size, and the time or content says unchanged: skipped.
    Unchanged,
    /// The source no longer has it: deleted at the destination.
    Gone,
}

/// One file a sync copied, skipped or deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SyncEntry {
    /// The object key (for a local file deleted by `sync_down`, the key it
    /// would have under the prefix).
    pub key: String,
    /// The local path.
    pub path: PathBuf,
    /// The size of the source (of what was deleted, for a deletion).
    pub size: u64,
    /// Why.
    pub reason: SyncReason,
}

/// Options of [`sync_up`](S3BucketClient::sync_up) and
/// [`sync_down`](S3BucketClient::sync_down).
///
/// ```
/// use ms_utils_communication::s3::SyncOptions;
/// // Mirror the *.csv files only, removing what the source no longer has.
/// let o = SyncOptions::new().exclude("*").include("*.csv").delete(true);
/// # let _ = o;
/// ```
#[derive(Clone, Default)]
#[must_use]
pub struct SyncOptions {
    bulk: BulkOptions,
    compare: SyncCompare,
    delete: bool,
    dry_run: bool,
    rules: Vec<Rule>,
}

impl fmt::Debug for SyncOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyncOptions")
            .field("bulk", &self.bulk)
            .field("compare", &self.compare)
            .field("delete", &self.delete)
            .field("dry_run", &self.dry_run)
            .field("rules", &self.rules)
            .finish()
    }
}

impl SyncOptions {
    /// Size and time compared, nothing deleted, every file included,
    /// [`DEFAULT_BULK_CONCURRENCY`](super::DEFAULT_BULK_CONCURRENCY) files at once.
    pub fn new() -> Self {
        Self::default()
    }

    /// How unchanged files are told (default [`SyncCompare::SizeAndTime`]).
    pub fn compare(mut self, compare: SyncCompare) -> Self {
        self.compare = compare;
        self
    }

    /// Delete at the destination what the source no longer has (`aws s3
    /// sync --delete`; default off). Excluded files are never deleted, nor
    /// anything under a local folder that could not be read.
    pub fn delete(mut self, on: bool) -> Self {
        self.delete = on;
        self
    }

    /// Decide everything, copy and delete nothing: the summary says what
    /// would be done (`aws s3 sync --dryrun`).
    pub fn dry_run(mut self, on: bool) -> Self {
        self.dry_run = on;
        self
    }

    /// Leave out the files whose relative path matches `pattern`, unless a
    /// later [`include`](Self::include) takes them back.
    pub fn exclude(mut self, pattern: impl Into<String>) -> Self {
        self.rules.push(Rule {
            include: false,
            pattern: pattern.into(),
        });
        self
    }

    /// Take back the files whose relative path matches `pattern` that an
    /// earlier [`exclude`](Self::exclude) left out.
    pub fn include(mut self, pattern: impl Into<String>) -> Self {
        self.rules.push(Rule {
            include: true,
            pattern: pattern.into(),
        });
        self
    }

    /// What every file `sync_up` uploads gets (encryption, storage class,
    /// tags, ...): see [`BulkOptions::upload_options`]. `sync_down`
    /// ignores them.
    ///
    /// ```
    /// use ms_utils_communication::s3::{SyncOptions, UploadOptions};
    /// let o = SyncOptions::new().upload_options(UploadOptions::new().cache_control("max-age=60"));
    /// # let _ = o;
    /// ```
    pub fn upload_options(mut self, options: UploadOptions) -> Self {
        self.bulk = self.bulk.upload_options(options);
        self
    }

    /// At most this many files copied (or hashed) at once (0 is taken as 1).
    pub fn concurrency(mut self, files: usize) -> Self {
        self.bulk = self.bulk.concurrency(files);
        self
    }

    /// The aggregate progress of the copies goes to this listener.
    pub fn progress(mut self, listener: Arc<dyn BulkProgressListener>) -> Self {
        self.bulk = self.bulk.progress(listener);
        self
    }
}

/// What a sync did (or, in a dry run, would do).
///
/// ```no_run
/// # async fn f(c: ms_utils_communication::s3::S3BucketClient) -> Result<(), ms_utils_communication::s3::Error> {
/// use ms_utils_communication::s3::SyncOptions;
/// let s = c.sync_up("/data/site", "bucket", "site", SyncOptions::new().delete(true)).await?;
/// println!("{} copied, {} unchanged, {} deleted", s.copied.len(), s.skipped.len(), s.deleted.len());
/// for f in &s.failures { eprintln!("{}: {}", f.key, f.error); }
/// for f in &s.delete_failures { eprintln!("{f}"); }
/// # Ok(()) }
/// ```
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct SyncSummary {
    /// The files copied (in a dry run: to be copied), with why.
    pub copied: Vec<SyncEntry>,
    /// The files left alone as unchanged.
    pub skipped: Vec<SyncEntry>,
    /// The files deleted at the destination (in a dry run: to be deleted).
    pub deleted: Vec<SyncEntry>,
    /// Files and objects left out by the include/exclude patterns (a file
    /// and its object count once).
    pub excluded: usize,
    /// Files that failed to copy, local entries that could not be read, and
    /// (`sync_down`) local files that could not be deleted.
    pub failures: Vec<BulkFailure>,
    /// Objects `sync_up` could not delete.
    pub delete_failures: Vec<DeleteFailure>,
    /// True when nothing was copied or deleted on purpose.
    pub dry_run: bool,
}

impl SyncSummary {
    /// True when nothing failed.
    ///
    /// ```
    /// assert!(ms_utils_communication::s3::SyncSummary::default().is_complete());
    /// ```
    pub fn is_complete(&self) -> bool {
        self.failures.is_empty() && self.delete_failures.is_empty()
    }

    /// Bytes of the files copied.
    ///
    /// ```
    /// assert_eq!(ms_utils_communication::s3::SyncSummary::default().bytes_copied(), 0);
    /// ```
    pub fn bytes_copied(&self) -> u64 {
        self.copied.iter().map(|e| e.size).sum()
    }
}

impl S3BucketClient {
    /// Every object under `prefix` (a folder: `""` or ending in `/`), by key.
    async fn objects_under(
        &self,
        bucket: &str,
        prefix: &str,
    ) -> Result<HashMap<String, ObjectInfo>, Error> {
        let mut pages = self.list_pages(bucket, (!prefix.is_empty()).then_some(prefix));
        let mut objects = HashMap::new();
        while let Some(page) = pages.next_page().await {
            objects.extend(page?.into_iter().map(|o| (o.key.clone(), o)));
        }
        Ok(objects)
    }

    /// For [`SyncCompare::SizeAndEtag`]: whether each local file's content
    /// matches its object's ETag (`None` where the ETag cannot tell), for
    /// the `(key, path, e_tag)` given, hashed on the blocking pool,
    /// `concurrency` files at once.
    async fn same_contents(
        &self,
        files: Vec<(String, PathBuf, String)>,
        concurrency: usize,
    ) -> HashMap<String, Option<bool>> {
        let part_size = self.transfer.part_size;
        stream::iter(files)
            .map(|(key, path, e_tag)| async move {
                let same =
                    tokio::task::spawn_blocking(move || content_matches(&path, &e_tag, part_size))
                        .await
                        .ok()
                        .flatten();
                (key, same)
            })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await
    }
}

/// Whether the file at `path` has the content `e_tag` describes: its MD5
/// (a single-PUT ETag), or its part MD5s at `part_size` (a multipart ETag
/// of as many parts as that gives). `None` when the ETag is of neither
/// form, its part count does not fit `part_size`, or the file cannot be
/// read (the copy then reports that).
fn content_matches(path: &std::path::Path, e_tag: &str, part_size: u64) -> Option<bool> {
    use std::io::Read;
    let (expected, parts) = verify::parse_e_tag(e_tag)?;
    let size = std::fs::metadata(path).ok()?.len();
    let mut file = std::fs::File::open(path).ok()?;
    let mut buf = vec![0u8; 1 << 20];
    let mut hash_next = |limit: u64| -> Option<[u8; 16]> {
        let mut md5 = verify::Md5Hasher::default();
        let mut left = limit;
        while left > 0 {
            let want = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
            let n = file.read(&mut buf[..want]).ok()?;
            if n == 0 {
                break;
            }
            md5.update(&buf[..n]);
            left -= n as u64;
        }
        Some(md5.finish())
    };
    match parts {
        None => Some(hash_next(u64::MAX)? == expected),
        Some(n) => {
            let part_size = part_size.max(1);
            if size.div_ceil(part_size) != u64::from(n) {
                return None;
            }
            let mut md5s = Vec::with_capacity(n as usize);
            for _ in 0..n {
                md5s.push(hash_next(part_size)?);
            }
            Some(verify::combine_parts(&md5s) == expected)
        }
    }
}

/// The facts of an object, for the comparison.
fn object_facts(o: &ObjectInfo) -> Facts {
    Facts {
        size: o.size,
        modified: o.last_modified,
    }
}
