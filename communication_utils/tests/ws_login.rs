//! Logging in (PROTOCOL §1): success, refused credentials, transient 5xx.

mod common;

use std::time::Duration;

use common::*;
use communication_utils::ws::{ConnectionState, MicroServiceWs, ReconnectPolicy};

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
    let communication_utils::ws::Error::BadCredentials { status, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(*status, 401);
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
    assert!(
        matches!(
            err,
            communication_utils::ws::Error::LoginUnavailable { status: 503, .. }
        ),
        "{err:?}"
    );
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
            communication_utils::ws::Error::GaveUp { attempts: 3, .. }
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
        MicroServiceWs::builder(host)
            .tls(false)
            .credentials("a", "b")
            .retry_initial_connect(false)
            .connect(),
    )
    .await
    .unwrap_err();
    assert!(err.is_transient(), "{err:?}");
}

#[tokio::test]
async fn without_token_the_upgrade_needs_an_anonymous_gateway() {
    let gw = communication_utils::dev::gateway::DevGateway::builder()
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
