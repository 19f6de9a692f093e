//! Typed tasks: an `ms-task` read as `Task<T>`, answered with `reply` and
//! `reply_error` in the envelopes the Python services read.

use std::time::Duration;

use super::support::*;
use ms_utils_communication::ws::{Message, Task};
use serde_json::json;

#[derive(Debug, serde::Deserialize)]
struct Resize {
    width: u32,
}

#[tokio::test]
async fn a_task_is_read_typed_and_answered_to_its_sender() {
    let gw = gateway().await;
    let bob = connect(&gw, BOB).await;
    let alice = connect(&gw, ALICE).await;
    wait_connected(&gw, "bob").await;
    wait_connected(&gw, "alice").await;
    let _run = {
        let replier = bob.clone();
        bob.run(move |msg: Message| {
            let bob = replier.clone();
            async move {
                let task: Task<Resize> = match Task::from_message(&msg) {
                    Ok(task) => task,
                    Err(error) => {
                        // The payload does not fit: answer with the error.
                        let task: Task = Task::from_message(&msg)?;
                        return task.reply_error(&bob, format!("bad task: {error}")).await;
                    }
                };
                assert_eq!(task.from, "alice");
                task.reply(&bob, &json!({"area": task.data.width * 2}))
                    .await
            }
        })
    };

    let answer = alice
        .request(
            "bob",
            "job-1",
            json!({"width": 21}),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    let reply: Task = Task::from_message(&answer).unwrap();
    assert_eq!(reply.from, "bob");
    assert_eq!(reply.job_id, "job-1");
    assert_eq!(reply.reference_id, "job-1");
    assert_eq!(reply.data, json!({"area": 42}));

    // Its own error answer, read by the caller as the error it is.
    let failed = alice
        .request(
            "bob",
            "job-2",
            json!({"width": "wide"}),
            Duration::from_secs(10),
        )
        .await
        .unwrap_err();
    let ms_utils_communication::ws::Error::TaskFailed {
        to,
        job_id,
        message,
    } = failed
    else {
        panic!("{failed:?}");
    };
    assert_eq!((to.as_str(), job_id.as_str()), ("bob", "job-2"));
    assert!(message.starts_with("bad task"), "{message}");
}
