//! The record of frames read from clients, per connection and in arrival
//! order, kept while switched on by
//! [`FaultControl::record`](super::FaultControl::record).
//!
//! Readers append a reference-counted clone of each frame's payload to
//! their connection's log (one uncontended lock); nothing is parsed or
//! copied until [`FaultControl::recorded`](super::FaultControl::recorded)
//! is asked. While off, a reader pays one atomic load per frame.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::lock::lock;

/// How a recorded connection ended, as the gateway saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConnectionEnd {
    /// Still open.
    Open,
    /// The client's close frame was read: it started the closing handshake
    /// or answered the gateway's close frame. The one clean ending.
    ClientClose,
    /// The client's end of the TCP stream (EOF, reset, or a read or write
    /// error) came without a close frame from it.
    Eof,
    /// The gateway sent a close frame (or asked to) and the client neither
    /// answered it nor ended the stream within the grace period
    /// ([`FaultControl::close_user_with_grace`], or the 5 seconds of
    /// [`FaultControl::close_user_gracefully`]); the gateway dropped it.
    ///
    /// [`FaultControl::close_user_with_grace`]: super::FaultControl::close_user_with_grace
    /// [`FaultControl::close_user_gracefully`]: super::FaultControl::close_user_gracefully
    GraceExpired,
    /// Reset by [`FaultControl::abort_user`](super::FaultControl::abort_user)
    /// or [`FaultControl::abort_all`](super::FaultControl::abort_all).
    Aborted,
    /// Dropped by the gateway without a close frame:
    /// [`FaultControl::close_user`](super::FaultControl::close_user),
    /// [`FaultControl::close_all_now`](super::FaultControl::close_all_now),
    /// [`FaultControl::close_all_after`](super::FaultControl::close_all_after)
    /// or the gateway's shutdown.
    Dropped,
}

/// What the gateway read on one websocket connection while recording was
/// on; see [`FaultControl::recorded`](super::FaultControl::recorded).
///
/// ```no_run
/// # async fn demo(gateway: ms_utils_dev::gateway::DevGateway) {
/// use ms_utils_dev::gateway::ConnectionEnd;
///
/// let faults = gateway.faults();
/// faults.record(true);
/// // ... a client connects as "svc", sends, and closes ...
/// for conn in faults.recorded("svc") {
///     println!("connection {}: {} frames, {:?}", conn.id, conn.frames.len(), conn.end);
///     assert!(conn.ended_cleanly() || conn.end == ConnectionEnd::Open);
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordedConnection {
    /// The connection's number: the gateway numbers every websocket it
    /// accepts (whatever the user) from 1 up, so a later connection has a
    /// larger number.
    pub id: u64,
    /// The text frames read, in arrival order: whole messages and chunk
    /// pieces alike, as the client sent them (not reassembled).
    pub frames: Vec<String>,
    /// The binary frames read, in arrival order among themselves (where
    /// they fell between text frames is not kept).
    pub binary_frames: Vec<Bytes>,
    /// How the connection ended, or [`ConnectionEnd::Open`].
    pub end: ConnectionEnd,
    /// The code of the client's close frame, once one was read (a close
    /// frame without a code reads as 1005, as RFC 6455 says).
    pub close_code: Option<u16>,
}

impl RecordedConnection {
    /// True when the connection ended with the client's close frame
    /// ([`ConnectionEnd::ClientClose`]).
    ///
    /// ```no_run
    /// # async fn demo(gateway: ms_utils_dev::gateway::DevGateway) {
    /// let conns = gateway.faults().recorded("svc");
    /// assert!(conns.iter().all(|c| c.ended_cleanly()));
    /// # }
    /// ```
    pub fn ended_cleanly(&self) -> bool {
        self.end == ConnectionEnd::ClientClose
    }
}

/// A frame as read, sharing the reader's buffer.
enum Frame {
    Text(Utf8Bytes),
    Binary(Bytes),
}

/// One connection's log.
pub(super) struct ConnLog {
    id: u64,
    user: String,
    /// The recording this log belongs to (see [`Recorder::start`]).
    generation: u64,
    frames: Mutex<Vec<Frame>>,
    end: Mutex<ConnectionEnd>,
    close_code: Mutex<Option<u16>>,
}

impl ConnLog {
    fn snapshot(&self) -> RecordedConnection {
        let end = *lock(&self.end);
        let frames = lock(&self.frames);
        let mut texts = Vec::with_capacity(frames.len());
        let mut binary_frames = Vec::new();
        for frame in frames.iter() {
            match frame {
                Frame::Text(t) => texts.push(t.as_str().to_owned()),
                Frame::Binary(b) => binary_frames.push(b.clone()),
            }
        }
        RecordedConnection {
            id: self.id,
            frames: texts,
            binary_frames,
            end,
            close_code: *lock(&self.close_code),
        }
    }
}

#[derive(Default)]
struct Book {
    generation: u64,
    connections: BTreeMap<u64, Arc<ConnLog>>,
}

/// Every connection's log, for the current recording.
#[derive(Default)]
pub(super) struct Recorder {
    on: AtomicBool,
    generation: AtomicU64,
    book: Mutex<Book>,
}

impl Recorder {
    pub(super) fn is_on(&self) -> bool {
        self.on.load(Ordering::Relaxed)
    }

    /// Starts a new recording (forgetting the last one) with a log for each
    /// of the `open` connections, unless one is already running. The caller
    /// holds the session table's lock, so that a connection registered
    /// after this sees the recording on (and logs itself) and one
    /// registered before is in `open`.
    pub(super) fn start<'a>(&self, open: impl IntoIterator<Item = (u64, &'a str)>) {
        let mut book = lock(&self.book);
        if self.is_on() {
            return;
        }
        book.generation += 1;
        book.connections.clear();
        let generation = book.generation;
        for (id, user) in open {
            book.connections
                .insert(id, Arc::new(ConnLog::new(id, user, generation)));
        }
        self.generation.store(generation, Ordering::Relaxed);
        self.on.store(true, Ordering::Relaxed);
    }

    /// Stops recording; what was recorded stays readable.
    pub(super) fn stop(&self) {
        let _book = lock(&self.book);
        self.on.store(false, Ordering::Relaxed);
    }

    /// The log of connection `id` in the current recording, created if
    /// needed; `None` while recording is off.
    pub(super) fn log_for(&self, id: u64, user: &str) -> Option<Arc<ConnLog>> {
        if !self.is_on() {
            return None;
        }
        let mut book = lock(&self.book);
        // Looked at again under the lock: `stop` may have come in between.
        if !self.is_on() {
            return None;
        }
        let generation = book.generation;
        let log = book
            .connections
            .entry(id)
            .or_insert_with(|| Arc::new(ConnLog::new(id, user, generation)));
        Some(Arc::clone(log))
    }

    /// Notes how connection `id` ended, if it is in the current recording.
    /// Called with the session table locked, as the connection leaves it
    /// (see [`Recorder::start`]).
    pub(super) fn finish(&self, id: u64, end: ConnectionEnd) {
        let log = lock(&self.book).connections.get(&id).cloned();
        if let Some(log) = log {
            *lock(&log.end) = end;
        }
    }

    /// The logs of `user`'s connections, in connection order, taken out of
    /// the book so that reading them does not hold its lock.
    fn logs_of(&self, user: &str) -> Vec<Arc<ConnLog>> {
        lock(&self.book)
            .connections
            .values()
            .filter(|log| log.user == user)
            .cloned()
            .collect()
    }

    /// The logs of `user`'s connections, in connection order.
    pub(super) fn recorded(&self, user: &str) -> Vec<RecordedConnection> {
        self.logs_of(user)
            .iter()
            .map(|log| log.snapshot())
            .collect()
    }

    /// All text frames of `user`'s connections, in connection order.
    pub(super) fn recorded_texts(&self, user: &str) -> Vec<String> {
        let logs = self.logs_of(user);
        let mut texts = Vec::new();
        for log in &logs {
            let frames = lock(&log.frames);
            texts.reserve(frames.len());
            texts.extend(frames.iter().filter_map(|f| match f {
                Frame::Text(t) => Some(t.as_str().to_owned()),
                Frame::Binary(_) => None,
            }));
        }
        texts
    }
}

impl ConnLog {
    fn new(id: u64, user: &str, generation: u64) -> Self {
        Self {
            id,
            user: user.to_owned(),
            generation,
            frames: Mutex::new(Vec::new()),
            end: Mutex::new(ConnectionEnd::Open),
            close_code: Mutex::new(None),
        }
    }
}

/// A connection reader's handle on the recorder: keeps its log at hand
/// between frames and notices a new recording.
pub(super) struct FrameTap<'a> {
    recorder: &'a Recorder,
    id: u64,
    user: &'a str,
    log: Option<Arc<ConnLog>>,
}

impl<'a> FrameTap<'a> {
    pub(super) fn new(recorder: &'a Recorder, id: u64, user: &'a str) -> Self {
        Self {
            recorder,
            id,
            user,
            log: None,
        }
    }

    /// Records a text frame, if recording is on.
    pub(super) fn text(&mut self, text: &Utf8Bytes) {
        if let Some(log) = self.log() {
            lock(&log.frames).push(Frame::Text(text.clone()));
        }
    }

    /// Records a binary frame, if recording is on.
    pub(super) fn binary(&mut self, bytes: &Bytes) {
        if let Some(log) = self.log() {
            lock(&log.frames).push(Frame::Binary(bytes.clone()));
        }
    }

    /// Records the code of the client's close frame, if recording is on.
    pub(super) fn close(&mut self, code: u16) {
        if let Some(log) = self.log() {
            *lock(&log.close_code) = Some(code);
        }
    }

    fn log(&mut self) -> Option<&ConnLog> {
        if !self.recorder.is_on() {
            return None;
        }
        let current = self.recorder.generation.load(Ordering::Relaxed);
        if self.log.as_ref().is_none_or(|l| l.generation != current) {
            self.log = self.recorder.log_for(self.id, self.user);
        }
        self.log.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_kept_per_connection_in_order_while_on() {
        let rec = Recorder::default();
        let mut tap = FrameTap::new(&rec, 1, "a");
        tap.text(&"before".into());
        assert!(rec.recorded("a").is_empty());

        rec.start([(1, "a")]);
        tap.text(&"one".into());
        tap.binary(&Bytes::from_static(b"\x00"));
        tap.text(&"two".into());
        let mut other = FrameTap::new(&rec, 2, "a");
        other.text(&"three".into());
        rec.finish(1, ConnectionEnd::ClientClose);

        let got = rec.recorded("a");
        assert_eq!(got.len(), 2);
        assert_eq!((got[0].id, got[1].id), (1, 2));
        assert_eq!(got[0].frames, ["one", "two"]);
        assert_eq!(got[0].binary_frames, [Bytes::from_static(b"\x00")]);
        assert!(got[0].ended_cleanly());
        assert_eq!(got[1].end, ConnectionEnd::Open);
        assert_eq!(rec.recorded_texts("a"), ["one", "two", "three"]);
        assert!(rec.recorded("b").is_empty());

        // Off keeps the record; on again starts a new one.
        rec.stop();
        tap.text(&"ignored".into());
        assert_eq!(rec.recorded_texts("a"), ["one", "two", "three"]);
        rec.start([(1, "a")]);
        tap.text(&"fresh".into());
        assert_eq!(rec.recorded_texts("a"), ["fresh"]);
    }

    #[test]
    fn a_hundred_thousand_frames_are_kept_by_reference() {
        let rec = Recorder::default();
        rec.start([]);
        let mut tap = FrameTap::new(&rec, 7, "a");
        let frame = Utf8Bytes::from("x".repeat(100));
        for _ in 0..100_000 {
            tap.text(&frame);
        }
        let texts = rec.recorded_texts("a");
        assert_eq!(texts.len(), 100_000);
        assert!(texts.iter().all(|t| t.len() == 100));
        assert_eq!(rec.recorded("a")[0].frames.len(), 100_000);
    }
}
