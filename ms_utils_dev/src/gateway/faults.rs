//! Fault injection and observation for tests: a cheap clone-able handle on
//! a running [`DevGateway`](super::DevGateway).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use serde_json::Value;
use tracing::info;

use super::lock::lock;
use super::record::RecordedConnection;
use super::session::outbound_for;
use super::state::{GatewayCounters, Outbound, Shared};

/// A grace period like a real gateway's on shutdown, for
/// [`FaultControl::close_user_with_grace`] and
/// [`FaultControl::close_all_with_grace`]: 1 second.
///
/// ```no_run
/// # async fn demo(gateway: ms_utils_dev::gateway::DevGateway) {
/// use ms_utils_dev::gateway::DEFAULT_CLOSE_GRACE;
/// gateway.faults().close_all_with_grace(DEFAULT_CLOSE_GRACE);
/// # }
/// ```
pub const DEFAULT_CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Why a fault-injection call could not be carried out.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GatewayError {
    /// No open websocket connection for that user.
    #[error("user {user} has no open connection to the gateway")]
    NotConnected {
        /// The user asked for.
        user: String,
    },
}

impl GatewayError {
    /// True for [`GatewayError::NotConnected`].
    pub fn is_not_connected(&self) -> bool {
        matches!(self, Self::NotConnected { .. })
    }
}

/// Injects faults into a running [`DevGateway`](super::DevGateway) and
/// observes it. Cheap to clone; get one from
/// [`DevGateway::faults`](super::DevGateway::faults).
///
/// Waiting methods ([`FaultControl::wait_for`],
/// [`FaultControl::wait_connected`]) never time out on their own: wrap them
/// in `tokio::time::timeout`.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use std::time::Duration;
/// use ms_utils_dev::gateway::DevGateway;
///
/// let gateway = DevGateway::builder().user("svc", "pw").start().await?;
/// let faults = gateway.faults();
/// // ... connect a client as "svc" ...
/// tokio::time::timeout(Duration::from_secs(5), faults.wait_connected("svc")).await?;
/// faults.close_all_now();
/// tokio::time::timeout(Duration::from_secs(5), faults.wait_for(|c| c.connections >= 2)).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct FaultControl {
    pub(super) shared: Arc<Shared>,
}

impl fmt::Debug for FaultControl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultControl")
            .field("counters", &*self.shared.counters.borrow())
            .finish_non_exhaustive()
    }
}

impl FaultControl {
    /// Drops every open websocket connection now, without a close frame
    /// (as a crashed or restarted gateway would). Returns how many.
    ///
    /// ```no_run
    /// # async fn demo(gateway: ms_utils_dev::gateway::DevGateway) {
    /// let closed = gateway.faults().close_all_now();
    /// println!("dropped {closed} connections");
    /// # }
    /// ```
    pub fn close_all_now(&self) -> usize {
        let n = self.shared.close_sessions(None);
        info!(connections = n, "closing every connection (fault injected)");
        n
    }

    /// Closes every open connection the polite way: frames already queued
    /// for it are written, then a close frame (1001, going away), and the
    /// gateway goes on reading until the client's end, so that everything
    /// the client sent before it saw the close is routed. Nothing more is
    /// routed to those connections meanwhile, and a new connection of the
    /// same user is not read until the old one has ended, so a client that
    /// reconnects at once keeps its messages in order. Returns how many. (A
    /// client that never answers the close is dropped after 5 seconds.)
    ///
    /// # Cancellation safety
    /// If cancelled while a connection's queue is full, some connections
    /// are marked closing (no longer routed to) without a close frame queued.
    ///
    /// ```no_run
    /// # async fn demo(gateway: ms_utils_dev::gateway::DevGateway) {
    /// let closed = gateway.faults().close_all_gracefully().await;
    /// # let _ = closed; }
    /// ```
    pub async fn close_all_gracefully(&self) -> usize {
        self.close_gracefully(None).await
    }

    /// [`FaultControl::close_all_gracefully`] for the connections of `user`
    /// only; returns how many.
    ///
    /// # Cancellation safety
    /// As [`FaultControl::close_all_gracefully`].
    ///
    /// ```no_run
    /// # async fn demo(gateway: ms_utils_dev::gateway::DevGateway) {
    /// assert_eq!(gateway.faults().close_user_gracefully("svc").await, 1);
    /// # }
    /// ```
    pub async fn close_user_gracefully(&self, user: &str) -> usize {
        self.close_gracefully(Some(user)).await
    }

    async fn close_gracefully(&self, user: Option<&str>) -> usize {
        let queues = self.shared.start_closing(user);
        info!(
            connections = queues.len(),
            "closing connections gracefully (fault injected)"
        );
        let mut n = 0;
        for tx in queues {
            if tx.send(Outbound::Close).await.is_ok() {
                n += 1;
            }
        }
        n
    }

    /// Drops every connection of `user` now; returns how many.
    pub fn close_user(&self, user: &str) -> usize {
        self.shared.close_sessions(Some(user))
    }

    /// Closes every connection of `user` the way a real gateway does when
    /// it goes away (a deploy, a restart): sends a close frame (1001, going
    /// away) on each, ahead of what is still queued for it, then goes on
    /// reading that connection — routing and recording what it reads as
    /// usual — until the client's close frame or the end of its TCP stream,
    /// or until `grace` (counted from this call, in tokio time) runs out;
    /// then drops the TCP connection. Returns how many connections.
    ///
    /// Nothing more is routed to those connections (what was still queued
    /// for them goes to the user's newest connection, if any, when they
    /// end). Unlike [`FaultControl::close_user_gracefully`], a new
    /// connection of the same user is read at once, while the old one may
    /// still be read: a client that writes on its new connection before
    /// its old one is done can be seen reordering. A client that leaves
    /// data unread by the gateway when the grace runs out gets a reset
    /// (RST) rather than an orderly end, as from a real server.
    ///
    /// Calling it again for a connection already in its grace period only
    /// shortens the period (the earlier deadline wins).
    ///
    /// ```no_run
    /// # async fn demo(gateway: ms_utils_dev::gateway::DevGateway) {
    /// use ms_utils_dev::gateway::{ConnectionEnd, DEFAULT_CLOSE_GRACE};
    ///
    /// let faults = gateway.faults();
    /// faults.record(true);
    /// assert_eq!(faults.close_user_with_grace("svc", DEFAULT_CLOSE_GRACE), 1);
    /// faults.wait_disconnected("svc").await;
    /// let end = faults.recorded("svc")[0].end;
    /// assert!(matches!(end, ConnectionEnd::ClientClose | ConnectionEnd::GraceExpired));
    /// # }
    /// ```
    pub fn close_user_with_grace(&self, user: &str, grace: Duration) -> usize {
        let n = self
            .shared
            .close_with_grace(Some(user), deadline_after(grace));
        info!(
            user,
            connections = n,
            ?grace,
            "closing with a grace period (fault injected)"
        );
        n
    }

    /// [`FaultControl::close_user_with_grace`] for every open connection;
    /// returns how many.
    ///
    /// ```no_run
    /// # async fn demo(gateway: ms_utils_dev::gateway::DevGateway) {
    /// use std::time::Duration;
    /// let closing = gateway.faults().close_all_with_grace(Duration::from_millis(500));
    /// # let _ = closing; }
    /// ```
    pub fn close_all_with_grace(&self, grace: Duration) -> usize {
        let n = self.shared.close_with_grace(None, deadline_after(grace));
        info!(
            connections = n,
            ?grace,
            "closing every connection with a grace period (fault injected)"
        );
        n
    }

    /// Resets every connection of `user`, as a crashed gateway host would:
    /// no close frame, the socket is dropped with `SO_LINGER` zero so the
    /// kernel sends RST, and whatever the gateway had not read yet is lost.
    /// The client's next read fails with a connection reset. A new
    /// connection of the same user is read at once. Returns how many.
    ///
    /// Plain and TLS connections alike are reset (a TLS connection gets no
    /// `close_notify` either).
    ///
    /// ```no_run
    /// # async fn demo(gateway: ms_utils_dev::gateway::DevGateway) {
    /// assert_eq!(gateway.faults().abort_user("svc"), 1);
    /// # }
    /// ```
    pub fn abort_user(&self, user: &str) -> usize {
        let n = self.shared.abort_sessions(Some(user));
        info!(
            user,
            connections = n,
            "resetting connections (fault injected)"
        );
        n
    }

    /// [`FaultControl::abort_user`] for every open connection; returns how
    /// many.
    ///
    /// ```no_run
    /// # async fn demo(gateway: ms_utils_dev::gateway::DevGateway) {
    /// let reset = gateway.faults().abort_all();
    /// println!("reset {reset} connections");
    /// # }
    /// ```
    pub fn abort_all(&self) -> usize {
        let n = self.shared.abort_sessions(None);
        info!(
            connections = n,
            "resetting every connection (fault injected)"
        );
        n
    }

    /// Drops every connection open at the time `delay` from now (tokio
    /// time, so paused-time tests control it).
    ///
    /// ```no_run
    /// # async fn demo(gateway: ms_utils_dev::gateway::DevGateway) {
    /// gateway.faults().close_all_after(std::time::Duration::from_millis(50));
    /// # }
    /// ```
    pub fn close_all_after(&self, delay: Duration) {
        let shared = Arc::clone(&self.shared);
        self.shared.tracker.spawn(async move {
            tokio::select! {
                _ = shared.cancel.cancelled() => {}
                _ = tokio::time::sleep(delay) => {
                    let n = shared.close_sessions(None);
                    info!(connections = n, "closing every connection (fault injected)");
                }
            }
        });
    }

    /// While on, every login is answered `401 Unauthorized`, even with
    /// the right password.
    ///
    /// ```no_run
    /// # async fn demo(gateway: ms_utils_dev::gateway::DevGateway) {
    /// gateway.faults().refuse_logins(true); // every login: 401
    /// gateway.faults().refuse_logins(false);
    /// # }
    /// ```
    pub fn refuse_logins(&self, on: bool) {
        self.shared.refuse_logins.store(on, Ordering::Relaxed);
    }

    /// While `Some(code)`, every login is answered with that HTTP status
    /// (e.g. 500) and a JSON error body. Takes precedence over
    /// [`FaultControl::refuse_logins`].
    ///
    /// ```no_run
    /// # async fn demo(gateway: ms_utils_dev::gateway::DevGateway) {
    /// gateway.faults().login_status(Some(500)); // a gateway in trouble
    /// gateway.faults().login_status(None);
    /// # }
    /// ```
    pub fn login_status(&self, status: Option<u16>) {
        *lock(&self.shared.login_status) = status;
    }

    /// While on, the gateway neither reads nor writes on any websocket
    /// (pings go unanswered, queued frames wait) but keeps every socket
    /// open: what a hung peer looks like. Logins still work.
    ///
    /// ```no_run
    /// # async fn demo(gateway: ms_utils_dev::gateway::DevGateway) {
    /// gateway.faults().stall(true); // pings go unanswered
    /// gateway.faults().stall(false);
    /// # }
    /// ```
    pub fn stall(&self, on: bool) {
        self.shared.stalled.send_replace(on);
    }

    /// While `Some(delay)`, the gateway waits `delay` (tokio time) before
    /// reading each frame from any client — pings and close frames too —
    /// as a slow or overloaded gateway would; the client's frames pile up
    /// in the socket meanwhile. `None` (the default) reads at full speed.
    /// A change applies at once, also to a wait under way. See
    /// [`FaultControl::stall`] for a gateway that reads nothing at all.
    ///
    /// ```no_run
    /// # async fn demo(gateway: ms_utils_dev::gateway::DevGateway) {
    /// use std::time::Duration;
    /// gateway.faults().read_delay(Some(Duration::from_millis(20))); // ~50 frames/s per connection
    /// gateway.faults().read_delay(None);
    /// # }
    /// ```
    pub fn read_delay(&self, delay: Option<Duration>) {
        self.shared.read_delay.send_if_modified(|d| {
            let changed = *d != delay;
            *d = delay;
            changed
        });
    }

    /// Switches the record of frames read from clients on or off (off by
    /// default, so that benchmarks do not pay for it). Switching on starts
    /// a new record, forgetting the previous one, that lists every
    /// connection open then or opened later; switching it on while on
    /// changes nothing. Switching off stops recording and keeps what was
    /// recorded readable. The record holds every frame (by reference to
    /// the bytes read, about their size in memory) until the next switch
    /// on or the gateway's end. See [`FaultControl::recorded`].
    ///
    /// ```no_run
    /// # async fn demo(gateway: ms_utils_dev::gateway::DevGateway) {
    /// let faults = gateway.faults();
    /// faults.record(true);
    /// // ... clients send ...
    /// faults.record(false);
    /// println!("{:?}", faults.recorded_texts("svc"));
    /// # }
    /// ```
    pub fn record(&self, on: bool) {
        if on {
            self.shared.start_recording();
        } else {
            self.shared.recorder.stop();
        }
    }

    /// What the gateway read from `user`'s connections since the record
    /// was switched on ([`FaultControl::record`]): one entry per connection
    /// (ended ones included), in connection order, each with every text
    /// and binary frame in arrival order — recorded as read, before any
    /// routing, so chunk pieces appear one by one and frames the gateway
    /// ignores appear too — and how it ended. Empty when recording was
    /// never switched on.
    ///
    /// ```no_run
    /// # async fn demo(gateway: ms_utils_dev::gateway::DevGateway) {
    /// let faults = gateway.faults();
    /// faults.record(true);
    /// // ... a client connects as "svc", sends, reconnects, sends ...
    /// let conns = faults.recorded("svc");
    /// for conn in &conns {
    ///     println!("connection {} ({:?}): {:?}", conn.id, conn.end, conn.frames);
    /// }
    /// # }
    /// ```
    pub fn recorded(&self, user: &str) -> Vec<RecordedConnection> {
        self.shared.recorder.recorded(user)
    }

    /// The text frames of [`FaultControl::recorded`] for `user`, all
    /// connections concatenated in connection order: what the gateway read
    /// from that user, in the order a single connection would have needed
    /// to deliver it.
    ///
    /// ```no_run
    /// # async fn demo(gateway: ms_utils_dev::gateway::DevGateway) {
    /// let faults = gateway.faults();
    /// faults.record(true);
    /// // ... a client connects as "svc" and sends {"event":"hi"} ...
    /// assert_eq!(faults.recorded_texts("svc"), [r#"{"event":"hi"}"#]);
    /// # }
    /// ```
    pub fn recorded_texts(&self, user: &str) -> Vec<String> {
        self.shared.recorder.recorded_texts(user)
    }

    /// Forgets every token issued so far: upgrades with them are refused
    /// until the client logs in again.
    pub fn revoke_tokens(&self) {
        lock(&self.shared.tokens).revoke_all();
    }

    /// Sends `text` as one text frame, as is (not necessarily JSON), to
    /// `to_user`'s newest connection.
    ///
    /// # Errors
    /// [`GatewayError::NotConnected`] when `to_user` has no connection.
    ///
    /// # Cancellation safety
    /// Cancel-safe: if cancelled while the connection's queue is full,
    /// nothing was queued.
    ///
    /// ```no_run
    /// # async fn demo(gateway: ms_utils_dev::gateway::DevGateway) {
    /// gateway.faults().send_raw_text("svc", "not json {").await.unwrap();
    /// # }
    /// ```
    pub async fn send_raw_text(
        &self,
        to_user: &str,
        text: impl Into<String>,
    ) -> Result<(), GatewayError> {
        self.queue(to_user, Outbound::Text(text.into())).await
    }

    /// Sends `bytes` as one binary frame to `to_user`'s newest connection.
    ///
    /// # Errors
    /// [`GatewayError::NotConnected`] when `to_user` has no connection.
    ///
    /// # Cancellation safety
    /// Cancel-safe, as [`FaultControl::send_raw_text`].
    pub async fn send_raw_binary(
        &self,
        to_user: &str,
        bytes: impl Into<Bytes>,
    ) -> Result<(), GatewayError> {
        self.queue(to_user, Outbound::Binary(bytes.into())).await
    }

    /// Sends `value` to `to_user` the way routed tasks are sent: whole, or
    /// as chunk messages when its serialization is above the gateway's
    /// chunk threshold.
    ///
    /// # Errors
    /// [`GatewayError::NotConnected`] when `to_user` has no connection.
    ///
    /// # Cancellation safety
    /// Cancel-safe, as [`FaultControl::send_raw_text`].
    ///
    /// ```no_run
    /// # async fn demo(gateway: ms_utils_dev::gateway::DevGateway) {
    /// let value = serde_json::json!({"event": "ms-task", "data": {"big": "x".repeat(2 << 20)}});
    /// gateway.faults().deliver("svc", &value).await.unwrap(); // arrives as chunks
    /// # }
    /// ```
    pub async fn deliver(&self, to_user: &str, value: &Value) -> Result<(), GatewayError> {
        self.queue(to_user, outbound_for(&self.shared, value)).await
    }

    async fn queue(&self, to_user: &str, out: Outbound) -> Result<(), GatewayError> {
        let not_connected = || GatewayError::NotConnected {
            user: to_user.to_owned(),
        };
        let tx = self.shared.sender_for(to_user).ok_or_else(not_connected)?;
        tx.send(out).await.map_err(|_| not_connected())
    }

    /// The users with an open connection, sorted, once per connection.
    ///
    /// ```no_run
    /// # async fn demo(gateway: ms_utils_dev::gateway::DevGateway) {
    /// assert_eq!(gateway.faults().connected_users(), ["svc"]);
    /// # }
    /// ```
    pub fn connected_users(&self) -> Vec<String> {
        self.shared.connected_users()
    }

    /// A snapshot of the counters.
    pub fn counters(&self) -> GatewayCounters {
        self.shared.counters.borrow().clone()
    }

    /// Logins answered 201 so far.
    pub fn logins(&self) -> u64 {
        self.shared.counters.borrow().logins
    }

    /// Websocket connections established so far.
    pub fn connections(&self) -> u64 {
        self.shared.counters.borrow().connections
    }

    /// A `watch` on the counters, updated on every change.
    pub fn watch_counters(&self) -> tokio::sync::watch::Receiver<GatewayCounters> {
        self.shared.counters.subscribe()
    }

    /// Waits until `pred` holds for the counters and returns them.
    ///
    /// # Cancellation safety
    /// Cancel-safe (it only observes).
    ///
    /// ```no_run
    /// # async fn demo(gateway: ms_utils_dev::gateway::DevGateway) {
    /// use std::time::Duration;
    /// let faults = gateway.faults();
    /// // e.g. wait for a client to log in again after a fault
    /// let c = tokio::time::timeout(Duration::from_secs(5), faults.wait_for(|c| c.logins >= 2))
    ///     .await
    ///     .unwrap();
    /// assert!(c.connections >= 1);
    /// # }
    /// ```
    pub async fn wait_for(
        &self,
        mut pred: impl FnMut(&GatewayCounters) -> bool,
    ) -> GatewayCounters {
        let mut rx = self.shared.counters.subscribe();
        match rx.wait_for(|c| pred(c)).await {
            Ok(c) => c.clone(),
            // The sender lives as long as `self.shared`: unreachable, but
            // answering the current value beats a panic.
            Err(_) => self.counters(),
        }
    }

    /// Waits until `user` has an open connection.
    ///
    /// # Cancellation safety
    /// Cancel-safe (it only observes).
    pub async fn wait_connected(&self, user: &str) {
        let mut rx = self.shared.counters.subscribe();
        loop {
            // Mark the current value seen before looking, so a connection
            // made right after the look still wakes us.
            rx.borrow_and_update();
            if self.shared.connected_users().iter().any(|u| u == user) {
                return;
            }
            if rx.changed().await.is_err() {
                return;
            }
        }
    }

    /// Waits until `user` has no open connection.
    ///
    /// # Cancellation safety
    /// Cancel-safe (it only observes).
    pub async fn wait_disconnected(&self, user: &str) {
        let mut rx = self.shared.counters.subscribe();
        loop {
            rx.borrow_and_update();
            if !self.shared.connected_users().iter().any(|u| u == user) {
                return;
            }
            if rx.changed().await.is_err() {
                return;
            }
        }
    }
}

/// `grace` from now in tokio time; a grace too long to add is a grace of
/// about a century.
fn deadline_after(grace: Duration) -> tokio::time::Instant {
    let now = tokio::time::Instant::now();
    now.checked_add(grace)
        .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 24 * 3600))
}
