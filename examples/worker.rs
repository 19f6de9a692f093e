//! `worker`: a `workers_manager` stand-in that answers `text-to-embeddings`
//! tasks with a real, deterministic embedding (feature hashing of word
//! unigrams and bigrams into 384 dimensions; see
//! `ms_utils::dev::hashing_embedding` for the exact algorithm),
//! through the bucket, so that services calling `send_encoding_job` can be
//! run and tested without a GPU service.
//!
//! ```text
//! # terminal 1: a development gateway and S3 server (or use a real gateway)
//! cargo run -p ms_utils_dev --bin ms-utils-dev -- \
//!     --user workers_manager:wm-pw --user my_service:svc-pw --bucket documents
//! # terminal 2: paste the `export ...` lines it printed, then
//! GATEWAY_USER=workers_manager GATEWAY_PASSWORD=wm-pw cargo run --example worker
//! ```
//!
//! For each task it reads the input object named by the task (a JSON array
//! of strings), deletes it, writes the vectors as a JSON array of arrays to
//! `encoder/results/<jobId>-<uuid4>.json`, and answers the sender with an
//! `ms-task-result` (`type` `ok` with the object name and a consumption
//! object, or `error` with the reason).
//!
//! Environment: `GATEWAY_HOST` (required), `GATEWAY_USER` (default
//! `workers_manager`), `GATEWAY_PASSWORD`, `GATEWAY_TLS`, ... as for
//! `gateway_consumer`, and `S3_ENDPOINT`, `S3_ACCESS_KEY_ID`,
//! `S3_SECRET_ACCESS_KEY`, `S3_REGION`. Runs until Ctrl-C or SIGTERM. Without
//! `GATEWAY_HOST` it says how to start and exits 2 (`gateway_consumer` runs
//! this same worker in-process for its demonstration).

use std::process::ExitCode;

use ms_utils::communication_utils::s3::S3BucketClient;
use ms_utils::communication_utils::ws::{MicroServiceWs, WsConfigBuilder};
use ms_utils::dev::worker::EmbeddingWorker;
use ms_utils::encoding_utils::WORKERS_MANAGER;
use ms_utils::logging_lib::Logger;
// The crates ms_utils is built with: like gateway_consumer, this file needs no other dependency.
use ms_utils::{tokio, tracing};

#[tokio::main(crate = "ms_utils::tokio")]
async fn main() -> ExitCode {
    if std::env::var_os("GATEWAY_HOST").is_none() {
        eprintln!(
            "worker: GATEWAY_HOST is not set.\n\
             Point it at a gateway (e.g. the lines `ms-utils-dev` prints) and run again,\n\
             or run `cargo run --example gateway_consumer`, which starts this worker in-process."
        );
        return ExitCode::from(2);
    }
    let _log_guard = Logger::setup(WORKERS_MANAGER).ok();
    match serve().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "worker stopped on an error");
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn serve() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut builder = WsConfigBuilder::from_env();
    if std::env::var_os("GATEWAY_USER").is_none() {
        let password = std::env::var("GATEWAY_PASSWORD").unwrap_or_default();
        builder = builder.credentials(WORKERS_MANAGER, password);
    }
    let ms = MicroServiceWs::connect(builder.build()?).await?;
    let s3 = S3BucketClient::from_env(WORKERS_MANAGER).await?;
    let run = EmbeddingWorker::new(ms.clone(), s3).serve();
    // Ctrl-C, or SIGTERM from a container runtime.
    let stop = ms_utils::shutdown_signal();
    tracing::info!("answering text-to-embeddings tasks; Ctrl-C to stop");
    stop.await;
    tracing::info!("shutting down");
    ms.close().await?;
    run.finished().await?;
    Ok(())
}
