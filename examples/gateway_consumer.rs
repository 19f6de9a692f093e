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

use std::error::Error;
use std::process::ExitCode;
use std::time::Duration;

use ms_utils::communication_utils::s3::S3BucketClient;
use ms_utils::communication_utils::ws::{
    ConnectionState, HandlerError, Message, MicroServiceWs, RunHandle, Task, WsConfig,
    WsConfigBuilder,
};
use ms_utils::encoding_utils::{EncodingJob, send_encoding_job};
use ms_utils::logging_lib::{LogGuard, Logger};
// The crates ms_utils is built with, so that this file needs no other dependency.
use ms_utils::serde;
use ms_utils::serde_json::{self, json};
use ms_utils::{tokio, tracing};

/// CHANGE: this service's name in its log lines (it logs in as `GATEWAY_USER`).
pub(crate) const SERVICE_NAME: &str = "gateway_consumer";
/// CHANGE: the bucket for embedding jobs when `S3_BUCKET` is not set.
pub(crate) const DEFAULT_BUCKET: &str = "documents";
/// CHANGE: how long an embedding job may take before it is given up.
const JOB_TIMEOUT: Duration = Duration::from_secs(120);

pub(crate) type BoxError = Box<dyn Error + Send + Sync>;

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
    let _log_guard = install_logger();
    exit_code(serve_from_env().await)
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

/// The process's exit code for how serving ended; an error is logged and
/// printed with its causes.
pub(crate) fn exit_code(outcome: Result<(), BoxError>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "stopped on an error");
            eprintln!("error: {}", error_chain(&*error));
            ExitCode::FAILURE
        }
    }
}

/// What the service holds: its gateway client and the bucket client.
#[derive(Debug, Clone)]
pub(crate) struct Service {
    pub(crate) ms: MicroServiceWs,
    pub(crate) s3: S3BucketClient,
    pub(crate) bucket: String,
}

impl Service {
    /// Start receiving: every message goes to [`Service::on_message`], each
    /// in its own task (embedding results go to the jobs waiting for them).
    pub(crate) fn start(
        ms: MicroServiceWs,
        s3: S3BucketClient,
        bucket: String,
    ) -> (Service, RunHandle) {
        let service = Service { ms, s3, bucket };
        let handler_service = service.clone();
        let run = service.ms.run(move |msg: Message| {
            let service = handler_service.clone();
            async move { service.on_message(msg).await }
        });
        (service, run)
    }

    /// CHANGE: what this service does with a message. This one answers tasks
    /// (`ms-task`, sent by another service with `send_task_to_ms`):
    /// `{"action": "embed", "texts": [...]}` runs an embedding job and answers
    /// with its size; anything else is answered with the platform's error
    /// outcome. Every line logged here carries the task's `event`, `job_id`
    /// and `from` (the span the client runs each handler in).
    async fn on_message(&self, msg: Message) -> Result<(), HandlerError> {
        if msg.event() != Some("ms-task") {
            tracing::debug!(event = msg.event().unwrap_or("-"), "message ignored");
            return Ok(());
        }
        let task: Task = Task::from_message(&msg)?;
        tracing::info!("task received");
        let action = match serde_json::from_value::<Action>(task.data.clone()) {
            Ok(action) => action,
            Err(error) => {
                return Ok(task
                    .reply_error(&self.ms, format!("bad task: {error}"))
                    .await?);
            }
        };
        match action {
            Action::Embed { texts } => {
                // The embedding job gets its own id: the task's id belongs to the caller.
                let job =
                    EncodingJob::new(texts, &task.reference_id, format!("{}:embed", task.job_id))
                        .normalize(true)
                        .timeout(JOB_TIMEOUT);
                match send_encoding_job(&self.ms, &self.s3, &self.bucket, &job).await {
                    // The answer goes back to the sender under the same jobId,
                    // which is what its `request(...)` waits for.
                    Ok((vectors, consumption)) => {
                        let answer = json!({
                            "status": "ok",
                            "vectors": vectors.len(),
                            "dimensions": vectors.first().map_or(0, Vec::len),
                            "consumption": consumption,
                        });
                        task.reply(&self.ms, &answer).await?;
                    }
                    Err(error) => task.reply_error(&self.ms, error).await?,
                }
            }
        }
        Ok(())
    }
}

/// CHANGE: the tasks this service takes: the `data` of an `ms-task`, told
/// apart by its `action`.
#[derive(Debug, serde::Deserialize)]
#[serde(crate = "ms_utils::serde", tag = "action", rename_all = "snake_case")]
enum Action {
    /// Embed these texts.
    Embed { texts: Vec<String> },
}

/// Logs every change of the connection state until the client closes.
pub(crate) fn watch_connection(ms: &MicroServiceWs) -> tokio::task::JoinHandle<()> {
    let mut state = ms.state();
    tokio::spawn(async move {
        while state.changed().await.is_ok() {
            let now = *state.borrow_and_update();
            match now {
                ConnectionState::Connected => tracing::info!("gateway connected"),
                ConnectionState::Reconnecting { attempt, delay } => {
                    tracing::warn!(attempt, ?delay, "gateway connection lost; reconnecting")
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
    serve(config, s3, bucket, ms_utils::shutdown_signal).await
}

/// Serve until the future made by `stop` resolves, then close cleanly: stop
/// taking messages, let running handlers finish, flush what is queued.
/// `stop` is called once connected, so that a Ctrl-C while connecting still
/// ends the program at once.
pub(crate) async fn serve<F>(
    config: WsConfig,
    s3: S3BucketClient,
    bucket: String,
    stop: impl FnOnce() -> F,
) -> Result<(), BoxError>
where
    F: Future<Output = ()>,
{
    let ms = MicroServiceWs::connect(config).await?;
    let watcher = watch_connection(&ms);
    let (_service, run) = Service::start(ms.clone(), s3, bucket);
    let stop = stop();
    tracing::info!("serving; Ctrl-C to stop");

    stop.await;
    tracing::info!("shutting down");
    ms.close().await?;
    run.finished().await?;
    let _ = watcher.await;
    Ok(())
}

/// An error and its causes, on one line.
fn error_chain(error: &(dyn Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
