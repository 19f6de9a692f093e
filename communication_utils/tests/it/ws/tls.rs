//! TLS: a private gateway's CA, generated here, trusted when given and
//! refused when not, for both the login and the websocket.

use super::support::*;
use ms_utils_communication::ws::MicroServiceWs;
use ms_utils_dev::gateway::DevGateway;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};

/// (CA certificate PEM, server certificate PEM, server key PEM) for 127.0.0.1.
fn private_pki() -> (String, String, String) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&server_key, &ca)
        .unwrap();
    (ca.pem(), server.pem(), server_key.serialize_pem())
}

async fn tls_gateway() -> (DevGateway, String) {
    let (ca, cert, key) = private_pki();
    let gw = DevGateway::builder()
        .user(ALICE.0, ALICE.1)
        .tls(cert, key)
        .start()
        .await
        .unwrap();
    (gw, ca)
}

#[tokio::test]
async fn a_private_ca_given_as_pem_is_trusted_for_login_and_websocket() {
    let (gw, ca) = tls_gateway().await;
    let ms = within(
        "connect",
        MicroServiceWs::builder(gw.host())
            .credentials(ALICE.0, ALICE.1)
            .extra_ca_pem(ca.into_bytes())
            .connect(),
    )
    .await
    .unwrap();
    assert!(ms.is_connected());
    ms.send(serde_json::json!({"event": "bench-echo", "data": "over tls"}))
        .await
        .unwrap();
    assert_eq!(next(&ms).await.data(), Some(&serde_json::json!("over tls")));
}

#[tokio::test]
async fn a_private_ca_from_a_file_is_trusted() {
    let (gw, ca) = tls_gateway().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ca.pem");
    std::fs::write(&path, ca).unwrap();
    let ms = within(
        "connect",
        MicroServiceWs::builder(gw.host())
            .credentials(ALICE.0, ALICE.1)
            .extra_ca_file(&path)
            .connect(),
    )
    .await
    .unwrap();
    assert!(ms.is_connected());
}

#[tokio::test]
async fn an_unknown_ca_is_refused_at_once_with_a_tls_error() {
    let (gw, _ca) = tls_gateway().await;
    let err = within(
        "connect",
        MicroServiceWs::builder(gw.host())
            .credentials(ALICE.0, ALICE.1)
            .connect(),
    )
    .await
    .unwrap_err();
    assert!(err.is_tls(), "{err:?}");
    assert!(
        !err.is_transient(),
        "an untrusted certificate is not retried"
    );
    assert_eq!(gw.faults().logins(), 0);
}

#[tokio::test]
async fn an_unknown_ca_is_refused_by_the_websocket_too() {
    // No login (need_token off), so the websocket handshake meets the certificate first.
    let (ca, cert, key) = private_pki();
    let _ = ca;
    let gw = DevGateway::builder()
        .allow_anonymous(true)
        .tls(cert, key)
        .start()
        .await
        .unwrap();
    let err = within(
        "connect",
        MicroServiceWs::builder(gw.host())
            .need_token(false)
            .connect(),
    )
    .await
    .unwrap_err();
    assert!(err.is_tls(), "{err:?}");
}

/// A private CA named by `GATEWAY_CA_FILE` (what `from_env()` reads) is
/// trusted, with TLS on by default.
#[tokio::test]
async fn a_private_ca_named_in_the_environment_is_trusted() {
    use ms_utils_communication::ws::{WsConfigBuilder, env};

    let (gw, ca) = tls_gateway().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ca.pem");
    std::fs::write(&path, ca).unwrap();
    let vars = std::collections::HashMap::from([
        (env::GATEWAY_HOST, gw.host()),
        (env::GATEWAY_USER, ALICE.0.to_owned()),
        (env::GATEWAY_PASSWORD, ALICE.1.to_owned()),
        (env::GATEWAY_CA_FILE, path.display().to_string()),
    ]);
    let config = WsConfigBuilder::from_lookup(|k| vars.get(k).cloned())
        .build()
        .unwrap();
    assert!(config.tls(), "TLS is on unless GATEWAY_TLS says otherwise");
    let ms = within("connect", MicroServiceWs::connect(config))
        .await
        .unwrap();
    assert!(ms.is_connected());
}
