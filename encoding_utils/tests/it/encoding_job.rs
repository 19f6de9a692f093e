//! Embedding jobs that succeed, end to end: development gateway, S3 server,
//! and a second client playing `workers_manager`.

use std::time::Duration;

use crate::support::{BUCKET, CONSUMER, Servers, task_parts, within};
use ms_utils_communication::ws::Message;
use ms_utils_dev::hashing_embedding::embed;
use ms_utils_dev::worker::EmbeddingWorker;
use ms_utils_encoding::{EncodingJob, JobOutcome, TaskTracker, send_encoding_job};
use serde_json::json;

fn ignore_others() -> impl Fn(Message) -> std::future::Ready<Result<(), std::io::Error>> {
    |_msg: Message| std::future::ready(Ok(()))
}

#[tokio::test]
async fn a_job_returns_one_vector_per_text_and_leaves_the_bucket_clean() {
    let servers = Servers::start().await;
    let worker_ms = servers.connect("workers_manager").await;
    let _worker = EmbeddingWorker::new(worker_ms, servers.s3.clone()).serve();
    let ms = servers.connect(CONSUMER).await;
    let tracker = TaskTracker::new();
    let _run = ms.run(tracker.handler(ignore_others()));

    let texts = ["the cat sat on the mat", "quarterly revenue grew by 4%"];
    let job = EncodingJob::new(texts, "ref-1", "job-1")
        .normalize(true)
        .timeout(Duration::from_secs(20));
    let (vectors, consumption) = within(
        "job",
        send_encoding_job(&ms, &servers.s3, BUCKET, &tracker, &job),
    )
    .await
    .unwrap();

    assert_eq!(vectors, vec![embed(texts[0], true), embed(texts[1], true)]);
    assert_eq!(consumption["texts"], 2);
    assert_eq!(consumption["model"], "BAAI/bge-m3");
    assert!(
        servers.keys("encoder/").await.is_empty(),
        "input and result are gone"
    );
    assert_eq!(tracker.waiting(), 0);
}

#[tokio::test]
async fn the_task_reaches_workers_manager_as_the_original_sends_it() {
    let servers = Servers::start().await;
    let (worker_ms, mut inbox) = servers.manual_worker().await;
    let worker = EmbeddingWorker::new(worker_ms, servers.s3.clone());
    let ms = servers.connect(CONSUMER).await;
    let tracker = TaskTracker::new();
    let _run = ms.run(tracker.handler(ignore_others()));

    let job = EncodingJob::new(["héllo", "wörld 😀"], "ref-9", "job-9")
        .user_id("u-7")
        .original_filename("a.pdf")
        .collection_name("docs")
        .model_name("intfloat/e5-small")
        .content_only(false);
    let sending = send_encoding_job(&ms, &servers.s3, BUCKET, &tracker, &job);
    let checking = async {
        let task = within("task arrives", inbox.recv()).await.unwrap();
        let (from, reference_id, job_id, data) = task_parts(&task);
        assert_eq!(
            (from.as_str(), reference_id.as_str(), job_id.as_str()),
            (CONSUMER, "ref-9", "job-9")
        );
        let object = data["params"]["object_name"].as_str().unwrap().to_owned();
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

#[tokio::test]
async fn two_jobs_in_flight_each_get_their_own_result() {
    let servers = Servers::start().await;
    let (worker_ms, mut inbox) = servers.manual_worker().await;
    let worker = EmbeddingWorker::new(worker_ms, servers.s3.clone());
    let ms = servers.connect(CONSUMER).await;
    let tracker = TaskTracker::new();
    let _run = ms.run(tracker.handler(ignore_others()));

    let first = EncodingJob::new(["alpha beta"], "ref", "job-a");
    let second = EncodingJob::new(["gamma delta", "epsilon"], "ref", "job-b").normalize(true);
    let a = send_encoding_job(&ms, &servers.s3, BUCKET, &tracker, &first);
    let b = send_encoding_job(&ms, &servers.s3, BUCKET, &tracker, &second);
    // The worker holds both tasks, so both jobs wait at once, then answers
    // them in the reverse order.
    let answer = async {
        let t1 = inbox.recv().await.unwrap();
        let t2 = inbox.recv().await.unwrap();
        assert_eq!(tracker.waiting(), 2);
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

#[tokio::test]
async fn jobs_run_from_spawned_tasks() {
    // A service typically runs jobs from its message handler, i.e. a spawned
    // task: the job's future must be Send.
    let servers = Servers::start().await;
    let worker_ms = servers.connect("workers_manager").await;
    let _worker = EmbeddingWorker::new(worker_ms, servers.s3.clone()).serve();
    let ms = servers.connect(CONSUMER).await;
    let tracker = TaskTracker::new();
    let _run = ms.run(tracker.handler(ignore_others()));

    let mut tasks = Vec::new();
    for i in 0..4 {
        let (ms, s3, tracker) = (ms.clone(), servers.s3.clone(), tracker.clone());
        tasks.push(tokio::spawn(async move {
            let job = EncodingJob::new([format!("text number {i}")], "ref", format!("job-{i}"));
            send_encoding_job(&ms, &s3, BUCKET, &tracker, &job).await
        }));
    }
    for (i, task) in tasks.into_iter().enumerate() {
        let (vectors, _) = within("spawned job", task).await.unwrap().unwrap();
        assert_eq!(vectors, vec![embed(&format!("text number {i}"), false)]);
    }
}

#[tokio::test]
async fn the_application_handler_can_complete_a_job_through_the_tracker() {
    // Workers that answer in their own shape: the application reads the
    // answer and completes the job, as the original's `active_task` dict.
    let servers = Servers::start().await;
    let (worker_ms, mut inbox) = servers.manual_worker().await;
    let ms = servers.connect(CONSUMER).await;
    let tracker = TaskTracker::new();
    let app = tracker.clone();
    let _run = ms.run(move |msg: Message| {
        let tracker = app.clone();
        async move {
            if let Some(data) = msg.data().filter(|_| msg.event() == Some("ms-task")) {
                let answer = &data["data"];
                if answer["status"] == "finished" {
                    let job_id = data["jobId"].as_str().unwrap_or_default();
                    let file = answer["file"].as_str().unwrap_or_default();
                    assert!(tracker.complete(job_id, JobOutcome::ok(file, json!({"gpu_s": 1.5}))));
                }
            }
            Ok::<(), std::io::Error>(())
        }
    });

    let job = EncodingJob::new(["one"], "ref", "job-own");
    let sending = send_encoding_job(&ms, &servers.s3, BUCKET, &tracker, &job);
    let answer = async {
        let task = inbox.recv().await.unwrap();
        let (from, reference_id, job_id, _) = task_parts(&task);
        let body = serde_json::to_vec(&vec![vec![0.5f32, -0.25]]).unwrap();
        servers
            .s3
            .upload_bytes(body, BUCKET, "out/own.json", Default::default())
            .await
            .unwrap();
        worker_ms
            .send_task_to_ms(
                &from,
                &reference_id,
                &job_id,
                json!({"status": "finished", "file": "out/own.json"}),
            )
            .await
            .unwrap();
    };
    let (result, ()) = within("job", async { tokio::join!(sending, answer) }).await;
    let (vectors, consumption) = result.unwrap();
    assert_eq!(vectors, vec![vec![0.5, -0.25]]);
    assert_eq!(consumption, json!({"gpu_s": 1.5}));
    assert!(
        servers.keys("out/").await.is_empty(),
        "the result file was deleted"
    );
}
