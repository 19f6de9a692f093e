//! Nothing accepted is reordered or doubled across reconnects, and a frame
//! whose write failed is written again.
//!
//! What "lost" can mean here: the development gateway's `close_user` drops a
//! connection abruptly, discarding frames that its kernel had already
//! acknowledged but its session had not read yet. No client can see that loss
//! (the protocol has no acknowledgements; the write succeeded), so the strict
//! "all 10,000 arrive" test needs a gateway fault that closes gracefully
//! (close frame, then reading until the client's end); it is kept below,
//! ignored, until the development gateway has one.

mod common;

use std::time::Duration;

use common::*;
use communication_utils::dev::gateway::DevGateway;
use communication_utils::ws::MicroServiceWs;
use tokio_util::sync::CancellationToken;

/// alice sends `n` tasks to bob while the gateway drops her connection every
/// 50 ms; returns the sequence numbers bob received and the number of drops.
async fn send_under_drops(
    gw: &DevGateway,
    alice: &MicroServiceWs,
    bob: &MicroServiceWs,
    n: u64,
) -> (Vec<u64>, u32) {
    let stop = CancellationToken::new();
    let dropper = {
        let (faults, stop) = (gw.faults(), stop.clone());
        tokio::spawn(async move {
            let mut drops = 0u32;
            loop {
                tokio::select! {
                    () = stop.cancelled() => return drops,
                    () = tokio::time::sleep(Duration::from_millis(50)) => drops += faults.close_user("alice") as u32,
                }
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
    within("sender", sender).await.unwrap();
    stop.cancel();
    let drops = dropper.await.unwrap();
    // An end marker, sent once the drops have stopped, so it cannot be swallowed.
    alice
        .send_task_to_ms("bob", "ref", "end", serde_json::json!({ "seq": n }))
        .await
        .unwrap();
    let mut got = Vec::new();
    loop {
        let msg = next(bob).await;
        let seq = msg.data().unwrap()["data"]["seq"].as_u64().unwrap();
        if seq == n {
            break;
        }
        got.push(seq);
    }
    (got, drops)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_stay_in_order_and_are_never_doubled_across_repeated_drops() {
    const N: u64 = 10_000;
    let gw = gateway().await;
    let bob = connect(&gw, BOB).await;
    let alice = connect(&gw, ALICE).await;
    wait_connected(&gw, "bob").await;
    let (got, drops) = send_under_drops(&gw, &alice, &bob, N).await;
    assert!(
        drops >= 3,
        "the connection must be cut several times, got {drops}"
    );
    assert!(alice.stats().reconnects >= 3, "{:?}", alice.stats());
    assert!(got.windows(2).all(|w| w[0] < w[1]), "reordered or doubled");
    // Every frame was written successfully exactly once (plus the end marker):
    // none was dropped by the client, none written twice. What an abrupt close
    // swallowed had been accepted by the gateway's kernel.
    assert_eq!(alice.stats().messages_out, N + 1);
    let lost = N as usize - got.len();
    println!("{drops} drops, {lost} frames swallowed by abrupt closes");
    let extra = tokio::time::timeout(Duration::from_millis(200), bob.receive()).await;
    assert!(extra.is_err(), "unexpected extra message {extra:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a graceful close fault in DevGateway: close_user drops frames its kernel already acknowledged"]
async fn ten_thousand_messages_all_arrive_in_order_while_the_sender_is_dropped_every_50ms() {
    const N: u64 = 10_000;
    let gw = gateway().await;
    let bob = connect(&gw, BOB).await;
    let alice = connect(&gw, ALICE).await;
    wait_connected(&gw, "bob").await;
    let (got, drops) = send_under_drops(&gw, &alice, &bob, N).await;
    assert!(drops >= 3);
    assert_eq!(got, (0..N).collect::<Vec<_>>());
}
