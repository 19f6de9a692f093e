//! The URLs of [protocol: login](crate::protocol#login) and [connecting](crate::protocol#connecting), built by pure functions.

use crate::percent::percent_encode;

/// The websocket URI: `{ws|wss}://{host}{path}/?token={token}`, or without the
/// query when `token` is `None` ([protocol: connecting](crate::protocol#connecting)). The token is percent-encoded.
///
/// This string carries the token: never log it, log [`redacted_ws_uri`].
///
/// ```
/// use ms_utils_communication::ws::ws_uri;
/// assert_eq!(ws_uri(true, "gw:443", "", Some("abc")), "wss://gw:443/?token=abc");
/// assert_eq!(ws_uri(false, "gw", "/ws", None), "ws://gw/ws/");
/// ```
pub fn ws_uri(tls: bool, host: &str, path: &str, token: Option<&str>) -> String {
    let scheme = if tls { "wss" } else { "ws" };
    match token {
        Some(t) => format!("{scheme}://{host}{path}/?token={}", encode_query(t)),
        None => format!("{scheme}://{host}{path}/"),
    }
}

/// The websocket URI with the token replaced by `***`, for logs.
///
/// ```
/// use ms_utils_communication::ws::redacted_ws_uri;
/// assert_eq!(redacted_ws_uri(true, "gw", "", true), "wss://gw/?token=***");
/// assert_eq!(redacted_ws_uri(false, "gw", "", false), "ws://gw/");
/// ```
pub fn redacted_ws_uri(tls: bool, host: &str, path: &str, with_token: bool) -> String {
    let scheme = if tls { "wss" } else { "ws" };
    if with_token {
        format!("{scheme}://{host}{path}/?token=***")
    } else {
        format!("{scheme}://{host}{path}/")
    }
}

/// The login URL: `{http|https}://{host}/auth-ms/login` ([protocol: login](crate::protocol#login)).
///
/// ```
/// use ms_utils_communication::ws::login_url;
/// assert_eq!(login_url(false, "127.0.0.1:8080"), "http://127.0.0.1:8080/auth-ms/login");
/// ```
pub fn login_url(tls: bool, host: &str) -> String {
    let scheme = if tls { "https" } else { "http" };
    format!("{scheme}://{host}/auth-ms/login")
}

/// Percent-encodes everything outside RFC 3986's unreserved set. JWTs are
/// already URL-safe, so for them this is the identity (as in the original).
fn encode_query(s: &str) -> String {
    percent_encode(s, b"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_matches_the_python_original() {
        // build_uri(): f"{scheme}://{self.host}{self.path}/{token_param}"
        assert_eq!(ws_uri(true, "h", "", Some("t.o.k")), "wss://h/?token=t.o.k");
        assert_eq!(ws_uri(false, "h:1", "/p", Some("x")), "ws://h:1/p/?token=x");
        assert_eq!(ws_uri(true, "h", "", None), "wss://h/");
    }

    #[test]
    fn odd_token_bytes_are_encoded() {
        assert_eq!(
            ws_uri(false, "h", "", Some("a b&c")),
            "ws://h/?token=a%20b%26c"
        );
    }

    #[test]
    fn redacted_form_never_has_the_token() {
        let r = redacted_ws_uri(true, "h", "/p", true);
        assert_eq!(r, "wss://h/p/?token=***");
    }
}
