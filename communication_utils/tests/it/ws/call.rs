//! The calling side: `call` sends a task and returns its answer typed, an
//! error outcome as an error, with the reference id settable; a "running"
//! report does not end the wait; the reply message stays available. And
//! the handler side's context: the router's state and the client.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::support::*;
use ms_utils_communication::ws::{Context, Error, Router, Task};
use serde_json::{Value, json};

#[derive(serde::Deserialize)]
struct Resize {
    width: u32,
}

#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Resized {
    area: u32,
    reference_id: String,
    job_id: String,
}

/// Shared by every call through the context; deliberately not `Clone`.
struct Shop {
    factor: u32,
    calls: AtomicUsize,
}

async fn resize(task: Task<Resize>, cx: Context<Shop>) -> Result<Resized, std::io::Error> {
    cx.state().calls.fetch_add(1, Ordering::SeqCst);
    if task.data.width == 0 {
        return Err(std::io::Error::other("width must be positive"));
    }
    Ok(Resized {
        area: task.data.width * cx.state().factor,
        reference_id: task.reference_id,
        job_id: task.job_id,
    })
}

#[tokio::test]
async fn a_call_returns_the_answer_typed_and_an_error_outcome_as_an_error() {
    let gw = gateway().await;
    let alice = connect(&gw, ALICE).await;
    let bob = connect(&gw, BOB).await;
    wait_connected(&gw, "alice").await;
    wait_connected(&gw, "bob").await;
    let run = bob.run(
        Router::with_state(Shop {
            factor: 2,
            calls: AtomicUsize::new(0),
        })
        .task(resize),
    );

    let resized: Resized = alice
        .call("bob", json!({"width": 21}))
        .reference_id("workflow-7")
        .data()
        .await
        .unwrap();
    assert_eq!(resized.area, 42);
    assert_eq!(resized.reference_id, "workflow-7");
    assert_ne!(resized.job_id, "workflow-7", "a job id of its own");

    let reply = alice
        .call("bob", json!({"width": 5}))
        .job_id("job-5")
        .timeout(Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(reply.from(), Some("bob"));
    assert_eq!(reply.message().job_id(), Some("job-5"));
    assert_eq!(reply.data::<Resized>().unwrap().reference_id, "job-5");

    let failed = alice
        .call("bob", json!({"width": 0}))
        .data::<Resized>()
        .await
        .unwrap_err();
    let Error::TaskFailed { to, message, .. } = &failed else {
        panic!("{failed:?}");
    };
    assert_eq!(
        (to.as_str(), message.as_str()),
        ("bob", "width must be positive")
    );
    assert!(failed.is_task_failed());

    // The untyped request sees the same error.
    let failed = alice
        .request("bob", "job-0", json!({"width": 0}), Duration::from_secs(10))
        .await
        .unwrap_err();
    assert!(failed.is_task_failed(), "{failed:?}");

    run.stop();
    within("run ends", run.finished()).await.unwrap();
}

#[tokio::test]
async fn state_reaches_every_call_without_a_clone_and_the_client_with_it() {
    let gw = gateway().await;
    let alice = connect(&gw, ALICE).await;
    let bob = connect(&gw, BOB).await;
    wait_connected(&gw, "alice").await;
    wait_connected(&gw, "bob").await;
    let router = Router::with_state(Shop {
        factor: 3,
        calls: AtomicUsize::new(0),
    })
    .task(|task: Task<Resize>, cx: Context<Shop>| async move {
        let n = cx.state().calls.fetch_add(1, Ordering::SeqCst) + 1;
        // The client the call runs for: a side message to the caller.
        cx.client()
            .send_task_to_ms(&task.from, "progress", "progress", n)
            .await
            .map_err(std::io::Error::other)?;
        Ok::<_, std::io::Error>(task.data.width * cx.state().factor * 100 + n as u32)
    });
    let _run = bob.run(router);
    for n in 1..=3u32 {
        let answer: u32 = alice.call("bob", json!({"width": 1})).data().await.unwrap();
        assert_eq!(answer, 300 + n);
        let progress = next(&alice).await;
        assert_eq!(progress.data().unwrap()["data"], n);
    }
}

/// A worker that reports "running" before its outcome: the call waits for
/// the outcome (its `response` is the answer, its `consumption` kept), and
/// the report reaches the application.
#[tokio::test]
async fn a_running_report_does_not_end_the_call() {
    let gw = gateway_with_carol().await;
    let alice = connect(&gw, ALICE).await;
    wait_connected(&gw, "alice").await;
    let mut carol = RawPeer::connect(&gw).await;

    let call = tokio::spawn({
        let alice = alice.clone();
        async move {
            alice
                .call("carol", json!({"texts": ["a"]}))
                .job_id("emb-1")
                .reference_id("doc-1")
                .await
        }
    });
    let task = carol.next_json().await;
    assert_eq!(task["data"]["jobId"], "emb-1");
    assert_eq!(task["data"]["referenceId"], "doc-1");
    let outcome = |kind: &str, response: Value| {
        json!({"event": "ms-task-result", "data": {
            "jobId": "emb-1", "type": kind, "response": response,
            "consumption": {"gpu_s": 1.5}, "message": null}})
    };
    carol
        .send_task("alice", "doc-1", "emb-1", outcome("running", Value::Null))
        .await;
    carol
        .send_task(
            "alice",
            "doc-1",
            "emb-1",
            outcome("ok", json!("encoder/out.json")),
        )
        .await;
    let reply = within("the call", call).await.unwrap().unwrap();
    assert_eq!(reply.data::<String>().unwrap(), "encoder/out.json");
    assert_eq!(reply.consumption(), Some(&json!({"gpu_s": 1.5})));
    let running = next(&alice).await;
    assert_eq!(running.data().unwrap()["data"]["data"]["type"], "running");
}

#[tokio::test]
async fn a_call_to_a_service_that_is_not_there_is_a_remote_error() {
    let gw = gateway().await;
    let alice = connect(&gw, ALICE).await;
    let err = alice.call("nobody", 1).await.unwrap_err();
    assert!(matches!(err, Error::Remote { .. }), "{err:?}");
}
