//! Embedding ("encoding") jobs over the platform gateway and the bucket, and
//! the small codecs they use. Most services reach it as
//! `ms_utils::encoding_utils`.
//!
//! # Quick start
//!
//! ```no_run
//! use std::time::Duration;
//! use ms_utils_communication::s3::S3BucketClient;
//! use ms_utils_communication::ws::{Message, MicroServiceWs};
//! use ms_utils_encoding::{EncodingJob, TaskTracker, send_encoding_job};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let ms = MicroServiceWs::builder("gateway.example.com")
//!         .credentials("my-service", "secret")
//!         .connect()
//!         .await?;
//!     let s3 = S3BucketClient::from_env("documents").await?;
//!
//!     // One tracker for the whole service: it matches job results to the
//!     // jobs waiting for them. Every other message goes to your handler.
//!     let tracker = TaskTracker::new();
//!     let _run = ms.run(tracker.handler(|msg: Message| async move {
//!         println!("a message for the application: {:?}", msg.event());
//!         Ok::<(), std::io::Error>(())
//!     }));
//!
//!     let job = EncodingJob::new(["first passage", "second passage"], "ref-1", "job-1")
//!         .normalize(true)
//!         .timeout(Duration::from_secs(120));
//!     let (vectors, consumption) = send_encoding_job(&ms, &s3, "my-bucket", &tracker, &job).await?;
//!     println!("{} vectors, consumption {consumption}", vectors.len());
//!
//!     ms.close().await?;
//!     Ok(())
//! }
//! ```
//!
//! # What it does ([protocol: embedding jobs](ms_utils_communication::protocol#embedding-jobs))
//!
//! [`send_encoding_job`] uploads the texts as a JSON array to
//! `encoder/<uuid4>.json`, sends `workers_manager` the task the Python
//! original sends (byte-for-byte; see [`EncodingTask`]), waits for the job's
//! outcome on a [`TaskTracker`] with a real deadline, downloads and deletes
//! the result file, and returns `(vectors, consumption)`. The outcome is
//! delivered by the tracker's default matcher for `ms-task-result` replies
//! ([`parse_task_result`]) or by your own handler through
//! [`TaskTracker::complete`].
//!
//! # Differences from the Python original
//! - The outcome is matched by `jobId` in a table ([`TaskTracker`]) instead of
//!   one polled dict, so many jobs can run at once and none waits a second
//!   more than needed.
//! - `timeout` is a real deadline (the original's loop exits after one second).
//! - Failures are typed ([`Error`]); on any failure after the upload the
//!   input file is deleted (the original left it).
//! - A result that is not a list of one vector per text is an error, and the
//!   file is left in the bucket for inspection.
//!
//! # Also here
//! - [`codec`]: base64 helpers, [`chunk_messages`](codec::chunk_messages)
//!   ([protocol: chunking](ms_utils_communication::protocol#chunking)) and [`jwt_claims`](codec::jwt_claims).
//!
//! A `workers_manager` stand-in that answers these jobs without a GPU, for
//! development and tests, is in the `ms_utils_dev` crate
//! (`ms_utils::dev::worker` with the `test-util` feature).
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod codec;
mod error;
mod job;
mod task;
mod tracker;

pub use error::Error;
pub use job::{Embeddings, download_data, send_encoding_job};
pub use task::{
    DEFAULT_MODEL, EncodingJob, EncodingParams, EncodingTask, INPUT_PREFIX, TEXT_TO_EMBEDDINGS,
    WORKERS_MANAGER,
};
pub use tracker::{
    JobOutcome, TASK_RESULT_EVENT, TaskTracker, TrackedFuture, TrackingHandler, parse_task_result,
};
