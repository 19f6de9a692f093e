//! [`WsConfigBuilder`]: the setters, the checks of [`build`](WsConfigBuilder::build).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::ws::chunks::ChunkLimits;
use crate::ws::config::WsConfig;
use crate::ws::config::backoff::ReconnectPolicy;
use crate::ws::config::proxy::ProxySetting;
use crate::ws::delivery::DeliveryMode;
use crate::ws::error::Error;

/// Builder of [`WsConfig`]. Setters never fail; [`WsConfigBuilder::build`] checks.
///
/// Defaults: TLS on, trusting the operating system's certificate store plus
/// the bundled webpki roots, `need_token` on, empty path, login and
/// connect timeouts 10 s, keepalive ping every 20 s and peer dead after 20 s more,
/// [`ReconnectPolicy::default`], outbound queue 1024 messages, handler concurrency
/// 64, max message size 64 MiB, close timeout 10 s, first-connect deadline 30 s.
///
/// # Proxies
/// The login and the websocket always take the same way to the gateway:
/// through the HTTP proxy named by `HTTPS_PROXY` (TLS on) or `HTTP_PROXY`
/// (TLS off), else `ALL_PROXY` (lower-case spellings first), unless
/// `NO_PROXY` names the gateway host (`*`, names with their subdomains, IP
/// addresses, CIDR blocks); otherwise straight. The variables are read by
/// [`build`](Self::build) (by [`from_lookup`](Self::from_lookup) through its
/// lookup). [`proxy`](Self::proxy) names one explicitly and
/// [`no_proxy`](Self::no_proxy) turns them off. The websocket goes through an
/// HTTP `CONNECT` tunnel (TLS to the gateway inside it); only `http://`
/// proxies are supported, with optional `user:password@` (Basic).
///
/// ```
/// use std::time::Duration;
/// use ms_utils_communication::ws::{ReconnectPolicy, WsConfig};
///
/// let config = WsConfig::builder("gateway.internal:8443")
///     .credentials("worker", "pw")
///     .path("/ws")
///     .login_timeout(Duration::from_secs(5))
///     .reconnect(ReconnectPolicy::default().with_max_attempts(Some(20)))
///     .max_concurrency(16)
///     .build()
///     .unwrap();
/// # let _ = config;
/// ```
#[must_use]
#[derive(Clone)]
pub struct WsConfigBuilder {
    pub(super) config: WsConfig,
    pub(super) ca_file: Option<PathBuf>,
    /// A problem found while setting (by `from_env`), reported by `build`.
    pub(super) deferred: Option<String>,
    pub(super) proxy: ProxySetting,
}

impl fmt::Debug for WsConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WsConfigBuilder")
            .field("config", &self.config)
            .field("ca_file", &self.ca_file)
            .field(
                "proxy",
                match &self.proxy {
                    ProxySetting::FromEnv => &"from the environment",
                    ProxySetting::Off => &"off",
                    // May hold a password.
                    ProxySetting::Url(_) => &"given",
                    ProxySetting::Vars(_) => &"from the lookup",
                },
            )
            .finish_non_exhaustive()
    }
}

/// Default of [`WsConfigBuilder::connect_deadline`].
const DEFAULT_CONNECT_DEADLINE: Duration = Duration::from_secs(30);

/// Headers the websocket handshake writes itself; a second copy would make
/// the upgrade ambiguous or wrong.
const RESERVED_HEADERS: [&str; 5] = [
    "host",
    "connection",
    "upgrade",
    "content-length",
    "transfer-encoding",
];

/// An extra handshake header must be valid HTTP and not one the handshake owns.
fn check_header(name: &str, value: &str) -> Result<(), Error> {
    use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
    if HeaderName::from_bytes(name.as_bytes()).is_err() {
        return Err(Error::config(format!(
            "header name {name:?} is not a valid HTTP header name"
        )));
    }
    let lower = name.to_ascii_lowercase();
    if RESERVED_HEADERS.contains(&lower.as_str()) || lower.starts_with("sec-websocket-") {
        return Err(Error::config(format!(
            "header {name:?} is set by the websocket handshake itself"
        )));
    }
    if HeaderValue::from_str(value).is_err() {
        // The value itself may be a secret: not shown.
        return Err(Error::config(format!(
            "the value of header {name:?} is not a valid HTTP header value (control characters or non-ASCII)"
        )));
    }
    Ok(())
}

impl WsConfigBuilder {
    /// A builder with the defaults for the gateway at `host`.
    ///
    /// ```
    /// let b = ms_utils_communication::ws::WsConfigBuilder::new("gw:443");
    /// # let _ = b;
    /// ```
    pub fn new(host: impl Into<String>) -> Self {
        Self {
            config: WsConfig {
                host: host.into(),
                path: String::new(),
                username: None,
                password: None,
                need_token: true,
                tls: true,
                extra_ca_pem: None,
                login_timeout: Duration::from_secs(10),
                connect_timeout: Duration::from_secs(10),
                keepalive_interval: Duration::from_secs(20),
                keepalive_timeout: Duration::from_secs(20),
                reconnect: ReconnectPolicy::default(),
                retry_initial_connect: true,
                connect_deadline: Some(DEFAULT_CONNECT_DEADLINE),
                headers: Vec::new(),
                proxy: None,
                queue_size: 1024,
                inbound_buffer: 256,
                inbound_buffer_bytes: 4 << 20,
                max_concurrency: 64,
                chunk_limits: ChunkLimits::default(),
                chunk_piece_size: 512 * 1024,
                max_message_size: 64 << 20,
                close_timeout: Duration::from_secs(10),
                token_refresh_margin: Duration::from_secs(30),
                delivery: DeliveryMode::AtLeastOnce,
            },
            ca_file: None,
            deferred: None,
            proxy: ProxySetting::FromEnv,
        }
    }

    /// Login name and password ([protocol: login](crate::protocol#login)).
    ///
    /// ```
    /// # let b = ms_utils_communication::ws::WsConfig::builder("h");
    /// let b = b.credentials("svc", "pw");
    /// # let _ = b;
    /// ```
    pub fn credentials(mut self, username: impl Into<String>, password: impl Into<String>) -> Self {
        self.config.username = Some(username.into());
        self.config.password = Some(password.into());
        self
    }

    /// Whether to log in for a token before connecting (default true).
    ///
    /// ```
    /// # let b = ms_utils_communication::ws::WsConfig::builder("h");
    /// let c = b.need_token(false).build().unwrap();
    /// # let _ = c;
    /// ```
    pub fn need_token(mut self, need: bool) -> Self {
        self.config.need_token = need;
        self
    }

    /// Websocket path after the host (default empty; the URI always ends in `/`).
    ///
    /// ```
    /// # let b = ms_utils_communication::ws::WsConfig::builder("h");
    /// let b = b.path("/ws");
    /// # let _ = b;
    /// ```
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.config.path = path.into();
        self
    }

    /// TLS on (`https` + `wss`, the default) or off (`http` + `ws`).
    ///
    /// ```
    /// # let b = ms_utils_communication::ws::WsConfig::builder("h");
    /// let b = b.tls(false);
    /// # let _ = b;
    /// ```
    pub fn tls(mut self, on: bool) -> Self {
        self.config.tls = on;
        self
    }

    /// Extra CA certificates (PEM) to trust besides the webpki roots, for private
    /// gateways. Used by both the login and the websocket.
    ///
    /// ```
    /// # let b = ms_utils_communication::ws::WsConfig::builder("h");
    /// let pem = std::fs::read("ca.pem").unwrap_or_default();
    /// let b = b.extra_ca_pem(pem);
    /// # let _ = b;
    /// ```
    pub fn extra_ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.config.extra_ca_pem = Some(pem.into());
        self
    }

    /// Like [`extra_ca_pem`](Self::extra_ca_pem), read from a file at `build()`.
    ///
    /// ```
    /// # let b = ms_utils_communication::ws::WsConfig::builder("h");
    /// let b = b.extra_ca_file("/etc/ssl/private-ca.pem");
    /// # let _ = b;
    /// ```
    pub fn extra_ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// Deadline of one HTTP login (default 10 s).
    ///
    /// ```
    /// # let b = ms_utils_communication::ws::WsConfig::builder("h");
    /// let b = b.login_timeout(std::time::Duration::from_secs(3));
    /// # let _ = b;
    /// ```
    pub fn login_timeout(mut self, timeout: Duration) -> Self {
        self.config.login_timeout = timeout;
        self
    }

    /// Deadline of one websocket connect + handshake (default 10 s).
    ///
    /// ```
    /// # let b = ms_utils_communication::ws::WsConfig::builder("h");
    /// let b = b.connect_timeout(std::time::Duration::from_secs(3));
    /// # let _ = b;
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.config.connect_timeout = timeout;
        self
    }

    /// Ping after `interval` without traffic; the peer is gone when nothing
    /// arrives for `timeout` more (defaults 20 s and 20 s).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # let b = ms_utils_communication::ws::WsConfig::builder("h");
    /// let b = b.keepalive(Duration::from_secs(10), Duration::from_secs(5));
    /// # let _ = b;
    /// ```
    pub fn keepalive(mut self, interval: Duration, timeout: Duration) -> Self {
        self.config.keepalive_interval = interval;
        self.config.keepalive_timeout = timeout;
        self
    }

    /// Reconnect policy (backoff and optional max attempts).
    ///
    /// ```
    /// # let b = ms_utils_communication::ws::WsConfig::builder("h");
    /// let b = b.reconnect(ms_utils_communication::ws::ReconnectPolicy::default());
    /// # let _ = b;
    /// ```
    pub fn reconnect(mut self, policy: ReconnectPolicy) -> Self {
        self.config.reconnect = policy;
        self
    }

    /// Whether `connect()` retries transient failures (transport errors, 5xx
    /// answers, timeouts) with the reconnect policy until the
    /// [`connect_deadline`](Self::connect_deadline) (default true) or reports
    /// the first one. Refused credentials, bad configuration and TLS errors
    /// are never retried.
    ///
    /// ```
    /// # let b = ms_utils_communication::ws::WsConfig::builder("h");
    /// let b = b.retry_initial_connect(false);
    /// # let _ = b;
    /// ```
    pub fn retry_initial_connect(mut self, retry: bool) -> Self {
        self.config.retry_initial_connect = retry;
        self
    }

    /// How long the first [`connect`](crate::ws::MicroServiceWs::connect) may go on
    /// retrying transient failures (default 30 s); `None` retries until it
    /// succeeds (or [`ReconnectPolicy::max_attempts`] runs out). It is tried
    /// to its end: when the next wait would cross it, the wait is shortened
    /// so that a last attempt starts a second before the deadline; an
    /// attempt still running at the deadline is cut off, and the error is
    /// then [`Error::ConnectDeadline`] with the last failure. Reconnects after a connection was made are not
    /// bounded by it (the [`ReconnectPolicy`] decides). From the environment:
    /// [`env::GATEWAY_CONNECT_DEADLINE`](crate::ws::env::GATEWAY_CONNECT_DEADLINE). A zero deadline is refused by
    /// [`build`](Self::build); for a single attempt use
    /// [`retry_initial_connect(false)`](Self::retry_initial_connect).
    ///
    /// ```
    /// use std::time::Duration;
    /// # let b = ms_utils_communication::ws::WsConfig::builder("h");
    /// let b = b.connect_deadline(Some(Duration::from_secs(120))); // or None: forever
    /// # let _ = b;
    /// ```
    pub fn connect_deadline(mut self, deadline: Option<Duration>) -> Self {
        self.config.connect_deadline = deadline;
        self
    }

    /// An extra header for the websocket upgrade request (an auth proxy's
    /// key, a tracing header); may be called several times, also with the
    /// same name. Not sent with the login. Checked by [`build`](Self::build):
    /// a name or value that is not valid HTTP, or one of the headers the
    /// handshake sets itself (`Host`, `Connection`, `Upgrade`,
    /// `Sec-WebSocket-*`, `Content-Length`, `Transfer-Encoding`), is an
    /// [`Error::Config`] naming it. `Debug` shows the names, never the values.
    ///
    /// ```
    /// # let b = ms_utils_communication::ws::WsConfig::builder("h").credentials("svc", "pw");
    /// let c = b.header("X-Request-Source", "billing").build().unwrap();
    /// # let _ = c;
    /// let err = ms_utils_communication::ws::WsConfig::builder("h")
    ///     .credentials("svc", "pw")
    ///     .header("Upgrade", "h2c")
    ///     .build()
    ///     .unwrap_err();
    /// assert!(err.is_config());
    /// ```
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.config.headers.push((name.into(), value.into()));
        self
    }

    /// Use the HTTP proxy at `url` (`http://[user:password@]host[:port]`)
    /// for both the login and the websocket, whatever the environment says
    /// (see [Proxies](Self#proxies)). A URL that is not an `http://` proxy
    /// is an [`Error::Config`] at [`build`](Self::build). `Debug` never shows it.
    ///
    /// ```
    /// # let b = ms_utils_communication::ws::WsConfig::builder("gw:443").credentials("svc", "pw");
    /// let c = b.proxy("http://proxy.corp:3128").build().unwrap();
    /// # let _ = c;
    /// ```
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.proxy = ProxySetting::Url(url.into());
        self
    }

    /// Connect straight to the gateway, ignoring `HTTPS_PROXY`, `HTTP_PROXY`,
    /// `ALL_PROXY` and `NO_PROXY` (see [Proxies](Self#proxies)).
    ///
    /// ```
    /// # let b = ms_utils_communication::ws::WsConfig::builder("gw:443").credentials("svc", "pw");
    /// let c = b.no_proxy().build().unwrap();
    /// # let _ = c;
    /// ```
    pub fn no_proxy(mut self) -> Self {
        self.proxy = ProxySetting::Off;
        self
    }

    /// Outbound queue length in messages (default 1024): `send` waits and
    /// `try_send` fails when it is full.
    ///
    /// ```
    /// # let b = ms_utils_communication::ws::WsConfig::builder("h");
    /// let b = b.queue_size(64);
    /// # let _ = b;
    /// ```
    pub fn queue_size(mut self, size: usize) -> Self {
        self.config.queue_size = size;
        self
    }

    /// Frames read ahead of the handlers (default 256). When it is full the
    /// socket is not read: a slow service pushes back on the gateway.
    ///
    /// ```
    /// # let b = ms_utils_communication::ws::WsConfig::builder("h");
    /// let b = b.inbound_buffer(32);
    /// # let _ = b;
    /// ```
    pub fn inbound_buffer(mut self, size: usize) -> Self {
        self.config.inbound_buffer = size;
        self
    }

    /// Bytes of frames read ahead of the handlers (default 4 MiB; a frame larger
    /// than this still passes, alone). The frame bound ([`inbound_buffer`](Self::inbound_buffer))
    /// suits small messages; this one keeps memory in check when they are
    /// large, such as 1 MiB chunk pieces: what does not fit waits in the
    /// kernel's socket buffer instead of the process.
    ///
    /// ```
    /// # let b = ms_utils_communication::ws::WsConfig::builder("h");
    /// let b = b.inbound_buffer_bytes(16 << 20);
    /// # let _ = b;
    /// ```
    pub fn inbound_buffer_bytes(mut self, bytes: usize) -> Self {
        self.config.inbound_buffer_bytes = bytes;
        self
    }

    /// Handler tasks running at once under [`run`](crate::ws::MicroServiceWs::run) (default 64).
    ///
    /// ```
    /// # let b = ms_utils_communication::ws::WsConfig::builder("h");
    /// let b = b.max_concurrency(8);
    /// # let _ = b;
    /// ```
    pub fn max_concurrency(mut self, n: usize) -> Self {
        self.config.max_concurrency = n;
        self
    }

    /// Limits of chunk reassembly ([protocol: chunking](crate::protocol#chunking)).
    ///
    /// ```
    /// # let b = ms_utils_communication::ws::WsConfig::builder("h");
    /// let b = b.chunk_limits(ms_utils_communication::ws::ChunkLimits::default());
    /// # let _ = b;
    /// ```
    pub fn chunk_limits(mut self, limits: ChunkLimits) -> Self {
        self.config.chunk_limits = limits;
        self
    }

    /// Raw bytes per piece for [`send_chunked`](crate::ws::MicroServiceWs::send_chunked)
    /// (default 512 KiB, so that frames stay under a Python peer's 1 MiB limit).
    ///
    /// ```
    /// # let b = ms_utils_communication::ws::WsConfig::builder("h");
    /// let b = b.chunk_piece_size(256 * 1024);
    /// # let _ = b;
    /// ```
    pub fn chunk_piece_size(mut self, bytes: usize) -> Self {
        self.config.chunk_piece_size = bytes;
        self
    }

    /// Largest message sent or received (default 64 MiB). Larger sends are
    /// refused with [`Error::MessageTooLarge`] before queueing.
    ///
    /// ```
    /// # let b = ms_utils_communication::ws::WsConfig::builder("h");
    /// let b = b.max_message_size(1 << 20);
    /// # let _ = b;
    /// ```
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.config.max_message_size = bytes;
        self
    }

    /// Bound of each stage of `close()`: flushing the queue, and waiting for
    /// running handlers (default 10 s each).
    ///
    /// ```
    /// # let b = ms_utils_communication::ws::WsConfig::builder("h");
    /// let b = b.close_timeout(std::time::Duration::from_secs(2));
    /// # let _ = b;
    /// ```
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.config.close_timeout = timeout;
        self
    }

    /// What happens to messages written on a connection that ends before
    /// the gateway confirmed reading them (default
    /// [`DeliveryMode::AtLeastOnce`]: written again on the next connection).
    ///
    /// ```
    /// use ms_utils_communication::ws::DeliveryMode;
    /// # let b = ms_utils_communication::ws::WsConfig::builder("h");
    /// let b = b.delivery(DeliveryMode::AtMostOnce);
    /// # let _ = b;
    /// ```
    pub fn delivery(mut self, mode: DeliveryMode) -> Self {
        self.config.delivery = mode;
        self
    }

    /// How long before a JWT's `exp` the client logs in again and reconnects
    /// (default 30 s).
    ///
    /// ```
    /// # let b = ms_utils_communication::ws::WsConfig::builder("h");
    /// let b = b.token_refresh_margin(std::time::Duration::from_secs(60));
    /// # let _ = b;
    /// ```
    pub fn token_refresh_margin(mut self, margin: Duration) -> Self {
        self.config.token_refresh_margin = margin;
        self
    }

    /// Check and build the configuration.
    ///
    /// # Errors
    /// [`Error::Config`] for an empty or malformed host (a scheme, a path or
    /// spaces in it), a path not starting with `/`, missing credentials while
    /// `need_token` is on, zero sizes or connect deadline, a bad or reserved [`header`](Self::header),
    /// a proxy URL (given or from the environment) that is not `http://host[:port]`,
    /// an unreadable CA file or a bad variable from
    /// [`from_env`](Self::from_env); [`Error::Tls`] for a CA PEM without usable
    /// certificates.
    ///
    /// ```
    /// use ms_utils_communication::ws::WsConfig;
    /// let err = WsConfig::builder("https://gw").credentials("a", "b").build().unwrap_err();
    /// assert!(err.is_config());
    /// ```
    pub fn build(mut self) -> Result<WsConfig, Error> {
        if let Some(reason) = self.deferred.take() {
            return Err(Error::config(reason));
        }
        let c = &mut self.config;
        super::host::check(&c.host)?;
        if !c.path.is_empty()
            && (!c.path.starts_with('/')
                || c.path.contains(['?', '#'])
                || c.path.contains(char::is_whitespace))
        {
            return Err(Error::config(
                "path must be empty or start with `/`, without query or spaces",
            ));
        }
        // The URI adds its own trailing slash ([protocol: connecting](crate::protocol#connecting)).
        while c.path.ends_with('/') {
            c.path.pop();
        }
        if c.need_token && (c.username.is_none() || c.password.is_none()) {
            return Err(Error::config(
                "need_token is on but credentials are missing",
            ));
        }
        if c.queue_size == 0
            || c.inbound_buffer == 0
            || c.inbound_buffer_bytes == 0
            || c.max_concurrency == 0
            || c.chunk_piece_size == 0
            || c.max_message_size == 0
        {
            return Err(Error::config(
                "queue sizes, buffer sizes, concurrency, piece size and max message size must be > 0",
            ));
        }
        if c.connect_deadline.is_some_and(|d| d.is_zero()) {
            return Err(Error::config(
                "connect_deadline must be > 0 (None: no deadline; one attempt: retry_initial_connect(false))",
            ));
        }
        if c.keepalive_interval.is_zero() || c.keepalive_timeout.is_zero() {
            return Err(Error::config("keepalive interval and timeout must be > 0"));
        }
        for (name, value) in &c.headers {
            check_header(name, value)?;
        }
        if let Some(path) = self.ca_file.take() {
            let pem = std::fs::read(&path).map_err(|e| {
                Error::config(format!("cannot read CA file {}: {e}", path.display()))
            })?;
            c.extra_ca_pem = Some(pem);
        }
        c.proxy = self.proxy.resolve(&c.host, c.tls)?;
        if c.tls {
            // Fail at build time, not at the first connect.
            crate::ws::config::tls::tls_config(c.extra_ca_pem.as_deref())?;
        }
        Ok(self.config)
    }

    /// Build the configuration and connect: shorthand for
    /// `MicroServiceWs::connect(builder.build()?)`.
    ///
    /// # Errors
    /// Those of [`build`](Self::build) and of
    /// [`MicroServiceWs::connect`](crate::ws::MicroServiceWs::connect).
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), ms_utils_communication::ws::Error> {
    /// let ms = ms_utils_communication::ws::MicroServiceWs::builder("gw:443")
    ///     .credentials("svc", "pw")
    ///     .connect()
    ///     .await?;
    /// # let _ = ms; Ok(()) }
    /// ```
    pub async fn connect(self) -> Result<crate::ws::MicroServiceWs, Error> {
        crate::ws::MicroServiceWs::connect(self.build()?).await
    }
}
