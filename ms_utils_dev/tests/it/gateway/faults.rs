//! Fault injection: closing (abrupt, graceful, with a grace period), aborts,
//! stalls, slow reading, the record of frames read, raw frames, garbage,
//! shutdown.

use super::*;
use ms_utils_dev::gateway::{ConnectionEnd, DEFAULT_CLOSE_GRACE};

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

fn note(tag: &str) -> String {
    json!({"event": "note", "data": tag}).to_string()
}

async fn send_note(ws: &mut Ws, tag: &str) {
    ws.send(Message::text(note(tag))).await.unwrap();
}

/// Reads up to the gateway's close frame (without answering it: the
/// caller reads on for that) and returns its code.
async fn next_close_code(ws: &mut Ws) -> u16 {
    loop {
        match timeout(WAIT, ws.next()).await.unwrap() {
            Some(Ok(Message::Close(Some(frame)))) => return u16::from(frame.code),
            Some(Ok(Message::Close(None))) => panic!("close frame without a code"),
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_close_with_grace_reads_on_until_the_grace_runs_out_then_drops() {
    let gw = gateway().await;
    let faults = gw.faults();
    faults.record(true);
    let mut alice = connect(&gw, "alice").await;
    let start = Instant::now();
    assert_eq!(
        faults.close_user_with_grace("alice", DEFAULT_CLOSE_GRACE),
        1
    );
    timeout(WAIT, faults.wait_for(|c| c.close_frames_out == 1))
        .await
        .unwrap();
    // The close frame is out; alice does not read it (which would answer
    // it) and goes on sending: the gateway goes on reading.
    let sent: Vec<String> = (0..20).map(|i| note(&format!("late-{i}"))).collect();
    for text in &sent {
        alice.send(Message::text(text.as_str())).await.unwrap();
    }
    timeout(WAIT, faults.wait_for(|c| c.messages_in >= 20))
        .await
        .unwrap();
    // Unanswered, the connection is dropped once the grace runs out.
    timeout(WAIT, faults.wait_for(|c| c.open_connections == 0))
        .await
        .unwrap();
    assert!(start.elapsed() >= DEFAULT_CLOSE_GRACE);
    let rec = faults.recorded("alice");
    assert_eq!(rec.len(), 1);
    assert_eq!(rec[0].frames, sent);
    assert_eq!(rec[0].end, ConnectionEnd::GraceExpired);
    assert!(!rec[0].ended_cleanly());
    // alice finds the close frame, then the end of the connection.
    assert_eq!(next_close_code(&mut alice).await, 1001);
    match timeout(WAIT, alice.next()).await.unwrap() {
        None | Some(Err(_)) => {}
        Some(Ok(m)) => panic!("unexpected frame {m:?}"),
    }
}

#[tokio::test]
async fn a_new_connection_is_read_at_once_while_the_old_one_is_in_its_grace() {
    let gw = gateway().await;
    let faults = gw.faults();
    faults.record(true);
    let mut old = connect(&gw, "alice").await;
    assert_eq!(
        faults.close_user_with_grace("alice", Duration::from_secs(3600)),
        1
    );
    timeout(WAIT, faults.wait_for(|c| c.close_frames_out == 1))
        .await
        .unwrap();
    send_note(&mut old, "old-0").await;
    timeout(WAIT, faults.wait_for(|c| c.messages_in >= 1))
        .await
        .unwrap();
    // Not held back behind the old connection (as `close_user_gracefully`
    // would): the new one's frame is read while the old one is open...
    let mut new = connect(&gw, "alice").await;
    send_note(&mut new, "new-0").await;
    timeout(WAIT, faults.wait_for(|c| c.messages_in >= 2))
        .await
        .unwrap();
    // ... and still read on, so a late frame on it lands after the new
    // connection's: the reordering a client must be ready for.
    send_note(&mut old, "old-1").await;
    timeout(WAIT, faults.wait_for(|c| c.messages_in >= 3))
        .await
        .unwrap();

    let rec = faults.recorded("alice");
    assert_eq!(rec.len(), 2);
    assert!(rec[0].id < rec[1].id);
    assert_eq!(rec[0].frames, [note("old-0"), note("old-1")]);
    assert_eq!(rec[1].frames, [note("new-0")]);
    assert!(rec.iter().all(|c| c.end == ConnectionEnd::Open));
    assert_eq!(
        faults.recorded_texts("alice"),
        [note("old-0"), note("old-1"), note("new-0")]
    );
    assert_eq!(faults.connected_users(), ["alice", "alice"]);
    // Only the new connection is routed to.
    faults
        .send_raw_text("alice", "to the new one")
        .await
        .unwrap();
    assert_eq!(
        timeout(WAIT, new.next()).await.unwrap().unwrap().unwrap(),
        Message::text("to the new one")
    );
}

#[tokio::test]
async fn a_close_with_grace_ends_as_soon_as_the_client_answers() {
    let gw = gateway().await;
    let faults = gw.faults();
    faults.record(true);
    let mut alice = connect(&gw, "alice").await;
    send_note(&mut alice, "hello").await;
    // A grace far beyond the test's bounds: only the answer can end it.
    assert_eq!(
        faults.close_user_with_grace("alice", Duration::from_secs(3600)),
        1
    );
    assert_eq!(next_close_code(&mut alice).await, 1001);
    // Reading on lets tungstenite answer; the gateway then ends it.
    assert!(timeout(WAIT, alice.next()).await.unwrap().is_none());
    timeout(WAIT, faults.wait_disconnected("alice"))
        .await
        .unwrap();
    let rec = faults.recorded("alice");
    assert_eq!(rec.len(), 1);
    assert_eq!(rec[0].frames, [note("hello")]);
    assert_eq!(rec[0].end, ConnectionEnd::ClientClose);
    assert!(rec[0].ended_cleanly());
    assert_eq!(faults.counters().close_frames_in, 1);
}

#[tokio::test]
async fn an_abort_resets_the_connection_without_a_close_frame() {
    let gw = gateway().await;
    let faults = gw.faults();
    faults.record(true);
    let mut alice = connect(&gw, "alice").await;
    let _bob = connect(&gw, "bob").await;
    send_note(&mut alice, "read").await;
    timeout(WAIT, faults.wait_for(|c| c.messages_in >= 1))
        .await
        .unwrap();
    assert_eq!(faults.abort_user("alice"), 1);
    match timeout(WAIT, alice.next()).await.unwrap() {
        Some(Err(WsError::Io(e))) => {
            assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}");
        }
        other => panic!("expected a connection reset, got {other:?}"),
    }
    timeout(WAIT, faults.wait_disconnected("alice"))
        .await
        .unwrap();
    let rec = faults.recorded("alice");
    assert_eq!(rec.len(), 1);
    assert_eq!(rec[0].frames, [note("read")]);
    assert_eq!(rec[0].end, ConnectionEnd::Aborted);
    assert_eq!(faults.counters().close_frames_out, 0);
    // Only alice was reset; a new connection of hers is served at once.
    assert_eq!(faults.connected_users(), ["bob"]);
    let mut alice = connect(&gw, "alice").await;
    send_json(&mut alice, json!({"event": "bench-echo", "data": 3})).await;
    assert_eq!(next_json(&mut alice).await["data"], 3);
    assert_eq!(faults.abort_all(), 2);
    timeout(WAIT, faults.wait_for(|c| c.open_connections == 0))
        .await
        .unwrap();
}

/// Every frame still arrives, in order, only later: each waits out the
/// delay (so ten frames take at least ten delays, a bound that cannot
/// flake), and lifting the delay applies to a wait under way.
#[tokio::test]
async fn a_read_delay_slows_reading_without_losing_frames() {
    const DELAY: Duration = Duration::from_millis(30);
    let gw = gateway().await;
    let faults = gw.faults();
    faults.record(true);
    let mut alice = connect(&gw, "alice").await;
    let start = Instant::now();
    faults.read_delay(Some(DELAY));
    let sent: Vec<String> = (0..10).map(|i| note(&format!("slow-{i}"))).collect();
    for text in &sent {
        alice.send(Message::text(text.as_str())).await.unwrap();
    }
    timeout(WAIT, faults.wait_for(|c| c.messages_in >= 10))
        .await
        .unwrap();
    assert!(start.elapsed() >= DELAY * 10);
    assert_eq!(faults.recorded_texts("alice"), sent);
    // An hour's delay, lifted while the gateway waits it out: the reply
    // comes within the test's bound.
    faults.read_delay(Some(Duration::from_secs(3600)));
    faults.read_delay(None);
    send_json(&mut alice, json!({"event": "bench-echo", "data": "fast"})).await;
    assert_eq!(next_json(&mut alice).await["data"], "fast");
}

#[tokio::test]
async fn nothing_is_recorded_unless_switched_on() {
    let gw = gateway().await;
    let faults = gw.faults();
    let mut alice = connect(&gw, "alice").await;
    send_note(&mut alice, "unrecorded").await;
    timeout(WAIT, faults.wait_for(|c| c.messages_in >= 1))
        .await
        .unwrap();
    assert!(faults.recorded("alice").is_empty());
    assert!(faults.recorded_texts("alice").is_empty());
}

#[tokio::test]
async fn the_record_keeps_every_frame_of_open_and_later_connections() {
    let gw = gateway().await;
    let faults = gw.faults();
    let mut alice = connect(&gw, "alice").await;
    let _bob = connect(&gw, "bob").await;
    send_note(&mut alice, "before").await;
    timeout(WAIT, faults.wait_for(|c| c.messages_in >= 1))
        .await
        .unwrap();
    // Switched on with alice already connected: her connection is listed.
    faults.record(true);
    let task = json!({"event": "ms-send-task", "data": {"to": "bob", "workflowId": "r",
                      "referenceId": "r", "jobId": "j", "data": "x".repeat(3000)}});
    let pieces = chunk_texts("client-job", task.to_string().as_bytes(), 1000).unwrap();
    assert!(pieces.len() > 1);
    for piece in &pieces {
        alice.send(Message::text(piece.as_str())).await.unwrap();
    }
    alice.send(Message::binary(vec![7u8, 8])).await.unwrap();
    send_note(&mut alice, "after").await;
    let total = 1 + pieces.len() as u64 + 1;
    timeout(WAIT, faults.wait_for(|c| c.messages_in >= total))
        .await
        .unwrap();
    alice.close(None).await.unwrap();
    timeout(WAIT, faults.wait_disconnected("alice"))
        .await
        .unwrap();
    let mut second = connect(&gw, "alice").await;
    send_note(&mut second, "second").await;
    timeout(WAIT, faults.wait_for(|c| c.messages_in > total))
        .await
        .unwrap();

    let rec = faults.recorded("alice");
    assert_eq!(rec.len(), 2);
    let mut expected = pieces.clone();
    expected.push(note("after"));
    assert_eq!(rec[0].frames, expected);
    assert_eq!(rec[0].binary_frames, [vec![7u8, 8]]);
    assert_eq!(rec[0].end, ConnectionEnd::ClientClose);
    assert_eq!(rec[1].frames, [note("second")]);
    assert_eq!(rec[1].end, ConnectionEnd::Open);
    expected.push(note("second"));
    assert_eq!(faults.recorded_texts("alice"), expected);
    assert!(faults.recorded("bob")[0].frames.is_empty());

    // Off keeps the record; on again starts afresh.
    faults.record(false);
    send_note(&mut second, "off").await;
    timeout(WAIT, faults.wait_for(|c| c.messages_in >= total + 2))
        .await
        .unwrap();
    assert_eq!(faults.recorded_texts("alice"), expected);
    faults.record(true);
    assert_eq!(faults.recorded("alice").len(), 1);
    assert!(faults.recorded_texts("alice").is_empty());
}
