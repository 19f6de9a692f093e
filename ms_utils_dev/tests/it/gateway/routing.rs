//! `ms-send-task` routing, `ms-error` for unknown recipients, chunked delivery both ways.

use super::*;

#[tokio::test]
async fn ms_send_task_is_routed_to_the_named_user_as_ms_task() {
    let gw = gateway().await;
    let mut alice = connect(&gw, "alice").await;
    let mut bob = connect(&gw, "bob").await;
    assert_eq!(gw.faults().connected_users(), ["alice", "bob"]);

    send_json(
        &mut alice,
        json!({"event": "ms-send-task", "data": {"to": "bob", "workflowId": "ref-1",
               "referenceId": "ref-1", "jobId": "job-1", "data": {"n": 42}}}),
    )
    .await;
    let got = next_json(&mut bob).await;
    assert_eq!(
        got,
        json!({"event": "ms-task", "data": {"from": "alice", "referenceId": "ref-1",
               "workflowId": "ref-1", "jobId": "job-1", "data": {"n": 42}}})
    );

    // And back, in order, many times.
    for i in 0..100 {
        send_json(
            &mut bob,
            json!({"event": "ms-send-task", "data": {"to": "alice", "workflowId": "r",
                   "referenceId": "r", "jobId": format!("j{i}"), "data": i}}),
        )
        .await;
    }
    for i in 0..100 {
        let got = next_json(&mut alice).await;
        assert_eq!(got["data"]["jobId"], format!("j{i}"));
        assert_eq!(got["data"]["from"], "bob");
    }
    assert_eq!(gw.faults().counters().tasks_routed, 101);
}

#[tokio::test]
async fn a_task_for_an_unknown_microservice_gets_ms_error_back() {
    let gw = gateway().await;
    let mut alice = connect(&gw, "alice").await;
    send_json(
        &mut alice,
        json!({"event": "ms-send-task", "data": {"to": "nobody", "workflowId": "r",
               "referenceId": "r", "jobId": "job-9", "data": {}}}),
    )
    .await;
    let got = next_json(&mut alice).await;
    assert_eq!(
        got,
        json!({"event": "ms-error", "data": {"jobId": "job-9", "message": "unknown microservice"}})
    );
    assert_eq!(gw.faults().counters().unknown_recipients, 1);
}

#[tokio::test]
async fn a_large_task_arrives_as_chunks_each_under_the_python_frame_limit() {
    let gw = gateway().await;
    let mut alice = connect(&gw, "alice").await;
    let mut bob = connect(&gw, "bob").await;
    let blob: String = (0..3 * 1024 * 1024)
        .map(|i| (b'a' + (i % 26) as u8) as char)
        .collect();
    send_json(
        &mut alice,
        json!({"event": "ms-send-task", "data": {"to": "bob", "workflowId": "r",
               "referenceId": "r", "jobId": "big", "data": {"blob": blob}}}),
    )
    .await;
    let (whole, largest) = reassemble(&mut bob).await;
    assert!(largest < 1024 * 1024, "frame of {largest} bytes");
    assert_eq!(whole["event"], "ms-task");
    assert_eq!(whole["data"]["jobId"], "big");
    assert_eq!(whole["data"]["data"]["blob"].as_str().unwrap(), blob);
    assert_eq!(gw.faults().counters().tasks_chunked, 1);
}

#[tokio::test]
async fn a_small_task_is_not_chunked() {
    let gw = gateway().await;
    let mut alice = connect(&gw, "alice").await;
    let mut bob = connect(&gw, "bob").await;
    send_json(
        &mut alice,
        json!({"event": "ms-send-task", "data": {"to": "bob", "workflowId": "r",
               "referenceId": "r", "jobId": "small", "data": "x".repeat(700 * 1024)}}),
    )
    .await;
    let got = next_json(&mut bob).await;
    assert_eq!(got["event"], "ms-task");
    assert_eq!(gw.faults().counters().tasks_chunked, 0);
}

#[tokio::test]
async fn a_chunked_message_from_a_client_is_reassembled_then_routed() {
    let gw = gateway().await;
    let mut alice = connect(&gw, "alice").await;
    let mut bob = connect(&gw, "bob").await;
    let task = json!({"event": "ms-send-task", "data": {"to": "bob", "workflowId": "r",
                      "referenceId": "r", "jobId": "via-chunks", "data": {"k": "v".repeat(5000)}}});
    let frames = chunk_texts("client-job", task.to_string().as_bytes(), 1000).unwrap();
    assert!(frames.len() > 3);
    // Out of order on purpose.
    for frame in frames.into_iter().rev() {
        alice.send(Message::text(frame)).await.unwrap();
    }
    let got = next_json(&mut bob).await;
    assert_eq!(got["data"]["jobId"], "via-chunks");
    assert_eq!(got["data"]["data"]["k"].as_str().unwrap().len(), 5000);
}

#[tokio::test]
async fn a_task_goes_to_the_newest_connection_of_its_recipient() {
    let gw = gateway().await;
    let mut alice = connect(&gw, "alice").await;
    let mut old_bob = connect(&gw, "bob").await;
    let mut new_bob = connect(&gw, "bob").await;
    assert_eq!(gw.faults().connected_users(), ["alice", "bob", "bob"]);
    send_json(
        &mut alice,
        json!({"event": "ms-send-task", "data": {"to": "bob", "workflowId": "r",
               "referenceId": "r", "jobId": "newest", "data": null}}),
    )
    .await;
    assert_eq!(next_json(&mut new_bob).await["data"]["jobId"], "newest");
    // The old connection got nothing: an echo on it is the next frame it sees.
    send_json(&mut old_bob, json!({"event": "bench-echo", "data": "old"})).await;
    assert_eq!(next_json(&mut old_bob).await["event"], "bench-echo-reply");
}

#[tokio::test]
async fn frames_queued_for_a_dead_connection_go_to_the_users_newer_one() {
    let gw = gateway().await;
    let mut alice = connect(&gw, "alice").await;
    // bob's first connection never reads: once the socket buffers are full,
    // routed tasks wait in the gateway's queue for it.
    let bob_old = connect(&gw, "bob").await;
    let n = 30u64;
    let pad = "x".repeat(500 * 1024);
    for seq in 0..n {
        send_json(
            &mut alice,
            json!({"event": "ms-send-task", "data": {"to": "bob", "workflowId": "r",
                   "referenceId": "r", "jobId": format!("q{seq}"), "data": {"seq": seq, "pad": pad}}}),
        )
        .await;
    }
    timeout(WAIT, gw.faults().wait_for(|c| c.tasks_routed == n))
        .await
        .unwrap();
    let mut bob_new = connect(&gw, "bob").await;
    drop(bob_old);
    let mut seen = Vec::new();
    while seen.last() != Some(&(n - 1)) {
        let got = next_json(&mut bob_new).await;
        seen.push(got["data"]["data"]["seq"].as_u64().unwrap());
    }
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
    assert!(seen.len() > 1, "nothing was handed over: {seen:?}");
    assert_eq!(gw.faults().counters().undelivered, 0);
}
