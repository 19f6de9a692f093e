//! Aborting a multipart upload that will not complete: on a failure, and
//! when the caller drops the upload future half-way. Parts already stored
//! would otherwise stay on the server (and be billed) until a lifecycle rule
//! removes them.
//!
//! A part request the server has received but not yet stored can land after
//! an abort (S3 documents it: "parts in progress may succeed; abort again").
//! So: the part requests in flight are let end first (a cancelled upload's
//! for at most [`PART_SETTLE_LIMIT`], then they are cancelled), then the
//! upload is aborted, then `ListParts` must answer `NoSuchUpload` (or no
//! parts); while it lists parts, the abort is sent again (at most
//! [`ABORT_ROUNDS`] times).

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_s3::operation::create_multipart_upload::builders::CreateMultipartUploadFluentBuilder;
use aws_sdk_s3::types::CompletedPart;
use tokio::task::JoinSet;

use super::error::{BoxError, Error, RequestContext};

/// The part uploads in flight.
pub(crate) type PartTasks = JoinSet<Result<CompletedPart, Error>>;

/// Owns a multipart upload's part tasks until it is completed or aborted.
///
/// Dropped while still armed (the caller dropped the upload future), it
/// moves the part tasks into a task on the current runtime that lets them
/// end (cancelling those still running after [`PART_SETTLE_LIMIT`]), then
/// aborts the upload and confirms it is gone: a part request still running
/// could otherwise store its part after the abort.
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
    /// The one way a multipart upload is opened: sends `create` (a
    /// `CreateMultipartUpload` whose options the caller set) for `bucket`
    /// and `key`, and returns the guard of the upload it opened, armed.
    pub(crate) async fn open(
        sdk: &aws_sdk_s3::Client,
        target: &Arc<str>,
        create: CreateMultipartUploadFluentBuilder,
        bucket: &str,
        key: &str,
    ) -> Result<AbortGuard, Error> {
        let created =
            create.bucket(bucket).key(key).send().await.map_err(|e| {
                Error::from_sdk(target, "CreateMultipartUpload", bucket, Some(key), e)
            })?;
        let upload_id = created
            .upload_id
            .ok_or_else(|| Error::InvalidInput("server returned no upload id".into()))?;
        Ok(AbortGuard::new(
            sdk.clone(),
            target.clone(),
            bucket,
            key,
            &upload_id,
        ))
    }

    /// The id of the upload guarded.
    pub(crate) fn upload_id(&self) -> &str {
        &self.upload_id
    }

    fn new(
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

    /// The upload failed with `failure`: aborts it now, after every part
    /// task has ended, and returns the error to report: `failure` itself
    /// when the upload is gone, else an [`Error::UploadLeftOpen`] carrying
    /// it with the upload id and why the abort failed.
    pub(crate) async fn abort_now(&mut self, failure: Error) -> Error {
        self.armed = false;
        settle(&mut self.tasks).await;
        match abort(
            &self.sdk,
            &self.target,
            &self.bucket,
            &self.key,
            &self.upload_id,
        )
        .await
        {
            Ok(()) => failure,
            Err(abort) => Error::UploadLeftOpen {
                bucket: std::mem::take(&mut self.bucket),
                key: std::mem::take(&mut self.key),
                upload_id: std::mem::take(&mut self.upload_id),
                error: Box::new(failure),
                abort,
            },
        }
    }
}

/// How long a cancelled upload's part requests are let run before they are
/// cancelled too (a part the server has received is then usually stored
/// before the abort; one that is not is removed by the abort rounds).
pub(crate) const PART_SETTLE_LIMIT: Duration = Duration::from_secs(30);

/// Lets the part tasks end, for at most [`PART_SETTLE_LIMIT`]; cancels the
/// rest (their requests are dropped at the transport).
async fn settle(tasks: &mut PartTasks) {
    let all_ended = async { while tasks.join_next().await.is_some() {} };
    if tokio::time::timeout(PART_SETTLE_LIMIT, all_ended)
        .await
        .is_err()
    {
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
    }
}

/// How many times an upload is aborted while `ListParts` still lists parts.
pub(crate) const ABORT_ROUNDS: u32 = 3;

/// The wait before aborting again (a part being stored lands meanwhile).
const ABORT_ROUND_WAIT: Duration = Duration::from_millis(500);

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
                    request: RequestContext::new(target, "AbortMultipartUpload", bucket, Some(key)),
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

/// Aborts, then confirms with `ListParts` that nothing is left, aborting
/// again while parts are listed (see the module comment). A store without
/// `ListParts` (`NotImplemented`) or a `ListParts` that fails is taken at
/// the abort's word.
pub(crate) async fn abort_and_confirm(
    sdk: &aws_sdk_s3::Client,
    target: &Arc<str>,
    bucket: &str,
    key: &str,
    upload_id: &str,
) -> Result<(), BoxError> {
    let mut listed = 0;
    for round in 1..=ABORT_ROUNDS {
        if round > 1 {
            tokio::time::sleep(ABORT_ROUND_WAIT).await;
        }
        match abort_with_retry(sdk, target, bucket, key, upload_id).await {
            // Gone after a first abort that listed parts: done.
            Err(e) if round > 1 && e.code() == Some("NoSuchUpload") => return Ok(()),
            other => other.map_err(Box::new)?,
        }
        let parts = sdk
            .list_parts()
            .bucket(bucket)
            .key(key)
            .upload_id(upload_id)
            .send()
            .await;
        listed = match parts {
            Ok(out) => out.parts().len(),
            Err(e) => {
                let e = Error::from_sdk(target, "ListParts", bucket, Some(key), e);
                if e.code() != Some("NoSuchUpload") {
                    tracing::debug!(bucket, key, upload_id, error = %e, "abort not confirmed: ListParts failed");
                }
                return Ok(());
            }
        };
        if listed == 0 {
            return Ok(());
        }
        tracing::debug!(
            bucket,
            key,
            upload_id,
            parts = listed,
            round,
            "parts still listed after the abort; aborting again"
        );
    }
    Err(Box::new(PartsRemain { parts: listed }))
}

/// An upload whose parts are still listed after every abort round.
#[derive(Debug)]
struct PartsRemain {
    parts: usize,
}

impl std::fmt::Display for PartsRemain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ListParts still lists {} parts after {ABORT_ROUNDS} aborts",
            self.parts
        )
    }
}

impl std::error::Error for PartsRemain {}

/// [`abort_and_confirm`], logged: DEBUG when the upload is gone, WARN (with
/// what to do) when it is not.
async fn abort(
    sdk: &aws_sdk_s3::Client,
    target: &Arc<str>,
    bucket: &str,
    key: &str,
    upload_id: &str,
) -> Result<(), BoxError> {
    let res = abort_and_confirm(sdk, target, bucket, key, upload_id).await;
    match &res {
        Ok(()) => tracing::debug!(bucket, key, upload_id, "multipart upload aborted"),
        Err(e) => tracing::warn!(
            bucket,
            key,
            upload_id,
            error = %e,
            "could not abort the multipart upload: its parts stay on \
             the server (and are billed) until aborted; remove them with \
             S3BucketClient::abort_incomplete_uploads(bucket, prefix, older_than), \
             `aws s3api abort-multipart-upload --bucket BUCKET --key KEY --upload-id UPLOAD_ID`, \
             or a lifecycle rule with AbortIncompleteMultipartUpload"
        ),
    }
    res
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
            settle(&mut tasks).await;
            // Nobody to hand an error to: `abort` logs it.
            let _ = abort(&sdk, &target, &bucket, &key, &id).await;
        });
    }
}
