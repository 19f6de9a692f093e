//! Aborting a multipart upload that will not complete: on a failure, and
//! when the caller drops the upload future half-way. Parts already stored
//! would otherwise stay on the server (and be billed) until a lifecycle rule
//! removes them.

use std::sync::Arc;

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

async fn abort(
    sdk: &aws_sdk_s3::Client,
    target: &Arc<str>,
    bucket: &str,
    key: &str,
    upload_id: &str,
) {
    let res = sdk
        .abort_multipart_upload()
        .bucket(bucket)
        .key(key)
        .upload_id(upload_id)
        .send()
        .await;
    match res {
        Ok(_) => tracing::debug!(bucket, key, upload_id, "multipart upload aborted"),
        Err(e) => {
            let e = Error::from_sdk(target, "AbortMultipartUpload", bucket, Some(key), e);
            tracing::warn!(bucket, key, upload_id, error = %e, "could not abort multipart upload");
        }
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
