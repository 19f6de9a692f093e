//! Driving one open connection's socket: the writes of the ledger, then a
//! batch of reads handed to the inbound buffer; and what every read loop of
//! the connection task does with a frame ([`take_frame`]).

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

use futures_util::StreamExt;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

use super::close_frame::is_our_close;
use super::pending::Pending;
use super::{Conn, Exit, INLINE_FROM, IoEvent, READ_BATCH};
use crate::ws::connection::outbound::Ledger;
use crate::ws::inbound::queue::PushError;
use crate::ws::inbound::{Inbound, process};
use crate::ws::shared::Shared;
use crate::ws::state::{Counters, DisconnectReason};

/// What one frame read from the socket leaves to the loop that read it.
pub(super) enum Got {
    /// A message for the consumers (parsed already when it was large or
    /// requests wait).
    Message(Inbound),
    /// Nothing: a pong (given to the ledger), a ping (tungstenite answers
    /// it), a message over the size limit, a reply handed to its request,
    /// a chunk of an unfinished job.
    Nothing,
    /// The gateway's close frame (or its answer to ours).
    Close(Option<CloseFrame>),
}

/// What the connection task does with each frame it reads, whichever loop
/// reads it (serving, delivering before a close, reading a closing
/// connection to its end).
pub(super) fn take_frame(
    frame: WsMessage,
    conn: &mut Conn,
    ledger: &mut Ledger,
    pending: &mut Pending,
    shared: &Shared,
) -> Got {
    let frame = match frame {
        WsMessage::Text(_) | WsMessage::Binary(_) if conn.drop_if_too_big(shared) => {
            return Got::Nothing;
        }
        WsMessage::Text(t) => Inbound::Text(t),
        WsMessage::Binary(b) => Inbound::Binary(b),
        WsMessage::Close(frame) => return Got::Close(frame),
        WsMessage::Pong(payload) => {
            ledger.pong(&payload);
            return Got::Nothing;
        }
        // Pings are answered by tungstenite; any frame proves the peer alive.
        _ => return Got::Nothing,
    };
    Counters::add(&shared.counters.messages_in, 1);
    // While requests wait, replies must be matched even if nobody consumes
    // the inbound buffer, so frames are processed here instead. Large
    // frames (chunk pieces, mostly) are processed here too, one at a time
    // in arrival order: each is parsed and decoded while it is the only
    // one in memory, as a hand-written client would, instead of several
    // megabytes of base64 text waiting in the buffer and in every handler
    // worker at once, and pieces reach the assembler in order.
    if frame.weight() < INLINE_FROM && pending.is_empty() {
        return Got::Message(frame);
    }
    let len = frame.weight();
    match process(shared.pipeline(), frame).and_then(|msg| pending.answer(msg)) {
        Some(msg) => Got::Message(Inbound::Parsed(msg, len)),
        None => Got::Nothing,
    }
}

/// A message read while closing: delivered if the inbound buffer has room.
pub(super) fn deliver_late(shared: &Shared, frame: Inbound) {
    if let Err(PushError::Full) = shared.inbound.try_push(frame) {
        tracing::warn!("inbound buffer full while closing: a message was dropped");
    }
}

/// The frames read and not handed over when the client ends: still
/// delivered, if a consumer takes them within the close timeout; then the
/// buffer closes, and the consumers drain it and see the end.
pub(super) fn hand_over_at_end(shared: &Arc<Shared>, mut staged: VecDeque<Inbound>) {
    if staged.is_empty() {
        shared.inbound.close();
        return;
    }
    let on = shared.clone();
    shared.lifecycle.tasks.spawn(async move {
        let deliver = async {
            while !staged.is_empty() {
                on.inbound.room().await;
                if on.inbound.push_many(&mut staged).is_err() {
                    return;
                }
            }
        };
        tokio::select! {
            () = deliver => {}
            () = on.lifecycle.shutdown.cancelled() => {}
            () = tokio::time::sleep(on.config.close_timeout) => {
                tracing::warn!("messages read before closing were never consumed");
            }
        }
        on.inbound.close();
    });
}

/// Drive the socket: writes first, then up to [`READ_BATCH`] reads.
pub(super) fn poll_io(
    conn: &mut Conn,
    cx: &mut Context<'_>,
    ledger: &mut Ledger,
    pending: &mut Pending,
    staged: &mut VecDeque<Inbound>,
    read: bool,
    shared: &Shared,
) -> Poll<IoEvent> {
    // Reads follow a write that made progress too: under a steady outbound
    // flow, returning early would leave a close frame from the gateway
    // unread for as long as the flow lasts.
    let wrote = match ledger.poll_write(&mut conn.ws, cx) {
        Poll::Ready(Ok(0)) | Poll::Pending => false,
        Poll::Ready(Ok(n)) => {
            Counters::add(&shared.counters.messages_out, n);
            true
        }
        Poll::Ready(Err(e)) => {
            return Poll::Ready(IoEvent::Exit(Exit::Lost(DisconnectReason::Failed {
                detail: format!("write failed: {e}"),
            })));
        }
    };
    if !read {
        return if wrote {
            Poll::Ready(IoEvent::Progress)
        } else {
            Poll::Pending
        };
    }
    let mut got = 0u64;
    // A pong read below may queue the next confirmation ping, or open the
    // write window.
    let pending_before = ledger.pending_len();
    let blocked = ledger.window_full() && ledger.pending_len() > 0;
    let result = loop {
        if staged.len() >= READ_BATCH || got as usize >= READ_BATCH {
            break Poll::Ready(IoEvent::Progress);
        }
        let msg = match conn.ws.poll_next_unpin(cx) {
            Poll::Pending => break Poll::Pending,
            Poll::Ready(None) => {
                break Poll::Ready(IoEvent::Exit(Exit::Lost(DisconnectReason::Failed {
                    detail: "connection ended without a close frame".into(),
                })));
            }
            Poll::Ready(Some(Err(e))) => {
                break Poll::Ready(IoEvent::Exit(Exit::Lost(DisconnectReason::Failed {
                    detail: format!("read failed: {e}"),
                })));
            }
            Poll::Ready(Some(Ok(msg))) => msg,
        };
        got += 1;
        match take_frame(msg, conn, ledger, pending, shared) {
            Got::Message(frame) => staged.push_back(frame),
            Got::Nothing => {}
            Got::Close(frame) => {
                let echo = is_our_close(frame.as_ref());
                let reason = match frame {
                    Some(f) => DisconnectReason::GatewayClosed {
                        code: f.code.into(),
                        reason: f.reason.as_str().to_owned(),
                    },
                    None => DisconnectReason::GatewayClosed {
                        code: 1005,
                        reason: String::new(),
                    },
                };
                break Poll::Ready(IoEvent::Exit(Exit::PeerClosed { reason, echo }));
            }
        }
    };
    // Pongs read above may have confirmed frames: the gauge follows at once,
    // even when nothing else wakes the loop.
    shared
        .counters
        .outbound_unconfirmed
        .store(ledger.unconfirmed_len() as u64, Ordering::Relaxed);
    if got > 0 {
        conn.last_read = Instant::now();
        conn.ping_sent = false;
    }
    // Hand the group over (also before an exit: what was read is delivered).
    if !staged.is_empty() && shared.inbound.push_many(staged).is_err() {
        return Poll::Ready(IoEvent::Exit(Exit::Cancelled));
    }
    if !staged.is_empty() && result.is_pending() {
        // The buffer is full: stop reading; the room branch resumes.
        return Poll::Ready(IoEvent::Progress);
    }
    let opened = blocked && !ledger.window_full();
    if result.is_pending() && (wrote || opened || ledger.pending_len() > pending_before) {
        // Written, or something to write now (a confirmation ping, frames
        // the window held back): go round again.
        return Poll::Ready(IoEvent::Progress);
    }
    result
}
