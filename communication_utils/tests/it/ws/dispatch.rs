//! run(handler): concurrency bound with backpressure, per-key strategies,
//! error and panic isolation, the event router.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::support::*;
use ms_utils_communication::ws::{
    Event, HandlerFailure, Message, MicroServiceWs, Router, RunOptions, Strategy,
};
use ms_utils_dev::testing::LogCapture;
use tokio::sync::{Notify, Semaphore};

/// alice sends `n` tasks to bob; returns once they are queued.
async fn send_tasks(alice: &MicroServiceWs, jobs: impl IntoIterator<Item = (String, u64)>) {
    for (job, seq) in jobs {
        alice
            .send_task_to_ms("bob", "r", &job, serde_json::json!({ "seq": seq }))
            .await
            .unwrap();
    }
}

fn seq_of(msg: &Message) -> u64 {
    msg.data().unwrap()["data"]["seq"].as_u64().unwrap()
}

/// Tracks how many handlers run at once.
#[derive(Default)]
struct Gauge {
    now: AtomicUsize,
    max: AtomicUsize,
    done: AtomicUsize,
}

impl Gauge {
    fn enter(&self) {
        let n = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(n, Ordering::SeqCst);
    }
    fn leave(&self) {
        self.now.fetch_sub(1, Ordering::SeqCst);
        self.done.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_is_bounded_and_a_full_house_stops_reading() {
    let gw = gateway().await;
    let bob = within(
        "connect",
        config(&gw, BOB)
            .max_concurrency(4)
            .inbound_buffer(8)
            .connect(),
    )
    .await
    .unwrap();
    let alice = connect(&gw, ALICE).await;
    wait_connected(&gw, "bob").await;
    let gauge = Arc::new(Gauge::default());
    let gate = Arc::new(Semaphore::new(0));
    let _run = {
        let (gauge, gate) = (gauge.clone(), gate.clone());
        bob.run(move |_msg: Message| {
            let (gauge, gate) = (gauge.clone(), gate.clone());
            async move {
                gauge.enter();
                gate.acquire().await.unwrap().forget();
                gauge.leave();
                Ok::<(), std::io::Error>(())
            }
        })
    };
    send_tasks(&alice, (0..200).map(|i| (format!("j{i}"), i))).await;
    within("four running", async {
        while gauge.now.load(Ordering::SeqCst) < 4 {
            tokio::task::yield_now().await;
        }
    })
    .await;
    // Everything is at the gateway, but bob has read only what fits in the
    // handlers and his small buffers: the rest waits in the network.
    within("routed", gw.faults().wait_for(|c| c.tasks_routed == 200)).await;
    let read = bob.stats().messages_in;
    assert!(
        read < 200,
        "bob read {read} frames while his handlers were full"
    );
    gate.add_permits(1000);
    within("all handled", async {
        while gauge.done.load(Ordering::SeqCst) < 200 {
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert_eq!(gauge.max.load(Ordering::SeqCst), 4);
}

/// Runs `strategy` on tasks keyed by jobId: "a" three times (a blocked first
/// one, then two more), and returns the order in which handlers finished.
async fn run_strategy(strategy: Strategy) -> Vec<(String, u64)> {
    let gw = gateway().await;
    let bob = connect(&gw, BOB).await;
    let alice = connect(&gw, ALICE).await;
    wait_connected(&gw, "bob").await;
    let first_started = Arc::new(Notify::new());
    let release = Arc::new(Notify::new());
    let finished = Arc::new(Mutex::new(Vec::new()));
    let b_done = Arc::new(Notify::new());
    let _run = {
        let (first_started, release, finished, b_done) = (
            first_started.clone(),
            release.clone(),
            finished.clone(),
            b_done.clone(),
        );
        bob.run_with(RunOptions::new().strategy(strategy), move |msg: Message| {
            let (first_started, release, finished, b_done) = (
                first_started.clone(),
                release.clone(),
                finished.clone(),
                b_done.clone(),
            );
            async move {
                let job = msg.job_id().unwrap().to_owned();
                let seq = seq_of(&msg);
                if seq == 0 {
                    first_started.notify_one();
                    release.notified().await;
                }
                finished.lock().unwrap().push((job.clone(), seq));
                if job == "b" {
                    b_done.notify_one();
                }
                Ok::<(), std::io::Error>(())
            }
        })
    };
    send_tasks(&alice, [("a".to_owned(), 0)]).await;
    within("first handler", first_started.notified()).await;
    send_tasks(&alice, [("a".to_owned(), 1), ("a".to_owned(), 2)]).await;
    // "b" is another key: it runs whatever happens to "a"; once it is done, the
    // two later "a" messages have been dispatched too.
    send_tasks(&alice, [("b".to_owned(), 3)]).await;
    within("b handled", b_done.notified()).await;
    release.notify_one();
    within("close", bob.close()).await.unwrap();
    finished.lock().unwrap().clone()
}

fn pairs(v: &[(&str, u64)]) -> Vec<(String, u64)> {
    v.iter().map(|(j, s)| (j.to_string(), *s)).collect()
}

#[tokio::test]
async fn queue_runs_one_at_a_time_per_key_in_order() {
    let got = run_strategy(Strategy::Queue).await;
    assert_eq!(got, pairs(&[("b", 3), ("a", 0), ("a", 1), ("a", 2)]));
}

#[tokio::test]
async fn ignore_drops_messages_while_the_key_is_busy() {
    let got = run_strategy(Strategy::Ignore).await;
    assert_eq!(got, pairs(&[("b", 3), ("a", 0)]));
}

#[tokio::test]
async fn replace_cancels_the_running_handler() {
    let got = run_strategy(Strategy::Replace).await;
    // The blocked first "a" is cancelled by the second, which the third replaces
    // (or follows, if the second had already finished).
    assert!(got.contains(&("b".to_owned(), 3)), "{got:?}");
    assert!(!got.contains(&("a".to_owned(), 0)), "{got:?}");
    assert!(got.contains(&("a".to_owned(), 2)), "{got:?}");
}

#[tokio::test]
async fn parallel_runs_the_same_key_side_by_side() {
    let got = run_strategy(Strategy::Parallel).await;
    // The later "a" messages did not wait for the blocked first one.
    assert_eq!(got.last(), Some(&("a".to_owned(), 0)), "{got:?}");
    assert_eq!(got.len(), 4);
}

#[tokio::test]
async fn failing_and_panicking_handlers_are_counted_and_the_loop_goes_on() {
    // The only test of this binary that fails or panics in a handler: the
    // callsites of those log lines are first hit here, with this
    // thread-local subscriber in place, so no other test thread races it.
    let (capture, _guard) = LogCapture::on_this_thread("ms_utils_communication=error");
    let gw = gateway().await;
    let bob = connect(&gw, BOB).await;
    let alice = connect(&gw, ALICE).await;
    wait_connected(&gw, "bob").await;
    let mut events = bob.events();
    let ok = Arc::new(AtomicUsize::new(0));
    let _run = {
        let ok = ok.clone();
        bob.run(move |msg: Message| {
            let ok = ok.clone();
            async move {
                match seq_of(&msg) % 3 {
                    0 => panic!("handler bug"),
                    1 => Err(std::io::Error::other("handler failed")),
                    _ => {
                        ok.fetch_add(1, Ordering::SeqCst);
                        Ok(())
                    }
                }
            }
        })
    };
    send_tasks(&alice, (0..30).map(|i| (format!("j{i}"), i))).await;
    within("all handled", async {
        while ok.load(Ordering::SeqCst) < 10 || bob.stats().handler_errors < 20 {
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert_eq!(bob.stats().handler_errors, 20);
    assert!(bob.is_connected());
    // Each failure is logged with the message's key (its jobId).
    let logs = capture.text();
    let line = |needle: &str| {
        logs.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{logs}"))
            .to_owned()
    };
    assert!(line("key=\"j0\"").contains("handler bug"));
    assert!(line("key=\"j1\"").contains("handler failed"));
    // And reported, typed, with the same key.
    let mut failures = std::collections::BTreeMap::new();
    while let Ok(event) = events.try_recv() {
        if let Event::HandlerFailed { key, failure } = event {
            failures.insert(key.unwrap(), failure);
        }
    }
    assert_eq!(failures.len(), 20);
    assert_eq!(
        failures["j0"],
        HandlerFailure::Panic {
            message: "handler bug".into()
        }
    );
    assert_eq!(
        failures["j1"],
        HandlerFailure::Error {
            message: "handler failed".into()
        }
    );
}

#[tokio::test]
async fn router_dispatches_by_event_with_typed_payloads() {
    #[derive(serde::Deserialize)]
    struct Task {
        from: String,
        #[serde(rename = "jobId")]
        job_id: String,
    }
    let gw = gateway().await;
    let bob = connect(&gw, BOB).await;
    let alice = connect(&gw, ALICE).await;
    wait_connected(&gw, "bob").await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let tx2 = tx.clone();
    let _run = bob.run(
        Router::new()
            .route("ms-task", move |t: Task| {
                let tx = tx.clone();
                async move {
                    tx.send(format!("task {} from {}", t.job_id, t.from))
                        .unwrap();
                    Ok::<(), std::io::Error>(())
                }
            })
            .fallback(move |m: Message| {
                let tx = tx2.clone();
                async move {
                    tx.send(format!("other {:?}", m.event())).unwrap();
                    Ok::<(), std::io::Error>(())
                }
            }),
    );
    alice.send_task_to_ms("bob", "r", "j1", 1).await.unwrap();
    assert_eq!(
        within("routed", rx.recv()).await.unwrap(),
        "task j1 from alice"
    );
    gw.faults()
        .send_raw_text("bob", r#"{"event":"something-else"}"#)
        .await
        .unwrap();
    assert_eq!(
        within("fallback", rx.recv()).await.unwrap(),
        "other Some(\"something-else\")"
    );
}

#[tokio::test]
async fn receive_is_refused_while_run_owns_the_messages() {
    let gw = gateway().await;
    let bob = connect(&gw, BOB).await;
    let run = bob.run(|_m: Message| async { Ok::<(), std::io::Error>(()) });
    let err = bob.receive().await.unwrap_err();
    assert!(
        matches!(err, ms_utils_communication::ws::Error::ReceiverBusy),
        "{err:?}"
    );
    let second = bob.run(|_m: Message| async { Ok::<(), std::io::Error>(()) });
    assert!(matches!(
        within("second run", second.finished()).await,
        Err(ms_utils_communication::ws::Error::ReceiverBusy)
    ));
    run.stop();
    within("run stops", run.finished()).await.unwrap();
    let _ = Duration::ZERO;
}

/// Whatever a handler logs is inside a `ws_message` span carrying the
/// message's event, job id and sender, at the default level (info).
/// (current_thread: every task runs on this thread, so the thread-local
/// subscriber sees all their events.)
#[tokio::test]
async fn handlers_run_in_a_span_carrying_event_job_and_sender() {
    let (capture, _guard) = LogCapture::on_this_thread("info");

    let gw = gateway().await;
    let bob = connect(&gw, BOB).await;
    let alice = connect(&gw, ALICE).await;
    wait_connected(&gw, "bob").await;
    let done = Arc::new(Notify::new());
    let _run = {
        let done = done.clone();
        bob.run(move |_msg: Message| {
            let done = done.clone();
            async move {
                tracing::info!("inside the handler");
                done.notify_one();
                Ok::<(), std::io::Error>(())
            }
        })
    };
    send_tasks(&alice, [("job-in-span".to_owned(), 0)]).await;
    within("handler", done.notified()).await;

    let logs = capture.text();
    let inside = logs
        .lines()
        .find(|l| l.contains("inside the handler"))
        .unwrap_or_else(|| panic!("the handler's event is captured:\n{logs}"));
    for field in [
        "ws_message",
        "event=\"ms-task\"",
        "job_id=\"job-in-span\"",
        "from=\"alice\"",
    ] {
        assert!(inside.contains(field), "{field} in {inside}");
    }
}
