//! The client's `Stats` through the `metrics` facade (feature `metrics`),
//! seen by a recorder the way an exporter would see them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use super::support::*;
use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, Key, KeyName, Metadata, Recorder, SharedString,
    Unit,
};

/// Keeps the last value written to each (name, client label), and says
/// when one is written.
#[derive(Default, Clone)]
struct Last(Arc<Mutex<HashMap<(String, String), f64>>>, Arc<Notify>);

struct Cell(Last, (String, String));

impl CounterFn for Cell {
    fn increment(&self, v: u64) {
        *self.0.0.lock().unwrap().entry(self.1.clone()).or_default() += v as f64;
        self.0.1.notify_waiters();
    }
    fn absolute(&self, v: u64) {
        self.0.0.lock().unwrap().insert(self.1.clone(), v as f64);
        self.0.1.notify_waiters();
    }
}

impl GaugeFn for Cell {
    fn increment(&self, v: f64) {
        *self.0.0.lock().unwrap().entry(self.1.clone()).or_default() += v;
    }
    fn decrement(&self, v: f64) {
        *self.0.0.lock().unwrap().entry(self.1.clone()).or_default() -= v;
    }
    fn set(&self, v: f64) {
        self.0.0.lock().unwrap().insert(self.1.clone(), v);
        self.0.1.notify_waiters();
    }
}

impl Last {
    fn cell(&self, key: &Key) -> Arc<Cell> {
        let client = key
            .labels()
            .find(|l| l.key() == "client")
            .map(|l| l.value().to_owned())
            .unwrap_or_default();
        Arc::new(Cell(self.clone(), (key.name().to_owned(), client)))
    }

    /// Waits until `name` for `client` has the value `want` gives.
    async fn wait_for(&self, name: &str, client: &str, want: impl Fn(f64) -> bool) {
        loop {
            let written = self.1.notified();
            tokio::pin!(written);
            written.as_mut().enable();
            if self.get(name, client).is_some_and(&want) {
                return;
            }
            written.await;
        }
    }

    fn get(&self, name: &str, client: &str) -> Option<f64> {
        self.0
            .lock()
            .unwrap()
            .get(&(name.to_owned(), client.to_owned()))
            .copied()
    }
}

impl Recorder for Last {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(self.cell(key))
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(self.cell(key))
    }
    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

#[tokio::test]
async fn stats_reach_the_installed_recorder_labelled_by_client() {
    let gw = gateway().await;
    let bob = connect(&gw, BOB).await;
    let alice = connect(&gw, ALICE).await;
    wait_connected(&gw, "bob").await;
    for i in 0..3 {
        alice
            .send_task_to_ms("bob", "r", &format!("j{i}"), serde_json::json!({}))
            .await
            .unwrap();
    }
    for _ in 0..3 {
        next(&bob).await;
    }
    let last = Last::default();
    metrics::with_local_recorder(&last, || {
        bob.publish_metrics();
        alice.publish_metrics();
    });
    let stats = bob.stats();
    assert_eq!(
        last.get("ms_utils_ws_messages_in_total", "bob"),
        Some(stats.messages_in as f64)
    );
    assert!(stats.messages_in >= 3);
    assert_eq!(last.get("ms_utils_ws_connected", "bob"), Some(1.0));
    assert_eq!(
        last.get("ms_utils_ws_messages_out_total", "alice"),
        Some(alice.stats().messages_out as f64)
    );
    assert_eq!(last.get("ms_utils_ws_outbound_queued", "alice"), Some(0.0));
}

/// Without any call of `publish_metrics`: the client copies its stats to
/// the recorder once a second on its own. (A current-thread runtime, so
/// that the exporting task sees this thread's recorder.)
#[tokio::test(flavor = "current_thread")]
async fn stats_are_exported_once_a_second_without_being_asked() {
    let last = Last::default();
    let _recorder = metrics::set_default_local_recorder(&last);
    let gw = gateway().await;
    let bob = connect(&gw, BOB).await;
    let alice = connect(&gw, ALICE).await;
    wait_connected(&gw, "bob").await;
    for i in 0..3 {
        alice
            .send_task_to_ms("bob", "r", &format!("j{i}"), serde_json::json!({}))
            .await
            .unwrap();
    }
    for _ in 0..3 {
        next(&bob).await;
    }
    within(
        "bob's exported message count",
        last.wait_for("ms_utils_ws_messages_in_total", "bob", |n| n >= 3.0),
    )
    .await;
    within(
        "alice's exported connection gauge",
        last.wait_for("ms_utils_ws_connected", "alice", |v| v == 1.0),
    )
    .await;
}
