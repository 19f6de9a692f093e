//! [`Inbound`]: one frame from the socket on its way to a consumer.

use bytes::Bytes;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::ws::protocol::message::Message;

/// One frame read from the socket, not yet parsed.
#[derive(Debug)]
pub(crate) enum Inbound {
    /// A text frame, still as received (no copy).
    Text(Utf8Bytes),
    /// A binary frame.
    Binary(Bytes),
    /// Already turned into a message (by the connection task while requests
    /// wait), with the size of the frame it came from.
    Parsed(Message, usize),
}

impl Inbound {
    /// What the frame counts for against the inbound buffer's byte bound.
    pub(crate) fn weight(&self) -> usize {
        match self {
            Self::Text(t) => t.len(),
            Self::Binary(b) => b.len(),
            Self::Parsed(_, len) => *len,
        }
    }
}
