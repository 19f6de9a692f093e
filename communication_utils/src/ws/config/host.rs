//! What a gateway host may look like: `name` or `name:port`, IPv6 literals
//! in brackets, no scheme, path or credentials.

use crate::ws::error::Error;

/// Refuses a host that would make no valid login URL or websocket URI.
pub(super) fn check(host: &str) -> Result<(), Error> {
    if host.is_empty() {
        return Err(Error::config("empty host"));
    }
    if host.contains("://")
        || host.contains(['/', '?', '#', '@'])
        || host.contains(char::is_whitespace)
    {
        return Err(Error::config(
            "host must be `name` or `name:port`, without scheme, path or spaces",
        ));
    }
    check_port(host)
}

/// A port, when the host names one, is a number that fits in 16 bits
/// (`gw:99999` or `gw:http` would otherwise fail at every connect);
/// IPv6 literals come in brackets, as in URLs.
fn check_port(host: &str) -> Result<(), Error> {
    let port = match host.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((_, "")) => None,
            Some((_, tail)) => Some(tail.strip_prefix(':').ok_or_else(|| {
                Error::config(format!("host {host:?}: expected `:port` after `]`"))
            })?),
            None => return Err(Error::config(format!("host {host:?}: unclosed `[`"))),
        },
        None => match host.split_once(':') {
            Some(_) if host.matches(':').count() > 1 => {
                return Err(Error::config(format!(
                    "host {host:?}: write IPv6 addresses in brackets, `[::1]:8080`"
                )));
            }
            Some((_, port)) => Some(port),
            None => None,
        },
    };
    match port {
        Some(p) if p.parse::<u16>().is_err() => Err(Error::config(format!(
            "host {host:?}: the port must be a number from 0 to 65535"
        ))),
        _ => Ok(()),
    }
}
