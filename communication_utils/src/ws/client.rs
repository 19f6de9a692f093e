//! The public handle, [`MicroServiceWs`]: sends, requests, receiving,
//! state, and the close (the state it shares with the connection task is
//! in [`shared`](crate::ws::shared)).

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::ws::chunks::{ChunkAssembler, chunk_texts};
use crate::ws::config::{WsConfig, WsConfigBuilder};
use crate::ws::connection::Actor;
use crate::ws::connection::dial::{Dialer, TokenSlot};
use crate::ws::error::Error;
use crate::ws::in_flight::{self, InFlight};
use crate::ws::inbound::queue::InboundQueue;
use crate::ws::inbound::{expire_chunks, process};
use crate::ws::protocol::message::Message;
use crate::ws::protocol::python_json::ms_send_task;
use crate::ws::shared::Command;
use crate::ws::shared::Shared;
use crate::ws::state::{ConnectionState, Counters, Event, Stats};

/// Closes the client when the last user handle goes away.
struct HandleGuard(Arc<Shared>);

impl Drop for HandleGuard {
    fn drop(&mut self) {
        self.0.request_close();
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

/// Pending-request bookkeeping that undoes itself when the request ends in
/// any way (reply, deadline, cancellation).
struct PendingGuard<'a> {
    shared: &'a Shared,
    job_id: &'a str,
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        let removed = self
            .shared
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(self.job_id);
        if removed.is_some() {
            self.shared.pending_count.fetch_sub(1, Ordering::AcqRel);
        }
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
        let policy = config.reconnect.clone();
        let deadline = config
            .connect_deadline
            .map(|after| (tokio::time::Instant::now() + after, after));
        let mut attempt: u32 = 0;
        let (ws, first_token) = loop {
            attempt = attempt.saturating_add(1);
            let result =
                match deadline {
                    // An attempt still running at the deadline is cut off.
                    Some((at, after)) => tokio::time::timeout_at(at, dialer.dial())
                        .await
                        .unwrap_or(Err(Error::Timeout {
                            what: "connect deadline",
                            after,
                        })),
                    None => dialer.dial().await,
                };
            match result {
                Ok(conn) => break conn,
                Err(error) if error.is_transient() && config.retry_initial_connect => {
                    if policy.gives_up_after(attempt) {
                        return Err(Error::GaveUp {
                            attempts: attempt,
                            last: Box::new(error),
                        });
                    }
                    let delay = policy.delay(attempt);
                    // No attempt starts after the deadline.
                    if let Some((at, after)) = deadline
                        && tokio::time::Instant::now() + delay >= at
                    {
                        tracing::warn!(
                            host = %config.host,
                            attempts = attempt,
                            %error,
                            ?after,
                            "gateway connect deadline passed; giving up"
                        );
                        return Err(Error::ConnectDeadline {
                            after,
                            attempts: attempt,
                            last: Box::new(error),
                        });
                    }
                    tracing::warn!(
                        host = %config.host,
                        attempt,
                        %error,
                        ?delay,
                        "gateway connect failed; retrying"
                    );
                    tokio::time::sleep(delay).await;
                }
                Err(error) => return Err(error),
            }
        };
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
            pending: Mutex::new(HashMap::new()),
            pending_count: AtomicUsize::new(0),
            closing: AtomicBool::new(false),
            gave_up: AtomicBool::new(false),
            close_called: AtomicBool::new(false),
            undelivered: Mutex::new(None),
            close_requested: CancellationToken::new(),
            shutdown: CancellationToken::new(),
            tasks: TaskTracker::new(),
            handlers: TaskTracker::new(),
            calls: InFlight::default(),
        });
        let actor = Actor::new(shared.clone(), dialer, cmd_rx);
        // Connected before returning, so `is_connected()` is true right away.
        shared.state_tx.send_replace(ConnectionState::Connected);
        shared.tasks.spawn(actor.run(ws, first_token));
        shared.tasks.spawn(expire_chunks(shared.clone()));
        #[cfg(feature = "metrics")]
        shared.tasks.spawn(super::metrics::export(shared.clone()));
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
        self.token.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn check_open(&self, len: usize) -> Result<(), Error> {
        if self.shared.closing.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        let limit = self.shared.config.max_message_size;
        if len > limit {
            return Err(Error::MessageTooLarge { size: len, limit });
        }
        Ok(())
    }

    async fn enqueue(&self, frame: WsMessage) -> Result<(), Error> {
        self.check_open(frame.len())?;
        self.shared
            .cmd_tx
            .send(Command::Send(frame))
            .await
            .map_err(|_| Error::Closed)
    }

    /// Queue `value` as one JSON text frame (serialized with `serde_json`).
    /// Waits while the outbound queue is full.
    ///
    /// # Delivery
    /// A message this accepts (`Ok`) ends in exactly one of these states:
    /// confirmed read by the gateway; written again on a later connection
    /// after an unconfirmed end ([`DeliveryMode::AtLeastOnce`](super::DeliveryMode::AtLeastOnce), counted in
    /// [`Stats::resent`]) or counted as possibly lost
    /// ([`DeliveryMode::AtMostOnce`](super::DeliveryMode::AtMostOnce), [`Stats::possibly_lost`]); or handed
    /// back by [`close`](Self::close) in [`Error::Undelivered`]. Messages
    /// arrive in the order they were accepted, across reconnects.
    ///
    /// # Errors
    /// [`Error::Closed`] after close, [`Error::MessageTooLarge`] over the max
    /// message size, [`Error::Json`] when `value` does not serialize.
    ///
    /// # Cancellation safety
    /// Cancelling while it waits for room in the queue queues nothing.
    ///
    /// ```no_run
    /// # async fn f(ms: ms_utils_communication::ws::MicroServiceWs) -> Result<(), ms_utils_communication::ws::Error> {
    /// ms.send(serde_json::json!({"event": "status", "data": "ready"})).await?;
    /// # Ok(()) }
    /// ```
    pub async fn send(&self, value: impl Serialize) -> Result<(), Error> {
        let text = serde_json::to_string(&value)?;
        self.enqueue(WsMessage::Text(text.into())).await
    }

    /// Like [`send`](Self::send) without waiting.
    ///
    /// # Errors
    /// [`Error::QueueFull`] when the outbound queue is full, and those of `send`.
    ///
    /// ```no_run
    /// # fn f(ms: ms_utils_communication::ws::MicroServiceWs) {
    /// if let Err(e) = ms.try_send(serde_json::json!({"event": "tick"})) {
    ///     assert!(e.is_queue_full() || e.is_closed());
    /// }
    /// # }
    /// ```
    pub fn try_send(&self, value: impl Serialize) -> Result<(), Error> {
        let text = serde_json::to_string(&value)?;
        self.check_open(text.len())?;
        self.shared
            .cmd_tx
            .try_send(Command::Send(WsMessage::Text(text.into())))
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => Error::QueueFull,
                mpsc::error::TrySendError::Closed(_) => Error::Closed,
            })
    }

    /// Queue a text frame as is (the caller vouches that it is what the peer expects).
    ///
    /// # Errors
    /// As [`send`](Self::send).
    ///
    /// # Cancellation safety
    /// As [`send`](Self::send).
    ///
    /// ```no_run
    /// # async fn f(ms: ms_utils_communication::ws::MicroServiceWs) -> Result<(), ms_utils_communication::ws::Error> {
    /// ms.send_text(r#"{"event": "hello"}"#).await?;
    /// # Ok(()) }
    /// ```
    pub async fn send_text(&self, text: impl Into<String>) -> Result<(), Error> {
        self.enqueue(WsMessage::Text(text.into().into())).await
    }

    /// Queue a binary frame.
    ///
    /// # Errors
    /// As [`send`](Self::send).
    ///
    /// # Cancellation safety
    /// As [`send`](Self::send).
    ///
    /// ```no_run
    /// # async fn f(ms: ms_utils_communication::ws::MicroServiceWs) -> Result<(), ms_utils_communication::ws::Error> {
    /// ms.send_binary(vec![1u8, 2, 3]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn send_binary(&self, data: impl Into<bytes::Bytes>) -> Result<(), Error> {
        self.enqueue(WsMessage::Binary(data.into())).await
    }

    /// Send a task to another microservice ([protocol: tasks](crate::protocol#tasks)), byte-for-byte the
    /// JSON the Python original's `send_task_to_ms` sends.
    ///
    /// # Errors
    /// As [`send`](Self::send).
    ///
    /// # Cancellation safety
    /// As [`send`](Self::send).
    ///
    /// ```no_run
    /// # async fn f(ms: ms_utils_communication::ws::MicroServiceWs) -> Result<(), ms_utils_communication::ws::Error> {
    /// ms.send_task_to_ms("workers_manager", "wf-1", "job-1", serde_json::json!({"job_type": "inference"})).await?;
    /// # Ok(()) }
    /// ```
    pub async fn send_task_to_ms(
        &self,
        ms: &str,
        reference_id: &str,
        job_id: &str,
        data: impl Serialize,
    ) -> Result<(), Error> {
        let text = ms_send_task(ms, reference_id, job_id, &data)?;
        self.enqueue(WsMessage::Text(text.into())).await
    }

    /// Send `value` as [chunk messages](crate::protocol#chunking) (base64 pieces of
    /// [`chunk_piece_size`](WsConfigBuilder::chunk_piece_size) bytes, one fresh
    /// `jobId`), for peers that reassemble chunks (this client does). Returns the
    /// chunk `jobId`.
    ///
    /// # Errors
    /// As [`send`](Self::send); the size limit applies to the whole message.
    ///
    /// # Cancellation safety
    /// Cancelling may leave part of the chunks queued; the receiver drops the
    /// incomplete job after its TTL.
    ///
    /// ```no_run
    /// # async fn f(ms: ms_utils_communication::ws::MicroServiceWs) -> Result<(), ms_utils_communication::ws::Error> {
    /// let big = serde_json::json!({"blob": "x".repeat(10 << 20)});
    /// ms.send_chunked(&big).await?;
    /// # Ok(()) }
    /// ```
    pub async fn send_chunked(&self, value: impl Serialize) -> Result<String, Error> {
        let bytes = serde_json::to_vec(&value)?;
        self.check_open(bytes.len())?;
        let job_id = format!("{:032x}", rand::random::<u128>());
        let frames =
            chunk_texts(&job_id, &bytes, self.shared.config.chunk_piece_size).map_err(|e| {
                Error::Chunking {
                    reason: e.to_string(),
                }
            })?;
        drop(bytes);
        for frame in frames {
            self.enqueue(WsMessage::Text(frame.into())).await?;
        }
        Ok(job_id)
    }

    /// Send a task to `to` and wait for the message that answers it, matched by
    /// `jobId` (`data.jobId` or a top-level `jobId`), until `timeout` passes.
    /// `job_id` is also used as the reference id. The answer is not given to
    /// the `run` handler or `receive`.
    ///
    /// # Errors
    /// [`Error::Timeout`] when no answer came in time; [`Error::Remote`] when the
    /// gateway answered `ms-error` (e.g. unknown microservice); [`Error::Closed`]
    /// when the client closes meanwhile; [`Error::DuplicateRequest`] when a
    /// request with this `job_id` is already waiting.
    ///
    /// # Cancellation safety
    /// Cancelling forgets the request; a late answer is then delivered normally.
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # async fn f(ms: ms_utils_communication::ws::MicroServiceWs) -> Result<(), ms_utils_communication::ws::Error> {
    /// let answer = ms.request("worker", "job-42", serde_json::json!({"n": 2}), Duration::from_secs(30)).await?;
    /// println!("{:?}", answer.data());
    /// # Ok(()) }
    /// ```
    pub async fn request(
        &self,
        to: &str,
        job_id: &str,
        data: impl Serialize,
        timeout: Duration,
    ) -> Result<Message, Error> {
        let text = ms_send_task(to, job_id, job_id, &data)?;
        self.check_open(text.len())?;
        let (tx, rx) = oneshot::channel();
        {
            let mut pending = self
                .shared
                .pending
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if pending.contains_key(job_id) {
                return Err(Error::DuplicateRequest {
                    job_id: job_id.to_owned(),
                });
            }
            pending.insert(job_id.to_owned(), tx);
            self.shared.pending_count.fetch_add(1, Ordering::AcqRel);
        }
        let _guard = PendingGuard {
            shared: &self.shared,
            job_id,
        };
        let answer = tokio::time::timeout(timeout, async {
            self.enqueue(WsMessage::Text(text.into())).await?;
            rx.await.map_err(|_| Error::Closed)
        })
        .await
        .map_err(|_| Error::Timeout {
            what: "request",
            after: timeout,
        })??;
        if answer.event() == Some("ms-error") {
            let message = answer
                .data()
                .and_then(|d| d.get("message"))
                .and_then(|m| m.as_str())
                .unwrap_or("")
                .to_owned();
            return Err(Error::Remote {
                job_id: job_id.to_owned(),
                message,
            });
        }
        Ok(answer)
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
            if let Some(msg) = process(&*self.shared, frame) {
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
    /// `handler_timeouts_total`, `resent_total`, `possibly_lost_total`; gauges
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
        super::metrics::publish(&self.shared);
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

    /// Close: deliver everything accepted, send a close frame, let running
    /// handlers finish, and end every task. Afterwards every send answers
    /// [`Error::Closed`]. Calling it again (from any clone) is harmless.
    ///
    /// # Delivery
    /// Everything accepted before the call is written, then the close frame;
    /// the gateway's answer to it confirms that all was read. When
    /// disconnected, it goes on reconnecting to deliver. All of this is
    /// bounded by the close timeout ([`WsConfigBuilder::close_timeout`],
    /// default 10 s); what it could not deliver by then is returned in
    /// [`Error::Undelivered`], never dropped silently. (Dropping the last
    /// handle without `close()` does the same work, and logs undelivered
    /// messages at ERROR, with their count.)
    ///
    /// # Handlers
    /// Running handlers get the close timeout to finish. Called from inside
    /// a handler of this client, `close()` waits for the other handlers, not
    /// for the one calling it (which finishes after `close()` returns). A task
    /// a handler spawns is not a handler: awaiting a `close()` there from the
    /// handler waits for the handler itself, until the timeout.
    ///
    /// # Errors
    /// [`Error::Undelivered`] with the messages not delivered (oldest first;
    /// only the first call gets them); [`Error::Timeout`] when handlers were
    /// still running at the deadline (they are left to finish on their own;
    /// nothing else runs).
    ///
    /// # Cancellation safety
    /// Cancelling stops the waiting, not the closing: the client still closes.
    ///
    /// ```no_run
    /// # async fn f(ms: ms_utils_communication::ws::MicroServiceWs) -> Result<(), ms_utils_communication::ws::Error> {
    /// ms.close().await?;
    /// assert!(ms.send(1).await.unwrap_err().is_closed());
    /// # Ok(()) }
    /// ```
    pub async fn close(&self) -> Result<(), Error> {
        let shared = &self.shared;
        shared.close_called.store(true, Ordering::Release);
        shared.request_close();
        let limit = shared.config.close_timeout;
        // The connection task flushes within `limit` and says goodbye within 1 s more.
        if tokio::time::timeout(limit + Duration::from_secs(2), self.closed())
            .await
            .is_err()
        {
            tracing::warn!("connection task did not stop in time; stopping it");
            shared.shutdown.cancel();
            self.closed().await;
        }
        // Handlers (and the run loop, which ends once the buffer is drained) get
        // the bounded wait; then everything else is stopped. Called from a
        // handler, close waits for the others, not for the one calling it.
        shared.handlers.close();
        let waited = if in_flight::is_handler_of(shared.id()) {
            tokio::time::timeout(limit, shared.calls.at_most(1)).await
        } else {
            tokio::time::timeout(limit, shared.handlers.wait()).await
        };
        shared.shutdown.cancel();
        shared.tasks.close();
        shared.tasks.wait().await;
        if waited.is_err() {
            tracing::warn!(
                running = shared.handlers.len(),
                "handlers still running at the close deadline"
            );
            return Err(Error::Timeout {
                what: "close (running handlers)",
                after: limit,
            });
        }
        if shared.gave_up.load(Ordering::Acquire) {
            tracing::debug!("close after giving up reconnecting");
        }
        let undelivered = shared
            .undelivered
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        match undelivered {
            Some(undelivered) => Err(Error::Undelivered(undelivered)),
            None => Ok(()),
        }
    }

    /// Wait until every message accepted before this call is written to the
    /// gateway's socket (not necessarily confirmed read: see
    /// [`DeliveryMode`](super::DeliveryMode)). Messages accepted meanwhile are not waited for.
    ///
    /// # Errors
    /// [`Error::Closed`] when the client closes first (the messages are then
    /// accounted for by [`close`](Self::close)).
    ///
    /// # Cancellation safety
    /// Cancel-safe: cancelling only stops the waiting.
    ///
    /// ```no_run
    /// # async fn f(ms: ms_utils_communication::ws::MicroServiceWs) -> Result<(), ms_utils_communication::ws::Error> {
    /// for i in 0..100 {
    ///     ms.send(serde_json::json!({"event": "progress", "data": i})).await?;
    /// }
    /// ms.flush().await?; // all 100 are on the wire
    /// # Ok(()) }
    /// ```
    pub async fn flush(&self) -> Result<(), Error> {
        if self.shared.closing.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        let (tx, rx) = oneshot::channel();
        self.shared
            .cmd_tx
            .send(Command::Flush(tx))
            .await
            .map_err(|_| Error::Closed)?;
        rx.await.map_err(|_| Error::Closed)
    }
}
