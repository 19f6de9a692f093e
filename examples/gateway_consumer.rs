//! `gateway_consumer`: a microservice on the platform gateway, the Rust form
//! of the Python seed's `UseMicroServiceWs`. Copy this file into a new
//! service as `src/main.rs` and change the parts marked `CHANGE`. It needs
//! `ms_utils` with its default features and nothing else (tokio, serde_json
//! and tracing come re-exported from it):
//!
//! ```toml
//! [dependencies]
//! ms_utils = "0.1"
//! ```
//!
//! It serves the gateway named by the environment until Ctrl-C or SIGTERM,
//! then closes cleanly. Without `GATEWAY_HOST` it says what is missing and
//! exits 2. Environment:
//!
//! | variable | meaning |
//! |---|---|
//! | `GATEWAY_HOST` | gateway `host[:port]` (required) |
//! | `GATEWAY_USER`, `GATEWAY_PASSWORD` | this service's login |
//! | `GATEWAY_TLS` | `true` (default) or `false` |
//! | `GATEWAY_PATH`, `GATEWAY_NEED_TOKEN`, `GATEWAY_CA_FILE` | see `ws::env` |
//! | `S3_ENDPOINT`, `S3_ACCESS_KEY_ID`, `S3_SECRET_ACCESS_KEY`, `S3_REGION` | the bucket store |
//! | `S3_BUCKET` | the bucket embedding jobs use (default `documents`) |
//! | `RUST_LOG` | log filter, e.g. `info,ms_utils_communication=debug` |
//!
//! `ms-utils-dev` (in the `ms_utils` repository) starts a development gateway
//! and S3 server on this machine and prints these variables for them.
//!
//! In the `ms_utils` repository, `cargo run --example gateway_consumer` runs
//! this file with no server at all: `gateway_consumer_demo.rs` starts the
//! development servers in-process, serves one embedding job and one task
//! round trip with the code below, and exits.

use std::process::ExitCode;
use std::time::Duration;

use ms_utils::communication_utils::s3::S3BucketClient;
use ms_utils::communication_utils::ws::{
    ConnectionState, Context, MicroServiceWs, Router, RunHandle, Task, WsConfig, WsConfigBuilder,
};
use ms_utils::encoding_utils::{EncodingJob, send_encoding_job};
use ms_utils::logging_lib::{LogGuard, Logger};
// The crates ms_utils is built with, so that this file needs no other dependency.
use ms_utils::serde;
use ms_utils::serde_json::{Value, json};
use ms_utils::{tokio, tracing};

/// CHANGE: this service's name in its log lines (it logs in as `GATEWAY_USER`).
pub(crate) const SERVICE_NAME: &str = "gateway_consumer";
/// CHANGE: the bucket for embedding jobs when `S3_BUCKET` is not set.
pub(crate) const DEFAULT_BUCKET: &str = "documents";
/// CHANGE: how long an embedding job may take before it is given up.
const JOB_TIMEOUT: Duration = Duration::from_secs(120);

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main(crate = "ms_utils::tokio")]
async fn main() -> ExitCode {
    if std::env::var_os("GATEWAY_HOST").is_none() {
        eprintln!(
            "{SERVICE_NAME}: GATEWAY_HOST is not set.\n\
             Set GATEWAY_HOST, GATEWAY_USER, GATEWAY_PASSWORD (and the S3_* variables);\n\
             `ms-utils-dev` prints them for development servers on this machine."
        );
        return ExitCode::from(2);
    }
    // Keep the guard until the end: dropping it flushes the log file.
    let log_guard = install_logger();
    exit_code(serve_from_env().await, log_guard.is_some())
}

/// The platform's log format, to stderr and `logs/combined.log`. A service
/// without a logger still runs; it says so once.
pub(crate) fn install_logger() -> Option<LogGuard> {
    match Logger::setup(SERVICE_NAME) {
        Ok(guard) => Some(guard),
        Err(error) => {
            eprintln!("logger not installed: {error}");
            None
        }
    }
}

/// The process's exit code for how serving ended. An error is said once,
/// on one line (what failed, where, and why): in the log when there is one
/// (it writes to stderr too), else on stderr.
pub(crate) fn exit_code(outcome: Result<(), BoxError>, logging: bool) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if logging => {
            tracing::error!("stopped: {error}");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("{SERVICE_NAME} stopped: {error}");
            ExitCode::FAILURE
        }
    }
}

/// What every task handler reaches through its [`Context`], besides the
/// gateway client: shared by all of them, never cloned.
#[derive(Debug)]
pub(crate) struct App {
    pub(crate) s3: S3BucketClient,
    pub(crate) bucket: String,
}

/// The handlers of this service: every task (`ms-task`, sent by another
/// service with `send_task_to_ms` or `call`) goes to [`handle_task`], and
/// is answered with what it returns, or, when it fails (a task it cannot
/// read included), with the platform's error outcome.
pub(crate) fn start(ms: &MicroServiceWs, app: App) -> RunHandle {
    ms.run(Router::with_state(app).task(handle_task))
}

/// CHANGE: the tasks this service takes: the `data` of an `ms-task`, told
/// apart by its `action`.
#[derive(Debug, serde::Deserialize)]
#[serde(crate = "ms_utils::serde", tag = "action", rename_all = "snake_case")]
pub(crate) enum Action {
    /// Embed these texts.
    Embed { texts: Vec<String> },
}

/// CHANGE: what this service does with a task. `{"action": "embed",
/// "texts": [...]}` runs an embedding job and answers with its size. Every
/// line logged here carries the task's sender and job id (the span the
/// client runs each handler in).
async fn handle_task(task: Task<Action>, cx: Context<App>) -> Result<Value, BoxError> {
    tracing::info!("task received");
    match task.data {
        Action::Embed { texts } => {
            // The embedding job gets its own id: the task's id is the caller's.
            let job = EncodingJob::new(texts, &task.reference_id, format!("{}:embed", task.job_id))
                .normalize(true)
                .timeout(JOB_TIMEOUT);
            let app = cx.state();
            let (vectors, consumption) =
                send_encoding_job(cx.client(), &app.s3, &app.bucket, &job).await?;
            Ok(json!({
                "status": "ok",
                "vectors": vectors.len(),
                "dimensions": vectors.first().map_or(0, Vec::len),
                "consumption": consumption,
            }))
        }
    }
}

/// Logs every change of the connection state until the client closes.
pub(crate) fn watch_connection(ms: &MicroServiceWs) -> tokio::task::JoinHandle<()> {
    let mut state = ms.state();
    tokio::spawn(async move {
        while state.changed().await.is_ok() {
            let now = *state.borrow_and_update();
            match now {
                ConnectionState::Connected => tracing::info!("gateway connected"),
                // The client logs each failed attempt itself, once.
                ConnectionState::Reconnecting { attempt, delay } => {
                    tracing::debug!(attempt, ?delay, "reconnecting")
                }
                ConnectionState::Closed => {
                    tracing::info!("gateway connection closed");
                    break;
                }
                other => tracing::info!(state = ?other, "gateway connection state"),
            }
        }
    })
}

/// Serve against the gateway and bucket named by the environment until
/// Ctrl-C or SIGTERM.
pub(crate) async fn serve_from_env() -> Result<(), BoxError> {
    let config = WsConfigBuilder::from_env().build()?;
    let bucket = std::env::var("S3_BUCKET").unwrap_or_else(|_| DEFAULT_BUCKET.to_owned());
    let s3 = S3BucketClient::from_env(bucket.clone()).await?;
    serve(config, App { s3, bucket }, ms_utils::shutdown_signal).await
}

/// Serve until the future made by `stop` resolves, then close cleanly:
/// stop taking tasks, let running handlers finish and answer, deliver what
/// is queued. `stop` is called once connected, so that a Ctrl-C while
/// connecting still ends the program at once.
pub(crate) async fn serve<F>(
    config: WsConfig,
    app: App,
    stop: impl FnOnce() -> F,
) -> Result<(), BoxError>
where
    F: Future<Output = ()>,
{
    let ms = MicroServiceWs::connect(config).await?;
    let watcher = watch_connection(&ms);
    let run = start(&ms, app);
    let stop = stop();
    tracing::info!("serving; Ctrl-C to stop");

    stop.await;
    tracing::info!("shutting down");
    ms.close().await?;
    run.finished().await?;
    let _ = watcher.await;
    Ok(())
}
