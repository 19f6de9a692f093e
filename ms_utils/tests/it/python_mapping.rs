//! The README's "Migrating from Python" tables: every public name of the
//! installed Python original appears in them, and every Rust form they give
//! exists with the shape shown (the second half of this file compiles only
//! if it does; it is never run, as it would need a gateway and a bucket).
#![allow(dead_code, unused_variables)]

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ms_utils::communication_utils::s3::{
    self, DownloadOptions, ObjectMetadata, ProgressBarListener, S3BucketClient, S3Config,
    UploadOptions,
};
use ms_utils::communication_utils::ws::{
    self, ChunkAssembler, ChunkLimits, ConnectionState, Message, MicroServiceWs, Router, RunHandle,
    RunOptions, Strategy, WsConfig, WsConfigBuilder,
};
use ms_utils::dev::{hashing_embedding, worker};
use ms_utils::encoding_utils::{self as enc, EncodingJob, JobOutcome, codec};
use ms_utils::logging_lib::{self as log, Format, JsonFormat, Logger, PythonFormat, Rotation};
use ms_utils::serde_json::{Value, json};
use ms_utils::{time_it, tracing};

/// The public names of `msutils-lib` 1.0.7, every module: its top-level
/// functions and classes and their public methods, read off the installed
/// source with Python's `ast` (`/work/pyenv/lib/python3.11/site-packages/ms_utils`).
/// Modules that are not ported are listed by their module and class names.
const PYTHON_NAMES: &[&str] = &[
    // communication_utils.microservice_ws
    "MicroServiceWs",
    "build_uri",
    "get_token",
    "connect",
    "put_chunk_data",
    "listen",
    "send",
    "send_response",
    "send_task_to_ms",
    "receive",
    "close",
    "is_connected",
    "disconnect_event",
    // communication_utils.s3bucket_client
    "ProgressPercentage",
    "S3BucketClient",
    "test_connection",
    "upload_file",
    "download_file",
    "delete_file",
    "set_file_permission",
    "get_file_metadata",
    "list_files",
    "list_buckets",
    // encoding_utils
    "send_encoding_job",
    "download_data",
    "active_task",
    // logging_lib
    "Logger.setup_logger",
    "Logger.add_file_handler",
    "Logger.add_stream_handler",
    "Logger.set_level",
    "Logger.create_formatter",
    "time_it_decorator",
    // not ported
    "power_consumption.PowerConsumption",
    "start_measure",
    "end_measure",
    "get_power_consumption",
    "vdb_utils.QdrantVdbManager",
    "VectorDBManager",
    "EnrichedScoredPoint",
    "scripts.update_prod_dependencies",
    "__version__",
];

fn migrating_section() -> String {
    // The workspace root's README; a packaged crate carries it at its own root.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(dir.join("../README.md"))
        .or_else(|_| std::fs::read_to_string(dir.join("README.md")))
        .expect("README.md");
    let start = readme
        .find("## Migrating from Python")
        .expect("a Migrating from Python section");
    let end = readme[start + 3..]
        .find("\n## ")
        .map_or(readme.len(), |e| start + 3 + e);
    readme[start..end].to_owned()
}

#[test]
fn every_public_python_name_is_in_the_migration_tables() {
    let section = migrating_section();
    let missing: Vec<&str> = PYTHON_NAMES
        .iter()
        .copied()
        .filter(|name| !section.contains(name))
        .collect();
    assert!(missing.is_empty(), "not in README's tables: {missing:?}");
}

#[test]
fn the_migration_section_names_the_environment_variables() {
    let section = migrating_section();
    for var in [
        "GATEWAY_HOST",
        "GATEWAY_USER",
        "GATEWAY_PASSWORD",
        "GATEWAY_TLS",
        "GATEWAY_PATH",
        "GATEWAY_NEED_TOKEN",
        "GATEWAY_CA_FILE",
        "S3_ENDPOINT",
        "S3_ACCESS_KEY_ID",
        "S3_SECRET_ACCESS_KEY",
        "S3_REGION",
        "RUST_LOG",
    ] {
        assert!(section.contains(var), "{var} is not in the section");
        // ... and each is one the code reads.
    }
    assert_eq!(ws::env::GATEWAY_CA_FILE, "GATEWAY_CA_FILE");
    assert_eq!(s3::DEFAULT_REGION, "fr-par");
}

// ---- The Rust column, compiled. Row order follows the README. ----

async fn gateway_rows(host: &str) -> Result<(), Box<dyn std::error::Error>> {
    let config: WsConfig = MicroServiceWs::builder(host)
        .credentials("user", "pw")
        .tls(true)
        .need_token(true)
        .path("/ws")
        .build()?;
    let _from_env: WsConfig = WsConfigBuilder::from_env().build()?;
    let (_h, _t, _u): (&str, bool, Option<&str>) = (config.host(), config.tls(), config.username());
    let ws = MicroServiceWs::connect(config).await?;
    let _also = MicroServiceWs::builder(host).connect().await?;

    let _: bool = ws.is_connected();
    ws.disconnected().await;
    let _: ConnectionState = *ws.state().borrow();
    let _events = ws.events();
    let _stats = ws.stats();
    ws.closed().await;

    let _: String = ws::ws_uri(true, host, "", Some("token"));
    let _: String = ws::redacted_ws_uri(true, host, "", true);
    let _: String = ws::login_url(true, host);
    let _claims = ws::jwt_claims("a.b.c");
    let _exp = ws::jwt_expiry("a.b.c");
    let mut asm = ChunkAssembler::new(ChunkLimits::default());
    let _ = asm.push(json!({}), ms_utils::tokio::time::Instant::now());
    let _: Vec<Value> = codec::chunk_messages("job", &json!({}), 1024)?;

    let value = json!({"a": 1});
    ws.send(&value).await?;
    ws.send_text("{}").await?;
    ws.try_send(&value)?;
    let _job: String = ws.send_chunked(&value).await?;
    ws.send_task_to_ms("other", "ref", "job", &value).await?;
    let _: String = ws::ms_send_task("other", "ref", "job", &value)?;
    let m: Message = ws.receive().await?;
    let _: (Option<&Value>, bool) = (m.as_json(), m.as_binary().is_some());
    let run: RunHandle = ws.run(|_m: Message| async { Ok::<(), std::io::Error>(()) });
    let _ = [
        Strategy::Parallel,
        Strategy::Queue,
        Strategy::Replace,
        Strategy::Ignore,
    ];
    let _opts = RunOptions::new().strategy(Strategy::Queue);
    let _router = Router::new();
    let _answer: Message = ws
        .request("other", "job", &value, Duration::from_secs(1))
        .await?;
    let task: ws::Task<Value> = ws::Task::from_message(&_answer)?;
    task.reply(&ws, &value).await?;
    task.reply_error(&ws, "why").await?;
    struct App;
    let _tasks: RunHandle = ws.run(Router::with_state(App).task(
        |task: ws::Task<Value>, cx: ws::Context<App>| async move {
            let (_app, _client): (&App, &MicroServiceWs) = (cx.state(), cx.client());
            Ok::<Value, std::io::Error>(task.data)
        },
    ));
    let _no_answers = RunOptions::new().answer_tasks(false);
    let _typed: Value = ws
        .call("other", &value)
        .reference_id("r")
        .timeout(Duration::from_secs(1))
        .data()
        .await?;
    let reply: ws::Reply = ws.call("other", &value).await?;
    let _: (Option<&str>, &Message) = (reply.from(), reply.message());
    let _deadline = RunOptions::new().deadline(Duration::from_secs(30));
    let _hook = RunOptions::new().on_error(|failed: ws::FailedCall| {
        let _: (Option<String>, Option<String>, bool) =
            (failed.job_id, failed.reference_id, failed.answered);
    });
    if let Ok(ws::Event::HandlerFailed { key: _, failure: _ }) = ws.events().try_recv() {}
    ms_utils::shutdown_signal().await;
    ws.close().await?;
    run.finished().await?;
    Ok(())
}

async fn bucket_rows() -> Result<(), Box<dyn std::error::Error>> {
    let s3 = S3BucketClient::from_env("documents").await?;
    let config = S3Config::builder()
        .endpoint("https://s3.fr-par.scw.cloud")
        .region("fr-par")
        .credentials("key", "secret")
        .build()?;
    let s3b = S3BucketClient::new("documents", config).await?;
    let _: &str = s3b.bucket_type();
    s3.test_connection().await?;
    let meta: HashMap<String, String> = HashMap::new();
    s3.upload_file("f.txt", "b", Some("k"), UploadOptions::new().metadata(meta))
        .await?;
    s3.upload_file("f.txt", "b", None, UploadOptions::new())
        .await?;
    s3.upload_bytes(b"x".to_vec(), "b", "k", UploadOptions::new())
        .await?;
    s3.upload_reader(
        std::io::Cursor::new(b"x".to_vec()),
        "b",
        "k",
        None,
        UploadOptions::new(),
    )
    .await?;
    s3.download_file("b", "k", "out.bin", DownloadOptions::new())
        .await?;
    let _bytes = s3.download_bytes("b", "k", DownloadOptions::new()).await?;
    s3.delete_file("b", "k").await?;
    s3.set_file_permission("b", "k", "public-read").await?;
    let m: ObjectMetadata = s3.get_file_metadata("b", "k").await?;
    let _: Option<&str> = m.get("FileName");
    let _: Vec<String> = s3.list_files("b").await?;
    let _: Vec<String> = s3.list_files_with_prefix("b", "p/").await?;
    let _pages = s3.list_pages("b", None);
    let _: Vec<String> = s3.list_buckets().await?;
    let bar = Arc::new(ProgressBarListener::new());
    let _ = UploadOptions::new().progress(bar.clone());
    let _ = DownloadOptions::new().progress(bar);
    let _: bool = s3.exists("b", "k").await?;
    s3.copy("b", "k", "b", "k2").await?;
    let _: String = s3.presigned_get("b", "k", Duration::from_secs(60)).await?;
    let _: String = s3.presigned_put("b", "k", Duration::from_secs(60)).await?;
    let _ = s3::metadata::format_file_size(1);
    let _ = s3::metadata::guess_content_type("a.pdf");
    boto3_rows(&s3).await?;
    Ok(())
}

/// The rows for what boto3 users reach for (issue #22: streams, ranges,
/// batch deletes, folders, versions, sync).
async fn boto3_rows(s3: &S3BucketClient) -> Result<(), Box<dyn std::error::Error>> {
    let mut writer: Vec<u8> = Vec::new();
    let _: s3::DownloadOutput = s3
        .download_to_writer("b", "k", &mut writer, DownloadOptions::new())
        .await?;
    let _: usize = s3
        .download_range("b", "k", 0..100, DownloadOptions::new())
        .await?
        .len();
    let keys = vec!["a".to_owned(), "b".to_owned()];
    let summary: s3::DeleteSummary = s3.delete_files("b", &keys).await?;
    let _ = s3
        .delete_files("b", [s3::ObjectId::new("k").version("v")])
        .await?;
    let _: (Vec<s3::DeletedObject>, Vec<s3::DeleteFailure>) = (summary.deleted, summary.failures);
    let _: s3::DeleteSummary = s3.delete_prefix("b", "tmp/").await?;
    let listing: s3::FolderListing = s3.list_folder("b", "p/", "/").await?;
    let _: (Vec<String>, Vec<s3::ObjectInfo>) = (listing.prefixes, listing.objects);
    let _pages: s3::FolderPages = s3.list_folder_pages("b", "p/", "/");
    let _: Vec<s3::ObjectVersion> = s3.list_versions("b", "p/").await?;
    let _pages: s3::VersionPages = s3.list_version_pages("b", "p/");
    let _ = DownloadOptions::new().version_id("v");
    let m: ObjectMetadata = s3.get_file_metadata_version("b", "k", "v").await?;
    let _: Option<String> = m.version_id;
    s3.delete_file_version("b", "k", "v").await?;
    s3.copy_version("b", "k", "v", "b", "k2").await?;
    let options = s3::SyncOptions::new()
        .delete(true)
        .exclude("*.tmp")
        .include("keep.tmp")
        .compare(s3::SyncCompare::SizeOnly)
        .dry_run(true);
    let up: s3::SyncSummary = s3.sync_up("dir", "b", "p", options).await?;
    let _: (Vec<s3::SyncEntry>, Vec<s3::SyncEntry>, Vec<s3::SyncEntry>) =
        (up.copied, up.skipped, up.deleted);
    let _: s3::SyncSummary = s3
        .sync_down(
            "b",
            "p",
            "dir",
            s3::SyncOptions::new().compare(s3::SyncCompare::SizeAndEtag),
        )
        .await?;
    Ok(())
}

async fn encoding_rows(ws: MicroServiceWs, s3: S3BucketClient) -> Result<(), enc::Error> {
    let job = EncodingJob::new(["t"], "ref", "job")
        .user_id("u")
        .original_filename("a.pdf")
        .collection_name("c")
        .model_name("BAAI/bge-m3")
        .normalize(true)
        .content_only(true)
        .timeout(Duration::from_secs(60));
    let (_vectors, _consumption): (Vec<Vec<f32>>, Value) =
        enc::send_encoding_job(&ws, &s3, "b", &job).await?;
    let _: Value = JobOutcome::ok("o.json", Value::Null).to_message("job");
    let _: Value = JobOutcome::error("msg").to_message("job");
    let _: Option<(String, JobOutcome)> = enc::parse_task_result(&Message::json(json!({})));
    let _: Value = enc::download_data::<Value>(&s3, "b", "o").await?;
    let _ = (
        codec::b64_encode(b"x"),
        codec::b64_decode("eA=="),
        codec::b64url_encode(b"x"),
        codec::b64url_decode("eA"),
        codec::b64_json_encode(&json!(1)),
        codec::b64_json_decode::<Value>("MQ=="),
        codec::jwt_claims("a.b.c"),
        codec::jwt_expiry("a.b.c"),
    );
    let _worker = worker::EmbeddingWorker::new(ws, s3);
    let _: Vec<f32> = hashing_embedding::embed("text", true);
    Ok(())
}

fn logging_rows() -> Result<(), log::Error> {
    let _guard: log::LogGuard = Logger::setup("svc")?;
    let _other = Logger::builder()
        .name("svc")
        .level(tracing::Level::DEBUG)
        .file("logs/combined.log")
        .run_debug(false)
        .rotation(Rotation::Daily)
        .file_format(Format::Text)
        .console(true)
        .console_writer(std::io::stderr())
        .console_format(Format::Json)
        .format(Format::Text)
        .directives("svc=debug")
        .init()?;
    let handle: log::LogHandle = _guard.handle();
    handle.set_level(tracing::Level::DEBUG)?;
    handle.set_directives("svc=debug")?;
    let _ = handle.filter()?;
    let _ = Logger::builder().with_layer(log::tracing_subscriber::fmt::layer());
    let _ = (PythonFormat::new(), JsonFormat::new());
    let _ = log::format_line;
    let _: Format = Format::python("%(levelname)-8s %(message)s", Some("%d-%m-%Y %H:%M:%S"))?;
    let template: log::LineTemplate = log::LineTemplate::parse("%(message)s", None)?;
    let _ = PythonFormat::new().template(template);
    let _ = Logger::builder().file_format(Format::python("%(message)s", None)?);
    log::critical!("msg");
    let _: fn(&tracing::Event<'_>) -> log::PythonLevel = log::PythonLevel::of;
    let n = time_it!("sum", 1 + 1);
    let _f = time_it!(async "fut", async { n });
    tracing::info!("logged");
    Ok(())
}
