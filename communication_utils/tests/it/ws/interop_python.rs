//! Interop with the Python original: a service on the original `MicroServiceWs`
//! (msutils-lib 1.0.7) and a Rust service exchange `ms-send-task` messages
//! through the development gateway, and the Python side receives a large
//! payload from Rust, chunked by the gateway.
//!
//! Ignored unless asked for (`cargo test -- --ignored`, as `.ci/run` does),
//! with `MS_UTILS_PYTHON` naming a python that has msutils-lib 1.0.7 installed.

use std::process::Stdio;
use std::time::Duration;

use super::support::*;
use ms_utils_communication::ws::Message;
use sha2::Digest;

/// Kills the Python peer if the test ends early.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The Rust service: answers the Python peer's tasks.
fn serve(
    alice: &ms_utils_communication::ws::MicroServiceWs,
) -> ms_utils_communication::ws::RunHandle {
    let replier = alice.clone();
    alice.run(move |msg: Message| {
        let alice = replier.clone();
        async move {
            let Some(data) = msg.data().cloned() else { return Ok(()) };
            let from = data["from"].as_str().unwrap_or_default().to_owned();
            let job = data["jobId"].as_str().unwrap_or_default().to_owned();
            let task = &data["data"];
            let answer = if let Some(bytes) = task["want_bytes"].as_u64() {
                let blob: String = (0..bytes).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
                let sha = hex(&sha2::Sha256::digest(blob.as_bytes()));
                serde_json::json!({ "blob": blob, "sha256": sha })
            } else {
                serde_json::json!({ "doubled": task["n"].as_i64().unwrap_or(0) * 2, "echo": task["text"] })
            };
            alice.send_task_to_ms(&from, &job, &job, answer).await
        }
    })
}

use ms_utils_dev::testing::hex;

/// `MS_UTILS_PYTHON`; the tests that call this are `#[ignore]`d, so it is
/// unset only when they are run on purpose without it.
fn python() -> std::ffi::OsString {
    std::env::var_os("MS_UTILS_PYTHON").unwrap_or_else(|| panic!("this test needs the Python original: set MS_UTILS_PYTHON to a python with msutils-lib 1.0.7 (see .ci/run)"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Python original: set MS_UTILS_PYTHON to a python with msutils-lib 1.0.7 (see .ci/run)"]
async fn python_original_and_rust_exchange_tasks_and_a_chunked_payload() {
    let python = python();
    let gw = gateway().await;
    let alice = connect(&gw, ALICE).await;
    let _run = serve(&alice);
    let workdir = tempfile::tempdir().unwrap(); // the original writes logs/ in its cwd
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/ws_peer.py");
    let mut child = std::process::Command::new(python)
        .arg(script)
        .args([gw.host().as_str(), BOB.0, BOB.1, ALICE.0])
        .current_dir(workdir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python starts");
    // The child's stdout is read on a plain thread and handed over line by line.
    let (tx, mut lines) = tokio::sync::mpsc::unbounded_channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)) {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let mut child = KillOnDrop(child);

    // A task the Rust side starts on its own, once the Python service is there.
    wait_connected(&gw, BOB.0).await;
    alice
        .send_task_to_ms(
            BOB.0,
            "wf-r",
            "rust-hello",
            serde_json::json!({"greeting": "bonjour ☃"}),
        )
        .await
        .unwrap();

    let mut seen = Vec::new();
    let outcome = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.recv().await {
            println!("python: {line}");
            let done = line == "DONE";
            seen.push(line);
            if done {
                break;
            }
        }
    })
    .await;
    let status = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Some(status) = child.0.try_wait().unwrap() {
                return status;
            }
            // A child process gives no async exit notification without tokio's
            // `process` feature; poll its status, bounded by the timeout.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(outcome.is_ok(), "python peer timed out; it said {seen:?}");
    assert_eq!(
        seen.iter()
            .filter(|l| l.starts_with("OK"))
            .cloned()
            .collect::<Vec<_>>(),
        [
            "OK connected",
            "OK request-reply",
            "OK chunked 2097152",
            "OK rust-initiated"
        ],
        "{seen:?}"
    );
    assert!(status.map(|s| s.success()).unwrap_or(false), "python exit");
    assert!(
        gw.faults().counters().tasks_chunked >= 1,
        "the big answer went as chunks"
    );
}

#[test]
#[ignore = "needs the Python original: set MS_UTILS_PYTHON to a python with msutils-lib 1.0.7 (see .ci/run)"]
fn send_task_envelope_is_byte_for_byte_what_python_sends() {
    let python = python();
    // The original builds this dict in send_task_to_ms and sends json.dumps(dict).
    let program = r#"
import json, sys
data = {"text": "h\u00e9llo \u20ac \U0001F600 \x7f", "n": -3, "f": 0.1, "big": 1e16, "tiny": 1e-7, "l": [True, None, 2.0], "o": {}}
sys.stdout.write(json.dumps({"event": "ms-send-task", "data": {"to": "svc", "workflowId": "ref", "referenceId": "ref", "jobId": "j", "data": data}}))
"#;
    let out = std::process::Command::new(python)
        .args(["-c", program])
        .output()
        .expect("python runs");
    assert!(out.status.success());
    let data = serde_json::json!({"text": "héllo € 😀 \u{7f}", "n": -3, "f": 0.1, "big": 1e16, "tiny": 1e-7, "l": [true, null, 2.0], "o": {}});
    // Same values...
    let python_text = String::from_utf8(out.stdout).unwrap();
    let parsed: serde_json::Value = serde_json::from_str(&python_text).unwrap();
    assert_eq!(parsed["data"]["data"], data);
    // ...and the same bytes, given the payload in Python's key order (a
    // serde_json::Map would sort the keys).
    let ordered =
        ms_utils_communication::ws::ms_send_task("svc", "ref", "j", &OrderedData).unwrap();
    assert_eq!(ordered, python_text);
}

/// The payload above with Python's key order (serde serializes struct fields in order).
struct OrderedData;

impl serde::Serialize for OrderedData {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(7))?;
        m.serialize_entry("text", "héllo € 😀 \u{7f}")?;
        m.serialize_entry("n", &-3)?;
        m.serialize_entry("f", &0.1)?;
        m.serialize_entry("big", &1e16)?;
        m.serialize_entry("tiny", &1e-7)?;
        m.serialize_entry("l", &(true, (), 2.0))?;
        m.serialize_entry("o", &serde_json::Map::new())?;
        m.end()
    }
}
