//! Opening a connection: log in for a token ([protocol: login](crate::protocol#login)), then the
//! websocket ([protocol: connecting](crate::protocol#connecting)), over TLS unless configured off.

use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls_pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::error::TlsError;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::ws::config::WsConfig;
use crate::ws::config::proxy::Proxy;
use crate::ws::config::tls::{self_signed_hint, tls_config};
use crate::ws::connection::auth::{Authenticator, Token};
use crate::ws::connection::frame_guard::FrameGuard;
use crate::ws::connection::handshake::client_handshake;
use crate::ws::error::Error;
use crate::ws::protocol::uri::{redacted_ws_uri, ws_uri};

pub(crate) type WsStream = WebSocketStream<FrameGuard<MaybeTlsStream<TcpStream>>>;

/// The handshake's read buffer: whatever the gateway sent behind the
/// upgrade response (the first frames) goes from it to the [`FrameGuard`],
/// which reads the socket itself from then on, in pieces of the same size.
const READ_BUFFER: usize = 64 * 1024;
/// What tungstenite asks of the [`FrameGuard`] at once. tungstenite zero-fills
/// the space it reads into on every read attempt, including those that find
/// nothing: its default (128 KiB) costs microseconds per message at low rates.
const CODEC_READ: usize = 8 * 1024;

/// How long after `login_timeout` the login's own guard gives up.
const LOGIN_GUARD: Duration = Duration::from_millis(250);

/// The token of the connection in use, shared with the client handle
/// ([`MicroServiceWs::token`](crate::ws::MicroServiceWs::token)).
pub(crate) type TokenSlot = Arc<Mutex<Option<String>>>;

/// Logs in and opens websockets; owns what every (re)connect needs.
pub(crate) struct Dialer {
    config: WsConfig,
    tls: Option<Arc<rustls::ClientConfig>>,
    auth: Option<Authenticator>,
    token: TokenSlot,
}

impl std::fmt::Debug for Dialer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dialer")
            .field("config", &self.config)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

impl Dialer {
    pub(crate) fn new(config: &WsConfig) -> Result<Self, Error> {
        // reqwest is built without a default crypto provider, so it always gets
        // a preconfigured TLS config, even for plain HTTP.
        let rustls = tls_config(if config.tls {
            config.extra_ca_pem.as_deref()
        } else {
            None
        })?;
        let auth = if config.need_token {
            Some(Authenticator::new(config, rustls.clone())?)
        } else {
            None
        };
        let tls = config.tls.then(|| Arc::new(rustls));
        Ok(Self {
            config: config.clone(),
            tls,
            auth,
            token: TokenSlot::default(),
        })
    }

    /// Where each successful [`dial`](Self::dial) leaves its token.
    pub(crate) fn token_slot(&self) -> TokenSlot {
        self.token.clone()
    }

    /// One attempt: log in (fresh token) when needed, then open the websocket.
    pub(crate) async fn dial(&self) -> Result<(WsStream, Option<Token>), Error> {
        let c = &self.config;
        let token = match &self.auth {
            // The HTTP client stops the login at `login_timeout` itself,
            // with an error naming the login URL; this guard, a little
            // later, only catches what it would not (racing it at the same
            // instant made which error came out a matter of luck).
            Some(auth) => Some(
                timeout(c.login_timeout + LOGIN_GUARD, auth.login())
                    .await
                    .map_err(|_| Error::Timeout {
                        what: "login",
                        after: c.login_timeout,
                    })??,
            ),
            None => None,
        };
        let shown = redacted_ws_uri(c.tls, &c.host, &c.path, token.is_some());
        tracing::debug!(
            uri = %shown,
            proxy = c.proxy.as_ref().map(Proxy::shown),
            "opening websocket"
        );
        let uri = ws_uri(
            c.tls,
            &c.host,
            &c.path,
            token.as_ref().map(|t| t.value.as_str()),
        );
        let mut request = uri
            .into_client_request()
            .map_err(|_| Error::config(format!("not a valid websocket URI: {shown}")))?;
        for (name, value) in &c.headers {
            // Checked by `WsConfigBuilder::build`; checked again rather than unwrapped.
            let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) else {
                return Err(Error::config(format!("header {name:?} is not valid HTTP")));
            };
            request.headers_mut().append(name, value);
        }
        let ws_config = WebSocketConfig::default()
            .max_message_size(Some(c.max_message_size))
            .max_frame_size(Some(c.max_message_size))
            .read_buffer_size(CODEC_READ);
        let (host, port) = {
            let uri = request.uri();
            let host = uri.host().unwrap_or_default();
            let host = host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned();
            (host, uri.port_u16().unwrap_or(if c.tls { 443 } else { 80 }))
        };
        let tls = self.tls.clone();
        let limit = c.max_message_size;
        let url = shown.as_str();
        let proxy = c.proxy.as_ref();
        let connecting = async move {
            let tcp = match proxy {
                None => TcpStream::connect((host.as_str(), port))
                    .await
                    .map_err(|e| Error::tcp_connect(url, e))?,
                Some(proxy) => tunnel(proxy, &host, port, url).await?,
            };
            tcp.set_nodelay(true)
                .map_err(|e| Error::connect(url, WsError::Io(e)))?;
            let stream = match tls {
                Some(tls) => {
                    let name = ServerName::try_from(host)
                        .map_err(|_| Error::connect(url, WsError::Tls(TlsError::InvalidDnsName)))?;
                    let tls = TlsConnector::from(tls)
                        .connect(name, tcp)
                        .await
                        .map_err(|e| {
                            self_signed_hint(url, &e)
                                .unwrap_or_else(|| Error::connect(url, WsError::Io(e)))
                        })?;
                    MaybeTlsStream::Rustls(tls)
                }
                None => MaybeTlsStream::Plain(tcp),
            };
            let mut stream = BufReader::with_capacity(READ_BUFFER, stream);
            client_handshake(&mut stream, &request)
                .await
                .map_err(|e| handshake_error(url, e))?;
            // The guard reads the socket itself from here on, starting with
            // whatever came in behind the upgrade response.
            let early = stream.buffer().to_vec();
            let stream = FrameGuard::new(stream.into_inner(), early, limit);
            Ok::<_, Error>(
                WebSocketStream::from_raw_socket(stream, Role::Client, Some(ws_config)).await,
            )
        };
        // A connect past its timeout names the URL, as every connect error
        // does (a timed-out io error: `is_timeout()` and `is_connect()`).
        let ws = timeout(c.connect_timeout, connecting).await.map_err(|_| {
            Error::tcp_connect(
                url,
                io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "no websocket within the connect timeout of {:?}",
                        c.connect_timeout
                    ),
                ),
            )
        })??;
        tracing::info!(uri = %shown, "websocket connected");
        *crate::lock::lock(&self.token) = token.as_ref().map(|t| t.value.clone());
        Ok((ws, token))
    }
}

/// Opens a TCP connection to `host:port` through an HTTP `CONNECT` tunnel
/// of `proxy`. Nothing is read past the proxy's answer: the gateway speaks
/// only after the client (TLS hello or upgrade request).
async fn tunnel(proxy: &Proxy, host: &str, port: u16, url: &str) -> Result<TcpStream, Error> {
    let shown = proxy.shown();
    let via = |e: io::Error| {
        Error::tcp_connect(
            url,
            io::Error::new(e.kind(), format!("through proxy {shown}: {e}")),
        )
    };
    let mut tcp = TcpStream::connect((proxy.host.as_str(), proxy.port))
        .await
        .map_err(via)?;
    let target = match host.contains(':') {
        true => format!("[{host}]:{port}"),
        false => format!("{host}:{port}"),
    };
    let mut head = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
    if let Some(auth) = &proxy.authorization {
        head.push_str(&format!("Proxy-Authorization: {auth}\r\n"));
    }
    head.push_str("\r\n");
    tcp.write_all(head.as_bytes()).await.map_err(via)?;
    // Byte by byte: a buffered read could swallow the first bytes of the tunnel.
    let mut answer = Vec::with_capacity(128);
    while !answer.ends_with(b"\r\n\r\n") {
        if answer.len() > 16 * 1024 {
            return Err(via(io::Error::new(
                io::ErrorKind::InvalidData,
                "CONNECT answer over 16 KiB",
            )));
        }
        let byte = tcp.read_u8().await.map_err(via)?;
        answer.push(byte);
    }
    let status_line = String::from_utf8_lossy(&answer);
    let status_line = status_line.lines().next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .filter(|_| status_line.starts_with("HTTP/1."));
    match status {
        Some(200..=299) => {
            tracing::debug!(proxy = %shown, target, "CONNECT tunnel open");
            Ok(tcp)
        }
        // The proxy refuses this client or this target: retrying will not help.
        Some(status @ 400..=499) => Err(Error::config(format!(
            "proxy {shown} refused to open a tunnel to {target}: {status_line}{}",
            if status == 407 {
                " (give the proxy's user and password in its URL: http://user:password@host:port)"
            } else {
                ""
            }
        ))),
        _ => Err(via(io::Error::other(format!(
            "CONNECT {target} answered {status_line:?}"
        )))),
    }
}

/// A refused upgrade (401/403) means the token or credentials were refused.
fn handshake_error(url: &str, e: WsError) -> Error {
    match &e {
        WsError::Http(resp) if matches!(resp.status().as_u16(), 401 | 403) => {
            let body = resp
                .body()
                .as_deref()
                .map(|b| String::from_utf8_lossy(&b[..b.len().min(500)]).into_owned())
                .unwrap_or_default();
            Error::BadCredentials {
                url: url.to_owned(),
                status: resp.status().as_u16(),
                body,
            }
        }
        _ => Error::connect(url, e),
    }
}
