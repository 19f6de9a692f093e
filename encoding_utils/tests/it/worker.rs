//! The `workers_manager` stand-in answers every task it cannot do with an
//! error result, so a caller never waits for nothing.

use std::time::Duration;

use crate::support::{BUCKET, Servers, within};
use ms_utils_communication::ws::Message;
use ms_utils_dev::worker::EmbeddingWorker;
use ms_utils_encoding::{JobOutcome, parse_task_result};
use serde_json::json;

async fn ask(servers: &Servers, job_id: &str, task: serde_json::Value) -> JobOutcome {
    let caller = servers.connect("caller").await;
    let answer: Message = within(
        "answer",
        caller.request("workers_manager", job_id, task, Duration::from_secs(20)),
    )
    .await
    .unwrap();
    let (id, outcome) = parse_task_result(&answer).expect("an ms-task-result");
    assert_eq!(id, job_id);
    outcome
}

#[tokio::test]
async fn an_unsupported_task_is_answered_with_an_error() {
    let servers = Servers::start().await;
    let _w =
        EmbeddingWorker::new(servers.connect("workers_manager").await, servers.s3.clone()).serve();
    let outcome = ask(
        &servers,
        "j-ocr",
        json!({"job_type": "inference", "job_task": "ocr", "content_only": true,
        "params": {"model": "m", "input": null, "bucket_name": BUCKET, "object_name": "x"}}),
    )
    .await;
    assert!(
        matches!(outcome, JobOutcome::Error { ref message } if message.contains("unsupported job_task")),
        "{outcome:?}"
    );
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
    assert!(
        matches!(missing, JobOutcome::Error { ref message } if message.contains("reading input")),
        "{missing:?}"
    );

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
    assert!(
        matches!(bad, JobOutcome::Error { ref message } if message.contains("array of strings")),
        "{bad:?}"
    );
}
