//! Every task answered: a task route answers each task with what its
//! handler returns, or with the platform's error outcome when the call
//! fails or never runs, under the task's own jobId and referenceId, once.
//! Seen from a sender that is not ms_utils (a bare websocket), and in the
//! bytes our client writes.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::support::*;
use ms_utils_communication::ws::{
    Context, FailedCall, HandlerFailure, Message, Router, RunOptions, Strategy, Task,
};
use ms_utils_dev::gateway::DevGateway;
use serde_json::{Value, json};
use tokio::sync::{Notify, mpsc};

#[derive(serde::Deserialize)]
struct Order {
    /// What the handler does: "ok", "error", "panic", "hang", "reply-then-fail".
    mode: String,
}

/// A handler that does what the order says.
async fn obey(task: Task<Order>, cx: Context) -> Result<Value, std::io::Error> {
    match task.data.mode.as_str() {
        "error" => Err(std::io::Error::other("unknown model")),
        "panic" => panic!("index 7 out of range in secret_internals.rs"),
        "hang" => std::future::pending().await,
        "reply-then-fail" => {
            task.reply(cx.client(), &json!("partial"))
                .await
                .map_err(std::io::Error::other)?;
            Err(std::io::Error::other("failed after replying"))
        }
        _ => Ok(json!({"done": task.data.mode})),
    }
}

/// The error outcome a task `job_id` of `reference_id` gets from bob.
fn error_answer(reference_id: &str, job_id: &str, message: &str) -> Value {
    json!({"event": "ms-task", "data": {
        "from": "bob", "referenceId": reference_id, "workflowId": reference_id, "jobId": job_id,
        "data": {"event": "ms-task-result", "data": {
            "jobId": job_id, "type": "error", "response": null, "consumption": null,
            "message": message}}}})
}

/// The `message` of an error outcome answer.
fn message_of(answer: &Value) -> &str {
    answer["data"]["data"]["data"]["message"]
        .as_str()
        .expect("an error outcome")
}

async fn bob_and_carol(gw: &DevGateway) -> (ms_utils_communication::ws::MicroServiceWs, RawPeer) {
    let bob = connect(gw, BOB).await;
    wait_connected(gw, "bob").await;
    (bob, RawPeer::connect(gw).await)
}

#[tokio::test]
async fn a_task_route_answers_with_what_its_handler_returns_in_python_s_bytes() {
    let gw = gateway_with_carol().await;
    let (bob, mut carol) = bob_and_carol(&gw).await;
    gw.faults().record(true);
    let _run = bob.run(Router::new().task(obey));

    carol
        .send_task("bob", "ref-1", "job-1", json!({"mode": "ok"}))
        .await;
    assert_eq!(
        carol.next_json().await,
        json!({"event": "ms-task", "data": {
            "from": "bob", "referenceId": "ref-1", "workflowId": "ref-1", "jobId": "job-1",
            "data": {"done": "ok"}}})
    );
    assert_eq!(
        gw.faults().recorded_texts("bob"),
        [
            r#"{"event": "ms-send-task", "data": {"to": "carol", "workflowId": "ref-1", "referenceId": "ref-1", "jobId": "job-1", "data": {"done": "ok"}}}"#
        ]
    );
}

#[tokio::test]
async fn every_failure_of_a_task_is_answered_with_its_error_outcome() {
    let gw = gateway_with_carol().await;
    let (bob, mut carol) = bob_and_carol(&gw).await;
    gw.faults().record(true);
    let _run = bob
        .run(Router::new().task_with(RunOptions::new().deadline(Duration::from_millis(100)), obey));

    // The handler's error: its Display, in Python's bytes.
    carol
        .send_task("bob", "ref-e", "job-e", json!({"mode": "error"}))
        .await;
    assert_eq!(
        carol.next_json().await,
        error_answer("ref-e", "job-e", "unknown model")
    );
    assert_eq!(
        gw.faults().recorded_texts("bob"),
        [
            r#"{"event": "ms-send-task", "data": {"to": "carol", "workflowId": "ref-e", "referenceId": "ref-e", "jobId": "job-e", "data": {"event": "ms-task-result", "data": {"jobId": "job-e", "type": "error", "response": null, "consumption": null, "message": "unknown model"}}}}"#
        ]
    );

    // A panic: a fixed text, never the panic's own.
    carol
        .send_task("bob", "ref-p", "job-p", json!({"mode": "panic"}))
        .await;
    let answer = carol.next_json().await;
    assert_eq!(answer, error_answer("ref-p", "job-p", message_of(&answer)));
    assert!(!message_of(&answer).contains("secret"), "{answer}");
    assert!(!message_of(&answer).contains("index"), "{answer}");

    // The deadline passed.
    carol
        .send_task("bob", "ref-h", "job-h", json!({"mode": "hang"}))
        .await;
    let answer = carol.next_json().await;
    assert_eq!(answer, error_answer("ref-h", "job-h", message_of(&answer)));
    assert!(message_of(&answer).contains("100ms"), "{answer}");

    // A payload that does not fit: what did not parse.
    carol
        .send_task("bob", "ref-b", "job-b", json!({"mode": 3}))
        .await;
    let answer = carol.next_json().await;
    assert_eq!(answer, error_answer("ref-b", "job-b", message_of(&answer)));
    assert!(message_of(&answer).contains("invalid type"), "{answer}");
}

/// The route reads a task as `Task::from_message` does: no `referenceId`
/// (or a null one) falls back to the `workflowId`, then to the job id, and
/// the answer carries that reference id.
#[tokio::test]
async fn a_task_without_a_reference_id_is_read_and_answered_as_from_message_reads_it() {
    let gw = gateway_with_carol().await;
    let (bob, mut carol) = bob_and_carol(&gw).await;
    let _run = bob.run(Router::new().task(obey));

    let cases = [
        (
            json!({"from": "carol", "jobId": "j1", "data": {"mode": "ok"}}),
            "j1",
        ),
        (
            json!({"from": "carol", "referenceId": null, "workflowId": "w2", "jobId": "j2", "data": {"mode": "ok"}}),
            "w2",
        ),
        (
            json!({"from": "carol", "workflowId": "w3", "jobId": "j3", "data": {"mode": "error"}}),
            "w3",
        ),
    ];
    for (data, reference_id) in cases {
        let job_id = data["jobId"].clone();
        let msg = Message::json(json!({"event": "ms-task", "data": data}));
        let task: Task<Value> = Task::from_message(&msg).unwrap();
        assert_eq!(task.reference_id, reference_id);
        gw.faults()
            .send_raw_text(
                "bob",
                json!({"event": "ms-task", "data": msg.data()}).to_string(),
            )
            .await
            .unwrap();
        let answer = carol.next_json().await;
        assert_eq!(answer["data"]["jobId"], job_id, "{answer}");
        assert_eq!(answer["data"]["referenceId"], reference_id, "{answer}");
    }
}

/// A handler that answered its task and then fails is not answered again:
/// the next message after its reply is the answer to the next task.
#[tokio::test]
async fn a_task_is_answered_once_when_its_handler_replied_then_failed() {
    let gw = gateway_with_carol().await;
    let (bob, mut carol) = bob_and_carol(&gw).await;
    let _run = bob.run(Router::new().task(obey));

    carol
        .send_task("bob", "ref-1", "job-1", json!({"mode": "reply-then-fail"}))
        .await;
    // Task::reply answers under the task's own ids (reference id and job id
    // differ here).
    let reply = carol.next_json().await;
    assert_eq!(reply["data"]["jobId"], "job-1");
    assert_eq!(reply["data"]["referenceId"], "ref-1");
    assert_eq!(reply["data"]["workflowId"], "ref-1");
    assert_eq!(reply["data"]["data"], "partial");
    carol
        .send_task("bob", "ref-2", "job-2", json!({"mode": "ok"}))
        .await;
    let next = carol.next_json().await;
    assert_eq!(
        next["data"]["jobId"], "job-2",
        "a second answer to job-1: {next}"
    );
}

/// A plain handler (no router) that fails on a task: answered too.
#[tokio::test]
async fn a_plain_handler_s_failed_task_is_answered() {
    let gw = gateway_with_carol().await;
    let (bob, mut carol) = bob_and_carol(&gw).await;
    let _run = bob.run(|msg: Message| async move {
        let task: Task<Order> = Task::from_message(&msg)?;
        Err(ms_utils_communication::ws::Error::Config {
            reason: format!("cannot {}", task.data.mode),
        })
    });
    carol
        .send_task("bob", "ref-1", "job-1", json!({"mode": "fly"}))
        .await;
    let answer = carol.next_json().await;
    assert_eq!(
        answer,
        error_answer("ref-1", "job-1", "invalid configuration: cannot fly")
    );
}

/// Opted out: a failed task is the application's to answer (the hook says
/// it was not answered); an outcome (the answer to a task of ours) is
/// never answered, nor handed to a task route.
#[tokio::test]
async fn opted_out_routes_and_outcomes_are_not_answered() {
    let gw = gateway_with_carol().await;
    let (bob, mut carol) = bob_and_carol(&gw).await;
    let (tx, mut failures) = mpsc::unbounded_channel::<FailedCall>();
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let _run = bob.run_with(
        RunOptions::new().on_error(move |f| tx.send(f).unwrap()),
        Router::new()
            .task_with(
                RunOptions::new().answer_tasks(false),
                move |t: Task<Order>, cx: Context| {
                    counted.fetch_add(1, Ordering::SeqCst);
                    obey(t, cx)
                },
            )
            .route("other", |_: Value| async { Ok::<(), std::io::Error>(()) }),
    );

    carol
        .send_task("bob", "ref-1", "job-1", json!({"mode": "error"}))
        .await;
    let failed = within("the hook", failures.recv()).await.unwrap();
    assert_eq!(failed.job_id.as_deref(), Some("job-1"));
    assert_eq!(failed.reference_id.as_deref(), Some("ref-1"));
    assert!(!failed.answered);

    // An error outcome sent to bob as a task: not a task, not answered.
    let outcome = json!({"event": "ms-task-result", "data": {
        "jobId": "job-x", "type": "error", "response": null, "consumption": null, "message": "no"}});
    carol.send_task("bob", "ref-x", "job-x", outcome).await;
    carol
        .send_task("bob", "ref-2", "job-2", json!({"mode": "ok"}))
        .await;
    let next = carol.next_json().await;
    assert_eq!(next["data"]["jobId"], "job-2", "{next}");
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "the outcome reached the handler"
    );
}

#[tokio::test]
async fn the_hook_learns_the_reference_id_and_that_the_library_answered() {
    let gw = gateway_with_carol().await;
    let (bob, mut carol) = bob_and_carol(&gw).await;
    let (tx, mut failures) = mpsc::unbounded_channel::<FailedCall>();
    let _run = bob.run_with(
        RunOptions::new().on_error(move |f| tx.send(f).unwrap()),
        Router::new().task(obey),
    );
    carol
        .send_task("bob", "ref-9", "job-9", json!({"mode": "error"}))
        .await;
    let failed = within("the hook", failures.recv()).await.unwrap();
    assert_eq!(failed.job_id.as_deref(), Some("job-9"));
    assert_eq!(failed.reference_id.as_deref(), Some("ref-9"));
    assert_eq!(failed.from.as_deref(), Some("carol"));
    assert!(failed.answered);
    assert!(matches!(failed.failure, HandlerFailure::Error { .. }));
    assert_eq!(message_of(&carol.next_json().await), "unknown model");
}

/// A task that never runs is answered: dropped by `Ignore` while one of
/// its key runs, or cancelled by a newer one under `Replace`.
#[tokio::test]
async fn tasks_ignored_or_replaced_are_answered() {
    let gw = gateway_with_carol().await;
    let (bob, mut carol) = bob_and_carol(&gw).await;
    let started = Arc::new(Notify::new());
    let release = Arc::new(Notify::new());
    let held = |started: Arc<Notify>, release: Arc<Notify>| {
        move |task: Task<Order>, _: Context| {
            let (started, release) = (started.clone(), release.clone());
            async move {
                if task.data.mode == "hold" {
                    started.notify_one();
                    release.notified().await;
                }
                Ok::<_, std::io::Error>(task.data.mode)
            }
        }
    };
    let run = bob.run(Router::new().task_with(
        RunOptions::new().strategy(Strategy::Ignore),
        held(started.clone(), release.clone()),
    ));
    carol
        .send_task("bob", "ref-a", "job-k", json!({"mode": "hold"}))
        .await;
    within("first call starts", started.notified()).await;
    carol
        .send_task("bob", "ref-b", "job-k", json!({"mode": "second"}))
        .await;
    let ignored = carol.next_json().await;
    assert_eq!(ignored["data"]["referenceId"], "ref-b", "{ignored}");
    assert!(message_of(&ignored).contains("same key"), "{ignored}");
    release.notify_one();
    assert_eq!(carol.next_json().await["data"]["data"], "hold");
    run.stop();
    within("run ends", run.finished()).await.unwrap();

    let _run = bob.run(Router::new().task_with(
        RunOptions::new().strategy(Strategy::Replace),
        held(started.clone(), release.clone()),
    ));
    carol
        .send_task("bob", "ref-c", "job-r", json!({"mode": "hold"}))
        .await;
    within("first call starts", started.notified()).await;
    carol
        .send_task("bob", "ref-d", "job-r", json!({"mode": "newer"}))
        .await;
    let replaced = carol.next_json().await;
    assert_eq!(replaced["data"]["referenceId"], "ref-c", "{replaced}");
    assert!(message_of(&replaced).contains("replaced"), "{replaced}");
    let newer = carol.next_json().await;
    assert_eq!(newer["data"]["referenceId"], "ref-d");
    assert_eq!(newer["data"]["data"], "newer");
}

/// At close, a task waiting behind its key is not started but answered;
/// the running one finishes and its answer still goes out.
#[tokio::test]
async fn tasks_waiting_at_close_are_answered_as_not_started() {
    let gw = gateway_with_carol().await;
    let (bob, mut carol) = bob_and_carol(&gw).await;
    let started = Arc::new(Notify::new());
    let release = Arc::new(Notify::new());
    let _run = {
        let (started, release) = (started.clone(), release.clone());
        bob.run(Router::new().task_with(
            RunOptions::new().strategy(Strategy::Queue),
            move |task: Task<Order>, _: Context| {
                let (started, release) = (started.clone(), release.clone());
                async move {
                    started.notify_one();
                    release.notified().await;
                    Ok::<_, std::io::Error>(task.data.mode)
                }
            },
        ))
    };
    carol
        .send_task("bob", "ref-1", "job-q", json!({"mode": "first"}))
        .await;
    within("first call starts", started.notified()).await;
    carol
        .send_task("bob", "ref-2", "job-q", json!({"mode": "queued"}))
        .await;
    // Queued behind job-q's running call once bob has read it: the gateway
    // counts the frame it routed to bob.
    within(
        "second task routed",
        gw.faults().wait_for(|c| c.tasks_routed >= 2),
    )
    .await;

    let closing = tokio::spawn({
        let bob = bob.clone();
        async move { bob.close().await }
    });
    let not_started = carol.next_json().await;
    assert_eq!(not_started["data"]["referenceId"], "ref-2", "{not_started}");
    assert!(
        message_of(&not_started).contains("stopped before"),
        "{not_started}"
    );
    release.notify_one();
    assert_eq!(carol.next_json().await["data"]["data"], "first");
    within("close", closing).await.unwrap().unwrap();
}
