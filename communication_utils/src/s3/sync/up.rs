//! `sync_up`: a local folder to a prefix.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use super::decide::{Facts, Way, decide};
use super::filter::selected;
use super::{SyncCompare, SyncEntry, SyncOptions, SyncReason, SyncSummary, object_facts};
use crate::s3::bulk::paths::{Item, folder, walk_folder};
use crate::s3::bulk::{BulkFailure, BulkSummary};
use crate::s3::client::S3BucketClient;
use crate::s3::delete::ObjectId;
use crate::s3::error::Error;
use crate::s3::progress::Direction;

impl S3BucketClient {
    /// Uploads what is new or changed under `local_dir` to `prefix` (`aws s3
    /// sync DIR s3://bucket/prefix`): the files are walked as
    /// [`upload_dir`](Self::upload_dir) walks them (same keys, same
    /// metadata), the objects under the prefix listed once, and each file
    /// uploaded only when the bucket has no object at its key, the sizes
    /// differ, or [`SyncOptions::compare`] says it changed (by default: the
    /// file was modified after the object was stored; see the module docs
    /// of the rules). With [`SyncOptions::delete`], objects under the prefix
    /// with no local file are deleted (batched, as
    /// [`delete_files`](Self::delete_files)); none under a local folder that
    /// could not be read.
    ///
    /// # Errors
    /// Only when the sync cannot start: [`Error::Io`] when `local_dir` is
    /// missing or not a folder; the listing's error (e.g.
    /// [`Error::NotFound`] for a missing bucket). Files that failed are in
    /// the summary.
    ///
    /// # Cancellation safety
    /// Dropping the future stops the uploads in flight (each as
    /// [`upload_file`](Self::upload_file) does) and the deletes not yet sent.
    ///
    /// ```no_run
    /// # async fn f(c: ms_utils_communication::s3::S3BucketClient) -> Result<(), ms_utils_communication::s3::Error> {
    /// use ms_utils_communication::s3::SyncOptions;
    /// let s = c.sync_up("/srv/site", "bucket", "www", SyncOptions::new().delete(true).exclude("*.map")).await?;
    /// println!("{} uploaded, {} unchanged, {} deleted", s.copied.len(), s.skipped.len(), s.deleted.len());
    /// # Ok(()) }
    /// ```
    pub async fn sync_up(
        &self,
        local_dir: impl AsRef<Path>,
        bucket: &str,
        prefix: &str,
        options: SyncOptions,
    ) -> Result<SyncSummary, Error> {
        let root = local_dir.as_ref().to_owned();
        let prefix = folder(prefix);
        let items = walk_folder(&root, &prefix).await?;
        let remote = self.objects_under(bucket, &prefix).await?;
        let rel = |key: &str| key.get(prefix.len()..).unwrap_or_default().to_owned();

        let mut summary = SyncSummary {
            dry_run: options.dry_run,
            ..SyncSummary::default()
        };
        // Keys (or key starts) of local entries that could not be read:
        // their objects are not "gone".
        let mut unreadable: Vec<String> = Vec::new();
        let mut local_keys = HashSet::new();
        let walked: HashSet<String> = items.iter().map(|i| i.key.clone()).collect();
        // Objects left out with no local file (those with one were counted
        // with it).
        summary.excluded += remote
            .keys()
            .filter(|k| !walked.contains(*k) && !selected(&options.rules, &rel(k)))
            .count();
        let mut candidates = Vec::new();
        for mut item in items {
            if !selected(&options.rules, &rel(&item.key)) {
                summary.excluded += 1;
                continue;
            }
            if let Some(error) = item.early_error.take() {
                unreadable.push(item.key.clone());
                summary.failures.push(BulkFailure {
                    key: item.key,
                    path: item.path,
                    error,
                });
                continue;
            }
            local_keys.insert(item.key.clone());
            candidates.push(item);
        }

        let same = if options.compare == SyncCompare::SizeAndEtag {
            let to_hash = candidates
                .iter()
                .filter_map(|item| {
                    let o = remote.get(&item.key)?;
                    let tag = o.e_tag.clone().filter(|_| o.size == item.size)?;
                    Some((item.key.clone(), item.path.clone(), tag))
                })
                .collect();
            self.same_contents(to_hash, options.bulk.concurrency).await
        } else {
            Default::default()
        };
        let mut to_copy = Vec::new();
        for item in candidates {
            let source = Facts {
                size: item.size,
                modified: item.modified,
            };
            let dest = remote.get(&item.key).map(object_facts);
            let same_content = same.get(&item.key).copied().flatten();
            let reason = decide(Way::Up, options.compare, source, dest, same_content);
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
        if options.delete {
            for (key, o) in &remote {
                if local_keys.contains(key)
                    || unreadable.iter().any(|u| key.starts_with(u.as_str()))
                {
                    continue;
                }
                if !selected(&options.rules, &rel(key)) {
                    continue;
                }
                gone.push(SyncEntry {
                    key: key.clone(),
                    path: root.join(rel(key)),
                    size: o.size,
                    reason: SyncReason::Gone,
                });
            }
            gone.sort_by(|a, b| a.key.cmp(&b.key));
        }

        if options.dry_run {
            summary.copied = to_copy.into_iter().map(|(_, e)| e).collect();
            summary.deleted = gone;
            return Ok(summary);
        }
        let (items, entries): (Vec<Item>, Vec<SyncEntry>) = to_copy.into_iter().unzip();
        let bucket_arc: Arc<str> = bucket.into();
        let each = options.bulk.upload.clone();
        let copied = self
            .run_batch(
                items,
                Direction::Upload,
                options.bulk.clone(),
                move |this, item, listener| {
                    let bucket = Arc::clone(&bucket_arc);
                    let file_options = each.clone().progress(listener);
                    async move {
                        this.upload_file(&item.path, &bucket, Some(&item.key), file_options)
                            .await
                            .map(|out| out.size)
                    }
                },
            )
            .await?;
        keep_done(&mut summary, entries, copied);

        if !gone.is_empty() {
            let ids: Vec<ObjectId> = gone.iter().map(|e| ObjectId::new(e.key.clone())).collect();
            let deleted = self.delete_files(bucket, ids).await?;
            let done: HashSet<&str> = deleted.deleted.iter().map(|d| d.key.as_str()).collect();
            summary.deleted = gone
                .into_iter()
                .filter(|e| done.contains(e.key.as_str()))
                .collect();
            summary.delete_failures = deleted.failures;
        }
        Ok(summary)
    }
}

/// Moves the copies that succeeded into `summary.copied`, the failures
/// into `summary.failures`.
pub(super) fn keep_done(summary: &mut SyncSummary, entries: Vec<SyncEntry>, batch: BulkSummary) {
    let failed: HashSet<String> = batch.failures.iter().map(|f| f.key.clone()).collect();
    summary.copied = entries
        .into_iter()
        .filter(|e| !failed.contains(&e.key))
        .collect();
    summary.failures.extend(batch.failures);
}
