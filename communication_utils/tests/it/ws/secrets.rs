//! Secrets never reach a log line or a Debug output: a connect, a reconnect,
//! a request, a refused login and a close are run with every event captured
//! at TRACE, and the capture is searched for the passwords and the token.

use std::time::Duration;

use super::support::*;
use ms_utils_communication::ws::{ConnectionState, MicroServiceWs};
use ms_utils_dev::testing::{LogCapture, assert_child_passed, assert_in_child, child_test};

/// The base64url header every development-gateway token starts with.
const TOKEN_PREFIX: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

const SECRETS: [&str; 4] = [TOKEN_PREFIX, "alice-pw", "bob-pw", "alice-wrong-pw"];

/// Everything a client logs about: login, connect, a reconnect after the
/// gateway drops every socket, a request that times out, a garbage frame,
/// a refused login, close. Returns the `Debug`/`Display` of what a user
/// might print (config, client, errors).
async fn exercise() -> String {
    let gw = gateway().await;
    let alice_config = config(&gw, ALICE).build().unwrap();
    let alice = within("connect", MicroServiceWs::connect(alice_config.clone()))
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
        config(&gw, ("alice", "alice-wrong-pw")).connect(),
    )
    .await
    .unwrap_err();
    let debug = format!("{alice_config:?} {alice:?} {timeout:?} {wrong:?} {wrong}");
    within("close", alice.close()).await.unwrap();
    drop(bob);
    debug
}

fn assert_no_secret(logs: &str, debug: &str) {
    for secret in SECRETS {
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

/// Our own events, through a bare `tracing` subscriber at TRACE for this
/// crate (this thread only: the test runs on a current-thread runtime).
/// Dependencies' records are the next test's business: the `log` bridge it
/// installs would send them here too, at whatever time it runs.
#[tokio::test]
async fn neither_token_nor_password_appears_in_our_events_errors_or_debug() {
    let (capture, _guard) = LogCapture::on_this_thread("ms_utils_communication=trace");

    let debug = exercise().await;

    let logs = capture.text();
    assert!(
        logs.contains("token=***"),
        "the redacted URI is logged:\n{logs}"
    );
    assert_no_secret(&logs, &debug);
}

/// What a service gets with our logger set up at TRACE for everything:
/// installed process-wide, with `log` bridged, so that dependencies' records
/// (tungstenite logs the whole handshake request, `?token=` included, at
/// TRACE) are captured too. `ms_utils_logging` caps tungstenite's targets at
/// DEBUG unless a directive names them; without that cap this test fails.
/// It runs in a process of its own: the logger is the process's.
#[test]
fn nothing_reaches_a_line_of_our_logger_at_trace_for_every_target() {
    let out = child_test("ws::secrets::our_logger_at_trace_child")
        .output()
        .expect("the test binary runs");
    assert_child_passed(&out);
}

#[tokio::test]
#[ignore = "child half of nothing_reaches_a_line_of_our_logger_at_trace_for_every_target, run by it in a child process"]
async fn our_logger_at_trace_child() {
    assert_in_child();
    let capture = LogCapture::default();
    let guard = ms_utils_logging::Logger::builder()
        .name("ws_secrets")
        .level(tracing::Level::TRACE)
        .env_directives(false)
        .no_file()
        .console_writer(capture.clone())
        .init()
        .expect("the only logger set up in this test binary");

    let debug = exercise().await;
    drop(guard); // writes out every queued line

    let logs = capture.text();
    // The capture really is at TRACE and has dependencies' `log` records.
    assert!(logs.contains("[TRACE]"), "TRACE lines captured:\n{logs}");
    assert!(
        logs.contains("Received close frame"),
        "tungstenite's DEBUG records are bridged in:\n{logs}"
    );
    assert_no_secret(&logs, &debug);
}
