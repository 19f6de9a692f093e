//! Nothing accepted is lost or reordered across reconnects, and repeats or
//! possible losses are counted, by delivery mode.
//!
//! What "lost" can mean here. The protocol has no acknowledgements: a
//! successful websocket write only says the bytes reached the client's
//! kernel. When the gateway drops a connection abruptly (`close_user`, as a
//! crashed gateway would), frames its kernel had already received but its
//! session had not read yet are discarded. The client confirms delivery with
//! pings (a pong comes only after everything before the ping was read), so
//! it knows which frames are unconfirmed at a drop: at least once, it writes
//! them again (nothing lost, repeats counted); at most once, it reports them
//! (never repeated, losses counted). Under graceful closes (a close frame,
//! then read until the client's end) everything arrives once, in order.

use std::time::Duration;

use super::support::*;
use ms_utils_communication::ws::{DeliveryMode, MicroServiceWs};
use ms_utils_dev::gateway::DevGateway;
use tokio_util::sync::CancellationToken;

/// How the gateway ends alice's connection every 50 ms.
#[derive(Clone, Copy, Debug)]
enum Cut {
    /// Dropped without a close frame: frames in flight may vanish.
    Abrupt,
    /// A close frame, then read until the client's end.
    Graceful,
}

/// alice sends `n` tasks to bob while the gateway cuts her connection every
/// 50 ms; returns the sequence numbers bob received, the number of cuts and
/// of end markers sent.
async fn send_under_drops(
    gw: &DevGateway,
    alice: &MicroServiceWs,
    bob: &MicroServiceWs,
    n: u64,
    cut: Cut,
) -> (Vec<u64>, u32, u64) {
    // bob reads all along: a bob that read only at the end would fill his
    // buffers, then the gateway's queue to him, and the gateway would stop
    // reading alice (pongs too: her end marker's receipt would wait forever).
    let receiver = {
        let bob = bob.clone();
        tokio::spawn(async move {
            let mut got = Vec::new();
            loop {
                let msg = next(&bob).await;
                let seq = msg.data().unwrap()["data"]["seq"].as_u64().unwrap();
                if seq == n {
                    return got;
                }
                got.push(seq);
            }
        })
    };
    let stop = CancellationToken::new();
    let dropper = {
        let (faults, stop) = (gw.faults(), stop.clone());
        tokio::spawn(async move {
            let mut drops = 0u32;
            loop {
                tokio::select! {
                    () = stop.cancelled() => return drops,
                    () = tokio::time::sleep(Duration::from_millis(50)) => {}
                }
                // Outside the select: a graceful close cancelled halfway
                // would leave a connection marked closing without its
                // close frame.
                drops += match cut {
                    Cut::Abrupt => faults.close_user("alice"),
                    Cut::Graceful => faults.close_user_gracefully("alice").await,
                } as u32;
            }
        })
    };
    let sender = {
        let alice = alice.clone();
        tokio::spawn(async move {
            for seq in 0..n {
                alice
                    .send_task_to_ms(
                        "bob",
                        "ref",
                        &format!("job-{seq}"),
                        serde_json::json!({ "seq": seq }),
                    )
                    .await
                    .unwrap();
                // Spread the sends over many drop periods.
                if seq % 100 == 99 {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        })
    };
    // 10,000 sends through a close every 50 ms: seconds on an idle
    // machine, more under a loaded CI runner's parallel tests.
    within_for("sender", Duration::from_secs(90), sender)
        .await
        .unwrap();
    stop.cancel();
    let drops = dropper.await.unwrap();
    // An end marker, sent once the drops have stopped. The last cut may
    // still be under way (the gateway ends a dropped session after
    // `close_user` returns), so at most once the marker can be written on a
    // connection about to go: its receipt hands it back, and it is sent again.
    let mut markers = 0;
    loop {
        markers += 1;
        let marker = serde_json::json!({"event": "ms-send-task", "data": {
            "to": "bob", "workflowId": "ref", "referenceId": "ref", "jobId": "end",
            "data": { "seq": n }}});
        let receipt = alice.send_with_receipt(marker).await.unwrap();
        match within("the end marker's receipt", receipt).await {
            Ok(()) => break,
            Err(e) if e.undelivered().is_some() => continue,
            Err(e) => panic!("{e:?}"),
        }
    }
    let got = within("bob's messages", receiver).await.unwrap();
    (got, drops, markers)
}

/// After the end marker: nothing more at most once (but a marker sent again
/// whose first copy the gateway had read after all); at least once, only
/// repeats (a cut that overlapped the marker leaves it, and the tail before
/// it, unconfirmed, so they are written again), each counted in `resent`.
async fn check_nothing_after_the_end(
    bob: &MicroServiceWs,
    mode: DeliveryMode,
    n: u64,
    resent: u64,
    markers: u64,
) {
    let mut extras = 0u64;
    let mut extra_markers = 0u64;
    while let Ok(extra) = tokio::time::timeout(Duration::from_millis(200), bob.receive()).await {
        let seq = extra.unwrap().data().unwrap()["data"]["seq"]
            .as_u64()
            .unwrap();
        if seq == n && extra_markers + 1 < markers {
            extra_markers += 1;
            continue;
        }
        assert_eq!(
            mode,
            DeliveryMode::AtLeastOnce,
            "unexpected extra message {seq}"
        );
        assert!(seq <= n, "a message never sent: {seq}");
        extras += 1;
    }
    assert!(
        extras <= resent,
        "{extras} repeats after the end, {resent} resent"
    );
}

/// Runs `send_under_drops` with abrupt cuts for a client in `mode`.
/// (The gateway comes back too: dropping it would end alice's connection.)
async fn abrupt_drops(mode: DeliveryMode) -> (Vec<u64>, MicroServiceWs, DevGateway, u64) {
    const N: u64 = 10_000;
    let gw = gateway().await;
    let bob = connect(&gw, BOB).await;
    let alice = config(&gw, ALICE).delivery(mode).connect().await.unwrap();
    wait_connected(&gw, "alice").await;
    wait_connected(&gw, "bob").await;
    let (got, drops, markers) = send_under_drops(&gw, &alice, &bob, N, Cut::Abrupt).await;
    assert!(
        drops >= 3,
        "the connection must be cut several times, got {drops}"
    );
    assert!(alice.stats().reconnects >= 3, "{:?}", alice.stats());
    check_nothing_after_the_end(&bob, mode, N, alice.stats().resent, markers).await;
    (got, alice, gw, markers)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abrupt_drops_at_least_once_lose_nothing_and_count_every_repeat() {
    const N: u64 = 10_000;
    let (got, alice, _gw, markers) = abrupt_drops(DeliveryMode::AtLeastOnce).await;
    let stats = alice.stats();
    // Every message arrives; a repeat only ever goes back to an unconfirmed
    // tail, so the first arrivals are in send order.
    let mut seen = std::collections::BTreeSet::new();
    let firsts: Vec<u64> = got.iter().copied().filter(|s| seen.insert(*s)).collect();
    assert_eq!(firsts, (0..N).collect::<Vec<_>>(), "missing or reordered");
    let repeats = (got.len() - firsts.len()) as u64;
    assert!(repeats <= stats.resent, "{repeats} repeats, {stats:?}");
    assert_eq!(markers, 1, "at least once a receipt waits for the rewrite");
    assert_eq!(stats.messages_out, N + 1 + stats.resent, "{stats:?}");
    assert_eq!(stats.possibly_lost, 0);
    println!("{repeats} repeats, {} resent", stats.resent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abrupt_drops_at_most_once_never_repeat_and_report_every_loss() {
    const N: u64 = 10_000;
    let (got, alice, _gw, markers) = abrupt_drops(DeliveryMode::AtMostOnce).await;
    let stats = alice.stats();
    assert!(got.windows(2).all(|w| w[0] < w[1]), "reordered or doubled");
    // Every frame was written exactly once (plus the end markers); what an
    // abrupt close swallowed is within what was reported as possibly lost.
    assert_eq!(stats.messages_out, N + markers, "{stats:?}");
    assert_eq!(stats.resent, 0);
    let lost = N + markers - 1 - got.len() as u64;
    assert!(lost <= stats.possibly_lost, "{lost} lost, {stats:?}");
    println!(
        "{lost} lost, {} reported possibly lost",
        stats.possibly_lost
    );
}

/// alice (in `mode`) sends 10,000 tasks to bob while the gateway closes her
/// connection gracefully every 50 ms; bounded as a whole.
async fn graceful_cuts(mode: DeliveryMode) -> (Vec<u64>, ms_utils_communication::ws::Stats) {
    const N: u64 = 10_000;
    let run = async {
        let gw = gateway().await;
        let bob = connect(&gw, BOB).await;
        let alice = config(&gw, ALICE).delivery(mode).connect().await.unwrap();
        wait_connected(&gw, "alice").await;
        wait_connected(&gw, "bob").await;
        let (got, drops, markers) = send_under_drops(&gw, &alice, &bob, N, Cut::Graceful).await;
        assert!(
            drops >= 3,
            "the connection must be cut several times, got {drops}"
        );
        assert!(alice.stats().reconnects >= 3, "{:?}", alice.stats());
        check_nothing_after_the_end(&bob, mode, N, alice.stats().resent, markers).await;
        println!(
            "{mode:?}: {N} messages through {drops} graceful cuts, {:?}",
            alice.stats()
        );
        (got, alice.stats())
    };
    // The whole run, not just each wait, is bounded.
    tokio::time::timeout(Duration::from_secs(90), run)
        .await
        .expect("10,000 messages under cuts within 90 s")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_messages_all_arrive_in_order_once_at_most_once_through_graceful_closes() {
    const N: u64 = 10_000;
    let (got, _stats) = graceful_cuts(DeliveryMode::AtMostOnce).await;
    // All of them, in order, none twice: one comparison says all three.
    if got != (0..N).collect::<Vec<_>>() {
        let distinct: std::collections::BTreeSet<u64> = got.iter().copied().collect();
        let missing = N as usize - distinct.len();
        let doubled = got.len() - distinct.len();
        panic!(
            "{} received: {missing} missing, {doubled} doubled, in order: {}",
            got.len(),
            got.windows(2).all(|w| w[0] < w[1])
        );
    }
}

/// A close the gateway starts cannot prove what it read of the last
/// messages, so at least once they are written again: repeats, counted,
/// never a gap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_messages_all_arrive_in_order_at_least_once_through_graceful_closes() {
    const N: u64 = 10_000;
    let (got, stats) = graceful_cuts(DeliveryMode::AtLeastOnce).await;
    let mut seen = std::collections::BTreeSet::new();
    let firsts: Vec<u64> = got.iter().copied().filter(|s| seen.insert(*s)).collect();
    assert_eq!(firsts, (0..N).collect::<Vec<_>>(), "missing or reordered");
    let repeats = (got.len() - firsts.len()) as u64;
    assert!(repeats <= stats.resent, "{repeats} repeats, {stats:?}");
}
