//! The connection actor: the one task that owns the socket.
//!
//! Why an actor: reads, writes, keepalive and reconnects all touch the same
//! socket, and the Python original shows what happens when several tasks share
//! it (lost and reordered messages, a listener surviving `close()`). Here one
//! task owns the socket and everything else talks to it over channels, so the
//! order of writes is the order of the outbound queue, and a frame leaves the
//! task's outbox only once its write was flushed.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll, ready};
use std::time::{Duration, SystemTime};

use futures_util::{SinkExt, StreamExt};
use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep, sleep_until, timeout};
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};

use super::auth::Token;
use super::client::Shared;
use super::dial::{Dialer, WsStream};
use super::inbound::{Inbound, process};
use super::queue::{InboundQueue, PushError};
use super::state::{ConnectionState, Counters, Event};

/// Frames read per turn of the loop before the other branches get a look.
const READ_BATCH: usize = 64;
/// Frames at least this large are parsed (and chunk pieces reassembled) on
/// the connection task, in arrival order.
const INLINE_FROM: usize = 64 * 1024;
/// Frames taken from the outbound queue per turn; also bounds the outbox.
const WRITE_BATCH: usize = 64;
/// How long a connection being replaced (token refresh) may take to close.
const DRAIN_LIMIT: Duration = Duration::from_secs(5);

/// Frames accepted from the queue and not yet known to be written. A frame
/// leaves only after the flush that carried it succeeded; after a lost
/// connection, everything still here is written again, first, in order.
#[derive(Debug, Default)]
struct Outbox {
    frames: VecDeque<WsMessage>,
    /// How many of `frames` were handed to the socket since the last flush.
    started: usize,
}

impl Outbox {
    /// Drive writes: Ready(Ok(n)) when a flush completed (`n` data frames
    /// written) or there was nothing to write (`n` = 0).
    fn poll_write(
        &mut self,
        ws: &mut WsStream,
        cx: &mut Context<'_>,
    ) -> Poll<Result<u64, WsError>> {
        if self.frames.is_empty() {
            return Poll::Ready(Ok(0));
        }
        while self.started < self.frames.len() {
            ready!(ws.poll_ready_unpin(cx))?;
            ws.start_send_unpin(self.frames[self.started].clone())?;
            self.started += 1;
        }
        ready!(ws.poll_flush_unpin(cx))?;
        let data = self
            .frames
            .drain(..self.started)
            .filter(|f| f.is_text() || f.is_binary())
            .count();
        self.started = 0;
        Poll::Ready(Ok(data as u64))
    }

    /// A new connection: rewrite from the first unconfirmed frame; pings of the
    /// old connection mean nothing to the new one.
    fn restart(&mut self) {
        self.started = 0;
        self.frames.retain(|f| f.is_text() || f.is_binary());
    }
}

/// Why the loop over one connection ended.
#[derive(Debug)]
enum Exit {
    /// `close()` or the last handle dropped: the outbox was flushed (bounded).
    Close,
    /// Hard stop.
    Cancelled,
    /// The connection was lost; reconnect.
    Lost(String),
    /// The gateway sent a close frame; reconnect.
    PeerClosed(String),
    /// The token is about to expire; log in again and reconnect now.
    TokenRefresh,
}

enum IoEvent {
    Progress,
    CloseRequested,
    Exit(Exit),
}

/// One open websocket and its keepalive bookkeeping.
struct Conn {
    ws: WsStream,
    last_read: Instant,
    ping_sent: bool,
}

pub(crate) struct Actor {
    shared: Arc<Shared>,
    dialer: Dialer,
    cmd_rx: mpsc::Receiver<WsMessage>,
    outbox: Outbox,
    /// Frames read and not yet in the inbound buffer: handed over in groups
    /// (one lock per group); while the buffer is full they wait here and the
    /// socket is not read (backpressure).
    staged: VecDeque<Inbound>,
    rng: StdRng,
    gave_up: bool,
}

impl std::fmt::Debug for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Actor")
            .field("outbox", &self.outbox.frames.len())
            .finish_non_exhaustive()
    }
}

impl Actor {
    pub(crate) fn new(
        shared: Arc<Shared>,
        dialer: Dialer,
        cmd_rx: mpsc::Receiver<WsMessage>,
    ) -> Self {
        Self {
            shared,
            dialer,
            cmd_rx,
            outbox: Outbox::default(),
            staged: VecDeque::with_capacity(READ_BATCH),
            rng: StdRng::from_rng(&mut rand::rng()),
            gave_up: false,
        }
    }

    fn set_state(&self, state: ConnectionState) {
        self.shared.state_tx.send_replace(state);
    }

    pub(crate) async fn run(mut self, ws: WsStream, token: Option<Token>) {
        let mut current = Some((ws, token));
        // `connect()` reported the first connection itself, before returning:
        // an event for it now would reach subscribers as a stale duplicate.
        let mut first = true;
        while let Some((ws, token)) = current.take() {
            if !std::mem::take(&mut first) {
                self.set_state(ConnectionState::Connected);
                let _ = self.shared.events.send(Event::Connected);
            }
            let refresh_at = token
                .as_ref()
                .and_then(|t| refresh_deadline(t, self.shared.config.token_refresh_margin));
            let exit = self.serve(ws, refresh_at).await;
            let immediate = match exit {
                Exit::Close | Exit::Cancelled => break,
                Exit::Lost(reason) | Exit::PeerClosed(reason) => {
                    tracing::warn!(%reason, "gateway connection lost");
                    let _ = self.shared.events.send(Event::Disconnected { reason });
                    false
                }
                Exit::TokenRefresh => {
                    tracing::info!("token about to expire: logging in again");
                    let _ = self.shared.events.send(Event::Disconnected {
                        reason: "token refresh".into(),
                    });
                    true
                }
            };
            current = self.reconnect(immediate).await;
            if current.is_some() {
                Counters::add(&self.shared.counters.reconnects, 1);
            }
        }
        self.finish();
    }

    /// Log in and connect again, with backoff; `None` when closed or given up.
    async fn reconnect(&mut self, immediate: bool) -> Option<(WsStream, Option<Token>)> {
        let policy = self.shared.config.reconnect.clone();
        let mut attempt: u32 = 0;
        loop {
            attempt = attempt.saturating_add(1);
            let delay = if immediate && attempt == 1 {
                Duration::ZERO
            } else {
                policy.delay(attempt, &mut self.rng)
            };
            self.set_state(ConnectionState::Reconnecting { attempt, delay });
            let _ = self
                .shared
                .events
                .send(Event::Reconnecting { attempt, delay });
            tracing::info!(attempt, ?delay, "reconnecting");
            let shared = self.shared.clone();
            let result = tokio::select! {
                () = shared.shutdown.cancelled() => return None,
                () = shared.close_requested.cancelled() => return None,
                r = async { sleep(delay).await; self.dialer.dial().await } => r,
            };
            match result {
                Ok(conn) => return Some(conn),
                Err(error) => {
                    tracing::warn!(attempt, %error, "reconnect failed");
                    let _ = self.shared.events.send(Event::ConnectFailed {
                        error: error.to_string(),
                        bad_credentials: error.is_bad_credentials(),
                    });
                    if policy.gives_up_after(attempt) {
                        tracing::error!(attempts = attempt, %error, "giving up reconnecting; closing the client");
                        self.gave_up = true;
                        return None;
                    }
                }
            }
        }
    }

    async fn serve(&mut self, ws: WsStream, refresh_at: Option<Instant>) -> Exit {
        self.outbox.restart();
        let interval = self.shared.config.keepalive_interval;
        let dead_after = interval + self.shared.config.keepalive_timeout;
        let mut conn = Conn {
            ws,
            last_read: Instant::now(),
            ping_sent: false,
        };
        let mut batch = Vec::with_capacity(WRITE_BATCH);
        let shared = self.shared.clone();
        let keepalive = sleep_until(conn.last_read + interval);
        tokio::pin!(keepalive);
        let refresh = sleep_until(
            refresh_at.unwrap_or_else(|| Instant::now() + Duration::from_secs(86400 * 365)),
        );
        tokio::pin!(refresh);
        let mut draining = false;
        // Created once: a cancellation future registers itself when first polled,
        // which should not happen on every turn of the loop.
        let shutdown = shared.shutdown.cancelled();
        tokio::pin!(shutdown);
        let close_requested = shared.close_requested.cancelled();
        tokio::pin!(close_requested);
        let mut turn = 0u32;
        loop {
            // Polling a cancellation future takes a lock, so the select below
            // polls them last (they wake it when all else waits), and a busy
            // loop looks at them every few turns.
            turn = turn.wrapping_add(1);
            if turn.is_multiple_of(16) {
                if shared.shutdown.is_cancelled() {
                    return Exit::Cancelled;
                }
                if shared.close_requested.is_cancelled() {
                    return self.graceful_close(conn).await;
                }
            }
            let read_enabled = self.staged.is_empty();
            let outbox_room = self.outbox.frames.len() < WRITE_BATCH;
            let ev = tokio::select! {
                biased;
                ev = poll_fn(|cx| poll_io(&mut conn, cx, &mut self.outbox, read_enabled, &shared.inbound, &mut self.staged, &shared)) => ev,
                n = self.cmd_rx.recv_many(&mut batch, WRITE_BATCH), if outbox_room && !draining => {
                    if n == 0 {
                        return Exit::Cancelled;
                    }
                    self.outbox.frames.extend(batch.drain(..));
                    IoEvent::Progress
                }
                () = shared.inbound.room(), if !read_enabled => {
                    if shared.inbound.push_many(&mut self.staged).is_err() {
                        return Exit::Cancelled;
                    }
                    IoEvent::Progress
                }
                () = &mut keepalive => {
                    let now = Instant::now();
                    if !read_enabled {
                        // Not reading on purpose (handlers busy): silence proves nothing.
                        conn.last_read = now;
                        conn.ping_sent = false;
                    } else if now >= conn.last_read + dead_after {
                        return Exit::Lost(format!("no answer from the gateway for {dead_after:?}"));
                    } else if now >= conn.last_read + interval && !conn.ping_sent {
                        self.outbox.frames.push_back(WsMessage::Ping(Default::default()));
                        conn.ping_sent = true;
                    }
                    // Re-armed only here: resetting a timer per read batch costs
                    // more than an early wake-up that finds fresh traffic.
                    let next = if conn.ping_sent { conn.last_read + dead_after } else { conn.last_read + interval };
                    keepalive.as_mut().reset(next.max(now + Duration::from_millis(1)));
                    IoEvent::Progress
                }
                () = &mut refresh, if refresh_at.is_some() => {
                    if draining {
                        return Exit::TokenRefresh;
                    }
                    // Hand over gracefully: no new frames on this connection, a
                    // close frame after those already queued, and the gateway's
                    // last messages still read until it answers.
                    draining = true;
                    self.outbox.frames.push_back(WsMessage::Close(None));
                    refresh.as_mut().reset(Instant::now() + DRAIN_LIMIT);
                    IoEvent::Progress
                }
                () = &mut shutdown => return Exit::Cancelled,
                () = &mut close_requested => IoEvent::CloseRequested,
            };
            match ev {
                IoEvent::Progress => {}
                IoEvent::CloseRequested => return self.graceful_close(conn).await,
                IoEvent::Exit(Exit::PeerClosed(reason)) => {
                    self.settle_after_peer_close(&mut conn).await;
                    return if draining {
                        Exit::TokenRefresh
                    } else {
                        Exit::Lost(reason)
                    };
                }
                IoEvent::Exit(Exit::Lost(_)) if draining => return Exit::TokenRefresh,
                IoEvent::Exit(exit) => return exit,
            }
        }
    }

    /// A gateway closing gracefully still reads what was sent before its close
    /// frame. Frames already handed to the socket but not yet flushed are
    /// finished here, and count as written only if that succeeds; otherwise
    /// they are written again on the next connection. (After a read or write
    /// error there is no such last flush: it could deliver frames that are
    /// about to be written again.)
    async fn settle_after_peer_close(&mut self, conn: &mut Conn) {
        if self.outbox.started == 0 {
            return;
        }
        let flushed = timeout(
            Duration::from_secs(1),
            poll_fn(|cx| conn.ws.poll_flush_unpin(cx)),
        )
        .await;
        if let Ok(Ok(())) = flushed {
            let n = self.outbox.started;
            let data = self
                .outbox
                .frames
                .drain(..n)
                .filter(|f| f.is_text() || f.is_binary())
                .count();
            self.outbox.started = 0;
            Counters::add(&self.shared.counters.messages_out, data as u64);
        }
    }

    /// Write out everything accepted before `close()`, bounded, then say goodbye.
    async fn graceful_close(&mut self, mut conn: Conn) -> Exit {
        self.cmd_rx.close();
        while let Ok(frame) = self.cmd_rx.try_recv() {
            self.outbox.frames.push_back(frame);
        }
        let limit = self.shared.config.close_timeout;
        let outbox = &mut self.outbox;
        let counters = &self.shared.counters;
        let flushed = timeout(
            limit,
            poll_fn(|cx| {
                loop {
                    match outbox.poll_write(&mut conn.ws, cx) {
                        Poll::Ready(Ok(n)) => {
                            Counters::add(&counters.messages_out, n);
                            if outbox.frames.is_empty() {
                                return Poll::Ready(Ok(()));
                            }
                        }
                        Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                        Poll::Pending => return Poll::Pending,
                    }
                }
            }),
        )
        .await;
        match flushed {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                tracing::warn!(%error, unsent = self.outbox.frames.len(), "write failed while closing")
            }
            Err(_) => tracing::warn!(
                unsent = self.outbox.frames.len(),
                ?limit,
                "close: queue not flushed in time"
            ),
        }
        // Close frame, then wait briefly for the gateway's answer.
        // Messages the gateway sent before it saw the close frame are still
        // delivered (if the inbound buffer has room).
        let (inbound, counters) = (&self.shared.inbound, &self.shared.counters);
        let _ = timeout(Duration::from_secs(1), async {
            if conn.ws.close(None).await.is_ok() {
                while let Some(Ok(msg)) = conn.ws.next().await {
                    let frame = match msg {
                        WsMessage::Text(t) => Inbound::Text(t),
                        WsMessage::Binary(b) => Inbound::Binary(b),
                        _ => continue,
                    };
                    Counters::add(&counters.messages_in, 1);
                    if let Err(PushError::Full) = inbound.try_push(frame) {
                        tracing::warn!("inbound buffer full while closing: a message was dropped");
                    }
                }
            }
        })
        .await;
        Exit::Close
    }

    fn finish(mut self) {
        self.shared.closing.store(true, Ordering::Release);
        self.cmd_rx.close();
        let mut unsent = self
            .outbox
            .frames
            .iter()
            .filter(|f| f.is_text() || f.is_binary())
            .count();
        while self.cmd_rx.try_recv().is_ok() {
            unsent += 1;
        }
        if unsent > 0 {
            tracing::warn!(
                unsent,
                "client closed with messages that were never written"
            );
        }
        // Waiting requests fail now with Closed instead of waiting for their deadline.
        {
            let mut pending = self
                .shared
                .pending
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            pending.clear();
            self.shared.pending_count.store(0, Ordering::Release);
        }
        if self.gave_up {
            self.shared.gave_up.store(true, Ordering::Release);
        }
        // Frames read but not yet handed over are still delivered, if a
        // consumer takes them within the close timeout. Then the buffer
        // closes: consumers drain it and see the end.
        if self.staged.is_empty() {
            self.shared.inbound.close();
        } else {
            let shared = self.shared.clone();
            let mut staged = std::mem::take(&mut self.staged);
            self.shared.tasks.spawn(async move {
                let deliver = async {
                    while !staged.is_empty() {
                        shared.inbound.room().await;
                        if shared.inbound.push_many(&mut staged).is_err() {
                            return;
                        }
                    }
                };
                tokio::select! {
                    () = deliver => {}
                    () = shared.shutdown.cancelled() => {}
                    () = sleep(shared.config.close_timeout) => {
                        tracing::warn!("messages read before closing were never consumed");
                    }
                }
                shared.inbound.close();
            });
        }
        self.set_state(ConnectionState::Closed);
        let _ = self.shared.events.send(Event::Closed);
        tracing::info!("gateway client closed");
    }
}

/// Log in again `margin` before `exp`; for short-lived tokens halfway through.
fn refresh_deadline(token: &Token, margin: Duration) -> Option<Instant> {
    let remaining = token.expires?.duration_since(SystemTime::now()).ok()?;
    let wait = if remaining > margin * 2 {
        remaining - margin
    } else {
        remaining / 2
    };
    Some(Instant::now() + wait.max(Duration::from_secs(1)))
}

/// Drive the socket: writes first, then up to [`READ_BATCH`] reads.
fn poll_io(
    conn: &mut Conn,
    cx: &mut Context<'_>,
    outbox: &mut Outbox,
    read: bool,
    inbound: &InboundQueue,
    staged: &mut VecDeque<Inbound>,
    shared: &Shared,
) -> Poll<IoEvent> {
    match outbox.poll_write(&mut conn.ws, cx) {
        Poll::Ready(Ok(0)) | Poll::Pending => {}
        Poll::Ready(Ok(n)) => {
            Counters::add(&shared.counters.messages_out, n);
            return Poll::Ready(IoEvent::Progress);
        }
        Poll::Ready(Err(e)) => {
            return Poll::Ready(IoEvent::Exit(Exit::Lost(format!("write failed: {e}"))));
        }
    }
    if !read {
        return Poll::Pending;
    }
    let mut got = 0u64;
    let result = loop {
        if staged.len() >= READ_BATCH || got as usize >= READ_BATCH {
            break Poll::Ready(IoEvent::Progress);
        }
        let msg = match conn.ws.poll_next_unpin(cx) {
            Poll::Pending => break Poll::Pending,
            Poll::Ready(None) => {
                break Poll::Ready(IoEvent::Exit(Exit::Lost("connection closed".into())));
            }
            Poll::Ready(Some(Err(e))) => {
                break Poll::Ready(IoEvent::Exit(Exit::Lost(format!("read failed: {e}"))));
            }
            Poll::Ready(Some(Ok(msg))) => msg,
        };
        got += 1;
        let frame = match msg {
            WsMessage::Text(t) => Inbound::Text(t),
            WsMessage::Binary(b) => Inbound::Binary(b),
            WsMessage::Close(frame) => {
                let why = frame
                    .map(|f| format!("{} {}", u16::from(f.code), f.reason))
                    .unwrap_or_default();
                break Poll::Ready(IoEvent::Exit(Exit::PeerClosed(format!(
                    "closed by the gateway {why}"
                ))));
            }
            // Pings are answered by tungstenite; any frame proves the peer alive.
            _ => continue,
        };
        Counters::add(&shared.counters.messages_in, 1);
        // While requests wait, replies must be matched even if nobody consumes
        // the inbound buffer, so frames are processed here instead. Large
        // frames (chunk pieces, mostly) are processed here too, one at a time
        // in arrival order: each is parsed and decoded while it is the only
        // one in memory, as a hand-written client would, instead of several
        // megabytes of base64 text waiting in the buffer and in every handler
        // worker at once, and pieces reach the assembler in order.
        let frame =
            if frame.weight() >= INLINE_FROM || shared.pending_count.load(Ordering::Acquire) > 0 {
                let len = frame.weight();
                match process(shared, frame) {
                    Some(m) => Inbound::Parsed(m, len),
                    None => continue,
                }
            } else {
                frame
            };
        staged.push_back(frame);
    };
    if got > 0 {
        conn.last_read = Instant::now();
        conn.ping_sent = false;
    }
    // Hand the group over (also before an exit: what was read is delivered).
    if !staged.is_empty() && inbound.push_many(staged).is_err() {
        return Poll::Ready(IoEvent::Exit(Exit::Cancelled));
    }
    if !staged.is_empty() && result.is_pending() {
        // The buffer is full: stop reading; the room branch resumes.
        return Poll::Ready(IoEvent::Progress);
    }
    result
}
