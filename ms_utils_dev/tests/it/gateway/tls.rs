//! HTTPS and WSS with a certificate generated in the test.

use super::*;

/// A TLS gateway with user alice, and a client configuration that trusts
/// its freshly generated certificate.
async fn tls_gateway() -> (DevGateway, rustls::ClientConfig) {
    install_crypto();
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let gw = DevGateway::builder()
        .user("alice", "alice-pw")
        .tls(cert.cert.pem(), cert.signing_key.serialize_pem())
        .start()
        .await
        .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.cert.der().clone()).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let client_config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    (gw, client_config)
}

/// The gateway's websocket over TLS, with `token`, trusting `client_config`'s roots.
async fn wss(
    gw: &DevGateway,
    client_config: rustls::ClientConfig,
    token: &str,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>> {
    let connector = tokio_tungstenite::Connector::Rustls(Arc::new(client_config));
    let (ws, _) = tokio_tungstenite::connect_async_tls_with_config(
        gw.ws_url(token),
        None,
        false,
        Some(connector),
    )
    .await
    .unwrap();
    ws
}

#[tokio::test]
async fn tls_serves_login_and_wss_with_the_given_certificate() {
    let (gw, client_config) = tls_gateway().await;
    assert!(gw.login_url().starts_with("https://"));

    let http = reqwest::Client::builder()
        .use_preconfigured_tls(client_config.clone())
        .build()
        .unwrap();
    let res = http
        .post(gw.login_url())
        .json(&json!({"name": "alice", "password": "alice-pw"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    let token = body["access_token"].as_str().unwrap();

    let mut ws = wss(&gw, client_config, token).await;
    send_json(&mut ws, json!({"event": "bench-echo", "data": "over tls"})).await;
    assert_eq!(next_json(&mut ws).await["data"], "over tls");

    // A client that does not trust the certificate is refused.
    assert!(
        reqwest::Client::new()
            .post(gw.login_url())
            .send()
            .await
            .is_err()
    );
}

#[tokio::test]
async fn an_abort_resets_a_tls_connection_too() {
    let (gw, client_config) = tls_gateway().await;
    let http = reqwest::Client::builder()
        .use_preconfigured_tls(client_config.clone())
        .build()
        .unwrap();
    let body: Value = http
        .post(gw.login_url())
        .json(&json!({"name": "alice", "password": "alice-pw"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = body["access_token"].as_str().unwrap();
    let mut ws = wss(&gw, client_config, token).await;
    // The echo proves the gateway has the connection registered.
    send_json(&mut ws, json!({"event": "bench-echo", "data": 1})).await;
    assert_eq!(next_json(&mut ws).await["data"], 1);
    assert_eq!(gw.faults().abort_user("alice"), 1);
    match timeout(WAIT, ws.next()).await.unwrap() {
        Some(Err(WsError::Io(e))) => {
            assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}");
        }
        other => panic!("expected a connection reset, got {other:?}"),
    }
}
