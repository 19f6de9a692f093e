//! Every accepted message ends in a state the caller can learn: delivered,
//! or handed back by `close()`; `flush()` waits for the writes; dropping the
//! last handle with messages undelivered says so at ERROR.

use std::time::Duration;

use super::support::*;
use ms_utils_communication::ws::{ConnectionState, Error, MicroServiceWs};
use ms_utils_dev::gateway::DevGateway;
use ms_utils_dev::testing::LogCapture;
use serde_json::json;

/// alice, disconnected and unable to log in again until told.
async fn offline_alice(gw: &DevGateway, close_timeout: Duration) -> MicroServiceWs {
    let alice = config(gw, ALICE)
        .close_timeout(close_timeout)
        .connect()
        .await
        .unwrap();
    wait_connected(gw, "alice").await;
    let mut state = alice.state();
    gw.faults().refuse_logins(true);
    gw.faults().close_user("alice");
    wait_state(&mut state, |s| !s.is_connected()).await;
    alice
}

async fn send_tasks(ms: &MicroServiceWs, to: &str, range: std::ops::Range<u64>) {
    for seq in range {
        ms.send_task_to_ms(to, "ref", &format!("job-{seq}"), json!({ "seq": seq }))
            .await
            .unwrap();
    }
}

fn seq_of(text: &str) -> u64 {
    let v: serde_json::Value = serde_json::from_str(text).unwrap();
    v["data"]["data"]["seq"].as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_while_the_gateway_is_unreachable_hands_back_every_message_in_order() {
    let gw = gateway().await;
    let alice = offline_alice(&gw, Duration::from_millis(300)).await;
    send_tasks(&alice, "bob", 0..10).await;
    let err = within("close", alice.close()).await.unwrap_err();
    let Error::Undelivered(undelivered) = err else {
        panic!("expected Undelivered, got {err:?}");
    };
    assert_eq!(undelivered.written(), 0, "none was ever written");
    let seqs: Vec<u64> = undelivered
        .frames()
        .iter()
        .map(|f| seq_of(f.as_text().unwrap()))
        .collect();
    assert_eq!(seqs, (0..10).collect::<Vec<_>>());
    // Only the first close() gets them; the client is closed either way.
    assert!(alice.close().await.is_ok());
    assert!(alice.send(json!({})).await.unwrap_err().is_closed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_while_disconnected_reconnects_and_delivers_everything() {
    let gw = gateway().await;
    let bob = connect(&gw, BOB).await;
    wait_connected(&gw, "bob").await;
    let alice = offline_alice(&gw, Duration::from_secs(10)).await;
    send_tasks(&alice, "bob", 0..20).await;
    let closing = tokio::spawn({
        let alice = alice.clone();
        async move { alice.close().await }
    });
    // close() is now waiting on a client that cannot log in; let it.
    let mut state = alice.state();
    wait_state(
        &mut state,
        |s| matches!(s, ConnectionState::Reconnecting { attempt, .. } if *attempt >= 2),
    )
    .await;
    gw.faults().refuse_logins(false);
    within("close", closing).await.unwrap().unwrap();
    for seq in 0..20 {
        let msg = next(&bob).await;
        assert_eq!(msg.data().unwrap()["data"]["seq"], seq);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_against_a_stalled_gateway_returns_what_it_could_not_write() {
    let gw = gateway().await;
    let alice = config(&gw, ALICE)
        .close_timeout(Duration::from_millis(500))
        .connect()
        .await
        .unwrap();
    wait_connected(&gw, "alice").await;
    gw.faults().stall(true);
    // Far more than the socket buffers hold: 3,000 x 64 KiB.
    let big = "x".repeat(64 * 1024);
    let mut accepted = 0u64;
    for _ in 0..3_000 {
        match alice.try_send(json!({ "event": "bulk", "data": big })) {
            Ok(()) => accepted += 1,
            Err(e) if e.is_queue_full() => break,
            Err(e) => panic!("{e:?}"),
        }
    }
    let err = within("close", alice.close()).await.unwrap_err();
    let undelivered = err.undelivered().expect("Undelivered");
    assert!(!undelivered.is_empty());
    // Some went into socket buffers the gateway never read: they come back
    // first, marked as written.
    assert!(undelivered.written() > 0, "{undelivered:?}");
    // What came back plus what was written accounts for every message.
    let stats = alice.stats();
    assert!(
        stats.messages_out + (undelivered.len() - undelivered.written()) as u64 >= accepted,
        "{accepted} accepted, {stats:?}, {} back",
        undelivered.len()
    );
    gw.faults().stall(false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flush_waits_until_the_messages_are_written() {
    let gw = gateway().await;
    let alice = offline_alice(&gw, Duration::from_secs(5)).await;
    send_tasks(&alice, "nobody", 0..5).await;
    let flush = tokio::spawn({
        let alice = alice.clone();
        async move { alice.flush().await }
    });
    // Offline: the flush cannot complete.
    let early = tokio::time::timeout(Duration::from_millis(200), async {
        while !flush.is_finished() {
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert!(early.is_err(), "flush finished while offline");
    assert_eq!(alice.stats().messages_out, 0);
    gw.faults().refuse_logins(false);
    within("flush", flush).await.unwrap().unwrap();
    assert!(alice.stats().messages_out >= 5, "{:?}", alice.stats());
    alice.close().await.unwrap();
}

#[tokio::test]
async fn dropping_the_last_handle_with_messages_undelivered_logs_an_error_with_the_count() {
    let (capture, _guard) = LogCapture::on_this_thread("ms_utils_communication=error");
    let gw = gateway().await;
    let alice = offline_alice(&gw, Duration::from_millis(200)).await;
    send_tasks(&alice, "bob", 0..7).await;
    let mut state = alice.state();
    drop(alice);
    wait_state(&mut state, |s| s.is_closed()).await;
    let logs = capture.text();
    assert!(
        logs.lines()
            .any(|l| l.contains("ERROR") && l.contains("count=7")),
        "{logs}"
    );
}

/// Written data that no write turn's ping covers (a second turn within 10 ms
/// of the first, under paused time: no time passes between them) gets its
/// ping from the confirmation timer: the unconfirmed count falls to zero
/// without any further write.
#[tokio::test(start_paused = true)]
async fn the_confirmation_timer_covers_a_turn_that_took_no_ping() {
    let gw = gateway().await;
    let alice = connect(&gw, ALICE).await;
    let _bob = connect(&gw, BOB).await;
    wait_connected(&gw, "bob").await;
    for batch in 0..2 {
        for i in 0..3 {
            alice
                .send_task_to_ms("bob", "r", &format!("b{batch}-{i}"), serde_json::json!({}))
                .await
                .unwrap();
        }
        alice.flush().await.unwrap();
    }
    // Looked at every virtual millisecond: the clock moves only while the
    // runtime idles, which a loop of yields would never let it do.
    within_for(
        "confirmed by the timer's ping",
        Duration::from_secs(5),
        async {
            while alice.stats().outbound_unconfirmed > 0 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        },
    )
    .await;
    assert_eq!(alice.stats().outbound_queued, 0);
}

/// close() with a handler overrunning the close timeout and messages the
/// unreachable gateway never got: the timeout error hands them back too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_close_timeout_on_handlers_hands_back_the_undelivered_messages() {
    let gw = gateway().await;
    let bob = connect(&gw, BOB).await;
    let alice = config(&gw, ALICE)
        .close_timeout(Duration::from_millis(300))
        .connect()
        .await
        .unwrap();
    wait_connected(&gw, "alice").await;
    let started = std::sync::Arc::new(tokio::sync::Notify::new());
    let _run = {
        let started = started.clone();
        alice.run(move |_msg: ms_utils_communication::ws::Message| {
            let started = started.clone();
            async move {
                started.notify_one();
                std::future::pending::<()>().await;
                Ok::<(), std::io::Error>(())
            }
        })
    };
    bob.send_task_to_ms("alice", "r", "stuck", 1).await.unwrap();
    within("handler starts", started.notified()).await;
    let mut state = alice.state();
    gw.faults().refuse_logins(true);
    gw.faults().close_user("alice");
    wait_state(&mut state, |s| !s.is_connected()).await;
    send_tasks(&alice, "bob", 0..5).await;
    let err = within("close", alice.close()).await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    let Error::CloseTimeout {
        running,
        undelivered: Some(undelivered),
        ..
    } = &err
    else {
        panic!("expected CloseTimeout with messages, got {err:?}");
    };
    assert_eq!(*running, 1);
    assert_eq!(err.undelivered(), Some(undelivered));
    let seqs: Vec<u64> = undelivered
        .frames()
        .iter()
        .map(|f| seq_of(f.as_text().unwrap()))
        .collect();
    assert_eq!(seqs, (0..5).collect::<Vec<_>>());
}

/// close() on a full queue while disconnected: the connection task is not
/// taking from the queue, so close() wakes it; it takes the queue, then
/// close()'s own command, and hands every message back in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_on_a_full_queue_while_disconnected_still_gets_its_answer() {
    let gw = gateway().await;
    let alice = config(&gw, ALICE)
        .queue_size(4)
        .close_timeout(Duration::from_millis(300))
        .connect()
        .await
        .unwrap();
    wait_connected(&gw, "alice").await;
    let mut state = alice.state();
    gw.faults().refuse_logins(true);
    gw.faults().close_user("alice");
    wait_state(&mut state, |s| !s.is_connected()).await;
    let mut accepted = 0u64;
    loop {
        match alice.try_send(json!({"event": "ms-send-task",
            "data": {"to": "bob", "jobId": "j", "data": {"seq": accepted}}}))
        {
            Ok(()) => accepted += 1,
            Err(e) if e.is_queue_full() => break,
            Err(e) => panic!("{e:?}"),
        }
        assert!(accepted < 1000, "the queue never filled");
    }
    let err = within("close", alice.close()).await.unwrap_err();
    let undelivered = err.undelivered().expect("Undelivered");
    let seqs: Vec<u64> = undelivered
        .frames()
        .iter()
        .map(|f| seq_of(f.as_text().unwrap()))
        .collect();
    assert_eq!(seqs, (0..accepted).collect::<Vec<_>>());
    assert!(alice.send(json!({})).await.unwrap_err().is_closed());
}
