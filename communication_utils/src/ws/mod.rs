//! The gateway websocket client (under construction).
