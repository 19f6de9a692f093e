//! `gateway_consumer`: a microservice on the platform gateway, the Rust form
//! of the Python seed's `UseMicroServiceWs`. Copy this file into a new
//! service as `src/main.rs` and change the parts marked `CHANGE`. It depends
//! only on `ms_utils` (tokio, serde_json and tracing come re-exported from it):
//!
//! ```toml
//! [dependencies]
//! # test-util: the in-process demonstration; drop it with `run_local_demo`.
//! ms_utils = { version = "0.1", features = ["test-util"] }
//! ```
//!
//! ```text
//! cargo run --example gateway_consumer
//! ```
//!
//! With no `GATEWAY_HOST` in the environment it runs a self-contained
//! demonstration: it starts the development gateway and S3 server in this
//! process, a `workers_manager` stand-in (`ms_utils::dev::worker`)
//! and this service, runs one embedding job and one task round trip, says
//! what happened, and exits 0 (within 60 seconds whatever happens).
//!
//! With `GATEWAY_HOST` set it serves against that gateway until Ctrl-C (or
//! SIGTERM). Environment:
//!
//! | variable | meaning |
//! |---|---|
//! | `GATEWAY_HOST` | gateway `host[:port]` (required to serve) |
//! | `GATEWAY_USER`, `GATEWAY_PASSWORD` | this service's login |
//! | `GATEWAY_TLS` | `true` (default) or `false` |
//! | `GATEWAY_PATH`, `GATEWAY_NEED_TOKEN`, `GATEWAY_CA_FILE` | see `ws::env` |
//! | `S3_ENDPOINT`, `S3_ACCESS_KEY_ID`, `S3_SECRET_ACCESS_KEY`, `S3_REGION` | the bucket store |
//! | `S3_BUCKET` | the bucket embedding jobs use (default `documents`) |
//! | `RUST_LOG` | log filter, e.g. `info,ms_utils_communication=debug` |
//!
//! `ms-utils-dev` prints these lines for a development gateway and S3
//! server running on this machine.

use std::error::Error;
use std::process::ExitCode;
use std::time::Duration;

use ms_utils::communication_utils::s3::S3BucketClient;
use ms_utils::communication_utils::ws::{
    ConnectionState, HandlerError, Message, MicroServiceWs, RunHandle, WsConfig, WsConfigBuilder,
};
use ms_utils::dev::gateway::DevGateway;
use ms_utils::dev::hashing_embedding::cosine;
use ms_utils::dev::s3::DevS3Server;
use ms_utils::dev::worker::EmbeddingWorker;
use ms_utils::encoding_utils::{EncodingJob, TaskTracker, WORKERS_MANAGER, send_encoding_job};
use ms_utils::logging_lib::Logger;
// The crates ms_utils is built with, so that this file needs no other dependency.
use ms_utils::serde_json::{self, Value, json};
use ms_utils::{tokio, tracing};

/// CHANGE: the name this service logs in with (also the logger's name).
const SERVICE_NAME: &str = "gateway_consumer";
/// CHANGE: the bucket for embedding jobs when `S3_BUCKET` is not set.
const DEFAULT_BUCKET: &str = "documents";
/// CHANGE: how long an embedding job may take before it is given up.
const JOB_TIMEOUT: Duration = Duration::from_secs(120);
/// The demonstration never runs longer than this.
const DEMO_LIMIT: Duration = Duration::from_secs(60);

type BoxError = Box<dyn Error + Send + Sync>;

#[tokio::main(crate = "ms_utils::tokio")]
async fn main() -> ExitCode {
    let serving = std::env::var_os("GATEWAY_HOST").is_some();
    // Keep the guard until the end: dropping it flushes the log file.
    let logger = if serving {
        Logger::setup(SERVICE_NAME)
    } else {
        // The demonstration tells its story on stdout; libraries only warn.
        Logger::builder()
            .name(SERVICE_NAME)
            .no_file()
            .directives("warn")
            .init()
    };
    let _log_guard = match logger {
        Ok(guard) => Some(guard),
        Err(error) => {
            eprintln!("logger not installed: {error}");
            None
        }
    };
    let outcome = if serving {
        serve_from_env().await
    } else {
        match tokio::time::timeout(DEMO_LIMIT, run_local_demo()).await {
            // Each step was printed as it happened.
            Ok(result) => result.map(|report| {
                tracing::debug!(vectors = report.vectors.len(), answer = %report.answer, "demonstration done");
            }),
            Err(_) => Err(format!("the demonstration did not finish within {DEMO_LIMIT:?}").into()),
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "stopped on an error");
            eprintln!("error: {}", error_chain(&*error));
            ExitCode::FAILURE
        }
    }
}

/// What the service holds: its gateway client, the bucket client, and the
/// tracker that matches embedding results to the jobs waiting for them.
#[derive(Debug, Clone)]
struct Service {
    ms: MicroServiceWs,
    s3: S3BucketClient,
    bucket: String,
    tracker: TaskTracker,
}

impl Service {
    /// Start receiving: job results go to the tracker, every other message
    /// to [`Service::on_message`], each in its own task.
    fn start(ms: MicroServiceWs, s3: S3BucketClient, bucket: String) -> (Service, RunHandle) {
        let service = Service {
            ms,
            s3,
            bucket,
            tracker: TaskTracker::new(),
        };
        let handler_service = service.clone();
        let run = service.ms.run(service.tracker.handler(move |msg: Message| {
            let service = handler_service.clone();
            async move { service.on_message(msg).await }
        }));
        (service, run)
    }

    /// CHANGE: what this service does with a message. This one answers tasks
    /// (`ms-task`, sent by another service with `send_task_to_ms`):
    /// `{"action": "embed", "texts": [...]}` runs an embedding job and answers
    /// with its size; anything else is answered with an error.
    async fn on_message(&self, msg: Message) -> Result<(), HandlerError> {
        if msg.event() != Some("ms-task") {
            tracing::debug!(event = msg.event().unwrap_or("-"), "message ignored");
            return Ok(());
        }
        let data = msg.data().cloned().unwrap_or_default();
        let field = |k: &str| data[k].as_str().unwrap_or_default().to_owned();
        let (from, reference_id, job_id) = (field("from"), field("referenceId"), field("jobId"));
        let task = &data["data"];
        tracing::info!(%from, %job_id, "task received");

        let answer = match task["action"].as_str() {
            Some("embed") => {
                let texts: Vec<String> = serde_json::from_value(task["texts"].clone())?;
                // The embedding job gets its own id: the task's id belongs to the caller.
                let job = EncodingJob::new(texts, &reference_id, format!("{job_id}:embed"))
                    .normalize(true)
                    .timeout(JOB_TIMEOUT);
                match send_encoding_job(&self.ms, &self.s3, &self.bucket, &self.tracker, &job).await
                {
                    Ok((vectors, consumption)) => json!({
                        "status": "ok",
                        "vectors": vectors.len(),
                        "dimensions": vectors.first().map_or(0, Vec::len),
                        "consumption": consumption,
                    }),
                    Err(error) => json!({"status": "error", "message": error.to_string()}),
                }
            }
            other => json!({"status": "error", "message": format!("unknown action {other:?}")}),
        };
        // The answer goes back to the sender under the same jobId, which is
        // what its `request(...)` waits for.
        self.ms
            .send_task_to_ms(&from, &reference_id, &job_id, answer)
            .await?;
        Ok(())
    }
}

/// Logs every change of the connection state until the client closes.
fn watch_connection(ms: &MicroServiceWs) -> tokio::task::JoinHandle<()> {
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
async fn serve_from_env() -> Result<(), BoxError> {
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

/// What the demonstration did, in plain words.
#[derive(Debug)]
pub(crate) struct DemoReport {
    /// Lines telling what happened.
    pub(crate) lines: Vec<String>,
    /// The vectors of the embedding job.
    pub(crate) vectors: Vec<Vec<f32>>,
    /// The answer to the task round trip.
    pub(crate) answer: Value,
}

impl std::fmt::Display for DemoReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for line in &self.lines {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}

/// The demonstration: everything in this process, on loopback ports.
pub(crate) async fn run_local_demo() -> Result<DemoReport, BoxError> {
    let mut lines = Vec::new();
    let mut say = |line: String| {
        println!("{line}");
        lines.push(line);
    };

    let gateway = DevGateway::builder()
        .user(SERVICE_NAME, "demo-password")
        .user(WORKERS_MANAGER, "worker-password")
        .user("demo_caller", "caller-password")
        .start()
        .await?;
    let bucket = DEFAULT_BUCKET.to_owned();
    let s3_server = DevS3Server::builder().bucket(&bucket).start().await?;
    say(format!(
        "Started a development gateway on {} and an S3 server on {} (bucket `{bucket}`).",
        gateway.host(),
        s3_server.endpoint()
    ));
    let connect = |user: &'static str, password: &'static str| {
        MicroServiceWs::builder(gateway.host())
            .tls(false)
            .credentials(user, password)
            .connect()
    };

    // The worker: the `workers_manager` stand-in, with its own bucket client.
    let worker_ms = connect(WORKERS_MANAGER, "worker-password").await?;
    let worker_s3 = S3BucketClient::new("worker", s3_server.client_config()).await?;
    let worker_run = EmbeddingWorker::new(worker_ms.clone(), worker_s3).serve();
    say("Started `workers_manager`, a stand-in that embeds texts by feature hashing.".into());

    // This service.
    let ms = connect(SERVICE_NAME, "demo-password").await?;
    let watcher = watch_connection(&ms);
    let s3 = S3BucketClient::new(SERVICE_NAME, s3_server.client_config()).await?;
    let (service, run) = Service::start(ms.clone(), s3, bucket.clone());
    say(format!("Connected `{SERVICE_NAME}` to the gateway."));

    // 1. One embedding job, sent by this service.
    let texts = [
        "The cat sat on the mat.",
        "A cat was sitting on a mat.",
        "Quarterly revenue grew by four percent.",
    ];
    let job = EncodingJob::new(texts, "demo-ref", "demo-embedding-1")
        .normalize(true)
        .timeout(Duration::from_secs(20));
    let (vectors, consumption) =
        send_encoding_job(&service.ms, &service.s3, &bucket, &service.tracker, &job).await?;
    say(format!(
        "Embedding job: uploaded {} texts to the bucket, `workers_manager` answered with {} vectors of {} dimensions (consumption: {consumption}).",
        texts.len(),
        vectors.len(),
        vectors.first().map_or(0, Vec::len)
    ));
    if vectors.len() == 3 {
        say(format!(
            "  Similarity of texts 1 and 2 (same topic): {:.2}; of texts 1 and 3 (unrelated): {:.2}.",
            cosine(&vectors[0], &vectors[1]),
            cosine(&vectors[0], &vectors[2])
        ));
    }

    // 2. One task round trip: another service asks this one for work, this
    // service's handler does it (an embedding job of its own) and answers.
    let caller = connect("demo_caller", "caller-password").await?;
    let reply = caller
        .request(
            SERVICE_NAME,
            "demo-task-1",
            json!({"action": "embed", "texts": ["hello world", "bonjour le monde"]}),
            Duration::from_secs(20),
        )
        .await?;
    let answer = reply.data().map(|d| d["data"].clone()).unwrap_or_default();
    say(format!(
        "Task round trip: `demo_caller` sent `{SERVICE_NAME}` a task; the handler ran an embedding job and answered: {answer}."
    ));

    let left = service
        .s3
        .list_files_with_prefix(&bucket, "encoder/")
        .await?;
    say(format!(
        "Objects left under encoder/ in the bucket: {}.",
        left.len()
    ));

    // Clean shutdown, as on Ctrl-C.
    caller.close().await?;
    ms.close().await?;
    run.finished().await?;
    let _ = watcher.await;
    worker_ms.close().await?;
    worker_run.finished().await?;
    gateway.shutdown().await;
    s3_server.shutdown().await;
    say("Closed the clients and stopped the servers. All done.".into());
    if answer["status"] != "ok" {
        return Err(format!("the task was answered with an error: {answer}").into());
    }
    Ok(DemoReport {
        lines,
        vectors,
        answer,
    })
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
