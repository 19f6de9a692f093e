//! The one error type of the embedding-job helpers and codecs.

use std::time::Duration;

use ms_utils_communication::{s3, ws};

/// Everything [`send_encoding_job`](crate::send_encoding_job),
/// [`download_data`](crate::download_data) and the codecs can fail with.
///
/// Match on the predicates ([`is_timeout`](Error::is_timeout),
/// [`is_job_failed`](Error::is_job_failed), ...) rather than on message text;
/// the gateway, S3 or JSON error that caused it is kept as
/// [`std::error::Error::source`].
///
/// ```
/// use ms_utils_encoding::Error;
///
/// fn should_retry(err: &Error) -> bool {
///     // A worker that said no will say no again; a lost answer may not be lost twice.
///     err.is_timeout() || err.is_upload_failed()
/// }
/// # let _ = should_retry;
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The texts could not be uploaded to the bucket; no task was sent.
    #[error("uploading the input `{object}` to bucket `{bucket}` failed")]
    Upload {
        /// The bucket.
        bucket: String,
        /// The object name, `encoder/<uuid4>.json`.
        object: String,
        /// The S3 error.
        #[source]
        source: Box<s3::Error>,
    },
    /// The task could not be handed to the gateway client (closed, too large, ...).
    #[error("sending the encoding task for job `{job_id}` failed")]
    Send {
        /// The job id.
        job_id: String,
        /// The gateway client's error.
        #[source]
        source: Box<ws::Error>,
    },
    /// The worker answered that the job failed.
    #[error("encoding job `{job_id}` failed: {message}")]
    JobFailed {
        /// The job id.
        job_id: String,
        /// The worker's message (empty when it gave none).
        message: String,
    },
    /// No outcome arrived before the deadline.
    #[error("encoding job `{job_id}` timed out after {after:?}")]
    TimedOut {
        /// The job id.
        job_id: String,
        /// The deadline that passed.
        after: Duration,
    },
    /// The gateway client was closed while the job was waiting for its outcome.
    #[error("the gateway client closed while job `{job_id}` was waiting")]
    Closed {
        /// The job id.
        job_id: String,
    },
    /// A job with this id is already waiting on this tracker.
    #[error("a job with id `{job_id}` is already waiting")]
    DuplicateJob {
        /// The job id.
        job_id: String,
    },
    /// The result object the worker named is not in the bucket (or the worker
    /// answered `ok` without naming one).
    #[error("result `{object}` of bucket `{bucket}` is missing")]
    ResultMissing {
        /// The bucket.
        bucket: String,
        /// The object name the worker gave (empty when it gave none).
        object: String,
        /// The S3 error, when the object was asked for.
        #[source]
        source: Option<Box<s3::Error>>,
    },
    /// The result (or downloaded) object is not the JSON that was expected. The
    /// object is left in the bucket so that it can be looked at.
    #[error("object `{object}` of bucket `{bucket}` is malformed: {reason}")]
    Malformed {
        /// The bucket.
        bucket: String,
        /// The object name.
        object: String,
        /// What is wrong, for humans.
        reason: String,
        /// The JSON error, when parsing failed.
        #[source]
        source: Option<serde_json::Error>,
    },
    /// The worker's answer did not have the expected shape.
    #[error("the answer to job `{job_id}` is invalid: {reason}")]
    InvalidAnswer {
        /// The job id.
        job_id: String,
        /// What is wrong.
        reason: String,
    },
    /// Any other S3 failure (downloading or reading an object).
    #[error("S3 {operation} of `{object}` in bucket `{bucket}` failed")]
    Storage {
        /// What was being done: `download`, `delete`.
        operation: &'static str,
        /// The bucket.
        bucket: String,
        /// The object name.
        object: String,
        /// The S3 error.
        #[source]
        source: Box<s3::Error>,
    },
    /// The texts could not be serialized to JSON.
    #[error("the input could not be serialized to JSON")]
    Serialize(#[source] Box<ws::Error>),
    /// Decoded bytes are not the JSON that was expected.
    #[error("not the JSON expected")]
    Json(#[source] serde_json::Error),
    /// A string given to a base64 decoder is not base64.
    #[error("not valid base64")]
    Base64(#[source] base64::DecodeError),
}

impl Error {
    /// True when no outcome came before the deadline ([`Error::TimedOut`]).
    ///
    /// ```
    /// let e = ms_utils_encoding::Error::TimedOut { job_id: "j".into(), after: std::time::Duration::from_secs(1) };
    /// assert!(e.is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::TimedOut { .. })
    }

    /// True when the worker answered that the job failed ([`Error::JobFailed`]).
    ///
    /// ```
    /// let e = ms_utils_encoding::Error::JobFailed { job_id: "j".into(), message: "oom".into() };
    /// assert!(e.is_job_failed());
    /// assert_eq!(e.worker_message(), Some("oom"));
    /// ```
    pub fn is_job_failed(&self) -> bool {
        matches!(self, Error::JobFailed { .. })
    }

    /// The worker's message of an [`Error::JobFailed`].
    ///
    /// ```
    /// let e = ms_utils_encoding::Error::Closed { job_id: "j".into() };
    /// assert_eq!(e.worker_message(), None);
    /// ```
    pub fn worker_message(&self) -> Option<&str> {
        match self {
            Error::JobFailed { message, .. } => Some(message),
            _ => None,
        }
    }

    /// True when the input upload failed ([`Error::Upload`]).
    ///
    /// ```
    /// let e = ms_utils_encoding::Error::Closed { job_id: "j".into() };
    /// assert!(!e.is_upload_failed());
    /// ```
    pub fn is_upload_failed(&self) -> bool {
        matches!(self, Error::Upload { .. })
    }

    /// True when the result file is missing ([`Error::ResultMissing`]).
    ///
    /// ```
    /// let e = ms_utils_encoding::Error::ResultMissing { bucket: "b".into(), object: "o".into(), source: None };
    /// assert!(e.is_result_missing());
    /// ```
    pub fn is_result_missing(&self) -> bool {
        matches!(self, Error::ResultMissing { .. })
    }

    /// True when an object, an answer or decoded bytes did not have the
    /// expected shape ([`Error::Malformed`], [`Error::InvalidAnswer`],
    /// [`Error::Json`]).
    ///
    /// ```
    /// let e = ms_utils_encoding::Error::InvalidAnswer { job_id: "j".into(), reason: "no type".into() };
    /// assert!(e.is_malformed());
    /// ```
    pub fn is_malformed(&self) -> bool {
        matches!(
            self,
            Error::Malformed { .. } | Error::InvalidAnswer { .. } | Error::Json(_)
        )
    }

    /// True when the gateway client closed meanwhile ([`Error::Closed`]).
    ///
    /// ```
    /// let e = ms_utils_encoding::Error::Closed { job_id: "j".into() };
    /// assert!(e.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self, Error::Closed { .. })
    }
}
