//! Handler calls in flight: how many run now, a wait for the count to fall,
//! and which client's handler the current task is running (so that
//! `close()` called from inside a handler does not wait for itself).

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::sync::Notify;

tokio::task_local! {
    /// Set while a handler call runs: the id of the client it handles for.
    static HANDLING_FOR: usize;
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

/// Runs `call` as a handler of client `client`.
pub(crate) async fn as_handler_of<F: Future>(client: usize, call: F) -> F::Output {
    HANDLING_FOR.scope(client, call).await
}

/// True when the current task is running a handler of client `client`.
pub(crate) fn is_handler_of(client: usize) -> bool {
    HANDLING_FOR.try_with(|c| *c == client).unwrap_or(false)
}
