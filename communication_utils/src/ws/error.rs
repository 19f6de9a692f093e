//! The one error type of the gateway client.

use std::time::Duration;

use super::delivery::Undelivered;

/// Everything that can go wrong in [`MicroServiceWs`](super::MicroServiceWs).
///
/// Match on the predicates ([`Error::is_bad_credentials`], [`Error::is_timeout`],
/// [`Error::is_closed`], ...) rather than on message text. No variant ever
/// carries a URL with a token or a password.
///
/// ```
/// use ms_utils_communication::ws::Error;
///
/// let err = Error::Closed;
/// assert!(err.is_closed());
/// assert!(!err.is_bad_credentials());
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration cannot work (empty host, unreadable CA file, bad number in
    /// an environment variable, ...).
    #[error("invalid configuration: {reason}")]
    Config {
        /// What is wrong, for humans.
        reason: String,
    },
    /// The TLS setup failed (bad CA PEM, provider error).
    #[error("TLS setup failed")]
    Tls {
        /// The rustls error.
        #[source]
        source: rustls::Error,
    },
    /// The gateway refused the login with a 4xx status: wrong user or password.
    /// Not retried.
    #[error("login refused by the gateway (HTTP {status}): {body}")]
    BadCredentials {
        /// The HTTP status code (401, 403, ...).
        status: u16,
        /// The response body (JSON or text), at most 500 characters.
        body: String,
    },
    /// The gateway answered the login with a 5xx status; a transient failure.
    #[error("login failed on the gateway side (HTTP {status}): {body}")]
    LoginUnavailable {
        /// The HTTP status code.
        status: u16,
        /// The response body, at most 500 characters.
        body: String,
    },
    /// The login answered 201 without a usable `access_token`.
    #[error("login answer has no usable access_token")]
    BadLoginResponse,
    /// The HTTP login could not be carried out (connection refused, TLS,
    /// timeout): transient. Or the login request could not even be built
    /// (a host that makes no valid URL, such as a port over 65535): a
    /// configuration error, not transient ([`Error::is_config`]).
    #[error("login request failed")]
    Login {
        /// The HTTP client error (its URL carries no secret).
        #[source]
        source: reqwest::Error,
    },
    /// The websocket handshake or connection failed.
    #[error("websocket connection failed")]
    Connect {
        /// The websocket error.
        #[source]
        source: Box<tokio_tungstenite::tungstenite::Error>,
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
    #[error("JSON (de)serialization failed")]
    Json {
        /// The serde_json error.
        #[source]
        source: serde_json::Error,
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
    /// Chunking a message for `send_chunked` failed.
    #[error("chunking failed: {reason}")]
    Chunking {
        /// Why.
        reason: String,
    },
    /// `close()` could not deliver everything accepted before its deadline
    /// (the gateway unreachable, stalled, or not answering the close): the
    /// messages are handed back, oldest first.
    #[error(
        "{} accepted messages were not delivered before the client closed ({} of them written but not confirmed)",
        .0.len(),
        .0.written()
    )]
    Undelivered(Undelivered),
    /// Reconnecting was given up after the configured maximum number of attempts.
    #[error("gave up after {attempts} connection attempts")]
    GaveUp {
        /// How many attempts were made.
        attempts: u32,
        /// The last failure.
        #[source]
        last: Box<Error>,
    },
}

impl Error {
    /// True when the gateway refused the credentials (a 4xx login answer).
    ///
    /// ```
    /// # use ms_utils_communication::ws::Error;
    /// let e = Error::BadCredentials { status: 401, body: "no".into() };
    /// assert!(e.is_bad_credentials());
    /// ```
    pub fn is_bad_credentials(&self) -> bool {
        match self {
            Error::BadCredentials { .. } => true,
            Error::GaveUp { last, .. } => last.is_bad_credentials(),
            _ => false,
        }
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
            Error::Timeout { .. } => true,
            Error::Login { source } => source.is_timeout(),
            Error::GaveUp { last, .. } => last.is_timeout(),
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
        // (`Undelivered` is reported by close() itself, so it is not "closed"
        // in the sense of a send refused.)
        matches!(self, Error::Closed | Error::GaveUp { .. })
    }

    /// The messages `close()` could not deliver, for
    /// [`Error::Undelivered`].
    ///
    /// ```
    /// # use ms_utils_communication::ws::Error;
    /// assert!(Error::Closed.undelivered().is_none());
    /// ```
    pub fn undelivered(&self) -> Option<&Undelivered> {
        match self {
            Error::Undelivered(u) => Some(u),
            _ => None,
        }
    }

    /// True when retrying later may succeed (transport failures, 5xx logins,
    /// timeouts). Bad credentials and bad configuration are not transient.
    ///
    /// ```
    /// # use ms_utils_communication::ws::Error;
    /// assert!(Error::LoginUnavailable { status: 503, body: String::new() }.is_transient());
    /// assert!(!Error::BadCredentials { status: 401, body: String::new() }.is_transient());
    /// ```
    pub fn is_transient(&self) -> bool {
        use tokio_tungstenite::tungstenite::Error as WsError;
        match self {
            Error::LoginUnavailable { .. } | Error::Timeout { .. } | Error::BadLoginResponse => {
                true
            }
            // A request that could not be built (bad URL) fails the same way
            // every time.
            Error::Login { source } => !source.is_builder(),
            // A 4xx answer to the upgrade (wrong path, ...) or a bad URL will
            // not change by retrying; everything else on the wire may.
            Error::Connect { source } => match &**source {
                WsError::Http(resp) => !resp.status().is_client_error(),
                WsError::Url(_) => false,
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
    /// assert!(Error::Tls { source: rustls::Error::DecryptError }.is_tls());
    /// ```
    pub fn is_tls(&self) -> bool {
        match self {
            Error::Tls { .. } => true,
            Error::GaveUp { last, .. } => last.is_tls(),
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

    /// True when a message was refused for its size.
    ///
    /// ```
    /// # use ms_utils_communication::ws::Error;
    /// assert!(Error::MessageTooLarge { size: 2, limit: 1 }.is_too_large());
    /// ```
    pub fn is_too_large(&self) -> bool {
        matches!(self, Error::MessageTooLarge { .. })
    }

    /// True for configuration errors (including TLS setup, and a host that
    /// makes no valid login URL).
    ///
    /// ```
    /// # use ms_utils_communication::ws::Error;
    /// assert!(Error::Config { reason: "empty host".into() }.is_config());
    /// ```
    pub fn is_config(&self) -> bool {
        match self {
            Error::Config { .. } | Error::Tls { .. } => true,
            Error::Login { source } => source.is_builder(),
            _ => false,
        }
    }

    pub(crate) fn config(reason: impl Into<String>) -> Self {
        Error::Config {
            reason: reason.into(),
        }
    }

    pub(crate) fn connect(source: tokio_tungstenite::tungstenite::Error) -> Self {
        if let Some(tls) = find_rustls_error(&source) {
            return Error::Tls { source: tls };
        }
        Error::Connect {
            source: Box::new(source),
        }
    }

    pub(crate) fn login(source: reqwest::Error) -> Self {
        if let Some(tls) = find_rustls_error(&source) {
            return Error::Tls { source: tls };
        }
        Error::Login { source }
    }
}

/// The rustls error somewhere in `err`'s chain (an untrusted certificate is
/// not worth retrying, unlike the transport failures it is wrapped in).
fn find_rustls_error(err: &(dyn std::error::Error + 'static)) -> Option<rustls::Error> {
    let mut current = Some(err);
    while let Some(e) = current {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls.clone());
        }
        if let Some(tokio_tungstenite::tungstenite::Error::Tls(
            tokio_tungstenite::tungstenite::error::TlsError::Rustls(tls),
        )) = e.downcast_ref::<tokio_tungstenite::tungstenite::Error>()
        {
            return Some((**tls).clone());
        }
        // io::Error::source() skips the wrapped error itself; step into it instead.
        let wrapped = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref());
        if let Some(inner) = wrapped {
            current = Some(inner);
            continue;
        }
        current = e.source();
    }
    None
}

impl From<serde_json::Error> for Error {
    fn from(source: serde_json::Error) -> Self {
        Error::Json { source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_tungstenite::tungstenite::Error as WsError;
    use tokio_tungstenite::tungstenite::http::Response;

    fn upgrade_answered(status: u16) -> Error {
        Error::connect(WsError::Http(Box::new(
            Response::builder().status(status).body(None).unwrap(),
        )))
    }

    #[test]
    fn a_4xx_upgrade_answer_is_not_transient_but_5xx_and_io_are() {
        assert!(!upgrade_answered(404).is_transient());
        assert!(upgrade_answered(502).is_transient());
        let io = Error::connect(WsError::Io(std::io::ErrorKind::ConnectionRefused.into()));
        assert!(io.is_transient());
    }

    #[test]
    fn tls_errors_are_found_inside_io_errors() {
        let inner = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        );
        let outer = std::io::Error::other(inner);
        let err = Error::connect(WsError::Io(outer));
        assert!(err.is_tls(), "{err:?}");
        assert!(!err.is_transient());
    }
}
