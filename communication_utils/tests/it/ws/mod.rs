//! The gateway client against the development gateway on loopback.

mod support;

mod accounting;
mod answers;
mod call;
mod chunks;
mod close;
mod config;
mod connect_setup;
mod delivery;
mod dispatch;
mod frames;
mod gateway_closes;
mod handler_time;
mod interop_python;
mod login;
#[cfg(feature = "metrics")]
mod metrics;
mod oversized;
mod receipts;
mod reconnect;
mod request;
mod router_routes;
mod secrets;
mod task;
mod tls;
