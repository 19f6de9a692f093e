//! The TLS client configuration shared by the login and the websocket.

use std::error::Error as StdError;
use std::fmt;
use std::sync::{Arc, OnceLock};

use rustls::RootCertStore;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::ws::error::Error;

/// The operating system's trusted certificates, read once per process
/// (reading the store takes milliseconds; every connect would pay it).
/// What cannot be read is logged at WARN and skipped: the bundled roots
/// still apply.
fn native_roots() -> &'static [CertificateDer<'static>] {
    static NATIVE: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    NATIVE.get_or_init(|| {
        let found = rustls_native_certs::load_native_certs();
        for error in &found.errors {
            tracing::warn!(%error, "cannot read part of the system certificate store; skipped");
        }
        found.certs
    })
}

/// The rustls client configuration used by both the login (reqwest) and the
/// websocket, so that both trust exactly the same roots: the operating
/// system's store, the bundled webpki roots, and the extra CA certificates,
/// if any.
pub(crate) fn tls_config(extra_ca_pem: Option<&[u8]>) -> Result<rustls::ClientConfig, Error> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let (_, unusable) = roots.add_parsable_certificates(native_roots().iter().cloned());
    if unusable > 0 {
        tracing::warn!(
            unusable,
            "certificates of the system store that rustls cannot use; skipped"
        );
    }
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

/// The gateway presented a CA certificate as its own (rustls: "CaUsedAsEndEntity").
///
/// The usual cause: a self-signed certificate made with `openssl req -x509`,
/// which marks it `CA:TRUE`, given as the extra CA. rustls (webpki) never
/// accepts a CA certificate as a server certificate, trusted or not, so the
/// message says what to do instead. No `source()`: the message is the cause
/// (the rustls error stays in `Debug`).
#[derive(Debug)]
pub(crate) struct CaUsedAsServerCertificate {
    #[allow(dead_code)] // read through `Debug`
    rustls: rustls::Error,
}

impl fmt::Display for CaUsedAsServerCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "the gateway's certificate is a CA certificate (basicConstraints CA:TRUE), as a \
             self-signed certificate made by `openssl req -x509` is; rustls refuses it as a \
             server certificate even when it is given as the extra CA. Either give the gateway \
             a certificate signed by a CA and give that CA as the extra CA, or make the \
             self-signed certificate without CA:TRUE (`openssl req -x509 -addext \
             basicConstraints=critical,CA:FALSE ...`) and give it as the extra CA",
        )
    }
}

impl StdError for CaUsedAsServerCertificate {}

/// For a TLS failure anywhere in `err`'s chain caused by a CA certificate
/// presented as the server's, the [`Error::Tls`] that says what to do.
pub(crate) fn self_signed_hint(url: &str, err: &(dyn StdError + 'static)) -> Option<Error> {
    let tls = crate::error_chain::find::<rustls::Error>(err)?;
    is_ca_used_as_end_entity(tls).then(|| Error::Tls {
        url: Some(url.to_owned()),
        cause: Box::new(CaUsedAsServerCertificate {
            rustls: tls.clone(),
        }),
    })
}

/// rustls passes this webpki error on as an opaque `CertificateError::Other`;
/// its text is the only way to tell it without depending on webpki itself.
fn is_ca_used_as_end_entity(err: &rustls::Error) -> bool {
    match err {
        rustls::Error::InvalidCertificate(rustls::CertificateError::Other(other)) => {
            other.to_string().contains("CaUsedAsEndEntity")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_config_accepts_no_extra_ca_and_refuses_empty_pem() {
        assert!(tls_config(None).is_ok());
        assert!(tls_config(Some(b"")).unwrap_err().is_config());
    }

    #[test]
    fn other_certificate_errors_get_no_hint() {
        let io = std::io::Error::other(rustls::Error::InvalidCertificate(
            rustls::CertificateError::UnknownIssuer,
        ));
        assert!(self_signed_hint("wss://gw/", &io).is_none());
    }
}
