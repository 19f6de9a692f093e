//! `ms_utils`: what every Rust microservice of the platform uses to talk to the
//! rest of it: the gateway websocket client, the S3 bucket client, the common
//! logger and the embedding-job helpers. This crate is the facade: it
//! re-exports the workspace's crates, and cargo features pick the parts.
//!
//! | feature | default | module |
//! |---|---|---|
//! | `ws` | yes | [`communication_utils::ws`]: `MicroServiceWs`, the gateway client |
//! | `s3` | yes | [`communication_utils::s3`]: `S3BucketClient`, the bucket client |
//! | `encoding` | yes | [`encoding_utils`]: embedding jobs (turns on `ws` and `s3`) |
//! | `logging` | yes | [`logging_lib`]: `Logger`, the common log format |
//! | `test-util` | no | [`dev`]: in-process development gateway (with `ws`), S3 server (with `s3`) and `workers_manager` stand-in (with `encoding`), for a service's tests |
//!
//! The names of the Python package are kept: `ms_utils::communication_utils`,
//! `ms_utils::logging_lib`, `ms_utils::encoding_utils`, and the main types are
//! also at the crate root.
#![cfg_attr(docsrs, feature(doc_cfg))]

/// The gateway websocket client and the S3 bucket client (features `ws`, `s3`).
#[cfg(any(feature = "ws", feature = "s3"))]
pub use ms_utils_communication as communication_utils;

/// Embedding jobs over the gateway and the bucket, and their codecs (feature `encoding`).
///
/// The crate is published as `ms_utils_encoding` (`encoding-utils` is taken on
/// crates.io); here it keeps the Python package's name.
#[cfg(feature = "encoding")]
pub use ms_utils_encoding as encoding_utils;

/// Development servers for a service's tests (feature `test-util`): the
/// gateway with fault injection, an S3-compatible server, a
/// `workers_manager` stand-in. Published as the `ms_utils_dev` crate.
#[cfg(feature = "test-util")]
pub use ms_utils_dev as dev;

/// The platform's common logger (feature `logging`).
#[cfg(feature = "logging")]
pub use ms_utils_logging as logging_lib;

/// The gateway websocket client (feature `ws`); see [`communication_utils::ws`].
#[cfg(feature = "ws")]
pub use communication_utils::ws::MicroServiceWs;

/// The S3 bucket client (feature `s3`). Its configuration, options and
/// error types live next to it in [`communication_utils::s3`]: `S3Config`,
/// `TransferConfig`, `UploadOptions`, `DownloadOptions`,
/// `ProgressBarListener`, `ObjectMetadata`, `Error`. With `test-util` (and
/// `s3`), `dev::s3::DevS3Server` is an in-process S3
/// server for a service's own tests.
///
/// ```no_run
/// use ms_utils::S3BucketClient;
/// use ms_utils::communication_utils::s3::{S3Config, TransferConfig, UploadOptions};
///
/// # async fn run() -> Result<(), ms_utils::communication_utils::s3::Error> {
/// let mut transfer = TransferConfig::default();
/// transfer.concurrency = 8;
/// let config = S3Config::builder()
///     .endpoint("http://127.0.0.1:9000")
///     .credentials("access-key", "secret-key")
///     .transfer(transfer)
///     .build()?;
/// let client = S3BucketClient::new("documents", config).await?;
/// client.upload_file("report.pdf", "my-bucket", None, UploadOptions::new()).await?;
/// # Ok(()) }
/// ```
#[cfg(feature = "s3")]
pub use communication_utils::s3::S3BucketClient;

/// The common logger and the timing macro (feature `logging`); see [`logging_lib`].
#[cfg(feature = "logging")]
pub use logging_lib::{Logger, time_it};

mod shutdown;
pub use shutdown::shutdown_signal;

/// The tokio this crate is built with (its clients' handles, channels and
/// futures are tokio's). Re-exported so that a service, like the copied
/// `examples/gateway_consumer.rs`, can depend on `ms_utils` alone:
/// `#[ms_utils::tokio::main(crate = "ms_utils::tokio")]`.
pub use tokio;

/// The JSON crate of [`Message`](communication_utils::ws::Message) values,
/// re-exported for the same reason as [`tokio`]: `ms_utils::serde_json::json!`.
pub use serde_json;

/// The logging facade the libraries emit events on and [`Logger`] collects,
/// re-exported for the same reason as [`tokio`]: `ms_utils::tracing::info!`.
pub use tracing;

// The README's code blocks are compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
