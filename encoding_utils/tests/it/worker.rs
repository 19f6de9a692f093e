//! The `workers_manager` stand-in answers every task it cannot do with an
//! error result, so a caller never waits for nothing.

use std::future::IntoFuture;
use std::time::Duration;

use crate::support::{BUCKET, Servers, within};
use ms_utils_communication::ws::Error;
use ms_utils_dev::worker::EmbeddingWorker;
use ms_utils_encoding::WORKERS_MANAGER;
use serde_json::json;

/// Sends `task` to the worker and returns the message of the error outcome
/// it must answer with.
async fn ask(servers: &Servers, job_id: &str, task: serde_json::Value) -> String {
    let caller = servers.connect("caller").await;
    let answer = within(
        "answer",
        caller
            .call(WORKERS_MANAGER, task)
            .job_id(job_id)
            .timeout(Duration::from_secs(20))
            .into_future(),
    )
    .await;
    match answer {
        Err(Error::TaskFailed {
            to,
            job_id: answered,
            message,
        }) => {
            assert_eq!((to.as_str(), answered.as_str()), (WORKERS_MANAGER, job_id));
            message
        }
        other => panic!("an error outcome, not {other:?}"),
    }
}

#[tokio::test]
async fn an_unsupported_task_is_answered_with_an_error() {
    let servers = Servers::start().await;
    let _w =
        EmbeddingWorker::new(servers.connect("workers_manager").await, servers.s3.clone()).serve();
    let message = ask(
        &servers,
        "j-ocr",
        json!({"job_type": "inference", "job_task": "ocr", "content_only": true,
        "params": {"model": "m", "input": null, "bucket_name": BUCKET, "object_name": "x"}}),
    )
    .await;
    assert!(message.contains("unsupported job_task"), "{message}");
}

#[tokio::test]
async fn a_missing_or_bad_input_is_answered_with_an_error() {
    let servers = Servers::start().await;
    let _w =
        EmbeddingWorker::new(servers.connect("workers_manager").await, servers.s3.clone()).serve();
    let task = |object: &str| {
        json!({"job_type": "inference", "job_task": "text-to-embeddings", "content_only": true,
        "params": {"model": "m", "input": null, "bucket_name": BUCKET, "object_name": object}})
    };

    let missing = ask(&servers, "j-missing", task("encoder/none.json")).await;
    assert!(missing.contains("reading input"), "{missing}");

    servers
        .s3
        .upload_bytes(
            b"{\"a\": 1}".to_vec(),
            BUCKET,
            "encoder/obj.json",
            Default::default(),
        )
        .await
        .unwrap();
    let bad = ask(&servers, "j-bad", task("encoder/obj.json")).await;
    assert!(bad.contains("array of strings"), "{bad}");
}
