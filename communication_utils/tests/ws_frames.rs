//! Odd frames from the gateway: not JSON, binary, JSON that is not an object.
//! None of them drops the connection.

mod common;

use common::*;
use communication_utils::ws::{Event, Message};

#[tokio::test]
async fn garbage_binary_and_non_object_frames_are_handled_and_the_connection_stays() {
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
        Message::Binary(bytes::Bytes::from_static(&[0, 159, 146, 150]))
    );
    assert_eq!(
        next(&alice).await,
        Message::Json(serde_json::json!([1, 2, 3]))
    );
    assert_eq!(
        next(&alice).await,
        Message::Json(serde_json::json!("just a string"))
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
