//! Our close frames, and how to tell the gateway's echo of one from a
//! close of its own.

use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// The reason our close frames carry. A gateway answers a close frame by
/// echoing it, so a close frame with this reason is the answer to ours, not
/// one the gateway sent on its own (a deploy's 1001 "going away").
const CLOSE_REASON: &str = "ms_utils client closing";

/// Our close frame, for a `close()` (1000).
pub(super) fn our_close() -> CloseFrame {
    our_close_with(CloseCode::Normal)
}

/// Our close frame with another code (1009 after a message too big).
pub(super) fn our_close_with(code: CloseCode) -> CloseFrame {
    CloseFrame {
        code,
        reason: CLOSE_REASON.into(),
    }
}

/// Whether `frame` is the echo of one of ours.
pub(super) fn is_our_close(frame: Option<&CloseFrame>) -> bool {
    frame.is_some_and(|f| f.reason.as_str() == CLOSE_REASON)
}
