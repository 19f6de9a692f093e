//! Request/reply correlated by jobId, with a real deadline.

use std::sync::Arc;
use std::time::Duration;

use super::support::*;
use ms_utils_communication::ws::{Error, Message, MicroServiceWs};
use serde_json::json;
use tokio::sync::Notify;

/// Bob answers every task with the same jobId.
fn answering(
    bob: &ms_utils_communication::ws::MicroServiceWs,
) -> ms_utils_communication::ws::RunHandle {
    let replier = bob.clone();
    bob.run(move |msg: Message| {
        let bob = replier.clone();
        async move {
            let data = msg.data().cloned().unwrap_or_default();
            let from = data["from"].as_str().unwrap_or_default().to_owned();
            let job = data["jobId"].as_str().unwrap_or_default().to_owned();
            let n = data["data"]["n"].as_i64().unwrap_or_default();
            bob.send_task_to_ms(&from, &job, &job, serde_json::json!({ "doubled": n * 2 }))
                .await
        }
    })
}

#[tokio::test]
async fn request_gets_the_answer_with_its_job_id() {
    let gw = gateway().await;
    let alice = connect(&gw, ALICE).await;
    let bob = connect(&gw, BOB).await;
    let _run = answering(&bob);
    wait_connected(&gw, "bob").await;
    let (a, b) = tokio::join!(
        alice.request(
            "bob",
            "job-a",
            serde_json::json!({"n": 2}),
            Duration::from_secs(10)
        ),
        alice.request(
            "bob",
            "job-b",
            serde_json::json!({"n": 5}),
            Duration::from_secs(10)
        ),
    );
    assert_eq!(a.unwrap().data().unwrap()["data"]["doubled"], 4);
    assert_eq!(b.unwrap().data().unwrap()["data"]["doubled"], 10);
}

#[tokio::test]
async fn request_to_an_unknown_service_is_a_remote_error() {
    let gw = gateway().await;
    let alice = connect(&gw, ALICE).await;
    let err = alice
        .request("nobody", "j1", 1, Duration::from_secs(10))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ms_utils_communication::ws::Error::Remote { job_id, .. } if job_id == "j1"),
        "{err:?}"
    );
}

#[tokio::test]
async fn request_times_out_when_nobody_answers() {
    let gw = gateway().await;
    let alice = connect(&gw, ALICE).await;
    let bob = connect(&gw, BOB).await; // connected, but never answers
    wait_connected(&gw, "bob").await;
    let started = tokio::time::Instant::now();
    let err = alice
        .request("bob", "j1", 1, Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    // The same jobId can be used again: the timed-out request left nothing behind.
    let err = alice
        .request("bob", "j1", 1, Duration::from_millis(50))
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    drop(bob);
}

#[tokio::test]
async fn close_fails_a_pending_request_at_once() {
    let gw = gateway().await;
    let alice = connect(&gw, ALICE).await;
    let _bob = connect(&gw, BOB).await;
    wait_connected(&gw, "bob").await;
    let pending = {
        let alice = alice.clone();
        tokio::spawn(async move { alice.request("bob", "j1", 1, Duration::from_secs(60)).await })
    };
    within(
        "request sent",
        gw.faults().wait_for(|c| c.tasks_routed >= 1),
    )
    .await;
    within("close", alice.close()).await.unwrap();
    let err = within("request ends", pending).await.unwrap().unwrap_err();
    assert!(err.is_closed(), "{err:?}");
}

/// The deadline is real and exact: under paused time, a request nobody
/// answers fails with a timeout when its 30 s have passed, not before.
#[tokio::test]
async fn a_request_fails_exactly_at_its_deadline() {
    let gw = gateway().await;
    let alice = connect(&gw, ALICE).await;
    let _bob = connect(&gw, BOB).await; // connected, but never answers
    wait_connected(&gw, "bob").await;
    tokio::time::pause();
    let started = tokio::time::Instant::now();
    let err = tokio::time::timeout(
        Duration::from_secs(120),
        alice.request("bob", "late", 1, Duration::from_secs(30)),
    )
    .await
    .expect("the request's own deadline comes first")
    .unwrap_err();
    let waited = started.elapsed();
    assert!(err.is_timeout(), "{err:?}");
    assert!(
        waited >= Duration::from_secs(30) && waited < Duration::from_secs(31),
        "{waited:?}"
    );
}

/// bob holds every task until told, then answers the held ones.
fn holding(bob: &MicroServiceWs, release: Arc<Notify>) -> ms_utils_communication::ws::RunHandle {
    let replier = bob.clone();
    bob.run(move |msg: Message| {
        let (bob, release) = (replier.clone(), release.clone());
        async move {
            let data = msg.data().cloned().unwrap_or_default();
            let from = data["from"].as_str().unwrap_or_default().to_owned();
            let job = data["jobId"].as_str().unwrap_or_default().to_owned();
            if data["data"]["hold"] == true {
                release.notified().await;
            }
            bob.send_task_to_ms(&from, &job, &job, data["data"].clone())
                .await
        }
    })
}

/// A second request under a job id that is waiting is refused, and its
/// task is not sent; the first one still gets its answer.
#[tokio::test]
async fn a_second_request_under_a_waiting_job_id_is_a_duplicate_and_not_sent() {
    let gw = gateway().await;
    let alice = connect(&gw, ALICE).await;
    let bob = connect(&gw, BOB).await;
    wait_connected(&gw, "bob").await;
    let release = Arc::new(Notify::new());
    let _run = holding(&bob, release.clone());
    let first = {
        let alice = alice.clone();
        tokio::spawn(async move {
            alice
                .request(
                    "bob",
                    "j",
                    json!({"hold": true, "n": 1}),
                    Duration::from_secs(10),
                )
                .await
        })
    };
    within("first sent", gw.faults().wait_for(|c| c.tasks_routed >= 1)).await;
    let err = alice
        .request("bob", "j", json!({"n": 2}), Duration::from_secs(10))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::DuplicateRequest { job_id } if job_id == "j"),
        "{err:?}"
    );
    release.notify_one();
    let answer = within("first answered", first).await.unwrap().unwrap();
    assert_eq!(answer.data().unwrap()["data"]["n"], 1);
    // One more round trip: the gateway has read all alice wrote before it.
    within(
        "a later request",
        alice.request("bob", "z", json!({"n": 3}), Duration::from_secs(10)),
    )
    .await
    .unwrap();
    // j, its answer, z, its answer: the duplicate was never sent.
    assert_eq!(gw.faults().counters().tasks_routed, 4);
}

/// A call that timed out or was cancelled leaves its job id free: the
/// next call under it gets its own answer (the entry was pruned in the
/// connection task, not left to answer the next caller's task with the
/// first one's).
#[tokio::test]
async fn a_call_that_gave_up_leaves_its_job_id_free_for_the_next() {
    let gw = gateway().await;
    let alice = connect(&gw, ALICE).await;
    let bob = connect(&gw, BOB).await;
    wait_connected(&gw, "bob").await;
    let release = Arc::new(Notify::new());
    let _run = holding(&bob, release.clone());
    let err = alice
        .request(
            "bob",
            "j",
            json!({"hold": true, "n": 1}),
            Duration::from_millis(100),
        )
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    // Cancelled: dropped after it was sent.
    {
        let call = alice.request(
            "bob",
            "k",
            json!({"hold": true, "n": 1}),
            Duration::from_secs(60),
        );
        tokio::pin!(call);
        let _ = tokio::time::timeout(Duration::from_millis(100), &mut call).await;
    }
    let second = alice.request("bob", "j", json!({"n": 2}), Duration::from_secs(10));
    let second = within("second answered", second).await.unwrap();
    assert_eq!(second.data().unwrap()["data"]["n"], 2);
    let third = within(
        "third answered",
        alice.request("bob", "k", json!({"n": 3}), Duration::from_secs(10)),
    )
    .await
    .unwrap();
    assert_eq!(third.data().unwrap()["data"]["n"], 3);
    // The held ones come back late: to the application, not to a call.
    release.notify_waiters();
}

/// When the client ends, every request still waiting gets `Closed` at
/// once, whatever its deadline, including one whose task was still queued.
#[tokio::test]
async fn every_waiting_request_is_answered_closed_when_the_client_ends() {
    let gw = gateway().await;
    let alice = connect(&gw, ALICE).await;
    let _bob = connect(&gw, BOB).await; // never answers
    wait_connected(&gw, "bob").await;
    let calls: Vec<_> = (0..5)
        .map(|i| {
            let alice = alice.clone();
            tokio::spawn(async move {
                alice
                    .request("bob", &format!("j{i}"), i, Duration::from_secs(600))
                    .await
            })
        })
        .collect();
    within("sent", gw.faults().wait_for(|c| c.tasks_routed >= 5)).await;
    within("close", alice.close()).await.unwrap();
    for call in calls {
        let err = within("request ends", call).await.unwrap().unwrap_err();
        assert!(err.is_closed(), "{err:?}");
    }
}
