//! The handles' commands as the connection task takes them, and when it
//! stops taking them.
//!
//! A close is asked by a [`Command::Close`] (`close()`, in order behind the
//! sends it must deliver) or by the `close_requested` token alone (the last
//! handle dropped; `close()` cancels it too, to wake a task that is not
//! reading the queue). Closing, the task reads the queue whatever its
//! state, then closes it once the `close()` that asked has its `Close` in
//! (or nobody's `close()` runs): sends answer `Closed` from then on, and
//! whatever was queued before is taken, delivered or handed back.

use super::Actor;
use super::outbound::{Entry, Settled};
use crate::ws::command::Command;

impl Actor {
    /// Takes one command of a handle.
    pub(super) fn command(&mut self, command: Command) {
        match command {
            Command::Send {
                frame,
                receipt,
                volatile,
            } => match volatile {
                // Sent for a connection that is over: never written.
                Some(number) if self.live != Some(number) => {
                    self.report(Settled {
                        dropped: 1,
                        ..Settled::default()
                    });
                    Entry::data(frame, receipt, true).failed(false);
                }
                _ => self.ledger.accept(frame, receipt, volatile.is_some()),
            },
            Command::Flush { done } => self.ledger.flush(done),
            Command::Request(request) => {
                let request = *request;
                // Noted before its frame is written: the answer cannot come first.
                if self.pending.insert(request.job_id, request.reply) {
                    self.ledger.accept(request.frame, None, false);
                }
            }
            Command::Close { done } => {
                self.closers.push(done);
                self.close_deadline();
            }
        }
    }

    /// True once a close was asked, by command or token.
    pub(super) fn closing(&self) -> bool {
        !self.closers.is_empty() || self.close_requested()
    }

    /// True when the queue may be closed: closing, and either the
    /// `close()` that asked has its `Close` in, or no `close()` runs (the
    /// handles were dropped), or the close deadline passed.
    fn may_stop_taking(&self) -> bool {
        self.closing()
            && (!self.closers.is_empty()
                || !self.close_called()
                || self
                    .close_deadline
                    .is_some_and(|at| tokio::time::Instant::now() >= at))
    }

    /// Takes everything the handles queued so far; closing, closes the
    /// queue first when it may (see the module's header).
    pub(super) fn drain_commands(&mut self) {
        loop {
            if self.taking && self.may_stop_taking() {
                self.cmd_rx.close();
                self.taking = false;
            }
            let closers = self.closers.len();
            while let Ok(command) = self.cmd_rx.try_recv() {
                self.command(command);
            }
            // A `Close` just taken may let the queue close: once more.
            if !self.taking || self.closers.len() == closers {
                return;
            }
        }
    }

    /// Takes what the handles queued while the outbox is under `limit`
    /// frames, stopping at a `Close` (the caller then closes).
    pub(super) fn drain_commands_upto(&mut self, limit: usize) {
        while self.ledger.pending_len() < limit && self.closers.is_empty() {
            let Ok(command) = self.cmd_rx.try_recv() else {
                return;
            };
            self.command(command);
        }
    }

    /// Closing, and nothing left to deliver (the queue drained into the
    /// ledger).
    pub(super) fn close_can_end(&mut self) -> bool {
        self.drain_commands();
        !self.ledger.has_undelivered()
    }
}
