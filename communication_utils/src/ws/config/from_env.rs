//! [`WsConfigBuilder::from_env`]: configuration from environment variables.

use std::path::PathBuf;
use std::time::Duration;

use super::WsConfigBuilder;

/// Names of the variables [`WsConfigBuilder::from_env`] reads.
///
/// ```
/// use ms_utils_communication::ws::env;
/// assert_eq!(env::GATEWAY_HOST, "GATEWAY_HOST");
/// ```
pub mod env {
    /// Gateway host, `name[:port]` (required).
    pub const GATEWAY_HOST: &str = "GATEWAY_HOST";
    /// Login name.
    pub const GATEWAY_USER: &str = "GATEWAY_USER";
    /// Login password.
    pub const GATEWAY_PASSWORD: &str = "GATEWAY_PASSWORD";
    /// `true`/`false` (also `1`/`0`, `yes`/`no`): TLS on or off (default on).
    pub const GATEWAY_TLS: &str = "GATEWAY_TLS";
    /// Websocket path, e.g. `/ws` (default empty).
    pub const GATEWAY_PATH: &str = "GATEWAY_PATH";
    /// `true`/`false`: log in for a token (default true).
    pub const GATEWAY_NEED_TOKEN: &str = "GATEWAY_NEED_TOKEN";
    /// Path of a PEM file with extra CA certificates to trust.
    pub const GATEWAY_CA_FILE: &str = "GATEWAY_CA_FILE";
    /// Seconds the first connect may retry transient failures (decimals
    /// allowed, default 30), or `none` to retry forever; see
    /// [`WsConfigBuilder::connect_deadline`](crate::ws::WsConfigBuilder::connect_deadline).
    pub const GATEWAY_CONNECT_DEADLINE: &str = "GATEWAY_CONNECT_DEADLINE";
}

fn parse_deadline(name: &str, value: &str) -> Result<Option<Duration>, String> {
    let v = value.trim();
    if v.eq_ignore_ascii_case("none") || v.eq_ignore_ascii_case("forever") {
        return Ok(None);
    }
    v.parse::<f64>()
        .ok()
        .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
        .map(Some)
        .ok_or_else(|| format!("{name} must be a number of seconds or `none`, not {value:?}"))
}

fn parse_bool(name: &str, value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(format!("{name} must be true or false, not {value:?}")),
    }
}

impl WsConfigBuilder {
    /// A builder from the environment: `GATEWAY_HOST` (required), `GATEWAY_USER`,
    /// `GATEWAY_PASSWORD`, `GATEWAY_TLS`, `GATEWAY_PATH`, `GATEWAY_NEED_TOKEN`,
    /// `GATEWAY_CA_FILE`, `GATEWAY_CONNECT_DEADLINE` (see [`mod@env`]), and the
    /// proxy variables ([Proxies](Self#proxies)). Problems
    /// (missing host, bad boolean or number, unreadable CA file) are reported by [`build`](Self::build).
    ///
    /// ```no_run
    /// let config = ms_utils_communication::ws::WsConfigBuilder::from_env().build()?;
    /// # Ok::<(), ms_utils_communication::ws::Error>(())
    /// ```
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`from_env`](Self::from_env) but reading variables through `lookup`
    /// (for tests and for other configuration sources).
    ///
    /// ```
    /// use ms_utils_communication::ws::WsConfigBuilder;
    /// let c = WsConfigBuilder::from_lookup(|k| match k {
    ///     "GATEWAY_HOST" => Some("gw:80".into()),
    ///     "GATEWAY_TLS" => Some("false".into()),
    ///     "GATEWAY_NEED_TOKEN" => Some("0".into()),
    ///     _ => None,
    /// })
    /// .build()
    /// .unwrap();
    /// assert!(!c.tls());
    /// ```
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let mut b = Self::new(lookup(env::GATEWAY_HOST).unwrap_or_default());
        if b.config.host.is_empty() {
            b.deferred = Some(format!("{} is not set", env::GATEWAY_HOST));
        }
        b.config.username = lookup(env::GATEWAY_USER);
        b.config.password = lookup(env::GATEWAY_PASSWORD);
        if let Some(path) = lookup(env::GATEWAY_PATH) {
            b.config.path = path;
        }
        for (name, slot) in [
            (env::GATEWAY_TLS, &mut b.config.tls),
            (env::GATEWAY_NEED_TOKEN, &mut b.config.need_token),
        ] {
            if let Some(v) = lookup(name) {
                match parse_bool(name, &v) {
                    Ok(x) => *slot = x,
                    Err(e) => b.deferred = Some(e),
                }
            }
        }
        if let Some(v) = lookup(env::GATEWAY_CONNECT_DEADLINE) {
            match parse_deadline(env::GATEWAY_CONNECT_DEADLINE, &v) {
                Ok(d) => b.config.connect_deadline = d,
                Err(e) => b.deferred = Some(e),
            }
        }
        b.ca_file = lookup(env::GATEWAY_CA_FILE).map(PathBuf::from);
        // The proxy variables come through the same lookup (read now, used by `build`).
        let mut proxy_vars = Vec::new();
        for name in super::proxy::VARIABLES {
            for name in [name.to_owned(), name.to_ascii_lowercase()] {
                if let Some(v) = lookup(&name) {
                    proxy_vars.push((name, v));
                }
            }
        }
        b.proxy = super::proxy::ProxySetting::Vars(proxy_vars);
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn from_env_reads_every_documented_variable() {
        let c = WsConfigBuilder::from_lookup(lookup(&[
            ("GATEWAY_HOST", "gw:8080"),
            ("GATEWAY_USER", "svc"),
            ("GATEWAY_PASSWORD", "pw"),
            ("GATEWAY_TLS", "false"),
            ("GATEWAY_PATH", "/ws/"),
            ("GATEWAY_NEED_TOKEN", "yes"),
        ]))
        .build()
        .unwrap();
        assert_eq!(c.host, "gw:8080");
        assert_eq!(c.username.as_deref(), Some("svc"));
        assert_eq!(c.password.as_deref(), Some("pw"));
        assert!(!c.tls);
        assert_eq!(c.path, "/ws");
        assert!(c.need_token);
    }

    #[test]
    fn from_env_reads_the_connect_deadline() {
        let read = |v: &str| {
            WsConfigBuilder::from_lookup(lookup(&[
                ("GATEWAY_HOST", "gw"),
                ("GATEWAY_NEED_TOKEN", "false"),
                ("GATEWAY_CONNECT_DEADLINE", v),
            ]))
            .build()
        };
        assert_eq!(
            read("90").unwrap().connect_deadline,
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            read("0.5").unwrap().connect_deadline,
            Some(Duration::from_millis(500))
        );
        assert_eq!(read("none").unwrap().connect_deadline, None);
        for bad in ["-1", "soon", "NaN"] {
            assert!(read(bad).unwrap_err().is_config(), "{bad}");
        }
    }

    #[test]
    fn from_env_reports_missing_host_and_bad_bool_and_missing_ca() {
        assert!(
            WsConfigBuilder::from_lookup(lookup(&[]))
                .build()
                .unwrap_err()
                .is_config()
        );
        let bad = WsConfigBuilder::from_lookup(lookup(&[
            ("GATEWAY_HOST", "h"),
            ("GATEWAY_TLS", "maybe"),
        ]));
        assert!(bad.build().unwrap_err().is_config());
        let no_ca = WsConfigBuilder::from_lookup(lookup(&[
            ("GATEWAY_HOST", "h"),
            ("GATEWAY_NEED_TOKEN", "false"),
            ("GATEWAY_CA_FILE", "/nonexistent/ca.pem"),
        ]));
        assert!(no_ca.build().unwrap_err().is_config());
    }
}
