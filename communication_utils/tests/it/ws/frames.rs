//! Odd frames from the gateway: not JSON, binary, JSON that is not an object.
//! None of them drops the connection.

use super::support::*;
use ms_utils_communication::ws::{Event, Message};
use ms_utils_dev::testing::LogCapture;

#[tokio::test]
async fn garbage_binary_and_non_object_frames_are_handled_and_the_connection_stays() {
    // A subscriber of this thread's own (tracing rebuilds the callsites'
    // interest when it is set, whatever other tests hit them before).
    let (capture, _guard) = LogCapture::on_this_thread("ms_utils_communication=warn");
    let gw = gateway().await;
    let alice = connect(&gw, ALICE).await;
    wait_connected(&gw, "alice").await;
    let mut events = alice.events();
    let faults = gw.faults();

    faults
        .send_raw_text("alice", "this is {not json")
        .await
        .unwrap();
    faults
        .send_raw_binary("alice", vec![0u8, 159, 146, 150])
        .await
        .unwrap();
    faults.send_raw_text("alice", "[1, 2, 3]").await.unwrap();
    faults
        .send_raw_text("alice", "\"just a string\"")
        .await
        .unwrap();
    faults
        .send_raw_text("alice", "x".repeat(10_000))
        .await
        .unwrap();
    faults
        .send_raw_text("alice", r#"{"event":"ok"}"#)
        .await
        .unwrap();

    // The garbage is dropped; the rest arrives in order.
    assert_eq!(
        next(&alice).await,
        Message::binary(bytes::Bytes::from_static(&[0, 159, 146, 150]))
    );
    assert_eq!(
        next(&alice).await,
        Message::json(serde_json::json!([1, 2, 3]))
    );
    assert_eq!(
        next(&alice).await,
        Message::json(serde_json::json!("just a string"))
    );
    assert_eq!(next(&alice).await.event(), Some("ok"));
    assert_eq!(alice.stats().frames_dropped, 2);
    let dropped = within("event", async {
        loop {
            if let Event::FrameDropped { len } = events.recv().await.unwrap() {
                return len;
            }
        }
    })
    .await;
    assert_eq!(dropped, 17);
    assert!(alice.is_connected());
    assert_eq!(gw.faults().connections(), 1, "never reconnected");
    // Each dropped frame is logged, cut to its first 500 characters: a huge
    // garbage frame does not become a huge log line.
    let logs = capture.text();
    let dropped: Vec<&str> = logs.lines().filter(|l| l.contains("not JSON")).collect();
    assert_eq!(dropped.len(), 2, "{logs}");
    assert!(dropped[0].contains("this is {not json"), "{}", dropped[0]);
    let long = dropped[1];
    assert!(long.contains(&"x".repeat(500)), "{long}");
    assert!(!long.contains(&"x".repeat(501)), "{long}");
}

#[tokio::test]
async fn a_frame_over_the_max_message_size_is_refused_before_queueing() {
    let gw = gateway().await;
    let alice = within(
        "connect",
        config(&gw, ALICE).max_message_size(1000).connect(),
    )
    .await
    .unwrap();
    let err = alice
        .send(serde_json::json!({"blob": "x".repeat(2000)}))
        .await
        .unwrap_err();
    assert!(err.is_too_large(), "{err:?}");
    let err = alice
        .try_send(serde_json::json!({"blob": "x".repeat(2000)}))
        .unwrap_err();
    assert!(err.is_too_large(), "{err:?}");
    assert_eq!(alice.stats().messages_out, 0);
    alice
        .send(serde_json::json!({"event": "bench-echo", "data": 1}))
        .await
        .unwrap();
    assert_eq!(next(&alice).await.event(), Some("bench-echo-reply"));
}

/// `send_text` writes the text as it is: the gateway routes it like any
/// message (here, a task whose JSON was built by hand).
#[tokio::test]
async fn send_text_sends_the_text_as_is() {
    let gw = gateway().await;
    let alice = connect(&gw, ALICE).await;
    let bob = connect(&gw, BOB).await;
    wait_connected(&gw, "bob").await;
    alice
        .send_text(r#"{"event":"ms-send-task","data":{"to":"bob","jobId":"by-hand","data":[1,2]}}"#)
        .await
        .unwrap();
    let msg = next(&bob).await;
    assert_eq!(msg.job_id(), Some("by-hand"));
    assert_eq!(msg.data().unwrap()["data"], serde_json::json!([1, 2]));
}

/// `send_binary` writes one binary frame with exactly those bytes.
#[tokio::test]
async fn send_binary_writes_one_binary_frame() {
    let gw = gateway().await;
    gw.faults().record(true);
    let alice = connect(&gw, ALICE).await;
    let payload: Vec<u8> = (0..=255u8).chain([0, 0, 255]).collect();
    alice.send_binary(payload.clone()).await.unwrap();
    alice
        .send(serde_json::json!({"event": "after"}))
        .await
        .unwrap();
    alice.flush().await.unwrap();
    within("close", alice.close()).await.unwrap();
    let conns = gw.faults().recorded("alice");
    let binary: Vec<&[u8]> = conns
        .iter()
        .flat_map(|c| c.binary_frames.iter().map(|b| b.as_ref()))
        .collect();
    assert_eq!(binary, [payload.as_slice()]);
    assert!(
        conns
            .iter()
            .any(|c| c.frames.iter().any(|f| f.contains("after")))
    );
}
