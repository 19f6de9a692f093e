//! Embedding jobs that fail: each failure is a typed error, and the input
//! uploaded for the job is deleted.

use std::time::Duration;

use crate::support::{BUCKET, CONSUMER, Servers, task_parts, within};
use ms_utils_communication::s3::{S3BucketClient, S3Config};
use ms_utils_communication::ws::{Message, MicroServiceWs};
use ms_utils_encoding::{EncodingJob, Error, JobOutcome, TaskTracker, send_encoding_job};
use serde_json::json;
use tokio::sync::mpsc::UnboundedReceiver;

async fn consumer(servers: &Servers) -> (MicroServiceWs, TaskTracker) {
    let ms = servers.connect(CONSUMER).await;
    let tracker = TaskTracker::new();
    let run = ms.run(tracker.handler(|_m: Message| async { Ok::<(), std::io::Error>(()) }));
    drop(run);
    (ms, tracker)
}

/// Takes the next task and answers it with `outcome`, as a worker would.
async fn answer_next(
    worker: &MicroServiceWs,
    inbox: &mut UnboundedReceiver<Message>,
    outcome: JobOutcome,
) -> String {
    let task = inbox.recv().await.unwrap();
    let (from, reference_id, job_id, data) = task_parts(&task);
    worker
        .send_task_to_ms(&from, &reference_id, &job_id, outcome.to_message(&job_id))
        .await
        .unwrap();
    data["params"]["object_name"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_worker_error_fails_the_job_with_its_message_and_deletes_the_input() {
    let servers = Servers::start().await;
    let (worker, mut inbox) = servers.manual_worker().await;
    let (ms, tracker) = consumer(&servers).await;

    let job = EncodingJob::new(["x"], "ref", "job-err");
    let (result, input) = within("job", async {
        tokio::join!(
            send_encoding_job(&ms, &servers.s3, BUCKET, &tracker, &job),
            answer_next(&worker, &mut inbox, JobOutcome::error("CUDA out of memory"))
        )
    })
    .await;
    let err = result.unwrap_err();
    assert!(err.is_job_failed(), "{err:?}");
    assert_eq!(err.worker_message(), Some("CUDA out of memory"));
    assert!(
        !servers.keys("encoder/").await.contains(&input),
        "input deleted"
    );
    assert_eq!(tracker.waiting(), 0);
}

#[tokio::test]
async fn no_answer_times_out_at_the_deadline_and_deletes_the_input() {
    let servers = Servers::start().await;
    let (_silent_worker, mut inbox) = servers.manual_worker().await;
    let (ms, tracker) = consumer(&servers).await;

    let deadline = Duration::from_millis(400);
    let job = EncodingJob::new(["x"], "ref", "job-slow").timeout(deadline);
    let started = tokio::time::Instant::now();
    let err = within(
        "job",
        send_encoding_job(&ms, &servers.s3, BUCKET, &tracker, &job),
    )
    .await
    .unwrap_err();
    let waited = started.elapsed();
    assert!(err.is_timeout(), "{err:?}");
    assert!(matches!(err, Error::TimedOut { after, .. } if after == deadline));
    assert!(
        waited >= deadline,
        "a real deadline, not the original's one second: {waited:?}"
    );
    // The task did arrive; it simply was never answered.
    assert!(inbox.try_recv().is_ok());
    assert!(servers.keys("encoder/").await.is_empty(), "input deleted");
    assert_eq!(tracker.waiting(), 0);
    // A late answer for the forgotten job is ignored.
    assert!(!tracker.complete("job-slow", JobOutcome::error("late")));
}

#[tokio::test(start_paused = true)]
async fn the_deadline_is_the_one_given_even_minutes_long_on_paused_time() {
    // The original's `timeout` loop gave up after one second whatever the
    // value. On paused time a ten-minute deadline passes in no real time, and
    // the job must have waited all of it, and not much more.
    let servers = Servers::start().await;
    let (_silent_worker, mut inbox) = servers.manual_worker().await;
    let (ms, tracker) = consumer(&servers).await;

    let deadline = Duration::from_secs(600);
    let job = EncodingJob::new(["x"], "ref", "job-long").timeout(deadline);
    let sending = send_encoding_job(&ms, &servers.s3, BUCKET, &tracker, &job);
    let (result, waited) = tokio::time::timeout(deadline * 2, async {
        tokio::pin!(sending);
        // The clock starts once the task is out, as the deadline does.
        tokio::select! {
            _ = &mut sending => panic!("nobody answers"),
            task = inbox.recv() => assert!(task.is_some()),
        }
        let sent = tokio::time::Instant::now();
        assert!(tracker.is_waiting("job-long"));
        let result = sending.await;
        (result, sent.elapsed())
    })
    .await
    .expect("the job ends at its deadline");
    let err = result.unwrap_err();
    assert!(
        matches!(err, Error::TimedOut { after, .. } if after == deadline),
        "{err:?}"
    );
    assert!(waited <= deadline, "{waited:?}");
    assert!(waited >= deadline - Duration::from_secs(1), "{waited:?}");
    assert!(servers.keys("encoder/").await.is_empty(), "input deleted");
    assert_eq!(tracker.waiting(), 0);
}

#[tokio::test]
async fn a_malformed_result_file_is_an_error_and_is_kept_for_inspection() {
    let servers = Servers::start().await;
    let (worker, mut inbox) = servers.manual_worker().await;
    let (ms, tracker) = consumer(&servers).await;

    for (job_id, body) in [
        ("job-notjson", &b"{not json"[..]),
        ("job-strings", &br#"[["a", "b"]]"#[..]),
        ("job-count", &b"[[1.0], [2.0]]"[..]), // two vectors for one text
    ] {
        let result_key = format!("encoder/results/{job_id}.json");
        servers
            .s3
            .upload_bytes(body.to_vec(), BUCKET, &result_key, Default::default())
            .await
            .unwrap();
        let job = EncodingJob::new(["only one text"], "ref", job_id);
        let (result, input) = within("job", async {
            tokio::join!(
                send_encoding_job(&ms, &servers.s3, BUCKET, &tracker, &job),
                answer_next(
                    &worker,
                    &mut inbox,
                    JobOutcome::ok(&result_key, json!(null))
                )
            )
        })
        .await;
        let err = result.unwrap_err();
        assert!(err.is_malformed(), "{job_id}: {err:?}");
        assert!(matches!(&err, Error::Malformed { object, .. } if *object == result_key));
        let keys = servers.keys("encoder/").await;
        assert!(
            keys.contains(&result_key),
            "{job_id}: the bad result is kept"
        );
        assert!(!keys.contains(&input), "{job_id}: the input is deleted");
    }
}

#[tokio::test]
async fn a_missing_result_file_is_reported_as_missing() {
    let servers = Servers::start().await;
    let (worker, mut inbox) = servers.manual_worker().await;
    let (ms, tracker) = consumer(&servers).await;

    let job = EncodingJob::new(["x"], "ref", "job-gone");
    let (result, _) = within("job", async {
        tokio::join!(
            send_encoding_job(&ms, &servers.s3, BUCKET, &tracker, &job),
            answer_next(
                &worker,
                &mut inbox,
                JobOutcome::ok("encoder/results/nothing.json", json!(1))
            )
        )
    })
    .await;
    let err = result.unwrap_err();
    assert!(err.is_result_missing(), "{err:?}");
    assert!(servers.keys("encoder/").await.is_empty(), "input deleted");
}

#[tokio::test]
async fn an_answer_of_unknown_type_is_an_invalid_answer() {
    let servers = Servers::start().await;
    let (worker, mut inbox) = servers.manual_worker().await;
    let (ms, tracker) = consumer(&servers).await;

    let job = EncodingJob::new(["x"], "ref", "job-odd");
    let answer = async {
        let task = inbox.recv().await.unwrap();
        let (from, reference_id, job_id, _) = task_parts(&task);
        let odd = json!({"event": "ms-task-result", "data": {"jobId": job_id, "type": "done"}});
        worker
            .send_task_to_ms(&from, &reference_id, &job_id, odd)
            .await
            .unwrap();
    };
    let (result, ()) = within("job", async {
        tokio::join!(
            send_encoding_job(&ms, &servers.s3, BUCKET, &tracker, &job),
            answer
        )
    })
    .await;
    assert!(matches!(result.unwrap_err(), Error::InvalidAnswer { .. }));
    assert!(servers.keys("encoder/").await.is_empty(), "input deleted");
}

#[tokio::test]
async fn an_upload_failure_sends_no_task() {
    let servers = Servers::start().await;
    let (_worker, mut inbox) = servers.manual_worker().await;
    let (ms, tracker) = consumer(&servers).await;
    let config = S3Config::builder()
        .endpoint(servers.s3_server.endpoint())
        .credentials(servers.s3_server.access_key(), "wrong-secret")
        .max_attempts(1)
        .build()
        .unwrap();
    let bad_s3 = S3BucketClient::new("test", config).await.unwrap();

    let job = EncodingJob::new(["x"], "ref", "job-up");
    let err = within(
        "job",
        send_encoding_job(&ms, &bad_s3, BUCKET, &tracker, &job),
    )
    .await
    .unwrap_err();
    assert!(err.is_upload_failed(), "{err:?}");
    assert_eq!(servers.gateway.faults().counters().tasks_routed, 0);
    assert!(inbox.try_recv().is_err());
    assert_eq!(tracker.waiting(), 0);
}

#[tokio::test]
async fn a_job_id_already_waiting_is_refused_before_any_upload() {
    let servers = Servers::start().await;
    let (_worker, mut inbox) = servers.manual_worker().await;
    let (ms, tracker) = consumer(&servers).await;

    let first = EncodingJob::new(["x"], "ref", "same").timeout(Duration::from_secs(20));
    let waiting = send_encoding_job(&ms, &servers.s3, BUCKET, &tracker, &first);
    let second = async {
        inbox.recv().await.unwrap(); // the first job is waiting now
        let err = send_encoding_job(&ms, &servers.s3, BUCKET, &tracker, &first)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::DuplicateJob { .. }), "{err:?}");
        assert_eq!(
            servers.keys("encoder/").await.len(),
            1,
            "only the first input"
        );
        tracker.complete("same", JobOutcome::error("stop"));
    };
    let (first, ()) = within("jobs", async { tokio::join!(waiting, second) }).await;
    assert!(first.unwrap_err().is_job_failed());
}

#[tokio::test]
async fn closing_the_client_ends_a_waiting_job() {
    let servers = Servers::start().await;
    let (_worker, mut inbox) = servers.manual_worker().await;
    let (ms, tracker) = consumer(&servers).await;

    let job = EncodingJob::new(["x"], "ref", "job-close");
    let waiting = send_encoding_job(&ms, &servers.s3, BUCKET, &tracker, &job);
    let closing = async {
        inbox.recv().await.unwrap();
        let _ = ms.close().await;
    };
    let (result, ()) = within("job", async { tokio::join!(waiting, closing) }).await;
    assert!(result.unwrap_err().is_closed());
    assert!(servers.keys("encoder/").await.is_empty(), "input deleted");
}

#[tokio::test]
async fn a_cancelled_job_forgets_its_slot_and_deletes_its_input() {
    let servers = Servers::start().await;
    let (_worker, mut inbox) = servers.manual_worker().await;
    let (ms, tracker) = consumer(&servers).await;

    let job = EncodingJob::new(["x"], "ref", "job-cancel");
    let arrived = within("task arrives", async {
        tokio::select! {
            _ = send_encoding_job(&ms, &servers.s3, BUCKET, &tracker, &job) => panic!("nobody answers"),
            task = inbox.recv() => task.unwrap(),
        }
    })
    .await;
    // The select dropped the job's future once the task arrived.
    let input = task_parts(&arrived).3["params"]["object_name"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(tracker.waiting(), 0);
    assert!(!tracker.is_waiting("job-cancel"));
    // The input is deleted by a background task: wait for it (each look is a
    // request to the server, not a spin).
    within("input deleted", async {
        while servers.keys("encoder/").await.contains(&input) {
            tokio::task::yield_now().await;
        }
    })
    .await;
}
