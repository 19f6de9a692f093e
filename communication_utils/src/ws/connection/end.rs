//! The end of the client: the command queue closed and emptied, what could
//! not be delivered handed back to `close()` (or reported when nobody
//! asked for it), waiting requests answered, the frames already read still
//! offered to the consumers.

use std::time::Duration;

use tokio::time::{timeout, timeout_at};

use super::Actor;
use super::io::hand_over_at_end;
use super::outbound::Leftover;
use crate::lock::lock;
use crate::ws::state::{ConnectionState, Event};

/// How long the end waits for sends that hold a place in the queue to put
/// their command in it, after the queue closed (a moment, in practice).
const LAST_COMMANDS: Duration = Duration::from_secs(1);

impl Actor {
    pub(super) async fn finish(mut self, gave_up: bool) {
        // A `close()` that woke this task before its `Close` command was in
        // the queue (it was full) gets its answer: its command is waited
        // for, until the close deadline.
        if self.taking && self.closers.is_empty() && self.close_called() && !self.stopped() {
            let until = self.close_deadline();
            let _ = timeout_at(until, async {
                while self.closers.is_empty() {
                    match self.cmd_rx.recv().await {
                        Some(command) => self.command(command),
                        None => break,
                    }
                }
            })
            .await;
        }
        self.cmd_rx.close();
        self.taking = false;
        let _ = timeout(LAST_COMMANDS, async {
            while let Some(command) = self.cmd_rx.recv().await {
                self.command(command);
            }
        })
        .await;
        let Leftover {
            undelivered,
            settled,
        } = self.ledger.take_undelivered();
        self.publish_outbound();
        self.report(settled);
        let mut closers = std::mem::take(&mut self.closers).into_iter();
        let first = closers.next();
        for rest in closers {
            // Only the first close() gets the messages.
            let _ = rest.send(None);
        }
        if undelivered.is_empty() {
            if let Some(first) = first {
                let _ = first.send(None);
            }
        } else {
            let count = undelivered.len();
            let written = undelivered.written();
            let unclaimed = match first {
                Some(first) => {
                    tracing::warn!(
                        count,
                        written_unconfirmed = written,
                        "client closed with messages not delivered; close() returns them"
                    );
                    first.send(Some(undelivered)).err().flatten()
                }
                None => Some(undelivered),
            };
            match unclaimed {
                // Nobody asked yet: the client stopped on its own. The
                // first `close()` after it gets them.
                Some(undelivered) if gave_up => {
                    tracing::error!(
                        count,
                        written_unconfirmed = written,
                        "client gave up reconnecting with messages not delivered; close() returns them"
                    );
                    *lock(&self.shared.lifecycle.left_behind) = Some(undelivered);
                }
                Some(_) => tracing::error!(
                    count,
                    written_unconfirmed = written,
                    "client dropped with messages not delivered: they are lost"
                ),
                None => {}
            }
        }
        // Waiting requests fail now with Closed instead of waiting for their deadline.
        self.pending.close_all();
        hand_over_at_end(&self.shared, std::mem::take(&mut self.staged));
        self.set_state(ConnectionState::Closed);
        self.emit(Event::Closed);
        tracing::info!("gateway client closed");
    }
}
