//! The gateway websocket client: [`MicroServiceWs`].
//!
//! A Rust microservice's link to the platform gateway, speaking the same wire
//! protocol as the Python `ms_utils` (`msutils-lib` 1.0.7) so that both can sit
//! on one gateway: HTTP login for a token, a websocket carrying JSON messages,
//! large messages split into chunk messages.
//!
//! # Quick start
//!
//! ```no_run
//! use ms_utils_communication::ws::{Message, MicroServiceWs};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), ms_utils_communication::ws::Error> {
//!     // Or WsConfigBuilder::from_env() with GATEWAY_HOST, GATEWAY_USER, GATEWAY_PASSWORD, ...
//!     let ms = MicroServiceWs::builder("gateway.example.com")
//!         .credentials("my-service", "secret")
//!         .connect()
//!         .await?;
//!
//!     let replier = ms.clone();
//!     let run = ms.run(move |msg: Message| {
//!         let ms = replier.clone();
//!         async move {
//!             if msg.event() == Some("ms-task") {
//!                 let data = msg.data().cloned().unwrap_or_default();
//!                 let from = data["from"].as_str().unwrap_or_default().to_owned();
//!                 let job = data["jobId"].as_str().unwrap_or_default().to_owned();
//!                 ms.send_task_to_ms(&from, &job, &job, serde_json::json!({"ok": true})).await?;
//!             }
//!             Ok::<(), ms_utils_communication::ws::Error>(())
//!         }
//!     });
//!
//!     tokio::signal::ctrl_c().await.ok();
//!     ms.close().await?;
//!     run.finished().await
//! }
//! ```
//!
//! # What it guarantees
//!
//! - One task owns the socket ([`MicroServiceWs`] is a handle to it). Messages
//!   accepted by [`send`](MicroServiceWs::send) are written in order and
//!   survive reconnects; a frame whose write failed is written again.
//! - Delivery is confirmed, not assumed ([`DeliveryMode`] says how): a
//!   confirmation ping after the messages in flight, or the gateway's answer
//!   to the client's close frame. Messages a connection ended without confirming are written
//!   again on the next one ([`DeliveryMode::AtLeastOnce`], the default) or
//!   reported as possibly lost ([`DeliveryMode::AtMostOnce`]). Nothing is
//!   written on a new connection before the gateway has finished with the
//!   old one (bounded), so arrival order is send order.
//! - [`close`](MicroServiceWs::close) delivers everything accepted,
//!   reconnecting if it must, within its timeout, or returns
//!   [`Error::Undelivered`] with the messages; [`flush`](MicroServiceWs::flush)
//!   waits until everything accepted before it is written.
//! - After any loss it logs in again and reconnects with exponential backoff and
//!   full jitter ([`ReconnectPolicy`]), reporting each step on
//!   [`state`](MicroServiceWs::state) and [`events`](MicroServiceWs::events).
//! - Wrong credentials fail `connect` at once with [`Error::BadCredentials`].
//! - [`run`](MicroServiceWs::run) gives each message to a handler task, bounded
//!   (the socket is not read while all handlers are busy), with per-key
//!   [`Strategy`]; errors and panics are logged and counted, never fatal.
//! - Chunked messages are reassembled with bounded memory ([`chunks`]); bad
//!   frames are logged and dropped, never fatal.
//! - Passwords and tokens appear in no log line, no error and no `Debug`.

// The parts, as folders: `protocol` (pure wire formats, no I/O),
// `connection` (the actor that owns the socket: dialing, login, writes and
// their ledger, reads, closing), `inbound` (frames to messages: buffer,
// parsing, chunk reassembly, request correlation), `dispatch` (messages to
// handlers: strategies, the router, typed tasks). `client` is the handle
// users hold, `shared` what all of them share.
mod client;
mod command;
mod config;
mod connection;
mod delivery;
mod dispatch;
mod error;
mod in_flight;
mod inbound;
#[cfg(feature = "metrics")]
mod metrics;
mod protocol;
mod receipt;
mod shared;
mod state;

pub use protocol::chunks;

pub use chunks::{ChunkAssembler, ChunkDrop, ChunkDropReason, ChunkLimits, Eviction};
pub use client::{Call, DEFAULT_CALL_TIMEOUT, MicroServiceWs, Reply};
pub use config::backoff::ReconnectPolicy;
pub use config::{WsConfig, WsConfigBuilder, env};
pub use delivery::{DeliveryMode, OutgoingFrame, Undelivered};
pub use dispatch::context::{CallContext, Context};
pub use dispatch::router::{RouteTable, Router};
pub use dispatch::task::Task;
pub use dispatch::{
    FailedCall, Handler, HandlerCall, HandlerError, RunHandle, RunOptions, Strategy,
};
pub use error::Error;
pub use protocol::jwt::{jwt_claims, jwt_expiry};
pub use protocol::message::Message;
pub use protocol::outcome::TASK_RESULT_EVENT;
pub use protocol::python_json::{PythonFormatter, ms_send_task, to_python_json};
pub use protocol::uri::{login_url, redacted_ws_uri, ws_uri};
pub use receipt::Receipt;
pub use state::{ConnectionState, DisconnectReason, Event, HandlerFailure, Stats};
