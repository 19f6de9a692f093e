//! The parameters of an embedding job and the task sent for it to
//! `workers_manager` ([protocol: embedding jobs](ms_utils_communication::protocol#embedding-jobs)).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The microservice that runs embedding jobs.
///
/// ```
/// assert_eq!(ms_utils_encoding::WORKERS_MANAGER, "workers_manager");
/// ```
pub const WORKERS_MANAGER: &str = "workers_manager";

/// The embedding model asked for when none is given.
///
/// ```
/// let job = ms_utils_encoding::EncodingJob::new(["t"], "r", "j");
/// assert_eq!(job.model_name, ms_utils_encoding::DEFAULT_MODEL);
/// ```
pub const DEFAULT_MODEL: &str = "BAAI/bge-m3";

/// Where job inputs are uploaded: `encoder/<uuid4>.json`.
///
/// ```
/// assert_eq!(ms_utils_encoding::INPUT_PREFIX, "encoder/");
/// ```
pub const INPUT_PREFIX: &str = "encoder/";

/// One embedding job: the parameters of the original's `send_encoding_job`
/// (besides the clients and the bucket), with the same defaults: model
/// [`DEFAULT_MODEL`], `normalize` false, `content_only` true, no timeout.
///
/// ```
/// use std::time::Duration;
/// use ms_utils_encoding::EncodingJob;
///
/// let job = EncodingJob::new(["first text", "second text"], "ref-1", "job-1")
///     .user_id("user-7")
///     .collection_name("manuals")
///     .normalize(true)
///     .timeout(Duration::from_secs(120));
/// assert_eq!(job.model_name, "BAAI/bge-m3");
/// assert!(job.content_only);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct EncodingJob {
    /// The texts to embed, one vector each (the original's `chunks`).
    pub texts: Vec<String>,
    /// The reference (workflow) id the task is sent under.
    pub reference_id: String,
    /// The job id; the outcome is matched by it.
    pub job_id: String,
    /// Passed through to the worker.
    pub user_id: Option<String>,
    /// Passed through to the worker.
    pub original_filename: Option<String>,
    /// Passed through to the worker.
    pub collection_name: Option<String>,
    /// The model to run.
    pub model_name: String,
    /// Ask the worker for L2-normalised vectors.
    pub normalize: bool,
    /// Passed through to the worker.
    pub content_only: bool,
    /// How long to wait for the outcome once the task is sent; `None` waits
    /// until the outcome comes or the gateway client closes.
    pub timeout: Option<Duration>,
}

impl EncodingJob {
    /// A job for `texts` with the defaults.
    ///
    /// ```
    /// let job = ms_utils_encoding::EncodingJob::new(vec!["a".to_owned()], "ref", "job");
    /// assert_eq!(job.texts, ["a"]);
    /// ```
    pub fn new<I, S>(texts: I, reference_id: impl Into<String>, job_id: impl Into<String>) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            texts: texts.into_iter().map(Into::into).collect(),
            reference_id: reference_id.into(),
            job_id: job_id.into(),
            user_id: None,
            original_filename: None,
            collection_name: None,
            model_name: DEFAULT_MODEL.to_owned(),
            normalize: false,
            content_only: true,
            timeout: None,
        }
    }

    /// Sets `user_id`.
    ///
    /// ```
    /// let job = ms_utils_encoding::EncodingJob::new(["t"], "r", "j").user_id("u1");
    /// assert_eq!(job.user_id.as_deref(), Some("u1"));
    /// ```
    #[must_use]
    pub fn user_id(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = Some(user_id.into());
        self
    }

    /// Sets `original_filename`.
    ///
    /// ```
    /// let job = ms_utils_encoding::EncodingJob::new(["t"], "r", "j").original_filename("a.pdf");
    /// assert_eq!(job.original_filename.as_deref(), Some("a.pdf"));
    /// ```
    #[must_use]
    pub fn original_filename(mut self, name: impl Into<String>) -> Self {
        self.original_filename = Some(name.into());
        self
    }

    /// Sets `collection_name`.
    ///
    /// ```
    /// let job = ms_utils_encoding::EncodingJob::new(["t"], "r", "j").collection_name("docs");
    /// assert_eq!(job.collection_name.as_deref(), Some("docs"));
    /// ```
    #[must_use]
    pub fn collection_name(mut self, name: impl Into<String>) -> Self {
        self.collection_name = Some(name.into());
        self
    }

    /// Sets the model (default [`DEFAULT_MODEL`]).
    ///
    /// ```
    /// let job = ms_utils_encoding::EncodingJob::new(["t"], "r", "j").model_name("intfloat/e5-small");
    /// assert_eq!(job.model_name, "intfloat/e5-small");
    /// ```
    #[must_use]
    pub fn model_name(mut self, model: impl Into<String>) -> Self {
        self.model_name = model.into();
        self
    }

    /// Sets `normalize` (default false).
    ///
    /// ```
    /// assert!(ms_utils_encoding::EncodingJob::new(["t"], "r", "j").normalize(true).normalize);
    /// ```
    #[must_use]
    pub fn normalize(mut self, normalize: bool) -> Self {
        self.normalize = normalize;
        self
    }

    /// Sets `content_only` (default true).
    ///
    /// ```
    /// assert!(!ms_utils_encoding::EncodingJob::new(["t"], "r", "j").content_only(false).content_only);
    /// ```
    #[must_use]
    pub fn content_only(mut self, content_only: bool) -> Self {
        self.content_only = content_only;
        self
    }

    /// Sets the deadline for the outcome (default: none).
    ///
    /// ```
    /// use std::time::Duration;
    /// let job = ms_utils_encoding::EncodingJob::new(["t"], "r", "j").timeout(Duration::from_secs(5));
    /// assert_eq!(job.timeout, Some(Duration::from_secs(5)));
    /// ```
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The task payload for this job whose input was uploaded to
    /// `bucket_name`/`object_name`.
    ///
    /// ```
    /// let job = ms_utils_encoding::EncodingJob::new(["t"], "r", "j");
    /// let task = job.task("docs", "encoder/x.json");
    /// assert_eq!(task.params.object_name, "encoder/x.json");
    /// ```
    pub fn task(&self, bucket_name: &str, object_name: &str) -> EncodingTask {
        EncodingTask {
            job_type: "inference".to_owned(),
            job_task: TEXT_TO_EMBEDDINGS.to_owned(),
            content_only: self.content_only,
            params: EncodingParams {
                model: self.model_name.clone(),
                input: Value::Null,
                bucket_name: bucket_name.to_owned(),
                object_name: object_name.to_owned(),
                normalize: self.normalize,
                user_id: self.user_id.clone(),
                original_filename: self.original_filename.clone(),
                collection_name: self.collection_name.clone(),
            },
        }
    }
}

/// The `job_task` of embedding jobs.
///
/// ```
/// let task = ms_utils_encoding::EncodingJob::new(["t"], "r", "j").task("b", "o");
/// assert_eq!(task.job_task, ms_utils_encoding::TEXT_TO_EMBEDDINGS);
/// ```
pub const TEXT_TO_EMBEDDINGS: &str = "text-to-embeddings";

/// The task payload sent to `workers_manager` (the `data` of the
/// `ms-send-task`). Fields serialize in the original dict's order, so the
/// message is byte-for-byte the original's; a worker deserializes it.
///
/// ```
/// use ms_utils_communication::ws::to_python_json;
/// let task = ms_utils_encoding::EncodingJob::new(["t"], "r", "j").task("b", "encoder/x.json");
/// let text = to_python_json(&task).unwrap();
/// assert!(text.starts_with(r#"{"job_type": "inference", "job_task": "text-to-embeddings", "content_only": true, "params": {"model": "BAAI/bge-m3", "input": null"#));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EncodingTask {
    /// Always `inference`.
    pub job_type: String,
    /// [`TEXT_TO_EMBEDDINGS`].
    pub job_task: String,
    /// As given in the job.
    pub content_only: bool,
    /// Where the input is and how to embed it.
    pub params: EncodingParams,
}

/// The `params` of an [`EncodingTask`].
///
/// ```
/// let task = ms_utils_encoding::EncodingJob::new(["t"], "r", "j").task("b", "encoder/x.json");
/// assert_eq!(task.params.bucket_name, "b");
/// assert!(task.params.input.is_null());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EncodingParams {
    /// The model name.
    pub model: String,
    /// Always `null`: the input travels through the bucket.
    #[serde(default)]
    pub input: Value,
    /// The bucket holding the input.
    pub bucket_name: String,
    /// The input object: a JSON array of strings.
    pub object_name: String,
    /// L2-normalise the vectors.
    #[serde(default)]
    pub normalize: bool,
    /// Passed through.
    #[serde(default)]
    pub user_id: Option<String>,
    /// Passed through.
    #[serde(default)]
    pub original_filename: Option<String>,
    /// Passed through.
    #[serde(default)]
    pub collection_name: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use ms_utils_communication::ws::ms_send_task;

    /// Printed by `/work/pyenv/bin/python` (CPython 3.11): `json.dumps` of the
    /// original's `ms-send-task` for these values.
    const PYTHON: &str = r#"{"event": "ms-send-task", "data": {"to": "workers_manager", "workflowId": "ref-1", "referenceId": "ref-1", "jobId": "job-1", "data": {"job_type": "inference", "job_task": "text-to-embeddings", "content_only": true, "params": {"model": "BAAI/bge-m3", "input": null, "bucket_name": "docs", "object_name": "encoder/0b4e2a9c-1c7e-4c1e-9a3f-3f2b1d0e9a77.json", "normalize": false, "user_id": "u-7", "original_filename": "r\u00e9sum\u00e9.pdf", "collection_name": null}}}}"#;

    #[test]
    fn the_task_message_is_the_originals_byte_for_byte() {
        let job = EncodingJob::new(["x"], "ref-1", "job-1")
            .user_id("u-7")
            .original_filename("résumé.pdf");
        let task = job.task("docs", "encoder/0b4e2a9c-1c7e-4c1e-9a3f-3f2b1d0e9a77.json");
        let text = ms_send_task(WORKERS_MANAGER, "ref-1", "job-1", &task).unwrap();
        assert_eq!(text, PYTHON);
    }

    #[test]
    fn a_worker_reads_the_task_back() {
        let v: Value = serde_json::from_str(PYTHON).unwrap();
        let task: EncodingTask = serde_json::from_value(v["data"]["data"].clone()).unwrap();
        assert_eq!(task.params.original_filename.as_deref(), Some("résumé.pdf"));
        assert_eq!(task.job_task, TEXT_TO_EMBEDDINGS);
    }
}
