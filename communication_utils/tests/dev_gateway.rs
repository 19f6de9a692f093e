//! The development gateway itself, driven by bare clients (reqwest for the
//! login, tokio-tungstenite for the websocket) so that its behaviour is
//! pinned independently of `MicroServiceWs`.
#![cfg(all(feature = "ws", feature = "test-util"))]

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use communication_utils::dev::gateway::DevGateway;
use communication_utils::ws::chunks::{ChunkAssembler, ChunkLimits, chunk_texts};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Upper bound for anything a test waits for.
const WAIT: Duration = Duration::from_secs(10);

fn install_crypto() {
    // reqwest is built without a default TLS provider; tests pick ours.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

async fn gateway() -> DevGateway {
    install_crypto();
    DevGateway::builder()
        .user("alice", "alice-pw")
        .user("bob", "bob-pw")
        .start()
        .await
        .unwrap()
}

async fn login(gw: &DevGateway, user: &str, password: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(gw.login_url())
        .json(&json!({"name": user, "password": password}))
        .send()
        .await
        .unwrap()
}

async fn token(gw: &DevGateway, user: &str) -> String {
    let res = login(gw, user, &format!("{user}-pw")).await;
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

/// Logs in and opens a websocket, returning once the gateway has
/// registered the connection (so routing to it cannot race).
async fn connect(gw: &DevGateway, user: &str) -> Ws {
    let token = token(gw, user).await;
    let before = gw.faults().connections();
    let (ws, res) = tokio_tungstenite::connect_async(gw.ws_url(&token))
        .await
        .unwrap();
    assert_eq!(res.status(), 101);
    timeout(WAIT, gw.faults().wait_for(|c| c.connections > before))
        .await
        .unwrap();
    ws
}

async fn next_json(ws: &mut Ws) -> Value {
    loop {
        let frame = timeout(WAIT, ws.next()).await.unwrap().unwrap().unwrap();
        if let Message::Text(text) = frame {
            return serde_json::from_str(text.as_str()).unwrap();
        }
    }
}

async fn send_json(ws: &mut Ws, value: Value) {
    ws.send(Message::text(value.to_string())).await.unwrap();
}

#[tokio::test]
async fn login_with_the_right_password_answers_201_with_a_jwt_shaped_token() {
    let gw = gateway().await;
    let res = login(&gw, "alice", "alice-pw").await;
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    let token = body["access_token"].as_str().unwrap();
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert_eq!(claims["sub"], "alice");
    assert!(claims["exp"].as_u64().unwrap() > 0);
    assert_eq!(gw.faults().counters().logins, 1);
}

#[tokio::test]
async fn login_with_a_wrong_password_or_unknown_user_answers_401_json() {
    let gw = gateway().await;
    for (user, pw) in [("alice", "nope"), ("mallory", "alice-pw")] {
        let res = login(&gw, user, pw).await;
        assert_eq!(res.status(), 401);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["statusCode"], 401);
    }
    let c = gw.faults().counters();
    assert_eq!((c.login_attempts, c.logins), (2, 0));
}

#[tokio::test]
async fn refuse_logins_answers_401_until_switched_off() {
    let gw = gateway().await;
    gw.faults().refuse_logins(true);
    assert_eq!(login(&gw, "alice", "alice-pw").await.status(), 401);
    gw.faults().refuse_logins(false);
    assert_eq!(login(&gw, "alice", "alice-pw").await.status(), 201);
}

#[tokio::test]
async fn an_injected_login_status_is_answered_with_a_json_body() {
    let gw = gateway().await;
    gw.faults().login_status(Some(500));
    let res = login(&gw, "alice", "alice-pw").await;
    assert_eq!(res.status(), 500);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["statusCode"], 500);
    gw.faults().login_status(None);
    assert_eq!(login(&gw, "alice", "alice-pw").await.status(), 201);
}

#[tokio::test]
async fn upgrades_without_a_valid_token_are_refused_with_401() {
    let gw = gateway().await;
    let base = format!("ws://{}/", gw.host());
    for url in [base.clone(), format!("{base}?token=made.up.token")] {
        match tokio_tungstenite::connect_async(url).await {
            Err(WsError::Http(res)) => assert_eq!(res.status(), 401),
            other => panic!("expected a 401 refusal, got {other:?}"),
        }
    }
    // A token stops working once revoked.
    let token = token(&gw, "alice").await;
    gw.faults().revoke_tokens();
    match tokio_tungstenite::connect_async(gw.ws_url(&token)).await {
        Err(WsError::Http(res)) => assert_eq!(res.status(), 401),
        other => panic!("expected a 401 refusal, got {other:?}"),
    }
    assert_eq!(gw.faults().counters().upgrades_refused, 3);
    assert_eq!(gw.faults().counters().connections, 0);
}

#[tokio::test]
async fn anonymous_connections_are_accepted_when_allowed() {
    install_crypto();
    let gw = DevGateway::builder()
        .allow_anonymous(true)
        .start()
        .await
        .unwrap();
    let (_ws, res) = tokio_tungstenite::connect_async(format!("ws://{}/", gw.host()))
        .await
        .unwrap();
    assert_eq!(res.status(), 101);
    timeout(WAIT, gw.faults().wait_connected("anonymous"))
        .await
        .unwrap();
}

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

/// Reads chunk messages until one job completes; returns the message and
/// the largest frame seen.
async fn reassemble(ws: &mut Ws) -> (Value, usize) {
    let mut assembler = ChunkAssembler::new(ChunkLimits::default());
    let mut largest = 0;
    loop {
        let frame = timeout(WAIT, ws.next()).await.unwrap().unwrap().unwrap();
        let Message::Text(text) = frame else { continue };
        largest = largest.max(text.len());
        let value: Value = serde_json::from_str(text.as_str()).unwrap();
        assert!(
            ChunkAssembler::is_chunk(&value),
            "expected only chunk messages"
        );
        if let Some(whole) = assembler.push(value, Instant::now()).unwrap() {
            return (whole, largest);
        }
    }
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
async fn bench_echo_replies_with_the_same_data() {
    let gw = gateway().await;
    let mut alice = connect(&gw, "alice").await;
    let data = json!({"t": 12345, "s": "payload", "n": [1, 2, 3]});
    send_json(&mut alice, json!({"event": "bench-echo", "data": data})).await;
    assert_eq!(
        next_json(&mut alice).await,
        json!({"event": "bench-echo-reply", "data": data})
    );
}

#[tokio::test]
async fn bench_flood_sends_count_frames_of_about_size_in_order_then_bench_end() {
    let gw = gateway().await;
    let mut alice = connect(&gw, "alice").await;
    let (count, size) = (20_000u64, 200usize);
    send_json(
        &mut alice,
        json!({"event": "bench-flood", "data": {"count": count, "size": size}}),
    )
    .await;
    for seq in 0..count {
        let frame = timeout(WAIT, alice.next()).await.unwrap().unwrap().unwrap();
        let Message::Text(text) = frame else {
            panic!("text frames only")
        };
        assert!(
            text.len().abs_diff(size) <= 8,
            "frame of {} bytes",
            text.len()
        );
        let v: Value = serde_json::from_str(text.as_str()).unwrap();
        assert_eq!(v["event"], "bench");
        assert_eq!(v["data"]["seq"], seq);
    }
    assert_eq!(
        next_json(&mut alice).await,
        json!({"event": "bench-end", "data": {"count": count}})
    );
}

#[tokio::test]
async fn bench_chunked_sends_one_job_that_reassembles_to_the_blob() {
    let gw = gateway().await;
    let mut alice = connect(&gw, "alice").await;
    let (bytes, chunk) = (3 * 1024 * 1024 + 17, 256 * 1024);
    send_json(
        &mut alice,
        json!({"event": "bench-chunked", "data": {"bytes": bytes, "chunk": chunk}}),
    )
    .await;
    let (whole, largest) = reassemble(&mut alice).await;
    assert_eq!(whole["event"], "bench-payload");
    let blob = whole["data"]["blob"].as_str().unwrap();
    assert_eq!(blob.len(), bytes);
    assert!(blob.is_ascii());
    assert!(largest <= chunk / 3 * 4 + 200, "frame of {largest} bytes");
}

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

#[tokio::test]
async fn tls_serves_login_and_wss_with_the_given_certificate() {
    install_crypto();
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let cert_pem = cert.cert.pem();
    let gw = DevGateway::builder()
        .user("alice", "alice-pw")
        .tls(cert_pem.clone(), cert.signing_key.serialize_pem())
        .start()
        .await
        .unwrap();
    assert!(gw.login_url().starts_with("https://"));

    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.cert.der().clone()).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let client_config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();

    let http = reqwest::Client::builder()
        .use_preconfigured_tls(client_config.clone())
        .build()
        .unwrap();
    let res = http
        .post(gw.login_url())
        .json(&json!({"name": "alice", "password": "alice-pw"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    let token = body["access_token"].as_str().unwrap();

    let connector = tokio_tungstenite::Connector::Rustls(Arc::new(client_config));
    let (mut ws, _) = tokio_tungstenite::connect_async_tls_with_config(
        gw.ws_url(token),
        None,
        false,
        Some(connector),
    )
    .await
    .unwrap();
    send_json(&mut ws, json!({"event": "bench-echo", "data": "over tls"})).await;
    assert_eq!(next_json(&mut ws).await["data"], "over tls");

    // A client that does not trust the certificate is refused.
    assert!(
        reqwest::Client::new()
            .post(gw.login_url())
            .send()
            .await
            .is_err()
    );
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
