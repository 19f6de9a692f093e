//! Opening a connection: log in for a token ([protocol: login](crate::protocol#login)), then the
//! websocket ([protocol: connecting](crate::protocol#connecting)), over TLS unless configured off.

use std::sync::Arc;

use rustls_pki_types::ServerName;
use tokio::io::BufReader;
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::error::TlsError;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::ws::config::WsConfig;
use crate::ws::config::tls::tls_config;
use crate::ws::connection::auth::{Authenticator, Token};
use crate::ws::connection::frame_guard::FrameGuard;
use crate::ws::connection::handshake::client_handshake;
use crate::ws::error::Error;
use crate::ws::protocol::uri::{redacted_ws_uri, ws_uri};

pub(crate) type WsStream = WebSocketStream<FrameGuard<BufReader<MaybeTlsStream<TcpStream>>>>;

/// Bytes read from the socket at once. tungstenite reads into what is left
/// of its own buffer, and while frames handed to the handlers still point
/// into that buffer it cannot be reused, so its reads shrink to a few frames
/// each: a syscall per few frames under a flood. Reading through a buffer of
/// ours turns those small reads into copies from memory.
const READ_BUFFER: usize = 64 * 1024;
/// What tungstenite asks of [`READ_BUFFER`] at once. tungstenite zero-fills
/// the space it reads into on every read attempt, including those that find
/// nothing: its default (128 KiB) costs microseconds per message at low rates.
const CODEC_READ: usize = 8 * 1024;

/// Logs in and opens websockets; owns what every (re)connect needs.
#[derive(Debug)]
pub(crate) struct Dialer {
    config: WsConfig,
    tls: Option<Arc<rustls::ClientConfig>>,
    auth: Option<Authenticator>,
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
        })
    }

    /// One attempt: log in (fresh token) when needed, then open the websocket.
    pub(crate) async fn dial(&self) -> Result<(WsStream, Option<Token>), Error> {
        let c = &self.config;
        let token = match &self.auth {
            Some(auth) => Some(timeout(c.login_timeout, auth.login()).await.map_err(|_| {
                Error::Timeout {
                    what: "login",
                    after: c.login_timeout,
                }
            })??),
            None => None,
        };
        let shown = redacted_ws_uri(c.tls, &c.host, &c.path, token.is_some());
        tracing::debug!(uri = %shown, "opening websocket");
        let uri = ws_uri(
            c.tls,
            &c.host,
            &c.path,
            token.as_ref().map(|t| t.value.as_str()),
        );
        let request = uri
            .into_client_request()
            .map_err(|_| Error::config(format!("not a valid websocket URI: {shown}")))?;
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
        let connecting = async move {
            let tcp = TcpStream::connect((host.as_str(), port))
                .await
                .map_err(|e| Error::tcp_connect(url, e))?;
            tcp.set_nodelay(true)
                .map_err(|e| Error::connect(url, WsError::Io(e)))?;
            let stream = match tls {
                Some(tls) => {
                    let name = ServerName::try_from(host)
                        .map_err(|_| Error::connect(url, WsError::Tls(TlsError::InvalidDnsName)))?;
                    let tls = TlsConnector::from(tls)
                        .connect(name, tcp)
                        .await
                        .map_err(|e| Error::connect(url, WsError::Io(e)))?;
                    MaybeTlsStream::Rustls(tls)
                }
                None => MaybeTlsStream::Plain(tcp),
            };
            let mut stream = BufReader::with_capacity(READ_BUFFER, stream);
            client_handshake(&mut stream, &request)
                .await
                .map_err(|e| handshake_error(url, e))?;
            let stream = FrameGuard::new(stream, limit);
            Ok::<_, Error>(
                WebSocketStream::from_raw_socket(stream, Role::Client, Some(ws_config)).await,
            )
        };
        let ws = timeout(c.connect_timeout, connecting)
            .await
            .map_err(|_| Error::Timeout {
                what: "connect",
                after: c.connect_timeout,
            })??;
        tracing::info!(uri = %shown, "websocket connected");
        Ok((ws, token))
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
