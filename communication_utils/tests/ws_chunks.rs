//! Chunked messages through the wire (PROTOCOL §3.1): reassembly of what the
//! gateway chunks, both piece forms, every defect, the bounds, expiry, and
//! sending chunks.

mod common;

use std::time::Duration;

use base64::Engine as _;
use common::*;
use ms_utils_communication::ws::{ChunkLimits, Event, MicroServiceWs};
use serde_json::{Value, json};

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn chunk(
    job: &str,
    index: impl Into<Value>,
    max: impl Into<Value>,
    piece: impl Into<Value>,
) -> String {
    json!({"jobId": job, "index": index.into(), "max_index": max.into(), "chunk": piece.into()})
        .to_string()
}

/// Waits for the next ChunkDropped event and returns its reason.
async fn next_drop(events: &mut tokio::sync::broadcast::Receiver<Event>) -> String {
    within("chunk drop event", async {
        loop {
            if let Event::ChunkDropped { reason, .. } = events.recv().await.unwrap() {
                return reason;
            }
        }
    })
    .await
}

/// Consumes `ms`'s messages in the background (frames are parsed, and chunks
/// reassembled, as they are consumed).
fn consume(
    ms: &MicroServiceWs,
) -> tokio::sync::mpsc::UnboundedReceiver<ms_utils_communication::ws::Message> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let ms = ms.clone();
    tokio::spawn(async move {
        while let Ok(m) = ms.receive().await {
            if tx.send(m).is_err() {
                return;
            }
        }
    });
    rx
}

async fn raw(gw: &ms_utils_dev::gateway::DevGateway, text: String) {
    gw.faults().send_raw_text("alice", text).await.unwrap();
}

#[tokio::test]
async fn a_large_task_chunked_by_the_gateway_arrives_whole() {
    let gw = gateway().await;
    let alice = connect(&gw, ALICE).await;
    let bob = connect(&gw, BOB).await;
    wait_connected(&gw, "alice").await;
    let blob = "é".repeat(600 * 1024); // 1.2 MB of UTF-8, over the 768 KiB threshold
    bob.send_task_to_ms("alice", "r", "big", json!({ "blob": &blob }))
        .await
        .unwrap();
    let msg = next(&alice).await;
    assert_eq!(msg.job_id(), Some("big"));
    assert_eq!(msg.data().unwrap()["data"]["blob"].as_str().unwrap(), blob);
    assert_eq!(gw.faults().counters().tasks_chunked, 1);
    let stats = alice.stats();
    assert_eq!(stats.chunk_jobs_completed, 1);
    assert_eq!(stats.chunk_jobs_pending, 0);
    assert!(stats.messages_in >= 3, "came as several frames: {stats:?}");
}

#[tokio::test]
async fn send_chunked_carries_a_message_larger_than_a_frame() {
    let gw = gateway().await;
    let alice = within(
        "connect",
        config(&gw, ALICE).chunk_piece_size(100 * 1024).connect(),
    )
    .await
    .unwrap();
    let bob = connect(&gw, BOB).await;
    wait_connected(&gw, "bob").await;
    let blob = "z".repeat(3 << 20);
    let task = json!({"event": "ms-send-task", "data": {"to": "bob", "workflowId": "r", "referenceId": "r", "jobId": "j-big", "data": {"blob": &blob}}});
    alice.send_chunked(&task).await.unwrap();
    let msg = next(&bob).await;
    assert_eq!(msg.job_id(), Some("j-big"));
    assert_eq!(
        msg.data().unwrap()["data"]["blob"].as_str().unwrap().len(),
        blob.len()
    );
    assert!(alice.stats().messages_out >= 30, "{:?}", alice.stats());
}

#[tokio::test]
async fn both_piece_forms_string_indices_and_duplicates() {
    let gw = gateway().await;
    let alice = connect(&gw, ALICE).await;
    wait_connected(&gw, "alice").await;
    let text = r#"{"event":"whole","data":[1,2,3]}"#;
    let (a, b) = text.split_at(10);
    let buffer = json!({"type": "Buffer", "data": b.as_bytes()});
    // Index as a numeric string, a Node Buffer piece, a repeated index.
    raw(&gw, chunk("j1", "1", "2", buffer.clone())).await;
    raw(&gw, chunk("j1", "1", "2", buffer)).await;
    raw(&gw, chunk("j1", 0, 2, b64(a))).await;
    let msg = next(&alice).await;
    assert_eq!(msg.event(), Some("whole"));
    assert_eq!(msg.data(), Some(&json!([1, 2, 3])));
    let stats = alice.stats();
    assert_eq!(
        (
            stats.chunks_ignored,
            stats.chunk_jobs_dropped,
            stats.chunk_jobs_completed
        ),
        (1, 0, 1)
    );
}

#[tokio::test]
async fn defective_jobs_are_dropped_counted_and_reported() {
    let gw = gateway().await;
    let alice = connect(&gw, ALICE).await;
    wait_connected(&gw, "alice").await;
    let mut events = alice.events();
    let mut inbox = consume(&alice);

    raw(&gw, chunk("range", 5, 2, b64("x"))).await;
    assert!(next_drop(&mut events).await.contains("out of range"));
    raw(&gw, chunk("changed", 0, 3, b64("x"))).await;
    raw(&gw, chunk("changed", 1, 4, b64("x"))).await;
    assert!(next_drop(&mut events).await.contains("max_index changed"));
    raw(&gw, chunk("bad", 0, 2, "!!! not base64 !!!")).await;
    assert!(next_drop(&mut events).await.contains("neither base64"));
    raw(&gw, chunk("notjson", 0, 1, b64("{oops"))).await;
    assert!(next_drop(&mut events).await.contains("not JSON"));
    raw(
        &gw,
        json!({"index": 0, "max_index": 1, "chunk": b64("1")}).to_string(),
    )
    .await;
    assert!(next_drop(&mut events).await.contains("jobId"));

    // After all that the connection carries on.
    raw(&gw, r#"{"event":"still-here"}"#.to_owned()).await;
    assert_eq!(
        within("message", inbox.recv()).await.unwrap().event(),
        Some("still-here")
    );
    // Four jobs killed; the chunk without a jobId had no job to kill.
    assert_eq!(alice.stats().chunk_jobs_dropped, 4);
    assert_eq!(alice.stats().chunks_ignored, 1);
    assert_eq!(alice.stats().chunk_jobs_pending, 0);
    assert!(alice.is_connected());
}

#[tokio::test]
async fn chunk_bombs_are_bounded() {
    let gw = gateway().await;
    let limits = ChunkLimits::default()
        .with_max_job_bytes(1000)
        .with_max_pending_jobs(2);
    let alice = within("connect", config(&gw, ALICE).chunk_limits(limits).connect())
        .await
        .unwrap();
    wait_connected(&gw, "alice").await;
    let mut events = alice.events();
    let mut inbox = consume(&alice);

    // A huge max_index costs nothing up front.
    raw(&gw, chunk("huge", 0, 4_000_000_000u64, b64("x"))).await;
    // Bytes over the per-job limit.
    raw(&gw, chunk("fat", 0, 3, b64(&"y".repeat(800)))).await;
    raw(&gw, chunk("fat", 1, 3, b64(&"y".repeat(800)))).await;
    assert!(next_drop(&mut events).await.contains("exceeds the limit"));
    // Pending jobs bounded: "huge" and "p2" pending, "p3" refused.
    raw(&gw, chunk("p2", 0, 2, b64("x"))).await;
    raw(&gw, chunk("p3", 0, 2, b64("x"))).await;
    assert!(
        next_drop(&mut events)
            .await
            .contains("partial jobs already pending")
    );
    raw(&gw, r#"{"event":"sync"}"#.to_owned()).await;
    assert_eq!(
        within("message", inbox.recv()).await.unwrap().event(),
        Some("sync")
    );
    assert_eq!(alice.stats().chunk_jobs_pending, 2);
}

#[tokio::test]
async fn partial_jobs_expire_after_their_ttl() {
    let gw = gateway().await;
    let limits = ChunkLimits::default().with_ttl(Duration::from_millis(100));
    let alice: MicroServiceWs =
        within("connect", config(&gw, ALICE).chunk_limits(limits).connect())
            .await
            .unwrap();
    wait_connected(&gw, "alice").await;
    let mut events = alice.events();
    raw(&gw, chunk("late", 0, 2, b64("x"))).await;
    raw(&gw, r#"{"event":"sync"}"#.to_owned()).await;
    assert_eq!(next(&alice).await.event(), Some("sync"));
    assert_eq!(alice.stats().chunk_jobs_pending, 1);
    assert_eq!(next_drop(&mut events).await, "expired");
    assert_eq!(alice.stats().chunk_jobs_pending, 0);
    assert_eq!(alice.stats().chunk_jobs_dropped, 1);
    // The last chunk coming after expiry starts a new job rather than completing one.
    raw(&gw, chunk("late", 1, 2, b64("y"))).await;
    raw(&gw, r#"{"event":"sync2"}"#.to_owned()).await;
    assert_eq!(next(&alice).await.event(), Some("sync2"));
}

/// The default TTL (5 minutes), under paused time: a partial job is still
/// held a second before its TTL and dropped when it passes, measured from
/// its first chunk.
#[tokio::test]
async fn a_partial_job_expires_after_the_default_five_minutes() {
    let gw = gateway().await;
    let alice = connect(&gw, ALICE).await;
    wait_connected(&gw, "alice").await;
    let mut events = alice.events();
    tokio::time::pause();
    let sent = tokio::time::Instant::now();
    raw(&gw, chunk("slow", 0, 2, b64("x"))).await;
    raw(&gw, r#"{"event":"sync"}"#.to_owned()).await;
    assert_eq!(next(&alice).await.event(), Some("sync"));
    let arrived = tokio::time::Instant::now();
    assert_eq!(alice.stats().chunk_jobs_pending, 1);

    tokio::time::sleep_until(sent + Duration::from_secs(299)).await;
    assert_eq!(alice.stats().chunk_jobs_pending, 1, "dropped too early");
    let reason = tokio::time::timeout(Duration::from_secs(600), next_drop(&mut events))
        .await
        .expect("expired within 10 minutes of paused time");
    let dropped = tokio::time::Instant::now();
    assert_eq!(reason, "expired");
    assert!(
        dropped >= sent + Duration::from_secs(300),
        "{:?}",
        dropped - sent
    );
    assert!(
        dropped <= arrived + Duration::from_secs(301),
        "{:?}",
        dropped - arrived
    );
    assert_eq!(alice.stats().chunk_jobs_pending, 0);
    assert_eq!(alice.stats().chunk_jobs_dropped, 1);
}
