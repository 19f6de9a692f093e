//! The gateway websocket client (under construction).
pub mod chunks;
