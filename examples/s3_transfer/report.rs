//! What `s3_transfer` prints: the JSON of each outcome, and the kind of
//! each failure, for scripts.

use ms_utils::communication_utils::s3::{
    BulkFailure, BulkSummary, DeleteFailure, DeleteSummary, Error, ObjectInfo, SyncEntry,
    SyncReason, SyncSummary,
};
use ms_utils::serde_json::{Value, json};

pub(crate) enum Failure {
    Usage,
    S3(Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::S3(e)
    }
}

/// The kind of a failure, for scripts (see the module docs).
pub(crate) fn kind(e: &Error) -> &'static str {
    // First: whatever the upload's own failure, its parts were left behind.
    if e.is_upload_left_open() {
        "upload_left_open"
    } else if e.is_not_found() {
        "not_found"
    } else if e.is_access_denied() {
        "access_denied"
    } else if e.is_credentials() {
        "credentials"
    } else if e.is_timeout() {
        "timeout"
    } else if e.is_transport() {
        "transport"
    } else if e.is_integrity() {
        "integrity"
    } else if e.is_io() {
        "local_io"
    } else if e.is_not_implemented() {
        "not_implemented"
    } else if e.is_unverifiable() {
        "unverifiable"
    } else if e.is_sse_customer_key() {
        "sse_customer_key"
    } else {
        match e {
            Error::InvalidInput(_) => "invalid_input",
            Error::Config { .. } => "config",
            Error::Service { .. } => "service",
            _ => "other",
        }
    }
}

pub(crate) fn error_json(e: &Error) -> Value {
    json!({"ok": false, "error": e.to_string(), "kind": kind(e)})
}

pub(crate) fn failures_json(failures: &[BulkFailure]) -> Vec<Value> {
    failures
        .iter()
        .map(|f| {
            json!({"key": f.key, "path": f.path.display().to_string(),
                   "error": f.error.to_string(), "kind": kind(&f.error)})
        })
        .collect()
}

pub(crate) fn delete_failures_json(failures: &[DeleteFailure]) -> Vec<Value> {
    failures
        .iter()
        .map(|f| {
            let kind = f.request_error.as_deref().map_or("refused", kind);
            json!({"key": f.key, "version_id": f.version_id, "code": f.code,
                   "error": f.to_string(), "kind": kind})
        })
        .collect()
}

pub(crate) fn bulk_json(
    command: &str,
    bucket: &str,
    prefix: &str,
    dir: &str,
    s: &BulkSummary,
) -> Value {
    json!({"ok": s.is_complete(), "command": command, "bucket": bucket, "prefix": prefix,
           "dir": dir, "files_done": s.files_done, "files_total": s.files_total,
           "bytes_done": s.bytes_done, "bytes_total": s.bytes_total,
           "failed": s.failures.len(), "failures": failures_json(&s.failures)})
}

pub(crate) fn delete_json(command: &str, bucket: &str, s: &DeleteSummary) -> Value {
    let deleted: Vec<Value> = s
        .deleted
        .iter()
        .map(|d| {
            json!({"key": d.key, "version_id": d.version_id, "delete_marker": d.delete_marker,
                   "delete_marker_version_id": d.delete_marker_version_id})
        })
        .collect();
    json!({"ok": s.is_complete(), "command": command, "bucket": bucket,
           "deleted": deleted.len(), "objects": deleted,
           "failed": s.failures.len(), "failures": delete_failures_json(&s.failures)})
}

pub(crate) fn sync_json(
    command: &str,
    bucket: &str,
    prefix: &str,
    dir: &str,
    s: &SyncSummary,
) -> Value {
    let entries = |list: &[SyncEntry]| -> Vec<Value> {
        list.iter()
            .map(|e| {
                json!({"key": e.key, "path": e.path.display().to_string(), "size": e.size,
                       "reason": reason(e.reason)})
            })
            .collect()
    };
    json!({"ok": s.is_complete(), "command": command, "bucket": bucket, "prefix": prefix,
           "dir": dir, "dry_run": s.dry_run,
           "copied": s.copied.len(), "bytes_copied": s.bytes_copied(),
           "skipped": s.skipped.len(), "deleted": s.deleted.len(), "excluded": s.excluded,
           "copied_files": entries(&s.copied), "deleted_files": entries(&s.deleted),
           "failed": s.failures.len() + s.delete_failures.len(),
           "failures": failures_json(&s.failures),
           "delete_failures": delete_failures_json(&s.delete_failures)})
}

pub(crate) fn reason(r: SyncReason) -> &'static str {
    match r {
        SyncReason::New => "new",
        SyncReason::SizeDiffers => "size_differs",
        SyncReason::TimeDiffers => "time_differs",
        SyncReason::ContentDiffers => "content_differs",
        SyncReason::Unchanged => "unchanged",
        SyncReason::Gone => "gone",
        _ => "other",
    }
}

pub(crate) fn object_json(o: &ObjectInfo) -> Value {
    json!({"key": o.key, "size": o.size, "etag": o.e_tag})
}
