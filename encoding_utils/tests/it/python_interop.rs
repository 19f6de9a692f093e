//! Interop with the Python original: its `send_encoding_job` (msutils-lib
//! 1.0.7), with the application handler it expects, gets its vectors from
//! the Rust `workers_manager` stand-in through the development gateway and
//! S3 server. Ignored unless asked for (`cargo test -- --ignored`, as
//! `.ci/run` does), with `MS_UTILS_PYTHON` naming a Python that has
//! `msutils-lib` 1.0.7 installed.

use std::path::Path;
use std::process::Command;

use crate::support::{BUCKET, CONSUMER, Servers};
use ms_utils_dev::hashing_embedding::embed;
use ms_utils_dev::testing::STEP_LIMIT;
use ms_utils_dev::worker::EmbeddingWorker;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Python original: set MS_UTILS_PYTHON to a python with msutils-lib 1.0.7 (see .ci/run)"]
async fn the_python_send_encoding_job_gets_its_vectors_from_the_rust_worker() {
    let python = std::env::var("MS_UTILS_PYTHON").unwrap_or_else(|_| {
        panic!("this test needs the Python original: set MS_UTILS_PYTHON to a python with msutils-lib 1.0.7 (see .ci/run)")
    });
    let servers = Servers::start().await;
    let _worker =
        EmbeddingWorker::new(servers.connect("workers_manager").await, servers.s3.clone()).serve();
    let texts = ["héllo wörld", "the cat sat on the mat", ""];
    // The original writes logs/combined.log into its working directory.
    let cwd = std::env::temp_dir().join(format!("ms_utils_encoding-py-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&cwd).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/send_encoding_job.py");
    let mut cmd = Command::new(python);
    cmd.arg(script)
        .current_dir(&cwd)
        .env("GATEWAY_HOST", servers.gateway.host())
        .env("GATEWAY_USER", CONSUMER)
        .env("GATEWAY_PASSWORD", "consumer-pw")
        .env("S3_ENDPOINT", servers.s3_server.endpoint())
        .env("S3_ACCESS_KEY_ID", servers.s3_server.access_key())
        .env("S3_SECRET_ACCESS_KEY", servers.s3_server.secret_key())
        .env("S3_BUCKET", BUCKET)
        .env("TEXTS", serde_json::to_string(&texts).unwrap());
    // The script bounds itself at 30 s; the servers keep running on this runtime meanwhile.
    let out = tokio::time::timeout(
        STEP_LIMIT * 2,
        tokio::task::spawn_blocking(move || cmd.output()),
    )
    .await
    .expect("the Python script ends")
    .unwrap()
    .unwrap();
    let _ = std::fs::remove_dir_all(&cwd);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    let vectors: Vec<Vec<f32>> = serde_json::from_value(got["vectors"].clone()).unwrap();
    let expected: Vec<Vec<f32>> = texts.iter().map(|t| embed(t, true)).collect();
    assert_eq!(vectors, expected);
    assert_eq!(got["consumption"]["texts"], 3);
    // Python's input was read and deleted by the worker; the result by Python.
    assert!(servers.keys("encoder/").await.is_empty());
}
