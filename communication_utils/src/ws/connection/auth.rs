//! The HTTP login ([protocol: login](crate::protocol#login)) and the token it gets.

use std::fmt;
use std::time::SystemTime;

use crate::ws::config::WsConfig;
use crate::ws::config::tls::self_signed_hint;
use crate::ws::error::{Error, RootCause};
use crate::ws::protocol::jwt::jwt_expiry;
use crate::ws::protocol::uri::login_url;

/// A gateway token. `Debug` shows only whether it is a JWT and when it expires.
#[derive(Clone)]
pub(crate) struct Token {
    pub(crate) value: String,
    pub(crate) expires: Option<SystemTime>,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("value", &"***")
            .field("expires", &self.expires)
            .finish()
    }
}

/// Logs in to the gateway. Holds the HTTP client (connection pool, TLS config).
pub(crate) struct Authenticator {
    client: reqwest::Client,
    url: String,
    username: String,
    password: String,
    /// The proxy in use, as shown in errors (no password).
    proxy: Option<String>,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("url", &self.url)
            .field("username", &self.username)
            .field("password", &"***")
            .finish_non_exhaustive()
    }
}

#[derive(serde::Serialize)]
struct LoginBody<'a> {
    name: &'a str,
    password: &'a str,
}

/// Keeps error bodies short: they go into errors and logs.
fn truncate(body: &str) -> String {
    match body.char_indices().nth(500) {
        Some((i, _)) => format!("{}...", &body[..i]),
        None => body.to_owned(),
    }
}

/// The proxy wants credentials (407): retrying will not help.
fn proxy_credentials_error(proxy: &str, url: &str) -> Error {
    Error::config(format!(
        "proxy {proxy} refused to carry the login to {url}: HTTP 407 Proxy Authentication \
         Required (give the proxy's user and password in its URL: http://user:password@host:port)"
    ))
}

/// A 407 answer to reqwest's `CONNECT` (an https login). The error type
/// (hyper-util's `TunnelError`, "tunnel error: proxy authorization required")
/// is not a dependency of ours; its text is the way to tell it.
fn asks_for_proxy_credentials(err: &(dyn std::error::Error + 'static)) -> bool {
    crate::error_chain::any(err, |e| {
        e.to_string().ends_with("proxy authorization required")
    })
}

impl Authenticator {
    pub(crate) fn new(config: &WsConfig, tls: rustls::ClientConfig) -> Result<Self, Error> {
        // The proxy was decided once, by `WsConfigBuilder::build`, and the
        // websocket takes the same one: reqwest must not decide again from
        // the environment by its own rules.
        let mut builder = reqwest::Client::builder()
            .timeout(config.login_timeout)
            .connect_timeout(config.connect_timeout)
            .use_preconfigured_tls(tls)
            .no_proxy();
        if let Some(proxy) = &config.proxy {
            let proxy = reqwest::Proxy::all(&proxy.url).map_err(|e| {
                Error::config(format!("proxy {}: {}", proxy.shown(), RootCause(&e)))
            })?;
            builder = builder.proxy(proxy);
        }
        let client = builder.build().map_err(|e| {
            Error::config(format!(
                "the HTTP client for the gateway login: {}",
                RootCause(&e)
            ))
        })?;
        Ok(Self {
            client,
            url: login_url(config.tls, &config.host),
            proxy: config.proxy.as_ref().map(|p| p.shown()),
            username: config.username.clone().unwrap_or_default(),
            password: config.password.clone().unwrap_or_default(),
        })
    }

    /// One login attempt: 201 with `access_token` is success; 4xx is
    /// [`Error::BadCredentials`], 5xx [`Error::LoginUnavailable`], anything else a
    /// transport error.
    pub(crate) async fn login(&self) -> Result<Token, Error> {
        let resp = self
            .client
            .post(&self.url)
            .json(&LoginBody {
                name: &self.username,
                password: &self.password,
            })
            .send()
            .await
            .map_err(|e| {
                if let Some(proxy) = &self.proxy
                    && asks_for_proxy_credentials(&e)
                {
                    return proxy_credentials_error(proxy, &self.url);
                }
                // Through a proxy, a transport failure may be the proxy's:
                // the error says which way the login went.
                self_signed_hint(&self.url, &e)
                    .unwrap_or_else(|| Error::login_via(&self.url, self.proxy.as_deref(), e))
            })?;
        let status = resp.status().as_u16();
        let text = resp
            .text()
            .await
            .map_err(|e| Error::login_via(&self.url, self.proxy.as_deref(), e))?;
        match status {
            201 => {
                let bad_response = || Error::BadLoginResponse {
                    url: self.url.clone(),
                };
                let value: serde_json::Value =
                    serde_json::from_str(&text).map_err(|_| bad_response())?;
                let token = value
                    .get("access_token")
                    .and_then(serde_json::Value::as_str)
                    .filter(|t| !t.is_empty())
                    .ok_or_else(bad_response)?
                    .to_owned();
                let expires = jwt_expiry(&token);
                Ok(Token {
                    value: token,
                    expires,
                })
            }
            // Through a proxy, 407 is the proxy's answer, not the gateway's.
            407 if self.proxy.is_some() => Err(proxy_credentials_error(
                self.proxy.as_deref().unwrap_or_default(),
                &self.url,
            )),
            500..=599 => Err(Error::LoginUnavailable {
                url: self.url.clone(),
                status,
                body: truncate(&text),
            }),
            // 4xx and any other non-201 answer: the gateway said no to these credentials.
            _ => Err(Error::BadCredentials {
                url: self.url.clone(),
                status,
                body: truncate(&text),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_keeps_500_chars() {
        let long = "é".repeat(600);
        let t = truncate(&long);
        assert_eq!(t.chars().count(), 503);
        assert_eq!(truncate("short"), "short");
    }

    #[test]
    fn token_debug_hides_the_value() {
        let t = Token {
            value: "secret-token".into(),
            expires: None,
        };
        assert!(!format!("{t:?}").contains("secret-token"));
    }
}
