//! Fault injection: closing (abrupt and graceful), stalls, raw frames, garbage, shutdown.

use super::*;

#[tokio::test]
async fn close_all_now_drops_every_connection() {
    let gw = gateway().await;
    let mut alice = connect(&gw, "alice").await;
    let mut bob = connect(&gw, "bob").await;
    assert_eq!(gw.faults().close_all_now(), 2);
    for ws in [&mut alice, &mut bob] {
        // The stream ends (or errors): the socket is gone, no close frame.
        match timeout(WAIT, ws.next()).await.unwrap() {
            None | Some(Err(_)) => {}
            Some(Ok(m)) => panic!("unexpected frame {m:?}"),
        }
    }
    timeout(WAIT, gw.faults().wait_for(|c| c.open_connections == 0))
        .await
        .unwrap();
    assert!(gw.faults().connected_users().is_empty());
    // A fresh connection works afterwards.
    let mut alice = connect(&gw, "alice").await;
    send_json(&mut alice, json!({"event": "bench-echo", "data": 1})).await;
    assert_eq!(next_json(&mut alice).await["data"], 1);
}

#[tokio::test]
async fn close_all_after_drops_connections_once_the_delay_passes() {
    let gw = gateway().await;
    let mut alice = connect(&gw, "alice").await;
    gw.faults().close_all_after(Duration::from_millis(50));
    match timeout(WAIT, alice.next()).await.unwrap() {
        None | Some(Err(_)) => {}
        Some(Ok(m)) => panic!("unexpected frame {m:?}"),
    }
}

#[tokio::test]
async fn close_user_drops_only_that_users_connections() {
    let gw = gateway().await;
    let mut alice = connect(&gw, "alice").await;
    let _bob = connect(&gw, "bob").await;
    assert_eq!(gw.faults().close_user("bob"), 1);
    timeout(WAIT, gw.faults().wait_disconnected("bob"))
        .await
        .unwrap();
    assert_eq!(gw.faults().connected_users(), ["alice"]);
    send_json(&mut alice, json!({"event": "bench-echo", "data": 2})).await;
    assert_eq!(next_json(&mut alice).await["data"], 2);
}

#[tokio::test]
async fn a_graceful_close_still_routes_what_the_client_sent_before_seeing_it() {
    let gw = gateway().await;
    let mut alice = connect(&gw, "alice").await;
    let mut bob = connect(&gw, "bob").await;
    assert_eq!(gw.faults().close_user_gracefully("alice").await, 1);
    // alice has not read the close frame yet: what she sends now must still
    // be read and routed by the gateway.
    for i in 0..50 {
        send_json(
            &mut alice,
            json!({"event": "ms-send-task", "data": {"to": "bob", "workflowId": "r",
                   "referenceId": "r", "jobId": format!("late-{i}"), "data": i}}),
        )
        .await;
    }
    let close = loop {
        match timeout(WAIT, alice.next()).await.unwrap() {
            Some(Ok(Message::Close(frame))) => break frame,
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(u16::from(close.unwrap().code), 1001);
    for i in 0..50 {
        assert_eq!(
            next_json(&mut bob).await["data"]["jobId"],
            format!("late-{i}")
        );
    }
    // Reading on lets tungstenite answer the close, which ends the connection
    // well before the gateway's grace period.
    assert!(timeout(WAIT, alice.next()).await.unwrap().is_none());
    timeout(
        Duration::from_secs(2),
        gw.faults().wait_disconnected("alice"),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn nothing_is_routed_to_a_connection_that_is_closing() {
    let gw = gateway().await;
    let mut alice = connect(&gw, "alice").await;
    let _bob = connect(&gw, "bob").await;
    assert_eq!(gw.faults().close_user_gracefully("bob").await, 1);
    send_json(
        &mut alice,
        json!({"event": "ms-send-task", "data": {"to": "bob", "workflowId": "r",
               "referenceId": "r", "jobId": "too-late", "data": null}}),
    )
    .await;
    let got = next_json(&mut alice).await;
    assert_eq!(got["event"], "ms-error");
    assert_eq!(got["data"]["jobId"], "too-late");
}

#[tokio::test]
async fn a_senders_messages_stay_in_order_across_a_graceful_close_and_reconnect() {
    let gw = gateway().await;
    let mut bob = connect(&gw, "bob").await;
    let task = |i: u32| {
        json!({"event": "ms-send-task", "data": {"to": "bob", "workflowId": "r",
               "referenceId": "r", "jobId": "j", "data": i}})
    };
    let mut next_seq = 0;
    for _round in 0..5 {
        let mut alice = connect(&gw, "alice").await;
        gw.faults().close_user_gracefully("alice").await;
        // Sent after the close was queued, before alice reads it.
        for _ in 0..200 {
            send_json(&mut alice, task(next_seq)).await;
            next_seq += 1;
        }
        // Answer the close and go at once: the next connection's frames
        // must not overtake what this one still has in flight.
        while timeout(WAIT, alice.next()).await.unwrap().is_some() {}
    }
    for i in 0..next_seq {
        assert_eq!(next_json(&mut bob).await["data"]["data"], i);
    }
}

#[tokio::test]
async fn a_stalled_gateway_holds_replies_until_released() {
    let gw = gateway().await;
    let mut alice = connect(&gw, "alice").await;
    gw.faults().stall(true);
    send_json(&mut alice, json!({"event": "bench-echo", "data": "held"})).await;
    // Nothing can arrive while stalled; a short bound proves the hold.
    assert!(
        timeout(Duration::from_millis(300), alice.next())
            .await
            .is_err()
    );
    assert_eq!(gw.faults().connected_users(), ["alice"]);
    gw.faults().stall(false);
    assert_eq!(next_json(&mut alice).await["data"], "held");
}

#[tokio::test]
async fn raw_text_binary_and_delivered_frames_reach_the_named_user() {
    let gw = gateway().await;
    let mut alice = connect(&gw, "alice").await;
    let faults = gw.faults();
    faults.send_raw_text("alice", "not json {").await.unwrap();
    faults
        .send_raw_binary("alice", vec![0u8, 1, 2])
        .await
        .unwrap();
    faults
        .deliver("alice", &json!({"event": "hi"}))
        .await
        .unwrap();
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(timeout(WAIT, alice.next()).await.unwrap().unwrap().unwrap());
    }
    assert_eq!(got[0], Message::text("not json {"));
    assert_eq!(got[1], Message::binary(vec![0u8, 1, 2]));
    assert_eq!(got[2], Message::text(r#"{"event":"hi"}"#));
    let err = faults.send_raw_text("nobody", "x").await.unwrap_err();
    assert!(err.is_not_connected());
}

#[tokio::test]
async fn garbage_from_a_client_does_not_drop_its_connection() {
    let gw = gateway().await;
    let mut alice = connect(&gw, "alice").await;
    alice.send(Message::text("{{{ not json")).await.unwrap();
    alice.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
    alice
        .send(Message::text(
            r#"{"jobId":"x","index":0,"max_index":2,"chunk":"!!"}"#,
        ))
        .await
        .unwrap();
    send_json(
        &mut alice,
        json!({"event": "bench-echo", "data": "still here"}),
    )
    .await;
    assert_eq!(next_json(&mut alice).await["data"], "still here");
    assert_eq!(gw.faults().counters().chunk_drops, 1);
}

#[tokio::test]
async fn shutdown_closes_connections_and_the_port() {
    let gw = gateway().await;
    let mut alice = connect(&gw, "alice").await;
    let addr = gw.addr();
    timeout(WAIT, gw.shutdown()).await.unwrap();
    match timeout(WAIT, alice.next()).await.unwrap() {
        None | Some(Err(_)) => {}
        Some(Ok(m)) => panic!("unexpected frame {m:?}"),
    }
    assert!(TcpStream::connect(addr).await.is_err());
}

/// `close_all_after` runs on tokio time: under paused time nothing happens
/// a second before the delay, and every connection goes when it passes.
#[tokio::test]
async fn close_all_after_follows_paused_time() {
    let gw = gateway().await;
    let _alice = connect(&gw, "alice").await;
    let _bob = connect(&gw, "bob").await;
    tokio::time::pause();
    let start = Instant::now();
    gw.faults().close_all_after(Duration::from_secs(3600));
    tokio::time::sleep_until(start + Duration::from_secs(3599)).await;
    assert_eq!(gw.faults().connected_users(), ["alice", "bob"]);
    timeout(
        Duration::from_secs(10),
        gw.faults().wait_for(|c| c.open_connections == 0),
    )
    .await
    .unwrap();
    assert!(start.elapsed() >= Duration::from_secs(3600));
}

#[tokio::test]
async fn pings_and_close_frames_from_a_client_are_counted() {
    let gw = gateway().await;
    let mut alice = connect(&gw, "alice").await;
    alice.send(Message::Ping(Default::default())).await.unwrap();
    // The pong proves the ping was read.
    match timeout(WAIT, alice.next()).await.unwrap() {
        Some(Ok(Message::Pong(_))) => {}
        other => panic!("expected a pong, got {other:?}"),
    }
    assert_eq!(gw.faults().counters().pings_in, 1);
    alice.close(None).await.unwrap();
    timeout(WAIT, gw.faults().wait_for(|c| c.close_frames_in == 1))
        .await
        .unwrap();
}
