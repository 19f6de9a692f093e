//! Closing and flushing: delivering what was accepted, then ending.

use std::future::{Future, poll_fn};
use std::task::Poll;
use std::time::Duration;

use tokio::sync::oneshot;

use crate::lock::lock;
use crate::ws::client::MicroServiceWs;
use crate::ws::command::Command;
use crate::ws::error::Error;
use crate::ws::in_flight;
use crate::ws::shared::Lifecycle;

/// Asks the connection task to close when dropped: a `close()` cancelled
/// half-way still closes the client (as dropping the last handle does).
struct CloseOnDrop<'a>(&'a Lifecycle);

impl Drop for CloseOnDrop<'_> {
    fn drop(&mut self) {
        self.0.close_requested.cancel();
    }
}

impl MicroServiceWs {
    /// Close: stop taking messages, let running handlers finish (their
    /// answers still go out), deliver everything accepted, send a close
    /// frame, and end every task. Afterwards every send answers
    /// [`Error::Closed`]. Calling it again (from any clone) is harmless.
    ///
    /// # Handlers
    /// First, receive loops ([`run`](Self::run)) stop taking messages, and
    /// running handler calls get the close timeout
    /// ([`WsConfigBuilder::close_timeout`](crate::ws::WsConfigBuilder::close_timeout),
    /// default 10 s) to finish; the connection stays up meanwhile, so that
    /// what they send (a task's answer) is delivered. Messages a loop had
    /// taken but not started, and those still buffered or arriving, are not
    /// run: each task among them is answered with the error outcome "the
    /// service stopped before handling the task"
    /// ([`RunOptions::answer_tasks`](crate::ws::RunOptions::answer_tasks)).
    /// Called from inside a handler of this client, `close()` waits for the
    /// other handlers, not for the one calling it (which finishes after
    /// `close()` returns). A task a handler spawns is not a handler:
    /// awaiting a `close()` there from the handler waits for the handler
    /// itself, until the timeout.
    ///
    /// # Delivery
    /// Then everything accepted is written, then the close frame; the
    /// gateway's answer to it confirms that all was read. When
    /// disconnected, it goes on reconnecting to deliver. This too is
    /// bounded by the close timeout; what it could not deliver by then is
    /// returned in [`Error::Undelivered`], never dropped silently.
    /// (Dropping the last handle without `close()` delivers the same way,
    /// without waiting for handlers, and logs undelivered messages at
    /// ERROR, with their count.)
    ///
    /// # Errors
    /// [`Error::Undelivered`] with the messages not delivered (oldest first;
    /// only the first call gets them); [`Error::CloseTimeout`] when handler
    /// calls were still running at the deadline (they are left to finish on
    /// their own; what they send then is refused), with the messages not
    /// delivered too, if any. Every error `close()` returns hands them back
    /// ([`Error::undelivered`]). A client that gave up reconnecting
    /// ([`ReconnectPolicy::max_attempts`](crate::ws::ReconnectPolicy::max_attempts))
    /// is closed already, and keeps what it could not deliver for the first
    /// `close()` after it, which returns them in [`Error::Undelivered`].
    ///
    /// # Cancellation safety
    /// Cancelling stops the waiting, not the closing: the client still closes.
    ///
    /// ```no_run
    /// # async fn f(ms: ms_utils_communication::ws::MicroServiceWs) -> Result<(), ms_utils_communication::ws::Error> {
    /// ms.close().await?;
    /// assert!(ms.send(1).await.unwrap_err().is_closed());
    /// # Ok(()) }
    /// ```
    pub async fn close(&self) -> Result<(), Error> {
        let shared = &self.shared;
        let life = &shared.lifecycle;
        let limit = shared.config.close_timeout;
        // From here on the client closes, even if this call is cancelled.
        let _closes = CloseOnDrop(life);
        // Handlers first, on a live connection, so that their answers go
        // out: loops stop taking (and answer what they hold), running calls
        // get the bounded wait. Called from a handler, close waits for the
        // others, not for the one calling it.
        life.stop_receiving.cancel();
        let inside = in_flight::is_handler_of(shared.id());
        let handlers_done = tokio::time::timeout(limit, shared.calls.at_most(usize::from(inside)))
            .await
            .is_ok();
        // Then the connection task: a `Close` behind every send accepted so
        // far; it delivers them within `limit`, says goodbye within 1 s
        // more, and answers with what it could not deliver.
        let (done, answer) = oneshot::channel();
        let outcome = async {
            let ask = shared.command(Command::Close { done });
            tokio::pin!(ask);
            let asked = match poll_fn(|cx| Poll::Ready(ask.as_mut().poll(cx))).await {
                Poll::Ready(asked) => asked,
                Poll::Pending => {
                    // The queue is full and the task is not taking from it
                    // (disconnected, or the gateway not reading): wake it,
                    // so that it takes the queue and this command gets in.
                    life.close_requested.cancel();
                    ask.await
                }
            };
            // Refused: the task has ended already (an earlier close, the
            // handles dropped, reconnecting given up); nothing to return.
            asked.ok()?;
            life.close_requested.cancel();
            answer.await.ok().flatten()
        };
        tokio::pin!(outcome);
        let undelivered =
            match tokio::time::timeout(limit + Duration::from_secs(2), &mut outcome).await {
                Ok(undelivered) => undelivered,
                Err(_) => {
                    tracing::warn!("connection task did not stop in time; stopping it");
                    life.shutdown.cancel();
                    // It answers as it ends.
                    outcome.await
                }
            };
        // The loops end once the buffer is drained; with the handlers done,
        // what is left of them is short (answers refused by now fail fast).
        life.handlers.close();
        if handlers_done && !inside {
            let _ = tokio::time::timeout(limit, life.handlers.wait()).await;
        }
        life.shutdown.cancel();
        life.tasks.close();
        life.tasks.wait().await;
        // The task ended before this call (it gave up reconnecting): what
        // it left behind is handed back to the first `close()` after it.
        let undelivered = undelivered.or_else(|| lock(&life.left_behind).take());
        if !handlers_done {
            let running = shared.calls.count().saturating_sub(usize::from(inside));
            tracing::warn!(running, "handler calls still running at the close deadline");
            return Err(Error::CloseTimeout {
                after: limit,
                running,
                undelivered,
            });
        }
        match undelivered {
            Some(undelivered) => Err(Error::Undelivered(undelivered)),
            None => Ok(()),
        }
    }

    /// Wait until every message accepted before this call is written to the
    /// gateway's socket (not necessarily confirmed read: see
    /// [`DeliveryMode`](crate::ws::DeliveryMode)). Messages accepted meanwhile are not waited for.
    ///
    /// Side by side with a [`Receipt`](crate::ws::Receipt): `flush` covers
    /// every message before it and answers when they are *written* (in the
    /// kernel's buffers, on their way); a receipt covers one message and
    /// answers when the gateway has *read* it, or hands it back when it
    /// never will. Use `flush` to pace a producer, receipts to know.
    ///
    /// # Errors
    /// [`Error::Closed`] when the client closes first (the messages are then
    /// accounted for by [`close`](Self::close)).
    ///
    /// # Cancellation safety
    /// Cancel-safe: cancelling only stops the waiting.
    ///
    /// ```no_run
    /// # async fn f(ms: ms_utils_communication::ws::MicroServiceWs) -> Result<(), ms_utils_communication::ws::Error> {
    /// for i in 0..100 {
    ///     ms.send(serde_json::json!({"event": "progress", "data": i})).await?;
    /// }
    /// ms.flush().await?; // all 100 are on the wire
    /// # Ok(()) }
    /// ```
    pub async fn flush(&self) -> Result<(), Error> {
        let (done, written) = oneshot::channel();
        self.command(Command::Flush { done }).await?;
        written.await.map_err(|_| Error::Closed)
    }
}
