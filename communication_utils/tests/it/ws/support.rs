//! Shared support for the `ws_*` integration tests: a development gateway on
//! 127.0.0.1:0 with known users, client builders for it, and bounded waits.
#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use ms_utils_communication::ws::{
    ConnectionState, Message, MicroServiceWs, ReconnectPolicy, WsConfigBuilder,
};
use ms_utils_dev::gateway::DevGateway;
pub use ms_utils_dev::testing::{within, within_for};
use tokio::sync::watch;

pub const ALICE: (&str, &str) = ("alice", "alice-pw");
pub const BOB: (&str, &str) = ("bob", "bob-pw");

/// A plain (no TLS) development gateway with users alice and bob.
pub async fn gateway() -> DevGateway {
    DevGateway::builder()
        .user(ALICE.0, ALICE.1)
        .user(BOB.0, BOB.1)
        .start()
        .await
        .expect("gateway starts")
}

/// A client builder for `user` on `gw`: no TLS, fast reconnects.
pub fn config(gw: &DevGateway, user: (&str, &str)) -> WsConfigBuilder {
    MicroServiceWs::builder(gw.host())
        .tls(false)
        .credentials(user.0, user.1)
        .reconnect(ReconnectPolicy::new(
            Duration::from_millis(5),
            Duration::from_millis(50),
        ))
}

pub async fn connect(gw: &DevGateway, user: (&str, &str)) -> MicroServiceWs {
    within("connect", config(gw, user).connect())
        .await
        .expect("client connects")
}

/// Waits until the gateway has an open connection for `user`.
pub async fn wait_connected(gw: &DevGateway, user: &str) {
    within("gateway sees the user", gw.faults().wait_connected(user)).await;
}

/// Waits until `state` satisfies `pred`.
pub async fn wait_state(
    state: &mut watch::Receiver<ConnectionState>,
    pred: impl FnMut(&ConnectionState) -> bool,
) {
    within("connection state", state.wait_for(pred))
        .await
        .expect("state channel open");
}

/// The next message from `ms.receive()`, bounded.
pub async fn next(ms: &MicroServiceWs) -> Message {
    within("a message", ms.receive()).await.expect("receive")
}

/// A service on the gateway that is not ms_utils: a bare login (reqwest)
/// and websocket (tokio-tungstenite), to see byte for byte what another
/// platform service sends to ours and gets back.
pub struct RawPeer {
    ws: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

pub const CAROL: (&str, &str) = ("carol", "carol-pw");

/// A gateway with alice, bob and carol (the raw peer's login).
pub async fn gateway_with_carol() -> DevGateway {
    DevGateway::builder()
        .user(ALICE.0, ALICE.1)
        .user(BOB.0, BOB.1)
        .user(CAROL.0, CAROL.1)
        .start()
        .await
        .expect("gateway starts")
}

impl RawPeer {
    /// Logs in as carol and opens a websocket; returns once the gateway
    /// has registered it (so that routing to it cannot race).
    pub async fn connect(gw: &DevGateway) -> RawPeer {
        // reqwest is built without a default TLS provider; tests pick ours.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let login = reqwest::Client::new()
            .post(gw.login_url())
            .json(&serde_json::json!({"name": CAROL.0, "password": CAROL.1}))
            .send();
        let body: serde_json::Value = within("login", login)
            .await
            .expect("login answered")
            .json()
            .await
            .expect("login body");
        let token = body["access_token"].as_str().expect("a token").to_owned();
        let (ws, _) = within(
            "websocket",
            tokio_tungstenite::connect_async(gw.ws_url(&token)),
        )
        .await
        .expect("websocket opens");
        wait_connected(gw, CAROL.0).await;
        RawPeer { ws }
    }

    /// Sends `text` as one text frame.
    pub async fn send_text(&mut self, text: &str) {
        use futures_util::SinkExt as _;
        self.ws
            .send(tokio_tungstenite::tungstenite::Message::text(text))
            .await
            .expect("raw send");
    }

    /// Sends the `ms-send-task` a Python service sends, to `to`: `data`
    /// under `jobId` `job_id`, with `referenceId` and `workflowId` both
    /// `reference_id`.
    pub async fn send_task(
        &mut self,
        to: &str,
        reference_id: &str,
        job_id: &str,
        data: serde_json::Value,
    ) {
        let text = serde_json::json!({"event": "ms-send-task", "data": {
            "to": to, "workflowId": reference_id, "referenceId": reference_id,
            "jobId": job_id, "data": data}});
        self.send_text(&text.to_string()).await;
    }

    /// The next text frame, parsed.
    pub async fn next_json(&mut self) -> serde_json::Value {
        use futures_util::StreamExt as _;
        loop {
            let frame = within("a frame for the raw peer", self.ws.next())
                .await
                .expect("the socket is open")
                .expect("a frame");
            if let tokio_tungstenite::tungstenite::Message::Text(text) = frame {
                return serde_json::from_str(text.as_str()).expect("JSON");
            }
        }
    }
}
