//! Secrets never reach a log line or a Debug output: every tracing event of a
//! connect, a reconnect, requests and close is captured at TRACE and searched.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use communication_utils::ws::ConnectionState;

/// The base64url header every development-gateway token starts with.
const TOKEN_PREFIX: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn neither_token_nor_password_appears_in_logs_errors_or_debug() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let gw = gateway().await;
    let config = config(&gw, ALICE).build().unwrap();
    let alice = within(
        "connect",
        communication_utils::ws::MicroServiceWs::connect(config.clone()),
    )
    .await
    .unwrap();
    let bob = connect(&gw, BOB).await;
    wait_connected(&gw, "bob").await;
    let mut state = alice.state();
    gw.faults().close_all_now();
    wait_state(&mut state, |s| !s.is_connected()).await;
    wait_state(&mut state, ConnectionState::is_connected).await;
    let timeout = alice
        .request("bob", "j", 1, Duration::from_millis(50))
        .await
        .unwrap_err();
    gw.faults()
        .send_raw_text("alice", "not json")
        .await
        .unwrap();
    let wrong = within(
        "connect",
        config_with_password(&gw, "alice-wrong-pw").connect(),
    )
    .await
    .unwrap_err();
    let debug = format!("{config:?} {alice:?} {timeout:?} {wrong:?} {wrong}");
    within("close", alice.close()).await.unwrap();
    drop(bob);

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("token=***"),
        "the redacted URI is logged:\n{logs}"
    );
    for secret in [TOKEN_PREFIX, "alice-pw", "bob-pw", "alice-wrong-pw"] {
        assert!(
            !logs.contains(secret),
            "{secret} leaked into the logs:\n{logs}"
        );
        assert!(
            !debug.contains(secret),
            "{secret} leaked into Debug/Display: {debug}"
        );
    }
}

fn config_with_password(
    gw: &communication_utils::dev::gateway::DevGateway,
    pw: &str,
) -> communication_utils::ws::WsConfigBuilder {
    config(gw, ("alice", pw))
}
