//! The connection actor: the one task that owns the socket.
//!
//! Why an actor: reads, writes, keepalive and reconnects all touch the same
//! socket, and the Python original shows what happens when several tasks share
//! it (lost and reordered messages, a listener surviving `close()`). Here one
//! task owns the socket and everything else talks to it over channels, so the
//! order of writes is the order of the outbound queue, and the task's
//! [`Ledger`] knows of every accepted frame whether it is waiting, written,
//! or confirmed read by the gateway (see [`DeliveryMode`](super::DeliveryMode)).

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, sleep_until};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::ws::command::Command;
use crate::ws::connection::auth::Token;
use crate::ws::connection::dial::{Dialer, WsStream};
use crate::ws::connection::frame_guard::Oversized;
use crate::ws::connection::outbound::{Ending, Ledger, Settled};
use crate::ws::connection::pending::Pending;
use crate::ws::connection::retry::{Retry, Step, dial_with_retry};
use crate::ws::delivery::Undelivered;
use crate::ws::error::Error;
use crate::ws::inbound::Inbound;
use crate::ws::shared::Shared;
use crate::ws::state::{ConnectionState, Counters, DisconnectReason, Event};

pub(crate) mod auth;
mod close_frame;
mod closing;
mod commands;
pub(crate) mod dial;
mod end;
mod frame_guard;
mod handshake;
mod io;
pub(crate) mod outbound;
mod pending;
pub(crate) mod retry;

use close_frame::{our_close, our_close_with};
use io::poll_io;

/// Frames read per turn of the loop before the other branches get a look.
const READ_BATCH: usize = 64;
/// Frames at least this large are parsed (and chunk pieces reassembled) on
/// the connection task, in arrival order.
const INLINE_FROM: usize = 64 * 1024;
/// Frames taken from the outbound queue per turn; also bounds the outbox.
const WRITE_BATCH: usize = 64;
/// Yields at most, before a write, to the handlers of messages waiting for
/// them (see `IoEvent::Queued` in `serve`).
const MAX_COALESCE_YIELDS: usize = 4;
/// How long a connection being replaced (token refresh) may take to close,
/// and how long a connection the gateway closed may take to end: nothing is
/// written on the next connection before, so that the gateway reads the old
/// one to its end first and order holds across the two.
const DRAIN_LIMIT: Duration = Duration::from_secs(5);

/// Why the loop over one connection ended.
#[derive(Debug)]
enum Exit {
    /// A close was asked (`close()`, or the last handle dropped), and
    /// everything taken was delivered, or the close deadline passed.
    Close,
    /// Hard stop.
    Cancelled,
    /// The connection was lost (or the gateway closed it); reconnect.
    Lost(DisconnectReason),
    /// A close frame came; reconnect. Only inside `serve`, which settles the
    /// old connection before reporting it as `Lost`.
    PeerClosed {
        reason: DisconnectReason,
        /// It echoes ours ([`is_our_close`]): the gateway read everything
        /// written before ours.
        echo: bool,
    },
    /// The client replaced the connection (a token about to expire, a
    /// message too big): log in again and reconnect now.
    Handover(DisconnectReason),
}

enum IoEvent {
    Progress,
    /// Frames to write came from the handles.
    Queued,
    CloseRequested,
    Exit(Exit),
}

/// One open websocket and its keepalive bookkeeping.
struct Conn {
    ws: WsStream,
    last_read: Instant,
    ping_sent: bool,
    /// Data messages read on this connection so far.
    data_seq: u64,
    /// A message over the size limit was read: replace the connection.
    too_big: bool,
}

impl Conn {
    fn new(ws: WsStream) -> Self {
        Self {
            ws,
            last_read: Instant::now(),
            ping_sent: false,
            data_seq: 0,
            too_big: false,
        }
    }

    /// Called for each data message read, in order: when it is the empty
    /// stand-in of a message over the size limit (see
    /// [`FrameGuard`](crate::ws::connection::frame_guard::FrameGuard)), reports that and
    /// returns true, and the message must be dropped.
    fn drop_if_too_big(&mut self, shared: &Shared) -> bool {
        let seq = self.data_seq;
        self.data_seq += 1;
        let guard = self.ws.get_mut();
        if guard.next_oversized() != Some(seq) {
            return false;
        }
        if let Some(Oversized { size, .. }) = guard.take_oversized() {
            let limit = shared.config.max_message_size;
            tracing::warn!(
                size,
                limit,
                "dropped a message over the size limit; replacing the connection (1009)"
            );
            Counters::add(&shared.counters.messages_too_big, 1);
            let _ = shared.events.send(Event::MessageTooBig { size, limit });
        }
        self.too_big = true;
        true
    }
}

pub(crate) struct Actor {
    shared: Arc<Shared>,
    dialer: Arc<Dialer>,
    cmd_rx: mpsc::Receiver<Command>,
    /// False once `cmd_rx` is closed: sends answer `Closed` from then on.
    taking: bool,
    ledger: Ledger,
    /// The requests waiting for their answer.
    pending: Pending,
    /// The number of the connection being served (see
    /// [`Command::Send`]'s `volatile`); `None` between connections.
    live: Option<u64>,
    /// The `close()` calls waiting for the answer, first come first.
    closers: Vec<oneshot::Sender<Option<Undelivered>>>,
    /// Set once a close is seen: the time by which delivery must be done.
    close_deadline: Option<Instant>,
    /// Frames read and not yet in the inbound buffer: handed over in groups
    /// (one lock per group); while the buffer is full they wait here and the
    /// socket is not read (backpressure).
    staged: VecDeque<Inbound>,
}

impl std::fmt::Debug for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Actor")
            .field("pending", &self.ledger.pending_len())
            .field("unconfirmed", &self.ledger.unconfirmed_len())
            .finish_non_exhaustive()
    }
}

impl Actor {
    pub(crate) fn new(
        shared: Arc<Shared>,
        dialer: Arc<Dialer>,
        cmd_rx: mpsc::Receiver<Command>,
    ) -> Self {
        let mode = shared.config.delivery;
        Self {
            shared,
            dialer,
            cmd_rx,
            taking: true,
            ledger: Ledger::new(mode),
            pending: Pending::default(),
            live: None,
            closers: Vec::new(),
            close_deadline: None,
            staged: VecDeque::with_capacity(READ_BATCH),
        }
    }

    fn set_state(&self, state: ConnectionState) {
        self.shared.state_tx.send_replace(state);
    }

    /// Announces `event` to the subscribers of `events()` (none: dropped).
    fn emit(&self, event: Event) {
        let _ = self.shared.events.send(event);
    }

    /// `n` data frames were written (flushed).
    fn written(&self, n: u64) {
        Counters::add(&self.shared.counters.messages_out, n);
    }

    /// A close was asked by the token (`close()`, or the last handle dropped).
    fn close_requested(&self) -> bool {
        self.shared.lifecycle.close_requested.is_cancelled()
    }

    /// A `close()` is running (it stopped the receive loops first).
    fn close_called(&self) -> bool {
        self.shared.lifecycle.stop_receiving.is_cancelled()
    }

    /// Hard stop.
    fn stopped(&self) -> bool {
        self.shared.lifecycle.shutdown.is_cancelled()
    }

    pub(crate) async fn run(mut self, ws: WsStream, token: Option<Token>) {
        let mut current = Some((ws, token));
        // `connect()` reported the first connection itself, before returning:
        // an event for it now would reach subscribers as a stale duplicate.
        let mut first = true;
        let mut gave_up = false;
        while let Some((ws, token)) = current.take() {
            if !std::mem::take(&mut first) {
                self.set_state(ConnectionState::Connected);
                self.emit(Event::Connected);
            }
            let refresh_at = token
                .as_ref()
                .and_then(|t| refresh_deadline(t, self.shared.config.token_refresh_margin));
            self.live = Some(self.shared.counters.reconnects.load(Ordering::Relaxed));
            let exit = self.serve(ws, refresh_at).await;
            self.live = None;
            let immediate = match exit {
                Exit::Close | Exit::Cancelled => break,
                Exit::Lost(reason) | Exit::PeerClosed { reason, .. } => {
                    tracing::warn!(%reason, "gateway connection lost");
                    self.emit(Event::Disconnected { reason });
                    false
                }
                Exit::Handover(reason) => {
                    tracing::info!(%reason, "replacing the connection");
                    self.emit(Event::Disconnected { reason });
                    true
                }
            };
            current = match self.reconnect(immediate).await {
                Ok(connection) => connection,
                Err(error) => {
                    tracing::error!(%error, "giving up reconnecting; closing the client");
                    gave_up = true;
                    None
                }
            };
            if current.is_some() {
                Counters::add(&self.shared.counters.reconnects, 1);
            }
        }
        self.finish(gave_up).await;
    }

    /// The time by which a close must be done, fixed when first asked.
    fn close_deadline(&mut self) -> Instant {
        *self
            .close_deadline
            .get_or_insert_with(|| Instant::now() + self.shared.config.close_timeout)
    }

    /// Log in and connect again, with backoff: `Ok(None)` when a close
    /// ended the wait (nothing left to deliver, or its deadline passed) or
    /// the client stopped, the policy's error when it gave up. While a
    /// close waits for delivery, the commands are taken as they come (the
    /// `close()` that asked may be queued behind sends) and the attempts
    /// go on until the close deadline.
    async fn reconnect(
        &mut self,
        immediate: bool,
    ) -> Result<Option<(WsStream, Option<Token>)>, Error> {
        let shared = self.shared.clone();
        let life = &shared.lifecycle;
        if self.closing() && self.close_can_end() {
            return Ok(None);
        }
        let retry = Retry {
            policy: shared.config.reconnect.clone(),
            deadline: None,
            at_once: immediate,
            retry_if: |_| true,
            retrying: "reconnect attempt failed, retrying",
        };
        let report = |step: Step<'_>| match step {
            Step::Attempt { attempt, delay } => {
                shared
                    .state_tx
                    .send_replace(ConnectionState::Reconnecting { attempt, delay });
                let _ = shared.events.send(Event::Reconnecting { attempt, delay });
                tracing::debug!(attempt, ?delay, "reconnecting");
            }
            Step::Failed { error, .. } => {
                let _ = shared.events.send(Event::ConnectFailed {
                    error: error.to_string(),
                    bad_credentials: error.is_bad_credentials(),
                });
            }
        };
        let dialer = self.dialer.clone();
        let dial = dial_with_retry(&dialer, &retry, report);
        tokio::pin!(dial);
        loop {
            let closing = self.closing();
            let deadline = self.close_deadline;
            tokio::select! {
                () = life.shutdown.cancelled() => return Ok(None),
                result = &mut dial => return result.map(Some),
                () = life.close_requested.cancelled(), if !closing => {}
                command = self.cmd_rx.recv(), if closing && self.taking => match command {
                    Some(command) => self.command(command),
                    None => self.taking = false,
                },
                () = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                    return Ok(None);
                }
            }
            // Closing while disconnected: done if nothing is left to
            // deliver; else the attempts go on, bounded by the close deadline.
            if self.closing() {
                self.close_deadline();
                if self.close_can_end() {
                    return Ok(None);
                }
            }
        }
    }

    /// The ledger's gauges, into the counters (two stores per turn).
    fn publish_outbound(&self) {
        let c = &self.shared.counters;
        c.outbound_queued
            .store(self.ledger.unwritten(), Ordering::Relaxed);
        c.outbound_unconfirmed
            .store(self.ledger.unconfirmed_len() as u64, Ordering::Relaxed);
    }

    /// Tell the ledger how the connection ended and report what it did.
    fn connection_ended(&mut self, ending: Ending) {
        let settled = self.ledger.connection_ended(ending);
        self.report(settled);
    }

    /// Counts, announces and logs what the ledger did with frames it could
    /// not confirm; then fails the receipts of those given up (so that a
    /// failed receipt is already counted in `Stats`).
    fn report(&mut self, settled: Settled) {
        let Settled {
            resent,
            possibly_lost,
            dropped,
        } = settled;
        if resent > 0 {
            tracing::info!(
                count = resent,
                "connection ended unconfirmed: writing those messages again"
            );
            Counters::add(&self.shared.counters.resent, resent);
            self.emit(Event::Resent { count: resent });
        }
        if possibly_lost > 0 {
            tracing::warn!(
                count = possibly_lost,
                "connection ended unconfirmed: messages may be lost"
            );
            Counters::add(&self.shared.counters.possibly_lost, possibly_lost);
            self.emit(Event::PossiblyLost {
                count: possibly_lost,
            });
        }
        if dropped > 0 {
            tracing::debug!(count = dropped, "volatile messages dropped unwritten");
            Counters::add(&self.shared.counters.volatile_dropped, dropped);
        }
        self.ledger.answer_given_up();
    }

    /// A connection that ended other than by `close()`: settle the ledger,
    /// then reconnect (at once when the client was replacing it).
    fn connection_lost(
        &mut self,
        ending: Ending,
        reason: DisconnectReason,
        handover: Option<DisconnectReason>,
    ) -> Exit {
        self.connection_ended(ending);
        match handover {
            Some(why) => Exit::Handover(why),
            None => Exit::Lost(reason),
        }
    }

    async fn serve(&mut self, ws: WsStream, refresh_at: Option<Instant>) -> Exit {
        let interval = self.shared.config.keepalive_interval;
        let dead_after = interval + self.shared.config.keepalive_timeout;
        let mut conn = Conn::new(ws);
        let mut batch = Vec::with_capacity(WRITE_BATCH);
        let shared = self.shared.clone();
        let keepalive = sleep_until(conn.last_read + interval);
        tokio::pin!(keepalive);
        let refresh = sleep_until(
            refresh_at.unwrap_or_else(|| Instant::now() + Duration::from_secs(86400 * 365)),
        );
        tokio::pin!(refresh);
        // Written data no ping covers yet gets one when its time comes (see
        // `Ledger::mark_due`); re-armed only when that time changes.
        let confirm = sleep_until(Instant::now());
        tokio::pin!(confirm);
        let mut confirm_at: Option<Instant> = None;
        // Set while the client replaces this connection: its close frame is
        // queued behind the data, and the gateway's answer is awaited.
        let mut handover: Option<DisconnectReason> = None;
        // Created once: a cancellation future registers itself when first polled,
        // which should not happen on every turn of the loop.
        let shutdown = shared.lifecycle.shutdown.cancelled();
        tokio::pin!(shutdown);
        let close_requested = shared.lifecycle.close_requested.cancelled();
        tokio::pin!(close_requested);
        let mut turn = 0u32;
        if self.closing() {
            // Reconnected to deliver what a close is waiting for.
            return self.graceful_close(conn).await;
        }
        loop {
            // Polling a cancellation future takes a lock, so the select below
            // polls them last (they wake it when all else waits), and a busy
            // loop looks at them every few turns.
            turn = turn.wrapping_add(1);
            if turn.is_multiple_of(16) {
                if shared.lifecycle.shutdown.is_cancelled() {
                    return Exit::Cancelled;
                }
                if self.closing() {
                    return self.graceful_close(conn).await;
                }
            }
            self.publish_outbound();
            let read_enabled = self.staged.is_empty();
            let outbox_room = self.ledger.pending_len() < WRITE_BATCH;
            let due = self.ledger.mark_due();
            if due != confirm_at {
                if let Some(at) = due {
                    confirm.as_mut().reset(at);
                }
                confirm_at = due;
            }
            let ev = tokio::select! {
                biased;
                ev = poll_fn(|cx| poll_io(&mut conn, cx, &mut self.ledger, &mut self.pending, &mut self.staged, read_enabled, &shared)) => ev,
                n = self.cmd_rx.recv_many(&mut batch, WRITE_BATCH), if outbox_room && handover.is_none() && self.taking => {
                    if n == 0 {
                        return Exit::Cancelled;
                    }
                    for command in batch.drain(..) {
                        self.command(command);
                    }
                    if self.closers.is_empty() { IoEvent::Queued } else { IoEvent::CloseRequested }
                }
                () = shared.inbound.room(), if !read_enabled => {
                    if shared.inbound.push_many(&mut self.staged).is_err() {
                        return Exit::Cancelled;
                    }
                    IoEvent::Progress
                }
                () = &mut keepalive => {
                    let now = Instant::now();
                    // Requests whose caller gave up no longer keep frames
                    // parsed here.
                    self.pending.sweep();
                    if !read_enabled {
                        // Not reading on purpose (handlers busy): silence proves nothing.
                        conn.last_read = now;
                        conn.ping_sent = false;
                    } else if now >= conn.last_read + dead_after {
                        self.connection_ended(Ending::Unclean);
                        return Exit::Lost(DisconnectReason::KeepaliveTimeout { after: dead_after });
                    } else if now >= conn.last_read + interval && !conn.ping_sent {
                        self.ledger.push_control(WsMessage::Ping(Default::default()));
                        conn.ping_sent = true;
                    }
                    // Re-armed only here: resetting a timer per read batch costs
                    // more than an early wake-up that finds fresh traffic.
                    let next = if conn.ping_sent { conn.last_read + dead_after } else { conn.last_read + interval };
                    keepalive.as_mut().reset(next.max(now + Duration::from_millis(1)));
                    IoEvent::Progress
                }
                () = &mut refresh, if refresh_at.is_some() || handover.is_some() => {
                    if let Some(why) = handover.take() {
                        self.connection_ended(Ending::Unclean);
                        return Exit::Handover(why);
                    }
                    // Hand over gracefully: no new frames on this connection, a
                    // close frame after those already queued, and the gateway's
                    // last messages still read until it answers.
                    handover = Some(DisconnectReason::TokenRefresh);
                    self.ledger.push_control(WsMessage::Close(Some(our_close())));
                    refresh.as_mut().reset(Instant::now() + DRAIN_LIMIT);
                    IoEvent::Progress
                }
                () = &mut confirm, if confirm_at.is_some() => {
                    self.ledger.mark_turn(Instant::now(), true);
                    IoEvent::Progress
                }
                () = &mut shutdown => return Exit::Cancelled,
                () = &mut close_requested => IoEvent::CloseRequested,
            };
            if conn.too_big && handover.is_none() {
                // The message was dropped as it arrived; tell the gateway
                // (1009) and move to a new connection the same graceful way.
                handover = Some(DisconnectReason::MessageTooBig);
                self.ledger
                    .push_control(WsMessage::Close(Some(our_close_with(CloseCode::Size))));
                refresh.as_mut().reset(Instant::now() + DRAIN_LIMIT);
            }
            match ev {
                IoEvent::Progress => {}
                IoEvent::Queued => {
                    // Messages wait for a run loop's handlers, which will
                    // answer them: let them run first (`yield_now` resumes
                    // this task once its thread has run what else it had)
                    // and write what they send meanwhile in one write,
                    // instead of a write (a syscall, and on loopback the
                    // gateway's receive path too) per answer. A handler
                    // that sends wakes this task into its thread's next
                    // slot, so without this it would write after every
                    // answer. Bounded, so that handlers busy for long
                    // (computing, or awaiting with a backlog behind them)
                    // hold the write back a few turns at most.
                    let mut yields = 0;
                    while yields < MAX_COALESCE_YIELDS
                        && self.ledger.pending_len() < WRITE_BATCH
                        && shared.receiving.load(Ordering::Relaxed)
                        && shared.inbound.has_waiting()
                        && self.closers.is_empty()
                    {
                        tokio::task::yield_now().await;
                        self.drain_commands_upto(WRITE_BATCH);
                        yields += 1;
                    }
                    if !self.closers.is_empty() {
                        return self.graceful_close(conn).await;
                    }
                }
                IoEvent::CloseRequested => return self.graceful_close(conn).await,
                IoEvent::Exit(Exit::PeerClosed { reason, echo }) => {
                    // The gateway's own close, or (handing over) its answer to ours.
                    let ending = self
                        .settle_after_close_frame(&mut conn, echo && handover.is_some())
                        .await;
                    return self.connection_lost(ending, reason, handover);
                }
                IoEvent::Exit(Exit::Lost(reason)) => {
                    return self.connection_lost(Ending::Unclean, reason, handover);
                }
                IoEvent::Exit(exit) => return exit,
            }
        }
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
