//! The development gateway itself, driven by bare clients (reqwest for the
//! login, tokio-tungstenite for the websocket) so that its behaviour is
//! pinned independently of `MicroServiceWs`. One module per behaviour area,
//! the shared support here.

mod bench;
mod faults;
mod login;
mod routing;
mod secrets;
mod tls;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::{SinkExt as _, StreamExt as _};
use ms_utils_communication::ws::chunks::{ChunkAssembler, ChunkLimits, chunk_texts};
use ms_utils_dev::gateway::DevGateway;
use ms_utils_dev::testing::LogCapture;
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
