//! Logging in ([protocol: login](ms_utils_communication::protocol#login)): success, refused credentials, transient 5xx.

use std::time::Duration;

use super::support::*;
use ms_utils_communication::ws::{ConnectionState, MicroServiceWs, ReconnectPolicy, login_url};

#[tokio::test]
async fn login_ok_connects_and_the_gateway_sees_the_user() {
    let gw = gateway().await;
    let ms = connect(&gw, ALICE).await;
    assert!(ms.is_connected());
    assert_eq!(*ms.state().borrow(), ConnectionState::Connected);
    wait_connected(&gw, "alice").await;
    assert_eq!(gw.faults().logins(), 1);
}

#[tokio::test]
async fn wrong_password_fails_fast_with_a_typed_error() {
    let gw = gateway().await;
    let started = tokio::time::Instant::now();
    let err = within("connect", config(&gw, ("alice", "wrong")).connect())
        .await
        .unwrap_err();
    assert!(err.is_bad_credentials(), "{err:?}");
    assert!(!err.is_transient());
    let ms_utils_communication::ws::Error::BadCredentials { status, body, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(*status, 401);
    assert_eq!(err.status(), Some(401));
    assert_eq!(err.url(), Some(login_url(false, &gw.host()).as_str()));
    // The gateway's answer travels with the error, for the operator to read.
    let body: serde_json::Value = serde_json::from_str(body).expect("the JSON body, whole");
    assert_eq!(body["statusCode"], 401, "{body}");
    assert_eq!(body["message"], "Unauthorized", "{body}");
    // Not retried: one attempt, well under the first backoff of a default policy.
    assert_eq!(gw.faults().counters().login_attempts, 1);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        !format!("{err:?} {err}").contains("wrong"),
        "password leaked into the error"
    );
}

#[tokio::test]
async fn login_answered_500_is_retried_until_the_gateway_recovers() {
    let gw = gateway().await;
    let faults = gw.faults();
    faults.login_status(Some(500));
    let connecting = tokio::spawn(config(&gw, ALICE).connect());
    within(
        "three failed logins",
        faults.wait_for(|c| c.login_attempts >= 3),
    )
    .await;
    faults.login_status(None);
    let ms = within("connect", connecting)
        .await
        .unwrap()
        .expect("connects once logins work");
    assert!(ms.is_connected());
}

#[tokio::test]
async fn login_500_is_transient_and_reported_when_retries_are_off() {
    let gw = gateway().await;
    gw.faults().login_status(Some(503));
    let err = within(
        "connect",
        config(&gw, ALICE).retry_initial_connect(false).connect(),
    )
    .await
    .unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    assert!(!err.is_bad_credentials());
    let ms_utils_communication::ws::Error::LoginUnavailable { status, body, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(*status, 503);
    assert_eq!(err.url(), Some(login_url(false, &gw.host()).as_str()));
    assert!(body.contains("injected login failure"), "{body}");
}

#[tokio::test]
async fn max_attempts_bounds_the_initial_retries() {
    let gw = gateway().await;
    gw.faults().login_status(Some(500));
    let err = within(
        "connect",
        config(&gw, ALICE)
            .reconnect(
                ReconnectPolicy::new(Duration::from_millis(1), Duration::from_millis(2))
                    .with_max_attempts(Some(3)),
            )
            .connect(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            ms_utils_communication::ws::Error::GaveUp { attempts: 3, .. }
        ),
        "{err:?}"
    );
    assert_eq!(gw.faults().counters().login_attempts, 3);
}

#[tokio::test]
async fn nothing_listening_is_a_transient_connect_error() {
    let gw = gateway().await;
    let host = gw.host();
    gw.shutdown().await;
    let err = within(
        "connect",
        MicroServiceWs::builder(host.clone())
            .tls(false)
            .credentials("a", "b")
            .retry_initial_connect(false)
            .connect(),
    )
    .await
    .unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    // Where it went and why: a refused connection to the login URL.
    assert!(err.is_connect(), "{err:?}");
    assert!(!err.is_timeout() && !err.is_tls(), "{err:?}");
    assert_eq!(err.url(), Some(login_url(false, &host).as_str()));
    assert!(
        std::error::Error::source(&err).is_none(),
        "the cause is in the message, said once"
    );
}

/// Without a login (no token needed), a refused connection is the
/// websocket's, with its URL.
#[tokio::test]
async fn nothing_listening_for_the_websocket_is_a_connect_error() {
    let gw = gateway().await;
    let host = gw.host();
    gw.shutdown().await;
    let err = within(
        "connect",
        MicroServiceWs::builder(host.clone())
            .tls(false)
            .need_token(false)
            .retry_initial_connect(false)
            .connect(),
    )
    .await
    .unwrap_err();
    assert!(err.is_connect() && err.is_transient(), "{err:?}");
    assert!(
        matches!(err, ms_utils_communication::ws::Error::Connect { .. }),
        "{err:?}"
    );
    assert_eq!(
        err.url(),
        Some(ms_utils_communication::ws::redacted_ws_uri(false, &host, "", false).as_str())
    );
}

#[tokio::test]
async fn without_token_the_upgrade_needs_an_anonymous_gateway() {
    let gw = ms_utils_dev::gateway::DevGateway::builder()
        .allow_anonymous(true)
        .start()
        .await
        .unwrap();
    let ms = within(
        "connect",
        MicroServiceWs::builder(gw.host())
            .tls(false)
            .need_token(false)
            .connect(),
    )
    .await
    .unwrap();
    assert!(ms.is_connected());
    assert_eq!(gw.faults().logins(), 0);

    let strict = gateway().await;
    let err = within(
        "connect",
        MicroServiceWs::builder(strict.host())
            .tls(false)
            .need_token(false)
            .retry_initial_connect(false)
            .connect(),
    )
    .await
    .unwrap_err();
    assert!(
        err.is_bad_credentials(),
        "a refused upgrade is a credentials error: {err:?}"
    );
}

/// A host that is not `name[:port]` fails at once, with a configuration
/// error, although retrying is on (the default): no attempt, no backoff.
/// Paused time makes "at once" exact: any backoff would move the clock.
#[tokio::test(start_paused = true)]
async fn a_malformed_host_fails_at_once_without_retrying() {
    for host in [
        "",
        "ws://gateway.example:443",
        "gateway.example/path",
        "user@gateway.example",
        "gate way",
    ] {
        let started = tokio::time::Instant::now();
        let err = within(
            "connect",
            MicroServiceWs::builder(host)
                .credentials("a", "b")
                .connect(),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(err, ms_utils_communication::ws::Error::Config { .. }),
            "{host:?}: {err:?}"
        );
        assert!(!err.is_transient(), "{host:?}: {err:?}");
        assert_eq!(started.elapsed(), Duration::ZERO, "{host:?} was retried");
    }
    // A port that is not a port passes the shape check but makes no URL:
    // a configuration error too, also at once.
    for host in ["127.0.0.1:99999", "127.0.0.1:http"] {
        let started = tokio::time::Instant::now();
        let err = within(
            "connect",
            MicroServiceWs::builder(host)
                .tls(false)
                .credentials("a", "b")
                .connect(),
        )
        .await
        .unwrap_err();
        assert!(err.is_config(), "{host:?}: {err:?}");
        assert!(!err.is_transient(), "{host:?}: {err:?}");
        assert_eq!(started.elapsed(), Duration::ZERO, "{host:?} was retried");
    }
}

/// Nothing listening is a transport failure: with retries on (the default)
/// it is retried with backoff until `max_attempts`, then reported with the
/// last failure. Paused time shows the waits without spending them.
#[tokio::test]
async fn a_transport_failure_is_retried_with_backoff_by_default() {
    let gw = gateway().await;
    let host = gw.host();
    gw.shutdown().await;
    tokio::time::pause();
    let policy = ReconnectPolicy::new(Duration::from_millis(500), Duration::from_secs(30))
        .with_max_attempts(Some(5));
    let started = tokio::time::Instant::now();
    let err = within(
        "connect",
        MicroServiceWs::builder(host.clone())
            .tls(false)
            .credentials(ALICE.0, ALICE.1)
            .reconnect(policy.clone())
            .connect(),
    )
    .await
    .unwrap_err();
    let ms_utils_communication::ws::Error::GaveUp { attempts, last } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(*attempts, 5);
    assert!(last.is_transient(), "{last:?}");
    assert!(
        err.is_connect(),
        "the last attempt's kind shows through: {err:?}"
    );
    assert_eq!(err.url(), Some(login_url(false, &host).as_str()));
    // Four waits between five attempts, each under its ceiling
    // (0.5 + 0.75 + 1.125 + 1.6875 s), and not all of them nothing (full jitter).
    let waited = started.elapsed();
    let most: Duration = (1..=4).map(|a| policy.ceiling(a)).sum();
    assert!(
        waited > Duration::ZERO && waited <= most,
        "{waited:?} of {most:?}"
    );
}

/// A listener that accepts connections and never answers: what a stalled
/// gateway (or a firewall that swallows packets after the handshake) does.
async fn silent_listener() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let host = listener.local_addr().unwrap().to_string();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            open.push(socket); // read nothing, answer nothing
        }
    });
    (host, held)
}

/// The websocket upgrade never answered: the attempt ends at
/// `connect_timeout` with an error that names the URL, as every connect
/// error does.
#[tokio::test]
async fn a_websocket_that_stalls_ends_at_the_connect_timeout_naming_the_url() {
    let (host, held) = silent_listener().await;
    let err = within(
        "connect",
        MicroServiceWs::builder(host.clone())
            .tls(false)
            .need_token(false)
            .connect_timeout(Duration::from_millis(300))
            .retry_initial_connect(false)
            .connect(),
    )
    .await
    .unwrap_err();
    assert!(err.is_timeout() && err.is_transient(), "{err:?}");
    assert!(err.url().is_some_and(|u| u.contains(&host)), "{err:?}");
    held.abort();
}

/// A login endpoint that accepts the connection and never answers: the
/// attempt ends at `login_timeout`, as a transient timeout.
#[tokio::test]
async fn a_login_that_stalls_ends_at_the_login_timeout() {
    let (host, held) = silent_listener().await;
    let started = std::time::Instant::now();
    let err = within(
        "connect",
        MicroServiceWs::builder(host.clone())
            .tls(false)
            .credentials(ALICE.0, ALICE.1)
            .login_timeout(Duration::from_millis(300))
            .retry_initial_connect(false)
            .connect(),
    )
    .await
    .unwrap_err();
    assert!(err.is_timeout() && err.is_transient(), "{err:?}");
    assert!(!err.is_bad_credentials(), "{err:?}");
    assert!(err.url().is_some_and(|u| u.contains(&host)), "{err:?}");
    assert!(started.elapsed() >= Duration::from_millis(300));
    held.abort();
}
