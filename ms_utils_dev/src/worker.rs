//! A stand-in for the platform's `workers_manager`: answers
//! `text-to-embeddings` tasks with the [`hashing_embedding`]
//! vectors, through the bucket, so that the whole flow of
//! [`send_encoding_job`](ms_utils_encoding::send_encoding_job) can be seen working
//! without a GPU service. Used by `examples/worker.rs`, the main job of
//! `examples/gateway_consumer.rs`, and the tests.
//!
//! For each task it reads the input object (a JSON array of strings),
//! deletes it, embeds every text (384 dimensions, L2-normalised when the task
//! asks), writes the vectors as a JSON array of arrays to
//! `encoder/results/<jobId>-<uuid4>.json`, and answers the sender with an
//! `ms-task-result` ([`JobOutcome::to_message`]) sent back through the gateway
//! with `send_task_to_ms`. Any failure is answered as a `type: "error"` result
//! with the reason, so the caller never waits for nothing.

use ms_utils_communication::s3::{DownloadOptions, S3BucketClient, UploadOptions};
use ms_utils_communication::ws::{Message, MicroServiceWs, RunHandle};
use serde_json::{Value, json};

use crate::hashing_embedding;
use ms_utils_encoding::{EncodingTask, JobOutcome, TEXT_TO_EMBEDDINGS};

/// Where results are written, followed by `<jobId>-<uuid4>.json`.
///
/// ```
/// assert!(ms_utils_dev::worker::RESULT_PREFIX.starts_with(ms_utils_encoding::INPUT_PREFIX));
/// ```
pub const RESULT_PREFIX: &str = "encoder/results/";

/// What a worker task can fail with. Each is also answered to the sender
/// as an error result carrying this text.
///
/// ```
/// let e = ms_utils_dev::worker::WorkerError::Unsupported { job_task: "ocr".into() };
/// assert_eq!(e.to_string(), "unsupported job_task \"ocr\"");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkerError {
    /// The task is not a `text-to-embeddings` task.
    #[error("unsupported job_task {job_task:?}")]
    Unsupported {
        /// The `job_task` received.
        job_task: String,
    },
    /// The task payload does not have the expected shape.
    #[error("bad task payload")]
    BadTask(#[source] serde_json::Error),
    /// The input object could not be read.
    #[error("reading input `{object}` failed")]
    Input {
        /// The input object name.
        object: String,
        /// The S3 error.
        #[source]
        source: Box<ms_utils_communication::s3::Error>,
    },
    /// The input object is not a JSON array of strings.
    #[error("input `{object}` is not a JSON array of strings")]
    BadInput {
        /// The input object name.
        object: String,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// The result could not be written.
    #[error("writing result `{object}` failed")]
    Output {
        /// The result object name.
        object: String,
        /// The S3 error.
        #[source]
        source: Box<ms_utils_communication::s3::Error>,
    },
    /// The answer could not be sent.
    #[error("sending the answer failed")]
    Reply(#[source] Box<ms_utils_communication::ws::Error>),
}

/// The `workers_manager` stand-in: one gateway client, one bucket client.
///
/// ```no_run
/// use ms_utils_communication::s3::S3BucketClient;
/// use ms_utils_communication::ws::MicroServiceWs;
/// use ms_utils_dev::worker::EmbeddingWorker;
///
/// # async fn f(ms: MicroServiceWs, s3: S3BucketClient) -> Result<(), ms_utils_communication::ws::Error> {
/// // `ms` is logged in as `workers_manager`.
/// let run = EmbeddingWorker::new(ms.clone(), s3).serve();
/// tokio::signal::ctrl_c().await.ok();
/// ms.close().await?;
/// run.finished().await
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct EmbeddingWorker {
    ws: MicroServiceWs,
    s3: S3BucketClient,
}

impl EmbeddingWorker {
    /// A worker answering through `ws` and reading and writing with `s3`.
    ///
    /// ```no_run
    /// # fn f(ms: ms_utils_communication::ws::MicroServiceWs, s3: ms_utils_communication::s3::S3BucketClient) {
    /// let worker = ms_utils_dev::worker::EmbeddingWorker::new(ms, s3);
    /// # let _ = worker; }
    /// ```
    pub fn new(ws: MicroServiceWs, s3: S3BucketClient) -> Self {
        Self { ws, s3 }
    }

    /// Start answering: runs [`handle`](Self::handle) for every message
    /// received on the client (other messages are ignored).
    ///
    /// ```no_run
    /// # fn f(w: ms_utils_dev::worker::EmbeddingWorker) {
    /// let run = w.serve();
    /// # drop(run); }
    /// ```
    pub fn serve(&self) -> RunHandle {
        let worker = self.clone();
        self.ws.run(move |msg: Message| {
            let worker = worker.clone();
            async move { worker.handle(msg).await.map(drop) }
        })
    }

    /// Handle one message: when it is a task (`ms-task`) carrying a
    /// `job_task`, do it and answer the sender; returns whether it was one.
    ///
    /// # Errors
    /// [`WorkerError::Reply`] when the answer could not be sent (every other
    /// failure is answered to the sender as an error result).
    ///
    /// # Cancellation safety
    /// Not cancel-safe: a task dropped half-way gets no answer.
    ///
    /// ```no_run
    /// # async fn f(w: ms_utils_dev::worker::EmbeddingWorker, msg: ms_utils_communication::ws::Message) -> Result<(), ms_utils_dev::worker::WorkerError> {
    /// if !w.handle(msg).await? {
    ///     println!("not a task for this worker");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn handle(&self, msg: Message) -> Result<bool, WorkerError> {
        if msg.event() != Some("ms-task") {
            return Ok(false);
        }
        let Some(data) = msg.data() else {
            return Ok(false);
        };
        let Some(payload) = data.get("data").filter(|p| p.get("job_task").is_some()) else {
            return Ok(false);
        };
        let text = |k: &str| data.get(k).and_then(Value::as_str).unwrap_or_default();
        let (from, job_id, reference_id) = (text("from"), text("jobId"), text("referenceId"));
        let outcome = match self.run_task(job_id, payload).await {
            Ok((object, consumption)) => JobOutcome::ok(object, consumption),
            Err(error) => {
                tracing::warn!(job_id, %error, "embedding task failed");
                JobOutcome::error(error_text(&error))
            }
        };
        tracing::info!(
            job_id,
            from,
            ok = outcome.is_ok(),
            "embedding task answered"
        );
        self.ws
            .send_task_to_ms(from, reference_id, job_id, outcome.to_message(job_id))
            .await
            .map_err(|e| WorkerError::Reply(Box::new(e)))?;
        Ok(true)
    }

    /// Do one task payload; returns the result object and the consumption.
    async fn run_task(
        &self,
        job_id: &str,
        payload: &Value,
    ) -> Result<(String, Value), WorkerError> {
        let task: EncodingTask =
            serde_json::from_value(payload.clone()).map_err(WorkerError::BadTask)?;
        if task.job_task != TEXT_TO_EMBEDDINGS {
            return Err(WorkerError::Unsupported {
                job_task: task.job_task,
            });
        }
        let p = &task.params;
        let input = self
            .s3
            .download_bytes(&p.bucket_name, &p.object_name, DownloadOptions::new())
            .await
            .map_err(|source| WorkerError::Input {
                object: p.object_name.clone(),
                source: Box::new(source),
            })?;
        let texts: Vec<String> =
            serde_json::from_slice(&input).map_err(|source| WorkerError::BadInput {
                object: p.object_name.clone(),
                source,
            })?;
        // The input is intermediate data and the caller never deletes it on success.
        if let Err(error) = self.s3.delete_file(&p.bucket_name, &p.object_name).await {
            tracing::warn!(object = %p.object_name, %error, "could not delete the task input");
        }
        let vectors: Vec<Vec<f32>> = texts
            .iter()
            .map(|t| hashing_embedding::embed(t, p.normalize))
            .collect();
        let words: usize = texts
            .iter()
            .map(|t| hashing_embedding::words(t).len())
            .sum();
        let object = format!("{RESULT_PREFIX}{job_id}-{}.json", uuid::Uuid::new_v4());
        // Vec<Vec<f32>> always serializes (finite floats only: counts / norm).
        let body = serde_json::to_vec(&vectors).unwrap_or_default();
        self.s3
            .upload_bytes(body, &p.bucket_name, &object, UploadOptions::new())
            .await
            .map_err(|source| WorkerError::Output {
                object: object.clone(),
                source: Box::new(source),
            })?;
        let consumption = json!({
            "model": p.model,
            "embedder": "hashing-384",
            "texts": texts.len(),
            "words": words,
        });
        Ok((object, consumption))
    }
}

/// The error and its causes on one line, for the answer's `message`.
fn error_text(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
