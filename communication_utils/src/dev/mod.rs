//! In-process development servers for tests and local development: the
//! gateway (PROTOCOL §4) and an S3-compatible server. Enabled by the
//! `test-util` feature; both bind loopback only.

#[cfg(feature = "s3")]
pub mod s3;

#[cfg(feature = "ws")]
pub mod gateway;
