//! TEMPORARY (issue #23 item 6 measurement build, not for main): the inbound
//! buffer made of plain tokio pieces, a bounded `mpsc` channel for the frame
//! bound and a `Semaphore` of bytes for the byte bound, behind the
//! [`InboundQueue`](super::queue::InboundQueue) API. Frames put back go to a
//! side list that consumers look at first.

use std::collections::VecDeque;
use std::sync::Mutex;

use tokio::sync::{Notify, Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

use crate::lock::lock;
use crate::ws::inbound::Inbound;

#[derive(Debug)]
pub(crate) struct PlainQueue {
    tx: mpsc::Sender<(Inbound, usize)>,
    rx: tokio::sync::Mutex<mpsc::Receiver<(Inbound, usize)>>,
    bytes: Semaphore,
    front: Mutex<VecDeque<Inbound>>,
    put: Notify,
    closed: CancellationToken,
}

/// Whether a push was refused.
pub(crate) enum Refused {
    Full,
    Closed,
}

impl PlainQueue {
    pub(crate) fn new(cap: usize, max_bytes: usize) -> Self {
        let (tx, rx) = mpsc::channel(cap.max(1));
        Self {
            tx,
            rx: tokio::sync::Mutex::new(rx),
            bytes: Semaphore::new(max_bytes.clamp(1, u32::MAX as usize)),
            front: Mutex::new(VecDeque::new()),
            put: Notify::new(),
            closed: CancellationToken::new(),
        }
    }

    pub(crate) fn try_push(&self, frame: Inbound) -> Result<(), Refused> {
        if self.closed.is_cancelled() {
            return Err(Refused::Closed);
        }
        // Admitted while bytes are left, taking at most what is left (as the
        // hand-made buffer admits one frame over the bound).
        let avail = self.bytes.available_permits();
        if avail == 0 {
            return Err(Refused::Full);
        }
        let take = frame.weight().clamp(1, avail).min(u32::MAX as usize);
        let Ok(permit) = self.bytes.try_acquire_many(take as u32) else {
            return Err(Refused::Full);
        };
        match self.tx.try_send((frame, take)) {
            Ok(()) => {
                permit.forget();
                Ok(())
            }
            Err(mpsc::error::TrySendError::Full(_)) => Err(Refused::Full),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(Refused::Closed),
        }
    }

    pub(crate) fn push_many(&self, frames: &mut VecDeque<Inbound>) -> Result<(), Refused> {
        while let Some(frame) = frames.pop_front() {
            if self.tx.capacity() == 0 || self.bytes.available_permits() == 0 {
                frames.push_front(frame);
                break;
            }
            match self.try_push(frame) {
                Ok(()) => {}
                Err(Refused::Closed) => return Err(Refused::Closed),
                Err(Refused::Full) => unreachable!("checked above, one producer"),
            }
        }
        Ok(())
    }

    pub(crate) fn put_back(&self, frames: &mut VecDeque<Inbound>) {
        if frames.is_empty() {
            return;
        }
        {
            let mut front = lock(&self.front);
            while let Some(f) = frames.pop_back() {
                front.push_front(f);
            }
        }
        self.put.notify_waiters();
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.tx.capacity() == self.tx.max_capacity() && lock(&self.front).is_empty()
    }

    pub(crate) async fn room(&self) {
        tokio::select! {
            () = self.closed.cancelled() => return,
            r = self.tx.reserve() => drop(r),
        }
        tokio::select! {
            () = self.closed.cancelled() => {},
            p = self.bytes.acquire() => drop(p),
        }
    }

    /// Appends up to `max` frames to `out`, waiting for the first; `None`
    /// once closed and drained.
    pub(crate) async fn pop_into(&self, out: &mut VecDeque<Inbound>, batch: bool) -> Option<()> {
        loop {
            let put = self.put.notified();
            tokio::pin!(put);
            put.as_mut().enable();
            {
                let mut front = lock(&self.front);
                if let Some(f) = front.pop_front() {
                    out.push_back(f);
                    return Some(());
                }
            }
            let mut rx = tokio::select! {
                biased;
                g = self.rx.lock() => g,
                () = &mut put => continue,
            };
            let max = if batch {
                (rx.len() / 2).clamp(1, 32)
            } else {
                1
            };
            let mut got = Vec::with_capacity(max);
            tokio::select! {
                biased;
                _ = rx.recv_many(&mut got, max) => {}
                () = &mut put => continue,
                () = self.closed.cancelled() => {
                    while got.len() < max {
                        match rx.try_recv() {
                            Ok(item) => got.push(item),
                            Err(_) => break,
                        }
                    }
                }
            }
            if got.is_empty() {
                return None;
            }
            for (frame, w) in got {
                self.bytes.add_permits(w);
                out.push_back(frame);
            }
            return Some(());
        }
    }

    pub(crate) fn close(&self) {
        self.closed.cancel();
    }
}
