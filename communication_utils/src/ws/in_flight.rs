//! Handler calls in flight: how many run now, a wait for the count to fall,
//! which client's handler the current task is running (so that `close()`
//! called from inside a handler does not wait for itself), and, when the
//! call handles a task, whether it has answered it (so that the receive
//! loop answers a failed task once, never twice).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use serde_json::Value;
use tokio::sync::Notify;

use crate::ws::protocol::message::{Message, field};
use crate::ws::protocol::outcome::carries_outcome;

tokio::task_local! {
    /// Set while a handler call runs.
    static HANDLING: Handling;
}

/// What the current handler call runs for.
struct Handling {
    /// The id of the client it handles for.
    client: usize,
    /// The task it handles, if the message is one.
    task: Option<Arc<TaskSlot>>,
}

/// Counts handler calls in flight.
#[derive(Debug, Default)]
pub(crate) struct InFlight {
    calls: AtomicUsize,
    /// Someone waits in `at_most`: only then does a call's end notify (a
    /// notification takes a lock, and every message ends a call).
    watched: AtomicBool,
    fell: Notify,
}

/// One call in flight; ends it when dropped (also on panic or cancel).
pub(crate) struct CallGuard<'a>(&'a InFlight);

impl Drop for CallGuard<'_> {
    fn drop(&mut self) {
        self.0.calls.fetch_sub(1, Ordering::SeqCst);
        if self.0.watched.load(Ordering::SeqCst) {
            self.0.fell.notify_waiters();
        }
    }
}

impl InFlight {
    pub(crate) fn enter(&self) -> CallGuard<'_> {
        self.calls.fetch_add(1, Ordering::AcqRel);
        CallGuard(self)
    }

    /// How many calls are in flight now.
    pub(crate) fn count(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// Resolves once at most `n` calls are in flight.
    pub(crate) async fn at_most(&self, n: usize) {
        // Set before the count is read (both sequentially consistent, as is
        // the decrement and its read of the flag): a call ending after the
        // read sees the flag and notifies.
        self.watched.store(true, Ordering::SeqCst);
        loop {
            let fell = self.fell.notified();
            tokio::pin!(fell);
            fell.as_mut().enable();
            if self.calls.load(Ordering::SeqCst) <= n {
                return;
            }
            fell.await;
        }
    }
}

/// Runs `call` as a handler of client `client`, handling `task` if given.
pub(crate) async fn as_handler_of<F: Future>(
    client: usize,
    task: Option<Arc<TaskSlot>>,
    call: F,
) -> F::Output {
    HANDLING.scope(Handling { client, task }, call).await
}

/// True when the current task is running a handler of client `client`.
pub(crate) fn is_handler_of(client: usize) -> bool {
    HANDLING.try_with(|h| h.client == client).unwrap_or(false)
}

/// A task sent by `client` to `to` under `job_id` is the answer of the task
/// the current handler call handles when it goes back to its sender under
/// its job id: the call has answered (a no-op anywhere else).
pub(crate) fn note_sent(client: usize, to: &str, job_id: &str) {
    let _ = HANDLING.try_with(|h| {
        if h.client == client
            && let Some(task) = &h.task
            && task.from == to
            && task.job_id == job_id
        {
            task.answered.store(true, Ordering::Release);
        }
    });
}

/// True when the current handler call handles a task and has answered it.
pub(crate) fn current_task_answered() -> bool {
    HANDLING
        .try_with(|h| h.task.as_ref().is_some_and(|t| t.answered()))
        .unwrap_or(false)
}

/// An `ms-task` being handled: who sent it, under which job, and whether
/// the call has answered it yet.
#[derive(Debug)]
pub(crate) struct TaskSlot {
    pub(crate) from: String,
    pub(crate) job_id: String,
    answered: AtomicBool,
    /// The rest of the envelope, read only if the library has to answer.
    rest: Rest,
}

#[derive(Debug)]
enum Rest {
    /// The message, sharing the frame's text: read again on demand.
    Text(Message),
    /// Read off a built value at once (it exists already).
    Read { reference_id: String, outcome: bool },
}

impl TaskSlot {
    /// The slot of `msg` when it is an `ms-task` with a sender and a job id
    /// (a task the library can answer), else `None`.
    pub(crate) fn of(msg: &Message) -> Option<Arc<TaskSlot>> {
        if msg.event() != Some("ms-task") {
            return None;
        }
        let (from, job_id) = (msg.sender()?.to_owned(), msg.job_id()?.to_owned());
        let rest = match msg.text_copy() {
            Some(copy) => Rest::Text(copy),
            None => {
                let data = msg.data().unwrap_or(&Value::Null);
                Rest::Read {
                    reference_id: reference_id(data, &job_id),
                    outcome: carries_outcome(msg),
                }
            }
        };
        Some(Arc::new(TaskSlot {
            from,
            job_id,
            answered: AtomicBool::new(false),
            rest,
        }))
    }

    /// True once the call sent something back to the sender under the job id.
    pub(crate) fn answered(&self) -> bool {
        self.answered.load(Ordering::Acquire)
    }

    /// Claims the answer: true for the one caller that may send it.
    pub(crate) fn claim(&self) -> bool {
        !self.answered.swap(true, Ordering::AcqRel)
    }

    /// The task's reference id, falling back as [`Task`](crate::ws::Task)
    /// does: `referenceId`, else `workflowId`, else the job id.
    pub(crate) fn reference_id(&self) -> String {
        match &self.rest {
            Rest::Text(msg) => reference_id(msg.data().unwrap_or(&Value::Null), &self.job_id),
            Rest::Read { reference_id, .. } => reference_id.clone(),
        }
    }

    /// True when the task carries an `ms-task-result` outcome: an answer to
    /// a task of ours, never answered in turn (two services would otherwise
    /// answer each other's failures forever).
    pub(crate) fn is_outcome(&self) -> bool {
        match &self.rest {
            Rest::Text(msg) => carries_outcome(msg),
            Rest::Read { outcome, .. } => *outcome,
        }
    }
}

fn reference_id(data: &Value, job_id: &str) -> String {
    ["referenceId", "workflowId"]
        .iter()
        .find_map(|k| field(data, k).and_then(Value::as_str))
        .unwrap_or(job_id)
        .to_owned()
}
