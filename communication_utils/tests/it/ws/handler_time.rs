//! Handlers isolated in time: one that computes does not hold back messages
//! other workers could take, a per-handler deadline cancels and counts, and
//! `close()` called from inside a handler completes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use super::support::*;
use ms_utils_communication::ws::{Event, FailedCall, HandlerFailure, Message, RunOptions};

/// Spins (a CPU-bound handler, no await) until `done` is set or `bound`
/// passes; returns whether `done` came first.
fn compute_until(done: &AtomicBool, bound: Duration) -> bool {
    let start = std::time::Instant::now();
    while !done.load(Ordering::Acquire) {
        if start.elapsed() > bound {
            return false;
        }
        std::hint::spin_loop();
    }
    true
}

/// The issue's case: one handler computes (no await) while quick messages
/// arrive behind it, with plenty of concurrency left. The quick ones must
/// all be handled while it still computes; it stops computing only when
/// they are done (or after a generous bound, which fails the test).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_computing_handler_does_not_hold_back_the_messages_behind_it() {
    let gw = gateway().await;
    let bob = within("connect", config(&gw, BOB).max_concurrency(64).connect())
        .await
        .unwrap();
    let alice = connect(&gw, ALICE).await;
    wait_connected(&gw, "bob").await;

    const QUICK: usize = 50;
    let quick_done = Arc::new(AtomicUsize::new(0));
    let all_quick = Arc::new(AtomicBool::new(false));
    let (finished_tx, mut finished_rx) = tokio::sync::mpsc::unbounded_channel();
    let run = {
        let (quick_done, all_quick) = (quick_done.clone(), all_quick.clone());
        bob.run(move |msg: Message| {
            let (quick_done, all_quick, finished_tx) =
                (quick_done.clone(), all_quick.clone(), finished_tx.clone());
            async move {
                if msg.job_id() == Some("cpu") {
                    let in_time = compute_until(&all_quick, Duration::from_secs(15));
                    let _ = finished_tx.send(in_time);
                } else if quick_done.fetch_add(1, Ordering::AcqRel) + 1 == QUICK {
                    all_quick.store(true, Ordering::Release);
                }
                Ok::<(), std::io::Error>(())
            }
        })
    };
    // All in one burst, as a gateway delivers them: the computing message
    // first, the quick ones right behind it in the same reads.
    alice
        .send_task_to_ms("bob", "r", "cpu", serde_json::json!({}))
        .await
        .unwrap();
    for i in 0..QUICK {
        alice
            .send_task_to_ms("bob", "r", &format!("q{i}"), serde_json::json!({}))
            .await
            .unwrap();
    }
    let in_time = within("the computing handler", finished_rx.recv())
        .await
        .unwrap();
    assert!(
        in_time,
        "{} of {QUICK} quick messages were handled while the computing handler ran",
        quick_done.load(Ordering::Acquire)
    );
    run.stop();
}

/// A handler over its deadline is cancelled (at its next await) and
/// counted; the loop goes on.
#[tokio::test]
async fn a_handler_over_its_deadline_is_cancelled_and_counted() {
    let gw = gateway().await;
    let bob = connect(&gw, BOB).await;
    let alice = connect(&gw, ALICE).await;
    wait_connected(&gw, "bob").await;
    let mut events = bob.events();
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel();
    let run = bob.run_with(
        RunOptions::new().deadline(Duration::from_millis(200)),
        move |msg: Message| {
            let done_tx = done_tx.clone();
            async move {
                if msg.job_id() == Some("stuck") {
                    // Waits for something that never comes.
                    std::future::pending::<()>().await;
                }
                let _ = done_tx.send(msg.job_id().map(str::to_owned));
                Ok::<(), std::io::Error>(())
            }
        },
    );
    for job in ["stuck", "fine"] {
        alice
            .send_task_to_ms("bob", "r", job, serde_json::json!({}))
            .await
            .unwrap();
    }
    assert_eq!(
        within("fine", done_rx.recv()).await.unwrap().as_deref(),
        Some("fine")
    );
    let (key, failure) = within("the deadline", async {
        loop {
            if let Event::HandlerFailed { key, failure } = events.recv().await.unwrap() {
                return (key, failure);
            }
        }
    })
    .await;
    assert_eq!(key.as_deref(), Some("stuck"));
    assert_eq!(
        failure,
        HandlerFailure::TimedOut {
            after: Duration::from_millis(200)
        }
    );
    let stats = bob.stats();
    assert_eq!(stats.handler_timeouts, 1);
    assert_eq!(stats.handler_errors, 1, "a timeout counts as a failure");
    run.stop();
}

/// `close()` from inside a handler (a "shutdown" task, say) completes: it
/// does not wait for the handler that called it.
#[tokio::test]
async fn close_called_from_a_handler_completes() {
    let gw = gateway().await;
    let bob = connect(&gw, BOB).await;
    let alice = connect(&gw, ALICE).await;
    wait_connected(&gw, "bob").await;
    let (result_tx, mut result_rx) = tokio::sync::mpsc::unbounded_channel();
    let run = {
        let bob2 = bob.clone();
        bob.run(move |msg: Message| {
            let (bob, result_tx) = (bob2.clone(), result_tx.clone());
            async move {
                if msg.job_id() == Some("shutdown") {
                    let started = tokio::time::Instant::now();
                    let result = bob.close().await;
                    let _ = result_tx.send((result, started.elapsed()));
                }
                Ok::<(), std::io::Error>(())
            }
        })
    };
    alice
        .send_task_to_ms("bob", "r", "shutdown", serde_json::json!({}))
        .await
        .unwrap();
    let (result, _took) = within("close from a handler", result_rx.recv())
        .await
        .unwrap();
    result.expect("close() from a handler is Ok");
    assert!(bob.state().borrow().is_closed());
    within("the run loop ends", run.finished()).await.unwrap();
}

/// `RunOptions::on_error` gets every failed call with the message's event,
/// job id and sender, so that the service can answer the sender.
#[tokio::test]
async fn the_error_hook_gets_event_job_and_sender_of_a_failed_call() {
    let gw = gateway().await;
    let bob = connect(&gw, BOB).await;
    let alice = connect(&gw, ALICE).await;
    wait_connected(&gw, "bob").await;
    let (failed_tx, mut failed_rx) = tokio::sync::mpsc::unbounded_channel();
    let options = RunOptions::new()
        .deadline(Duration::from_secs(30))
        .on_error(move |failed: FailedCall| {
            let _ = failed_tx.send(failed);
        });
    let _run = bob.run_with(options, |msg: Message| async move {
        match msg.job_id() {
            Some("bad") => Err(std::io::Error::other("no such model")),
            Some("bug") => panic!("handler bug"),
            _ => Ok(()),
        }
    });
    for job in ["fine", "bad", "bug"] {
        alice
            .send_task_to_ms("bob", "r", job, serde_json::json!({}))
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    for _ in 0..2 {
        seen.push(within("a failed call", failed_rx.recv()).await.unwrap());
    }
    seen.sort_by(|a, b| a.job_id.cmp(&b.job_id));
    let [bad, bug] = &seen[..] else {
        panic!("{seen:?}")
    };
    assert_eq!(bad.event.as_deref(), Some("ms-task"));
    assert_eq!(bad.job_id.as_deref(), Some("bad"));
    assert_eq!(bad.from.as_deref(), Some("alice"));
    assert_eq!(
        bad.failure,
        HandlerFailure::Error {
            message: "no such model".into()
        }
    );
    assert!(matches!(bug.failure, HandlerFailure::Panic { .. }));
    assert_eq!(bug.job_id.as_deref(), Some("bug"));
}
