//! The public handle, [`MicroServiceWs`]: sends, requests, receiving,
//! state, and the close (the state it shares with the connection task is
//! in [`shared`](crate::ws::shared)). The sends are in `send.rs`, `close()` and
//! `flush()` in `close.rs`.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::{broadcast, mpsc, watch};

use crate::lock::lock;
use crate::ws::chunks::ChunkAssembler;
use crate::ws::config::{WsConfig, WsConfigBuilder};
use crate::ws::connection::Actor;
use crate::ws::connection::dial::{Dialer, TokenSlot};
use crate::ws::connection::retry::{Retry, dial_with_retry};
use crate::ws::error::Error;
use crate::ws::in_flight::InFlight;
use crate::ws::inbound::queue::InboundQueue;
use crate::ws::inbound::{expire_chunks, process};
use crate::ws::protocol::message::Message;
use crate::ws::shared::{Lifecycle, Shared};
use crate::ws::state::{ConnectionState, Counters, Event, Stats};

mod call;
mod close;
mod send;

pub use call::{Call, DEFAULT_CALL_TIMEOUT, Reply};

/// Closes the client when the last user handle goes away.
struct HandleGuard(Arc<Shared>);

impl Drop for HandleGuard {
    fn drop(&mut self) {
        // No `Close` command: the connection task, woken, takes what is
        // queued, delivers it, and reports what it could not at ERROR.
        self.0.lifecycle.close_requested.cancel();
    }
}

/// The gateway client: a cheap, cloneable handle to one connection task.
///
/// Every clone talks to the same connection. The connection is kept (logging
/// in again and reconnecting with backoff after any loss) until
/// [`close`](Self::close) is called or the last handle is dropped.
///
/// ```no_run
/// use ms_utils_communication::ws::{Message, MicroServiceWs};
///
/// # async fn f() -> Result<(), ms_utils_communication::ws::Error> {
/// let ms = MicroServiceWs::builder("gateway.example.com")
///     .credentials("my-service", "secret")
///     .connect()
///     .await?;
/// ms.send_task_to_ms("other-service", "ref-1", "job-1", serde_json::json!({"x": 1})).await?;
/// let run = ms.run(|msg: Message| async move {
///     println!("got {:?}", msg.event());
///     Ok::<(), std::convert::Infallible>(())
/// });
/// ms.disconnected().await;
/// # drop(run); Ok(()) }
/// ```
#[derive(Clone)]
pub struct MicroServiceWs {
    pub(crate) shared: Arc<Shared>,
    /// The token of the current connection, kept up to date by the dialer.
    token: TokenSlot,
    _guard: Arc<HandleGuard>,
}

/// A handle that does not keep the client open: what a receive loop holds,
/// to give each call that asks a [`MicroServiceWs`] of its own.
#[derive(Clone)]
pub(crate) struct WeakClient {
    shared: Arc<Shared>,
    token: TokenSlot,
    guard: Weak<HandleGuard>,
}

impl WeakClient {
    /// A handle for a handler call: it keeps the client open until the
    /// call drops it, as any handle does. Once every user handle is gone
    /// the client is closing already, and the call gets a handle that
    /// (sends refused) only lets it finish.
    pub(crate) fn upgrade(&self) -> MicroServiceWs {
        let guard = self
            .guard
            .upgrade()
            .unwrap_or_else(|| Arc::new(HandleGuard(self.shared.clone())));
        MicroServiceWs {
            shared: self.shared.clone(),
            token: self.token.clone(),
            _guard: guard,
        }
    }
}

impl MicroServiceWs {
    pub(crate) fn downgrade(&self) -> WeakClient {
        WeakClient {
            shared: self.shared.clone(),
            token: self.token.clone(),
            guard: Arc::downgrade(&self._guard),
        }
    }
}

impl fmt::Debug for MicroServiceWs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MicroServiceWs")
            .field("host", &self.shared.config.host)
            .field("state", &*self.shared.state_tx.borrow())
            .finish_non_exhaustive()
    }
}

#[allow(dead_code)]
fn _assert_impls() {
    fn assert_send_sync_clone<T: Send + Sync + Clone>() {}
    fn assert_send<T: Send>(_: T) {}
    assert_send_sync_clone::<MicroServiceWs>();
    let ms: Option<MicroServiceWs> = None;
    if let Some(ms) = ms {
        let other = ms.clone();
        assert_send(async move { ms.send(1).await });
        assert_send(async move { other.receive().await });
        assert_send(MicroServiceWs::builder("h").connect());
    }
}

impl MicroServiceWs {
    /// A configuration builder for the gateway at `host`; finish with
    /// [`WsConfigBuilder::connect`].
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), ms_utils_communication::ws::Error> {
    /// let ms = ms_utils_communication::ws::MicroServiceWs::builder("127.0.0.1:8080")
    ///     .tls(false)
    ///     .credentials("svc", "pw")
    ///     .connect()
    ///     .await?;
    /// # let _ = ms; Ok(()) }
    /// ```
    pub fn builder(host: impl Into<String>) -> WsConfigBuilder {
        WsConfigBuilder::new(host)
    }

    /// Log in ([protocol: login](crate::protocol#login)), open the websocket ([protocol: connecting](crate::protocol#connecting)) and start the connection task.
    ///
    /// # Fail fast, retry what may pass
    /// Errors that retrying cannot fix end the call on the first attempt:
    /// refused credentials ([`Error::BadCredentials`]: a 4xx login, a 401/403
    /// upgrade), a bad configuration ([`Error::Config`]: a host that makes no
    /// valid URI, another 4xx upgrade answer), an untrusted or unusable
    /// certificate ([`Error::Tls`]). Transient ones — connection refused or
    /// reset, timeouts, a 5xx login or upgrade, a name that does not resolve
    /// (DNS may be briefly unavailable, or a new service's name not published
    /// yet) — are retried with the [`reconnect`](WsConfigBuilder::reconnect)
    /// backoff, logging a WARN line per failure that names the host and the
    /// cause, until the [`connect_deadline`](WsConfigBuilder::connect_deadline)
    /// (default 30 s, `None` for no deadline) or `max_attempts` runs out. So a
    /// typo in the host fails within the deadline, with the resolver's message.
    ///
    /// # Errors
    /// Those above at once; [`Error::ConnectDeadline`] when the deadline
    /// passed, [`Error::GaveUp`] after `max_attempts`, both carrying the last
    /// failure; with [`retry_initial_connect(false)`](WsConfigBuilder::retry_initial_connect)
    /// the first failure, whatever it is.
    ///
    /// # Cancellation safety
    /// Cancelling it drops the half-made connection; nothing is left running.
    ///
    /// ```no_run
    /// use ms_utils_communication::ws::{MicroServiceWs, WsConfig};
    /// # async fn f() -> Result<(), ms_utils_communication::ws::Error> {
    /// let config = WsConfig::builder("gw:443").credentials("svc", "pw").build()?;
    /// let ms = MicroServiceWs::connect(config).await?;
    /// # let _ = ms; Ok(()) }
    /// ```
    pub async fn connect(config: WsConfig) -> Result<MicroServiceWs, Error> {
        let dialer = Dialer::new(&config)?;
        let token = dialer.token_slot();
        let retry = Retry {
            policy: config.reconnect.clone(),
            deadline: config
                .connect_deadline
                .map(|after| (tokio::time::Instant::now() + after, after)),
            at_once: true,
            retry_if: if config.retry_initial_connect {
                Error::is_transient
            } else {
                |_| false
            },
            retrying: "gateway connect failed, retrying",
        };
        let (ws, first_token) = dial_with_retry(&dialer, &retry, |_| {}).await?;
        let (cmd_tx, cmd_rx) = mpsc::channel(config.queue_size);
        let (events, _) = broadcast::channel(256);
        let shared = Arc::new(Shared {
            chunks: Mutex::new(ChunkAssembler::new(config.chunk_limits.clone())),
            inbound: InboundQueue::new(config.inbound_buffer, config.inbound_buffer_bytes),
            config,
            cmd_tx,
            state_tx: watch::Sender::new(ConnectionState::Connecting),
            events,
            counters: Counters::default(),
            receiving: AtomicBool::new(false),
            calls: InFlight::default(),
            lifecycle: Lifecycle::default(),
        });
        let actor = Actor::new(shared.clone(), Arc::new(dialer), cmd_rx);
        // Connected before returning, so `is_connected()` is true right away.
        shared.state_tx.send_replace(ConnectionState::Connected);
        let tasks = &shared.lifecycle.tasks;
        tasks.spawn(actor.run(ws, first_token));
        tasks.spawn({
            let shared = shared.clone();
            async move {
                let ttl = shared.config.chunk_limits.ttl;
                // Closing: buffered chunks are still consumed, but nothing
                // waits long enough for a TTL to matter, and this task must
                // not keep the client alive.
                tokio::select! {
                    () = shared.lifecycle.closing() => {}
                    () = expire_chunks(shared.pipeline(), ttl) => {}
                }
            }
        });
        #[cfg(feature = "metrics")]
        tasks.spawn({
            let shared = shared.clone();
            async move {
                let client = shared.config.username().unwrap_or("-").to_owned();
                let read = || {
                    let connected = shared.state_tx.borrow().is_connected();
                    (shared.counters.snapshot(), connected)
                };
                super::metrics::export(client, read, shared.lifecycle.closing()).await;
            }
        });
        Ok(MicroServiceWs {
            token,
            _guard: Arc::new(HandleGuard(shared.clone())),
            shared,
        })
    }

    /// The gateway token of the current connection (the one the last login
    /// issued; it changes when the client logs in again), for the platform's
    /// REST calls: the Python original's `get_token`. `None` when
    /// [`need_token`](WsConfigBuilder::need_token) is off.
    ///
    /// It is a secret: the client never logs it, and neither should you.
    ///
    /// ```no_run
    /// # async fn f(ms: ms_utils_communication::ws::MicroServiceWs) {
    /// if let Some(token) = ms.token() {
    ///     let auth = format!("Bearer {token}");
    ///     // reqwest::Client::new().get(url).header("Authorization", auth)...
    /// #   let _ = auth;
    /// }
    /// # }
    /// ```
    pub fn token(&self) -> Option<String> {
        lock(&self.token).clone()
    }

    /// Pull the next message (the original's `receive()`), for code that does
    /// not use [`run`](Self::run). Messages buffered before a close are still
    /// returned; then it answers [`Error::Closed`].
    ///
    /// # Errors
    /// [`Error::Closed`] once closed and drained; [`Error::ReceiverBusy`] while a
    /// `run` loop owns the messages.
    ///
    /// # Cancellation safety
    /// Cancel-safe: a cancelled call loses no message.
    ///
    /// ```no_run
    /// # async fn f(ms: ms_utils_communication::ws::MicroServiceWs) -> Result<(), ms_utils_communication::ws::Error> {
    /// let msg = ms.receive().await?;
    /// println!("{:?}", msg.event());
    /// # Ok(()) }
    /// ```
    pub async fn receive(&self) -> Result<Message, Error> {
        if self.shared.receiving.load(Ordering::Acquire) {
            return Err(Error::ReceiverBusy);
        }
        loop {
            let frame = self.shared.inbound.pop().await.ok_or(Error::Closed)?;
            // `process` is synchronous: once a frame is taken it is delivered or
            // deliberately dropped, never lost to cancellation.
            if let Some(msg) = process(self.shared.pipeline(), frame) {
                return Ok(msg);
            }
        }
    }

    /// A `watch` of the connection state.
    ///
    /// ```no_run
    /// # async fn f(ms: ms_utils_communication::ws::MicroServiceWs) {
    /// let mut state = ms.state();
    /// while state.changed().await.is_ok() {
    ///     println!("now {:?}", *state.borrow());
    /// }
    /// # }
    /// ```
    pub fn state(&self) -> watch::Receiver<ConnectionState> {
        self.shared.state_tx.subscribe()
    }

    /// A stream of [`Event`]s from now on (a `broadcast` receiver: a reader
    /// that falls more than 256 events behind skips the oldest).
    ///
    /// ```no_run
    /// # async fn f(ms: ms_utils_communication::ws::MicroServiceWs) {
    /// let mut events = ms.events();
    /// while let Ok(event) = events.recv().await {
    ///     println!("{event}");
    /// }
    /// # }
    /// ```
    pub fn events(&self) -> broadcast::Receiver<Event> {
        self.shared.events.subscribe()
    }

    /// True while the websocket is open.
    ///
    /// ```no_run
    /// # fn f(ms: ms_utils_communication::ws::MicroServiceWs) {
    /// if !ms.is_connected() { println!("offline, messages are queued"); }
    /// # }
    /// ```
    pub fn is_connected(&self) -> bool {
        self.shared.state_tx.borrow().is_connected()
    }

    /// Resolves as soon as the connection is not open (lost or closed); at once
    /// if it is not open now. The original's `disconnect_event`.
    ///
    /// # Cancellation safety
    /// Cancel-safe.
    ///
    /// ```no_run
    /// # async fn f(ms: ms_utils_communication::ws::MicroServiceWs) {
    /// ms.disconnected().await;
    /// println!("connection lost; the client is reconnecting");
    /// # }
    /// ```
    pub async fn disconnected(&self) {
        let mut rx = self.state();
        let _ = rx.wait_for(|s| !s.is_connected()).await;
    }

    /// Resolves when the client is closed for good.
    ///
    /// # Cancellation safety
    /// Cancel-safe.
    ///
    /// ```no_run
    /// # async fn f(ms: ms_utils_communication::ws::MicroServiceWs) {
    /// ms.closed().await;
    /// # }
    /// ```
    pub async fn closed(&self) {
        let mut rx = self.state();
        let _ = rx.wait_for(|s| s.is_closed()).await;
    }

    /// Copies [`stats`](Self::stats) to the `metrics` facade now (feature
    /// `metrics`). The client does it by itself once a second and when it
    /// closes; call this before a scrape that must be exact.
    ///
    /// Names start with `ms_utils_ws_`: counters `messages_in_total`,
    /// `messages_out_total`, `reconnects_total`, `chunk_jobs_completed_total`,
    /// `chunk_jobs_dropped_total`, `chunk_jobs_evicted_total`,
    /// `chunks_ignored_total`, `frames_dropped_total`,
    /// `messages_too_big_total`, `handler_errors_total`,
    /// `handler_timeouts_total`, `resent_total`, `possibly_lost_total`,
    /// `volatile_dropped_total`; gauges
    /// `chunk_jobs_pending`, `chunk_bytes_pending`, `outbound_queued`,
    /// `outbound_unconfirmed`, `connected` (1 or 0). Each carries the label
    /// `client` (the login name). A service plugs in its exporter with one
    /// line at start-up, e.g. with the `metrics-exporter-prometheus` crate:
    /// `PrometheusBuilder::new().install()?`.
    ///
    /// ```no_run
    /// # async fn f(ms: ms_utils_communication::ws::MicroServiceWs) {
    /// ms.publish_metrics();
    /// # }
    /// ```
    #[cfg(feature = "metrics")]
    pub fn publish_metrics(&self) {
        let client = self.shared.config.username().unwrap_or("-");
        super::metrics::publish(client, &self.stats(), self.is_connected());
    }

    /// A snapshot of the counters.
    ///
    /// ```no_run
    /// # fn f(ms: ms_utils_communication::ws::MicroServiceWs) {
    /// let s = ms.stats();
    /// println!("in {} out {} reconnects {}", s.messages_in, s.messages_out, s.reconnects);
    /// # }
    /// ```
    pub fn stats(&self) -> Stats {
        self.shared.counters.snapshot()
    }
}
