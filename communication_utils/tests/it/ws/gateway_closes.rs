//! Delivery through the closes a gateway makes during a rolling deploy: a
//! close frame (1001), then reading for a grace period while the client's
//! next connection is already served. What the gateway read is taken from
//! its per-connection record, in arrival order.

use std::collections::BTreeSet;
use std::time::Duration;

use super::support::*;
use ms_utils_communication::ws::{DeliveryMode, Event, MicroServiceWs};
use ms_utils_dev::gateway::{DEFAULT_CLOSE_GRACE, DevGateway};
use serde_json::json;
use tokio_util::sync::CancellationToken;

/// Closes alice's connection with a grace period every `every` until stopped;
/// returns how many closes.
fn close_every(
    gw: &DevGateway,
    every: Duration,
) -> (CancellationToken, tokio::task::JoinHandle<u32>) {
    let stop = CancellationToken::new();
    let faults = gw.faults();
    let task = tokio::spawn({
        let stop = stop.clone();
        async move {
            let mut closes = 0;
            loop {
                tokio::select! {
                    () = stop.cancelled() => return closes,
                    () = tokio::time::sleep(every) => {}
                }
                closes += faults.close_user_with_grace("alice", DEFAULT_CLOSE_GRACE) as u32;
            }
        }
    });
    (stop, task)
}

/// The `seq` of every soak message the gateway read from alice, in order.
fn read_by_gateway(gw: &DevGateway) -> Vec<u64> {
    gw.faults()
        .recorded_texts("alice")
        .iter()
        .filter_map(|t| serde_json::from_str::<serde_json::Value>(t).ok())
        .filter(|v| v["event"] == "soak")
        .filter_map(|v| v["data"]["seq"].as_u64())
        .collect()
}

/// Missing and out-of-order counts over the first arrivals, and repeats.
fn tally(read: &[u64], n: u64) -> (u64, u64, u64) {
    let mut seen = BTreeSet::new();
    let firsts: Vec<u64> = read.iter().copied().filter(|s| seen.insert(*s)).collect();
    let missing = n - firsts.len() as u64;
    let out_of_order = firsts.windows(2).filter(|w| w[0] > w[1]).count() as u64;
    let repeats = (read.len() - firsts.len()) as u64;
    (missing, out_of_order, repeats)
}

async fn soak_client(gw: &DevGateway, mode: DeliveryMode) -> MicroServiceWs {
    gw.faults().record(true);
    let alice = config(gw, ALICE)
        .delivery(mode)
        .close_timeout(Duration::from_secs(15))
        .connect()
        .await
        .unwrap();
    wait_connected(gw, "alice").await;
    alice
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paced_sends_through_closes_every_50ms_then_close_lose_nothing() {
    const N: u64 = 2_000;
    let gw = gateway().await;
    let alice = soak_client(&gw, DeliveryMode::AtLeastOnce).await;
    let (stop, closer) = close_every(&gw, Duration::from_millis(50));
    // The original's pace: about 1,450 messages a second.
    let mut tick = tokio::time::interval(Duration::from_micros(690));
    for seq in 0..N {
        tick.tick().await;
        alice
            .send(json!({"event": "soak", "data": {"seq": seq}}))
            .await
            .unwrap();
    }
    // Closed while the gateway is still closing connections: close() must
    // deliver the tail anyway.
    within("close", alice.close()).await.unwrap();
    stop.cancel();
    let closes = closer.await.unwrap();
    assert!(closes >= 5, "{closes} closes");
    let read = read_by_gateway(&gw);
    let (missing, out_of_order, repeats) = tally(&read, N);
    let stats = alice.stats();
    assert_eq!(
        (missing, out_of_order),
        (0, 0),
        "{closes} closes, {stats:?}"
    );
    assert!(repeats <= stats.resent, "{repeats} repeats, {stats:?}");
}

/// 100,000 messages at full speed while the gateway closes every 50 ms.
async fn flood_through_closes(
    mode: DeliveryMode,
) -> (u64, u64, u64, u64, ms_utils_communication::ws::Stats) {
    const N: u64 = 100_000;
    let gw = gateway().await;
    let alice = soak_client(&gw, mode).await;
    let mut events = alice.events();
    let (stop, closer) = close_every(&gw, Duration::from_millis(50));
    for seq in 0..N {
        alice
            .send(json!({"event": "soak", "data": {"seq": seq}}))
            .await
            .unwrap();
        // Half-way, a close has happened: the flood crosses at least one.
        if seq == N / 2 {
            within("a gateway close during the flood", async {
                while !matches!(events.recv().await, Ok(Event::Disconnected { .. })) {}
            })
            .await;
        }
    }
    alice.flush().await.unwrap();
    stop.cancel();
    let closes = u64::from(closer.await.unwrap());
    assert!(closes >= 1, "no close during the flood");
    assert!(alice.stats().reconnects >= 1, "{:?}", alice.stats());
    within("close", alice.close()).await.unwrap();
    let read = read_by_gateway(&gw);
    let (missing, out_of_order, repeats) = tally(&read, N);
    println!(
        "{mode:?}: {closes} closes, {missing} missing, {out_of_order} out of order, {repeats} repeats, {:?}",
        alice.stats()
    );
    (missing, out_of_order, repeats, closes, alice.stats())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_through_closes_every_50ms_at_least_once_loses_and_reorders_nothing() {
    let (missing, out_of_order, repeats, _closes, stats) =
        flood_through_closes(DeliveryMode::AtLeastOnce).await;
    assert_eq!((missing, out_of_order), (0, 0), "{stats:?}");
    assert!(repeats <= stats.resent, "{repeats} repeats, {stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_through_closes_every_50ms_at_most_once_reports_every_loss() {
    let (missing, out_of_order, repeats, _closes, stats) =
        flood_through_closes(DeliveryMode::AtMostOnce).await;
    assert_eq!((out_of_order, repeats), (0, 0), "{stats:?}");
    assert!(
        missing <= stats.possibly_lost,
        "{missing} missing, {stats:?}"
    );
}
