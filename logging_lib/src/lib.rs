//! The platform's common logger (under construction).
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]
