//! `send_encoding_job` and `download_data` ([protocol: embedding jobs](ms_utils_communication::protocol#embedding-jobs)).

use ms_utils_communication::s3::{DownloadOptions, S3BucketClient, UploadOptions};
use ms_utils_communication::ws::{MicroServiceWs, to_python_json};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::Error;
use crate::task::{EncodingJob, INPUT_PREFIX, WORKERS_MANAGER};
use crate::tracker::{JobOutcome, TaskTracker};

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
/// (the original's exact JSON), wait for the job's outcome on `tracker`, then
/// download the result file, delete it, and return the vectors with the
/// worker's consumption value.
///
/// The outcome reaches `tracker` through its default matcher (wire
/// [`TaskTracker::handler`] into [`MicroServiceWs::run`]) or through
/// [`TaskTracker::complete`] from your own handler. Many jobs may be in flight
/// at once on one tracker, each with its own `job_id`.
///
/// # Errors
/// - [`Error::Upload`]: the input could not be uploaded (nothing was sent);
/// - [`Error::Send`]: the gateway client refused the task;
/// - [`Error::JobFailed`]: the worker answered `error` (its message kept);
/// - [`Error::TimedOut`]: no outcome within `job.timeout`;
/// - [`Error::Closed`]: the gateway client closed while waiting;
/// - [`Error::DuplicateJob`]: a job with this id is already waiting on `tracker`;
/// - [`Error::InvalidAnswer`]: the answer could not be understood;
/// - [`Error::ResultMissing`]: the result object is not in the bucket;
/// - [`Error::Malformed`]: the result is not a JSON list of lists of numbers
///   (it is then left in the bucket for inspection);
/// - [`Error::Storage`]: another S3 failure while downloading the result.
///
/// In every error case after the upload, the uploaded input is deleted. On
/// success it is left to the worker, as in the original.
///
/// # Cancellation safety
/// Dropping the future forgets the job (a late outcome is then ignored) and
/// deletes the uploaded input in the background.
///
/// ```no_run
/// use std::time::Duration;
/// use ms_utils_communication::s3::S3BucketClient;
/// use ms_utils_communication::ws::{Message, MicroServiceWs};
/// use ms_utils_encoding::{EncodingJob, TaskTracker, send_encoding_job};
///
/// # async fn f(ms: MicroServiceWs, s3: S3BucketClient) -> Result<(), ms_utils_encoding::Error> {
/// let tracker = TaskTracker::new();
/// let _run = ms.run(tracker.handler(|_other: Message| async { Ok::<(), std::io::Error>(()) }));
///
/// let job = EncodingJob::new(["hello world", "bonjour"], "ref-1", "job-1")
///     .normalize(true)
///     .timeout(Duration::from_secs(60));
/// let (vectors, consumption) = send_encoding_job(&ms, &s3, "documents", &tracker, &job).await?;
/// println!("{} vectors of {} dims; consumption {consumption}", vectors.len(), vectors[0].len());
/// # Ok(()) }
/// ```
pub async fn send_encoding_job(
    ws: &MicroServiceWs,
    s3: &S3BucketClient,
    bucket: &str,
    tracker: &TaskTracker,
    job: &EncodingJob,
) -> Result<Embeddings, Error> {
    let job_id = job.job_id.as_str();
    // The slot exists before the task leaves, so no answer can beat it.
    let mut waiter = tracker.register(job_id)?;
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
    tracing::debug!(job_id, input = %key, texts = job.texts.len(), "encoding task sent");
    let task = job.task(bucket, &key);
    if let Err(source) = ws
        .send_task_to_ms(WORKERS_MANAGER, &job.reference_id, job_id, &task)
        .await
    {
        cleanup.run().await;
        return Err(Error::Send {
            job_id: job_id.to_owned(),
            source: Box::new(source),
        });
    }

    let outcome = async {
        tokio::select! {
            outcome = &mut waiter.rx => outcome.map_err(|_| Error::Closed { job_id: job_id.to_owned() }),
            () = ws.closed() => Err(Error::Closed { job_id: job_id.to_owned() }),
        }
    };
    let outcome = match job.timeout {
        Some(after) => tokio::time::timeout(after, outcome)
            .await
            .unwrap_or_else(|_| {
                Err(Error::TimedOut {
                    job_id: job_id.to_owned(),
                    after,
                })
            }),
        None => outcome.await,
    };
    drop(waiter);
    let (result_key, consumption) = match outcome {
        Ok(JobOutcome::Ok {
            response,
            consumption,
        }) => (response, consumption),
        Ok(JobOutcome::Error { message }) => {
            cleanup.run().await;
            return Err(Error::JobFailed {
                job_id: job_id.to_owned(),
                message,
            });
        }
        Ok(JobOutcome::Invalid { reason }) => {
            cleanup.run().await;
            return Err(Error::InvalidAnswer {
                job_id: job_id.to_owned(),
                reason,
            });
        }
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
