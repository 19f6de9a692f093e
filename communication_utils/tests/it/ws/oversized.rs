//! A message from the gateway over `max_message_size`: discarded as it
//! arrives (never held whole), reported with a typed event, the connection
//! closed with 1009 and replaced; what the gateway sent behind it is
//! delivered, and what the client sends meanwhile arrives once, in order.

use super::support::*;
use ms_utils_communication::ws::{ConnectionState, DisconnectReason, Event};
use ms_utils_dev::gateway::ConnectionEnd;

const LIMIT_BYTES: usize = 64 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_message_is_dropped_and_nothing_around_it_is_lost() {
    let gw = gateway().await;
    gw.faults().record(true);
    let alice = within(
        "connect",
        config(&gw, ALICE).max_message_size(LIMIT_BYTES).connect(),
    )
    .await
    .unwrap();
    let bob = connect(&gw, BOB).await;
    wait_connected(&gw, "alice").await;
    wait_connected(&gw, "bob").await;
    let mut events = alice.events();

    // alice keeps sending to bob while the big message arrives.
    let sender = {
        let alice = alice.clone();
        tokio::spawn(async move {
            for seq in 0..2_000u64 {
                alice
                    .send_task_to_ms(
                        "bob",
                        "r",
                        &format!("j{seq}"),
                        serde_json::json!({ "seq": seq }),
                    )
                    .await
                    .unwrap();
                if seq % 100 == 0 {
                    tokio::task::yield_now().await;
                }
            }
        })
    };

    let big = format!(
        r#"{{"event":"big","pad":"{}"}}"#,
        "x".repeat(3 * LIMIT_BYTES)
    );
    gw.faults()
        .send_raw_text("alice", r#"{"event":"before"}"#)
        .await
        .unwrap();
    gw.faults()
        .send_raw_text("alice", big.clone())
        .await
        .unwrap();
    gw.faults()
        .send_raw_text("alice", r#"{"event":"after"}"#)
        .await
        .unwrap();

    assert_eq!(next(&alice).await.event(), Some("before"));
    assert_eq!(next(&alice).await.event(), Some("after"));

    let (too_big, disconnected) = within("events", async {
        let mut too_big = None;
        loop {
            match events.recv().await.unwrap() {
                Event::MessageTooBig { size, limit } => too_big = Some((size, limit)),
                Event::Disconnected { reason } => return (too_big, reason),
                _ => {}
            }
        }
    })
    .await;
    assert_eq!(too_big, Some((big.len() as u64, LIMIT_BYTES)));
    assert_eq!(disconnected, DisconnectReason::MessageTooBig);
    assert!(disconnected.is_handover());

    within("sender", sender).await.unwrap();
    for expected in 0..2_000u64 {
        let msg = next(&bob).await;
        assert_eq!(
            msg.data().unwrap()["data"]["seq"].as_u64(),
            Some(expected),
            "lost, repeated or reordered"
        );
    }
    let stats = alice.stats();
    assert_eq!(stats.messages_too_big, 1);
    assert_eq!(
        stats.resent, 0,
        "the 1009 close was answered: nothing to repeat"
    );
    // The old connection ended with our close frame (1009), cleanly.
    let conns = gw.faults().recorded("alice");
    assert!(
        conns.len() >= 2,
        "a new connection after the 1009: {}",
        conns.len()
    );
    assert_eq!(conns[0].end, ConnectionEnd::ClientClose);
    assert_eq!(conns[0].close_code, Some(1009), "closed as too big");
    wait_state(&mut alice.state(), ConnectionState::is_connected).await;
    // And the new connection works both ways.
    gw.faults()
        .send_raw_text("alice", r#"{"event":"again"}"#)
        .await
        .unwrap();
    assert_eq!(next(&alice).await.event(), Some("again"));
}
