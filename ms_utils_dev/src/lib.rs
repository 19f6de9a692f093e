//! Development servers for `ms_utils`: real servers on loopback sockets, for
//! integration tests (ours and a service's) and local development. Not for
//! production: tokens and users live in memory, and everything binds
//! `127.0.0.1`.
//!
//! - [`gateway`] (feature `gateway`): [`gateway::DevGateway`], the platform
//!   gateway (login, websocket routing, chunking of large messages) with
//!   fault injection and a record of what clients sent
//!   ([`gateway::FaultControl`]).
//! - [`s3`] (feature `s3`): [`s3::DevS3Server`], an S3-compatible server on a
//!   folder, with signature checks.
//! - [`worker`] (feature `worker`): [`worker::EmbeddingWorker`], a
//!   `workers_manager` stand-in answering embedding tasks with the
//!   deterministic [`hashing_embedding`].
//! - [`testing`]: support for tests, such as an in-memory log sink.
//! - The `ms-utils-dev` binary runs the gateway and the S3 server until
//!   Ctrl-C, for pointing a Rust or Python service at them:
//!   `cargo run -p ms_utils_dev --bin ms-utils-dev -- --user orders:orders-pw`.
//!
//! A service reaches this crate as `ms_utils::dev`, with `ms_utils`'s
//! `test-util` feature in its `[dev-dependencies]`.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "gateway")]
pub mod gateway;

#[cfg(feature = "s3")]
pub mod s3;

#[cfg(feature = "worker")]
pub mod hashing_embedding;
#[cfg(feature = "worker")]
pub mod worker;

pub mod testing;
