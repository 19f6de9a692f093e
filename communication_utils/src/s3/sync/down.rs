//! `sync_down`: a prefix to a local folder.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use super::decide::{Facts, Way, decide};
use super::filter::selected;
use super::up::keep_done;
use super::{SyncCompare, SyncEntry, SyncOptions, SyncReason, SyncSummary, object_facts};
use crate::s3::bulk::BulkFailure;
use crate::s3::bulk::paths::{Item, folder, safe_join, walk};
use crate::s3::client::S3BucketClient;
use crate::s3::error::Error;
use crate::s3::progress::Direction;

impl S3BucketClient {
    /// Downloads what is new or changed under `prefix` into `local_dir`
    /// (created if missing; `aws s3 sync s3://bucket/prefix DIR`): the
    /// objects are listed once and mapped to paths as
    /// [`download_prefix`](Self::download_prefix) maps them (keys that would
    /// land outside `local_dir` are refused, folder markers make folders),
    /// the local files walked once, and each object downloaded (verified,
    /// through a temporary file) only when there is no local file at its
    /// path, the sizes differ, or [`SyncOptions::compare`] says it changed
    /// (by default: the object's `LastModified` is not the file's
    /// modification time). Each file downloaded is given the object's
    /// `LastModified` as its modification time, so that the next sync finds
    /// it unchanged. With [`SyncOptions::delete`], local files with no
    /// object are deleted (files only; folders stay).
    ///
    /// # Errors
    /// Only when the sync cannot start: [`Error::Io`] when `local_dir`
    /// cannot be created; the listing's error (e.g. [`Error::NotFound`] for
    /// a missing bucket). Files that failed are in the summary.
    ///
    /// # Cancellation safety
    /// Dropping the future stops the downloads in flight (each as
    /// [`download_file`](Self::download_file) does: no temporary file is
    /// left) and the deletions not yet done.
    ///
    /// ```no_run
    /// # async fn f(c: ms_utils_communication::s3::S3BucketClient) -> Result<(), ms_utils_communication::s3::Error> {
    /// use ms_utils_communication::s3::SyncOptions;
    /// let s = c.sync_down("bucket", "models/v2", "/data/model", SyncOptions::new()).await?;
    /// assert!(s.is_complete(), "{:?}", s.failures);
    /// # Ok(()) }
    /// ```
    pub async fn sync_down(
        &self,
        bucket: &str,
        prefix: &str,
        local_dir: impl AsRef<Path>,
        options: SyncOptions,
    ) -> Result<SyncSummary, Error> {
        let root = local_dir.as_ref().to_owned();
        if !options.dry_run {
            tokio::fs::create_dir_all(&root)
                .await
                .map_err(|e| Error::io(&root, e))?;
        }
        let prefix = folder(prefix);
        let remote = self.objects_under(bucket, &prefix).await?;
        let walk_root = root.clone();
        let local_items = tokio::task::spawn_blocking(move || {
            if walk_root.is_dir() {
                walk(&walk_root, "")
            } else {
                Vec::new()
            }
        })
        .await
        .map_err(Error::task)?;

        let mut summary = SyncSummary {
            dry_run: options.dry_run,
            ..SyncSummary::default()
        };
        let remote_rels: HashSet<&str> = remote
            .keys()
            .map(|k| {
                let rel = k.get(prefix.len()..).unwrap_or_default();
                rel.strip_suffix('/').unwrap_or(rel)
            })
            .collect();
        let mut local: HashMap<String, Item> = HashMap::new();
        for mut item in local_items {
            if !selected(&options.rules, &item.key) {
                // Files left out with no object (those with one are counted
                // with it).
                if !remote_rels.contains(item.key.as_str()) {
                    summary.excluded += 1;
                }
                continue;
            }
            if let Some(error) = item.early_error.take() {
                summary.failures.push(BulkFailure {
                    key: format!("{prefix}{}", item.key),
                    path: item.path,
                    error,
                });
                continue;
            }
            local.insert(item.key.clone(), item);
        }

        let mut keys: Vec<&String> = remote.keys().collect();
        keys.sort();
        let mut wanted: Vec<(Item, Option<Facts>)> = Vec::new();
        let mut seen = HashSet::new();
        for key in keys {
            let o = &remote[key];
            let rel = key.get(prefix.len()..).unwrap_or_default();
            if !selected(&options.rules, rel) {
                summary.excluded += 1;
                continue;
            }
            let marker = key.ends_with('/');
            let rel = rel.strip_suffix('/').unwrap_or(rel);
            seen.insert(rel.to_owned());
            let path = if rel.is_empty() && marker {
                Some(root.clone())
            } else {
                safe_join(&root, rel)
            };
            let Some(path) = path else {
                summary.failures.push(BulkFailure {
                    key: key.clone(),
                    path: root.join(rel),
                    error: Error::InvalidInput(format!(
                        "key `{key}` of bucket `{bucket}` would be written outside `{}` \
                         (`..`, an empty part or an absolute path): refused",
                        root.display()
                    )),
                });
                continue;
            };
            let item = Item {
                key: key.clone(),
                path,
                size: if marker { 0 } else { o.size },
                modified: o.last_modified,
                early_error: None,
            };
            let dest = if marker {
                // A folder marker is there when the folder is.
                item.path.is_dir().then_some(object_facts(o))
            } else {
                local.get(rel).map(|l| Facts {
                    size: l.size,
                    modified: l.modified,
                })
            };
            wanted.push((item, dest));
        }

        let same = if options.compare == SyncCompare::SizeAndEtag {
            let to_hash = wanted
                .iter()
                .filter(|(item, dest)| {
                    !item.key.ends_with('/') && dest.is_some_and(|d| d.size == item.size)
                })
                .filter_map(|(item, _)| {
                    let tag = remote.get(&item.key)?.e_tag.clone()?;
                    Some((item.key.clone(), item.path.clone(), tag))
                })
                .collect();
            self.same_contents(to_hash, options.bulk.concurrency).await
        } else {
            HashMap::new()
        };
        let mut to_copy = Vec::new();
        for (item, dest) in wanted {
            let source = object_facts(&remote[&item.key]);
            let reason = if item.key.ends_with('/') {
                if dest.is_some() {
                    SyncReason::Unchanged
                } else {
                    SyncReason::New
                }
            } else {
                let same_content = same.get(&item.key).copied().flatten();
                decide(Way::Down, options.compare, source, dest, same_content)
            };
            let entry = SyncEntry {
                key: item.key.clone(),
                path: item.path.clone(),
                size: item.size,
                reason,
            };
            if reason == SyncReason::Unchanged {
                summary.skipped.push(entry);
            } else {
                to_copy.push((item, entry));
            }
        }

        let mut gone: Vec<SyncEntry> = Vec::new();
        for (rel, item) in &local {
            if seen.contains(rel) {
                continue;
            }
            if options.delete {
                gone.push(SyncEntry {
                    key: format!("{prefix}{rel}"),
                    path: item.path.clone(),
                    size: item.size,
                    reason: SyncReason::Gone,
                });
            }
        }
        gone.sort_by(|a, b| a.key.cmp(&b.key));

        if options.dry_run {
            summary.copied = to_copy.into_iter().map(|(_, e)| e).collect();
            summary.deleted = gone;
            return Ok(summary);
        }
        let (items, entries): (Vec<Item>, Vec<SyncEntry>) = to_copy.into_iter().unzip();
        let bucket_arc: Arc<str> = bucket.into();
        let batch = self
            .run_batch(
                items,
                Direction::Download,
                options.bulk.clone(),
                move |this, item, listener| {
                    let bucket = Arc::clone(&bucket_arc);
                    async move {
                        let size = this.download_item(&bucket, &item, listener).await?;
                        // A file gets its object's time (a folder marker, none).
                        if let Some(time) = item.modified.filter(|_| !item.key.ends_with('/')) {
                            set_modified(item.path.clone(), time).await?;
                        }
                        Ok(size)
                    }
                },
            )
            .await?;
        keep_done(&mut summary, entries, batch);

        for entry in gone {
            match tokio::fs::remove_file(&entry.path).await {
                Ok(()) => summary.deleted.push(entry),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => summary.deleted.push(entry),
                Err(e) => summary.failures.push(BulkFailure {
                    key: entry.key,
                    error: Error::io(&entry.path, e),
                    path: entry.path,
                }),
            }
        }
        Ok(summary)
    }
}

/// Gives the file at `path` the modification time `time`.
async fn set_modified(path: PathBuf, time: SystemTime) -> Result<(), Error> {
    tokio::task::spawn_blocking(move || {
        std::fs::File::options()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_modified(time))
            .map_err(|e| Error::io(&path, e))
    })
    .await
    .map_err(Error::task)?
}
