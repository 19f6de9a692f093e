//! The outbound ledger: every message from the moment the connection task
//! accepts it until it is confirmed read by the gateway (or handed back).
//!
//! Each data frame has a sequence number, given in acceptance order. Three
//! watermarks split them:
//!
//! ```text
//!   confirmed ≤ written ≤ accepted
//!   [0, confirmed)         read by the gateway (pong or clean close), forgotten
//!   [confirmed, written)   written and flushed, kept in `unconfirmed`
//!   [written, accepted)    waiting in `pending` (control frames between them)
//! ```
//!
//! The ledger also drives the writes ([`Ledger::poll_write`]: it hands
//! its pending frames to the socket and flushes them, taking a
//! confirmation ping with a write turn when one is due) because what it
//! knows decides what may be written (the write window). The connection
//! task does every other I/O and tells the ledger what happened (a pong
//! came, the connection ended); nothing here reads the socket or waits.

use std::collections::VecDeque;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use futures_util::SinkExt;
use tokio::sync::oneshot;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};

use crate::ws::connection::dial::WsStream;
use crate::ws::delivery::{DeliveryMode, Undelivered};

mod entry;

use crate::ws::receipt::ReceiptTx;
pub(crate) use entry::Entry;

/// Unconfirmed frames kept for a re-send, at most. Past it the oldest are
/// forgotten (counted as confirmed; their receipts fail): a gateway that
/// reads but never answers pings would otherwise make the client keep
/// everything it ever sent.
const MAX_UNCONFIRMED_BYTES: usize = 64 << 20;

/// The write window: no new write turn starts while this many bytes, or
/// [`WINDOW_FRAMES`] frames, are written and unconfirmed. It bounds what an
/// unclean end can leave unread (written again at least once, or reported
/// at most once) to about a socket buffer's worth, where the kernel alone
/// would allow its send buffer, the gateway's receive buffer and whatever
/// the gateway took from its socket without processing. Pings go every
/// [`MARK_FRAMES`], so several are in flight within a window and a gateway
/// that keeps reading keeps it open: the window costs throughput only when
/// the gateway stops reading, which is when it should.
pub(crate) const WINDOW_BYTES: usize = 4 << 20;

/// The write window in frames (see [`WINDOW_BYTES`]). A close the gateway
/// starts proves nothing about what it read since its last pong, so at
/// least once each such close repeats up to a window (plus one write turn);
/// 1,024 keeps that near 1,000 messages at full speed (it was 8,192:
/// 1.5k–5.5k repeats per close in `ws_bench --scenario soak`, 215–419 with
/// 1,024, see `examples/BENCHMARKS.md`) and costs no throughput on a
/// gateway that keeps reading (about 600k messages/s either way on
/// loopback), since [`MARK_FRAMES`] keeps eight pings in flight per window.
pub(crate) const WINDOW_FRAMES: usize = 1024;

/// Payload size of a confirmation ping: a big-endian sequence number. The
/// keepalive's pings are empty, so the two cannot be confused.
const MARK_LEN: usize = 8;

/// Confirmation pings in flight at most.
const MAX_MARKS: usize = 32;

/// A write turn takes a confirmation ping when this many data frames (or
/// more) are covered by none in flight yet, or when the last ping is
/// [`MARK_EVERY`] old. So the unconfirmed tail is about what the gateway has
/// not read yet, and a request/reply service pays one ping per
/// [`MARK_EVERY`], not one per message (each costs the gateway a pong).
const MARK_FRAMES: u64 = 128;

/// The longest time written data waits for its confirmation ping.
pub(crate) const MARK_EVERY: Duration = Duration::from_millis(10);

/// The sequence number a confirmation ping carries (`None` for any other
/// frame).
fn mark_of(frame: &WsMessage) -> Option<u64> {
    match frame {
        WsMessage::Ping(p) => <[u8; MARK_LEN]>::try_from(&p[..])
            .ok()
            .map(u64::from_be_bytes),
        _ => None,
    }
}

/// How a connection ended, as far as delivery is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    /// The gateway answered our close frame: everything written was read.
    Clean,
    /// Anything else: what was written and not confirmed may be lost.
    Unclean,
}

/// What the end of a connection (or of the client) did with the frames
/// not confirmed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Settled {
    /// Written, unconfirmed, queued again first ([`DeliveryMode::AtLeastOnce`]).
    pub(crate) resent: u64,
    /// Written, unconfirmed, given up ([`DeliveryMode::AtMostOnce`], or
    /// volatile): the gateway may not have read them.
    pub(crate) possibly_lost: u64,
    /// Volatile and never written: dropped.
    pub(crate) dropped: u64,
}

/// What a closing client could not deliver.
#[derive(Debug)]
pub(crate) struct Leftover {
    /// Handed back to `close()`.
    pub(crate) undelivered: Undelivered,
    /// Given up: at most once written and unconfirmed, volatile ones.
    pub(crate) settled: Settled,
}

#[derive(Debug)]
pub(crate) struct Ledger {
    mode: DeliveryMode,
    /// Frames not yet written: data frames in sequence order, with control
    /// frames (pings, a close) between them.
    pending: VecDeque<Entry>,
    /// How many of `pending` were handed to the socket since the last flush.
    started: usize,
    /// How many of `pending` this write turn hands over.
    turn_len: usize,
    unconfirmed: VecDeque<Entry>,
    unconfirmed_bytes: usize,
    accepted: u64,
    written: u64,
    confirmed: u64,
    /// The sequence numbers the confirmation pings in flight will confirm up
    /// to, oldest first.
    marks: VecDeque<u64>,
    /// When the last confirmation ping was queued.
    last_mark: Option<Instant>,
    /// The highest sequence number a confirmation ping already *written*
    /// on this connection will confirm (a ping still in `pending`, behind
    /// unwritten frames, confirms nothing until the window lets it out).
    covered_written: u64,
    flushes: VecDeque<(u64, oneshot::Sender<()>)>,
    /// Given up, with a receipt to fail (and whether they were written):
    /// failed by [`answer_given_up`](Self::answer_given_up), once the
    /// connection task has counted them, so that a receipt never fails
    /// before [`Stats`](crate::ws::Stats) says why.
    given_up: Vec<(Entry, bool)>,
    /// Our close frame is queued: nothing may follow it on this connection
    /// (the socket refuses frames after a close), and its echo confirms all.
    closing: bool,
}

impl Ledger {
    pub(crate) fn new(mode: DeliveryMode) -> Self {
        Self {
            mode,
            pending: VecDeque::new(),
            started: 0,
            turn_len: 0,
            unconfirmed: VecDeque::new(),
            unconfirmed_bytes: 0,
            accepted: 0,
            written: 0,
            confirmed: 0,
            marks: VecDeque::new(),
            last_mark: None,
            covered_written: 0,
            flushes: VecDeque::new(),
            given_up: Vec::new(),
            closing: false,
        }
    }

    /// Frames waiting to be written (control frames included).
    pub(crate) fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Data frames written and not yet confirmed.
    pub(crate) fn unconfirmed_len(&self) -> usize {
        self.unconfirmed.len()
    }

    /// Data frames accepted and not written yet.
    pub(crate) fn unwritten(&self) -> u64 {
        self.accepted - self.written
    }

    /// True when something accepted still has to reach the gateway: a frame
    /// not written, or (at least once) one written but not confirmed.
    pub(crate) fn has_undelivered(&self) -> bool {
        self.accepted > self.written
            || (self.mode == DeliveryMode::AtLeastOnce && !self.unconfirmed.is_empty())
    }

    /// Answers `done` once everything accepted so far is written.
    pub(crate) fn flush(&mut self, done: oneshot::Sender<()>) {
        if self.written >= self.accepted {
            let _ = done.send(());
        } else {
            self.flushes.push_back((self.accepted, done));
        }
    }

    /// A data frame to write, after those accepted before it; `receipt`
    /// learns its fate, and a `volatile` one is dropped (never written
    /// again) when its connection ends.
    pub(crate) fn accept(&mut self, frame: WsMessage, receipt: Option<ReceiptTx>, volatile: bool) {
        self.accepted += 1;
        self.pending
            .push_back(Entry::data(frame, receipt, volatile));
    }

    /// A control frame (keepalive ping, close) after what is queued.
    /// Nothing is queued after a close frame: a keepalive or confirmation
    /// ping behind it would fail the write and end the connection uncleanly.
    pub(crate) fn push_control(&mut self, frame: WsMessage) {
        if self.closing {
            return;
        }
        self.closing = frame.is_close();
        self.pending.push_back(Entry::control(frame));
    }

    /// Drive writes: `Ready(Ok(n))` when a flush completed (`n` data frames
    /// written) or there was nothing to write (`n` = 0).
    pub(crate) fn poll_write(
        &mut self,
        ws: &mut WsStream,
        cx: &mut Context<'_>,
    ) -> Poll<Result<u64, WsError>> {
        if self.pending.is_empty() {
            return Poll::Ready(Ok(0));
        }
        if self.started == 0 {
            if self.window_full() {
                // Nothing new until a pong confirms; a ping covering what is
                // written must be on its way, or none would ever come.
                if !self.mark_written(Instant::now()) {
                    return Poll::Ready(Ok(0));
                }
                self.turn_len = 1;
            } else {
                // A new write turn: its confirmation ping, if it takes one,
                // goes in the same flush.
                self.mark_turn(Instant::now(), false);
                self.turn_len = self.pending.len();
            }
        }
        while self.started < self.turn_len {
            ready!(ws.poll_ready_unpin(cx))?;
            ws.start_send_unpin(self.pending[self.started].frame.clone())?;
            self.started += 1;
        }
        ready!(ws.poll_flush_unpin(cx))?;
        Poll::Ready(Ok(self.flushed()))
    }

    /// The frames handed to the socket were flushed: they are written.
    /// Returns how many data frames that was.
    pub(crate) fn flushed(&mut self) -> u64 {
        let mut n = 0;
        for entry in self.pending.drain(..self.started) {
            if entry.is_data() {
                n += 1;
                self.unconfirmed_bytes += entry.len();
                self.unconfirmed.push_back(entry);
            } else if let Some(seq) = mark_of(&entry.frame) {
                self.covered_written = self.covered_written.max(seq);
            }
        }
        self.started = 0;
        self.written += n;
        while self.unconfirmed_bytes > MAX_UNCONFIRMED_BYTES {
            self.settle_oldest(false);
        }
        while let Some((target, _)) = self.flushes.front() {
            if *target > self.written {
                break;
            }
            if let Some((_, reply)) = self.flushes.pop_front() {
                let _ = reply.send(());
            }
        }
        n
    }

    /// The oldest unconfirmed frame leaves the ledger: `confirmed` by a
    /// pong, or not (forgotten past [`MAX_UNCONFIRMED_BYTES`]; its receipt
    /// fails).
    fn settle_oldest(&mut self, confirmed: bool) {
        if let Some(entry) = self.unconfirmed.pop_front() {
            self.unconfirmed_bytes -= entry.len();
            self.confirmed += 1;
            if confirmed {
                entry.confirmed();
            } else {
                entry.failed(true);
            }
        }
    }

    /// Keeps `entry`, given up, for [`answer_given_up`](Self::answer_given_up)
    /// if its sender waits for a receipt.
    fn give_up(&mut self, entry: Entry, written: bool) {
        if entry.has_receipt() {
            self.given_up.push((entry, written));
        }
    }

    /// Fails the receipts of the messages given up since the last call,
    /// handing each message back. Called once what was given up is counted.
    pub(crate) fn answer_given_up(&mut self) {
        for (entry, written) in self.given_up.drain(..) {
            entry.failed(written);
        }
    }

    /// True when the unconfirmed frames fill the write window.
    pub(crate) fn window_full(&self) -> bool {
        self.unconfirmed_bytes >= WINDOW_BYTES || self.unconfirmed.len() >= WINDOW_FRAMES
    }

    /// Queues, first, a confirmation ping for everything written, unless a
    /// ping already written covers it (then its pong opens the window). A
    /// ping queued behind unwritten frames does not count: the full window
    /// holds it back, and waiting for its pong would wait forever. True when
    /// the first pending frame is that ping (queued now, or by an earlier
    /// call whose write did not start).
    fn mark_written(&mut self, now: Instant) -> bool {
        if self.written <= self.covered_written.max(self.confirmed) || self.closing {
            return false;
        }
        if self.pending.front().and_then(|e| mark_of(&e.frame)) == Some(self.written) {
            return true;
        }
        // Kept in order: a later ping may be queued already.
        let at = self.marks.partition_point(|m| *m < self.written);
        if self.marks.get(at) != Some(&self.written) {
            self.marks.insert(at, self.written);
        }
        self.last_mark = Some(now);
        self.pending.push_front(Entry::control(WsMessage::Ping(
            self.written.to_be_bytes().to_vec().into(),
        )));
        true
    }

    /// The highest sequence number a ping in flight will confirm.
    fn covered(&self) -> u64 {
        self.marks.back().copied().unwrap_or(self.confirmed)
    }

    /// Queues a confirmation ping after everything accepted, if some of it
    /// (written or about to be) is covered by no ping in flight yet and the
    /// turn is due one (see [`MARK_FRAMES`]), or `now` when `force`d.
    pub(crate) fn mark_turn(&mut self, now: Instant, force: bool) {
        let uncovered = self.accepted.saturating_sub(self.covered());
        if uncovered == 0 || self.marks.len() >= MAX_MARKS || self.closing {
            return;
        }
        let due = force
            || uncovered >= MARK_FRAMES
            || self.last_mark.is_none_or(|t| now >= t + MARK_EVERY);
        if due {
            self.marks.push_back(self.accepted);
            self.last_mark = Some(now);
            self.pending.push_back(Entry::control(WsMessage::Ping(
                self.accepted.to_be_bytes().to_vec().into(),
            )));
        }
    }

    /// When written data covered by no ping should get one: [`MARK_EVERY`]
    /// after the last ping. `None` when everything written is covered.
    pub(crate) fn mark_due(&self) -> Option<Instant> {
        if self.written <= self.covered() || self.closing {
            return None;
        }
        Some(self.last_mark.map_or_else(Instant::now, |t| t + MARK_EVERY))
    }

    /// A pong arrived: if it answers a confirmation ping, everything before
    /// that ping was read.
    pub(crate) fn pong(&mut self, payload: &[u8]) {
        let Ok(bytes) = <[u8; MARK_LEN]>::try_from(payload) else {
            return;
        };
        let seq = u64::from_be_bytes(bytes);
        if !self.marks.contains(&seq) {
            return;
        }
        while self.marks.front().is_some_and(|m| *m <= seq) {
            self.marks.pop_front();
        }
        while self.confirmed < seq && !self.unconfirmed.is_empty() {
            self.settle_oldest(true);
        }
    }

    /// The connection ended. Clean: everything written was read. Unclean:
    /// the unconfirmed frames are queued again or given up, by mode.
    /// Either way the next connection starts from the first frame not
    /// written; control frames of the old connection are dropped, and so
    /// are volatile frames, written or not (their receipts fail at
    /// [`answer_given_up`](Self::answer_given_up)).
    pub(crate) fn connection_ended(&mut self, ending: Ending) -> Settled {
        self.started = 0;
        self.marks.clear();
        self.covered_written = 0;
        self.closing = false;
        self.pending.retain(Entry::is_data);
        let mut settled = Settled::default();
        // Frames before this sequence number in `pending` were written.
        let mut written_until = self.written;
        match (ending, self.mode) {
            (Ending::Clean, _) => {
                for entry in self.unconfirmed.drain(..) {
                    entry.confirmed();
                }
                self.confirmed = self.written;
            }
            (Ending::Unclean, DeliveryMode::AtLeastOnce) => {
                while let Some(entry) = self.unconfirmed.pop_back() {
                    if !entry.volatile {
                        settled.resent += 1;
                    }
                    self.pending.push_front(entry);
                }
                self.written = self.confirmed;
            }
            (Ending::Unclean, DeliveryMode::AtMostOnce) => {
                for entry in std::mem::take(&mut self.unconfirmed) {
                    settled.possibly_lost += 1;
                    self.give_up(entry, true);
                }
                self.confirmed = self.written;
                written_until = self.written;
            }
        }
        self.unconfirmed_bytes = 0;
        if self.pending.iter().any(|e| e.volatile) {
            self.drop_volatile(written_until, &mut settled);
        }
        settled
    }

    /// Drops the volatile frames from `pending` (those before sequence
    /// number `written_until` were written): their receipts fail, the
    /// sequence numbers after them move down, and so do the flushes
    /// waiting for them.
    fn drop_volatile(&mut self, written_until: u64, settled: &mut Settled) {
        let mut dropped_at = Vec::new();
        // `pending` holds data frames only here, in sequence order.
        let pending = std::mem::take(&mut self.pending);
        for (seq, entry) in (self.written..).zip(pending) {
            if entry.volatile {
                let written = seq < written_until;
                if written {
                    settled.possibly_lost += 1;
                } else {
                    settled.dropped += 1;
                }
                self.give_up(entry, written);
                dropped_at.push(seq);
            } else {
                self.pending.push_back(entry);
            }
        }
        self.accepted -= dropped_at.len() as u64;
        for (target, _) in &mut self.flushes {
            *target -= dropped_at.iter().filter(|s| **s < *target).count() as u64;
        }
    }

    /// Everything not delivered, oldest first, for a client that closes:
    /// (at least once) the unconfirmed frames, then those never written;
    /// their receipts fail (at [`answer_given_up`](Self::answer_given_up)).
    /// Given up instead, and counted: the unconfirmed ones at most once,
    /// and volatile ones.
    pub(crate) fn take_undelivered(&mut self) -> Leftover {
        let mut frames = Vec::with_capacity(self.unconfirmed.len() + self.pending.len());
        let mut settled = Settled::default();
        for entry in std::mem::take(&mut self.unconfirmed) {
            if entry.volatile || self.mode == DeliveryMode::AtMostOnce {
                settled.possibly_lost += 1;
            } else {
                frames.extend(entry.outgoing());
            }
            self.give_up(entry, true);
        }
        let written = frames.len();
        for entry in std::mem::take(&mut self.pending) {
            if !entry.is_data() {
                continue;
            }
            if entry.volatile {
                settled.dropped += 1;
            } else {
                frames.extend(entry.outgoing());
            }
            self.give_up(entry, false);
        }
        self.unconfirmed_bytes = 0;
        self.started = 0;
        self.flushes.clear();
        Leftover {
            undelivered: Undelivered::new(frames, written),
            settled,
        }
    }
}

#[cfg(test)]
mod tests;
