//! Embedding jobs that fail: each failure is a typed error, and the input
//! uploaded for the job is deleted.

use std::time::Duration;

use crate::support::{BUCKET, CONSUMER, Servers, input_of, task_parts, within};
use ms_utils_communication::s3::{S3BucketClient, S3Config};
use ms_utils_communication::ws::{self, Message, MicroServiceWs};
use ms_utils_encoding::{EncodingJob, Error, JobOutcome, WORKERS_MANAGER, send_encoding_job};
use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedReceiver;

/// Takes the next task and answers it with `outcome`, as a worker would;
/// returns the task's input object.
async fn answer_next(
    worker: &MicroServiceWs,
    inbox: &mut UnboundedReceiver<Message>,
    outcome: JobOutcome,
) -> String {
    let task = inbox.recv().await.unwrap();
    let job_id = task_parts(&task).2;
    answer_with(worker, &task, outcome.to_message(&job_id)).await;
    input_of(&task)
}

/// Answers `task` with `data`, under its job and reference ids.
async fn answer_with(worker: &MicroServiceWs, task: &Message, data: Value) {
    let (from, reference_id, job_id, _) = task_parts(task);
    worker
        .send_task_to_ms(&from, &reference_id, &job_id, data)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_worker_error_fails_the_job_with_its_message_and_deletes_the_input() {
    let servers = Servers::start().await;
    let (worker, mut inbox) = servers.manual_worker().await;
    let ms = servers.connect(CONSUMER).await;

    let job = EncodingJob::new(["x"], "ref", "job-err");
    let (result, input) = within("job", async {
        tokio::join!(
            send_encoding_job(&ms, &servers.s3, BUCKET, &job),
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
}

#[tokio::test]
async fn no_answer_times_out_at_the_deadline_and_deletes_the_input() {
    let servers = Servers::start().await;
    let (late_worker, mut inbox) = servers.manual_worker().await;
    let (ms, mut app) = servers.listening(CONSUMER).await;

    let deadline = Duration::from_millis(400);
    let job = EncodingJob::new(["x"], "ref", "job-slow").timeout(deadline);
    let started = tokio::time::Instant::now();
    let err = within("job", send_encoding_job(&ms, &servers.s3, BUCKET, &job))
        .await
        .unwrap_err();
    let waited = started.elapsed();
    assert!(err.is_timeout(), "{err:?}");
    assert!(matches!(err, Error::TimedOut { after, .. } if after == deadline));
    assert!(
        waited >= deadline,
        "a real deadline, not the original's one second: {waited:?}"
    );
    // The task did arrive; it simply was not answered in time.
    let task = inbox.try_recv().unwrap();
    assert!(servers.keys("encoder/").await.is_empty(), "input deleted");
    // A late answer for the forgotten job reaches the application.
    answer_with(
        &late_worker,
        &task,
        JobOutcome::error("late").to_message("job-slow"),
    )
    .await;
    let late = within("the late answer", app.recv()).await.unwrap();
    assert_eq!(late.job_id(), Some("job-slow"));
}

#[tokio::test(start_paused = true)]
async fn the_deadline_is_the_one_given_even_minutes_long_on_paused_time() {
    // The original's `timeout` loop gave up after one second whatever the
    // value. On paused time a ten-minute deadline passes in no real time, and
    // the job must have waited all of it, and not much more.
    let servers = Servers::start().await;
    let (_silent_worker, mut inbox) = servers.manual_worker().await;
    let ms = servers.connect(CONSUMER).await;

    let deadline = Duration::from_secs(600);
    let job = EncodingJob::new(["x"], "ref", "job-long").timeout(deadline);
    let sending = send_encoding_job(&ms, &servers.s3, BUCKET, &job);
    let (result, waited) = tokio::time::timeout(deadline * 2, async {
        tokio::pin!(sending);
        // The clock starts once the task is out, as the deadline does.
        tokio::select! {
            _ = &mut sending => panic!("nobody answers"),
            task = inbox.recv() => assert!(task.is_some()),
        }
        let sent = tokio::time::Instant::now();
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
}

#[tokio::test]
async fn a_malformed_result_file_is_an_error_and_is_kept_for_inspection() {
    let servers = Servers::start().await;
    let (worker, mut inbox) = servers.manual_worker().await;
    let ms = servers.connect(CONSUMER).await;

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
                send_encoding_job(&ms, &servers.s3, BUCKET, &job),
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
    let ms = servers.connect(CONSUMER).await;

    let job = EncodingJob::new(["x"], "ref", "job-gone");
    let (result, _) = within("job", async {
        tokio::join!(
            send_encoding_job(&ms, &servers.s3, BUCKET, &job),
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

/// Only an `ok` outcome naming a result object is a result. An outcome of a
/// type nobody knows ends the job as failed (the gateway client reads it as
/// a failure); an `ok` without a `response`, or a plain answer, is an
/// invalid answer. Each deletes the input.
#[tokio::test]
async fn answers_that_name_no_result_are_errors() {
    let servers = Servers::start().await;
    let (worker, mut inbox) = servers.manual_worker().await;
    let ms = servers.connect(CONSUMER).await;

    let outcome = |job_id: &str, kind: &str, response: Value| {
        let data = json!({"jobId": job_id, "type": kind, "response": response});
        json!({"event": "ms-task-result", "data": data})
    };
    // (job id, answer, whether the job fails as failed rather than invalid)
    let cases = [
        ("job-odd", outcome("job-odd", "done", json!("r.json")), true),
        (
            "job-noresp",
            outcome("job-noresp", "ok", Value::Null),
            false,
        ),
        ("job-number", outcome("job-number", "ok", json!(42)), false),
        // The shape the original's applications could complete by hand:
        // a job's answer is now an outcome or it is not a result.
        (
            "job-plain",
            json!({"status": "finished", "file": "out/own.json"}),
            false,
        ),
    ];
    for (job_id, answer, failed) in cases {
        let job = EncodingJob::new(["x"], "ref", job_id);
        let answering = async {
            let task = inbox.recv().await.unwrap();
            answer_with(&worker, &task, answer).await;
            input_of(&task)
        };
        let (result, input) = within("job", async {
            tokio::join!(send_encoding_job(&ms, &servers.s3, BUCKET, &job), answering)
        })
        .await;
        let err = result.unwrap_err();
        if failed {
            assert!(err.is_job_failed(), "{job_id}: {err:?}");
        } else {
            assert!(
                matches!(err, Error::InvalidAnswer { .. }),
                "{job_id}: {err:?}"
            );
        }
        assert!(
            !servers.keys("encoder/").await.contains(&input),
            "{job_id}: input deleted"
        );
    }
}

#[tokio::test]
async fn a_job_nobody_can_take_fails_at_once_as_not_sent() {
    // No `workers_manager` is connected: the gateway answers `ms-error`.
    let servers = Servers::start().await;
    let ms = servers.connect(CONSUMER).await;

    let job = EncodingJob::new(["x"], "ref", "job-nobody").timeout(Duration::from_secs(600));
    let err = within("job", send_encoding_job(&ms, &servers.s3, BUCKET, &job))
        .await
        .unwrap_err();
    let Error::Send { job_id, source } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(job_id, "job-nobody");
    assert!(matches!(**source, ws::Error::Remote { .. }), "{source:?}");
    assert!(servers.keys("encoder/").await.is_empty(), "input deleted");
}

#[tokio::test]
async fn an_upload_failure_sends_no_task() {
    let servers = Servers::start().await;
    let (_worker, mut inbox) = servers.manual_worker().await;
    let ms = servers.connect(CONSUMER).await;
    let config = S3Config::builder()
        .endpoint(servers.s3_server.endpoint())
        .credentials(servers.s3_server.access_key(), "wrong-secret")
        .max_attempts(1)
        .build()
        .unwrap();
    let bad_s3 = S3BucketClient::new("test", config).await.unwrap();

    let job = EncodingJob::new(["x"], "ref", "job-up");
    let err = within("job", send_encoding_job(&ms, &bad_s3, BUCKET, &job))
        .await
        .unwrap_err();
    assert!(err.is_upload_failed(), "{err:?}");
    assert_eq!(servers.gateway.faults().counters().tasks_routed, 0);
    assert!(inbox.try_recv().is_err());
}

/// Jobs and calls wait in one table of the client: an id that a job or a
/// call is waiting under is refused, no task is sent, and the input
/// uploaded for it is deleted.
#[tokio::test]
async fn a_job_id_already_waiting_is_refused() {
    let servers = Servers::start().await;
    let (worker, mut inbox) = servers.manual_worker().await;
    let ms = servers.connect(CONSUMER).await;

    let first = EncodingJob::new(["x"], "ref", "same").timeout(Duration::from_secs(20));
    let waiting_job = send_encoding_job(&ms, &servers.s3, BUCKET, &first);
    let waiting_call = ms
        .call(WORKERS_MANAGER, json!({"ping": 1}))
        .job_id("taken")
        .timeout(Duration::from_secs(20))
        .data::<Value>();
    let refusing = async {
        // Both wait now (their tasks arrive in either order).
        let mut job_task = inbox.recv().await.unwrap();
        let mut call_task = inbox.recv().await.unwrap();
        if task_parts(&job_task).2 == "taken" {
            std::mem::swap(&mut job_task, &mut call_task);
        }
        for job_id in ["same", "taken"] {
            let again = EncodingJob::new(["y"], "ref", job_id);
            let err = send_encoding_job(&ms, &servers.s3, BUCKET, &again)
                .await
                .unwrap_err();
            assert!(
                matches!(err, Error::DuplicateJob { .. }),
                "{job_id}: {err:?}"
            );
        }
        assert_eq!(
            servers.keys("encoder/").await,
            [input_of(&job_task)],
            "only the first job's input"
        );
        assert_eq!(servers.gateway.faults().counters().tasks_routed, 2);
        answer_with(&worker, &call_task, json!("pong")).await;
        answer_with(
            &worker,
            &job_task,
            JobOutcome::error("stop").to_message("same"),
        )
        .await;
    };
    let (first, call, ()) = within("jobs", async {
        tokio::join!(waiting_job, waiting_call, refusing)
    })
    .await;
    assert!(first.unwrap_err().is_job_failed());
    assert_eq!(call.unwrap(), json!("pong"));
}

#[tokio::test]
async fn closing_the_client_ends_a_waiting_job() {
    let servers = Servers::start().await;
    let (_worker, mut inbox) = servers.manual_worker().await;
    let ms = servers.connect(CONSUMER).await;

    let job = EncodingJob::new(["x"], "ref", "job-close");
    let waiting = send_encoding_job(&ms, &servers.s3, BUCKET, &job);
    let closing = async {
        inbox.recv().await.unwrap();
        let _ = ms.close().await;
    };
    let (result, ()) = within("job", async { tokio::join!(waiting, closing) }).await;
    assert!(result.unwrap_err().is_closed());
    assert!(servers.keys("encoder/").await.is_empty(), "input deleted");
}

#[tokio::test]
async fn a_job_on_a_closed_client_ends_as_closed_and_deletes_its_input() {
    let servers = Servers::start().await;
    let ms = servers.connect(CONSUMER).await;
    within("close", ms.close()).await.unwrap();

    let job = EncodingJob::new(["x"], "ref", "job-after-close");
    let err = within("job", send_encoding_job(&ms, &servers.s3, BUCKET, &job))
        .await
        .unwrap_err();
    assert!(err.is_closed(), "{err:?}");
    assert!(servers.keys("encoder/").await.is_empty(), "input deleted");
}

#[tokio::test]
async fn a_cancelled_job_forgets_its_wait_and_deletes_its_input() {
    let servers = Servers::start().await;
    let (late_worker, mut inbox) = servers.manual_worker().await;
    let (ms, mut app) = servers.listening(CONSUMER).await;

    let job = EncodingJob::new(["x"], "ref", "job-cancel");
    let arrived = within("task arrives", async {
        tokio::select! {
            _ = send_encoding_job(&ms, &servers.s3, BUCKET, &job) => panic!("nobody answers"),
            task = inbox.recv() => task.unwrap(),
        }
    })
    .await;
    // The select dropped the job's future once the task arrived: its answer
    // now goes to the application.
    answer_with(
        &late_worker,
        &arrived,
        JobOutcome::error("late").to_message("job-cancel"),
    )
    .await;
    let late = within("the late answer", app.recv()).await.unwrap();
    assert_eq!(late.job_id(), Some("job-cancel"));
    // The input is deleted by a background task: wait for it (each look is a
    // request to the server, not a spin).
    let input = input_of(&arrived);
    within("input deleted", async {
        while servers.keys("encoder/").await.contains(&input) {
            tokio::task::yield_now().await;
        }
    })
    .await;
}
