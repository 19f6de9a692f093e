//! Every task answered: the error outcome the receive loop sends back when
//! a task's call failed or never ran, unless the call answered it first
//! (see [`RunOptions::answer_tasks`](super::RunOptions::answer_tasks)).

use std::sync::Arc;

use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_util::task::TaskTracker;

use crate::ws::in_flight::TaskSlot;
use crate::ws::protocol::outcome::ErrorOutcome;
use crate::ws::protocol::python_json::ms_send_task;
use crate::ws::shared::Shared;
use crate::ws::state::HandlerFailure;

/// Why a task got no answer from its handler.
#[derive(Debug, Clone)]
pub(crate) enum Unanswered {
    /// Its call failed.
    Failed(HandlerFailure),
    /// A newer task with the same key replaced it ([`Strategy::Replace`](super::Strategy::Replace)).
    Replaced,
    /// A task with the same key was running ([`Strategy::Ignore`](super::Strategy::Ignore)).
    Ignored,
    /// The client closed before it started.
    NotStarted,
}

impl Unanswered {
    /// The `message` of the error outcome: what the caller may read. A
    /// panic's own text stays in this service's log.
    fn message(&self) -> String {
        match self {
            Unanswered::Failed(HandlerFailure::Error { message }) => message.clone(),
            Unanswered::Failed(HandlerFailure::BadPayload { message }) => {
                format!("the task's data could not be read: {message}")
            }
            Unanswered::Failed(HandlerFailure::Panic { .. }) => {
                "the service failed while handling the task".to_owned()
            }
            Unanswered::Failed(HandlerFailure::TimedOut { after }) => {
                format!("the task was not done within its deadline of {after:?}")
            }
            Unanswered::Replaced => "replaced by a newer task with the same key".to_owned(),
            Unanswered::Ignored => "ignored: a task with the same key was being handled".to_owned(),
            Unanswered::NotStarted => "the service stopped before handling the task".to_owned(),
        }
    }
}

/// Sends `task`'s sender the error outcome for `why`, unless the task was
/// answered already or is an outcome itself. True when the answer was
/// queued.
pub(crate) async fn answer(shared: &Shared, task: &TaskSlot, why: &Unanswered) -> bool {
    if task.answered() || task.is_outcome() || !task.claim() {
        return false;
    }
    let message = why.message();
    let reference_id = task.reference_id();
    let outcome = ErrorOutcome::new(&task.job_id, &message);
    let sent = match ms_send_task(&task.from, &reference_id, &task.job_id, &outcome) {
        Ok(text) => shared.enqueue(WsMessage::Text(text.into())).await,
        Err(error) => Err(error),
    };
    match sent {
        Ok(()) => {
            tracing::debug!(job_id = %task.job_id, to = %task.from, %message, "task answered with its error outcome");
            true
        }
        Err(error) => {
            tracing::warn!(job_id = %task.job_id, to = %task.from, %error, "could not answer a failed task");
            false
        }
    }
}

/// [`answer`] from code that cannot wait (under a lock): on a task of its
/// own, tracked by `handlers` (the client's handler tracker, so that
/// `close()` waits for it).
pub(crate) fn answer_later(
    handlers: &TaskTracker,
    shared: Arc<Shared>,
    task: Arc<TaskSlot>,
    why: Unanswered,
) {
    handlers.spawn(async move {
        answer(&shared, &task, &why).await;
    });
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_panic_s_text_never_reaches_the_answer() {
        let why = Unanswered::Failed(HandlerFailure::Panic {
            message: "index out of bounds: secret internals".into(),
        });
        assert!(!why.message().contains("secret"));
    }

    #[test]
    fn each_reason_says_what_happened() {
        let error = Unanswered::Failed(HandlerFailure::Error {
            message: "unknown model".into(),
        });
        assert_eq!(error.message(), "unknown model");
        let late = Unanswered::Failed(HandlerFailure::TimedOut {
            after: Duration::from_secs(30),
        });
        assert!(late.message().contains("30s"));
        let bad = Unanswered::Failed(HandlerFailure::BadPayload {
            message: "missing field `width`".into(),
        });
        assert!(bad.message().contains("missing field `width`"));
    }
}
