//! The HTTP client under the SDK, built the same way with or without an
//! extra CA: rustls (aws-lc) trusting the system roots (plus the extra CA),
//! through the proxy the configuration resolved (`proxy.rs`).
//!
//! Why our own: the SDK's default client reads the proxy variables itself,
//! but a client built for an extra CA (aws-smithy-http-client's `Builder`)
//! sets no proxy at all, so a private CA behind a proxy could not be
//! reached. One builder for every case keeps the two from drifting apart.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::{Connector, tls};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

use super::error::Error;
use super::proxy::Proxy;
use crate::lock::lock;

/// Builds (and keeps) one connector per timeout setting, as the SDK's own
/// client does.
pub(crate) struct S3HttpClient {
    tls: tls::TlsContext,
    extra_ca: bool,
    proxy: Option<(ProxyConfig, String)>,
    connectors: Mutex<HashMap<Timeouts, SharedHttpConnector>>,
}

/// A connector's connect and read timeouts, what the SDK's settings vary by.
type Timeouts = (Option<Duration>, Option<Duration>);

impl fmt::Debug for S3HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3HttpClient")
            .field("extra_ca", &self.extra_ca)
            .field("proxy", &self.proxy.as_ref().map(|(_, shown)| shown))
            .finish_non_exhaustive()
    }
}

impl S3HttpClient {
    /// A client trusting the system roots and `extra_ca_pem`, through `proxy`.
    ///
    /// # Errors
    /// [`Error::Config`] when the extra CA is not PEM or the proxy URL is
    /// unusable.
    pub(crate) fn new(extra_ca_pem: Option<&[u8]>, proxy: Option<&Proxy>) -> Result<Self, Error> {
        let mut trust = tls::TrustStore::default().with_native_roots(true);
        if let Some(pem) = extra_ca_pem {
            if !String::from_utf8_lossy(pem).contains("-----BEGIN CERTIFICATE-----") {
                return Err(Error::config("extra CA certificate is not PEM", None));
            }
            trust = trust.with_pem_certificate(pem.to_vec());
        }
        let tls = tls::TlsContext::builder()
            .with_trust_store(trust)
            .build()
            .map_err(|e| Error::config("extra CA certificate", Some(Box::new(e))))?;
        let proxy = match proxy {
            Some(p) => Some((p.to_sdk()?, p.shown())),
            None => None,
        };
        Ok(S3HttpClient {
            tls,
            extra_ca: extra_ca_pem.is_some(),
            proxy,
            connectors: Mutex::new(HashMap::new()),
        })
    }
}

impl HttpClient for S3HttpClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        let key = (settings.connect_timeout(), settings.read_timeout());
        let mut connectors = lock(&self.connectors);
        connectors
            .entry(key)
            .or_insert_with(|| {
                let mut builder = Connector::builder().connector_settings(settings.clone());
                builder.set_sleep_impl(components.sleep_impl());
                builder.set_proxy_config(self.proxy.as_ref().map(|(config, _)| config.clone()));
                SharedHttpConnector::new(
                    builder
                        .tls_provider(tls::Provider::Rustls(
                            tls::rustls_provider::CryptoMode::AwsLc,
                        ))
                        .tls_context(self.tls.clone())
                        .build(),
                )
            })
            .clone()
    }
}
