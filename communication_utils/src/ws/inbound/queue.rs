//! The inbound buffer between the connection task and the consumers (handler
//! workers, `receive()`): a bounded FIFO under a plain mutex, with wake-ups
//! only for a consumer that is actually waiting or a producer that found it
//! full. Under a flood neither waits, so handing over a frame costs a lock and
//! a push, not a task wake-up.
//!
//! Bounded twice: in frames and in bytes. The byte bound is what keeps memory
//! near a hand-written client's when frames are large (1 MiB chunk pieces):
//! while it is reached the connection stops reading and the rest waits in the
//! kernel's socket buffer, not in ours.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::sync::Notify;

use crate::lock::lock;
use crate::ws::inbound::Inbound;

#[derive(Debug)]
pub(crate) struct InboundQueue {
    state: Mutex<State>,
    cap: usize,
    max_bytes: usize,
    closed: AtomicBool,
    /// Frames handler workers took in groups ([`pop_batch`](Self::pop_batch))
    /// and have not let go of yet ([`release`](Self::release)): not begun,
    /// or being handled without having had to wait.
    held: AtomicUsize,
    /// Signalled when items arrive for waiting consumers (or the queue closes).
    arrived: Notify,
    /// Signalled when a full queue gets room (or closes).
    room: Notify,
}

#[derive(Debug)]
struct State {
    items: VecDeque<Inbound>,
    /// Sum of the weights of `items`.
    bytes: usize,
    /// Consumers blocked in `pop`.
    waiting: usize,
}

impl State {
    /// Room for one more frame, whatever its size: a frame is admitted while
    /// the buffer is under both bounds, so one large frame may overshoot the
    /// byte bound (and a frame larger than the bound still gets through).
    fn has_room(&self, cap: usize, max_bytes: usize) -> bool {
        self.items.len() < cap && self.bytes < max_bytes
    }
}

/// Why `try_push` did not take the frame.
#[derive(Debug)]
pub(crate) enum PushError {
    /// The buffer is full; the frame was not taken (and is dropped).
    Full,
    Closed,
}

/// Most bytes a consumer takes in one [`InboundQueue::pop_batch`]: small
/// frames go in groups, a large one alone.
const BATCH_BYTES: usize = 64 * 1024;
/// Most frames a consumer takes in one [`InboundQueue::pop_batch`].
const BATCH_FRAMES: usize = 32;

impl InboundQueue {
    pub(crate) fn new(cap: usize, max_bytes: usize) -> Self {
        Self {
            state: Mutex::new(State {
                items: VecDeque::with_capacity(cap.min(4096)),
                bytes: 0,
                waiting: 0,
            }),
            cap: cap.max(1),
            max_bytes: max_bytes.max(1),
            closed: AtomicBool::new(false),
            held: AtomicUsize::new(0),
            arrived: Notify::new(),
            room: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        lock(&self.state)
    }

    pub(crate) fn try_push(&self, frame: Inbound) -> Result<(), PushError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(PushError::Closed);
        }
        let wake = {
            let mut st = self.lock();
            if !st.has_room(self.cap, self.max_bytes) {
                drop(st);
                drop(frame);
                return Err(PushError::Full);
            }
            let before = st.items.len();
            st.bytes += frame.weight();
            st.items.push_back(frame);
            // Wake an idle consumer when work appears; a backlog is spread by
            // the consumers themselves (see `take`), not one wake per push.
            st.waiting > 0 && before == 0
        };
        if wake {
            self.arrived.notify_one();
        }
        Ok(())
    }

    /// Moves frames from the front of `frames` while there is room, under one
    /// lock. Errors only when closed.
    pub(crate) fn push_many(&self, frames: &mut VecDeque<Inbound>) -> Result<(), PushError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(PushError::Closed);
        }
        let wake = {
            let mut st = self.lock();
            let before = st.items.len();
            while st.has_room(self.cap, self.max_bytes) {
                let Some(frame) = frames.pop_front() else {
                    break;
                };
                st.bytes += frame.weight();
                st.items.push_back(frame);
            }
            st.items.len() > before && before == 0 && st.waiting > 0
        };
        if wake {
            self.arrived.notify_one();
        }
        Ok(())
    }

    /// Puts frames a consumer took but will not handle now back at the front,
    /// in their order, for the other consumers. Never refused: they were
    /// admitted once (the buffer may briefly hold more than its bounds).
    pub(crate) fn put_back(&self, frames: &mut VecDeque<Inbound>) {
        if frames.is_empty() {
            return;
        }
        let wake = {
            let mut st = self.lock();
            while let Some(frame) = frames.pop_back() {
                st.bytes += frame.weight();
                st.items.push_front(frame);
            }
            st.waiting > 0
        };
        if wake {
            self.arrived.notify_one();
        }
    }

    /// True when no frame waits for a consumer.
    pub(crate) fn is_empty(&self) -> bool {
        self.lock().items.is_empty()
    }

    /// Resolves when there is room (or the queue is closed). Cancel-safe.
    pub(crate) async fn room(&self) {
        loop {
            let notified = self.room.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.closed.load(Ordering::Acquire) || self.lock().has_room(self.cap, self.max_bytes)
            {
                return;
            }
            notified.await;
        }
    }

    /// Takes the first frame, and with `batch` more of a backlog: its share
    /// of it, counting the consumers that wait (half when none waits), up
    /// to [`BATCH_FRAMES`] and [`BATCH_BYTES`], handing each to `put`.
    /// Returns how many were taken. While others wait, a consumer holds
    /// little more than the frame it handles: a handler that computes (and
    /// so cannot hand frames back, never awaiting) holds back no message an
    /// idle consumer could take. Under a flood nobody waits, and the groups
    /// are large (one lock for many frames). Also returns whether it woke a
    /// waiting consumer for the rest.
    fn take(&self, batch: bool, mut put: impl FnMut(Inbound)) -> (usize, bool) {
        let (taken, was_full, wake_peer) = {
            let mut st = self.lock();
            let was_full = !st.has_room(self.cap, self.max_bytes);
            let want = if batch {
                (st.items.len() / (st.waiting + 2)).clamp(1, BATCH_FRAMES)
            } else {
                1
            };
            let mut taken = 0;
            let mut bytes = 0;
            while taken < want && (taken == 0 || bytes < BATCH_BYTES) {
                let Some(frame) = st.items.pop_front() else {
                    break;
                };
                let w = frame.weight();
                st.bytes -= w;
                bytes += w;
                put(frame);
                taken += 1;
            }
            // Work left and an idle consumer: hand it on, so that a backlog
            // reaches as many consumers as it needs (once all are busy, nobody
            // waits and nothing is signalled).
            let wake_peer = !st.items.is_empty() && st.waiting > 0;
            (
                taken,
                was_full && st.has_room(self.cap, self.max_bytes),
                wake_peer,
            )
        };
        if was_full {
            self.room.notify_one();
        }
        if wake_peer {
            self.arrived.notify_one();
        }
        (taken, wake_peer)
    }

    pub(crate) fn try_pop(&self) -> Option<Inbound> {
        let mut one = None;
        let _ = self.take(false, |frame| one = Some(frame));
        one
    }

    /// Appends a group of frames to `out` (see [`take`](Self::take)) without
    /// waiting; `None` when there was none, else whether a waiting consumer
    /// was woken for the rest.
    pub(crate) fn try_pop_batch(&self, out: &mut VecDeque<Inbound>) -> Option<bool> {
        match self.take(true, |frame| out.push_back(frame)) {
            (0, _) => None,
            (n, woke_peer) => {
                self.held.fetch_add(n, Ordering::Relaxed);
                Some(woke_peer)
            }
        }
    }

    /// A worker lets go of `n` frames it took with
    /// [`pop_batch`](Self::pop_batch): handled, put back, or handled by a
    /// call that had to wait. Once per group, not per frame: under a flood
    /// a counter both threads write costs a cache line's trip per write.
    pub(crate) fn release(&self, n: usize) {
        self.held.fetch_sub(n, Ordering::Relaxed);
    }

    /// True when frames wait to be handled besides the one whose handler
    /// may be calling this: more than one taken by the handler workers and
    /// not let go of, or any in the buffer. A hint, for the connection task
    /// (see `IoEvent::Queued` there).
    pub(crate) fn has_waiting(&self) -> bool {
        self.held.load(Ordering::Relaxed) > 1 || !self.is_empty()
    }

    /// Waits for frames and appends a group of them to `out`; `None` once
    /// closed and drained, else whether a waiting consumer was woken for the
    /// rest (see the worker in `dispatch`). Cancel-safe.
    pub(crate) async fn pop_batch(&self, out: &mut VecDeque<Inbound>) -> Option<bool> {
        loop {
            if let Some(woke_peer) = self.try_pop_batch(out) {
                return Some(woke_peer);
            }
            if !self.wait_for_items().await {
                // Pushes that raced with close are still handed out.
                return self.try_pop_batch(out);
            }
        }
    }

    /// The next frame; `None` once closed and drained. Cancel-safe.
    pub(crate) async fn pop(&self) -> Option<Inbound> {
        loop {
            if let Some(frame) = self.try_pop() {
                return Some(frame);
            }
            if !self.wait_for_items().await {
                return self.try_pop();
            }
        }
    }

    /// Waits until items may be there; false when the queue is closed.
    async fn wait_for_items(&self) -> bool {
        if self.closed.load(Ordering::Acquire) {
            return false;
        }
        let notified = self.arrived.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let must_wait = {
            let mut st = self.lock();
            let must_wait = st.items.is_empty() && !self.closed.load(Ordering::Acquire);
            if must_wait {
                st.waiting += 1;
            }
            must_wait
        };
        if must_wait {
            // Leave the waiting count however this ends (even if cancelled).
            let _guard = Waiting(self);
            notified.await;
        }
        true
    }

    /// No more pushes; waiting consumers see the rest, then `None`.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.arrived.notify_waiters();
        self.room.notify_waiters();
    }
}

struct Waiting<'a>(&'a InboundQueue);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let mut st = self.0.lock();
        st.waiting = st.waiting.saturating_sub(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    fn text(s: &'static str) -> Inbound {
        Inbound::Text(s.into())
    }

    fn as_text(f: Inbound) -> String {
        match f {
            Inbound::Text(t) => t.as_str().to_owned(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn fifo_and_bounded() {
        let q = InboundQueue::new(2, usize::MAX);
        q.try_push(text("a")).unwrap();
        q.try_push(text("b")).unwrap();
        assert!(matches!(q.try_push(text("c")), Err(PushError::Full)));
        assert_eq!(as_text(q.try_pop().unwrap()), "a");
        q.try_push(text("c")).unwrap();
        assert_eq!(as_text(q.try_pop().unwrap()), "b");
        assert_eq!(as_text(q.try_pop().unwrap()), "c");
        assert!(q.try_pop().is_none());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_consumers_get_every_item_once_and_close_ends_them() {
        let q = Arc::new(InboundQueue::new(8, usize::MAX));
        let consumers: Vec<_> = (0..4)
            .map(|_| {
                let q = q.clone();
                tokio::spawn(async move {
                    let mut n = 0;
                    while q.pop().await.is_some() {
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        for _ in 0..10_000 {
            loop {
                match q.try_push(text("x")) {
                    Ok(()) => break,
                    Err(PushError::Full) => q.room().await,
                    Err(PushError::Closed) => unreachable!(),
                }
            }
        }
        q.close();
        let mut total = 0;
        for c in consumers {
            total += tokio::time::timeout(Duration::from_secs(10), c)
                .await
                .unwrap()
                .unwrap();
        }
        assert_eq!(total, 10_000);
        assert!(matches!(q.try_push(text("late")), Err(PushError::Closed)));
    }
}

#[cfg(test)]
mod prop_tests;
