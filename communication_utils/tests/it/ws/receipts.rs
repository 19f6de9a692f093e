//! Receipts and volatile messages against the development gateway with
//! real faults: a receipt resolves once the gateway has confirmed its
//! message (a pong after it, or the answer to our close) and fails,
//! handing the message back, once the client gives it up; a volatile
//! message goes out on the connection open when it is sent, or not at all.

use std::time::Duration;

use super::support::*;
use ms_utils_communication::ws::{DeliveryMode, Event, MicroServiceWs, Receipt};
use ms_utils_dev::gateway::DevGateway;
use serde_json::{Value, json};
use tokio::sync::broadcast::{self, error::RecvError};

/// The task alice sends to `to` with sequence number `seq`.
fn task(to: &str, seq: u64) -> Value {
    json!({"event": "ms-send-task",
        "data": {"to": to, "jobId": format!("job-{seq}"), "data": {"seq": seq}}})
}

/// The sequence number inside a message handed back.
fn seq_of(text: &str) -> u64 {
    let v: Value = serde_json::from_str(text).unwrap();
    v["data"]["data"]["seq"].as_u64().unwrap()
}

/// The sequence number of the next message bob receives.
async fn next_seq(bob: &MicroServiceWs) -> u64 {
    next(bob).await.data().unwrap()["data"]["seq"]
        .as_u64()
        .unwrap()
}

/// A failed receipt's message, as (sequence number, written).
async fn handed_back(receipt: Receipt) -> (u64, bool) {
    let err = within("the receipt fails", receipt).await.unwrap_err();
    let back = err
        .undelivered()
        .expect("the receipt hands its message back");
    assert_eq!(back.len(), 1, "{back:?}");
    (
        seq_of(back.frames()[0].as_text().unwrap()),
        back.written() == 1,
    )
}

/// bob, and alice in `mode`, both connected.
async fn pair(gw: &DevGateway, mode: DeliveryMode) -> (MicroServiceWs, MicroServiceWs) {
    let bob = connect(gw, BOB).await;
    let alice = within("connect", config(gw, ALICE).delivery(mode).connect())
        .await
        .unwrap();
    wait_connected(gw, "alice").await;
    wait_connected(gw, "bob").await;
    (alice, bob)
}

/// alice, disconnected and unable to log in again until told.
async fn offline_alice(gw: &DevGateway, close_timeout: Duration) -> MicroServiceWs {
    let alice = within(
        "connect",
        config(gw, ALICE).close_timeout(close_timeout).connect(),
    )
    .await
    .unwrap();
    wait_connected(gw, "alice").await;
    let mut state = alice.state();
    gw.faults().refuse_logins(true);
    gw.faults().close_user("alice");
    wait_state(&mut state, |s| !s.is_connected()).await;
    alice
}

/// Waits for the client's next `Disconnected` event (an event, not the
/// state: a client that reconnects at once may be `Connected` again before
/// a state watcher looks).
async fn disconnected(events: &mut broadcast::Receiver<Event>) {
    within("the disconnect", async {
        loop {
            match events.recv().await {
                Ok(Event::Disconnected { .. }) => return,
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => panic!("the client ended"),
            }
        }
    })
    .await;
}

async fn send_with_receipts(
    ms: &MicroServiceWs,
    to: &str,
    seqs: std::ops::Range<u64>,
) -> Vec<Receipt> {
    let mut receipts = Vec::new();
    for seq in seqs {
        receipts.push(ms.send_with_receipt(task(to, seq)).await.unwrap());
    }
    receipts
}

/// `flush` answers once the message is written; its receipt only once the
/// gateway has read it (here: once it reads again).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flush_answers_on_the_write_and_the_receipt_on_the_gateways_confirmation() {
    let gw = gateway().await;
    let (alice, bob) = pair(&gw, DeliveryMode::AtLeastOnce).await;
    gw.faults().stall(true);
    let mut receipt = alice.send_with_receipt(task("bob", 0)).await.unwrap();
    within("flush", alice.flush()).await.unwrap();
    let early = tokio::time::timeout(Duration::from_millis(300), &mut receipt).await;
    assert!(early.is_err(), "confirmed by a stalled gateway: {early:?}");
    gw.faults().stall(false);
    within("the receipt", receipt).await.unwrap();
    assert_eq!(next_seq(&bob).await, 0);
}

/// A reset without a close frame, at least once: the unconfirmed messages
/// are written again on the next connection, and their receipts resolve
/// then; nothing is missing or out of order at bob.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_least_once_receipts_wait_through_a_reset_and_resolve_after_the_rewrite() {
    let gw = gateway().await;
    let (alice, bob) = pair(&gw, DeliveryMode::AtLeastOnce).await;
    let mut events = alice.events();
    gw.faults().stall(true);
    let receipts = send_with_receipts(&alice, "bob", 0..20).await;
    within("flush", alice.flush()).await.unwrap();
    assert_eq!(gw.faults().abort_user("alice"), 1);
    disconnected(&mut events).await;
    gw.faults().stall(false);
    for receipt in receipts {
        within("a receipt", receipt).await.unwrap();
    }
    let stats = alice.stats();
    assert!(stats.resent >= 20, "{stats:?}");
    assert_eq!(stats.possibly_lost, 0, "{stats:?}");
    let mut firsts = Vec::new();
    while firsts.len() < 20 {
        let seq = next_seq(&bob).await;
        if !firsts.contains(&seq) {
            firsts.push(seq);
        }
    }
    assert_eq!(firsts, (0..20).collect::<Vec<_>>());
}

/// A reset at most once: the written, unconfirmed messages are not written
/// again; each receipt fails handing its own message back, marked written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_most_once_a_reset_fails_each_unconfirmed_receipt_handing_its_message_back() {
    let gw = gateway().await;
    let (alice, _bob) = pair(&gw, DeliveryMode::AtMostOnce).await;
    gw.faults().stall(true);
    let receipts = send_with_receipts(&alice, "bob", 0..5).await;
    within("flush", alice.flush()).await.unwrap();
    assert_eq!(gw.faults().abort_user("alice"), 1);
    for (seq, receipt) in receipts.into_iter().enumerate() {
        assert_eq!(handed_back(receipt).await, (seq as u64, true));
    }
    gw.faults().stall(false);
    let stats = alice.stats();
    assert_eq!(stats.possibly_lost, 5, "{stats:?}");
    assert_eq!(stats.resent, 0, "{stats:?}");
}

/// The gateway closes alice's connection with a close frame (a deploy)
/// four times while she sends with receipts, each time with messages in
/// flight: every receipt resolves, every message arrives, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_receipt_resolves_through_gateway_close_frames() {
    const N: u64 = 2_000;
    let gw = gateway().await;
    let (alice, bob) = pair(&gw, DeliveryMode::AtLeastOnce).await;
    let base = gw.faults().connections();
    let receiver = tokio::spawn(async move {
        let mut firsts = Vec::new();
        while firsts.len() < N as usize {
            let seq = next_seq(&bob).await;
            if !firsts.contains(&seq) {
                firsts.push(seq);
            }
        }
        (firsts, bob)
    });
    let mut receipts = Vec::new();
    let mut cuts = 0;
    for seq in 0..N {
        receipts.push(alice.send_with_receipt(task("bob", seq)).await.unwrap());
        if seq % 400 == 200 {
            // alice's newest connection is open at the gateway: close it.
            let faults = gw.faults();
            within(
                "alice's next connection",
                faults.wait_for(|c| c.connections >= base + cuts),
            )
            .await;
            cuts += within("a graceful close", faults.close_user_gracefully("alice")).await as u64;
        }
    }
    assert_eq!(cuts, 5, "the gateway closed {cuts} times");
    // bob stays connected meanwhile: repeats for a bob gone would come
    // back to alice as `ms-error`s, fill her inbound buffer (nobody reads
    // it here) and stop her reading the socket, pongs included.
    let (firsts, _bob) = within("bob's messages", receiver).await.unwrap();
    for receipt in receipts {
        within("a receipt", receipt).await.unwrap();
    }
    assert_eq!(firsts, (0..N).collect::<Vec<_>>(), "missing or reordered");
    assert!(alice.stats().reconnects >= 5, "{:?}", alice.stats());
}

/// A `close()` the gateway answers resolves every receipt; none is left
/// waiting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_close_the_gateway_answers_resolves_every_receipt() {
    let gw = gateway().await;
    let (alice, bob) = pair(&gw, DeliveryMode::AtLeastOnce).await;
    let receipts = send_with_receipts(&alice, "bob", 0..200).await;
    within("close", alice.close()).await.unwrap();
    for receipt in receipts {
        within("a receipt", receipt).await.unwrap();
    }
    for seq in 0..200 {
        assert_eq!(next_seq(&bob).await, seq);
    }
}

/// `close()` while the gateway is unreachable hands every message back,
/// and each receipt fails handing its own back, never written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_while_unreachable_fails_each_receipt_with_what_it_hands_back() {
    let gw = gateway().await;
    let alice = offline_alice(&gw, Duration::from_millis(300)).await;
    let receipts = send_with_receipts(&alice, "bob", 0..3).await;
    let err = within("close", alice.close()).await.unwrap_err();
    let back = err.undelivered().expect("close hands the messages back");
    let seqs: Vec<u64> = back
        .frames()
        .iter()
        .map(|f| seq_of(f.as_text().unwrap()))
        .collect();
    assert_eq!(seqs, [0, 1, 2]);
    for (seq, receipt) in receipts.into_iter().enumerate() {
        assert_eq!(handed_back(receipt).await, (seq as u64, false));
    }
}

/// `close()` against a stalled gateway: what was written and never
/// confirmed comes back marked written, in `close()`'s error and in each
/// receipt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_against_a_stalled_gateway_fails_the_written_receipts_as_written() {
    let gw = gateway().await;
    let alice = within(
        "connect",
        config(&gw, ALICE)
            .close_timeout(Duration::from_millis(300))
            .connect(),
    )
    .await
    .unwrap();
    wait_connected(&gw, "alice").await;
    gw.faults().stall(true);
    let receipts = send_with_receipts(&alice, "bob", 0..4).await;
    within("flush", alice.flush()).await.unwrap();
    let err = within("close", alice.close()).await.unwrap_err();
    let back = err.undelivered().expect("close hands the messages back");
    assert_eq!((back.len(), back.written()), (4, 4), "{back:?}");
    for (seq, receipt) in receipts.into_iter().enumerate() {
        assert_eq!(handed_back(receipt).await, (seq as u64, true));
    }
    gw.faults().stall(false);
}

/// While disconnected a volatile message is refused at once, and nothing
/// of it is left for `close()`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_volatile_send_while_disconnected_is_refused_and_never_queued() {
    let gw = gateway().await;
    let alice = offline_alice(&gw, Duration::from_millis(300)).await;
    let err = alice
        .send_volatile(task("bob", 0))
        .await
        .expect_err("refused while disconnected");
    assert!(err.is_not_connected(), "{err:?}");
    assert!(err.is_transient(), "{err:?}");
    assert_eq!(alice.stats().outbound_queued, 0);
    within("close", alice.close()).await.unwrap();
}

/// On a healthy connection a volatile message goes through, and its
/// receipt resolves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_volatile_message_goes_out_on_the_open_connection() {
    let gw = gateway().await;
    let (alice, bob) = pair(&gw, DeliveryMode::AtLeastOnce).await;
    let receipt = alice.send_volatile(task("bob", 7)).await.unwrap();
    within("the receipt", receipt).await.unwrap();
    assert_eq!(next_seq(&bob).await, 7);
    assert_eq!(alice.stats().volatile_dropped, 0);
}

/// At least once, a reset: the ordinary message is written again, the
/// volatile one (written, unconfirmed) is not; its receipt hands it back
/// marked written, and bob never sees it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_volatile_message_written_before_a_reset_is_never_written_again() {
    let gw = gateway().await;
    let (alice, bob) = pair(&gw, DeliveryMode::AtLeastOnce).await;
    let mut events = alice.events();
    gw.faults().stall(true);
    let volatile = alice.send_volatile(task("bob", 1)).await.unwrap();
    let ordinary = alice.send_with_receipt(task("bob", 2)).await.unwrap();
    within("flush", alice.flush()).await.unwrap();
    assert_eq!(gw.faults().abort_user("alice"), 1);
    disconnected(&mut events).await;
    gw.faults().stall(false);
    assert_eq!(handed_back(volatile).await, (1, true));
    within("the ordinary receipt", ordinary).await.unwrap();
    // An end marker: everything before it has arrived when it does.
    within(
        "the end marker",
        alice.send_with_receipt(task("bob", 3)).await.unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(next_seq(&bob).await, 2);
    assert_eq!(next_seq(&bob).await, 3);
    let stats = alice.stats();
    assert_eq!((stats.resent, stats.possibly_lost), (1, 1), "{stats:?}");
}

/// A volatile message still waiting behind others when its connection is
/// reset is dropped unwritten, counted, and handed back; the others are
/// delivered on the next connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_volatile_message_unwritten_at_a_reset_is_dropped_and_handed_back() {
    let gw = gateway().await;
    let (alice, _bob) = pair(&gw, DeliveryMode::AtLeastOnce).await;
    let mut events = alice.events();
    gw.faults().stall(true);
    // 12.8 MB ahead of it: far more than the write window (4 MiB) and a
    // write turn let out while the gateway reads nothing.
    let big = "x".repeat(64 * 1024);
    for _ in 0..200 {
        alice
            .send(json!({"event": "bulk", "data": big}))
            .await
            .unwrap();
    }
    let volatile = alice.send_volatile(task("bob", 9)).await.unwrap();
    assert_eq!(gw.faults().abort_user("alice"), 1);
    disconnected(&mut events).await;
    gw.faults().stall(false);
    assert_eq!(handed_back(volatile).await, (9, false));
    assert_eq!(alice.stats().volatile_dropped, 1, "{:?}", alice.stats());
    within("flush", alice.flush()).await.unwrap();
    within("close", alice.close()).await.unwrap();
    assert!(alice.stats().messages_out >= 200, "{:?}", alice.stats());
}

/// What `close()` does not hand back: a volatile message is given up, not
/// returned for a later send.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_gives_volatile_messages_up_instead_of_handing_them_back() {
    let gw = gateway().await;
    let alice = within(
        "connect",
        config(&gw, ALICE)
            .close_timeout(Duration::from_millis(300))
            .connect(),
    )
    .await
    .unwrap();
    wait_connected(&gw, "alice").await;
    gw.faults().stall(true);
    let volatile = alice.send_volatile(task("bob", 0)).await.unwrap();
    let ordinary = alice.send_with_receipt(task("bob", 1)).await.unwrap();
    within("flush", alice.flush()).await.unwrap();
    let err = within("close", alice.close()).await.unwrap_err();
    assert!(!err.is_timeout(), "{err:?}");
    let back = err
        .undelivered()
        .expect("close hands the ordinary one back");
    let seqs: Vec<u64> = back
        .frames()
        .iter()
        .map(|f| seq_of(f.as_text().unwrap()))
        .collect();
    assert_eq!(seqs, [1]);
    assert_eq!(handed_back(volatile).await, (0, true));
    assert_eq!(handed_back(ordinary).await, (1, true));
    assert_eq!(alice.stats().possibly_lost, 1, "{:?}", alice.stats());
    gw.faults().stall(false);
}
