//! Passwords and tokens never reach the gateway's log lines.

use super::*;

// current_thread (the default): every gateway task runs on this thread, so
// the thread-local subscriber sees all their events.
#[tokio::test]
async fn no_log_line_carries_a_password_or_a_token() {
    let (capture, _guard) = LogCapture::on_this_thread("ms_utils_dev=trace");

    let gw = gateway().await;
    assert_eq!(login(&gw, "alice", "wrong-secret-pw").await.status(), 401);
    let token = token(&gw, "alice").await;
    let mut ws = connect(&gw, "alice").await;
    send_json(&mut ws, json!({"event": "bench-echo", "data": 1})).await;
    next_json(&mut ws).await;
    let refused = format!("{}x", gw.ws_url(&token));
    assert!(tokio_tungstenite::connect_async(refused).await.is_err());
    gw.faults().close_all_now();
    timeout(WAIT, gw.faults().wait_for(|c| c.open_connections == 0))
        .await
        .unwrap();
    drop(gw);

    let logs = capture.text();
    assert!(
        logs.contains("login accepted"),
        "events were captured:\n{logs}"
    );
    for secret in ["alice-pw", "wrong-secret-pw", token.as_str()] {
        assert!(!logs.contains(secret), "{secret} leaked into:\n{logs}");
    }
    // Not even a fragment of the token's signature.
    let sig = token.rsplit('.').next().unwrap();
    assert!(!logs.contains(&sig[..16]));
}
