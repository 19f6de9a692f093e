//! The correlation table between jobs sent and their outcomes: the Python
//! original's `active_task` dict, as a type that many jobs can share.
//!
//! The original had the application's message handler write
//! `{"type": "ok", "response": ..., "consumption": ...}` into one dict that
//! `send_encoding_job` polled once a second, so only one job could be in
//! flight and a reply for another job overwrote it. Here each waiting job has
//! its own slot keyed by `jobId`, completed at once (no polling) either by the
//! default matcher ([`TaskTracker::offer`], for `ms-task-result` replies) or
//! by the application ([`TaskTracker::complete`]).

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use ms_utils_communication::ws::{Handler, HandlerError, Message};
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::error::Error;

/// The event name of a job's result message.
///
/// ```
/// let m = ms_utils_encoding::JobOutcome::error("x").to_message("j");
/// assert_eq!(m["event"], ms_utils_encoding::TASK_RESULT_EVENT);
/// ```
pub const TASK_RESULT_EVENT: &str = "ms-task-result";

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

/// The default matcher: the `(jobId, outcome)` of an `ms-task-result` message,
/// whether it arrives as is (`{"event": "ms-task-result", "data": {...}}`) or
/// as the payload of a task routed by the gateway (`{"event": "ms-task",
/// "data": {"jobId", "data": {"event": "ms-task-result", ...}}}`, which is how
/// a worker's `send_task_to_ms` reply arrives). `None` for any other message
/// and for a `"running"` status.
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

type Slots = HashMap<String, oneshot::Sender<JobOutcome>>;

/// The correlation table of jobs waiting for their outcome, keyed by `jobId`.
/// Cheap to clone; every clone is the same table. Share one between the code
/// that sends jobs and the message handler.
///
/// Wire it into the receive loop with [`handler`](Self::handler) (the default
/// matcher, then your handler for everything else), or call
/// [`offer`](Self::offer) / [`complete`](Self::complete) from your own handler
/// when your workers answer in another shape.
///
/// ```no_run
/// use ms_utils_communication::ws::{Message, MicroServiceWs};
/// use ms_utils_encoding::{JobOutcome, TaskTracker};
///
/// # fn f(ms: MicroServiceWs) {
/// let tracker = TaskTracker::new();
/// let app = tracker.clone();
/// let run = ms.run(move |msg: Message| {
///     let tracker = app.clone();
///     async move {
///         // The original's pattern: the application fills in the outcome.
///         if msg.event() == Some("encoder-done") {
///             let job = msg.job_id().unwrap_or_default().to_owned();
///             tracker.complete(&job, JobOutcome::ok("encoder/out.json", serde_json::Value::Null));
///         }
///         Ok::<(), std::io::Error>(())
///     }
/// });
/// # drop(run); }
/// ```
#[derive(Clone, Default)]
pub struct TaskTracker {
    slots: Arc<Mutex<Slots>>,
}

impl fmt::Debug for TaskTracker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskTracker")
            .field("waiting", &self.waiting())
            .finish()
    }
}

/// A job's slot in the tracker; leaves the table when dropped, so a job that
/// ends in any way (outcome, deadline, cancellation) leaves nothing behind.
pub(crate) struct Waiter {
    tracker: TaskTracker,
    job_id: String,
    pub(crate) rx: oneshot::Receiver<JobOutcome>,
}

impl Drop for Waiter {
    fn drop(&mut self) {
        self.tracker.lock().remove(&self.job_id);
    }
}

impl TaskTracker {
    /// An empty table.
    ///
    /// ```
    /// let t = ms_utils_encoding::TaskTracker::new();
    /// assert_eq!(t.waiting(), 0);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slots> {
        // A panic while holding this lock cannot leave the map half-updated.
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reserve the slot of `job_id` (before the task is sent, so that no
    /// answer can come before it).
    pub(crate) fn register(&self, job_id: &str) -> Result<Waiter, Error> {
        let (tx, rx) = oneshot::channel();
        let mut slots = self.lock();
        if slots.get(job_id).is_some_and(|s| !s.is_closed()) {
            return Err(Error::DuplicateJob {
                job_id: job_id.to_owned(),
            });
        }
        slots.insert(job_id.to_owned(), tx);
        drop(slots);
        Ok(Waiter {
            tracker: self.clone(),
            job_id: job_id.to_owned(),
            rx,
        })
    }

    /// Deliver `outcome` to the job waiting for `job_id`. Returns false when no
    /// job of that id is waiting (unknown, already completed, or given up).
    ///
    /// ```
    /// use ms_utils_encoding::{JobOutcome, TaskTracker};
    /// let t = TaskTracker::new();
    /// assert!(!t.complete("nobody-waits", JobOutcome::error("late")));
    /// ```
    pub fn complete(&self, job_id: &str, outcome: JobOutcome) -> bool {
        let Some(tx) = self.lock().remove(job_id) else {
            return false;
        };
        tx.send(outcome).is_ok()
    }

    /// The default matcher: when `msg` is the result of a waiting job (see
    /// [`parse_task_result`]), complete it and return true (the message is
    /// consumed); otherwise false, and the message is yours to handle.
    ///
    /// ```
    /// use ms_utils_communication::ws::Message;
    /// let t = ms_utils_encoding::TaskTracker::new();
    /// assert!(!t.offer(&Message::json(serde_json::json!({"event": "ms-task"}))));
    /// ```
    pub fn offer(&self, msg: &Message) -> bool {
        match parse_task_result(msg) {
            Some((job_id, outcome)) => {
                let delivered = self.complete(&job_id, outcome);
                if !delivered {
                    tracing::debug!(%job_id, "task result for a job nobody waits for");
                }
                delivered
            }
            None => false,
        }
    }

    /// True while a job with this id waits for its outcome.
    ///
    /// ```
    /// assert!(!ms_utils_encoding::TaskTracker::new().is_waiting("j1"));
    /// ```
    pub fn is_waiting(&self, job_id: &str) -> bool {
        self.lock().get(job_id).is_some_and(|s| !s.is_closed())
    }

    /// How many jobs wait for their outcome.
    ///
    /// ```
    /// assert_eq!(ms_utils_encoding::TaskTracker::new().waiting(), 0);
    /// ```
    pub fn waiting(&self) -> usize {
        self.lock().values().filter(|s| !s.is_closed()).count()
    }

    /// A [`Handler`] for [`MicroServiceWs::run`](ms_utils_communication::ws::MicroServiceWs::run)
    /// that completes waiting jobs from their result messages (the default
    /// matcher) and passes every other message to `inner`.
    ///
    /// ```no_run
    /// use ms_utils_communication::ws::{Message, MicroServiceWs};
    /// # fn f(ms: MicroServiceWs) {
    /// let tracker = ms_utils_encoding::TaskTracker::new();
    /// let run = ms.run(tracker.handler(|msg: Message| async move {
    ///     println!("not a job result: {:?}", msg.event());
    ///     Ok::<(), std::io::Error>(())
    /// }));
    /// # drop(run); }
    /// ```
    pub fn handler<H: Handler>(&self, inner: H) -> TrackingHandler<H> {
        TrackingHandler {
            tracker: self.clone(),
            inner,
        }
    }
}

/// The handler made by [`TaskTracker::handler`].
///
/// ```no_run
/// use ms_utils_communication::ws::Message;
/// let t = ms_utils_encoding::TaskTracker::new();
/// let h: ms_utils_encoding::TrackingHandler<_> =
///     t.handler(|_m: Message| async { Ok::<(), std::io::Error>(()) });
/// # let _ = h;
/// ```
pub struct TrackingHandler<H> {
    tracker: TaskTracker,
    inner: H,
}

impl<H> fmt::Debug for TrackingHandler<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrackingHandler")
            .field("tracker", &self.tracker)
            .finish_non_exhaustive()
    }
}

impl<H: Handler> Handler for TrackingHandler<H> {
    type Future = TrackedFuture<H::Future>;

    fn call(&self, msg: Message) -> Self::Future {
        if self.tracker.offer(&msg) {
            TrackedFuture(None)
        } else {
            TrackedFuture(Some(Box::pin(self.inner.call(msg))))
        }
    }

    fn call_with(
        &self,
        msg: Message,
        cx: &ms_utils_communication::ws::CallContext,
    ) -> Self::Future {
        if self.tracker.offer(&msg) {
            TrackedFuture(None)
        } else {
            TrackedFuture(Some(Box::pin(self.inner.call_with(msg, cx))))
        }
    }

    /// The wrapped handler's routes, so that a [`Router`](ms_utils_communication::ws::Router)
    /// passed through [`TaskTracker::handler`] keeps its routes' options.
    fn as_router(&self) -> Option<&ms_utils_communication::ws::RouteTable> {
        self.inner.as_router()
    }
}

/// The future of one [`TrackingHandler`] call: done at once for a job result,
/// else the inner handler's future.
///
/// ```no_run
/// // Produced by TrackingHandler; not built by hand.
/// fn _is_future<F: std::future::Future>(_: F) {}
/// ```
pub struct TrackedFuture<F>(Option<Pin<Box<F>>>);

impl<F> fmt::Debug for TrackedFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TrackedFuture")
            .field(&self.0.is_some())
            .finish()
    }
}

impl<F: Future<Output = Result<(), HandlerError>>> Future for TrackedFuture<F> {
    type Output = Result<(), HandlerError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.0.as_mut() {
            None => Poll::Ready(Ok(())),
            Some(f) => f.as_mut().poll(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn complete_reaches_the_registered_job_only() {
        let t = TaskTracker::new();
        let a = t.register("a").unwrap();
        let mut b = t.register("b").unwrap();
        assert_eq!(t.waiting(), 2);
        assert!(t.complete("b", JobOutcome::error("x")));
        assert!(!t.complete("b", JobOutcome::error("again")));
        assert_eq!((&mut b.rx).await.unwrap(), JobOutcome::error("x"));
        assert!(t.is_waiting("a"));
        drop(a);
        assert_eq!(t.waiting(), 0);
    }

    #[test]
    fn a_second_registration_of_a_waiting_id_is_refused() {
        let t = TaskTracker::new();
        let _a = t.register("a").unwrap();
        assert!(matches!(t.register("a"), Err(Error::DuplicateJob { .. })));
    }

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

    #[tokio::test]
    async fn the_tracking_handler_consumes_results_of_waiting_jobs_only() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let t = TaskTracker::new();
        let seen = Arc::new(AtomicUsize::new(0));
        let counter = seen.clone();
        let h = t.handler(move |_m: Message| {
            counter.fetch_add(1, Ordering::SeqCst);
            std::future::ready(Ok::<(), std::io::Error>(()))
        });
        let mut w = t.register("j1").unwrap();
        h.call(Message::json(JobOutcome::error("e").to_message("j1")))
            .await
            .unwrap();
        assert_eq!(
            seen.load(Ordering::SeqCst),
            0,
            "a waited-for result is consumed"
        );
        assert_eq!((&mut w.rx).await.unwrap(), JobOutcome::error("e"));
        // A result nobody waits for, and any other message, reach the application.
        h.call(Message::json(JobOutcome::error("e").to_message("j2")))
            .await
            .unwrap();
        h.call(Message::json(json!({"event": "ms-task", "data": {}})))
            .await
            .unwrap();
        assert_eq!(seen.load(Ordering::SeqCst), 2);
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
