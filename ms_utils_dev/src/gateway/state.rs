//! State shared by the accept loop, every connection and [`FaultControl`]
//! handles: users, tokens, connected sessions, fault switches, counters.
//!
//! [`FaultControl`]: super::FaultControl

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::lock::lock;
use super::record::{ConnectionEnd, Recorder};
use super::tokens::TokenTable;

/// Counters of what the gateway has done since it started. Tests wait on
/// these (through [`FaultControl::wait_for`](super::FaultControl::wait_for))
/// instead of sleeping.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GatewayCounters {
    /// Requests to the login endpoint, whatever their outcome.
    pub login_attempts: u64,
    /// Logins answered 201 with a token.
    pub logins: u64,
    /// Websocket connections established (upgrades accepted).
    pub connections: u64,
    /// Websocket connections open right now.
    pub open_connections: u64,
    /// Upgrades refused for a missing, unknown or expired token.
    pub upgrades_refused: u64,
    /// Text frames read from clients (chunk messages count one each).
    pub messages_in: u64,
    /// `ms-send-task` messages delivered to their recipient.
    pub tasks_routed: u64,
    /// Of those, deliveries cut into chunk messages.
    pub tasks_chunked: u64,
    /// `ms-send-task` messages for a recipient that was not connected.
    pub unknown_recipients: u64,
    /// Chunk messages from clients that were dropped (see `ChunkDrop`).
    pub chunk_drops: u64,
    /// Frames still queued for a connection when it ended that no other
    /// connection of the same user could take.
    pub undelivered: u64,
    /// Ping frames read from clients (their keepalive, observable).
    pub pings_in: u64,
    /// Close frames read from clients (a client that says goodbye, as
    /// opposed to one whose socket just goes away).
    pub close_frames_in: u64,
    /// Close frames sent to clients (graceful closes and closes with a
    /// grace period), counted once written.
    pub close_frames_out: u64,
}

/// What a connection's writer is asked to send.
pub(super) enum Outbound {
    /// One text frame.
    Text(String),
    /// One binary frame.
    Binary(Bytes),
    /// A serialized message, sent as chunk messages of `piece` raw bytes,
    /// each piece base64-encoded as it is written.
    Chunked {
        job_id: String,
        payload: Vec<u8>,
        piece: usize,
    },
    /// The `bench-flood` answer, generated in the writer.
    Flood { count: u64, size: usize },
    /// A close frame; the writer then stops and the reader drains what the
    /// client sent before it saw the close.
    Close,
}

/// A connected websocket, as the rest of the gateway sees it.
pub(super) struct SessionHandle {
    pub(super) user: String,
    pub(super) tx: mpsc::Sender<Outbound>,
    /// Cancelled to drop this connection at once.
    pub(super) close: CancellationToken,
    /// Set once a close frame is queued: nothing more is routed here.
    pub(super) closing: Arc<AtomicBool>,
    /// Cancelled once the session is gone and everything it read is routed.
    pub(super) ended: CancellationToken,
    /// Switches shared with the session itself.
    pub(super) ctl: Arc<SessionCtl>,
}

/// Per-connection switches shared by the session and the fault calls.
pub(super) struct SessionCtl {
    /// While set and the connection is going away, a new connection of the
    /// same user is not read until this one has ended (see
    /// [`Shared::predecessors`]). Cleared by the faults that model a real
    /// gateway, which holds nothing back.
    holds_successors: AtomicBool,
    /// Once `Some`, the writer sends a close frame (if it has not yet) and
    /// the connection is dropped at that instant unless it ended before.
    grace: watch::Sender<Option<Instant>>,
    /// Makes dropping the socket reset the connection.
    reset: Arc<AtomicBool>,
    /// How the connection ended; the first reason given wins.
    end: OnceLock<ConnectionEnd>,
}

impl SessionCtl {
    /// `reset` is the socket's reset switch (`ConnIo::reset_switch`).
    pub(super) fn new(reset: Arc<AtomicBool>) -> Self {
        Self {
            holds_successors: AtomicBool::new(true),
            grace: watch::Sender::new(None),
            reset,
            end: OnceLock::new(),
        }
    }

    /// Notes why the connection ends, unless a reason was given already.
    pub(super) fn end(&self, why: ConnectionEnd) {
        let _ = self.end.set(why);
    }

    /// Why the connection ended; a connection torn down without a reason
    /// (the gateway shutting down) was dropped.
    pub(super) fn ended_by(&self) -> ConnectionEnd {
        self.end.get().copied().unwrap_or(ConnectionEnd::Dropped)
    }

    /// Asks for a close frame and a drop at `deadline`, or at the earlier
    /// deadline already asked for.
    pub(super) fn close_by(&self, deadline: Instant) {
        self.grace.send_if_modified(|d| {
            if d.is_some_and(|d| d <= deadline) {
                return false;
            }
            *d = Some(deadline);
            true
        });
    }

    /// A watch on the grace deadline (see [`SessionCtl::close_by`]).
    pub(super) fn grace(&self) -> watch::Receiver<Option<Instant>> {
        self.grace.subscribe()
    }
}

/// Fixed at start.
#[derive(Debug, Clone)]
pub(super) struct Settings {
    pub(super) chunk_threshold: usize,
    pub(super) chunk_piece_size: usize,
    pub(super) token_ttl: Duration,
    pub(super) max_message_size: usize,
    pub(super) allow_anonymous: bool,
}

pub(super) struct Shared {
    pub(super) users: HashMap<String, String>,
    pub(super) settings: Settings,
    pub(super) tokens: Mutex<TokenTable>,
    /// Keyed by a growing id, so the newest session of a user is the last.
    sessions: Mutex<BTreeMap<u64, SessionHandle>>,
    next_session: AtomicU64,
    pub(super) refuse_logins: AtomicBool,
    pub(super) login_status: Mutex<Option<u16>>,
    pub(super) stalled: watch::Sender<bool>,
    /// How long readers wait before reading each frame, when set.
    pub(super) read_delay: watch::Sender<Option<Duration>>,
    pub(super) recorder: Recorder,
    pub(super) counters: watch::Sender<GatewayCounters>,
    pub(super) cancel: CancellationToken,
    pub(super) tracker: TaskTracker,
}

impl Shared {
    pub(super) fn new(users: HashMap<String, String>, settings: Settings) -> Self {
        Self {
            users,
            settings,
            tokens: Mutex::new(TokenTable::default()),
            sessions: Mutex::new(BTreeMap::new()),
            next_session: AtomicU64::new(1),
            refuse_logins: AtomicBool::new(false),
            login_status: Mutex::new(None),
            stalled: watch::Sender::new(false),
            read_delay: watch::Sender::new(None),
            recorder: Recorder::default(),
            counters: watch::Sender::new(GatewayCounters::default()),
            cancel: CancellationToken::new(),
            tracker: TaskTracker::new(),
        }
    }

    pub(super) fn count(&self, f: impl FnOnce(&mut GatewayCounters)) {
        // Never called with `sessions` locked: waiters lock it while
        // holding the watch's read lock.
        self.counters.send_modify(f);
    }

    pub(super) fn refusing_logins(&self) -> bool {
        self.refuse_logins.load(Ordering::Relaxed)
    }

    /// Registers a session and returns its id.
    pub(super) fn add_session(&self, handle: SessionHandle) -> u64 {
        let id = self.next_session.fetch_add(1, Ordering::Relaxed);
        lock(&self.sessions).insert(id, handle);
        self.count(|c| {
            c.connections += 1;
            c.open_connections += 1;
        });
        id
    }

    /// Unregisters a session that ended as `end`, noting that in the
    /// record before the counters show it gone (so a test that waits on
    /// them reads the record complete).
    pub(super) fn remove_session(&self, id: u64, end: ConnectionEnd) {
        let removed = {
            let mut sessions = lock(&self.sessions);
            let removed = sessions.remove(&id);
            // Under the table's lock: a recording starting meanwhile either
            // lists this connection (and sees it end) or does not list it.
            self.recorder.finish(id, end);
            removed
        };
        if let Some(session) = removed {
            session.ended.cancel();
            self.count(|c| c.open_connections -= 1);
        }
    }

    /// The writer queue of `user`'s newest connection.
    pub(super) fn sender_for(&self, user: &str) -> Option<mpsc::Sender<Outbound>> {
        lock(&self.sessions)
            .values()
            .rev()
            .find(|s| {
                s.user == user && !s.closing.load(Ordering::Relaxed) && !s.close.is_cancelled()
            })
            .map(|s| s.tx.clone())
    }

    /// The `ended` tokens of `user`'s connections that are going away
    /// (closing, or dropped but not yet torn down). A new connection of the
    /// same user reads nothing until they have ended, so that what a client
    /// sent on its old connection is routed before what it sends on the new
    /// one.
    pub(super) fn predecessors(&self, user: &str) -> Vec<CancellationToken> {
        lock(&self.sessions)
            .values()
            .filter(|s| s.user == user && s.ctl.holds_successors.load(Ordering::Relaxed))
            .filter(|s| s.closing.load(Ordering::Relaxed) || s.close.is_cancelled())
            .map(|s| s.ended.clone())
            .collect()
    }

    /// Marks every connection (of `user` only, when given) as closing and
    /// returns their writer queues, to which the caller sends a close.
    pub(super) fn start_closing(&self, user: Option<&str>) -> Vec<mpsc::Sender<Outbound>> {
        lock(&self.sessions)
            .values()
            .filter(|s| user.is_none_or(|u| u == s.user))
            .filter(|s| !s.closing.swap(true, Ordering::Relaxed))
            .map(|s| s.tx.clone())
            .collect()
    }

    /// Users with an open connection, sorted, one entry per connection.
    pub(super) fn connected_users(&self) -> Vec<String> {
        let mut users: Vec<String> = lock(&self.sessions)
            .values()
            .map(|s| s.user.clone())
            .collect();
        users.sort();
        users
    }

    /// Drops every connection (of `user` only, when given); returns how many.
    pub(super) fn close_sessions(&self, user: Option<&str>) -> usize {
        let sessions = lock(&self.sessions);
        let mut n = 0;
        for s in sessions.values() {
            if user.is_none_or(|u| u == s.user) {
                s.ctl.end(ConnectionEnd::Dropped);
                s.close.cancel();
                n += 1;
            }
        }
        n
    }

    /// Sends a close frame on every connection (of `user` only, when given)
    /// that is not already dropped, and has it dropped at `deadline` if the
    /// client has not ended it by then. Nothing more is routed to them, and
    /// a new connection of the same user is read at once. Returns how many.
    pub(super) fn close_with_grace(&self, user: Option<&str>, deadline: Instant) -> usize {
        let sessions = lock(&self.sessions);
        let mut n = 0;
        for s in sessions.values() {
            if user.is_none_or(|u| u == s.user) && !s.close.is_cancelled() {
                s.closing.store(true, Ordering::Relaxed);
                s.ctl.holds_successors.store(false, Ordering::Relaxed);
                s.ctl.close_by(deadline);
                n += 1;
            }
        }
        n
    }

    /// Resets every connection (of `user` only, when given): drops it with
    /// `SO_LINGER` zero, so the kernel sends RST. Returns how many.
    pub(super) fn abort_sessions(&self, user: Option<&str>) -> usize {
        let sessions = lock(&self.sessions);
        let mut n = 0;
        for s in sessions.values() {
            if user.is_none_or(|u| u == s.user) {
                s.ctl.holds_successors.store(false, Ordering::Relaxed);
                s.ctl.reset.store(true, Ordering::Relaxed);
                s.ctl.end(ConnectionEnd::Aborted);
                s.close.cancel();
                n += 1;
            }
        }
        n
    }

    /// Starts a new recording that includes every open connection (see
    /// [`Recorder::start`]).
    pub(super) fn start_recording(&self) {
        let sessions = lock(&self.sessions);
        self.recorder
            .start(sessions.iter().map(|(id, s)| (*id, s.user.as_str())));
    }
}
