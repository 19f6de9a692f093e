//! Chunked messages through the wire ([protocol: chunking](ms_utils_communication::protocol#chunking)): reassembly of what the
//! gateway chunks, both piece forms, every defect, the bounds, expiry, and
//! sending chunks.

use std::time::Duration;

use super::support::*;
use base64::Engine as _;
use ms_utils_communication::ws::{ChunkDropReason, ChunkLimits, Event, Eviction, MicroServiceWs};
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
async fn next_drop(events: &mut tokio::sync::broadcast::Receiver<Event>) -> ChunkDropReason {
    next_drop_of(events).await.1
}

/// Waits for the next ChunkDropped event and returns its job and reason.
async fn next_drop_of(
    events: &mut tokio::sync::broadcast::Receiver<Event>,
) -> (Option<String>, ChunkDropReason) {
    within("chunk drop event", async {
        loop {
            if let Event::ChunkDropped { job_id, reason } = events.recv().await.unwrap() {
                return (job_id, reason);
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
    assert_eq!(
        next_drop(&mut events).await,
        ChunkDropReason::IndexOutOfRange
    );
    raw(&gw, chunk("changed", 0, 3, b64("x"))).await;
    raw(&gw, chunk("changed", 1, 4, b64("x"))).await;
    assert_eq!(
        next_drop(&mut events).await,
        ChunkDropReason::MaxIndexChanged
    );
    raw(&gw, chunk("bad", 0, 2, "!!! not base64 !!!")).await;
    assert_eq!(next_drop(&mut events).await, ChunkDropReason::BadPiece);
    raw(&gw, chunk("notjson", 0, 1, b64("{oops"))).await;
    assert_eq!(next_drop(&mut events).await, ChunkDropReason::NotJson);
    raw(
        &gw,
        json!({"index": 0, "max_index": 1, "chunk": b64("1")}).to_string(),
    )
    .await;
    assert_eq!(
        next_drop(&mut events).await,
        ChunkDropReason::BadFields { field: "jobId" }
    );

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
async fn chunk_bombs_are_bounded_and_never_lock_out_a_new_job() {
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
    assert_eq!(
        next_drop(&mut events).await,
        ChunkDropReason::TooManyBytes { limit: 1000 }
    );
    // Pending jobs bounded: "huge" and "p2" pending; "p3" evicts "huge",
    // the oldest, and is itself kept.
    raw(&gw, chunk("p2", 0, 2, b64("[2"))).await;
    raw(&gw, chunk("p3", 0, 2, b64("[3"))).await;
    assert_eq!(
        next_drop_of(&mut events).await,
        (
            Some("huge".to_owned()),
            ChunkDropReason::Evicted(Eviction::PendingJobs { limit: 2 })
        )
    );
    raw(&gw, chunk("p3", 1, 2, b64("]"))).await;
    assert_eq!(
        within("message", inbox.recv()).await.unwrap().as_json(),
        Some(&json!([3]))
    );
    let stats = alice.stats();
    assert_eq!(stats.chunk_jobs_pending, 1);
    assert_eq!(stats.chunk_jobs_evicted, 1);
    assert_eq!(stats.chunk_jobs_dropped, 2, "fat and huge");
}

/// Unfinished jobs of another sender cannot hold more than the total cap,
/// however many there are (the issue's 128 jobs of 8 MiB held 1 GB), and a
/// well-formed chunked message still goes through after them.
#[tokio::test]
async fn abandoned_jobs_are_bounded_in_bytes_in_all() {
    let gw = gateway().await;
    let limits = ChunkLimits::default()
        .with_max_job_bytes(4096)
        .with_max_total_bytes(10_000);
    let alice = within("connect", config(&gw, ALICE).chunk_limits(limits).connect())
        .await
        .unwrap();
    wait_connected(&gw, "alice").await;
    let mut events = alice.events();
    let mut inbox = consume(&alice);

    let piece = b64(&"z".repeat(3000));
    for i in 0..8 {
        raw(&gw, chunk(&format!("abandoned{i}"), 0, 2, piece.clone())).await;
    }
    // 8 x 3000 bytes against 10,000: the five oldest are evicted in order.
    for i in 0..5 {
        assert_eq!(
            next_drop_of(&mut events).await,
            (
                Some(format!("abandoned{i}")),
                ChunkDropReason::Evicted(Eviction::PendingBytes { limit: 10_000 })
            )
        );
    }
    let whole = json!({"event": "ms-task", "data": {"n": 42}}).to_string();
    let (a, b) = whole.split_at(10);
    raw(&gw, chunk("good", 0, 2, b64(a))).await;
    raw(&gw, chunk("good", 1, 2, b64(b))).await;
    let msg = within("message", inbox.recv()).await.unwrap();
    assert_eq!(msg.data().unwrap()["n"], 42);
    let stats = alice.stats();
    assert!(stats.chunk_bytes_pending <= 10_000, "{stats:?}");
    assert_eq!(stats.chunk_jobs_evicted, stats.chunk_jobs_dropped);
    assert!(stats.chunk_jobs_evicted >= 5, "{stats:?}");
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
    assert_eq!(next_drop(&mut events).await, ChunkDropReason::Expired);
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
    assert_eq!(reason, ChunkDropReason::Expired);
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
