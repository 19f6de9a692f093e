//! State shared by the accept loop, every connection and [`FaultControl`]
//! handles: users, tokens, connected sessions, fault switches, counters.
//!
//! [`FaultControl`]: super::FaultControl

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

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
    pub(super) counters: watch::Sender<GatewayCounters>,
    pub(super) cancel: CancellationToken,
    pub(super) tracker: TaskTracker,
}

/// Locks a mutex even if a panicking thread poisoned it: every critical
/// section here leaves the data consistent.
pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
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

    pub(super) fn remove_session(&self, id: u64) {
        let removed = lock(&self.sessions).remove(&id);
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
            .filter(|s| s.user == user)
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
                s.close.cancel();
                n += 1;
            }
        }
        n
    }
}
