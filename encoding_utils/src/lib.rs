//! Embedding ("encoding") jobs over the gateway and the bucket, and the small
//! codecs they use (under construction).
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]
