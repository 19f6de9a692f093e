//! Gateway websocket client and S3 bucket client for the platform's Rust
//! microservices.
//!
//! - [`ws`] (feature `ws`): `MicroServiceWs`, the gateway client.
//! - [`s3`] (feature `s3`): `S3BucketClient`, the bucket client.
//! - [`protocol`]: the gateway protocol these clients speak, written down
//!   (login, envelopes, chunking, embedding jobs, delivery).
//!
//! The development gateway and S3 server used by the tests live in the
//! `ms_utils_dev` crate (`ms_utils::dev` with the `test-util` feature).
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(any(feature = "ws", feature = "s3"))]
mod error_chain;
#[cfg(any(feature = "ws", feature = "s3"))]
mod lock;
#[cfg(any(feature = "ws", feature = "s3"))]
mod percent;
#[cfg(all(test, any(feature = "ws", feature = "s3")))]
mod prop_seed;

#[cfg(feature = "ws")]
pub mod ws;

#[cfg(feature = "s3")]
pub mod s3;

// A document, no code: the gateway protocol, in `protocol.md` beside this file.
#[doc = include_str!("protocol.md")]
pub mod protocol {}

// The two clients at the crate root, as in the Python package
// (`from ms_utils.communication_utils import MicroServiceWs, S3BucketClient`).
#[cfg(feature = "s3")]
pub use s3::S3BucketClient;
#[cfg(feature = "ws")]
pub use ws::MicroServiceWs;
