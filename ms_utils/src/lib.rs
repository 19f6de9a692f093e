//! `ms_utils`: what every Rust microservice of the platform uses to talk to the
//! rest of it: the gateway websocket client, the S3 bucket client, the common
//! logger and the embedding-job helpers. It is the Rust port of the Python
//! `ms_utils` package (PyPI `msutils-lib`): a Rust and a Python service share
//! the same gateway, buckets and log format.
//!
//! # Quick start
//!
//! One dependency is enough: tokio, serde_json and tracing come re-exported
//! (`use ms_utils::{tokio, serde_json, tracing};`, and
//! `#[tokio::main(crate = "ms_utils::tokio")]` for the runtime).
//!
//! ```toml
//! [dependencies]
//! ms_utils = "0.1"
//! ```
//!
//! A service that logs, connects to the gateway, answers the tasks other
//! services send it (each task typed, with the service's state at hand), asks
//! another service for work, and writes to a bucket:
//!
//! ```no_run
//! use ms_utils::communication_utils::s3::UploadOptions;
//! use ms_utils::communication_utils::ws::{Context, Router, Task, WsConfigBuilder};
//! use ms_utils::serde_json::{Value, json};
//! use ms_utils::{Logger, MicroServiceWs, S3BucketClient, serde, tokio, tracing};
//!
//! type BoxError = Box<dyn std::error::Error + Send + Sync>;
//!
//! /// What another service asks of this one: the `data` of its task.
//! #[derive(serde::Deserialize)]
//! #[serde(crate = "ms_utils::serde")]
//! struct Archive {
//!     file: String,
//! }
//!
//! /// What every task handler reaches through its context, never cloned.
//! struct App {
//!     s3: S3BucketClient,
//! }
//!
//! /// One task. What it returns is the answer its sender gets; if it fails
//! /// (or the task's data is not an `Archive`), the sender gets the platform's
//! /// error outcome instead: every task is answered.
//! async fn archive(task: Task<Archive>, cx: Context<App>) -> Result<Value, BoxError> {
//!     // Every line logged here carries the task's sender and job id.
//!     tracing::info!(file = %task.data.file, "archiving");
//!     let key = format!("archive/{}", task.data.file);
//!     let options = UploadOptions::new();
//!     cx.state().s3.upload_file(&task.data.file, "documents", Some(&key), options).await?;
//!     Ok(json!({"status": "ok", "key": key}))
//! }
//!
//! #[tokio::main(crate = "ms_utils::tokio")]
//! async fn main() -> Result<(), BoxError> {
//!     // The logger first. Keep the guard until the end: dropping it flushes the file.
//!     let _guard = Logger::setup("my_service")?;
//!     // Log in and connect (GATEWAY_HOST, GATEWAY_USER, GATEWAY_PASSWORD, GATEWAY_TLS)
//!     // and open the bucket client (S3_ENDPOINT, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY).
//!     let ms = MicroServiceWs::connect(WsConfigBuilder::from_env().build()?).await?;
//!     let s3 = S3BucketClient::from_env("my_service").await?;
//!
//!     // Each task goes to `archive`, in a task of its own.
//!     let run = ms.run(Router::with_state(App { s3 }).task(archive));
//!
//!     // Asking another service and reading its answer typed: an error answer
//!     // is an error here.
//!     let area: u32 = ms.call("resizer", json!({"width": 21})).data().await?;
//!     tracing::info!(area, "resizer answered");
//!
//!     // Serve until Ctrl-C or SIGTERM, then close cleanly: running handlers
//!     // finish and their answers go out, then what was sent is delivered.
//!     ms_utils::shutdown_signal().await;
//!     ms.close().await?;
//!     run.finished().await?;
//!     Ok(())
//! }
//! ```
//!
//! A failure in `main` prints one line that says what failed, where and why
//! (every error type of `ms_utils` prints that line for `{:?}` too), e.g.
//! `Error: login to http://gateway.example.com/auth-ms/login failed: Connection
//! refused (os error 111)`.
//!
//! From there:
//!
//! - [`MicroServiceWs`]: sending ([`send`](MicroServiceWs::send),
//!   [`send_task_to_ms`](MicroServiceWs::send_task_to_ms)), asking and
//!   waiting for the answer ([`call`](MicroServiceWs::call)), tasks answered
//!   and routed by event ([`Router`](communication_utils::ws::Router)), per-job
//!   strategies, connection state and statistics; the module
//!   [`communication_utils::ws`] says what the client guarantees.
//! - [`S3BucketClient`]: downloads, metadata, listings, presigned URLs.
//! - [`encoding_utils::send_encoding_job`]: embedding jobs through the
//!   bucket and `workers_manager`.
//! - [`Logger`] and [`time_it!`]: the log format and its options.
//! - [`communication_utils::protocol`]: the gateway protocol itself (login,
//!   message envelopes, chunking, embedding jobs, delivery guarantees).
//! - [`dev`] (feature `test-util`): development gateway, S3 server and
//!   `workers_manager` stand-in, in-process, for a service's own tests. Put
//!   the feature in `[dev-dependencies]`.
//!
//! # Features
//!
//! | feature | default | module |
//! |---|---|---|
//! | `ws` | yes | [`communication_utils::ws`]: `MicroServiceWs`, the gateway client |
//! | `s3` | yes | [`communication_utils::s3`]: `S3BucketClient`, the bucket client |
//! | `encoding` | yes | [`encoding_utils`]: embedding jobs (turns on `ws` and `s3`) |
//! | `logging` | yes | [`logging_lib`]: `Logger`, the common log format |
//! | `metrics` | no | the gateway client's `Stats` through the `metrics` facade (`ms_utils_ws_*`, label `client`); see `MicroServiceWs::publish_metrics` |
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

/// serde (with its derive macros), for typed task payloads
/// ([`Task<T>`](communication_utils::ws::Task)) in a service that depends on
/// `ms_utils` alone: derive with `#[serde(crate = "ms_utils::serde")]`.
///
/// ```
/// use ms_utils::serde::Deserialize;
///
/// #[derive(Deserialize)]
/// #[serde(crate = "ms_utils::serde")]
/// struct Resize {
///     width: u32,
/// }
/// let r: Resize = ms_utils::serde_json::from_str(r#"{"width": 3}"#).unwrap();
/// assert_eq!(r.width, 3);
/// ```
pub use serde;

/// The logging facade the libraries emit events on and [`Logger`] collects,
/// re-exported for the same reason as [`tokio`]: `ms_utils::tracing::info!`.
pub use tracing;

// The README's code blocks (this package's README, the one crates.io shows)
// are compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
