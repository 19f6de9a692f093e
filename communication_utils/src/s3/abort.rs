//! Aborting a multipart upload that will not complete: on a failure, and
//! when the caller drops the upload future half-way. Parts already stored
//! would otherwise stay on the server (and be billed) until a lifecycle rule
//! removes them.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_s3::types::CompletedPart;
use tokio::task::JoinSet;

use super::error::Error;

/// The part uploads in flight.
pub(crate) type PartTasks = JoinSet<Result<CompletedPart, Error>>;

/// Owns a multipart upload's part tasks until it is completed or aborted.
///
/// Dropped while still armed (the caller dropped the upload future), it
/// moves the part tasks into a task on the current runtime that cancels
/// them, waits until they are gone, then sends `AbortMultipartUpload`: a part
/// request still running could otherwise store its part after the abort.
pub(crate) struct AbortGuard {
    sdk: aws_sdk_s3::Client,
    /// The endpoint URL errors name.
    target: Arc<str>,
    bucket: String,
    key: String,
    upload_id: String,
    pub(crate) tasks: PartTasks,
    armed: bool,
}

impl AbortGuard {
    pub(crate) fn new(
        sdk: aws_sdk_s3::Client,
        target: Arc<str>,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> AbortGuard {
        AbortGuard {
            sdk,
            target,
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            upload_id: upload_id.to_owned(),
            tasks: JoinSet::new(),
            armed: true,
        }
    }

    /// The upload completed: nothing to abort.
    pub(crate) fn disarm(&mut self) {
        self.armed = false;
    }

    /// Aborts now, after every part task has ended.
    pub(crate) async fn abort_now(&mut self) {
        self.armed = false;
        drain(&mut self.tasks).await;
        abort(
            &self.sdk,
            &self.target,
            &self.bucket,
            &self.key,
            &self.upload_id,
        )
        .await;
    }
}

async fn drain(tasks: &mut PartTasks) {
    tasks.abort_all();
    while tasks.join_next().await.is_some() {}
}

/// How many times an abort is tried when it fails for a transport reason
/// (each try is one SDK call, which has its own retries).
const ABORT_ATTEMPTS: u32 = 3;

/// The waits between those tries: the tries span about 2 s.
const ABORT_BACKOFF: [Duration; 2] = [Duration::from_millis(500), Duration::from_millis(1500)];

/// The most time all the tries of one abort may take together.
const ABORT_TIME_LIMIT: Duration = Duration::from_secs(15);

/// True for a failure another try may not have: the connection, a timeout,
/// or a 5xx answer.
fn worth_retrying(e: &Error) -> bool {
    match e {
        Error::Transport { .. } | Error::Timeout { .. } => true,
        Error::Service { status, .. } => status.is_some_and(|s| s >= 500),
        _ => false,
    }
}

/// Sends `AbortMultipartUpload`, tried again with backoff (see
/// [`ABORT_ATTEMPTS`]) while it fails for a transport reason, within
/// [`ABORT_TIME_LIMIT`] in all. An upload already gone (`NoSuchUpload`) on a
/// later try counts as aborted: the try before may have reached the server.
pub(crate) async fn abort_with_retry(
    sdk: &aws_sdk_s3::Client,
    target: &Arc<str>,
    bucket: &str,
    key: &str,
    upload_id: &str,
) -> Result<(), Error> {
    let deadline = tokio::time::Instant::now() + ABORT_TIME_LIMIT;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let send = sdk
            .abort_multipart_upload()
            .bucket(bucket)
            .key(key)
            .upload_id(upload_id)
            .send();
        let err = match tokio::time::timeout_at(deadline, send).await {
            Ok(Ok(_)) => return Ok(()),
            Ok(Err(e)) => Error::from_sdk(target, "AbortMultipartUpload", bucket, Some(key), e),
            Err(elapsed) => {
                return Err(Error::Timeout {
                    operation: "AbortMultipartUpload",
                    bucket: Some(bucket.into()),
                    key: Some(key.into()),
                    endpoint: Arc::clone(target),
                    cause: Box::new(elapsed),
                });
            }
        };
        if attempt > 1 && err.code() == Some("NoSuchUpload") {
            return Ok(());
        }
        let wait = ABORT_BACKOFF
            .get(usize::try_from(attempt - 1).unwrap_or(usize::MAX))
            .copied();
        let wait = match wait {
            Some(w) if attempt < ABORT_ATTEMPTS && worth_retrying(&err) => w,
            _ => return Err(err),
        };
        if tokio::time::Instant::now() + wait >= deadline {
            return Err(err);
        }
        tracing::debug!(bucket, key, upload_id, attempt, error = %err, "abort failed; trying again");
        tokio::time::sleep(wait).await;
    }
}

async fn abort(
    sdk: &aws_sdk_s3::Client,
    target: &Arc<str>,
    bucket: &str,
    key: &str,
    upload_id: &str,
) {
    match abort_with_retry(sdk, target, bucket, key, upload_id).await {
        Ok(()) => tracing::debug!(bucket, key, upload_id, "multipart upload aborted"),
        Err(e) => tracing::warn!(
            bucket,
            key,
            upload_id,
            error = %e,
            "could not abort multipart upload after {ABORT_ATTEMPTS} tries: its parts stay on \
             the server (and are billed) until aborted; remove them with \
             S3BucketClient::abort_incomplete_uploads(bucket, prefix, older_than), \
             `aws s3api abort-multipart-upload --bucket BUCKET --key KEY --upload-id UPLOAD_ID`, \
             or a lifecycle rule with AbortIncompleteMultipartUpload"
        ),
    }
}

impl Drop for AbortGuard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            // Dropped outside any runtime: the part tasks are cancelled when
            // `tasks` drops, but no request can be sent from here.
            tracing::warn!(
                bucket = %self.bucket,
                key = %self.key,
                upload_id = %self.upload_id,
                "upload dropped outside a tokio runtime; multipart upload left open"
            );
            return;
        };
        let mut tasks = std::mem::take(&mut self.tasks);
        let (sdk, target, bucket, key, id) = (
            self.sdk.clone(),
            self.target.clone(),
            std::mem::take(&mut self.bucket),
            std::mem::take(&mut self.key),
            std::mem::take(&mut self.upload_id),
        );
        handle.spawn(async move {
            drain(&mut tasks).await;
            abort(&sdk, &target, &bucket, &key, &id).await;
        });
    }
}
