//! What the client reports: connection state, events and counters.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The connection's state, published on a `watch` channel
/// ([`MicroServiceWs::state`](super::MicroServiceWs::state)).
///
/// ```
/// use ms_utils_communication::ws::ConnectionState;
/// assert!(ConnectionState::Connected.is_connected());
/// assert!(ConnectionState::Closed.is_closed());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionState {
    /// Logging in and opening the first connection.
    Connecting,
    /// The websocket is open.
    Connected,
    /// The connection was lost; attempt `attempt` (1-based) starts after `delay`.
    Reconnecting {
        /// 1-based number of the coming attempt.
        attempt: u32,
        /// The backoff delay before it.
        delay: Duration,
    },
    /// Closed for good (by `close()`, by dropping every handle, or after giving up).
    Closed,
}

impl ConnectionState {
    /// True in [`ConnectionState::Connected`].
    ///
    /// ```
    /// # use ms_utils_communication::ws::ConnectionState;
    /// assert!(!ConnectionState::Connecting.is_connected());
    /// ```
    pub fn is_connected(&self) -> bool {
        matches!(self, ConnectionState::Connected)
    }

    /// True in [`ConnectionState::Closed`].
    ///
    /// ```
    /// # use ms_utils_communication::ws::ConnectionState;
    /// assert!(!ConnectionState::Connected.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self, ConnectionState::Closed)
    }
}

/// Something that happened to the client, on the stream from
/// [`MicroServiceWs::events`](super::MicroServiceWs::events). Never carries a
/// secret.
///
/// ```
/// use ms_utils_communication::ws::Event;
/// assert_eq!(Event::Connected.to_string(), "connected");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The websocket is open (first time or after a reconnect).
    Connected,
    /// The connection was lost, or replaced on purpose (a reconnect follows
    /// unless the client is closing).
    Disconnected {
        /// Why.
        reason: DisconnectReason,
    },
    /// A message from the gateway was over
    /// [`WsConfig::max_message_size`](super::WsConfig::max_message_size). It
    /// was discarded as it arrived (never held in memory), the messages
    /// behind it were delivered, and the connection is closed with code 1009
    /// and replaced at once, nothing lost either way.
    MessageTooBig {
        /// Its size in bytes (at least; for a fragmented message, what had
        /// arrived when it went over).
        size: u64,
        /// The limit in force.
        limit: usize,
    },
    /// A reconnect attempt is scheduled.
    Reconnecting {
        /// 1-based attempt number.
        attempt: u32,
        /// Backoff delay before it.
        delay: Duration,
    },
    /// A (re)connect attempt failed.
    ConnectFailed {
        /// The error, displayed.
        error: String,
        /// Whether the gateway refused the credentials.
        bad_credentials: bool,
    },
    /// A chunk message or a whole chunk job was dropped ([protocol: chunking](crate::protocol#chunking)):
    /// a defect, a limit, an eviction to make room, or its TTL.
    ChunkDropped {
        /// The job, when known.
        job_id: Option<String>,
        /// Why.
        reason: crate::ws::chunks::ChunkDropReason,
    },
    /// A handler call failed: returned an error, panicked, or ran past its
    /// deadline ([`RunOptions::deadline`](super::RunOptions::deadline)).
    HandlerFailed {
        /// The message's key (its `jobId` unless
        /// [`RunOptions::key`](super::RunOptions::key) says otherwise).
        key: Option<String>,
        /// What went wrong.
        failure: HandlerFailure,
    },
    /// A text frame that is not JSON was dropped.
    FrameDropped {
        /// Size of the dropped frame in bytes.
        len: usize,
    },
    /// A connection ended before confirming `count` messages written on it;
    /// they are written again, first, on the next connection
    /// ([`DeliveryMode::AtLeastOnce`](super::DeliveryMode::AtLeastOnce)).
    Resent {
        /// How many.
        count: u64,
    },
    /// A connection ended before confirming `count` messages written on it,
    /// and they are not written again
    /// ([`DeliveryMode::AtMostOnce`](super::DeliveryMode::AtMostOnce)): the
    /// gateway may not have read them.
    PossiblyLost {
        /// How many.
        count: u64,
    },
    /// The client is closed.
    Closed,
}

/// Why a connection ended, as carried by [`Event::Disconnected`].
///
/// ```
/// use ms_utils_communication::ws::DisconnectReason;
/// let r = DisconnectReason::GatewayClosed { code: 1001, reason: "deploy".into() };
/// assert!(r.is_gateway_close());
/// assert_eq!(r.to_string(), "closed by the gateway (1001 deploy)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The gateway sent a close frame of its own (a deploy's 1001, say).
    GatewayClosed {
        /// The close code (1005 when the frame had none).
        code: u16,
        /// The close frame's reason text.
        reason: String,
    },
    /// The connection failed or ended without a close frame: a reset, an
    /// end of stream, a read or write error.
    Failed {
        /// What failed, for humans (the I/O error's text).
        detail: String,
    },
    /// Nothing came from the gateway for the keepalive interval plus its
    /// timeout, a ping included.
    KeepaliveTimeout {
        /// How long it was silent.
        after: Duration,
    },
    /// Replaced by a new connection because the token was about to expire.
    TokenRefresh,
    /// Closed by the client with code 1009 after a message over the size
    /// limit (see [`Event::MessageTooBig`]).
    MessageTooBig,
}

impl DisconnectReason {
    /// True for [`DisconnectReason::GatewayClosed`].
    pub fn is_gateway_close(&self) -> bool {
        matches!(self, Self::GatewayClosed { .. })
    }

    /// True for [`DisconnectReason::KeepaliveTimeout`].
    pub fn is_keepalive_timeout(&self) -> bool {
        matches!(self, Self::KeepaliveTimeout { .. })
    }

    /// True when the client replaced the connection on purpose (token
    /// refresh, an oversized message) rather than losing it.
    pub fn is_handover(&self) -> bool {
        matches!(self, Self::TokenRefresh | Self::MessageTooBig)
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::GatewayClosed { code, reason } if reason.is_empty() => {
                write!(f, "closed by the gateway ({code})")
            }
            Self::GatewayClosed { code, reason } => {
                write!(f, "closed by the gateway ({code} {reason})")
            }
            Self::Failed { detail } => write!(f, "connection failed: {detail}"),
            Self::KeepaliveTimeout { after } => {
                write!(f, "no answer from the gateway for {after:?}")
            }
            Self::TokenRefresh => f.write_str("token refresh"),
            Self::MessageTooBig => f.write_str("closed after a message over the size limit"),
        }
    }
}

/// How a handler call failed ([`Event::HandlerFailed`]).
///
/// ```
/// use std::time::Duration;
/// use ms_utils_communication::ws::HandlerFailure;
/// let f = HandlerFailure::TimedOut { after: Duration::from_secs(30) };
/// assert_eq!(f.to_string(), "ran past its deadline of 30s");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandlerFailure {
    /// It returned an error.
    Error {
        /// The error, displayed.
        message: String,
    },
    /// The message's payload does not fit the type a typed route reads
    /// ([`Router::route`](super::Router::route), [`Router::task`](super::Router::task)).
    BadPayload {
        /// What did not fit, as serde says it.
        message: String,
    },
    /// It panicked.
    Panic {
        /// The panic's message, when it was a string.
        message: String,
    },
    /// It ran past its deadline and was cancelled (at its next await).
    TimedOut {
        /// The deadline.
        after: Duration,
    },
}

impl fmt::Display for HandlerFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Error { message } => write!(f, "returned an error: {message}"),
            Self::BadPayload { message } => write!(f, "could not read the payload: {message}"),
            Self::Panic { message } => write!(f, "panicked: {message}"),
            Self::TimedOut { after } => write!(f, "ran past its deadline of {after:?}"),
        }
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Connected => f.write_str("connected"),
            Event::Disconnected { reason } => write!(f, "disconnected: {reason}"),
            Event::Reconnecting { attempt, delay } => {
                write!(f, "reconnecting (attempt {attempt}) in {delay:?}")
            }
            Event::ConnectFailed { error, .. } => write!(f, "connect failed: {error}"),
            Event::ChunkDropped { job_id, reason } => {
                write!(
                    f,
                    "chunk dropped (job {}): {reason}",
                    job_id.as_deref().unwrap_or("?")
                )
            }
            Event::MessageTooBig { size, limit } => {
                write!(
                    f,
                    "message of {size} bytes over the limit of {limit} dropped"
                )
            }
            Event::HandlerFailed { key, failure } => {
                write!(f, "handler for {} {failure}", key.as_deref().unwrap_or("-"))
            }
            Event::FrameDropped { len } => write!(f, "non-JSON text frame of {len} bytes dropped"),
            Event::Resent { count } => {
                write!(f, "{count} unconfirmed messages written again")
            }
            Event::PossiblyLost { count } => {
                write!(f, "{count} unconfirmed messages may be lost")
            }
            Event::Closed => f.write_str("closed"),
        }
    }
}

/// A snapshot of the client's counters ([`MicroServiceWs::stats`](super::MicroServiceWs::stats)).
///
/// ```
/// let s = ms_utils_communication::ws::Stats::default();
/// assert_eq!(s.messages_in, 0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Data frames received (text and binary, chunk messages included).
    pub messages_in: u64,
    /// Data frames written and flushed.
    pub messages_out: u64,
    /// Successful reconnects after a loss.
    pub reconnects: u64,
    /// Chunk jobs waiting for more chunks.
    pub chunk_jobs_pending: u64,
    /// Chunk jobs dropped (defect, limit, eviction or expiry).
    pub chunk_jobs_dropped: u64,
    /// Of those, partial jobs evicted (oldest first) to make room under
    /// [`ChunkLimits::max_pending_jobs`](crate::ws::chunks::ChunkLimits::max_pending_jobs)
    /// or [`ChunkLimits::max_total_bytes`](crate::ws::chunks::ChunkLimits::max_total_bytes).
    pub chunk_jobs_evicted: u64,
    /// Decoded bytes held by partial chunk jobs.
    pub chunk_bytes_pending: u64,
    /// Chunk messages dropped without killing a job (duplicates, chunk
    /// messages whose header cannot be read).
    pub chunks_ignored: u64,
    /// Chunked messages reassembled and delivered.
    pub chunk_jobs_completed: u64,
    /// Non-JSON text frames dropped.
    pub frames_dropped: u64,
    /// Messages over the size limit, discarded as they arrived
    /// ([`Event::MessageTooBig`]).
    pub messages_too_big: u64,
    /// Handler calls that returned an error, panicked or ran past their
    /// deadline.
    pub handler_errors: u64,
    /// Of those, calls cancelled at their deadline
    /// ([`RunOptions::deadline`](super::RunOptions::deadline)).
    pub handler_timeouts: u64,
    /// Messages written again on a new connection because the connection
    /// they were written on ended before confirming them
    /// ([`DeliveryMode::AtLeastOnce`](super::DeliveryMode::AtLeastOnce)): an
    /// upper bound on the duplicates the gateway may have seen.
    pub resent: u64,
    /// Messages written on a connection that ended before confirming them,
    /// and not written again
    /// ([`DeliveryMode::AtMostOnce`](super::DeliveryMode::AtMostOnce), or
    /// volatile messages): an upper bound on the messages lost.
    pub possibly_lost: u64,
    /// Volatile messages ([`MicroServiceWs::send_volatile`](super::MicroServiceWs::send_volatile))
    /// dropped without being written because their connection ended (or
    /// the client closed) first; each one's receipt failed, handing it back.
    /// (Those written and unconfirmed when their connection ended count in
    /// [`possibly_lost`](Self::possibly_lost).)
    pub volatile_dropped: u64,
    /// Messages accepted and not written yet (the outbound queue's depth, as
    /// the connection task last saw it).
    pub outbound_queued: u64,
    /// Messages written and not confirmed read by the gateway yet (see
    /// [`DeliveryMode`](super::DeliveryMode)).
    pub outbound_unconfirmed: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) messages_in: AtomicU64,
    pub(crate) messages_out: AtomicU64,
    pub(crate) reconnects: AtomicU64,
    pub(crate) chunk_jobs_pending: AtomicU64,
    pub(crate) chunk_jobs_dropped: AtomicU64,
    pub(crate) chunk_jobs_evicted: AtomicU64,
    pub(crate) chunk_bytes_pending: AtomicU64,
    pub(crate) chunks_ignored: AtomicU64,
    pub(crate) chunk_jobs_completed: AtomicU64,
    pub(crate) frames_dropped: AtomicU64,
    pub(crate) messages_too_big: AtomicU64,
    pub(crate) handler_errors: AtomicU64,
    pub(crate) handler_timeouts: AtomicU64,
    pub(crate) resent: AtomicU64,
    pub(crate) possibly_lost: AtomicU64,
    pub(crate) volatile_dropped: AtomicU64,
    pub(crate) outbound_queued: AtomicU64,
    pub(crate) outbound_unconfirmed: AtomicU64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> Stats {
        let r = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Stats {
            messages_in: r(&self.messages_in),
            messages_out: r(&self.messages_out),
            reconnects: r(&self.reconnects),
            chunk_jobs_pending: r(&self.chunk_jobs_pending),
            chunk_jobs_dropped: r(&self.chunk_jobs_dropped),
            chunk_jobs_evicted: r(&self.chunk_jobs_evicted),
            chunk_bytes_pending: r(&self.chunk_bytes_pending),
            chunks_ignored: r(&self.chunks_ignored),
            chunk_jobs_completed: r(&self.chunk_jobs_completed),
            frames_dropped: r(&self.frames_dropped),
            messages_too_big: r(&self.messages_too_big),
            handler_errors: r(&self.handler_errors),
            handler_timeouts: r(&self.handler_timeouts),
            resent: r(&self.resent),
            possibly_lost: r(&self.possibly_lost),
            volatile_dropped: r(&self.volatile_dropped),
            outbound_queued: r(&self.outbound_queued),
            outbound_unconfirmed: r(&self.outbound_unconfirmed),
        }
    }
}
