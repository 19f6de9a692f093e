//! The development gateway ([protocol: development gateway](ms_utils_communication::protocol#development-gateway)): login, token-checked websocket,
//! `ms-send-task` routing with chunked delivery of large messages, bench
//! commands and fault injection, on one loopback port.
//!
//! It is a real server on real sockets, for tests (ours and users') and for
//! local development; it is not a production gateway (tokens live in
//! memory, users are given at start).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use ms_utils_dev::gateway::DevGateway;
//!
//! let gateway = DevGateway::builder()
//!     .user("orders", "orders-pw")
//!     .user("billing", "billing-pw")
//!     .start()
//!     .await?;
//! println!("gateway on {}", gateway.host()); // what MicroServiceWs::builder takes
//! // ... connect clients, route tasks between them ...
//! gateway.shutdown().await;
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tracing::{debug, info, warn};

mod faults;
mod http;
mod lock;
mod record;
mod session;
mod socket;
mod state;
mod tokens;

pub use faults::{DEFAULT_CLOSE_GRACE, FaultControl, GatewayError};
pub use record::{ConnectionEnd, RecordedConnection};
pub use state::GatewayCounters;

use state::{Settings, Shared};

/// Time a client gets to finish the TLS handshake.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Builds a [`DevGateway`]; see [`DevGateway::builder`].
///
/// ```no_run
/// # async fn demo(cert_pem: Vec<u8>, key_pem: Vec<u8>) -> std::io::Result<()> {
/// use std::time::Duration;
/// use ms_utils_dev::gateway::DevGateway;
///
/// let gateway = DevGateway::builder()
///     .user("svc-a", "pw-a")
///     .user("svc-b", "pw-b")
///     .port(0)
///     .tls(cert_pem, key_pem)
///     .chunk_threshold(768 * 1024)
///     .chunk_piece_size(512 * 1024)
///     .token_ttl(Duration::from_secs(3600))
///     .max_message_size(128 * 1024 * 1024)
///     .start()
///     .await?;
/// assert!(gateway.login_url().starts_with("https://127.0.0.1:"));
/// # Ok(()) }
/// ```
#[must_use]
pub struct DevGatewayBuilder {
    users: Vec<(String, String)>,
    port: u16,
    tls: Option<(Vec<u8>, Vec<u8>)>,
    settings: Settings,
}

impl fmt::Debug for DevGatewayBuilder {
    // Passwords and the TLS key stay out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let users: Vec<&str> = self.users.iter().map(|(u, _)| u.as_str()).collect();
        f.debug_struct("DevGatewayBuilder")
            .field("users", &users)
            .field("port", &self.port)
            .field("tls", &self.tls.is_some())
            .field("settings", &self.settings)
            .finish()
    }
}

impl Default for DevGatewayBuilder {
    fn default() -> Self {
        Self {
            users: Vec::new(),
            port: 0,
            tls: None,
            settings: Settings {
                chunk_threshold: 768 * 1024,
                chunk_piece_size: 512 * 1024,
                token_ttl: Duration::from_secs(3600),
                max_message_size: 128 * 1024 * 1024,
                allow_anonymous: false,
            },
        }
    }
}

impl DevGatewayBuilder {
    /// Adds a user who may log in (`POST /auth-ms/login`) with `password`.
    /// A later call for the same name replaces the password.
    pub fn user(mut self, name: impl Into<String>, password: impl Into<String>) -> Self {
        self.users.push((name.into(), password.into()));
        self
    }

    /// The loopback port to listen on; 0 (the default) picks a free one.
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Serves HTTPS and WSS with this certificate chain and private key
    /// (both PEM). Without it the gateway speaks plain HTTP and WS.
    pub fn tls(mut self, cert_pem: impl Into<Vec<u8>>, key_pem: impl Into<Vec<u8>>) -> Self {
        self.tls = Some((cert_pem.into(), key_pem.into()));
        self
    }

    /// Routed messages whose serialization is longer than this many bytes
    /// are delivered as chunk messages. Default 768 KiB, so that every
    /// frame stays under the Python client's 1 MiB limit.
    pub fn chunk_threshold(mut self, bytes: usize) -> Self {
        self.settings.chunk_threshold = bytes;
        self
    }

    /// Raw bytes per chunk piece (before base64). Default 512 KiB.
    pub fn chunk_piece_size(mut self, bytes: usize) -> Self {
        self.settings.chunk_piece_size = bytes;
        self
    }

    /// How long an issued token opens websockets. Default 1 hour.
    pub fn token_ttl(mut self, ttl: Duration) -> Self {
        self.settings.token_ttl = ttl;
        self
    }

    /// Largest message (and frame) accepted from a client. Default 128 MiB.
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.settings.max_message_size = bytes;
        self
    }

    /// Accepts websockets without a `token` (served as user `anonymous`),
    /// for clients built with `need_token(false)`. Default off.
    pub fn allow_anonymous(mut self, allow: bool) -> Self {
        self.settings.allow_anonymous = allow;
        self
    }

    /// Binds `127.0.0.1:port` and starts serving.
    ///
    /// # Errors
    /// The bind error, or `InvalidInput` for a zero chunk piece size or a
    /// certificate or key that cannot be used.
    pub async fn start(self) -> io::Result<DevGateway> {
        if self.settings.chunk_piece_size == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "chunk_piece_size must be at least 1",
            ));
        }
        let acceptor = self
            .tls
            .as_ref()
            .map(|(c, k)| tls_acceptor(c, k))
            .transpose()?;
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, self.port)).await?;
        let addr = listener.local_addr()?;
        let users: HashMap<String, String> = self.users.into_iter().collect();
        let shared = Arc::new(Shared::new(users, self.settings));
        let tls = acceptor.is_some();
        shared
            .tracker
            .spawn(accept_loop(Arc::clone(&shared), listener, acceptor));
        info!(%addr, tls, "development gateway listening");
        Ok(DevGateway { addr, tls, shared })
    }
}

fn tls_acceptor(cert_pem: &[u8], key_pem: &[u8]) -> io::Result<TlsAcceptor> {
    let invalid = |what: &str, e: &dyn std::error::Error| {
        io::Error::new(io::ErrorKind::InvalidInput, format!("{what}: {e}"))
    };
    let certs = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid("certificate PEM", &e))?;
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| invalid("key PEM", &e))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid("TLS versions", &e))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| invalid("certificate and key", &e))?;
    // HTTP/1.1 only: websocket upgrades need it, and logins then use it too.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

async fn accept_loop(shared: Arc<Shared>, listener: TcpListener, tls: Option<TlsAcceptor>) {
    loop {
        let accepted = tokio::select! {
            _ = shared.cancel.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of descriptors and the like: pause instead of spinning.
                warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // Small frames (pings, echo replies) must not wait for Nagle.
        let _ = stream.set_nodelay(true);
        let conn_shared = Arc::clone(&shared);
        let tls = tls.clone();
        shared.tracker.spawn(async move {
            match tls {
                None => serve_http(conn_shared, stream).await,
                Some(acceptor) => {
                    let handshake =
                        tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream));
                    let stream = tokio::select! {
                        _ = conn_shared.cancel.cancelled() => return,
                        r = handshake => r,
                    };
                    match stream {
                        Ok(Ok(stream)) => serve_http(conn_shared, stream).await,
                        Ok(Err(e)) => debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => debug!(%peer, "TLS handshake timed out"),
                    }
                }
            }
        });
    }
}

async fn serve_http<IO>(shared: Arc<Shared>, io: IO)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let cancel = shared.cancel.clone();
    let service = service_fn(move |req| http::handle(Arc::clone(&shared), req));
    let conn = http1::Builder::new()
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    tokio::select! {
        _ = cancel.cancelled() => {}
        r = conn => if let Err(e) = r {
            debug!(error = %e, "HTTP connection ended with an error");
        },
    }
}

/// A running development gateway on `127.0.0.1`.
///
/// Serves `POST /auth-ms/login` and websocket upgrades at any path (with
/// `?token=`), routes `ms-send-task` by `data.to` to the connected user of
/// that name, answers the bench commands of [protocol: development gateway](ms_utils_communication::protocol#development-gateway), and takes faults
/// through [`DevGateway::faults`]. Stops on [`DevGateway::shutdown`] or when
/// dropped.
pub struct DevGateway {
    addr: SocketAddr,
    tls: bool,
    shared: Arc<Shared>,
}

impl fmt::Debug for DevGateway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut users: Vec<&String> = self.shared.users.keys().collect();
        users.sort();
        f.debug_struct("DevGateway")
            .field("addr", &self.addr)
            .field("tls", &self.tls)
            .field("users", &users)
            .finish_non_exhaustive()
    }
}

impl DevGateway {
    /// A builder with no users, port 0, no TLS and the default limits.
    ///
    /// ```no_run
    /// # async fn demo() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// use ms_utils_dev::gateway::DevGateway;
    ///
    /// let gateway = DevGateway::builder()
    ///     .user("svc", "secret")
    ///     .token_ttl(Duration::from_secs(60))
    ///     .start()
    ///     .await?;
    /// assert!(gateway.host().starts_with("127.0.0.1:"));
    /// # Ok(()) }
    /// ```
    pub fn builder() -> DevGatewayBuilder {
        DevGatewayBuilder::default()
    }

    /// The bound address, `127.0.0.1:port`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `"127.0.0.1:port"`, the host a client is built with.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// True when serving HTTPS/WSS.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// The login endpoint's URL (`http(s)://127.0.0.1:port/auth-ms/login`).
    pub fn login_url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}/auth-ms/login", self.addr)
    }

    /// The websocket URL for a token (`ws(s)://127.0.0.1:port/?token=...`).
    ///
    /// ```no_run
    /// # async fn demo() -> std::io::Result<()> {
    /// use ms_utils_dev::gateway::DevGateway;
    /// let gateway = DevGateway::builder().user("svc", "pw").start().await?;
    /// assert!(gateway.ws_url("t").ends_with("/?token=t"));
    /// # Ok(()) }
    /// ```
    pub fn ws_url(&self, token: &str) -> String {
        let scheme = if self.tls { "wss" } else { "ws" };
        format!("{scheme}://{}/?token={token}", self.addr)
    }

    /// A handle for fault injection and observation.
    ///
    /// ```no_run
    /// # async fn demo() -> std::io::Result<()> {
    /// use ms_utils_dev::gateway::DevGateway;
    /// let gateway = DevGateway::builder().user("svc", "pw").start().await?;
    /// let faults = gateway.faults();
    /// faults.refuse_logins(true);
    /// # Ok(()) }
    /// ```
    pub fn faults(&self) -> FaultControl {
        FaultControl {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Stops accepting, drops every connection and waits for every task of
    /// the gateway to end.
    ///
    /// # Cancellation safety
    /// If cancelled, the gateway is still stopping (its tasks end on their
    /// own); only the wait is lost.
    ///
    /// ```no_run
    /// # async fn demo() -> std::io::Result<()> {
    /// use ms_utils_dev::gateway::DevGateway;
    /// let gateway = DevGateway::builder().user("svc", "pw").start().await?;
    /// gateway.shutdown().await;
    /// # Ok(()) }
    /// ```
    pub async fn shutdown(self) {
        self.shared.cancel.cancel();
        self.shared.tracker.close();
        self.shared.tracker.wait().await;
        info!(addr = %self.addr, "development gateway stopped");
    }
}

impl Drop for DevGateway {
    fn drop(&mut self) {
        self.shared.cancel.cancel();
        self.shared.tracker.close();
    }
}
