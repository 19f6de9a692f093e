//! The one error type of the embedding-job helpers and codecs.
//!
//! How causes are reported (one rule for `ws::Error`, `s3::Error`,
//! `ms_utils_encoding::Error` and `ms_utils_logging::Error`): `Display` is the
//! whole message on one line, what failed, where (job id, bucket, object) and
//! why, the message of the gateway, S3, JSON or base64 error that caused it
//! included, and `source()` returns nothing. So `{e}`, a `%e` log field and a
//! reporter that walks `source()` all print each cause exactly once. The
//! causing error stays available, typed, in the variant's `source` field.

use std::fmt;
use std::time::Duration;

use ms_utils_communication::{s3, ws};

/// Everything [`send_encoding_job`](crate::send_encoding_job),
/// [`download_data`](crate::download_data) and the codecs can fail with.
///
/// Match on the predicates ([`is_timeout`](Error::is_timeout),
/// [`is_job_failed`](Error::is_job_failed), ...) rather than on message text;
/// the gateway, S3 or JSON error that caused it is kept in the variant's
/// `source` field (its message ends this error's message).
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
#[non_exhaustive]
pub enum Error {
    /// The texts could not be uploaded to the bucket; no task was sent.
    Upload {
        /// The bucket.
        bucket: String,
        /// The object name, `encoder/<uuid4>.json`.
        object: String,
        /// The S3 error (its message ends this error's).
        source: Box<s3::Error>,
    },
    /// The task could not be sent: the gateway client refused it (too
    /// large, ...), or the gateway could not route it (an `ms-error`, e.g. no
    /// `workers_manager` connected).
    Send {
        /// The job id.
        job_id: String,
        /// The gateway client's error (its message ends this error's).
        source: Box<ws::Error>,
    },
    /// The worker answered that the job failed (an `error` outcome, or one
    /// of a type the client does not know).
    JobFailed {
        /// The job id.
        job_id: String,
        /// The worker's message (empty when it gave none).
        message: String,
    },
    /// No outcome arrived before the deadline.
    TimedOut {
        /// The job id.
        job_id: String,
        /// The deadline that passed.
        after: Duration,
    },
    /// The gateway client was closed before the job's outcome came.
    Closed {
        /// The job id.
        job_id: String,
    },
    /// A job (or another call) with this id is already waiting for its
    /// answer on this gateway client; the task was not sent.
    DuplicateJob {
        /// The job id.
        job_id: String,
    },
    /// The result object the worker named is not in the bucket (or the worker
    /// answered `ok` without naming one).
    ResultMissing {
        /// The bucket.
        bucket: String,
        /// The object name the worker gave (empty when it gave none).
        object: String,
        /// The S3 error, when the object was asked for (its message ends
        /// this error's).
        source: Option<Box<s3::Error>>,
    },
    /// The result (or downloaded) object is not the JSON that was expected. The
    /// object is left in the bucket so that it can be looked at.
    Malformed {
        /// The bucket.
        bucket: String,
        /// The object name.
        object: String,
        /// What is wrong, for humans (with the JSON error's message when
        /// parsing failed).
        reason: String,
        /// The JSON error, when parsing failed.
        source: Option<serde_json::Error>,
    },
    /// The answer under the job's id is not an `ok` outcome naming a result
    /// object (a plain answer, or `ok` without a `response`).
    InvalidAnswer {
        /// The job id.
        job_id: String,
        /// What is wrong.
        reason: String,
    },
    /// Any other S3 failure (downloading or reading an object).
    Storage {
        /// What was being done: `download`, `delete`.
        operation: &'static str,
        /// The bucket.
        bucket: String,
        /// The object name.
        object: String,
        /// The S3 error (its message ends this error's).
        source: Box<s3::Error>,
    },
    /// The texts could not be serialized to JSON.
    Serialize(Box<ws::Error>),
    /// Decoded bytes are not the JSON that was expected.
    Json(serde_json::Error),
    /// A string given to a base64 decoder is not base64 (the decoder's
    /// error, boxed: its type is not part of this API).
    Base64(Box<dyn std::error::Error + Send + Sync>),
}

/// `Debug` is the one line of `Display` (what failed, where, and why, the
/// cause included), so that a `main` returning this error prints a
/// readable line instead of a dump of internal types.
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // The S3 error names the operation, the bucket, the object and the
            // endpoint: said once, there.
            Error::Upload { source, .. } => {
                write!(f, "uploading the encoding job's input failed: {source}")
            }
            Error::Send { job_id, source } => {
                write!(
                    f,
                    "sending the encoding task for job `{job_id}` failed: {source}"
                )
            }
            Error::JobFailed { job_id, message } => {
                write!(f, "encoding job `{job_id}` failed: {message}")
            }
            Error::TimedOut { job_id, after } => {
                write!(f, "encoding job `{job_id}` timed out after {after:?}")
            }
            Error::Closed { job_id } => {
                write!(
                    f,
                    "the gateway client closed while job `{job_id}` was waiting"
                )
            }
            Error::DuplicateJob { job_id } => {
                write!(f, "a job with id `{job_id}` is already waiting")
            }
            Error::ResultMissing {
                source: Some(source),
                ..
            } => write!(f, "the encoding job's result is missing: {source}"),
            Error::ResultMissing {
                bucket,
                object,
                source: None,
            } if object.is_empty() => {
                write!(f, "the worker named no result object (bucket `{bucket}`)")
            }
            Error::ResultMissing {
                bucket,
                object,
                source: None,
            } => write!(f, "result `{object}` of bucket `{bucket}` is missing"),
            Error::Malformed {
                bucket,
                object,
                reason,
                ..
            } => write!(
                f,
                "object `{object}` of bucket `{bucket}` is malformed: {reason}"
            ),
            Error::InvalidAnswer { job_id, reason } => {
                write!(f, "the answer to job `{job_id}` is invalid: {reason}")
            }
            Error::Storage {
                operation, source, ..
            } => write!(f, "S3 {operation} failed: {source}"),
            Error::Serialize(source) => write!(f, "serializing the input failed: {source}"),
            Error::Json(source) => write!(f, "not the JSON expected: {source}"),
            Error::Base64(source) => write!(f, "not valid base64: {source}"),
        }
    }
}

/// No `source()`: see the module comment.
impl std::error::Error for Error {}

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

#[cfg(test)]
mod tests {
    use super::*;

    /// The cause is in the message once, and `source()` does not return it again.
    #[test]
    fn the_cause_is_reported_once() {
        let json = serde_json::from_str::<Vec<u8>>("{").unwrap_err();
        let root = json.to_string();
        let err = Error::Json(json);
        assert_eq!(err.to_string().matches(&root).count(), 1, "{err}");
        assert!(std::error::Error::source(&err).is_none());

        let send = Error::Send {
            job_id: "j".into(),
            source: Box::new(ws::Error::Closed),
        };
        let root = ws::Error::Closed.to_string();
        assert_eq!(send.to_string().matches(&root).count(), 1, "{send}");
        assert!(std::error::Error::source(&send).is_none());
    }
}
