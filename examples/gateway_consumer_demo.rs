//! What `cargo run --example gateway_consumer` runs: the service of
//! `gateway_consumer.rs` (the file to copy, included below as a module),
//! plus a demonstration that needs no server.
//!
//! With `GATEWAY_HOST` set it is exactly `gateway_consumer.rs`: it serves
//! that gateway until Ctrl-C or SIGTERM. Without it, it starts the
//! development gateway and S3 server in this process, a `workers_manager`
//! stand-in (`ms_utils::dev::worker`) and the service, runs one embedding job
//! and one task round trip, says what happened, and exits 0 (within 60
//! seconds whatever happens).
//!
//! The development servers come from `ms_utils`'s `test-util` feature, which
//! only this file uses: the copied `gateway_consumer.rs` builds without it.

use std::process::ExitCode;
use std::time::Duration;

use ms_utils::communication_utils::s3::S3BucketClient;
use ms_utils::communication_utils::ws::MicroServiceWs;
use ms_utils::dev::gateway::DevGateway;
use ms_utils::dev::hashing_embedding::cosine;
use ms_utils::dev::s3::DevS3Server;
use ms_utils::dev::worker::EmbeddingWorker;
use ms_utils::encoding_utils::{EncodingJob, WORKERS_MANAGER, send_encoding_job};
use ms_utils::logging_lib::Logger;
use ms_utils::serde_json::{Value, json};
use ms_utils::{tokio, tracing};

// Its `main` is this file's when `GATEWAY_HOST` is set, so it is not called.
#[allow(dead_code)]
#[path = "gateway_consumer.rs"]
pub(crate) mod gateway_consumer;

use gateway_consumer::{App, BoxError, DEFAULT_BUCKET, SERVICE_NAME, start, watch_connection};

/// The demonstration never runs longer than this.
const DEMO_LIMIT: Duration = Duration::from_secs(60);

#[tokio::main(crate = "ms_utils::tokio")]
async fn main() -> ExitCode {
    if std::env::var_os("GATEWAY_HOST").is_some() {
        // What the copied file's `main` does.
        let log_guard = gateway_consumer::install_logger();
        let outcome = gateway_consumer::serve_from_env().await;
        return gateway_consumer::exit_code(outcome, log_guard.is_some());
    }
    // The demonstration tells its story on stdout; libraries only warn.
    let log_guard = Logger::builder()
        .name(SERVICE_NAME)
        .no_file()
        .directives("warn")
        .init()
        .map_err(|error| eprintln!("logger not installed: {error}"))
        .ok();
    let outcome = match tokio::time::timeout(DEMO_LIMIT, run_local_demo()).await {
        // Each step was printed as it happened.
        Ok(result) => result.map(|report| {
            tracing::debug!(vectors = report.vectors.len(), answer = %report.answer, "demonstration done");
        }),
        Err(_) => Err(format!("the demonstration did not finish within {DEMO_LIMIT:?}").into()),
    };
    gateway_consumer::exit_code(outcome, log_guard.is_some())
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
    let run = start(
        &ms,
        App {
            s3: s3.clone(),
            bucket: bucket.clone(),
        },
    );
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
    let (vectors, consumption) = send_encoding_job(&ms, &s3, &bucket, &job).await?;
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
    let answer: Value = caller
        .call(
            SERVICE_NAME,
            json!({"action": "embed", "texts": ["hello world", "bonjour le monde"]}),
        )
        .job_id("demo-task-1")
        .timeout(Duration::from_secs(20))
        .data()
        .await?;
    say(format!(
        "Task round trip: `demo_caller` sent `{SERVICE_NAME}` a task; the handler ran an embedding job and answered: {answer}."
    ));

    let left = s3.list_files_with_prefix(&bucket, "encoder/").await?;
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
