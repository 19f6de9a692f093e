//! [`RunOptions`]: how a receive loop (or one route of a [`Router`](crate::ws::Router)) runs
//! its handler calls; the [`Strategy`] per key, and the [`FailedCall`] an
//! error hook gets.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::ws::in_flight::TaskSlot;
use crate::ws::protocol::message::Message;
use crate::ws::state::HandlerFailure;

/// What to do with a message whose key already has a handler running.
///
/// ```
/// use ms_utils_communication::ws::Strategy;
/// assert_eq!(Strategy::default(), Strategy::Parallel);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Strategy {
    /// Run it at once, beside the running one (only the concurrency bound applies).
    #[default]
    Parallel,
    /// Run it after the running one (and those queued before it): one at a time
    /// per key, in arrival order.
    Queue,
    /// Cancel the running one and run the new one.
    Replace,
    /// Drop the new one while one runs.
    Ignore,
}

type KeyFn = Arc<dyn Fn(&Message) -> Option<String> + Send + Sync>;
type OnErrorFn = Arc<dyn Fn(FailedCall) + Send + Sync>;

/// A handler call that failed, handed to [`RunOptions::on_error`]: what the
/// message was (its `event`, `jobId`, `referenceId` and sender, read before
/// the call), how the call failed, and whether the library answered the
/// task's sender for it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FailedCall {
    /// The message's `event`.
    pub event: Option<String>,
    /// Its job id ([`Message::job_id`](crate::ws::Message::job_id)).
    pub job_id: Option<String>,
    /// For a task (`ms-task`), its reference id, falling back as
    /// [`Task::reference_id`](crate::ws::Task::reference_id) does.
    pub reference_id: Option<String>,
    /// Its sender ([`Message::sender`](crate::ws::Message::sender)): where an answer goes.
    pub from: Option<String>,
    /// Its key under the loop's [`RunOptions::key`].
    pub key: Option<String>,
    /// What went wrong.
    pub failure: HandlerFailure,
    /// True when the library sent the task's sender the error outcome for
    /// this failure ([`RunOptions::answer_tasks`]); false when the message
    /// is no task, the call had answered before it failed, the answers are
    /// off, or the answer could not be queued (the client closing).
    pub answered: bool,
}

/// Options of [`MicroServiceWs::run_with`](crate::ws::MicroServiceWs::run_with), and of one route of a
/// [`Router`](crate::ws::Router) ([`Router::route_with`](crate::ws::Router::route_with)): there, what they leave unset is the
/// run's, and [`concurrency`](Self::concurrency) bounds that route's calls.
///
/// ```
/// use ms_utils_communication::ws::{RunOptions, Strategy};
/// let opts = RunOptions::new()
///     .strategy(Strategy::Queue)
///     .key(|m| m.job_id().map(str::to_owned))
///     .concurrency(16);
/// # let _ = opts;
/// ```
#[must_use]
#[derive(Clone, Default)]
pub struct RunOptions {
    /// `None`: Parallel, or, for a route, the run's.
    pub(super) strategy: Option<Strategy>,
    pub(super) key: Option<KeyFn>,
    pub(super) concurrency: Option<usize>,
    pub(super) deadline: Option<Duration>,
    pub(super) on_error: Option<OnErrorFn>,
    /// `None`: yes, or, for a route, the run's.
    pub(super) answer_tasks: Option<bool>,
}

impl fmt::Debug for RunOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunOptions")
            .field("strategy", &self.strategy)
            .field("custom_key", &self.key.is_some())
            .field("concurrency", &self.concurrency)
            .field("deadline", &self.deadline)
            .field("on_error", &self.on_error.is_some())
            .field("answer_tasks", &self.answer_tasks)
            .finish()
    }
}

impl RunOptions {
    /// Parallel, keyed by `jobId`, concurrency from the client's config.
    ///
    /// ```
    /// let o = ms_utils_communication::ws::RunOptions::new();
    /// # let _ = o;
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// The per-key strategy (default: [`Strategy::Parallel`]; in a route's
    /// options, the run's).
    ///
    /// ```
    /// # use ms_utils_communication::ws::{RunOptions, Strategy};
    /// let o = RunOptions::new().strategy(Strategy::Replace);
    /// # let _ = o;
    /// ```
    pub fn strategy(mut self, strategy: Strategy) -> Self {
        self.strategy = Some(strategy);
        self
    }

    /// How to key a message (default: its `jobId`). Messages without a key run
    /// in parallel whatever the strategy. The key also names the message in logs.
    ///
    /// ```
    /// # use ms_utils_communication::ws::RunOptions;
    /// let o = RunOptions::new().key(|m| m.event().map(str::to_owned));
    /// # let _ = o;
    /// ```
    pub fn key(mut self, key: impl Fn(&Message) -> Option<String> + Send + Sync + 'static) -> Self {
        self.key = Some(Arc::new(key));
        self
    }

    /// Handlers running at once (overrides the config's `max_concurrency`; at least 1).
    /// In a route's options ([`Router::route_with`](crate::ws::Router::route_with)): that route's calls
    /// running at once, inside the run's bound.
    ///
    /// ```
    /// # use ms_utils_communication::ws::RunOptions;
    /// let o = RunOptions::new().concurrency(4);
    /// # let _ = o;
    /// ```
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = Some(n.max(1));
        self
    }

    /// How long one handler call may run. A call past it is cancelled at
    /// its next await, counted ([`Stats::handler_timeouts`](crate::ws::Stats::handler_timeouts)
    /// and `handler_errors`), logged and reported
    /// ([`Event::HandlerFailed`](crate::ws::Event::HandlerFailed)); its
    /// concurrency slot goes to the next message. A call that computes
    /// without awaiting cannot be cancelled before it awaits: run such work
    /// with `tokio::task::spawn_blocking`. Default: none.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use ms_utils_communication::ws::RunOptions;
    /// let o = RunOptions::new().deadline(Duration::from_secs(30));
    /// # let _ = o;
    /// ```
    pub fn deadline(mut self, limit: Duration) -> Self {
        self.deadline = Some(limit);
        self
    }

    /// Called for every handler call that returns an error, panics, runs
    /// past its [`deadline`](Self::deadline) or gets a payload its typed
    /// route cannot read, with what the message was and whether the library
    /// answered it ([`FailedCall::answered`]): to alert, or count by event.
    /// A failed task needs no answer from here: the library sends its
    /// sender the error outcome itself ([`answer_tasks`](Self::answer_tasks)).
    /// The same failures are also logged, counted and sent as
    /// [`Event::HandlerFailed`](crate::ws::Event::HandlerFailed).
    ///
    /// The hook runs on the handler's task, after the call, and must not
    /// block: to do async work, spawn it (as below). A panic in the hook is
    /// caught and logged at ERROR; the receive loop goes on.
    ///
    /// ```no_run
    /// use ms_utils_communication::ws::{FailedCall, Message, MicroServiceWs, RunOptions};
    /// # fn f(ms: MicroServiceWs) {
    /// let alerts = ms.clone();
    /// let options = RunOptions::new().on_error(move |failed: FailedCall| {
    ///     let ms = alerts.clone();
    ///     tokio::spawn(async move {
    ///         let alert = serde_json::json!({"event": "alert", "data": {
    ///             "job": failed.job_id, "failure": failed.failure.to_string()}});
    ///         let _ = ms.send_task_to_ms("monitoring", "alerts", "alert", alert).await;
    ///     });
    /// });
    /// let _run = ms.run_with(options, |msg: Message| async move { Ok::<(), std::io::Error>(()) });
    /// # }
    /// ```
    pub fn on_error(mut self, hook: impl Fn(FailedCall) + Send + Sync + 'static) -> Self {
        self.on_error = Some(Arc::new(hook));
        self
    }

    /// Whether the library answers the tasks it hands out (default: yes).
    ///
    /// A task (an `ms-task` message with a sender and a job id) whose call
    /// fails is answered with the platform's error outcome, `{"event":
    /// "ms-task-result", "data": {"jobId", "type": "error", "response": null,
    /// "consumption": null, "message"}}`, sent back to its sender under the
    /// task's own `jobId` and `referenceId`, as
    /// [`Task::reply_error`](crate::ws::Task::reply_error) sends it. The
    /// `message` says why: the handler error's `Display`; for a payload its
    /// typed route cannot read, what did not fit; for a panic a fixed text
    /// (the panic itself goes to this service's log only); for a
    /// [`deadline`](Self::deadline) that it passed. A task that never runs
    /// is answered too: one dropped by [`Strategy::Ignore`], one cancelled or
    /// skipped by [`Strategy::Replace`], and those taken but not started, or
    /// arriving, while [`close`](crate::ws::MicroServiceWs::close) lets the
    /// running ones finish.
    ///
    /// One answer per task, never two: a call that answered its task (any
    /// `send_task_to_ms` back to the sender under the task's job id from the
    /// handler's own task, [`Task::reply`](crate::ws::Task::reply) included)
    /// and then fails is not answered again. (A reply sent from a task the
    /// handler spawned is not seen.) A task that is itself an outcome (its
    /// data an `ms-task-result`, the answer to a task of ours) is never
    /// answered: two services would otherwise answer each other's failures
    /// for ever.
    ///
    /// Off (`false`): failed tasks are logged, counted and reported as
    /// before, and answering is the application's.
    ///
    /// ```
    /// # use ms_utils_communication::ws::RunOptions;
    /// // This route forwards its tasks; the service it forwards to answers.
    /// let o = RunOptions::new().answer_tasks(false);
    /// # let _ = o;
    /// ```
    pub fn answer_tasks(mut self, answer: bool) -> Self {
        self.answer_tasks = Some(answer);
        self
    }

    /// A route's options ([`Router::route_with`](crate::ws::Router::route_with)) over the run's: what the
    /// route leaves unset is the run's; `concurrency` is the route's own
    /// bound (kept apart by the loop), never the run's.
    pub(super) fn layered_over(&self, run: &RunOptions) -> RunOptions {
        RunOptions {
            strategy: self.strategy.or(run.strategy),
            key: self.key.clone().or_else(|| run.key.clone()),
            concurrency: self.concurrency,
            deadline: self.deadline.or(run.deadline),
            on_error: self.on_error.clone().or_else(|| run.on_error.clone()),
            answer_tasks: self.answer_tasks.or(run.answer_tasks),
        }
    }

    /// The slot of `msg` when it is a task these options answer.
    pub(super) fn task_of(&self, msg: &Message) -> Option<Arc<TaskSlot>> {
        if self.answer_tasks == Some(false) {
            return None;
        }
        TaskSlot::of(msg)
    }

    pub(super) fn key_of(&self, msg: &Message) -> Option<String> {
        match &self.key {
            Some(f) => f(msg),
            None => msg.job_id().map(str::to_owned),
        }
    }
}
