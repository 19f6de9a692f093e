//! Which HTTP proxy the bucket client's connections take: decided once, by
//! [`S3ConfigBuilder::build`](super::S3ConfigBuilder::build), from the
//! builder's setting or the environment, and handed to the one connector
//! the client builds (`http_client.rs`), with or without an extra CA.
//!
//! The environment is read as boto3 (urllib) and curl read it: the variable
//! of the endpoint's scheme (`HTTPS_PROXY` for `https://` endpoints and AWS,
//! `HTTP_PROXY` for `http://` ones), else `ALL_PROXY`, each in lower case
//! first; an empty value counts as unset; a URL without a scheme is
//! `http://`. `NO_PROXY` is passed on and matched per request (curl's rules,
//! as the SDK's own client matches them).

use std::fmt;

use aws_smithy_http_client::proxy::ProxyConfig;

use super::error::Error;

/// What the builder was told about proxies.
#[derive(Clone, Default)]
pub(crate) enum ProxySetting {
    /// `HTTPS_PROXY` / `HTTP_PROXY` / `ALL_PROXY` and `NO_PROXY` (the default).
    #[default]
    FromEnv,
    /// Never a proxy.
    Off,
    /// This proxy for every request, whatever the environment says.
    Url(String),
}

impl fmt::Debug for ProxySetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProxySetting::FromEnv => f.write_str("FromEnv"),
            ProxySetting::Off => f.write_str("Off"),
            ProxySetting::Url(url) => f.debug_tuple("Url").field(&shown(url)).finish(),
        }
    }
}

/// The proxy the client uses. Its URL may hold `user:password@`: it is
/// never shown (see [`shown`](Self::shown)).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Proxy {
    /// The URL as given, scheme added (`http://`) when it had none.
    url: String,
    /// Where it came from: `S3ConfigBuilder::proxy` or a variable's name.
    pub(crate) source: &'static str,
    /// Which requests it serves.
    scheme: ProxyScheme,
    /// `NO_PROXY`: hosts reached directly.
    no_proxy: Option<String>,
}

/// Which requests a proxy serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ProxyScheme {
    Https,
    Http,
    All,
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxy")
            .field("url", &self.shown())
            .field("source", &self.source)
            .field("no_proxy", &self.no_proxy)
            .finish()
    }
}

impl Proxy {
    /// The URL without its credentials, for logs and `Debug`.
    pub(crate) fn shown(&self) -> String {
        shown(&self.url)
    }

    /// The SDK's form of it.
    ///
    /// # Errors
    /// [`Error::Config`] for a URL the SDK cannot use (not `http(s)://`, no
    /// host); the message names where the URL came from, not the URL.
    pub(crate) fn to_sdk(&self) -> Result<ProxyConfig, Error> {
        let url = self.url.clone();
        let config = match self.scheme {
            ProxyScheme::Https => ProxyConfig::https(url),
            ProxyScheme::Http => ProxyConfig::http(url),
            ProxyScheme::All => ProxyConfig::all(url),
        }
        .map_err(|e| Error::config(format!("proxy URL from {}", self.source), Some(Box::new(e))))?;
        Ok(match &self.no_proxy {
            Some(rules) => config.no_proxy(rules),
            None => config,
        })
    }
}

impl ProxySetting {
    /// The proxy for an endpoint reached over TLS (`https`) or not, with the
    /// environment read through `lookup`.
    ///
    /// # Errors
    /// [`Error::Config`] for a proxy URL the SDK cannot use.
    pub(crate) fn resolve(
        &self,
        lookup: impl Fn(&str) -> Option<String>,
        https: bool,
    ) -> Result<Option<Proxy>, Error> {
        let proxy = match self {
            ProxySetting::Off => return Ok(None),
            ProxySetting::Url(url) => Proxy {
                url: with_scheme(url),
                source: "S3ConfigBuilder::proxy",
                scheme: ProxyScheme::All,
                no_proxy: None,
            },
            ProxySetting::FromEnv => {
                let get = |name: &'static str| {
                    lookup(&name.to_ascii_lowercase())
                        .or_else(|| lookup(name))
                        .filter(|v| !v.trim().is_empty())
                        .map(|v| (name, v))
                };
                let (var, scheme) = match https {
                    true => ("HTTPS_PROXY", ProxyScheme::Https),
                    false => ("HTTP_PROXY", ProxyScheme::Http),
                };
                let chosen = get(var)
                    .map(|(n, v)| (n, v, scheme))
                    .or_else(|| get("ALL_PROXY").map(|(n, v)| (n, v, ProxyScheme::All)));
                let Some((source, url, scheme)) = chosen else {
                    return Ok(None);
                };
                Proxy {
                    url: with_scheme(url.trim()),
                    source,
                    scheme,
                    no_proxy: get("NO_PROXY").map(|(_, v)| v),
                }
            }
        };
        // Refused now rather than at the first request.
        proxy.to_sdk()?;
        Ok(Some(proxy))
    }
}

/// curl, urllib and boto3 read `host:port` as `http://host:port`.
fn with_scheme(url: &str) -> String {
    match url.contains("://") {
        true => url.to_owned(),
        false => format!("http://{url}"),
    }
}

/// `url` without the `user:password@` of its authority.
pub(crate) fn shown(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (Some(s), r),
        None => (None, url),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let credentials = if host.len() < authority.len() {
        "***@"
    } else {
        ""
    };
    match scheme {
        Some(s) => format!("{s}://{credentials}{host}{tail}"),
        None => format!("{credentials}{host}{tail}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn the_endpoint_scheme_picks_the_variable_lower_case_first() {
        let vars = [
            ("HTTPS_PROXY", "http://upper:1"),
            ("https_proxy", "http://lower:2"),
            ("HTTP_PROXY", "plain:3"),
            ("ALL_PROXY", "http://any:4"),
            ("NO_PROXY", "localhost,.internal"),
        ];
        let tls = ProxySetting::FromEnv
            .resolve(env(&vars), true)
            .unwrap()
            .unwrap();
        assert_eq!(
            (tls.shown().as_str(), tls.source),
            ("http://lower:2", "HTTPS_PROXY")
        );
        assert_eq!(tls.scheme, ProxyScheme::Https);
        assert_eq!(tls.no_proxy.as_deref(), Some("localhost,.internal"));
        let plain = ProxySetting::FromEnv
            .resolve(env(&vars), false)
            .unwrap()
            .unwrap();
        assert_eq!(
            (plain.shown().as_str(), plain.scheme),
            ("http://plain:3", ProxyScheme::Http)
        );
        let any = ProxySetting::FromEnv
            .resolve(env(&vars[3..]), true)
            .unwrap()
            .unwrap();
        assert_eq!((any.source, any.scheme), ("ALL_PROXY", ProxyScheme::All));
        let empty = [("https_proxy", " "), ("ALL_PROXY", "")];
        assert_eq!(
            ProxySetting::FromEnv.resolve(env(&empty), true).unwrap(),
            None
        );
    }

    #[test]
    fn off_and_an_explicit_url_ignore_the_environment() {
        let vars = [("HTTPS_PROXY", "http://env:1")];
        assert_eq!(ProxySetting::Off.resolve(env(&vars), true).unwrap(), None);
        let given = ProxySetting::Url("http://given:2".into())
            .resolve(env(&vars), true)
            .unwrap()
            .unwrap();
        assert_eq!(
            (given.shown().as_str(), given.scheme),
            ("http://given:2", ProxyScheme::All)
        );
    }

    #[test]
    fn unusable_urls_are_config_errors_that_do_not_show_them() {
        for url in ["socks5://me:hunter2@p:1080", "http://me:hunter2@/"] {
            let err = ProxySetting::Url(url.into())
                .resolve(env(&[]), true)
                .unwrap_err();
            assert!(matches!(err, Error::Config { .. }), "{err:?}");
            assert!(!err.to_string().contains("hunter2"), "{err}");
            assert!(!format!("{err:?}").contains("hunter2"), "{err:?}");
        }
        let vars = [("ALL_PROXY", "socks5://p:1080")];
        let err = ProxySetting::FromEnv.resolve(env(&vars), true).unwrap_err();
        assert!(err.to_string().contains("ALL_PROXY"), "{err}");
    }

    #[test]
    fn credentials_are_never_shown() {
        assert_eq!(
            shown("http://me:s%40cret@proxy:3128/"),
            "http://***@proxy:3128/"
        );
        assert_eq!(shown("me:pw@proxy:3128"), "***@proxy:3128");
        assert_eq!(shown("http://proxy:3128"), "http://proxy:3128");
        let setting = ProxySetting::Url("http://me:hunter2@p:1".into());
        assert!(!format!("{setting:?}").contains("hunter2"));
        let proxy = setting.resolve(env(&[]), true).unwrap().unwrap();
        assert!(!format!("{proxy:?}").contains("hunter2"));
    }
}
