//! What "delivered" means for a message sent through the gateway, and what a
//! service gets back when delivery could not be completed.
//!
//! The gateway protocol has no acknowledgements. Two facts of the websocket
//! layer stand in for them, and the client uses both:
//!
//! - **A pong answers a ping only after everything sent before the ping was
//!   read** (a websocket peer reads its socket in order, and must answer a
//!   ping with a pong carrying the same payload). While messages are in
//!   flight the client sends a ping with a sequence number after them; its
//!   pong confirms every message up to that number.
//! - **A close answered confirms everything before it.** When the client
//!   closes (on `close()`, or to log in again), the gateway answers its close
//!   frame by echoing it, which it can only do after reading everything
//!   before it.
//!
//! What does *not* confirm anything: a close the gateway starts (a deploy's
//! 1001 "going away"), and the end of the TCP connection. A gateway that
//! gives up on a connection after its grace period may drop data it had
//! already taken from the socket and still end with an orderly FIN; the
//! client answers such a close and reads the connection to its end, so that
//! order holds, but it cannot know what the gateway read of the last
//! messages.
//!
//! A message written on a connection that then ends without confirming it
//! (a close the gateway started, a reset, a timeout, a gateway that stopped
//! reading) is *unconfirmed*: it may or may not have been read.
//! [`DeliveryMode`] says what happens to those.

use std::fmt;

use bytes::Bytes;

/// What the client does with messages that were written on a connection
/// that then ended without confirming them.
///
/// A message counts as confirmed when the gateway answered a ping sent after
/// it (a pong comes only once everything before the ping was read), or the
/// client's close frame, sent after it.
///
/// The default is [`DeliveryMode::AtLeastOnce`]: a task message that never
/// arrives leaves a job waiting forever on the other side, while a repeated
/// one is in most services a no-op (the same `jobId` answered twice) and can
/// be recognised by its `jobId`. What is repeated is only the unconfirmed
/// tail: the messages written after the last pong, which the confirmation
/// pings keep to about one round trip's worth, and the write window to at
/// most 1,024 messages (or 4 MiB), however fast the client writes. A
/// `close()` that the gateway answers repeats nothing.
///
/// Per message, beside the client's mode: a
/// [volatile](super::MicroServiceWs::send_volatile) message is written on
/// the connection open when it is sent or not at all (never queued across
/// a disconnect, never written twice), whatever the mode; and any message
/// can carry a [`Receipt`](super::Receipt)
/// ([`send_with_receipt`](super::MicroServiceWs::send_with_receipt)) that
/// says when the gateway confirmed it, or hands it back.
///
/// ```
/// use ms_utils_communication::ws::{DeliveryMode, MicroServiceWs};
///
/// let config = MicroServiceWs::builder("gateway.example.com")
///     .credentials("svc", "pw")
///     .delivery(DeliveryMode::AtMostOnce)
///     .build()?;
/// assert_eq!(config.delivery(), DeliveryMode::AtMostOnce);
/// # Ok::<(), ms_utils_communication::ws::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DeliveryMode {
    /// Unconfirmed messages are written again, first and in order, on the
    /// next connection. Nothing accepted is lost while the client can
    /// reconnect; the gateway may see a message twice. Each message written
    /// again is counted in [`Stats::resent`](super::Stats::resent) and
    /// reported by [`Event::Resent`](super::Event::Resent).
    #[default]
    AtLeastOnce,
    /// Unconfirmed messages are not written again: the gateway never sees a
    /// message twice, and may miss some. Their number is counted in
    /// [`Stats::possibly_lost`](super::Stats::possibly_lost) and reported by
    /// [`Event::PossiblyLost`](super::Event::PossiblyLost), never silently.
    AtMostOnce,
}

/// One message as it was accepted by `send` (already serialised).
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OutgoingFrame {
    /// A text frame: the JSON text (or raw text) that was sent.
    Text(String),
    /// A binary frame.
    Binary(Bytes),
}

impl OutgoingFrame {
    /// The text of a text frame.
    ///
    /// ```
    /// use ms_utils_communication::ws::OutgoingFrame;
    /// assert_eq!(OutgoingFrame::Text("{}".into()).as_text(), Some("{}"));
    /// ```
    pub fn as_text(&self) -> Option<&str> {
        match self {
            OutgoingFrame::Text(t) => Some(t),
            OutgoingFrame::Binary(_) => None,
        }
    }

    /// The frame's payload size in bytes.
    ///
    /// ```
    /// use ms_utils_communication::ws::OutgoingFrame;
    /// assert_eq!(OutgoingFrame::Text("abc".into()).len(), 3);
    /// ```
    pub fn len(&self) -> usize {
        match self {
            OutgoingFrame::Text(t) => t.len(),
            OutgoingFrame::Binary(b) => b.len(),
        }
    }

    /// True for an empty payload.
    ///
    /// ```
    /// use ms_utils_communication::ws::OutgoingFrame;
    /// assert!(OutgoingFrame::Binary(Default::default()).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Message contents may be confidential: `Debug` shows the kind and size only.
impl fmt::Debug for OutgoingFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OutgoingFrame::Text(t) => write!(f, "Text({} bytes)", t.len()),
            OutgoingFrame::Binary(b) => write!(f, "Binary({} bytes)", b.len()),
        }
    }
}

/// The messages a closing client could not deliver, handed back by
/// [`MicroServiceWs::close`](super::MicroServiceWs::close) inside
/// [`Error::Undelivered`](super::Error::Undelivered) (or
/// [`Error::CloseTimeout`](super::Error::CloseTimeout)), oldest first, so
/// that a service can persist them or send them again later; and the one
/// message of a [`Receipt`](super::Receipt) that failed.
///
/// The first [`written`](Undelivered::written) of them were written on a
/// connection that then ended unconfirmed (with
/// [`DeliveryMode::AtLeastOnce`]): the gateway may have read them. The rest
/// were never written.
///
/// ```
/// # async fn demo(ms: ms_utils_communication::ws::MicroServiceWs) {
/// use ms_utils_communication::ws::Error;
///
/// match ms.close().await {
///     Ok(()) => {}
///     Err(Error::Undelivered(undelivered)) => {
///         for frame in undelivered.frames() {
///             // persist `frame` (e.g. `frame.as_text()`) to retry it later
///             # let _ = frame;
///         }
///     }
///     Err(other) => eprintln!("close: {other}"),
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undelivered {
    frames: Vec<OutgoingFrame>,
    written: usize,
}

impl Undelivered {
    pub(crate) fn new(frames: Vec<OutgoingFrame>, written: usize) -> Self {
        Self { frames, written }
    }

    /// The messages, oldest first.
    pub fn frames(&self) -> &[OutgoingFrame] {
        &self.frames
    }

    /// The messages, oldest first, by value.
    pub fn into_frames(self) -> Vec<OutgoingFrame> {
        self.frames
    }

    /// How many of [`frames`](Undelivered::frames) (the first ones) were
    /// written but not confirmed: the gateway may have read them.
    pub fn written(&self) -> usize {
        self.written
    }

    /// How many messages in all.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }
}
