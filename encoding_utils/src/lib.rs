//! Embedding ("encoding") jobs over the platform gateway and the bucket, and
//! the small codecs they use. Most services reach it as
//! `ms_utils::encoding_utils`.
//!
//! # Quick start
//!
//! ```no_run
//! use std::time::Duration;
//! use ms_utils_communication::s3::S3BucketClient;
//! use ms_utils_communication::ws::MicroServiceWs;
//! use ms_utils_encoding::{EncodingJob, send_encoding_job};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let ms = MicroServiceWs::builder("gateway.example.com")
//!         .credentials("my-service", "secret")
//!         .connect()
//!         .await?;
//!     let s3 = S3BucketClient::from_env("documents").await?;
//!
//!     // The job's outcome comes back through the client's own reply table:
//!     // no handler to wrap, and the service's `run` loop (if any) sees
//!     // every other message.
//!     let job = EncodingJob::new(["first passage", "second passage"], "ref-1", "job-1")
//!         .normalize(true)
//!         .timeout(Duration::from_secs(120));
//!     let (vectors, consumption) = send_encoding_job(&ms, &s3, "my-bucket", &job).await?;
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
//! original sends (byte-for-byte; see [`EncodingTask`]) as a call of the
//! gateway client ([`MicroServiceWs::call`](ms_utils_communication::ws::MicroServiceWs::call)),
//! under the job's id and reference id, waits for the job's outcome with a
//! real deadline, downloads and deletes the result file, and returns
//! `(vectors, consumption)`. [`JobOutcome`] and [`parse_task_result`] write
//! and read that outcome, for workers and for handlers that meet one.
//!
//! # Differences from the Python original
//! - The outcome is matched by `jobId` in the gateway client's table of
//!   waiting calls instead of one dict that the application's handler fills
//!   and the job polls, so many jobs (and other calls) can wait at once,
//!   none waits a second more than needed, and the handler has nothing to
//!   do for it.
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
mod outcome;
mod task;

pub use error::Error;
pub use job::{Embeddings, download_data, send_encoding_job};
pub use ms_utils_communication::ws::TASK_RESULT_EVENT;
pub use outcome::{JobOutcome, parse_task_result};
pub use task::{
    DEFAULT_MODEL, EncodingJob, EncodingParams, EncodingTask, INPUT_PREFIX, TEXT_TO_EMBEDDINGS,
    WORKERS_MANAGER,
};
