//! The bench commands of [protocol: development gateway](ms_utils_communication::protocol#development-gateway).

use super::*;

#[tokio::test]
async fn bench_echo_replies_with_the_same_data() {
    let gw = gateway().await;
    let mut alice = connect(&gw, "alice").await;
    let data = json!({"t": 12345, "s": "payload", "n": [1, 2, 3]});
    send_json(&mut alice, json!({"event": "bench-echo", "data": data})).await;
    assert_eq!(
        next_json(&mut alice).await,
        json!({"event": "bench-echo-reply", "data": data})
    );
}

#[tokio::test]
async fn bench_flood_sends_count_frames_of_about_size_in_order_then_bench_end() {
    let gw = gateway().await;
    let mut alice = connect(&gw, "alice").await;
    let (count, size) = (20_000u64, 200usize);
    send_json(
        &mut alice,
        json!({"event": "bench-flood", "data": {"count": count, "size": size}}),
    )
    .await;
    for seq in 0..count {
        let frame = timeout(WAIT, alice.next()).await.unwrap().unwrap().unwrap();
        let Message::Text(text) = frame else {
            panic!("text frames only")
        };
        assert!(
            text.len().abs_diff(size) <= 8,
            "frame of {} bytes",
            text.len()
        );
        let v: Value = serde_json::from_str(text.as_str()).unwrap();
        assert_eq!(v["event"], "bench");
        assert_eq!(v["data"]["seq"], seq);
    }
    assert_eq!(
        next_json(&mut alice).await,
        json!({"event": "bench-end", "data": {"count": count}})
    );
}

#[tokio::test]
async fn bench_chunked_sends_one_job_that_reassembles_to_the_blob() {
    let gw = gateway().await;
    let mut alice = connect(&gw, "alice").await;
    let (bytes, chunk) = (3 * 1024 * 1024 + 17, 256 * 1024);
    send_json(
        &mut alice,
        json!({"event": "bench-chunked", "data": {"bytes": bytes, "chunk": chunk}}),
    )
    .await;
    let (whole, largest) = reassemble(&mut alice).await;
    assert_eq!(whole["event"], "bench-payload");
    let blob = whole["data"]["blob"].as_str().unwrap();
    assert_eq!(blob.len(), bytes);
    assert!(blob.is_ascii());
    assert!(largest <= chunk / 3 * 4 + 200, "frame of {largest} bytes");
}
