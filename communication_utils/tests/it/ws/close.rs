//! close(): flushes the queue, waits for running handlers, ends everything;
//! a closed client errors instead of hanging.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::support::*;
use ms_utils_communication::ws::{ConnectionState, Message, MicroServiceWs, RunHandle};
use tokio::sync::Notify;

/// A handler running on `client` (for a message the gateway echoes back to
/// it) that waits to be released.
struct Held {
    run: RunHandle,
    release: Arc<Notify>,
    finished: Arc<AtomicBool>,
}

async fn hold_a_handler(client: &MicroServiceWs) -> Held {
    let started = Arc::new(Notify::new());
    let release = Arc::new(Notify::new());
    let finished = Arc::new(AtomicBool::new(false));
    let run = {
        let (started, release, finished) = (started.clone(), release.clone(), finished.clone());
        client.run(move |_msg: Message| {
            let (started, release, finished) = (started.clone(), release.clone(), finished.clone());
            async move {
                started.notify_one();
                release.notified().await;
                finished.store(true, Ordering::SeqCst);
                Ok::<(), std::io::Error>(())
            }
        })
    };
    client
        .send(serde_json::json!({"event": "bench-echo", "data": 1}))
        .await
        .unwrap();
    within("handler starts", started.notified()).await;
    Held {
        run,
        release,
        finished,
    }
}

#[tokio::test]
async fn close_writes_every_queued_message_first() {
    let gw = gateway().await;
    let bob = connect(&gw, BOB).await;
    let alice = connect(&gw, ALICE).await;
    wait_connected(&gw, "bob").await;
    for i in 0..500 {
        alice
            .send_task_to_ms("bob", "r", &format!("j{i}"), i)
            .await
            .unwrap();
    }
    within("close", alice.close()).await.unwrap();
    assert_eq!(*alice.state().borrow(), ConnectionState::Closed);
    // A goodbye, not a dropped socket.
    within(
        "close frame",
        gw.faults().wait_for(|c| c.close_frames_in == 1),
    )
    .await;
    for i in 0..500 {
        assert_eq!(next(&bob).await.job_id(), Some(format!("j{i}").as_str()));
    }
}

/// close() first lets running handlers finish, on a live connection: what
/// they send then is delivered; a task arriving meanwhile is not run but
/// answered as not started; only then does the connection close.
#[tokio::test]
async fn close_lets_a_running_handler_finish_and_deliver_its_answer() {
    let gw = gateway().await;
    let alice = connect(&gw, ALICE).await;
    let bob = connect(&gw, BOB).await;
    wait_connected(&gw, "alice").await;
    wait_connected(&gw, "bob").await;
    let started = Arc::new(Notify::new());
    let release = Arc::new(Notify::new());
    let _run = {
        let (started, release, me) = (started.clone(), release.clone(), alice.clone());
        alice.run(move |msg: Message| {
            let (started, release, me) = (started.clone(), release.clone(), me.clone());
            async move {
                if msg.job_id() == Some("held") {
                    started.notify_one();
                    release.notified().await;
                    me.send_task_to_ms("bob", "r", "after-close-began", "done")
                        .await?;
                }
                Ok::<(), ms_utils_communication::ws::Error>(())
            }
        })
    };
    bob.send_task_to_ms("alice", "r", "held", 1).await.unwrap();
    within("handler starts", started.notified()).await;

    // Polled once: close() has stopped the receive loop (its first step,
    // before it waits), then goes on in the background.
    let mut closing = Box::pin({
        let alice = alice.clone();
        async move { alice.close().await }
    });
    std::future::poll_fn(|cx| {
        assert!(closing.as_mut().poll(cx).is_pending());
        std::task::Poll::Ready(())
    })
    .await;
    let closing = tokio::spawn(closing);

    // A task arriving now is answered as not started, over the live connection.
    let answer = within(
        "answer to a late task",
        bob.request("alice", "late", 2, Duration::from_secs(10)),
    )
    .await
    .unwrap_err();
    let ms_utils_communication::ws::Error::TaskFailed {
        job_id, message, ..
    } = &answer
    else {
        panic!("{answer:?}");
    };
    assert_eq!(job_id, "late");
    assert!(message.contains("stopped before"), "{message}");
    assert!(alice.is_connected());
    assert!(!closing.is_finished());

    release.notify_one();
    let msg = next(&bob).await;
    assert_eq!(msg.job_id(), Some("after-close-began"));
    within("close", closing).await.unwrap().unwrap();
    assert_eq!(*alice.state().borrow(), ConnectionState::Closed);
}

#[tokio::test]
async fn close_gives_up_on_a_stuck_handler_after_its_timeout() {
    let gw = gateway().await;
    let alice = within(
        "connect",
        config(&gw, ALICE)
            .close_timeout(Duration::from_millis(200))
            .connect(),
    )
    .await
    .unwrap();
    let started = Arc::new(Notify::new());
    let _run = {
        let started = started.clone();
        alice.run(move |_msg: Message| {
            let started = started.clone();
            async move {
                started.notify_one();
                std::future::pending::<()>().await;
                Ok::<(), std::io::Error>(())
            }
        })
    };
    alice
        .send(serde_json::json!({"event": "bench-echo", "data": 1}))
        .await
        .unwrap();
    within("handler starts", started.notified()).await;
    let err = within("close", alice.close()).await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
}

#[tokio::test]
async fn a_closed_client_answers_every_call_with_closed() {
    let gw = gateway().await;
    let alice = connect(&gw, ALICE).await;
    within("close", alice.close()).await.unwrap();
    within("close twice", alice.close()).await.unwrap();
    assert!(alice.send(1).await.unwrap_err().is_closed());
    assert!(alice.try_send(1).unwrap_err().is_closed());
    assert!(alice.send_text("x").await.unwrap_err().is_closed());
    assert!(
        alice
            .send_task_to_ms("bob", "r", "j", 1)
            .await
            .unwrap_err()
            .is_closed()
    );
    assert!(
        alice
            .request("bob", "j", 1, Duration::from_secs(5))
            .await
            .unwrap_err()
            .is_closed()
    );
    assert!(
        within("receive", alice.receive())
            .await
            .unwrap_err()
            .is_closed()
    );
    within("disconnected", alice.disconnected()).await;
    assert!(!alice.is_connected());
    within(
        "gateway sees it",
        gw.faults().wait_for(|c| c.open_connections == 0),
    )
    .await;
}

#[tokio::test]
async fn dropping_the_last_handle_closes_the_connection() {
    let gw = gateway().await;
    let alice = connect(&gw, ALICE).await;
    let clone = alice.clone();
    wait_connected(&gw, "alice").await;
    drop(alice);
    assert!(clone.is_connected(), "a clone keeps it open");
    let mut state = clone.state();
    drop(clone);
    wait_state(&mut state, ConnectionState::is_closed).await;
    within(
        "gateway sees it",
        gw.faults()
            .wait_for(|c| c.open_connections == 0 && c.close_frames_in == 1),
    )
    .await;
}

#[tokio::test]
async fn try_send_reports_a_full_queue() {
    let gw = gateway().await;
    let alice = within("connect", config(&gw, ALICE).queue_size(4).connect())
        .await
        .unwrap();
    // A stalled gateway stops reading; the client's queue fills up.
    gw.faults().stall(true);
    let blob = "x".repeat(64 * 1024);
    let mut full = false;
    for _ in 0..10_000 {
        match alice.try_send(serde_json::json!({ "blob": &blob })) {
            Ok(()) => tokio::task::yield_now().await,
            Err(e) => {
                assert!(e.is_queue_full(), "{e:?}");
                full = true;
                break;
            }
        }
    }
    assert!(full, "the queue never filled");
    gw.faults().stall(false);
}

/// `send` on a full queue waits for room instead of failing or growing the
/// queue, and goes through once the gateway reads again.
#[tokio::test]
async fn send_waits_while_the_queue_is_full_then_goes_through() {
    let gw = gateway().await;
    let bob = connect(&gw, BOB).await;
    let alice = within("connect", config(&gw, ALICE).queue_size(4).connect())
        .await
        .unwrap();
    wait_connected(&gw, "bob").await;
    gw.faults().stall(true);
    let blob = "x".repeat(64 * 1024);
    let mut queued = 0u64;
    loop {
        match alice.try_send(serde_json::json!({
            "event": "ms-send-task",
            "data": {"to": "bob", "jobId": format!("j{queued}"), "data": &blob},
        })) {
            Ok(()) => queued += 1,
            Err(e) if e.is_queue_full() => break,
            Err(e) => panic!("{e:?}"),
        }
        assert!(queued < 10_000, "the queue never filled");
        tokio::task::yield_now().await;
    }
    let last = alice.send_task_to_ms("bob", "r", "last", 1);
    tokio::pin!(last);
    // Nothing else runs between the full queue and this poll.
    assert!(
        futures_util::poll!(last.as_mut()).is_pending(),
        "send did not wait for room"
    );
    gw.faults().stall(false);
    within("send gets room", last).await.unwrap();
    for i in 0..queued {
        assert_eq!(next(&bob).await.job_id(), Some(format!("j{i}").as_str()));
    }
    assert_eq!(next(&bob).await.job_id(), Some("last"));
}

/// Both at once: messages still queued (the gateway is not reading) and a
/// handler still running when close() is called. close() writes every
/// queued message, waits for the handler, and only then returns. (bob reads
/// all along: close() returns `Ok` only once the gateway has read every
/// message, and a gateway routing to a client that reads nothing stops
/// reading too.)
#[tokio::test]
async fn close_with_queued_messages_and_a_running_handler_loses_neither() {
    const N: u64 = 400;
    let gw = gateway().await;
    let bob = connect(&gw, BOB).await;
    let alice = connect(&gw, ALICE).await;
    wait_connected(&gw, "bob").await;
    let Held {
        run,
        release,
        finished,
    } = hold_a_handler(&alice).await;
    let received = tokio::spawn(async move {
        let mut jobs = Vec::new();
        for _ in 0..N {
            jobs.push(next(&bob).await.job_id().map(str::to_owned));
        }
        jobs
    });

    // 26 MB for bob while the gateway reads nothing: far more than the
    // sockets' buffers hold, so most of it is still in alice's queue.
    gw.faults().stall(true);
    let blob = "y".repeat(64 * 1024);
    for i in 0..N {
        alice
            .send_task_to_ms("bob", "r", &format!("j{i}"), serde_json::json!(&blob))
            .await
            .unwrap();
    }
    assert!(alice.stats().messages_out < N + 1, "{:?}", alice.stats());
    let closing = {
        let alice = alice.clone();
        tokio::spawn(async move { alice.close().await })
    };
    gw.faults().stall(false);
    // The queue is written while close() waits for the handler, on the
    // live connection.
    let jobs = within("bob's messages", received).await.unwrap();
    assert!(
        !closing.is_finished(),
        "close() did not wait for the handler"
    );
    assert!(alice.is_connected());
    release.notify_one();
    within("close", closing).await.unwrap().unwrap();
    assert!(finished.load(Ordering::SeqCst));
    within("run loop ends", run.finished()).await.unwrap();
    for (i, job) in jobs.iter().enumerate() {
        assert_eq!(job.as_deref(), Some(format!("j{i}").as_str()));
    }
    // Messages written while closing are counted too (plus the one sent
    // before the gateway stalled).
    assert_eq!(alice.stats().messages_out, N + 1, "{:?}", alice.stats());
}
