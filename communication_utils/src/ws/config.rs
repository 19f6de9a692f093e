//! Client configuration: [`WsConfig`] and its builder.

use std::fmt;
use std::time::Duration;

use crate::ws::chunks::ChunkLimits;
use crate::ws::config::backoff::ReconnectPolicy;
use crate::ws::delivery::DeliveryMode;

/// Everything [`MicroServiceWs::connect`](super::MicroServiceWs::connect) needs.
///
/// Built with [`WsConfig::builder`] (or [`MicroServiceWs::builder`](super::MicroServiceWs::builder),
/// or [`WsConfigBuilder::from_env`]). `Debug` never shows the password.
///
/// ```
/// use ms_utils_communication::ws::WsConfig;
///
/// let config = WsConfig::builder("gateway.example.com")
///     .credentials("my-service", "secret")
///     .build()
///     .unwrap();
/// assert_eq!(config.host(), "gateway.example.com");
/// assert!(!format!("{config:?}").contains("secret"));
/// ```
#[derive(Clone)]
pub struct WsConfig {
    pub(crate) host: String,
    pub(crate) path: String,
    pub(crate) username: Option<String>,
    pub(crate) password: Option<String>,
    pub(crate) need_token: bool,
    pub(crate) tls: bool,
    pub(crate) extra_ca_pem: Option<Vec<u8>>,
    pub(crate) login_timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) keepalive_interval: Duration,
    pub(crate) keepalive_timeout: Duration,
    pub(crate) reconnect: ReconnectPolicy,
    pub(crate) retry_initial_connect: bool,
    pub(crate) connect_deadline: Option<Duration>,
    pub(crate) headers: Vec<(String, String)>,
    /// Resolved by `build()`; used by both the login and the websocket.
    pub(crate) proxy: Option<proxy::Proxy>,
    pub(crate) queue_size: usize,
    pub(crate) inbound_buffer: usize,
    pub(crate) inbound_buffer_bytes: usize,
    pub(crate) max_concurrency: usize,
    pub(crate) chunk_limits: ChunkLimits,
    pub(crate) chunk_piece_size: usize,
    pub(crate) max_message_size: usize,
    pub(crate) close_timeout: Duration,
    pub(crate) token_refresh_margin: Duration,
    pub(crate) delivery: DeliveryMode,
}

impl fmt::Debug for WsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WsConfig")
            .field("host", &self.host)
            .field("path", &self.path)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("need_token", &self.need_token)
            .field("tls", &self.tls)
            .field("extra_ca_pem", &self.extra_ca_pem.as_ref().map(Vec::len))
            .field("login_timeout", &self.login_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("keepalive_interval", &self.keepalive_interval)
            .field("keepalive_timeout", &self.keepalive_timeout)
            .field("reconnect", &self.reconnect)
            .field("retry_initial_connect", &self.retry_initial_connect)
            .field("connect_deadline", &self.connect_deadline)
            .field("proxy", &self.proxy)
            // Header values may be secrets (an auth proxy's key): names only.
            .field(
                "headers",
                &self.headers.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .field("queue_size", &self.queue_size)
            .field("inbound_buffer", &self.inbound_buffer)
            .field("inbound_buffer_bytes", &self.inbound_buffer_bytes)
            .field("max_concurrency", &self.max_concurrency)
            .field("chunk_limits", &self.chunk_limits)
            .field("chunk_piece_size", &self.chunk_piece_size)
            .field("max_message_size", &self.max_message_size)
            .field("close_timeout", &self.close_timeout)
            .field("delivery", &self.delivery)
            .finish_non_exhaustive()
    }
}

impl WsConfig {
    /// A builder for the gateway at `host` (`name` or `name:port`, no scheme).
    ///
    /// ```
    /// let b = ms_utils_communication::ws::WsConfig::builder("127.0.0.1:8080");
    /// let c = b.tls(false).need_token(false).build().unwrap();
    /// assert!(!c.tls());
    /// ```
    pub fn builder(host: impl Into<String>) -> WsConfigBuilder {
        WsConfigBuilder::new(host)
    }

    /// The gateway host (`name[:port]`).
    ///
    /// ```
    /// # let c = ms_utils_communication::ws::WsConfig::builder("h:1").need_token(false).build().unwrap();
    /// assert_eq!(c.host(), "h:1");
    /// ```
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The login name, when set.
    ///
    /// ```
    /// # let c = ms_utils_communication::ws::WsConfig::builder("h").credentials("svc", "pw").build().unwrap();
    /// assert_eq!(c.username(), Some("svc"));
    /// ```
    pub fn username(&self) -> Option<&str> {
        self.username.as_deref()
    }

    /// Whether TLS (`https`/`wss`) is used.
    ///
    /// ```
    /// # let c = ms_utils_communication::ws::WsConfig::builder("h").credentials("svc", "pw").build().unwrap();
    /// assert!(c.tls());
    /// ```
    pub fn tls(&self) -> bool {
        self.tls
    }

    /// What happens to unconfirmed messages when a connection ends
    /// ([`WsConfigBuilder::delivery`]).
    ///
    /// ```
    /// # use ms_utils_communication::ws::{DeliveryMode, WsConfig};
    /// let c = WsConfig::builder("h").credentials("svc", "pw").build().unwrap();
    /// assert_eq!(c.delivery(), DeliveryMode::AtLeastOnce);
    /// ```
    pub fn delivery(&self) -> DeliveryMode {
        self.delivery
    }

    /// The reconnect policy.
    ///
    /// ```
    /// # let c = ms_utils_communication::ws::WsConfig::builder("h").credentials("svc", "pw").build().unwrap();
    /// assert_eq!(c.reconnect().max_attempts, None);
    /// ```
    pub fn reconnect(&self) -> &ReconnectPolicy {
        &self.reconnect
    }

    /// The largest message sent or received, in bytes.
    ///
    /// ```
    /// # let c = ms_utils_communication::ws::WsConfig::builder("h").credentials("svc", "pw").build().unwrap();
    /// assert_eq!(c.max_message_size(), 64 << 20);
    /// ```
    pub fn max_message_size(&self) -> usize {
        self.max_message_size
    }
}

pub(crate) mod backoff;
mod builder;
mod from_env;
mod host;
pub(crate) mod proxy;
pub(crate) mod tls;

pub use builder::WsConfigBuilder;
pub use from_env::env;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_password() {
        let c = WsConfig::builder("h")
            .credentials("user", "hunter2")
            .build()
            .unwrap();
        let shown = format!(
            "{c:?} {:?}",
            WsConfig::builder("h").credentials("u", "hunter2")
        );
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("***"));
    }

    #[test]
    fn malformed_hosts_and_paths_are_refused() {
        for host in [
            "",
            "wss://gw",
            "gw/path",
            "gw ",
            "u@gw",
            "gw:99999",
            "gw:http",
            "gw:",
            "::1",
            "[::1",
            "[::1]x",
            "[::1]:70000",
        ] {
            let r = WsConfig::builder(host).need_token(false).build();
            assert!(r.unwrap_err().is_config(), "{host:?}");
        }
        for host in ["gw", "gw:443", "127.0.0.1:0", "[::1]", "[::1]:8080"] {
            let r = WsConfig::builder(host).need_token(false).tls(false).build();
            assert!(r.is_ok(), "{host:?}: {r:?}");
        }
        assert!(
            WsConfig::builder("gw")
                .need_token(false)
                .path("ws")
                .build()
                .unwrap_err()
                .is_config()
        );
        assert!(
            WsConfig::builder("gw").build().unwrap_err().is_config(),
            "credentials missing"
        );
    }

    #[test]
    fn extra_headers_are_checked_at_build() {
        let build = |name: &str, value: &str| {
            WsConfig::builder("gw")
                .need_token(false)
                .header(name, value)
                .build()
        };
        assert!(build("X-Trace", "abc").is_ok());
        for (name, value) in [
            ("Bad Name", "v"),
            ("", "v"),
            ("X-Ok", "line\r\nbreak"),
            ("host", "other"),
            ("Sec-WebSocket-Key", "k"),
            ("UPGRADE", "h2c"),
            ("Connection", "close"),
        ] {
            let err = build(name, value).unwrap_err();
            assert!(err.is_config(), "{name:?}: {err:?}");
            assert!(err.to_string().contains(&format!("{name:?}")), "{err}");
        }
        let c = WsConfig::builder("gw")
            .need_token(false)
            .header("X-Api-Key", "top-secret")
            .build()
            .unwrap();
        let shown = format!("{c:?}");
        assert!(
            shown.contains("X-Api-Key") && !shown.contains("top-secret"),
            "{shown}"
        );
    }

    #[test]
    fn the_connect_deadline_defaults_to_30_s() {
        let c = WsConfig::builder("gw").need_token(false).build().unwrap();
        assert_eq!(c.connect_deadline, Some(Duration::from_secs(30)));
        let c = WsConfig::builder("gw")
            .need_token(false)
            .connect_deadline(None)
            .build()
            .unwrap();
        assert_eq!(c.connect_deadline, None);
        let zero = WsConfig::builder("gw")
            .need_token(false)
            .connect_deadline(Some(Duration::ZERO))
            .build();
        assert!(zero.unwrap_err().is_config());
    }

    #[test]
    fn garbage_ca_pem_is_a_tls_or_config_error() {
        let err = WsConfig::builder("gw")
            .need_token(false)
            .extra_ca_pem(b"not a pem".to_vec())
            .build()
            .unwrap_err();
        assert!(err.is_config(), "{err:?}");
    }
}
