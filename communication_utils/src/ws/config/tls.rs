//! The TLS client configuration shared by the login and the websocket.

use std::sync::Arc;

use rustls::RootCertStore;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::ws::error::Error;

/// The rustls client configuration used by both the login (reqwest) and the
/// websocket, so that both trust exactly the same roots: the webpki roots plus
/// the extra CA certificates, if any.
pub(crate) fn tls_config(extra_ca_pem: Option<&[u8]>) -> Result<rustls::ClientConfig, Error> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(pem) = extra_ca_pem {
        let mut added = 0usize;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| Error::config(format!("extra CA PEM: {e}")))?;
            roots.add(cert).map_err(Error::tls_setup)?;
            added += 1;
        }
        if added == 0 {
            return Err(Error::config("extra CA PEM holds no certificate"));
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(Error::tls_setup)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    // No ALPN: the same config serves HTTP/1.1 login and the websocket upgrade,
    // which must not be negotiated to h2.
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_config_accepts_no_extra_ca_and_refuses_empty_pem() {
        assert!(tls_config(None).is_ok());
        assert!(tls_config(Some(b"")).unwrap_err().is_config());
    }
}
