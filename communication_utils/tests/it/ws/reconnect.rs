//! Reconnecting: after the gateway closes every socket, with backoff, with a
//! fresh login each time.

use std::time::Duration;

use super::support::*;
use ms_utils_communication::ws::{
    ConnectionState, DisconnectReason, Event, MicroServiceWs, ReconnectPolicy,
};

#[tokio::test]
async fn reconnects_after_the_gateway_closes_every_socket_and_logs_in_again() {
    let gw = gateway().await;
    let alice = connect(&gw, ALICE).await;
    let bob = connect(&gw, BOB).await;
    wait_connected(&gw, "bob").await;
    let mut state = alice.state();
    let mut events = alice.events();
    let logins_before = gw.faults().logins();

    assert_eq!(gw.faults().close_all_now(), 2);
    wait_state(&mut state, |s| {
        matches!(s, ConnectionState::Reconnecting { .. })
    })
    .await;
    wait_state(&mut state, ConnectionState::is_connected).await;
    within(
        "bob back",
        gw.faults().wait_for(|c| c.open_connections == 2),
    )
    .await;
    // One fresh login per reconnect, for each client.
    assert!(gw.faults().logins() >= logins_before + 2);
    within("disconnected event", async {
        while !matches!(events.recv().await.unwrap(), Event::Disconnected { .. }) {}
    })
    .await;

    alice
        .send_task_to_ms("bob", "r", "after-reconnect", serde_json::json!(1))
        .await
        .unwrap();
    let msg = next(&bob).await;
    assert_eq!(msg.job_id(), Some("after-reconnect"));
    assert!(alice.stats().reconnects >= 1);
}

#[tokio::test]
async fn messages_sent_while_disconnected_are_written_after_the_reconnect() {
    let gw = gateway().await;
    let bob = connect(&gw, BOB).await;
    let alice = connect(&gw, ALICE).await;
    wait_connected(&gw, "bob").await;
    // Logins fail for a while: alice stays disconnected, her sends queue up.
    gw.faults().login_status(Some(500));
    gw.faults().close_user("alice");
    let mut state = alice.state();
    wait_state(&mut state, |s| !s.is_connected()).await;
    for i in 0..20 {
        alice
            .send_task_to_ms("bob", "r", &format!("j{i}"), i)
            .await
            .unwrap();
    }
    within(
        "failed logins",
        gw.faults().wait_for(|c| c.login_attempts >= 4),
    )
    .await;
    gw.faults().login_status(None);
    for i in 0..20 {
        assert_eq!(next(&bob).await.job_id(), Some(format!("j{i}").as_str()));
    }
}

#[tokio::test]
async fn a_dead_gateway_is_detected_by_keepalive() {
    let gw = gateway().await;
    let alice = within(
        "connect",
        config(&gw, ALICE)
            .keepalive(Duration::from_millis(100), Duration::from_millis(100))
            .connect(),
    )
    .await
    .unwrap();
    let mut events = alice.events();
    // A stalled gateway keeps the socket open but answers nothing.
    gw.faults().stall(true);
    let mut state = alice.state();
    wait_state(&mut state, |s| !s.is_connected()).await;
    let reason = within("disconnected event", async {
        loop {
            if let Event::Disconnected { reason } = events.recv().await.unwrap() {
                return reason;
            }
        }
    })
    .await;
    assert!(reason.is_keepalive_timeout(), "{reason}");
    gw.faults().stall(false);
    wait_state(&mut state, ConnectionState::is_connected).await;
}

/// Backoff under paused time: the delays published on the state watch follow
/// the policy (full jitter under a growing ceiling), and the attempts are
/// spaced by them.
#[tokio::test]
async fn reconnect_delays_follow_the_backoff_policy() {
    let gw = ms_utils_dev::gateway::DevGateway::builder()
        .allow_anonymous(true)
        .start()
        .await
        .unwrap();
    let policy = ReconnectPolicy::new(Duration::from_millis(500), Duration::from_secs(4))
        .with_max_attempts(Some(7));
    let ms = within(
        "connect",
        MicroServiceWs::builder(gw.host())
            .tls(false)
            .need_token(false)
            .reconnect(policy.clone())
            .connect(),
    )
    .await
    .unwrap();
    let mut state = ms.state();
    // Nothing listens any more: every attempt is refused at once.
    gw.shutdown().await;
    tokio::time::pause();
    let mut seen = Vec::new();
    loop {
        within("state", state.changed()).await.unwrap();
        let s = *state.borrow_and_update();
        match s {
            ConnectionState::Reconnecting { attempt, delay } => {
                seen.push((attempt, delay, tokio::time::Instant::now()))
            }
            ConnectionState::Closed => break,
            _ => {}
        }
    }
    let attempts: Vec<u32> = seen.iter().map(|s| s.0).collect();
    assert_eq!(
        attempts,
        [1, 2, 3, 4, 5, 6, 7],
        "gives up after max_attempts"
    );
    for (attempt, delay, _) in &seen {
        assert!(
            *delay <= policy.ceiling(*attempt),
            "attempt {attempt}: {delay:?}"
        );
    }
    // Each attempt started no earlier than the previous one's delay after it.
    for w in seen.windows(2) {
        assert!(w[1].2 - w[0].2 >= w[0].1, "{:?} then {:?}", w[0], w[1]);
    }
    assert!(ms.send(1).await.unwrap_err().is_closed());
}

/// A token close to its `exp` is replaced before it expires: the client logs in
/// again and hands over to a new connection gracefully, losing nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_in_again_before_the_token_expires_without_losing_messages() {
    let gw = ms_utils_dev::gateway::DevGateway::builder()
        .user(ALICE.0, ALICE.1)
        .user(BOB.0, BOB.1)
        .token_ttl(Duration::from_secs(3))
        .start()
        .await
        .unwrap();
    // Bob refreshes only at expiry, well after alice (halfway), so that this
    // test watches alice's handover alone.
    let bob = within(
        "connect",
        config(&gw, BOB)
            .token_refresh_margin(Duration::ZERO)
            .connect(),
    )
    .await
    .unwrap();
    let alice = connect(&gw, ALICE).await;
    wait_connected(&gw, "bob").await;
    let mut events = alice.events();
    let sender = {
        let alice = alice.clone();
        tokio::spawn(async move {
            let mut seq = 0u64;
            // Send until the handover has happened (bounded by the test's LIMIT below).
            while alice.stats().reconnects == 0 {
                alice
                    .send_task_to_ms(
                        "bob",
                        "r",
                        &format!("j{seq}"),
                        serde_json::json!({ "seq": seq }),
                    )
                    .await
                    .unwrap();
                seq += 1;
                if seq.is_multiple_of(50) {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
            alice
                .send_task_to_ms("bob", "r", "end", serde_json::json!({ "seq": seq }))
                .await
                .unwrap();
            seq
        })
    };
    let reason = within("disconnected event", async {
        loop {
            if let Event::Disconnected { reason } = events.recv().await.unwrap() {
                return reason;
            }
        }
    })
    .await;
    assert_eq!(reason, DisconnectReason::TokenRefresh);
    let last = within("sender", sender).await.unwrap();
    for expected in 0..=last {
        let msg = next(&bob).await;
        assert_eq!(
            msg.data().unwrap()["data"]["seq"].as_u64(),
            Some(expected),
            "lost or reordered"
        );
    }
    assert!(gw.faults().logins() >= 3, "bob, alice, and alice again");
    assert!(alice.is_connected());
}

/// The default keepalive, under paused time: a silent but healthy gateway
/// is pinged every 20 s and stays connected for as long as it answers; one
/// that stops answering is declared dead 20 s after the ping, i.e. 40 s
/// after the last frame read.
#[tokio::test]
async fn default_keepalive_pings_after_20s_of_silence_and_gives_up_20s_later() {
    let gw = gateway().await;
    let alice = connect(&gw, ALICE).await;
    let mut events = alice.events();
    tokio::time::pause();

    // Ten minutes without a message: only pings and pongs cross, and the
    // connection stays (without pings it would be dead after 40 s).
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert!(alice.is_connected());
    assert_eq!(gw.faults().connections(), 1, "never reconnected");
    assert_eq!(alice.stats().reconnects, 0);
    // One ping per 20 s of silence: 30 in 600 s (the last one may fall
    // due at the very instant this wait ends).
    let pings = gw.faults().counters().pings_in;
    assert!((29..=30).contains(&pings), "{pings} pings in 600 s");

    // A frame read now, then the gateway hangs with the socket open.
    alice
        .send(serde_json::json!({"event": "bench-echo", "data": 1}))
        .await
        .unwrap();
    assert_eq!(next(&alice).await.event(), Some("bench-echo-reply"));
    gw.faults().stall(true);
    let last_read = tokio::time::Instant::now();
    let reason = within_for("declared dead", Duration::from_secs(120), async {
        loop {
            if let Event::Disconnected { reason } = events.recv().await.unwrap() {
                return reason;
            }
        }
    })
    .await;
    let silent = last_read.elapsed();
    assert!(reason.is_keepalive_timeout(), "{reason}");
    // 20 s to the ping, 20 s more for its answer: not one sooner, hardly later.
    assert!(
        silent >= Duration::from_secs(40) && silent < Duration::from_secs(41),
        "declared dead after {silent:?} of silence"
    );

    // Back to real time for the reconnect (login and handshake are real I/O).
    tokio::time::resume();
    gw.faults().stall(false);
    let mut state = alice.state();
    wait_state(&mut state, ConnectionState::is_connected).await;
}

/// `disconnected()` (the original's `disconnect_event`) resolves on a
/// connection loss, not only on close, and the client reconnects after it.
#[tokio::test]
async fn disconnected_resolves_when_the_connection_is_lost() {
    let gw = gateway().await;
    let alice = connect(&gw, ALICE).await;
    let lost = alice.disconnected();
    tokio::pin!(lost);
    assert!(
        futures_util::poll!(lost.as_mut()).is_pending(),
        "pending while connected"
    );
    gw.faults().close_all_now();
    within("disconnected()", lost).await;
    let mut state = alice.state();
    wait_state(&mut state, ConnectionState::is_connected).await;
    assert!(alice.is_connected());
}

/// `close()` during reconnect attempts ends them: no login is tried again,
/// however long one waits (paused time: ten minutes pass at once).
#[tokio::test]
async fn close_stops_reconnecting() {
    let gw = gateway().await;
    let alice = connect(&gw, ALICE).await;
    let faults = gw.faults();
    faults.login_status(Some(500));
    faults.close_user("alice");
    within("failed logins", faults.wait_for(|c| c.login_attempts >= 3)).await;
    let mut state = alice.state();
    wait_state(&mut state, |s| {
        matches!(s, ConnectionState::Reconnecting { .. })
    })
    .await;
    within("close", alice.close()).await.unwrap();
    assert_eq!(*alice.state().borrow(), ConnectionState::Closed);
    let attempts = faults.counters().login_attempts;
    faults.login_status(None);
    tokio::time::pause();
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert_eq!(faults.counters().login_attempts, attempts);
    assert_eq!(faults.counters().open_connections, 0);
    assert!(alice.send(1).await.unwrap_err().is_closed());
}

/// Every change is on the event stream, in order: the loss, each scheduled
/// attempt and its failure (a 5xx login is not "bad credentials"), the
/// reconnect, and the close.
#[tokio::test]
async fn every_change_is_reported_on_the_event_stream_in_order() {
    let gw = gateway().await;
    let alice = connect(&gw, ALICE).await;
    let mut events = alice.events();
    let faults = gw.faults();
    faults.login_status(Some(500));
    faults.close_user("alice");
    let mut seen = Vec::new();
    within("two failed attempts", async {
        while seen
            .iter()
            .filter(|e| matches!(e, Event::ConnectFailed { .. }))
            .count()
            < 2
        {
            seen.push(events.recv().await.unwrap());
        }
    })
    .await;
    faults.login_status(None);
    within("reconnected", async {
        loop {
            let e = events.recv().await.unwrap();
            seen.push(e.clone());
            if e == Event::Connected {
                return;
            }
        }
    })
    .await;
    within("close", alice.close()).await.unwrap();
    within("closed event", async {
        loop {
            let e = events.recv().await.unwrap();
            seen.push(e.clone());
            if e == Event::Closed {
                return;
            }
        }
    })
    .await;

    // connect() reports the first connection itself: no stale `Connected`
    // for it reaches a subscriber that came after.
    assert!(matches!(seen[0], Event::Disconnected { .. }), "{seen:?}");
    assert!(
        matches!(seen[1], Event::Reconnecting { attempt: 1, .. }),
        "{seen:?}"
    );
    assert!(
        matches!(
            seen[2],
            Event::ConnectFailed {
                bad_credentials: false,
                ..
            }
        ),
        "{seen:?}"
    );
    assert!(
        matches!(seen[3], Event::Reconnecting { attempt: 2, .. }),
        "{seen:?}"
    );
    let n = seen.len();
    assert_eq!(seen[n - 2..], [Event::Connected, Event::Closed], "{seen:?}");
}

/// The issue's scenario in one: the gateway closes every socket, logins fail
/// for a while, and under paused time the attempts follow the default
/// backoff (full jitter under a ceiling growing from 0.5 s), each started no sooner than
/// its announced delay, until the client is back.
#[tokio::test]
async fn after_the_gateway_closes_every_socket_reconnects_follow_the_default_backoff() {
    let gw = gateway().await;
    let alice = within(
        "connect",
        MicroServiceWs::builder(gw.host())
            .tls(false)
            .credentials(ALICE.0, ALICE.1)
            .connect(),
    )
    .await
    .unwrap();
    let policy = ms_utils_communication::ws::ReconnectPolicy::default();
    let mut events = alice.events();
    let faults = gw.faults();
    tokio::time::pause();
    faults.login_status(Some(500));
    assert_eq!(faults.close_all_now(), 1);
    // (attempt, announced delay, when announced), then when each failed.
    let mut scheduled = Vec::new();
    let mut failed = Vec::new();
    within_for("five failed attempts", Duration::from_secs(300), async {
        while failed.len() < 5 {
            match events.recv().await.unwrap() {
                Event::Reconnecting { attempt, delay } => {
                    scheduled.push((attempt, delay, tokio::time::Instant::now()))
                }
                Event::ConnectFailed { .. } => failed.push(tokio::time::Instant::now()),
                _ => {}
            }
        }
    })
    .await;
    faults.login_status(None);
    within_for("back", Duration::from_secs(300), async {
        while events.recv().await.unwrap() != Event::Connected {}
    })
    .await;
    assert!(alice.is_connected());

    let attempts: Vec<u32> = scheduled.iter().map(|s| s.0).collect();
    assert_eq!(attempts[..5], [1, 2, 3, 4, 5]);
    for (i, (attempt, delay, at)) in scheduled.iter().take(5).enumerate() {
        assert!(
            *delay <= policy.ceiling(*attempt),
            "attempt {attempt}: {delay:?}"
        );
        // The attempt ran (and failed) only once its delay had passed.
        assert!(failed[i] - *at >= *delay, "attempt {attempt}");
    }
    // Full jitter under a growing ceiling: not every wait is the same.
    let delays: Vec<Duration> = scheduled.iter().take(5).map(|s| s.1).collect();
    assert!(delays.windows(2).any(|w| w[0] != w[1]), "{delays:?}");
}

/// A client that gives up reconnecting closes itself; what it could not
/// deliver is not only logged: the first `close()` after it returns it in
/// `Error::Undelivered`, oldest first, and a second `close()` has nothing.
#[tokio::test]
async fn close_after_giving_up_hands_back_what_was_not_delivered() {
    let gw = ms_utils_dev::gateway::DevGateway::builder()
        .allow_anonymous(true)
        .start()
        .await
        .unwrap();
    let policy = ReconnectPolicy::new(Duration::from_millis(5), Duration::from_millis(20))
        .with_max_attempts(Some(2));
    let ms = within(
        "connect",
        MicroServiceWs::builder(gw.host())
            .tls(false)
            .need_token(false)
            .reconnect(policy)
            .connect(),
    )
    .await
    .unwrap();
    let mut state = ms.state();
    // Nothing listens any more: the client is disconnected for good.
    gw.shutdown().await;
    within("disconnected", ms.disconnected()).await;
    // Paused: the backoff cannot run out before the sends below are queued.
    tokio::time::pause();
    for n in 0..3 {
        // Accepted while disconnected (at least once: queued for later).
        ms.send(serde_json::json!({"event": "kept", "data": n}))
            .await
            .unwrap();
    }
    wait_state(&mut state, |s| *s == ConnectionState::Closed).await;
    assert!(ms.send(9).await.unwrap_err().is_closed());

    let err = within("close", ms.close()).await.unwrap_err();
    assert!(
        matches!(err, ms_utils_communication::ws::Error::Undelivered(_)),
        "{err:?}"
    );
    let back = err.undelivered().expect("the messages come back");
    let data: Vec<serde_json::Value> = back
        .frames()
        .iter()
        .map(|f| {
            serde_json::from_str::<serde_json::Value>(f.as_text().unwrap()).unwrap()["data"].clone()
        })
        .collect();
    assert_eq!(data, [0, 1, 2]);
    // Only the first close gets them.
    within("second close", ms.close()).await.unwrap();
}
