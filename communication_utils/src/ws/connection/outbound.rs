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
use crate::ws::delivery::{DeliveryMode, OutgoingFrame, Undelivered};

/// Unconfirmed frames kept for a re-send, at most. Past it the oldest are
/// forgotten (counted as confirmed): a gateway that reads but never answers
/// pings would otherwise make the client keep everything it ever sent.
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

/// The write window in frames (see [`WINDOW_BYTES`]).
pub(crate) const WINDOW_FRAMES: usize = 8192;

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
const MARK_FRAMES: u64 = 256;

/// The longest time written data waits for its confirmation ping.
pub(crate) const MARK_EVERY: Duration = Duration::from_millis(10);

/// How a connection ended, as far as delivery is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    /// The gateway answered our close frame: everything written was read.
    Clean,
    /// Anything else: what was written and not confirmed may be lost.
    Unclean,
}

/// What an unclean end did with the unconfirmed frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Settled {
    /// Nothing was unconfirmed.
    Nothing,
    /// This many are queued again, first ([`DeliveryMode::AtLeastOnce`]).
    Resent(u64),
    /// This many were given up ([`DeliveryMode::AtMostOnce`]).
    PossiblyLost(u64),
}

#[derive(Debug)]
pub(crate) struct Ledger {
    mode: DeliveryMode,
    /// Frames not yet written: data frames in sequence order, with control
    /// frames (pings, a close) between them.
    pending: VecDeque<WsMessage>,
    /// How many of `pending` were handed to the socket since the last flush.
    started: usize,
    /// How many of `pending` this write turn hands over.
    turn_len: usize,
    unconfirmed: VecDeque<WsMessage>,
    unconfirmed_bytes: usize,
    accepted: u64,
    written: u64,
    confirmed: u64,
    /// The sequence numbers the confirmation pings in flight will confirm up
    /// to, oldest first.
    marks: VecDeque<u64>,
    /// When the last confirmation ping was queued.
    last_mark: Option<Instant>,
    flushes: VecDeque<(u64, oneshot::Sender<()>)>,
    /// Our close frame is queued: nothing may follow it on this connection
    /// (the socket refuses frames after a close), and its echo confirms all.
    closing: bool,
}

fn is_data(frame: &WsMessage) -> bool {
    frame.is_text() || frame.is_binary()
}

fn to_outgoing(frame: WsMessage) -> Option<OutgoingFrame> {
    match frame {
        WsMessage::Text(t) => Some(OutgoingFrame::Text(t.as_str().to_owned())),
        WsMessage::Binary(b) => Some(OutgoingFrame::Binary(b)),
        _ => None,
    }
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
            flushes: VecDeque::new(),
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

    /// A data frame to write, after those accepted before it.
    pub(crate) fn accept(&mut self, frame: WsMessage) {
        if is_data(&frame) {
            self.accepted += 1;
        }
        self.pending.push_back(frame);
    }

    /// A control frame (keepalive ping, close) after what is queued.
    /// Nothing is queued after a close frame: a keepalive or confirmation
    /// ping behind it would fail the write and end the connection uncleanly.
    pub(crate) fn push_control(&mut self, frame: WsMessage) {
        if self.closing {
            return;
        }
        self.closing = frame.is_close();
        self.pending.push_back(frame);
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
            ws.start_send_unpin(self.pending[self.started].clone())?;
            self.started += 1;
        }
        ready!(ws.poll_flush_unpin(cx))?;
        Poll::Ready(Ok(self.flushed()))
    }

    /// The frames handed to the socket were flushed: they are written.
    /// Returns how many data frames that was.
    pub(crate) fn flushed(&mut self) -> u64 {
        let mut n = 0;
        for frame in self.pending.drain(..self.started) {
            if is_data(&frame) {
                n += 1;
                self.unconfirmed_bytes += frame.len();
                self.unconfirmed.push_back(frame);
            }
        }
        self.started = 0;
        self.written += n;
        while self.unconfirmed_bytes > MAX_UNCONFIRMED_BYTES {
            self.forget_oldest();
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

    fn forget_oldest(&mut self) {
        if let Some(frame) = self.unconfirmed.pop_front() {
            self.unconfirmed_bytes -= frame.len();
            self.confirmed += 1;
        }
    }

    /// True when the unconfirmed frames fill the write window.
    pub(crate) fn window_full(&self) -> bool {
        self.unconfirmed_bytes >= WINDOW_BYTES || self.unconfirmed.len() >= WINDOW_FRAMES
    }

    /// Queues, first, a confirmation ping for everything written, unless one
    /// in flight covers it already. True when one was queued.
    fn mark_written(&mut self, now: Instant) -> bool {
        if self.written <= self.covered() || self.marks.len() >= MAX_MARKS || self.closing {
            return false;
        }
        self.marks.push_back(self.written);
        self.last_mark = Some(now);
        self.pending
            .push_front(WsMessage::Ping(self.written.to_be_bytes().to_vec().into()));
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
            self.pending
                .push_back(WsMessage::Ping(self.accepted.to_be_bytes().to_vec().into()));
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
            self.forget_oldest();
        }
    }

    /// The connection ended. Clean: everything written was read. Unclean:
    /// the unconfirmed frames are queued again or given up, by mode. Either
    /// way the next connection starts from the first frame not written;
    /// control frames of the old connection are dropped.
    pub(crate) fn connection_ended(&mut self, ending: Ending) -> Settled {
        self.started = 0;
        self.marks.clear();
        self.closing = false;
        self.pending.retain(is_data);
        let n = self.unconfirmed.len() as u64;
        let settled = match (ending, self.mode) {
            _ if n == 0 => Settled::Nothing,
            (Ending::Clean, _) => {
                self.confirmed = self.written;
                self.unconfirmed.clear();
                Settled::Nothing
            }
            (Ending::Unclean, DeliveryMode::AtLeastOnce) => {
                while let Some(frame) = self.unconfirmed.pop_back() {
                    self.pending.push_front(frame);
                }
                self.written = self.confirmed;
                Settled::Resent(n)
            }
            (Ending::Unclean, DeliveryMode::AtMostOnce) => {
                self.confirmed = self.written;
                self.unconfirmed.clear();
                Settled::PossiblyLost(n)
            }
        };
        self.unconfirmed_bytes = 0;
        settled
    }

    /// Everything not delivered, oldest first, for a client that closes:
    /// (at least once) the unconfirmed frames, then those never written.
    /// With [`DeliveryMode::AtMostOnce`] the unconfirmed ones are counted in
    /// the second value as possibly lost instead.
    pub(crate) fn take_undelivered(&mut self) -> (Undelivered, u64) {
        let mut frames = Vec::with_capacity(self.unconfirmed.len() + self.pending.len());
        let mut possibly_lost = 0;
        let unconfirmed = std::mem::take(&mut self.unconfirmed);
        let written = match self.mode {
            DeliveryMode::AtLeastOnce => {
                frames.extend(unconfirmed.into_iter().filter_map(to_outgoing));
                frames.len()
            }
            DeliveryMode::AtMostOnce => {
                possibly_lost = unconfirmed.len() as u64;
                0
            }
        };
        frames.extend(self.pending.drain(..).filter_map(to_outgoing));
        self.unconfirmed_bytes = 0;
        self.started = 0;
        self.flushes.clear();
        (Undelivered::new(frames, written), possibly_lost)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> WsMessage {
        WsMessage::Text(s.into())
    }

    /// What `poll_write` does to the ledger in one turn, minus the socket:
    /// every pending frame (and the turn's confirmation ping, if it takes
    /// one) handed over. Returns the ping's payload, if any.
    fn turn(ledger: &mut Ledger, now: Instant) -> Option<Vec<u8>> {
        let before = ledger.pending.len();
        ledger.mark_turn(now, false);
        let ping = (ledger.pending.len() > before).then(|| match ledger.pending.back() {
            Some(WsMessage::Ping(p)) => p.to_vec(),
            other => panic!("expected the confirmation ping, got {other:?}"),
        });
        ledger.started = ledger.pending.len();
        ping
    }

    fn send(ledger: &mut Ledger, texts: &[&str]) {
        for t in texts {
            ledger.accept(text(t));
        }
    }

    #[test]
    fn a_pong_confirms_everything_before_its_ping() {
        let t0 = Instant::now();
        let mut l = Ledger::new(DeliveryMode::AtLeastOnce);
        send(&mut l, &["a", "b"]);
        let mark = turn(&mut l, t0).unwrap();
        assert_eq!(l.flushed(), 2);
        assert_eq!(l.unconfirmed_len(), 2);
        send(&mut l, &["c"]);
        l.pong(&[0; 8]); // not our mark
        assert_eq!(l.unconfirmed_len(), 2);
        l.pong(&mark);
        assert_eq!(l.unconfirmed_len(), 0);
        assert!(l.has_undelivered(), "c is not written yet");
    }

    /// Past the write window no new turn starts; one ping for what is
    /// written goes first, and its pong opens the window again.
    #[test]
    fn a_full_window_holds_new_turns_back_until_a_pong() {
        let t0 = Instant::now();
        let mut l = Ledger::new(DeliveryMode::AtLeastOnce);
        let big = "x".repeat(WINDOW_BYTES / 4);
        let texts: Vec<&str> = vec![big.as_str(); 4];
        send(&mut l, &texts);
        // One turn of four frames takes its ping (the first turn is due one).
        let first = turn(&mut l, t0).unwrap();
        assert_eq!(l.flushed(), 4);
        assert!(l.window_full());
        send(&mut l, &["late"]);
        // The ping in flight covers what is written: nothing to do.
        assert!(!l.mark_written(t0));
        l.pong(&first);
        assert!(!l.window_full());
        assert_eq!(l.unconfirmed_len(), 0);
        // Fill it again without a ping (a turn within MARK_EVERY of the last).
        send(&mut l, &texts);
        assert_eq!(turn(&mut l, t0), None);
        l.flushed();
        assert!(l.window_full());
        // Now a ping for the written frames goes to the front, alone.
        assert!(l.mark_written(t0));
        assert!(
            matches!(l.pending.front(), Some(WsMessage::Ping(p)) if p[..] == 9u64.to_be_bytes())
        );
        assert_eq!(l.marks.back(), Some(&9));
    }

    /// A token-refresh handover queues our close frame behind the data; a
    /// keepalive or confirmation ping after it would make the socket refuse
    /// the write, end the connection uncleanly and write the tail twice.
    #[test]
    fn nothing_is_queued_behind_our_close_frame_and_the_echo_confirms_all() {
        let t0 = Instant::now();
        let mut l = Ledger::new(DeliveryMode::AtLeastOnce);
        send(&mut l, &["a", "b"]);
        l.push_control(WsMessage::Close(None));
        assert_eq!(
            turn(&mut l, t0 + MARK_EVERY),
            None,
            "no ping after the close"
        );
        l.push_control(WsMessage::Ping(Default::default()));
        assert!(l.pending.back().is_some_and(WsMessage::is_close));
        assert_eq!(l.flushed(), 2);
        assert_eq!(l.mark_due(), None, "the echo confirms, not a ping");
        assert_eq!(l.connection_ended(Ending::Clean), Settled::Nothing);
        send(&mut l, &["c"]);
        assert!(
            turn(&mut l, t0 + MARK_EVERY * 2).is_some(),
            "a new connection pings again"
        );
    }

    #[test]
    fn a_turn_takes_a_ping_when_one_is_due_and_a_later_pong_confirms_earlier_turns() {
        let t0 = Instant::now();
        let mut l = Ledger::new(DeliveryMode::AtLeastOnce);
        send(&mut l, &["a"]);
        let first = turn(&mut l, t0).unwrap();
        l.flushed();
        assert_eq!(turn(&mut l, t0), None, "nothing new: no ping");
        send(&mut l, &["b"]);
        let soon = t0 + Duration::from_millis(1);
        assert_eq!(turn(&mut l, soon), None, "a ping is in flight and not old");
        l.flushed();
        assert_eq!(l.mark_due(), Some(t0 + MARK_EVERY), "b waits for one");
        send(&mut l, &["c"]);
        let second = turn(&mut l, t0 + MARK_EVERY).unwrap();
        l.flushed();
        assert_eq!(l.mark_due(), None);
        assert_ne!(first, second);
        assert_eq!(l.unconfirmed_len(), 3);
        l.pong(&second);
        assert_eq!(l.unconfirmed_len(), 0);
        l.pong(&first); // already answered by the later one
        assert!(l.marks.is_empty());
    }

    #[test]
    fn a_burst_takes_a_ping_at_once() {
        let t0 = Instant::now();
        let mut l = Ledger::new(DeliveryMode::AtLeastOnce);
        send(&mut l, &["a"]);
        turn(&mut l, t0).unwrap();
        l.flushed();
        for _ in 0..MARK_FRAMES {
            send(&mut l, &["x"]);
        }
        assert!(turn(&mut l, t0 + Duration::from_millis(1)).is_some());
    }

    #[test]
    fn an_unclean_end_requeues_the_unconfirmed_first_at_least_once() {
        let t0 = Instant::now();
        let mut l = Ledger::new(DeliveryMode::AtLeastOnce);
        send(&mut l, &["a", "b"]);
        turn(&mut l, t0);
        l.flushed();
        send(&mut l, &["c"]);
        assert_eq!(l.connection_ended(Ending::Unclean), Settled::Resent(2));
        let order: Vec<_> = l
            .pending
            .iter()
            .map(|f| f.to_text().unwrap().to_owned())
            .collect();
        assert_eq!(order, ["a", "b", "c"], "no ping left, order kept");
        turn(&mut l, t0);
        assert_eq!(l.flushed(), 3);
        assert_eq!(l.connection_ended(Ending::Clean), Settled::Nothing);
        assert!(!l.has_undelivered());
    }

    #[test]
    fn an_unclean_end_reports_the_unconfirmed_at_most_once() {
        let t0 = Instant::now();
        let mut l = Ledger::new(DeliveryMode::AtMostOnce);
        send(&mut l, &["a"]);
        turn(&mut l, t0);
        l.flushed();
        assert_eq!(
            l.connection_ended(Ending::Unclean),
            Settled::PossiblyLost(1)
        );
        assert!(l.pending.is_empty());
        assert!(!l.has_undelivered());
    }

    #[test]
    fn flush_answers_once_everything_before_it_is_written() {
        let t0 = Instant::now();
        let mut l = Ledger::new(DeliveryMode::AtLeastOnce);
        let (tx, mut rx) = oneshot::channel();
        l.flush(tx);
        assert!(rx.try_recv().is_ok(), "nothing pending: at once");
        send(&mut l, &["a"]);
        let (tx, mut rx) = oneshot::channel();
        l.flush(tx);
        send(&mut l, &["b"]);
        assert!(rx.try_recv().is_err());
        turn(&mut l, t0);
        l.flushed();
        assert!(rx.try_recv().is_ok());
    }

    #[test]
    fn undelivered_lists_unconfirmed_then_unwritten() {
        let t0 = Instant::now();
        let mut l = Ledger::new(DeliveryMode::AtLeastOnce);
        send(&mut l, &["a"]);
        turn(&mut l, t0);
        l.flushed();
        send(&mut l, &["b", "c"]);
        let (u, lost) = l.take_undelivered();
        assert_eq!(lost, 0);
        assert_eq!(u.written(), 1);
        let texts: Vec<_> = u.frames().iter().map(|f| f.as_text().unwrap()).collect();
        assert_eq!(texts, ["a", "b", "c"]);
    }
}
