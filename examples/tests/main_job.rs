//! The README's first command, `cargo run --example gateway_consumer` with no
//! environment, runs this same code: the example file is compiled in here
//! and its demonstration driven end to end.

#[allow(dead_code)]
#[path = "../gateway_consumer.rs"]
mod gateway_consumer;

use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_main_job_runs_an_embedding_job_and_a_task_round_trip_and_ends() {
    let report = tokio::time::timeout(Duration::from_secs(90), gateway_consumer::run_local_demo())
        .await
        .expect("the demonstration must end on its own")
        .expect("the demonstration succeeds");
    assert_eq!(report.vectors.len(), 3);
    assert!(report.vectors.iter().all(|v| v.len() == 384));
    assert_eq!(report.answer["status"], "ok");
    assert_eq!(report.answer["vectors"], 2);
    assert_eq!(report.answer["dimensions"], 384);
    assert!(
        report
            .lines
            .iter()
            .any(|l| l.contains("Objects left under encoder/ in the bucket: 0"))
    );
    assert!(report.lines.last().unwrap().contains("All done"));
}
