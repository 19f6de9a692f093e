//! Ending a connection: delivering and confirming what was accepted before
//! a `close()`, answering a close frame from the gateway, and reading a
//! closing connection to its end, so that a new one starts only after the
//! gateway has let go of the old (order) and a close tells what it confirms
//! (see [`DeliveryMode`](crate::ws::DeliveryMode)).

use std::future::poll_fn;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::AsyncReadExt as _;
use tokio::time::{Instant, timeout};
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};

use super::close_frame::{is_our_close, our_close};
use super::io::{Got, deliver_late, take_frame};
use super::{Actor, Conn, DRAIN_LIMIT, Exit};
use crate::ws::connection::dial::WsStream;
use crate::ws::connection::outbound::Ending;
use crate::ws::state::DisconnectReason;

impl Actor {
    /// A close frame came from the gateway: `echo` when it answered ours. The
    /// gateway still reads what was sent before it saw our close, so the
    /// frames already handed to the socket are finished, our close answer
    /// goes out, and the connection is read to its end (bounded): nothing is
    /// written on a new connection before, so order holds.
    pub(super) async fn settle_after_close_frame(&mut self, conn: &mut Conn, echo: bool) -> Ending {
        let mut echoed = echo;
        let settle = async {
            if poll_fn(|cx| conn.ws.poll_flush_unpin(cx)).await.is_ok() {
                let n = self.ledger.flushed();
                self.written(n);
                self.read_to_end(conn, &mut echoed).await;
            }
        };
        let _ = timeout(DRAIN_LIMIT, settle).await;
        ending(echoed)
    }

    /// Writes everything pending and reads until the gateway has confirmed
    /// all that was written (pongs), delivering what it sends meanwhile, so
    /// that a close confirms the messages whatever the gateway answers to
    /// the close frame. Ends early, `Ok`, when the gateway starts closing.
    async fn deliver_all(&mut self, conn: &mut Conn) -> Result<(), String> {
        loop {
            // The queue stays open until the `close()` that asked has its
            // `Close` in: take what came meanwhile.
            self.drain_commands();
            self.ledger.mark_turn(Instant::now(), true);
            let n = poll_fn(|cx| self.ledger.poll_write(&mut conn.ws, cx))
                .await
                .map_err(|e| format!("write failed while closing: {e}"))?;
            self.written(n);
            if self.ledger.unconfirmed_len() == 0 {
                return Ok(());
            }
            let frame = match conn.ws.next().await {
                None => return Err("connection closed while closing".into()),
                Some(Err(e)) => return Err(format!("read failed while closing: {e}")),
                Some(Ok(frame)) => frame,
            };
            match self.take_frame(frame, conn) {
                Got::Message(frame) => deliver_late(&self.shared, frame),
                Got::Nothing => {}
                Got::Close(_) => return Ok(()),
            }
        }
    }

    /// [`take_frame`] for the closing loops.
    fn take_frame(&mut self, frame: WsMessage, conn: &mut Conn) -> Got {
        take_frame(
            frame,
            conn,
            &mut self.ledger,
            &mut self.pending,
            &self.shared,
        )
    }

    /// Reads a closing connection to its end: the gateway's last messages
    /// (delivered if the inbound buffer has room), pongs, its close frame,
    /// then the socket under the websocket, until the gateway has let go of
    /// it. Sets `echoed` when the close frame echoes ours: only that proves
    /// the gateway read everything before it. A close frame of the gateway's
    /// own proves nothing, and neither does the end of the TCP connection: a
    /// gateway that gives up on a connection may drop data it had already
    /// taken from its socket and still end with a FIN.
    async fn read_to_end(&mut self, conn: &mut Conn, echoed: &mut bool) {
        loop {
            let frame = match conn.ws.next().await {
                None | Some(Err(WsError::ConnectionClosed | WsError::AlreadyClosed)) => break,
                Some(Err(error)) => {
                    tracing::debug!(%error, "closing connection failed");
                    return;
                }
                Some(Ok(frame)) => frame,
            };
            match self.take_frame(frame, conn) {
                Got::Message(frame) => deliver_late(&self.shared, frame),
                Got::Nothing => {}
                Got::Close(frame) => *echoed |= is_our_close(frame.as_ref()),
            }
        }
        socket_end(&mut conn.ws).await;
    }

    /// Write out everything accepted before `close()`, then say goodbye; the
    /// gateway's answer to our close frame confirms it was all read. Bounded
    /// by the close deadline; a connection that fails meanwhile is reported
    /// as lost, so that the run loop reconnects (within the deadline).
    pub(super) async fn graceful_close(&mut self, mut conn: Conn) -> Exit {
        let deadline = self.close_deadline();
        // The queue closes (sends answer `Closed` from now on) and what was
        // queued before is delivered.
        self.drain_commands();
        match tokio::time::timeout_at(deadline, self.deliver_all(&mut conn)).await {
            Ok(Ok(())) => {}
            Ok(Err(detail)) => {
                self.connection_ended(Ending::Unclean);
                return Exit::Lost(DisconnectReason::Failed { detail });
            }
            Err(_) => {
                tracing::warn!(
                    unsent = self.ledger.pending_len(),
                    unconfirmed = self.ledger.unconfirmed_len(),
                    "close: the gateway did not take the queued messages in time"
                );
                return Exit::Close;
            }
        }
        // Close frame, then the gateway's answer and the end of the
        // connection. The wait lasts at least a second, whatever the deadline.
        let answer_by = deadline.max(Instant::now() + Duration::from_secs(1));
        let mut echoed = false;
        let _ = tokio::time::timeout_at(answer_by, async {
            if conn.ws.close(Some(our_close())).await.is_ok() {
                self.read_to_end(&mut conn, &mut echoed).await;
            }
        })
        .await;
        let ending = ending(echoed);
        if ending == Ending::Unclean && Instant::now() >= deadline {
            // No time to write them again: `finish` hands the unconfirmed
            // back as written (or counts them possibly lost, at most once).
            return Exit::Close;
        }
        self.connection_ended(ending);
        if ending == Ending::Unclean && self.ledger.has_undelivered() {
            return Exit::Lost(DisconnectReason::Failed {
                detail: "the connection did not end cleanly while closing".into(),
            });
        }
        Exit::Close
    }
}

/// How a connection that saw a closing handshake ended, for delivery.
fn ending(echoed: bool) -> Ending {
    if echoed {
        Ending::Clean
    } else {
        Ending::Unclean
    }
}

/// After the websocket's closing handshake (which tungstenite completes
/// without waiting for the socket), reads the socket under it until the
/// gateway ends the TCP connection, with a FIN or a reset.
async fn socket_end(ws: &mut WsStream) {
    let mut buf = [0u8; 512];
    while let Ok(n) = ws.get_mut().read(&mut buf).await {
        if n == 0 {
            break;
        }
    }
}
