//! Connection setup: the first connect fails fast on what retrying cannot
//! fix and retries the rest up to a deadline; the token for REST calls;
//! the same proxy (or none) for the login and the websocket; the system certificate
//! store and a self-signed certificate as the extra CA; extra handshake
//! headers.

use std::time::Duration;

use super::support::*;
use ms_utils_communication::ws::{Error, Event, MicroServiceWs, WsConfigBuilder, jwt_claims};
use ms_utils_dev::gateway::DevGateway;
use ms_utils_dev::testing::{LogCapture, LoopbackProxy};
use ms_utils_dev::testing::{assert_child_passed, assert_in_child, child_test};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A loopback port with nothing listening.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Nothing listening: retried (with WARN lines naming the host and the
/// cause) until the default 30 s deadline, which passes in paused time.
#[tokio::test(start_paused = true)]
async fn a_closed_port_is_retried_until_the_default_deadline() {
    let (logs, _guard) = LogCapture::on_this_thread("warn");
    let host = format!("127.0.0.1:{}", closed_port());
    let started = tokio::time::Instant::now();
    let err = MicroServiceWs::builder(host.clone())
        .tls(false)
        .credentials(ALICE.0, ALICE.1)
        .connect()
        .await
        .unwrap_err();
    let waited = started.elapsed();
    let Error::ConnectDeadline {
        after,
        attempts,
        last,
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(*after, Duration::from_secs(30));
    assert!(*attempts > 1, "{attempts}");
    assert!(last.is_connect() && last.is_transient(), "{last:?}");
    assert!(err.is_connect() && err.is_timeout() && !err.is_transient());
    assert!(err.url().is_some_and(|u| u.contains(&host)), "{err:?}");
    // Tried to its end: the last attempt starts a second before it.
    assert!(waited <= Duration::from_secs(30), "{waited:?}");
    assert!(waited >= Duration::from_secs(29), "{waited:?}");
    let logs = logs.text();
    let retries: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("gateway connect failed, retrying"))
        .collect();
    assert_eq!(retries.len() as u32, attempts - 1, "{logs}");
    for line in retries {
        assert!(line.contains("WARN") && line.contains(&host), "{line}");
    }
    // One line per failed attempt, and none for the final error: the
    // caller gets it, and says it once.
    let warnings = logs.lines().filter(|l| l.contains("WARN")).count();
    assert_eq!(warnings as u32, attempts - 1, "{logs}");
}

/// `connect_deadline` sets the deadline; `None` retries past 30 s.
#[tokio::test(start_paused = true)]
async fn the_deadline_is_configurable_and_can_be_lifted() {
    let host = format!("127.0.0.1:{}", closed_port());
    let builder = MicroServiceWs::builder(host)
        .tls(false)
        .credentials(ALICE.0, ALICE.1);
    let started = tokio::time::Instant::now();
    let err = builder
        .clone()
        .connect_deadline(Some(Duration::from_secs(3)))
        .connect()
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::ConnectDeadline { after, .. } if after == Duration::from_secs(3)),
        "{err:?}"
    );
    assert!(started.elapsed() <= Duration::from_secs(3));

    let started = tokio::time::Instant::now();
    let forever = builder.connect_deadline(None).connect();
    let outcome = tokio::time::timeout(Duration::from_secs(120), forever).await;
    assert!(outcome.is_err(), "still retrying after 120 s: {outcome:?}");
    assert!(started.elapsed() >= Duration::from_secs(120));
}

/// Refused credentials end the first connect on its first attempt.
#[tokio::test]
async fn bad_credentials_fail_on_the_first_attempt() {
    let gw = gateway().await;
    let err = within(
        "connect",
        config(&gw, (ALICE.0, "wrong"))
            .connect_deadline(None)
            .connect(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, Error::BadCredentials { status: 401, .. }),
        "{err:?}"
    );
    assert!(!err.is_transient());
    assert_eq!(gw.faults().counters().logins, 0);
    assert_eq!(gw.faults().connections(), 0);
}

/// `token()` is the token the gateway issued for the current connection,
/// and follows a new login.
#[tokio::test]
async fn the_token_is_the_one_the_gateway_issued() {
    let gw = gateway().await;
    let ms = connect(&gw, ALICE).await;
    let first = ms.token().expect("logged in");
    let claims = jwt_claims(&first).unwrap();
    assert_eq!(claims["sub"], "alice");
    assert!(!format!("{ms:?}").contains(&first));

    // A new connection logs in again: a new token (set by the dial, before
    // the connection is reported open).
    let mut events = ms.events();
    gw.faults().close_user(ALICE.0);
    within("reconnected", async {
        while !matches!(events.recv().await, Ok(Event::Connected)) {}
    })
    .await;
    let second = ms.token().unwrap();
    assert_eq!(jwt_claims(&second).unwrap()["sub"], "alice");
    assert_ne!(jwt_claims(&second).unwrap()["jti"], claims["jti"]);

    let anonymous = DevGateway::builder()
        .allow_anonymous(true)
        .start()
        .await
        .unwrap();
    let ms = within(
        "connect",
        MicroServiceWs::builder(anonymous.host())
            .tls(false)
            .need_token(false)
            .connect(),
    )
    .await
    .unwrap();
    assert_eq!(ms.token(), None);
}

/// Both the login and the websocket go through the proxy given with
/// `proxy()`: over plain HTTP the login is forwarded and the websocket
/// tunnelled; messages flow through the tunnel.
#[tokio::test]
async fn the_login_and_the_websocket_both_go_through_the_proxy() {
    let proxy = LoopbackProxy::start().await.unwrap();
    let gw = gateway().await;
    let ms = within(
        "connect",
        config(&gw, ALICE)
            .proxy(proxy.url().to_owned())
            .retry_initial_connect(false)
            .connect(),
    )
    .await
    .unwrap();
    ms.send(serde_json::json!({"event": "bench-echo", "data": "via proxy"}))
        .await
        .unwrap();
    assert_eq!(
        next(&ms).await.data(),
        Some(&serde_json::json!("via proxy"))
    );
    let host = gw.host();
    assert_eq!(
        proxy.requests(),
        [
            format!("POST http://{host}/auth-ms/login HTTP/1.1"),
            format!("CONNECT {host} HTTP/1.1"),
        ]
    );
}

/// A proxy that is not there: the error is a transport failure that names
/// the proxy, not the gateway refusing (plain HTTP: the login goes through
/// it first; over TLS the tunnel does).
#[tokio::test]
async fn a_dead_proxy_is_named_in_the_error() {
    let gw = gateway().await;
    let dead = format!("http://127.0.0.1:{}", closed_port());
    for tls in [false, true] {
        let err = within(
            "connect",
            config(&gw, ALICE)
                .tls(tls)
                .proxy(dead.clone())
                .retry_initial_connect(false)
                .connect(),
        )
        .await
        .unwrap_err();
        assert!(err.is_connect() && err.is_transient(), "{err:?}");
        assert!(!err.is_bad_credentials(), "{err:?}");
        assert!(
            err.to_string().contains(&format!("through proxy {dead}")),
            "{err}"
        );
    }
}

/// Over TLS both are `CONNECT` tunnels, TLS to the gateway inside; the
/// proxy's credentials from its URL are sent with the tunnel request.
#[tokio::test]
async fn over_tls_both_are_tunnelled_with_the_proxy_credentials() {
    let (cert, key) = self_signed(false);
    let gw = tls_gateway(&cert, &key).await;
    let proxy = LoopbackProxy::start().await.unwrap();
    let with_user = proxy.url().replace("http://", "http://me:s%40cret@");
    let ms = within(
        "connect",
        MicroServiceWs::builder(gw.host())
            .credentials(ALICE.0, ALICE.1)
            .extra_ca_pem(cert.into_bytes())
            .proxy(with_user)
            .retry_initial_connect(false)
            .connect(),
    )
    .await
    .unwrap();
    assert!(ms.is_connected());
    let host = gw.host();
    assert_eq!(
        proxy.requests(),
        [
            format!("CONNECT {host} HTTP/1.1"),
            format!("CONNECT {host} HTTP/1.1")
        ]
    );
    let heads = proxy.heads();
    // "me:s@cret" in base64.
    for head in heads {
        assert!(
            head.to_ascii_lowercase()
                .contains("proxy-authorization: basic bwu6c0bjcmv0"),
            "{head}"
        );
    }
}

/// A proxy refusing the tunnel for want of credentials (407) is not
/// retried, and the error says what to give.
#[tokio::test]
async fn a_proxy_asking_for_credentials_fails_at_once() {
    let proxy = LoopbackProxy::refusing(
        "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n",
    )
    .await
    .unwrap();
    let err = within(
        "connect",
        MicroServiceWs::builder(format!("127.0.0.1:{}", closed_port()))
            .tls(false)
            .need_token(false)
            .proxy(proxy.url().to_owned())
            .connect_deadline(None)
            .connect(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::Config { .. }), "{err:?}");
    assert!(err.to_string().contains("407"), "{err}");
    assert_eq!(proxy.requests().len(), 1);

    // The login says the same, over https (CONNECT) and http (forwarded).
    for tls in [true, false] {
        let err = within(
            "connect",
            MicroServiceWs::builder(format!("127.0.0.1:{}", closed_port()))
                .tls(tls)
                .credentials(ALICE.0, ALICE.1)
                .proxy(proxy.url().to_owned())
                .connect_deadline(None)
                .connect(),
        )
        .await
        .unwrap_err();
        assert!(matches!(err, Error::Config { .. }), "tls {tls}: {err:?}");
        assert!(err.to_string().contains("407"), "{err}");
    }
    assert_eq!(proxy.requests().len(), 3);
}

/// `NO_PROXY` naming the gateway, or `no_proxy()`, keeps both off the
/// proxy (here the variables come through `from_lookup`).
#[tokio::test]
async fn no_proxy_keeps_both_off_the_proxy() {
    let proxy = LoopbackProxy::start().await.unwrap();
    let gw = gateway().await;
    let host = gw.host();
    let vars = |no_proxy: &'static str| {
        let (host, url) = (host.clone(), proxy.url().to_owned());
        move |name: &str| match name {
            "GATEWAY_HOST" => Some(host.clone()),
            "GATEWAY_TLS" => Some("false".to_owned()),
            "GATEWAY_USER" => Some(ALICE.0.to_owned()),
            "GATEWAY_PASSWORD" => Some(ALICE.1.to_owned()),
            "HTTP_PROXY" => Some(url.clone()),
            "NO_PROXY" => Some(no_proxy.to_owned()).filter(|v| !v.is_empty()),
            _ => None,
        }
    };
    let bypassed = WsConfigBuilder::from_lookup(vars("localhost,127.0.0.0/8"));
    let ms = within("connect", bypassed.connect()).await.unwrap();
    assert!(ms.is_connected());
    let off = WsConfigBuilder::from_lookup(vars("")).no_proxy();
    let ms = within("connect", off.connect()).await.unwrap();
    assert!(ms.is_connected());
    assert_eq!(proxy.requests(), Vec::<String>::new());
    // And without NO_PROXY, the proxy from the lookup is used.
    let proxied = WsConfigBuilder::from_lookup(vars(""));
    let ms = within("connect", proxied.connect()).await.unwrap();
    assert!(ms.is_connected());
    assert_eq!(proxy.requests().len(), 2);
}

/// The child half of `the_proxy_variables_of_the_process_are_honoured`:
/// runs only in the re-executed test binary, whose environment names the
/// proxy (tests may not set variables in their own process).
#[tokio::test]
#[ignore = "child half of the_proxy_variables_of_the_process_are_honoured, run by it in a child process"]
async fn proxy_child() {
    assert_in_child();
    let gw = gateway().await;
    let ms = within(
        "connect",
        config(&gw, ALICE).retry_initial_connect(false).connect(),
    )
    .await
    .expect("connects through the proxy");
    assert!(ms.is_connected());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_variables_of_the_process_are_honoured() {
    let proxy = LoopbackProxy::start().await.unwrap();
    let url = proxy.url().to_owned();
    let out = tokio::task::spawn_blocking(move || {
        child_test("ws::connect_setup::proxy_child")
            .env("HTTP_PROXY", &url)
            .env_remove("http_proxy")
            .env_remove("ALL_PROXY")
            .env_remove("all_proxy")
            .env_remove("NO_PROXY")
            .env_remove("no_proxy")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_child_passed(&out);
    let requests = proxy.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert!(
        requests[0].starts_with("POST http://127.0.0.1:"),
        "{requests:?}"
    );
    assert!(
        requests[1].starts_with("CONNECT 127.0.0.1:"),
        "{requests:?}"
    );
}

/// (certificate PEM, key PEM) of a self-signed certificate for 127.0.0.1,
/// marked `CA:TRUE` or not.
fn self_signed(ca: bool) -> (String, String) {
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    if ca {
        // What `openssl req -x509` makes by default.
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    }
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}

async fn tls_gateway(cert: &str, key: &str) -> DevGateway {
    DevGateway::builder()
        .user(ALICE.0, ALICE.1)
        .tls(cert.to_owned(), key.to_owned())
        .start()
        .await
        .unwrap()
}

/// A self-signed server certificate without `CA:TRUE` works as the extra CA.
#[tokio::test]
async fn a_self_signed_certificate_works_as_the_extra_ca() {
    let (cert, key) = self_signed(false);
    let gw = tls_gateway(&cert, &key).await;
    let ms = within(
        "connect",
        MicroServiceWs::builder(gw.host())
            .credentials(ALICE.0, ALICE.1)
            .extra_ca_pem(cert.into_bytes())
            .connect(),
    )
    .await
    .unwrap();
    assert!(ms.is_connected());
}

/// A self-signed certificate marked `CA:TRUE` (rustls refuses it as a
/// server's): refused on the first attempt with an error saying what to do.
#[tokio::test]
async fn a_self_signed_ca_certificate_is_refused_with_what_to_do() {
    let (cert, key) = self_signed(true);
    let gw = tls_gateway(&cert, &key).await;
    let err = within(
        "connect",
        MicroServiceWs::builder(gw.host())
            .credentials(ALICE.0, ALICE.1)
            .extra_ca_pem(cert.clone().into_bytes())
            .connect_deadline(None)
            .connect(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::Tls { url: Some(_), .. }), "{err:?}");
    assert!(!err.is_transient());
    let text = err.to_string();
    assert!(
        text.contains("CA:TRUE") && text.contains("signed by a CA"),
        "{text}"
    );

    // The websocket (no login) says the same.
    let anonymous = DevGateway::builder()
        .tls(cert.clone(), key)
        .allow_anonymous(true)
        .start()
        .await
        .unwrap();
    let err = within(
        "connect",
        MicroServiceWs::builder(anonymous.host())
            .need_token(false)
            .extra_ca_pem(cert.into_bytes())
            .connect_deadline(None)
            .connect(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, Error::Tls { url: Some(ref u), .. } if u.starts_with("wss://")),
        "{err:?}"
    );
    assert!(err.to_string().contains("CA:TRUE"), "{err}");
}

/// The child half of `the_system_certificate_store_is_trusted`.
#[tokio::test]
#[ignore = "child half of the_system_certificate_store_is_trusted, run by it in a child process"]
async fn system_store_child() {
    assert_in_child();
    let dir = std::env::var("MS_UTILS_WS_STORE_CHILD").expect("the parent names the folder");
    let dir = std::path::Path::new(&dir);
    let cert = std::fs::read_to_string(dir.join("server.pem")).unwrap();
    let key = std::fs::read_to_string(dir.join("server.key")).unwrap();
    let gw = tls_gateway(&cert, &key).await;
    // No extra CA: the CA comes from the "system" store (`SSL_CERT_FILE`).
    let ms = within(
        "connect",
        MicroServiceWs::builder(gw.host())
            .credentials(ALICE.0, ALICE.1)
            .retry_initial_connect(false)
            .connect(),
    )
    .await
    .expect("the CA in SSL_CERT_FILE is trusted");
    assert!(ms.is_connected());
}

#[test]
fn the_system_certificate_store_is_trusted() {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&server_key, &ca)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.path().join("server.pem"), server.pem()).unwrap();
    std::fs::write(dir.path().join("server.key"), server_key.serialize_pem()).unwrap();
    let out = child_test("ws::connect_setup::system_store_child")
        .env("MS_UTILS_WS_STORE_CHILD", dir.path())
        .env("SSL_CERT_FILE", dir.path().join("ca.pem"))
        .env_remove("SSL_CERT_DIR")
        .output()
        .unwrap();
    assert_child_passed(&out);
}

/// Extra headers reach the server in the upgrade request. The development
/// gateway does not show request headers, so a raw server reads the request
/// and accepts it.
#[tokio::test]
async fn extra_headers_are_sent_with_the_upgrade() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let host = listener.local_addr().unwrap().to_string();
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.ends_with(b"\r\n\r\n") {
            let n = socket.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed before the end of the request");
            head.extend_from_slice(&buf[..n]);
        }
        let head = String::from_utf8(head).unwrap();
        let key = head
            .lines()
            .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
            .unwrap()
            .to_owned();
        let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
        socket
            .write_all(
                format!(
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
                     Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
                )
                .as_bytes(),
            )
            .await
            .unwrap();
        (head, socket)
    });
    let ms = within(
        "connect",
        MicroServiceWs::builder(host)
            .tls(false)
            .need_token(false)
            .header("X-Trace-Id", "trace-42")
            .header("Authorization", "Bearer proxy-key")
            .retry_initial_connect(false)
            .connect(),
    )
    .await
    .unwrap();
    let (head, _socket) = within("the request", server).await.unwrap();
    let lower = head.to_ascii_lowercase();
    assert!(lower.contains("\r\nx-trace-id: trace-42\r\n"), "{head}");
    assert!(
        lower.contains("\r\nauthorization: bearer proxy-key\r\n"),
        "{head}"
    );
    assert_eq!(lower.matches("\r\nhost:").count(), 1, "{head}");
    drop(ms);
}

/// A header the handshake writes itself, or one that is not HTTP, is a
/// configuration error naming it, before any attempt.
#[tokio::test]
async fn bad_or_reserved_headers_are_configuration_errors() {
    for (name, value) in [
        ("Sec-WebSocket-Protocol", "x"),
        ("Host", "elsewhere"),
        ("X Bad", "v"),
    ] {
        let err = MicroServiceWs::builder(format!("127.0.0.1:{}", closed_port()))
            .tls(false)
            .need_token(false)
            .header(name, value)
            .connect()
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Config { .. }), "{name}: {err:?}");
        assert!(err.to_string().contains(name), "{err}");
    }
}
