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
