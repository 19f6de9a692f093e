//! A `Router`'s per-route options (`route_with`): each route's own strategy,
//! key space and concurrency bound, the fallback under the run's options,
//! typed payload errors reported; and the keyed loop's rule that messages
//! waiting for their key hold no place under the run's bound.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::support::*;
use ms_utils_communication::ws::{
    Event, FailedCall, HandlerFailure, Message, Router, RunOptions, Strategy,
};
use ms_utils_dev::gateway::DevGateway;
use serde::Deserialize;
use tokio::sync::Semaphore;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

/// The typed payload of the test events: `{"jobId": .., "seq": ..}`.
#[derive(Deserialize)]
struct Job {
    #[serde(rename = "jobId")]
    job: String,
    seq: u64,
}

/// The gateway sends bob `{"event": event, "data": {"jobId": job, "seq": seq}}`.
async fn send(gw: &DevGateway, event: &str, job: &str, seq: u64) {
    let text = serde_json::json!({"event": event, "data": {"jobId": job, "seq": seq}});
    gw.faults()
        .send_raw_text("bob", text.to_string())
        .await
        .unwrap();
}

/// The next line the handlers reported is `want`.
async fn expect(rx: &mut UnboundedReceiver<String>, want: &str) {
    let got = within(want, rx.recv()).await.unwrap();
    assert_eq!(got, want);
}

/// The next `n` lines, in any order.
async fn expect_set(rx: &mut UnboundedReceiver<String>, want: &[&str]) {
    let mut got = BTreeSet::new();
    for _ in want {
        got.insert(within("lines", rx.recv()).await.unwrap());
    }
    let want: BTreeSet<String> = want.iter().map(|s| s.to_string()).collect();
    assert_eq!(got, want);
}

/// A typed handler that reports `start <label> <job> <seq>` and `end ..`,
/// and, for seq 0, waits for a permit of `hold` in between.
fn held(
    label: &'static str,
    tx: &UnboundedSender<String>,
    hold: &Arc<Semaphore>,
) -> impl Fn(Job) -> std::pin::Pin<Box<dyn Future<Output = Result<(), std::io::Error>> + Send>>
+ Send
+ Sync
+ 'static {
    let (tx, hold) = (tx.clone(), hold.clone());
    move |p: Job| {
        let (tx, hold) = (tx.clone(), hold.clone());
        Box::pin(async move {
            tx.send(format!("start {label} {} {}", p.job, p.seq))
                .unwrap();
            if p.seq == 0 {
                hold.acquire().await.unwrap().forget();
            }
            tx.send(format!("end {label} {} {}", p.job, p.seq)).unwrap();
            Ok(())
        })
    }
}

async fn bob(gw: &DevGateway) -> ms_utils_communication::ws::MicroServiceWs {
    let bob = connect(gw, BOB).await;
    wait_connected(gw, "bob").await;
    bob
}

/// The defect this fixes: a burst queued on one key took one place of the
/// run's bound per message, so three of them blocked every other key.
/// Here the burst waits in its key's queue and takes no place: the other
/// key and the other route run while it waits, and it then runs one at a
/// time, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_route_burst_on_one_key_blocks_no_other_key_or_route() {
    let gw = gateway().await;
    let bob = bob(&gw).await;
    let (tx, mut rx) = unbounded_channel();
    let hold = Arc::new(Semaphore::new(0));
    let ping_tx = tx.clone();
    let router = Router::new()
        .route_with(
            "transcode",
            RunOptions::new().strategy(Strategy::Queue),
            held("transcode", &tx, &hold),
        )
        .route("ping", move |p: Job| {
            let tx = ping_tx.clone();
            async move {
                tx.send(format!("ping {}", p.job)).unwrap();
                Ok::<(), std::io::Error>(())
            }
        });
    let _run = bob.run_with(RunOptions::new().concurrency(3), router);

    send(&gw, "transcode", "a", 0).await;
    expect(&mut rx, "start transcode a 0").await;
    for seq in 1..=5 {
        send(&gw, "transcode", "a", seq).await;
    }
    send(&gw, "transcode", "b", 7).await;
    expect(&mut rx, "start transcode b 7").await;
    expect(&mut rx, "end transcode b 7").await;
    send(&gw, "ping", "p", 1).await;
    expect(&mut rx, "ping p").await;
    assert!(rx.try_recv().is_err(), "the burst waits behind a 0");

    hold.add_permits(1);
    expect(&mut rx, "end transcode a 0").await;
    for seq in 1..=5 {
        expect(&mut rx, &format!("start transcode a {seq}")).await;
        expect(&mut rx, &format!("end transcode a {seq}")).await;
    }
}

/// The same defect without a router: `RunOptions::strategy(Queue)` with a
/// bound of 2 and a burst of 4 on one key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_burst_holds_no_place_under_the_runs_bound() {
    let gw = gateway().await;
    let bob = bob(&gw).await;
    let (tx, mut rx) = unbounded_channel();
    let hold = Arc::new(Semaphore::new(0));
    let handler = held("task", &tx, &hold);
    let _run = bob.run_with(
        RunOptions::new().strategy(Strategy::Queue).concurrency(2),
        move |msg: Message| handler(serde_json::from_value(msg.data().unwrap().clone()).unwrap()),
    );
    send(&gw, "job", "a", 0).await;
    expect(&mut rx, "start task a 0").await;
    for seq in 1..=4 {
        send(&gw, "job", "a", seq).await;
    }
    send(&gw, "job", "b", 9).await;
    expect(&mut rx, "start task b 9").await;
    expect(&mut rx, "end task b 9").await;
    hold.add_permits(1);
    expect(&mut rx, "end task a 0").await;
    for seq in 1..=4 {
        expect(&mut rx, &format!("start task a {seq}")).await;
        expect(&mut rx, &format!("end task a {seq}")).await;
    }
}

/// Sends `cancelled <label>` when dropped before `disarm`.
struct OnDrop(Option<(UnboundedSender<String>, String)>);

impl Drop for OnDrop {
    fn drop(&mut self) {
        if let Some((tx, label)) = self.0.take() {
            let _ = tx.send(format!("cancelled {label}"));
        }
    }
}

/// Replace cancels the running call of the same key in its route, and
/// only there: the same jobId under a Queue route is another key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replace_route_cancels_the_running_call_of_its_key_only() {
    let gw = gateway().await;
    let bob = bob(&gw).await;
    let (tx, mut rx) = unbounded_channel();
    let hold = Arc::new(Semaphore::new(0));
    let progress_tx = tx.clone();
    let router = Router::new()
        .route_with(
            "progress",
            RunOptions::new().strategy(Strategy::Replace),
            move |p: Job| {
                let tx = progress_tx.clone();
                async move {
                    let label = format!("progress {} {}", p.job, p.seq);
                    tx.send(format!("start {label}")).unwrap();
                    let mut guard = OnDrop(Some((tx.clone(), label.clone())));
                    if p.seq == 0 {
                        std::future::pending::<()>().await;
                    }
                    guard.0 = None;
                    tx.send(format!("end {label}")).unwrap();
                    Ok::<(), std::io::Error>(())
                }
            },
        )
        .route_with(
            "transcode",
            RunOptions::new().strategy(Strategy::Queue),
            held("transcode", &tx, &hold),
        );
    let _run = bob.run(router);

    send(&gw, "transcode", "a", 0).await;
    expect(&mut rx, "start transcode a 0").await;
    send(&gw, "progress", "a", 0).await;
    expect(&mut rx, "start progress a 0").await;
    send(&gw, "progress", "a", 1).await;
    expect_set(
        &mut rx,
        &[
            "cancelled progress a 0",
            "start progress a 1",
            "end progress a 1",
        ],
    )
    .await;
    // The transcode call of jobId "a" was not touched.
    assert!(rx.try_recv().is_err());
    hold.add_permits(1);
    expect(&mut rx, "end transcode a 0").await;
}

/// Ignore drops what arrives for a busy key; other keys run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ignore_route_drops_messages_while_their_key_is_busy() {
    let gw = gateway().await;
    let bob = bob(&gw).await;
    let (tx, mut rx) = unbounded_channel();
    let hold = Arc::new(Semaphore::new(0));
    let router = Router::new().route_with(
        "ping",
        RunOptions::new().strategy(Strategy::Ignore),
        held("ping", &tx, &hold),
    );
    let _run = bob.run(router);

    send(&gw, "ping", "a", 0).await;
    expect(&mut rx, "start ping a 0").await;
    send(&gw, "ping", "a", 1).await;
    // Dispatched in arrival order: once "b" runs, "a 1" was dropped.
    send(&gw, "ping", "b", 2).await;
    expect(&mut rx, "start ping b 2").await;
    expect(&mut rx, "end ping b 2").await;
    hold.add_permits(1);
    expect(&mut rx, "end ping a 0").await;
    // close() waits for every handler: "a 1" never ran.
    within("close", bob.close()).await.unwrap();
    assert!(rx.try_recv().is_err());
}

/// Tracks how many calls run at once.
#[derive(Default)]
struct Gauge {
    now: AtomicUsize,
    max: AtomicUsize,
    done: AtomicUsize,
}

/// A route's concurrency bound holds, inside the run's; its waiting
/// messages take no place, so another route runs meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_routes_own_concurrency_bound_holds() {
    let gw = gateway().await;
    let bob = bob(&gw).await;
    let (tx, mut rx) = unbounded_channel();
    let hold = Arc::new(Semaphore::new(0));
    let gauge = Arc::new(Gauge::default());
    let router = {
        let (tx, hold, gauge, ping_tx) = (tx.clone(), hold.clone(), gauge.clone(), tx.clone());
        Router::new()
            .route_with(
                "transcode",
                RunOptions::new().concurrency(2),
                move |p: Job| {
                    let (tx, hold, gauge) = (tx.clone(), hold.clone(), gauge.clone());
                    async move {
                        let n = gauge.now.fetch_add(1, Ordering::SeqCst) + 1;
                        gauge.max.fetch_max(n, Ordering::SeqCst);
                        tx.send(format!("start {}", p.job)).unwrap();
                        hold.acquire().await.unwrap().forget();
                        gauge.now.fetch_sub(1, Ordering::SeqCst);
                        gauge.done.fetch_add(1, Ordering::SeqCst);
                        Ok::<(), std::io::Error>(())
                    }
                },
            )
            .route("ping", move |p: Job| {
                let tx = ping_tx.clone();
                async move {
                    tx.send(format!("ping {}", p.job)).unwrap();
                    Ok::<(), std::io::Error>(())
                }
            })
    };
    let _run = bob.run_with(RunOptions::new().concurrency(8), router);

    for i in 0..6 {
        send(&gw, "transcode", &format!("j{i}"), i + 1).await;
    }
    expect_set(&mut rx, &["start j0", "start j1"]).await;
    send(&gw, "ping", "p", 1).await;
    // "ping" came after all six: they were all dispatched, two run.
    expect(&mut rx, "ping p").await;
    assert_eq!(gauge.now.load(Ordering::SeqCst), 2);
    assert!(rx.try_recv().is_err(), "a third transcode started");

    hold.add_permits(6);
    expect_set(&mut rx, &["start j2", "start j3", "start j4", "start j5"]).await;
    within("all done", async {
        while gauge.done.load(Ordering::SeqCst) < 6 {
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert_eq!(gauge.max.load(Ordering::SeqCst), 2);
}

/// Unknown events go to the fallback, under the run's options (here
/// Ignore, keyed by jobId); a route with options has keys of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_events_go_to_the_fallback_under_the_runs_options() {
    let gw = gateway().await;
    let bob = bob(&gw).await;
    let (tx, mut rx) = unbounded_channel();
    let hold = Arc::new(Semaphore::new(0));
    let router = {
        let (fb_tx, hold) = (tx.clone(), hold.clone());
        Router::new()
            .route_with(
                "transcode",
                RunOptions::new().strategy(Strategy::Queue),
                held("transcode", &tx, &hold),
            )
            .fallback(move |m: Message| {
                let (tx, hold) = (fb_tx.clone(), hold.clone());
                async move {
                    let label = format!(
                        "{} {} {}",
                        m.event().unwrap(),
                        m.job_id().unwrap(),
                        m.data().unwrap()["seq"]
                    );
                    tx.send(format!("start {label}")).unwrap();
                    if label.ends_with(" 0") {
                        hold.acquire().await.unwrap().forget();
                    }
                    tx.send(format!("end {label}")).unwrap();
                    Ok::<(), std::io::Error>(())
                }
            })
    };
    let _run = bob.run_with(RunOptions::new().strategy(Strategy::Ignore), router);

    send(&gw, "status", "x", 0).await;
    expect(&mut rx, "start status x 0").await;
    // Same key in the fallback: ignored while "x 0" runs.
    send(&gw, "status", "x", 1).await;
    // Same jobId under a route with options: another key, runs.
    send(&gw, "transcode", "x", 5).await;
    expect(&mut rx, "start transcode x 5").await;
    expect(&mut rx, "end transcode x 5").await;
    hold.add_permits(1);
    expect(&mut rx, "end status x 0").await;
    within("close", bob.close()).await.unwrap();
    assert!(rx.try_recv().is_err(), "status x 1 was not ignored");
}

/// A payload that does not fit the route's type is a handler error:
/// reported to the route's own `on_error` if it has one, else to the
/// run's, and as `Event::HandlerFailed` with the route's key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payload_that_does_not_fit_is_a_reported_handler_error() {
    let gw = gateway().await;
    let bob = bob(&gw).await;
    let mut events = bob.events();
    let (tx, mut rx) = unbounded_channel::<(String, FailedCall)>();
    let ok = |_: Job| async { Ok::<(), std::io::Error>(()) };
    let route_tx = tx.clone();
    let router = Router::new()
        .route_with("transcode", RunOptions::new().strategy(Strategy::Queue), ok)
        .route_with(
            "strict",
            RunOptions::new()
                .key(|m| m.job_id().map(|j| format!("strict-{j}")))
                .on_error(move |f| route_tx.send(("route".into(), f)).unwrap()),
            ok,
        );
    let _run = bob.run_with(
        RunOptions::new().on_error(move |f| tx.send(("run".into(), f)).unwrap()),
        router,
    );

    let bad = |event: &str, job: &str| {
        serde_json::json!({"event": event, "data": {"jobId": job, "seq": "not a number"}})
            .to_string()
    };
    gw.faults()
        .send_raw_text("bob", bad("transcode", "a"))
        .await
        .unwrap();
    let (hook, failed) = within("run hook", rx.recv()).await.unwrap();
    assert_eq!(hook, "run");
    assert_eq!(failed.event.as_deref(), Some("transcode"));
    assert_eq!(failed.key.as_deref(), Some("a"));
    let HandlerFailure::BadPayload { message } = &failed.failure else {
        panic!("{:?}", failed.failure);
    };
    assert!(message.contains("invalid type"), "{message}");

    gw.faults()
        .send_raw_text("bob", bad("strict", "b"))
        .await
        .unwrap();
    let (hook, failed) = within("route hook", rx.recv()).await.unwrap();
    assert_eq!(hook, "route");
    assert_eq!(failed.event.as_deref(), Some("strict"));
    assert_eq!(failed.key.as_deref(), Some("strict-b"));

    let mut keys = Vec::new();
    while keys.len() < 2 {
        if let Event::HandlerFailed { key, failure } =
            within("HandlerFailed", events.recv()).await.unwrap()
        {
            assert!(matches!(failure, HandlerFailure::BadPayload { .. }));
            keys.push(key.unwrap());
        }
    }
    keys.sort(); // each is sent after its hook ran: in either order
    assert_eq!(keys, ["a", "strict-b"]);
}

/// What waits for its key is bounded: with an inbound buffer of 8, a
/// burst of 200 on one busy key is not all read; nothing is dropped, and it
/// all runs, in order, once the key frees.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_messages_are_bounded_by_backpressure_not_dropped() {
    let gw = gateway().await;
    let bob = within("connect", config(&gw, BOB).inbound_buffer(8).connect())
        .await
        .unwrap();
    let alice = connect(&gw, ALICE).await;
    wait_connected(&gw, "bob").await;
    let (tx, mut rx) = unbounded_channel();
    let hold = Arc::new(Semaphore::new(0));
    let started = Arc::new(tokio::sync::Notify::new());
    let _run = {
        let (tx, hold, started) = (tx.clone(), hold.clone(), started.clone());
        bob.run_with(
            RunOptions::new().strategy(Strategy::Queue),
            move |msg: Message| {
                let (tx, hold, started) = (tx.clone(), hold.clone(), started.clone());
                async move {
                    let seq = msg.data().unwrap()["data"]["seq"].as_u64().unwrap();
                    if seq == 0 {
                        started.notify_one();
                        hold.acquire().await.unwrap().forget();
                    }
                    tx.send(seq).unwrap();
                    Ok::<(), std::io::Error>(())
                }
            },
        )
    };
    alice
        .send_task_to_ms("bob", "r", "a", serde_json::json!({"seq": 0}))
        .await
        .unwrap();
    within("first call", started.notified()).await;
    for seq in 1..200u64 {
        alice
            .send_task_to_ms("bob", "r", "a", serde_json::json!({ "seq": seq }))
            .await
            .unwrap();
    }
    within("routed", gw.faults().wait_for(|c| c.tasks_routed == 200)).await;
    let read = bob.stats().messages_in;
    assert!(read < 200, "bob read {read} frames behind one busy key");
    hold.add_permits(1);
    for want in 0..200u64 {
        assert_eq!(within("in order", rx.recv()).await.unwrap(), want);
    }
}

/// A route's own deadline bounds its calls only, and a failure there goes
/// to the run's `on_error` when the route has none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_routes_own_deadline_with_the_runs_error_hook() {
    let gw = gateway().await;
    let bob = bob(&gw).await;
    let (tx, mut rx) = unbounded_channel::<FailedCall>();
    let (done_tx, mut done_rx) = unbounded_channel::<u64>();
    let limit = std::time::Duration::from_millis(50);
    let router = Router::new()
        .route_with("slow", RunOptions::new().deadline(limit), |_: Job| async {
            std::future::pending::<Result<(), std::io::Error>>().await
        })
        .route("other", move |p: Job| {
            let done_tx = done_tx.clone();
            async move {
                done_tx.send(p.seq).unwrap();
                Ok::<(), std::io::Error>(())
            }
        });
    let _run = bob.run_with(
        RunOptions::new()
            .strategy(Strategy::Queue)
            .on_error(move |f| tx.send(f).unwrap()),
        router,
    );
    send(&gw, "slow", "a", 1).await;
    let failed = within("deadline", rx.recv()).await.unwrap();
    assert_eq!(failed.event.as_deref(), Some("slow"));
    assert_eq!(failed.failure, HandlerFailure::TimedOut { after: limit });
    send(&gw, "other", "a", 2).await;
    assert_eq!(within("other", done_rx.recv()).await.unwrap(), 2);
    assert!(rx.try_recv().is_err());
}

/// An `on_error` hook that panics takes nothing down with it: on a Queue
/// route bounded to one call at a time, every failing message still runs,
/// in order (without the catch, the first panic left the key and the
/// route's place taken for good).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_error_hook_leaves_the_route_running() {
    let gw = gateway().await;
    let bob = bob(&gw).await;
    let (tx, mut rx) = unbounded_channel::<String>();
    let failing = move |p: Job| {
        let tx = tx.clone();
        async move {
            tx.send(format!("ran {} {}", p.job, p.seq)).unwrap();
            Err::<(), _>(std::io::Error::other("fails on purpose"))
        }
    };
    let router = Router::new().route_with(
        "transcode",
        RunOptions::new()
            .strategy(Strategy::Queue)
            .concurrency(1)
            .on_error(|_| panic!("the hook panics")),
        failing,
    );
    let _run = bob.run_with(RunOptions::new(), router);
    for seq in 0..3 {
        send(&gw, "transcode", "a", seq).await;
    }
    expect(&mut rx, "ran a 0").await;
    expect(&mut rx, "ran a 1").await;
    expect(&mut rx, "ran a 2").await;
    // Another key of the same route too.
    send(&gw, "transcode", "b", 0).await;
    expect(&mut rx, "ran b 0").await;
}
