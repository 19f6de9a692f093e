//! The one error type of the gateway client.
//!
//! How causes are reported (one rule for `ws::Error`, `s3::Error`,
//! `ms_utils_encoding::Error` and `ms_utils_logging::Error`): `Display` is the
//! whole message on one line, what failed, where (the login or websocket URL,
//! token redacted) and why (the root cause of the lower-level error, e.g.
//! `Connection refused (os error 111)`), and `source()` returns nothing. So
//! `{e}`, a `%e` log field and a reporter that walks `source()` all print each
//! cause exactly once. The lower-level error is kept, boxed, in the variant's
//! `cause` field for `{e:?}` and for the predicates; its concrete type
//! (reqwest, tungstenite, rustls, ...) is not part of this API and may change
//! in any release.

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::time::Duration;

use tokio_tungstenite::tungstenite::Error as WsError;

pub(crate) use crate::error_chain::RootCause;
use crate::error_chain::find;
use crate::ws::delivery::Undelivered;

/// Everything that can go wrong in [`MicroServiceWs`](super::MicroServiceWs).
///
/// Match on the variants and the predicates ([`Error::is_bad_credentials`],
/// [`Error::is_timeout`], [`Error::is_connect`], [`Error::is_closed`], ...)
/// rather than on message text. No variant ever carries a URL with a token or
/// a password.
///
/// ```
/// use ms_utils_communication::ws::Error;
///
/// let err = Error::Closed;
/// assert!(err.is_closed());
/// assert!(!err.is_bad_credentials());
/// ```
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration cannot work (empty host, unreadable CA file, bad number in
    /// an environment variable, a host that makes no valid login URL, ...).
    #[error("invalid configuration: {reason}")]
    Config {
        /// What is wrong, for humans.
        reason: String,
    },
    /// TLS failed: the setup (a CA PEM rustls refuses, no usable protocol
    /// version; `url` is `None`), or the gateway's certificate is not
    /// trusted (give the gateway's CA with `extra_ca_pem`).
    #[error("{}: {}", tls_where(url.as_deref()), RootCause(cause.as_ref()))]
    Tls {
        /// The login or websocket URL being opened, `None` for a setup failure.
        url: Option<String>,
        /// The TLS error. Its type is not part of the API.
        cause: Box<dyn StdError + Send + Sync>,
    },
    /// The gateway refused the login (any answer but 201 or 5xx, mostly 401
    /// or 403), or the websocket upgrade (401/403): wrong user or password, or
    /// a refused token. Not retried.
    #[error("login to {url} refused by the gateway (HTTP {status}): {body}")]
    BadCredentials {
        /// The login URL, or the websocket URL with the token redacted.
        url: String,
        /// The HTTP status code (401, 403, ...).
        status: u16,
        /// The response body (JSON or text), at most 500 characters.
        body: String,
    },
    /// The gateway answered the login with a 5xx status; a transient failure.
    #[error("login to {url} failed on the gateway side (HTTP {status}): {body}")]
    LoginUnavailable {
        /// The login URL.
        url: String,
        /// The HTTP status code.
        status: u16,
        /// The response body, at most 500 characters.
        body: String,
    },
    /// The login answered 201 without a usable `access_token`.
    #[error("login to {url}: the answer has no usable access_token")]
    BadLoginResponse {
        /// The login URL.
        url: String,
    },
    /// The HTTP login could not be carried out: connection refused, name not
    /// resolved, connection reset, timeout. Transient.
    #[error("login to {url} failed: {}", RootCause(cause.as_ref()))]
    Login {
        /// The login URL (it carries no secret).
        url: String,
        /// The HTTP client's error. Its type is not part of the API.
        cause: Box<dyn StdError + Send + Sync>,
    },
    /// The websocket could not be opened: TCP connection refused, name not
    /// resolved, an upgrade answered with another status than 101 (but 401
    /// or 403, which are [`Error::BadCredentials`]), a broken handshake.
    #[error("websocket connection to {url} failed: {}", RootCause(cause.as_ref()))]
    Connect {
        /// The websocket URL, token redacted (`?token=***`).
        url: String,
        /// The socket or websocket error. Its type is not part of the API.
        cause: Box<dyn StdError + Send + Sync>,
    },
    /// An operation did not finish in time.
    #[error("timed out after {after:?} ({what})")]
    Timeout {
        /// What timed out (`"login"`, `"connect"`, `"request"`, ...).
        what: &'static str,
        /// The limit that passed.
        after: Duration,
    },
    /// The client was closed (by `close()`, by dropping every handle, or after
    /// giving up reconnecting); nothing more is sent or received.
    #[error("the gateway client is closed")]
    Closed,
    /// A volatile message ([`send_volatile`](super::MicroServiceWs::send_volatile))
    /// was not sent: the client is not connected now.
    #[error("not connected to the gateway now: the volatile message was not sent")]
    NotConnected,
    /// `try_send` found the outbound queue full; nothing was queued.
    #[error("the outbound queue is full")]
    QueueFull,
    /// A message was refused before queueing because it is larger than the
    /// configured maximum message size.
    #[error("message of {size} bytes is larger than the limit of {limit} bytes")]
    MessageTooLarge {
        /// Serialized size of the refused message.
        size: usize,
        /// The configured limit.
        limit: usize,
    },
    /// A value could not be serialized or a payload could not be parsed.
    #[error("JSON (de)serialization failed: {error}")]
    Json {
        /// The serde_json error (serde_json is a deliberate public dependency).
        error: serde_json::Error,
    },
    /// A JWT could not be read (not three dot-separated parts, bad base64, not JSON).
    #[error("malformed JWT: {reason}")]
    BadJwt {
        /// Which part is wrong.
        reason: &'static str,
    },
    /// `receive()` was called while a `run()` loop owns the incoming messages.
    #[error("a run() loop is receiving the messages")]
    ReceiverBusy,
    /// A request for the same `jobId` is already waiting for its answer.
    #[error("a request with jobId {job_id} is already pending")]
    DuplicateRequest {
        /// The job id.
        job_id: String,
    },
    /// The gateway answered a request with an `ms-error` message.
    #[error("the gateway reported an error for job {job_id}: {message}")]
    Remote {
        /// The job id of the request.
        job_id: String,
        /// The gateway's message (e.g. "unknown microservice").
        message: String,
    },
    /// The service a task was sent to answered it with the error outcome
    /// (`ms-task-result` of `"type": "error"`): the task failed there.
    #[error("{to} answered task {job_id} with an error: {message}")]
    TaskFailed {
        /// The service that answered.
        to: String,
        /// The job id of the task.
        job_id: String,
        /// What the service said.
        message: String,
    },
    /// Chunking a message for `send_chunked` failed.
    #[error("chunking failed: {reason}")]
    Chunking {
        /// Why.
        reason: String,
    },
    /// Accepted messages were not delivered, and are handed back, oldest
    /// first: from `close()`, what it could not deliver before its deadline
    /// (the gateway unreachable, stalled, or not answering the close); from
    /// a [`Receipt`](super::Receipt), its one message, given up.
    #[error(
        "{} accepted messages were not delivered ({} of them written but not confirmed)",
        .0.len(),
        .0.written()
    )]
    Undelivered(Undelivered),
    /// `close()` closed the client, but handler calls were still running at
    /// its deadline ([`WsConfigBuilder::close_timeout`](super::WsConfigBuilder::close_timeout)):
    /// they are left to finish on their own, and what they send is refused.
    /// The messages the client could not deliver, if any, are handed back
    /// here as in [`Error::Undelivered`]. [`Error::is_timeout`] is true.
    #[error(
        "{running} handler calls still running after {after:?} at close{}",
        undelivered_note(undelivered.as_ref())
    )]
    CloseTimeout {
        /// The close timeout that passed.
        after: Duration,
        /// Handler calls still running then.
        running: usize,
        /// The messages not delivered, oldest first.
        undelivered: Option<Undelivered>,
    },
    /// The first [`connect`](super::MicroServiceWs::connect) kept failing with
    /// transient errors until its deadline
    /// ([`WsConfigBuilder::connect_deadline`](super::WsConfigBuilder::connect_deadline),
    /// default 30 s) passed. The predicates ([`Error::is_connect`],
    /// [`Error::url`], ...) answer for the last failure; [`Error::is_timeout`]
    /// is true.
    #[error(
        "no connection to the gateway within {after:?} ({attempts} attempts); the last one: {last}"
    )]
    ConnectDeadline {
        /// The deadline that passed.
        after: Duration,
        /// How many attempts were made.
        attempts: u32,
        /// The last failure (its message ends this one's).
        last: Box<Error>,
    },
    /// Reconnecting was given up after the configured maximum number of attempts.
    #[error("gave up after {attempts} connection attempts; the last one: {last}")]
    GaveUp {
        /// How many attempts were made.
        attempts: u32,
        /// The last failure (its message ends this one's).
        last: Box<Error>,
    },
}

/// `Debug` is the one line of `Display` (what failed, where, and why, the
/// cause included), so that a `main` returning this error prints a
/// readable line instead of a dump of internal types.
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Error {
    /// True when the gateway refused the credentials (a 4xx login answer, or
    /// a 401/403 websocket upgrade).
    ///
    /// ```
    /// # use ms_utils_communication::ws::Error;
    /// let e = Error::BadCredentials { url: "http://gw/auth-ms/login".into(), status: 401, body: "no".into() };
    /// assert!(e.is_bad_credentials());
    /// ```
    pub fn is_bad_credentials(&self) -> bool {
        match self {
            Error::BadCredentials { .. } => true,
            Error::GaveUp { last, .. } | Error::ConnectDeadline { last, .. } => {
                last.is_bad_credentials()
            }
            _ => false,
        }
    }

    /// True when a service answered a task with the error outcome
    /// ([`Error::TaskFailed`]).
    ///
    /// ```
    /// use ms_utils_communication::ws::Error;
    /// let e = Error::TaskFailed { to: "svc".into(), job_id: "j".into(), message: "no model".into() };
    /// assert!(e.is_task_failed());
    /// ```
    pub fn is_task_failed(&self) -> bool {
        matches!(self, Error::TaskFailed { .. })
    }

    /// True for deadlines that passed (login, connect, request, close).
    ///
    /// ```
    /// # use ms_utils_communication::ws::Error;
    /// # use std::time::Duration;
    /// let e = Error::Timeout { what: "request", after: Duration::from_secs(1) };
    /// assert!(e.is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        match self {
            Error::Timeout { .. } | Error::CloseTimeout { .. } => true,
            Error::Login { cause, .. } => {
                login_cause(cause.as_ref()).is_some_and(reqwest::Error::is_timeout)
            }
            Error::Connect { cause, .. } => find::<io::Error>(cause.as_ref())
                .is_some_and(|e| e.kind() == io::ErrorKind::TimedOut),
            Error::ConnectDeadline { .. } => true,
            Error::GaveUp { last, .. } => last.is_timeout(),
            _ => false,
        }
    }

    /// True when no connection to the gateway could be opened: refused, name
    /// not resolved, network unreachable. Nothing reached the gateway.
    /// [`url`](Error::url) says where it was going.
    ///
    /// ```
    /// # use ms_utils_communication::ws::Error;
    /// assert!(!Error::Closed.is_connect());
    /// ```
    pub fn is_connect(&self) -> bool {
        match self {
            Error::Login { cause, .. } => {
                login_cause(cause.as_ref()).is_some_and(reqwest::Error::is_connect)
            }
            // The TCP step keeps its io::Error as is (see `tcp_connect`);
            // later steps keep tungstenite's error.
            Error::Connect { cause, .. } => cause.is::<io::Error>(),
            Error::GaveUp { last, .. } | Error::ConnectDeadline { last, .. } => last.is_connect(),
            _ => false,
        }
    }

    /// True when the client is closed and will not send or receive again.
    ///
    /// ```
    /// # use ms_utils_communication::ws::Error;
    /// assert!(Error::Closed.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        // (`Undelivered` is reported by close() itself, and `GaveUp` by a
        // connect that gave up: neither is "closed" in the sense of a send
        // refused.)
        matches!(self, Error::Closed)
    }

    /// The messages `close()` could not deliver, for
    /// [`Error::Undelivered`] and [`Error::CloseTimeout`]: every error
    /// `close()` returns hands them back.
    ///
    /// ```
    /// # use ms_utils_communication::ws::Error;
    /// assert!(Error::Closed.undelivered().is_none());
    /// ```
    pub fn undelivered(&self) -> Option<&Undelivered> {
        match self {
            Error::Undelivered(u)
            | Error::CloseTimeout {
                undelivered: Some(u),
                ..
            } => Some(u),
            _ => None,
        }
    }

    /// True when retrying later may succeed (transport failures, 5xx logins,
    /// timeouts). Bad credentials and bad configuration are not transient.
    ///
    /// ```
    /// # use ms_utils_communication::ws::Error;
    /// let url = String::from("http://gw/auth-ms/login");
    /// assert!(Error::LoginUnavailable { url: url.clone(), status: 503, body: String::new() }.is_transient());
    /// assert!(!Error::BadCredentials { url, status: 401, body: String::new() }.is_transient());
    /// ```
    pub fn is_transient(&self) -> bool {
        match self {
            Error::LoginUnavailable { .. }
            | Error::Timeout { .. }
            | Error::BadLoginResponse { .. }
            | Error::NotConnected
            | Error::Login { .. } => true,
            // A 4xx answer to the upgrade (wrong path, ...) or a bad URL will
            // not change by retrying; everything else on the wire may.
            Error::Connect { cause, .. } => match cause.downcast_ref::<WsError>() {
                Some(WsError::Http(resp)) => !resp.status().is_client_error(),
                Some(WsError::Url(_)) => false,
                _ => true,
            },
            _ => false,
        }
    }

    /// True when TLS failed: a setup problem, or a gateway certificate that is
    /// not trusted (give the gateway's CA with `extra_ca_pem`).
    ///
    /// ```
    /// # use ms_utils_communication::ws::Error;
    /// assert!(!Error::Closed.is_tls());
    /// ```
    pub fn is_tls(&self) -> bool {
        match self {
            Error::Tls { .. } => true,
            Error::GaveUp { last, .. } | Error::ConnectDeadline { last, .. } => last.is_tls(),
            _ => false,
        }
    }

    /// True when the outbound queue was full (`try_send`).
    ///
    /// ```
    /// # use ms_utils_communication::ws::Error;
    /// assert!(Error::QueueFull.is_queue_full());
    /// ```
    pub fn is_queue_full(&self) -> bool {
        matches!(self, Error::QueueFull)
    }

    /// True when a volatile message
    /// ([`send_volatile`](super::MicroServiceWs::send_volatile)) was refused
    /// because the client is not connected now (it is reconnecting); a
    /// later one may go through.
    ///
    /// ```
    /// # use ms_utils_communication::ws::Error;
    /// assert!(Error::NotConnected.is_not_connected());
    /// assert!(!Error::Closed.is_not_connected());
    /// ```
    pub fn is_not_connected(&self) -> bool {
        matches!(self, Error::NotConnected)
    }

    /// True when a message was refused for its size.
    ///
    /// ```
    /// # use ms_utils_communication::ws::Error;
    /// assert!(Error::MessageTooLarge { size: 2, limit: 1 }.is_too_large());
    /// ```
    pub fn is_too_large(&self) -> bool {
        matches!(self, Error::MessageTooLarge { .. })
    }

    /// True for configuration errors (a host that makes no valid login URL,
    /// an unreadable CA file, a refused setting). A TLS failure is
    /// [`is_tls`](Self::is_tls), not this.
    ///
    /// ```
    /// # use ms_utils_communication::ws::Error;
    /// assert!(Error::Config { reason: "empty host".into() }.is_config());
    /// assert!(!Error::Tls { url: None, cause: "bad certificate".into() }.is_config());
    /// ```
    pub fn is_config(&self) -> bool {
        matches!(self, Error::Config { .. })
    }

    /// The URL the failed attempt was opening: the login URL, or the
    /// websocket URL with its token redacted. For [`Error::GaveUp`], that of
    /// the last attempt.
    ///
    /// ```
    /// # use ms_utils_communication::ws::Error;
    /// let e = Error::LoginUnavailable { url: "http://gw:8080/auth-ms/login".into(), status: 502, body: String::new() };
    /// assert_eq!(e.url(), Some("http://gw:8080/auth-ms/login"));
    /// assert_eq!(Error::Closed.url(), None);
    /// ```
    pub fn url(&self) -> Option<&str> {
        match self {
            Error::Tls { url, .. } => url.as_deref(),
            Error::BadCredentials { url, .. }
            | Error::LoginUnavailable { url, .. }
            | Error::BadLoginResponse { url }
            | Error::Login { url, .. }
            | Error::Connect { url, .. } => Some(url),
            Error::GaveUp { last, .. } | Error::ConnectDeadline { last, .. } => last.url(),
            _ => None,
        }
    }

    /// The HTTP status the gateway answered the login or the websocket
    /// upgrade with, when that is what failed.
    ///
    /// ```
    /// # use ms_utils_communication::ws::Error;
    /// let e = Error::BadCredentials { url: "http://gw/auth-ms/login".into(), status: 403, body: String::new() };
    /// assert_eq!(e.status(), Some(403));
    /// ```
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::BadCredentials { status, .. } | Error::LoginUnavailable { status, .. } => {
                Some(*status)
            }
            Error::Connect { cause, .. } => match cause.downcast_ref::<WsError>() {
                Some(WsError::Http(resp)) => Some(resp.status().as_u16()),
                _ => None,
            },
            Error::GaveUp { last, .. } | Error::ConnectDeadline { last, .. } => last.status(),
            _ => None,
        }
    }

    pub(crate) fn config(reason: impl Into<String>) -> Self {
        Error::Config {
            reason: reason.into(),
        }
    }

    /// The TLS setup failed (no URL involved yet).
    pub(crate) fn tls_setup(source: rustls::Error) -> Self {
        Error::Tls {
            url: None,
            cause: Box::new(source),
        }
    }

    /// The TCP connection to the gateway for `url` could not be opened. The
    /// io::Error is kept unwrapped: that is what [`Error::is_connect`] checks.
    pub(crate) fn tcp_connect(url: &str, source: io::Error) -> Self {
        Error::Connect {
            url: url.to_owned(),
            cause: Box::new(source),
        }
    }

    /// A later step of opening the websocket for `url` (TLS, upgrade) failed.
    pub(crate) fn connect(url: &str, source: WsError) -> Self {
        if let Some(tls) = find_rustls_error(&source) {
            return Error::Tls {
                url: Some(url.to_owned()),
                cause: Box::new(tls),
            };
        }
        Error::Connect {
            url: url.to_owned(),
            cause: Box::new(source),
        }
    }

    /// The login request to `url` through `proxy` failed before any answer.
    pub(crate) fn login_via(url: &str, proxy: Option<&str>, source: reqwest::Error) -> Self {
        match (proxy, Error::login(url, source)) {
            (Some(proxy), Error::Login { url, cause }) => {
                match cause.downcast::<reqwest::Error>() {
                    Ok(error) => Error::Login {
                        url,
                        cause: Box::new(ThroughProxy {
                            proxy: proxy.to_owned(),
                            error: *error,
                        }),
                    },
                    Err(cause) => Error::Login { url, cause },
                }
            }
            (_, error) => error,
        }
    }

    /// The login request to `url` failed before any answer.
    pub(crate) fn login(url: &str, source: reqwest::Error) -> Self {
        if let Some(tls) = find_rustls_error(&source) {
            return Error::Tls {
                url: Some(url.to_owned()),
                cause: Box::new(tls),
            };
        }
        // A request that could not be built (a port over 65535, ...) fails
        // the same way every time: configuration, not transport.
        if source.is_builder() {
            return Error::config(format!(
                "login URL {url} is not usable: {}",
                RootCause(&source)
            ));
        }
        Error::Login {
            url: url.to_owned(),
            cause: Box::new(source),
        }
    }
}

/// A login that went through a proxy and failed on the way: the cause
/// says which proxy (as the websocket's tunnel errors do), and keeps the
/// HTTP client's error for the predicates.
#[derive(Debug)]
pub(crate) struct ThroughProxy {
    pub(crate) proxy: String,
    pub(crate) error: reqwest::Error,
}

impl fmt::Display for ThroughProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "through proxy {}: {}",
            self.proxy,
            RootCause(&self.error)
        )
    }
}

/// Its text is the whole story: no source, so that [`RootCause`] stops here.
impl StdError for ThroughProxy {}

/// The HTTP client's error of a login failure, through a proxy or not.
fn login_cause<'a>(
    cause: &'a (dyn StdError + Send + Sync + 'static),
) -> Option<&'a reqwest::Error> {
    cause
        .downcast_ref::<reqwest::Error>()
        .or_else(|| cause.downcast_ref::<ThroughProxy>().map(|t| &t.error))
}

/// The end of [`Error::CloseTimeout`]'s message: what it hands back.
fn undelivered_note(undelivered: Option<&Undelivered>) -> String {
    match undelivered {
        Some(u) => format!(
            "; {} accepted messages not delivered ({} of them written but not confirmed)",
            u.len(),
            u.written()
        ),
        None => String::new(),
    }
}

fn tls_where(url: Option<&str>) -> String {
    match url {
        Some(url) => format!("TLS with {url} failed"),
        None => "TLS setup failed".to_owned(),
    }
}

/// The rustls error somewhere in `err`'s chain (an untrusted certificate is
/// not worth retrying, unlike the transport failures it is wrapped in).
fn find_rustls_error(err: &(dyn StdError + 'static)) -> Option<rustls::Error> {
    if let Some(tls) = find::<rustls::Error>(err) {
        return Some(tls.clone());
    }
    match find::<WsError>(err) {
        Some(WsError::Tls(tokio_tungstenite::tungstenite::error::TlsError::Rustls(tls))) => {
            Some((**tls).clone())
        }
        _ => None,
    }
}

impl From<serde_json::Error> for Error {
    fn from(error: serde_json::Error) -> Self {
        Error::Json { error }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_tungstenite::tungstenite::http::Response;

    const URL: &str = "ws://gw:8080/?token=***";

    fn upgrade_answered(status: u16) -> Error {
        Error::connect(
            URL,
            WsError::Http(Box::new(
                Response::builder().status(status).body(None).unwrap(),
            )),
        )
    }

    #[test]
    fn a_4xx_upgrade_answer_is_not_transient_but_5xx_and_io_are() {
        assert!(!upgrade_answered(404).is_transient());
        assert_eq!(upgrade_answered(404).status(), Some(404));
        assert!(upgrade_answered(502).is_transient());
        let io = Error::connect(URL, WsError::Io(io::ErrorKind::ConnectionReset.into()));
        assert!(io.is_transient());
        assert!(!io.is_connect(), "the TCP connection was open");
        let refused = Error::tcp_connect(URL, io::ErrorKind::ConnectionRefused.into());
        assert!(refused.is_transient() && refused.is_connect());
        assert_eq!(refused.url(), Some(URL));
    }

    #[test]
    fn tls_errors_are_found_inside_io_errors() {
        let inner = io::Error::new(
            io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        );
        let outer = io::Error::other(inner);
        let err = Error::connect(URL, WsError::Io(outer));
        assert!(err.is_tls(), "{err:?}");
        assert!(!err.is_transient());
        assert_eq!(err.url(), Some(URL));
    }

    /// The cause is in the message once, and not returned again by
    /// `source()`: reporters that walk the chain do not repeat it.
    #[test]
    fn the_root_cause_is_reported_once() {
        let os = io::Error::from_raw_os_error(111);
        let wrapped = io::Error::other(os);
        let err = Error::tcp_connect(URL, wrapped);
        let root = io::Error::from_raw_os_error(111).to_string();
        let text = err.to_string();
        assert_eq!(text.matches(&root).count(), 1, "{text}");
        assert!(text.contains(URL), "{text}");
        assert!(StdError::source(&err).is_none());
        let gave_up = Error::GaveUp {
            attempts: 2,
            last: Box::new(err),
        };
        assert_eq!(gave_up.to_string().matches(&root).count(), 1);
        assert!(gave_up.is_connect());
        assert_eq!(gave_up.url(), Some(URL));
    }

    #[test]
    fn multi_line_causes_are_shown_on_one_line() {
        let err = Error::Tls {
            url: None,
            cause: "first line\n  second line".into(),
        };
        assert!(!err.to_string().contains('\n'), "{err}");
    }

    fn _assert_impls() {
        fn check<T: Send + Sync + 'static>() {}
        check::<Error>();
    }
}
