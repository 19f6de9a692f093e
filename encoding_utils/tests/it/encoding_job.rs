//! Embedding jobs that succeed, end to end: development gateway, S3 server,
//! and a second client playing `workers_manager`. The consumer runs no
//! receive loop unless a test needs to see what reaches the application:
//! the outcome comes back through the client's own reply table.

use std::time::Duration;

use crate::support::{BUCKET, CONSUMER, ECHO, Servers, input_of, task_parts, within};
use ms_utils_communication::ws::{Message, ms_send_task};
use ms_utils_dev::hashing_embedding::embed;
use ms_utils_dev::worker::EmbeddingWorker;
use ms_utils_encoding::{EncodingJob, WORKERS_MANAGER, send_encoding_job};
use serde_json::{Value, json};

#[tokio::test]
async fn a_job_returns_one_vector_per_text_and_leaves_the_bucket_clean() {
    let servers = Servers::start().await;
    let worker_ms = servers.connect("workers_manager").await;
    let _worker = EmbeddingWorker::new(worker_ms, servers.s3.clone()).serve();
    let ms = servers.connect(CONSUMER).await;

    let texts = ["the cat sat on the mat", "quarterly revenue grew by 4%"];
    let job = EncodingJob::new(texts, "ref-1", "job-1")
        .normalize(true)
        .timeout(Duration::from_secs(20));
    let (vectors, consumption) = within("job", send_encoding_job(&ms, &servers.s3, BUCKET, &job))
        .await
        .unwrap();

    assert_eq!(vectors, vec![embed(texts[0], true), embed(texts[1], true)]);
    assert_eq!(consumption["texts"], 2);
    assert_eq!(consumption["model"], "BAAI/bge-m3");
    assert!(
        servers.keys("encoder/").await.is_empty(),
        "input and result are gone"
    );
}

#[tokio::test]
async fn the_task_reaches_workers_manager_as_the_original_sends_it() {
    let servers = Servers::start().await;
    let (worker_ms, mut inbox) = servers.manual_worker().await;
    let worker = EmbeddingWorker::new(worker_ms, servers.s3.clone());
    let ms = servers.connect(CONSUMER).await;
    servers.gateway.faults().record(true);

    let job = EncodingJob::new(["héllo", "wörld 😀"], "ref-9", "job-9")
        .user_id("u-7")
        .original_filename("a.pdf")
        .collection_name("docs")
        .model_name("intfloat/e5-small")
        .content_only(false);
    let sending = send_encoding_job(&ms, &servers.s3, BUCKET, &job);
    let checking = async {
        let task = within("task arrives", inbox.recv()).await.unwrap();
        let (from, reference_id, job_id, data) = task_parts(&task);
        assert_eq!(
            (from.as_str(), reference_id.as_str(), job_id.as_str()),
            (CONSUMER, "ref-9", "job-9")
        );
        let object = input_of(&task);
        assert!(
            object.starts_with("encoder/") && object.ends_with(".json"),
            "{object}"
        );
        assert_eq!(
            uuid::Uuid::parse_str(&object[8..object.len() - 5])
                .unwrap()
                .get_version_num(),
            4
        );
        assert_eq!(
            data,
            json!({"job_type": "inference", "job_task": "text-to-embeddings", "content_only": false,
                   "params": {"model": "intfloat/e5-small", "input": null, "bucket_name": BUCKET,
                              "object_name": object, "normalize": false, "user_id": "u-7",
                              "original_filename": "a.pdf", "collection_name": "docs"}})
        );
        // What the gateway read is the original's message, byte for byte
        // (`ms_send_task` is pinned to Python's bytes in `task.rs`).
        assert_eq!(
            servers.gateway.faults().recorded_texts(CONSUMER),
            [ms_send_task(
                WORKERS_MANAGER,
                "ref-9",
                "job-9",
                &job.task(BUCKET, &object)
            )
            .unwrap()]
        );
        // The input is the texts as JSON, written as Python's json.dumps writes it.
        let input = servers
            .s3
            .download_bytes(BUCKET, &object, Default::default())
            .await
            .unwrap();
        assert_eq!(&input[..], br#"["h\u00e9llo", "w\u00f6rld \ud83d\ude00"]"#);
        assert!(worker.handle(task).await.unwrap());
    };
    let (result, ()) = within("job", async { tokio::join!(sending, checking) }).await;
    assert_eq!(result.unwrap().0.len(), 2);
}

/// The reference id names the workflow, the job id the job: they differ,
/// the worker gets both, answers under the job id (keeping the reference
/// id), and the job completes.
#[tokio::test]
async fn a_job_whose_reference_id_is_not_its_job_id_reaches_the_worker_with_both_and_completes() {
    let servers = Servers::start().await;
    let (worker_ms, mut inbox) = servers.manual_worker().await;
    let worker = EmbeddingWorker::new(worker_ms, servers.s3.clone());
    let (ms, mut app) = servers.listening(CONSUMER).await;
    servers.gateway.faults().record(true);

    let job = EncodingJob::new(["one text"], "upload-42", "upload-42:embed");
    let sending = send_encoding_job(&ms, &servers.s3, BUCKET, &job);
    let answering = async {
        let task = inbox.recv().await.unwrap();
        let (_, reference_id, job_id, _) = task_parts(&task);
        assert_eq!(
            (reference_id.as_str(), job_id.as_str()),
            ("upload-42", "upload-42:embed")
        );
        assert_eq!(
            task.data().unwrap()["workflowId"],
            "upload-42",
            "the former name of referenceId, for services that still read it"
        );
        assert!(worker.handle(task).await.unwrap());
    };
    let (result, ()) = within("job", async { tokio::join!(sending, answering) }).await;
    assert_eq!(result.unwrap().0, vec![embed("one text", false)]);
    // The outcome went to the job, not to the application.
    assert!(app.try_recv().is_err());
    let sent = servers.gateway.faults().recorded_texts(CONSUMER);
    let sent: Value = serde_json::from_str(&sent[0]).unwrap();
    assert_eq!(
        (&sent["data"]["referenceId"], &sent["data"]["jobId"]),
        (&json!("upload-42"), &json!("upload-42:embed"))
    );
}

/// A worker that reports `running` before its outcome: the job waits for
/// the outcome, and the report reaches the application.
#[tokio::test]
async fn a_running_report_before_the_outcome_does_not_end_the_job() {
    let servers = Servers::start().await;
    let (worker_ms, mut inbox) = servers.manual_worker().await;
    let worker = EmbeddingWorker::new(worker_ms.clone(), servers.s3.clone());
    let (ms, mut app) = servers.listening(CONSUMER).await;

    let job = EncodingJob::new(["slow text"], "ref", "job-running");
    let sending = send_encoding_job(&ms, &servers.s3, BUCKET, &job);
    let answering = async {
        let task = inbox.recv().await.unwrap();
        let (from, reference_id, job_id, _) = task_parts(&task);
        let running = json!({"event": "ms-task-result", "data": {
            "jobId": job_id, "type": "running", "response": null, "consumption": null, "message": null}});
        worker_ms
            .send_task_to_ms(&from, &reference_id, &job_id, running)
            .await
            .unwrap();
        // The report reached the application before the outcome was sent,
        // so the job has seen it go by.
        let report = app.recv().await.unwrap();
        assert_eq!(report.job_id(), Some("job-running"));
        assert_eq!(report.data().unwrap()["data"]["data"]["type"], "running");
        assert!(worker.handle(task).await.unwrap());
    };
    let (result, ()) = within("job", async { tokio::join!(sending, answering) }).await;
    assert_eq!(result.unwrap().0, vec![embed("slow text", false)]);
}

#[tokio::test]
async fn two_jobs_in_flight_each_get_their_own_result() {
    let servers = Servers::start().await;
    let (worker_ms, mut inbox) = servers.manual_worker().await;
    let worker = EmbeddingWorker::new(worker_ms, servers.s3.clone());
    let ms = servers.connect(CONSUMER).await;

    let first = EncodingJob::new(["alpha beta"], "ref", "job-a");
    let second = EncodingJob::new(["gamma delta", "epsilon"], "ref", "job-b").normalize(true);
    let a = send_encoding_job(&ms, &servers.s3, BUCKET, &first);
    let b = send_encoding_job(&ms, &servers.s3, BUCKET, &second);
    // The worker holds both tasks, so both jobs wait at once, then answers
    // them in the reverse order.
    let answer = async {
        let t1 = inbox.recv().await.unwrap();
        let t2 = inbox.recv().await.unwrap();
        assert!(worker.handle(t2).await.unwrap());
        assert!(worker.handle(t1).await.unwrap());
    };
    let (a, b, ()) = within("two jobs", async { tokio::join!(a, b, answer) }).await;
    assert_eq!(a.unwrap().0, vec![embed("alpha beta", false)]);
    assert_eq!(
        b.unwrap().0,
        vec![embed("gamma delta", true), embed("epsilon", true)]
    );
}

/// Embedding jobs and other calls share the client's one reply table: all
/// in flight at once on one client, under one reference id, answered in
/// the reverse order, each gets its own answer.
#[tokio::test]
async fn jobs_and_calls_in_flight_on_one_client_do_not_cross() {
    let servers = Servers::start().await;
    let (worker_ms, mut jobs_inbox) = servers.manual_worker().await;
    let worker = EmbeddingWorker::new(worker_ms, servers.s3.clone());
    let (echo, mut calls_inbox) = servers.listening(ECHO).await;
    let (ms, mut app) = servers.listening(CONSUMER).await;

    const N: usize = 3;
    let jobs: Vec<_> = (0..N)
        .map(|i| {
            let (ms, s3) = (ms.clone(), servers.s3.clone());
            let job = EncodingJob::new([format!("text {i}")], "workflow", format!("job-{i}"));
            tokio::spawn(async move { send_encoding_job(&ms, &s3, BUCKET, &job).await })
        })
        .collect();
    let calls: Vec<_> = (0..N)
        .map(|i| {
            let ms = ms.clone();
            tokio::spawn(async move {
                ms.call(ECHO, json!({"n": i}))
                    .job_id(format!("call-{i}"))
                    .reference_id("workflow")
                    .timeout(Duration::from_secs(20))
                    .data::<Value>()
                    .await
            })
        })
        .collect();
    within("every job and call waits", async {
        let mut tasks = Vec::new();
        for _ in 0..N {
            tasks.push(jobs_inbox.recv().await.unwrap());
        }
        let mut asked = Vec::new();
        for _ in 0..N {
            asked.push(calls_inbox.recv().await.unwrap());
        }
        // Everything waits now; answer from the last to the first,
        // alternating a call's answer and a job's outcome.
        for (task, call) in tasks.into_iter().rev().zip(asked.into_iter().rev()) {
            let (from, reference_id, job_id, data) = task_parts(&call);
            echo.send_task_to_ms(&from, &reference_id, &job_id, json!({"echo": data["n"]}))
                .await
                .unwrap();
            assert!(worker.handle(task).await.unwrap());
        }
    })
    .await;
    for (i, job) in jobs.into_iter().enumerate() {
        let (vectors, _) = within("job", job).await.unwrap().unwrap();
        let text = format!("text {i}");
        assert_eq!(vectors, vec![embed(&text, false)], "job-{i}");
    }
    for (i, call) in calls.into_iter().enumerate() {
        let answer = within("call", call).await.unwrap().unwrap();
        assert_eq!(answer, json!({"echo": i}), "call-{i}");
    }
    assert!(app.try_recv().is_err(), "every answer went to its waiter");
}

#[tokio::test]
async fn jobs_run_from_spawned_tasks() {
    // A service typically runs jobs from its message handler, i.e. a spawned
    // task: the job's future must be Send.
    let servers = Servers::start().await;
    let worker_ms = servers.connect("workers_manager").await;
    let _worker = EmbeddingWorker::new(worker_ms, servers.s3.clone()).serve();
    let ms = servers.connect(CONSUMER).await;

    let mut tasks = Vec::new();
    for i in 0..4 {
        let (ms, s3) = (ms.clone(), servers.s3.clone());
        tasks.push(tokio::spawn(async move {
            let job = EncodingJob::new([format!("text number {i}")], "ref", format!("job-{i}"));
            send_encoding_job(&ms, &s3, BUCKET, &job).await
        }));
    }
    for (i, task) in tasks.into_iter().enumerate() {
        let (vectors, _) = within("spawned job", task).await.unwrap().unwrap();
        assert_eq!(vectors, vec![embed(&format!("text number {i}"), false)]);
    }
}

/// A service's own handler runs a job (the shape of
/// `examples/gateway_consumer.rs`): the job's outcome is matched while the
/// handler that waits for it holds the run loop's only place.
#[tokio::test]
async fn a_handler_can_run_a_job_while_it_holds_the_only_place() {
    use ms_utils_communication::ws::{RunOptions, Task};
    let servers = Servers::start().await;
    let worker_ms = servers.connect("workers_manager").await;
    let _worker = EmbeddingWorker::new(worker_ms, servers.s3.clone()).serve();
    let ms = servers.connect(CONSUMER).await;
    let s3 = servers.s3.clone();
    let handler_ms = ms.clone();
    let _run = ms.run_with(RunOptions::new().concurrency(1), move |msg: Message| {
        let (ms, s3) = (handler_ms.clone(), s3.clone());
        async move {
            let task: Task = Task::from_message(&msg)?;
            let job = EncodingJob::new(
                ["from a handler"],
                &task.reference_id,
                format!("{}:embed", task.job_id),
            );
            let (vectors, _) = send_encoding_job(&ms, &s3, BUCKET, &job).await?;
            task.reply(&ms, &vectors.len()).await?;
            Ok::<(), ms_utils_communication::ws::HandlerError>(())
        }
    });
    let caller = servers.connect("caller").await;
    let answer: usize = within(
        "the handler's answer",
        caller.call(CONSUMER, json!({})).job_id("ask-1").data(),
    )
    .await
    .unwrap();
    assert_eq!(answer, 1);
}
