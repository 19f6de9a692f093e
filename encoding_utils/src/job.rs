//! `send_encoding_job` and `download_data` ([protocol: embedding jobs](ms_utils_communication::protocol#embedding-jobs)).

use ms_utils_communication::s3::{DownloadOptions, S3BucketClient, UploadOptions};
use ms_utils_communication::ws::{self, MicroServiceWs, Reply, to_python_json};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::Error;
use crate::outcome::{JobOutcome, parse_task_result};
use crate::task::{EncodingJob, INPUT_PREFIX, WORKERS_MANAGER};

/// What [`send_encoding_job`] returns: one vector per input text, and the
/// worker's `consumption` value (any JSON, as the worker reports it).
///
/// ```
/// let (vectors, consumption): ms_utils_encoding::Embeddings = (vec![vec![0.0; 3]], serde_json::json!(12));
/// assert_eq!(vectors[0].len(), 3);
/// # let _ = consumption;
/// ```
pub type Embeddings = (Vec<Vec<f32>>, Value);

/// Deletes the uploaded input when the job does not end well, including when
/// the caller drops the future (then in a background task, as `Drop` cannot
/// wait). The original left it in the bucket.
struct InputCleanup<'a> {
    s3: &'a S3BucketClient,
    bucket: &'a str,
    key: String,
    armed: bool,
}

impl InputCleanup<'_> {
    async fn run(mut self) {
        self.armed = false;
        if let Err(error) = self.s3.delete_file(self.bucket, &self.key).await {
            tracing::warn!(bucket = self.bucket, key = %self.key, %error, "could not delete the job input");
        }
    }

    fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for InputCleanup<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let (s3, bucket, key) = (self.s3.clone(), self.bucket.to_owned(), self.key.clone());
            rt.spawn(async move {
                if let Err(error) = s3.delete_file(&bucket, &key).await {
                    tracing::warn!(%bucket, %key, %error, "could not delete the input of a cancelled job");
                }
            });
        }
    }
}

/// Run one embedding job ([protocol: embedding jobs](ms_utils_communication::protocol#embedding-jobs)): upload `job.texts` as a JSON array
/// to `bucket`/`encoder/<uuid4>.json`, send the task to `workers_manager`
/// (the original's exact JSON) under the job's `job_id` and `reference_id`,
/// wait for the job's outcome, then download the result file, delete it,
/// and return the vectors with the worker's consumption value.
///
/// The task is a [`MicroServiceWs::call`]: the outcome is matched by
/// `job_id` in the client's own table of waiting calls, whatever else the
/// service does with its messages, so nothing needs wiring into a `run`
/// handler. Many jobs (and other calls) may be in flight at once on one
/// client, each with its own `job_id`; the reference id is passed along
/// unchanged and may differ from it. A `"running"` report does not end the
/// wait: it reaches the application's handler like any other message.
///
/// # Errors
/// - [`Error::Upload`]: the input could not be uploaded (nothing was sent);
/// - [`Error::DuplicateJob`]: a job or call with this `job_id` is already
///   waiting on this client (no task was sent);
/// - [`Error::Send`]: the gateway client refused the task (too large, ...),
///   or the gateway could not route it (`ms-error`: no `workers_manager`
///   connected);
/// - [`Error::JobFailed`]: the worker answered `error` (its message kept),
///   or with an outcome of a type the client does not know;
/// - [`Error::TimedOut`]: no outcome within `job.timeout`;
/// - [`Error::Closed`]: the gateway client closed before the outcome came;
/// - [`Error::InvalidAnswer`]: the answer is not an `ok` outcome naming a
///   result object;
/// - [`Error::ResultMissing`]: the result object is not in the bucket;
/// - [`Error::Malformed`]: the result is not a JSON list of one list of
///   numbers per text (it is then left in the bucket for inspection);
/// - [`Error::Storage`]: another S3 failure while downloading the result.
///
/// In every error case after the upload, the uploaded input is deleted. On
/// success it is left to the worker, as in the original.
///
/// # Cancellation safety
/// Dropping the future gives up the wait (a late outcome then reaches the
/// application like any other message) and deletes the uploaded input in
/// the background.
///
/// ```no_run
/// use std::time::Duration;
/// use ms_utils_communication::s3::S3BucketClient;
/// use ms_utils_communication::ws::MicroServiceWs;
/// use ms_utils_encoding::{EncodingJob, send_encoding_job};
///
/// # async fn f(ms: MicroServiceWs, s3: S3BucketClient) -> Result<(), ms_utils_encoding::Error> {
/// // The job belongs to workflow `upload-42`; its own id is `upload-42:embed`.
/// let job = EncodingJob::new(["hello world", "bonjour"], "upload-42", "upload-42:embed")
///     .normalize(true)
///     .timeout(Duration::from_secs(60));
/// let (vectors, consumption) = send_encoding_job(&ms, &s3, "documents", &job).await?;
/// println!("{} vectors of {} dims; consumption {consumption}", vectors.len(), vectors[0].len());
/// # Ok(()) }
/// ```
pub async fn send_encoding_job(
    ws: &MicroServiceWs,
    s3: &S3BucketClient,
    bucket: &str,
    job: &EncodingJob,
) -> Result<Embeddings, Error> {
    let job_id = job.job_id.as_str();
    let body = to_python_json(&job.texts).map_err(|e| Error::Serialize(Box::new(e)))?;
    let key = format!("{INPUT_PREFIX}{}.json", uuid::Uuid::new_v4());
    s3.upload_bytes(body.into_bytes(), bucket, &key, UploadOptions::new())
        .await
        .map_err(|source| Error::Upload {
            bucket: bucket.to_owned(),
            object: key.clone(),
            source: Box::new(source),
        })?;
    let cleanup = InputCleanup {
        s3,
        bucket,
        key: key.clone(),
        armed: true,
    };
    tracing::debug!(job_id, reference_id = %job.reference_id, input = %key, texts = job.texts.len(), "sending the encoding task");
    let call = ws
        .call(WORKERS_MANAGER, job.task(bucket, &key))
        .job_id(job_id)
        .reference_id(job.reference_id.as_str());
    let call = match job.timeout {
        Some(after) => call.timeout(after),
        None => call.no_timeout(),
    };
    let answer = match call.await {
        Ok(reply) => read_answer(&reply, job_id),
        Err(error) => Err(call_error(job_id, error)),
    };
    let (result_key, consumption) = match answer {
        Ok(found) => found,
        Err(error) => {
            tracing::warn!(job_id, %error, "encoding job ended without a result");
            cleanup.run().await;
            return Err(error);
        }
    };
    let texts = job.texts.len();
    let fetched = fetch_json(s3, bucket, &result_key, |v: &Vec<Vec<f32>>| {
        if v.len() == texts {
            Ok(())
        } else {
            Err(format!("{} vectors for {texts} texts", v.len()))
        }
    })
    .await;
    match fetched {
        Ok(vectors) => {
            cleanup.disarm();
            Ok((vectors, consumption))
        }
        Err(error) => {
            cleanup.run().await;
            Err(error)
        }
    }
}

/// The result object and the consumption an answer names, when it is an
/// `ok` outcome naming one.
fn read_answer(reply: &Reply, job_id: &str) -> Result<(String, Value), Error> {
    let invalid = |reason: String| Error::InvalidAnswer {
        job_id: job_id.to_owned(),
        reason,
    };
    match parse_task_result(reply.message()) {
        Some((
            _,
            JobOutcome::Ok {
                response,
                consumption,
            },
        )) => Ok((response, consumption)),
        // The client ends the call with `TaskFailed` for these; read here
        // too, so that an error outcome can never pass for a result.
        Some((_, JobOutcome::Error { message })) => Err(Error::JobFailed {
            job_id: job_id.to_owned(),
            message,
        }),
        Some((_, JobOutcome::Invalid { reason })) => Err(invalid(reason)),
        None => Err(invalid(format!(
            "a plain answer, not an `{}` outcome",
            ws::TASK_RESULT_EVENT
        ))),
    }
}

/// The job's error for the gateway client's error of its call.
fn call_error(job_id: &str, error: ws::Error) -> Error {
    let job_id = job_id.to_owned();
    match error {
        ws::Error::TaskFailed { message, .. } => Error::JobFailed { job_id, message },
        ws::Error::Timeout { after, .. } => Error::TimedOut { job_id, after },
        ws::Error::Closed => Error::Closed { job_id },
        ws::Error::DuplicateRequest { .. } => Error::DuplicateJob { job_id },
        source => Error::Send {
            job_id,
            source: Box::new(source),
        },
    }
}

/// Download the JSON object `bucket`/`object`, parse it as `T` (e.g.
/// [`serde_json::Value`]), delete it from the bucket, and return it. An object
/// that does not parse is left in the bucket.
///
/// A failed delete after a good download is logged, not returned: the data
/// is in hand, and the object is only intermediate data.
///
/// # Errors
/// [`Error::ResultMissing`] when the object does not exist;
/// [`Error::Malformed`] when it is not JSON of type `T`; [`Error::Storage`]
/// for other S3 failures.
///
/// # Cancellation safety
/// Dropping the future before the download ends leaves the object in place.
///
/// ```no_run
/// use ms_utils_communication::s3::S3BucketClient;
/// # async fn f(s3: S3BucketClient) -> Result<(), ms_utils_encoding::Error> {
/// let data: serde_json::Value = ms_utils_encoding::download_data(&s3, "documents", "results/job-1.json").await?;
/// println!("{data}");
/// # Ok(()) }
/// ```
pub async fn download_data<T: DeserializeOwned>(
    s3: &S3BucketClient,
    bucket: &str,
    object: &str,
) -> Result<T, Error> {
    fetch_json(s3, bucket, object, |_: &T| Ok(())).await
}

/// Download, parse, check, then delete: the object is deleted only once it
/// is known good, so a bad one stays for inspection.
async fn fetch_json<T: DeserializeOwned>(
    s3: &S3BucketClient,
    bucket: &str,
    object: &str,
    check: impl FnOnce(&T) -> Result<(), String>,
) -> Result<T, Error> {
    let bytes = s3
        .download_bytes(bucket, object, DownloadOptions::new())
        .await
        .map_err(|source| {
            if source.is_not_found() {
                Error::ResultMissing {
                    bucket: bucket.to_owned(),
                    object: object.to_owned(),
                    source: Some(Box::new(source)),
                }
            } else {
                Error::Storage {
                    operation: "download",
                    bucket: bucket.to_owned(),
                    object: object.to_owned(),
                    source: Box::new(source),
                }
            }
        })?;
    let value = serde_json::from_slice::<T>(&bytes).map_err(|source| Error::Malformed {
        bucket: bucket.to_owned(),
        object: object.to_owned(),
        reason: format!("not the JSON expected: {source}"),
        source: Some(source),
    })?;
    check(&value).map_err(|reason| Error::Malformed {
        bucket: bucket.to_owned(),
        object: object.to_owned(),
        reason,
        source: None,
    })?;
    if let Err(error) = s3.delete_file(bucket, object).await {
        tracing::warn!(bucket, object, %error, "downloaded object could not be deleted");
    }
    Ok(value)
}
