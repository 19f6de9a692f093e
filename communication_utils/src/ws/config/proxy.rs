//! Which HTTP proxy, if any, leads to the gateway: decided once, at
//! [`build`](super::WsConfigBuilder::build), and used by both the login
//! (reqwest) and the websocket (an HTTP `CONNECT` tunnel), so that the two
//! always take the same way.

use std::fmt;
use std::net::IpAddr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::ws::error::Error;

/// What the builder was told about proxies.
#[derive(Debug, Clone, Default)]
pub(crate) enum ProxySetting {
    /// `HTTPS_PROXY` / `HTTP_PROXY` / `ALL_PROXY` and `NO_PROXY` (the default).
    #[default]
    FromEnv,
    /// Never a proxy.
    Off,
    /// This proxy, whatever the environment says.
    Url(String),
    /// The proxy variables as [`from_lookup`](super::WsConfigBuilder::from_lookup)
    /// read them (name, value).
    Vars(Vec<(String, String)>),
}

/// The variables [`from_env`] reads, upper-case spelling.
pub(crate) const VARIABLES: [&str; 4] = ["HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY"];

impl ProxySetting {
    /// The proxy for the gateway at `host`.
    pub(crate) fn resolve(&self, host: &str, tls: bool) -> Result<Option<Proxy>, Error> {
        match self {
            ProxySetting::FromEnv => from_env(|k| std::env::var(k).ok(), host, tls),
            ProxySetting::Off => Ok(None),
            ProxySetting::Url(url) => parse_proxy(url, "WsConfigBuilder::proxy").map(Some),
            ProxySetting::Vars(vars) => from_env(
                |k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()),
                host,
                tls,
            ),
        }
    }
}

/// An HTTP proxy on the way to the gateway.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Proxy {
    /// The URL as given (handed to reqwest, which reads the credentials in it).
    pub(crate) url: String,
    /// Host to open the TCP connection to (IPv6 without brackets).
    pub(crate) host: String,
    pub(crate) port: u16,
    /// `Basic ...` for `Proxy-Authorization`, from the URL's `user:password@`.
    pub(crate) authorization: Option<String>,
}

impl Proxy {
    /// The proxy URL without its credentials, for logs and errors.
    pub(crate) fn shown(&self) -> String {
        match self.host.contains(':') {
            true => format!("http://[{}]:{}", self.host, self.port),
            false => format!("http://{}:{}", self.host, self.port),
        }
    }
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxy")
            .field("url", &self.shown())
            .field("authorization", &self.authorization.as_ref().map(|_| "***"))
            .finish()
    }
}

/// Reads an `http://[user:password@]host[:port][/]` proxy URL (`what` names
/// where it came from, for the error; the URL itself is not shown: it may
/// hold a password).
pub(crate) fn parse_proxy(url: &str, what: &str) -> Result<Proxy, Error> {
    let bad = |why: &str| Error::config(format!("proxy URL from {what}: {why}"));
    let trimmed = url.trim();
    let rest = match trimmed.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => rest,
        Some((scheme, _)) => {
            return Err(bad(&format!(
                "scheme {scheme:?} is not supported (only http:// proxies)"
            )));
        }
        // curl and reqwest read a bare `host:port` as http://.
        None => trimmed,
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.contains(['/', '?', '#']) || rest.is_empty() {
        return Err(bad("expected http://[user:password@]host[:port]"));
    }
    let (userinfo, hostport) = match rest.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, rest),
    };
    let (host, port) = match hostport.strip_prefix('[') {
        Some(v6) => {
            let (host, tail) = v6.split_once(']').ok_or_else(|| bad("unclosed `[`"))?;
            (host, tail.strip_prefix(':'))
        }
        None => match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        },
    };
    let port = match port {
        Some(p) => p
            .parse::<u16>()
            .map_err(|_| bad("the port is not a number"))?,
        None => 80,
    };
    if host.is_empty() {
        return Err(bad("no host"));
    }
    let authorization = userinfo.map(|u| format!("Basic {}", STANDARD.encode(percent_decode(u))));
    Ok(Proxy {
        url: match trimmed.contains("://") {
            true => trimmed.to_owned(),
            false => format!("http://{trimmed}"),
        },
        host: host.to_owned(),
        port,
        authorization,
    })
}

/// `%XX` escapes of a URL's userinfo, decoded (reqwest does the same).
fn percent_decode(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).and_then(|b| hex(*b)),
                bytes.get(i + 2).and_then(|b| hex(*b)),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

/// The proxy for the gateway at `host` (`name[:port]`) from the variables
/// `lookup` reads: `HTTPS_PROXY` (TLS) or `HTTP_PROXY` (plain), then
/// `ALL_PROXY`, each also in lower case (lower case first, as curl does);
/// none when `NO_PROXY` names the host.
pub(crate) fn from_env(
    lookup: impl Fn(&str) -> Option<String>,
    host: &str,
    tls: bool,
) -> Result<Option<Proxy>, Error> {
    let get = |name: &'static str| {
        lookup(&name.to_ascii_lowercase())
            .or_else(|| lookup(name))
            .filter(|v| !v.trim().is_empty())
            .map(|v| (name, v))
    };
    let scheme_var = if tls { "HTTPS_PROXY" } else { "HTTP_PROXY" };
    let Some((name, url)) = get(scheme_var).or_else(|| get("ALL_PROXY")) else {
        return Ok(None);
    };
    if let Some((_, no_proxy)) = get("NO_PROXY")
        && no_proxy_matches(&no_proxy, host_name(host))
    {
        return Ok(None);
    }
    parse_proxy(&url, name).map(Some)
}

/// The name part of `name[:port]` / `[v6][:port]`, without brackets.
fn host_name(host: &str) -> &str {
    match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(v6),
        None => host.split(':').next().unwrap_or(host),
    }
}

/// `NO_PROXY` as curl and reqwest read it: comma-separated entries; `*`
/// matches every host; a name matches itself and its subdomains (a leading
/// dot is ignored); an IP address matches itself and a CIDR block its
/// addresses. Names are compared without case; ports in entries are ignored.
pub(crate) fn no_proxy_matches(no_proxy: &str, host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let ip = host.parse::<IpAddr>().ok();
    no_proxy.split(',').map(str::trim).any(|entry| {
        if entry == "*" {
            return true;
        }
        let entry = entry.trim_start_matches('.').to_ascii_lowercase();
        if entry.is_empty() {
            return false;
        }
        if let Some(ip) = ip {
            return match entry.split_once('/') {
                Some((net, bits)) => in_cidr(ip, net.trim_matches(['[', ']']), bits),
                None => {
                    let entry = entry.trim_start_matches('[');
                    let entry = entry.split(']').next().unwrap_or(entry);
                    entry.parse::<IpAddr>().ok() == Some(ip)
                }
            };
        }
        let name = entry.split(':').next().unwrap_or(&entry);
        host == name || host.ends_with(&format!(".{name}"))
    })
}

fn in_cidr(ip: IpAddr, net: &str, bits: &str) -> bool {
    let (Ok(net), Ok(bits)) = (net.parse::<IpAddr>(), bits.parse::<u32>()) else {
        return false;
    };
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn the_scheme_picks_the_variable_and_all_proxy_is_the_fallback() {
        let vars = [
            ("HTTPS_PROXY", "http://secure:3128"),
            ("http_proxy", "http://plain:8080"),
            ("ALL_PROXY", "http://any:1"),
        ];
        let tls = from_env(env(&vars), "gw:443", true).unwrap().unwrap();
        assert_eq!((tls.host.as_str(), tls.port), ("secure", 3128));
        let plain = from_env(env(&vars), "gw", false).unwrap().unwrap();
        assert_eq!((plain.host.as_str(), plain.port), ("plain", 8080));
        let any = from_env(env(&vars[2..]), "gw", true).unwrap().unwrap();
        assert_eq!(any.host, "any");
        assert_eq!(from_env(env(&[]), "gw", true).unwrap(), None);
    }

    #[test]
    fn no_proxy_names_hosts_domains_ips_and_blocks() {
        let no = "localhost, .internal.example,10.0.0.0/8, ::1,[fd00::1]:80,svc:8080";
        for host in [
            "localhost",
            "gw.internal.example",
            "internal.example",
            "10.1.2.3",
            "::1",
            "fd00::1",
            "SVC",
        ] {
            assert!(no_proxy_matches(no, host), "{host}");
        }
        for host in ["example", "notinternal.example", "11.0.0.1", "::2", "svc2"] {
            assert!(!no_proxy_matches(no, host), "{host}");
        }
        assert!(no_proxy_matches("*", "anything"));
        let vars = [("HTTPS_PROXY", "http://p:1"), ("no_proxy", "gw")];
        assert_eq!(from_env(env(&vars), "gw:8443", true).unwrap(), None);
        assert_eq!(
            from_env(env(&vars), "[::1]:8443", true)
                .unwrap()
                .unwrap()
                .host,
            "p"
        );
    }

    #[test]
    fn proxy_urls_are_parsed_and_their_password_never_shown() {
        let p = parse_proxy("http://us%40er:p%3Ass@[::1]:3128/", "test").unwrap();
        assert_eq!((p.host.as_str(), p.port), ("::1", 3128));
        assert_eq!(
            p.authorization.as_deref(),
            Some(format!("Basic {}", STANDARD.encode("us@er:p:ss")).as_str())
        );
        assert_eq!(p.shown(), "http://[::1]:3128");
        assert!(!format!("{p:?}").contains("p%3Ass"));
        let bare = parse_proxy("proxy.corp:8080", "test").unwrap();
        assert_eq!((bare.host.as_str(), bare.port), ("proxy.corp", 8080));
        for bad in [
            "socks5://p:1080",
            "https://p:443",
            "http://p:port",
            "http://",
            "http://p/x",
        ] {
            let err = parse_proxy(bad, "HTTPS_PROXY").unwrap_err();
            assert!(
                err.is_config() && err.to_string().contains("HTTPS_PROXY"),
                "{bad}: {err}"
            );
        }
    }
}
