//! How an embedding job ended, as a worker reports it: the `ms-task-result`
//! outcome ([protocol: embedding jobs](ms_utils_communication::protocol#embedding-jobs)),
//! read ([`parse_task_result`], [`JobOutcome::from_fields`]) and written
//! ([`JobOutcome::to_message`], what a worker sends back).
//!
//! The outcome's event name is the gateway client's
//! ([`TASK_RESULT_EVENT`](ms_utils_communication::ws::TASK_RESULT_EVENT)); the
//! waiting for it is the client's too (`MicroServiceWs::call`), so there is
//! one reply table per client.

use ms_utils_communication::ws::{Message, TASK_RESULT_EVENT};
use serde_json::{Value, json};

/// How a job ended, as the worker reported it.
///
/// ```
/// use ms_utils_encoding::JobOutcome;
/// let ok = JobOutcome::ok("encoder/result.json", serde_json::json!({"tokens": 12}));
/// assert!(ok.is_ok());
/// assert!(!JobOutcome::error("model not loaded").is_ok());
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum JobOutcome {
    /// Done: `response` names the result object in the bucket.
    Ok {
        /// The object name of the result file.
        response: String,
        /// What the job consumed, as the worker reports it (any JSON).
        consumption: Value,
    },
    /// The worker reports a failure.
    Error {
        /// The worker's message.
        message: String,
    },
    /// A reply for this job arrived but could not be understood (e.g. an
    /// unknown `type`, or `ok` without a `response`).
    Invalid {
        /// What is wrong with it.
        reason: String,
    },
}

impl JobOutcome {
    /// A successful outcome.
    ///
    /// ```
    /// let o = ms_utils_encoding::JobOutcome::ok("encoder/r.json", serde_json::Value::Null);
    /// # let _ = o;
    /// ```
    pub fn ok(response: impl Into<String>, consumption: Value) -> Self {
        JobOutcome::Ok {
            response: response.into(),
            consumption,
        }
    }

    /// A failed outcome.
    ///
    /// ```
    /// let o = ms_utils_encoding::JobOutcome::error("out of memory");
    /// # let _ = o;
    /// ```
    pub fn error(message: impl Into<String>) -> Self {
        JobOutcome::Error {
            message: message.into(),
        }
    }

    /// True for [`JobOutcome::Ok`].
    ///
    /// ```
    /// assert!(ms_utils_encoding::JobOutcome::ok("r", serde_json::Value::Null).is_ok());
    /// ```
    pub fn is_ok(&self) -> bool {
        matches!(self, JobOutcome::Ok { .. })
    }

    /// Read the original's dict shape, `{"type": "ok"|"error", "response",
    /// "consumption", "message"}` (the `data` of an `ms-task-result`).
    /// `None` for `"type": "running"` (not an outcome yet).
    ///
    /// ```
    /// use ms_utils_encoding::JobOutcome;
    /// use serde_json::json;
    /// let o = JobOutcome::from_fields(&json!({"type": "ok", "response": "r.json", "consumption": 3}));
    /// assert_eq!(o, Some(JobOutcome::ok("r.json", json!(3))));
    /// assert_eq!(JobOutcome::from_fields(&json!({"type": "running"})), None);
    /// ```
    pub fn from_fields(data: &Value) -> Option<Self> {
        let kind = data.get("type").and_then(Value::as_str);
        Some(match kind {
            Some("running") => return None,
            Some("ok") => match data.get("response").and_then(Value::as_str) {
                Some(r) if !r.is_empty() => {
                    JobOutcome::ok(r, data.get("consumption").cloned().unwrap_or(Value::Null))
                }
                _ => JobOutcome::Invalid {
                    reason: "`ok` without a `response` object name".into(),
                },
            },
            Some("error") => JobOutcome::error(
                data.get("message")
                    .or_else(|| data.get("response"))
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
            ),
            Some(other) => JobOutcome::Invalid {
                reason: format!("unknown result type {other:?}"),
            },
            None => JobOutcome::Invalid {
                reason: "no result `type`".into(),
            },
        })
    }

    /// The `ms-task-result` message that reports this outcome for `job_id`
    /// (what a worker sends back; see [`parse_task_result`]).
    ///
    /// ```
    /// use ms_utils_encoding::JobOutcome;
    /// use serde_json::json;
    /// let m = JobOutcome::error("boom").to_message("job-1");
    /// assert_eq!(m, json!({"event": "ms-task-result", "data": {
    ///     "jobId": "job-1", "type": "error", "response": null, "consumption": null, "message": "boom"}}));
    /// ```
    pub fn to_message(&self, job_id: &str) -> Value {
        let (kind, response, consumption, message) = match self {
            JobOutcome::Ok {
                response,
                consumption,
            } => ("ok", json!(response), consumption.clone(), Value::Null),
            JobOutcome::Error { message } => ("error", Value::Null, Value::Null, json!(message)),
            JobOutcome::Invalid { reason } => ("error", Value::Null, Value::Null, json!(reason)),
        };
        json!({"event": TASK_RESULT_EVENT, "data": {
            "jobId": job_id,
            "type": kind,
            "response": response,
            "consumption": consumption,
            "message": message,
        }})
    }
}

/// The `(jobId, outcome)` of an `ms-task-result` message, whether it arrives
/// as is (`{"event": "ms-task-result", "data": {...}}`) or as the payload of
/// a task routed by the gateway (`{"event": "ms-task", "data": {"jobId",
/// "data": {"event": "ms-task-result", ...}}}`, which is how a worker's
/// `send_task_to_ms` reply arrives). `None` for any other message
/// and for a `"running"` status. The job is the outcome's own `jobId`, or
/// the task's when the outcome has none.
///
/// [`send_encoding_job`](crate::send_encoding_job) reads its answer with it;
/// use it to read an outcome that reached your handler (a late one, or one
/// for a task sent with `send_task_to_ms`).
///
/// ```
/// use ms_utils_communication::ws::Message;
/// use ms_utils_encoding::{JobOutcome, parse_task_result};
/// use serde_json::json;
///
/// let direct = Message::json(JobOutcome::error("no GPU").to_message("j1"));
/// assert_eq!(parse_task_result(&direct), Some(("j1".into(), JobOutcome::error("no GPU"))));
///
/// let routed = Message::json(json!({"event": "ms-task", "data": {
///     "from": "workers_manager", "jobId": "j2",
///     "data": JobOutcome::ok("r.json", json!(7)).to_message("j2")}}));
/// assert_eq!(parse_task_result(&routed).unwrap().0, "j2");
///
/// assert_eq!(parse_task_result(&Message::json(json!({"event": "ms-task", "data": {}}))), None);
/// ```
pub fn parse_task_result(msg: &Message) -> Option<(String, JobOutcome)> {
    let value = msg.as_json()?;
    let (result, envelope_job) = match value.get("event").and_then(Value::as_str)? {
        TASK_RESULT_EVENT => (value, None),
        "ms-task" => {
            let data = value.get("data")?;
            let inner = data.get("data")?;
            if inner.get("event").and_then(Value::as_str) != Some(TASK_RESULT_EVENT) {
                return None;
            }
            (inner, data.get("jobId").and_then(Value::as_str))
        }
        _ => return None,
    };
    let data = result.get("data")?;
    let job_id = data
        .get("jobId")
        .and_then(Value::as_str)
        .or(envelope_job)?
        .to_owned();
    Some((job_id, JobOutcome::from_fields(data)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_shapes_of_the_original_dict() {
        let bad = JobOutcome::from_fields(&json!({"type": "ok"})).unwrap();
        assert!(matches!(bad, JobOutcome::Invalid { .. }));
        let odd = JobOutcome::from_fields(&json!({"type": "done"})).unwrap();
        assert!(matches!(odd, JobOutcome::Invalid { .. }));
        assert_eq!(
            JobOutcome::from_fields(&json!({"type": "error", "response": "gpu lost"})),
            Some(JobOutcome::error("gpu lost"))
        );
    }

    #[test]
    fn to_message_and_parse_are_inverse() {
        for o in [
            JobOutcome::ok("encoder/x.json", json!({"tokens": 5})),
            JobOutcome::error("nope"),
        ] {
            let m = Message::json(o.to_message("j"));
            assert_eq!(parse_task_result(&m), Some(("j".to_owned(), o)));
        }
    }
}
