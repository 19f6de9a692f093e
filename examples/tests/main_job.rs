//! The README's first command, `cargo run --example gateway_consumer` with no
//! environment, runs this same code: the example's files are compiled in
//! here (`gateway_consumer_demo.rs`, which holds the copied service
//! `gateway_consumer.rs` as a module) and its demonstration driven end to end.
//! The examples' one test binary: `s3_transfer`'s command line is tested in
//! `cli/s3_transfer.rs`.

#[allow(dead_code)]
#[path = "../gateway_consumer_demo.rs"]
mod demo;

#[path = "cli/s3_transfer.rs"]
mod s3_transfer;

use demo::gateway_consumer;

use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_main_job_runs_an_embedding_job_and_a_task_round_trip_and_ends() {
    let report = tokio::time::timeout(Duration::from_secs(90), demo::run_local_demo())
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

/// With the gateway variables set, the same file serves: it answers tasks
/// until told to stop, then closes and returns `Ok`. The variables are the
/// ones `ms-utils-dev` prints, read by the code `WsConfigBuilder::from_env`
/// uses (a test cannot set the process environment safely); the stop signal
/// is a channel here, `ms_utils::shutdown_signal` in the program.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_gateway_env_it_serves_tasks_until_stopped() {
    use std::collections::HashMap;

    use ms_utils::communication_utils::s3::S3BucketClient;
    use ms_utils::communication_utils::ws::{MicroServiceWs, WsConfigBuilder};
    use ms_utils::dev::gateway::DevGateway;
    use ms_utils::dev::s3::DevS3Server;
    use ms_utils::dev::worker::EmbeddingWorker;
    use ms_utils::encoding_utils::WORKERS_MANAGER;
    use serde_json::json;

    const LIMIT: Duration = Duration::from_secs(30);
    let gateway = DevGateway::builder()
        .user("my_service", "svc-pw")
        .user(WORKERS_MANAGER, "wm-pw")
        .user("caller", "caller-pw")
        .start()
        .await
        .unwrap();
    let s3_server = DevS3Server::builder()
        .bucket("documents")
        .start()
        .await
        .unwrap();
    let vars: HashMap<&str, String> = HashMap::from([
        ("GATEWAY_HOST", gateway.host().to_string()),
        ("GATEWAY_USER", "my_service".into()),
        ("GATEWAY_PASSWORD", "svc-pw".into()),
        ("GATEWAY_TLS", "false".into()),
    ]);
    let config = WsConfigBuilder::from_lookup(|k| vars.get(k).cloned())
        .build()
        .unwrap();
    let s3 = S3BucketClient::new("svc", s3_server.client_config())
        .await
        .unwrap();
    let connect = |user: &'static str, pw: &'static str| {
        MicroServiceWs::builder(gateway.host())
            .tls(false)
            .credentials(user, pw)
            .connect()
    };
    let worker_ms = connect(WORKERS_MANAGER, "wm-pw").await.unwrap();
    let _worker = EmbeddingWorker::new(worker_ms, s3.clone()).serve();

    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(gateway_consumer::serve(
        config,
        gateway_consumer::App {
            s3,
            bucket: "documents".into(),
        },
        move || async move {
            let _ = stop_rx.await;
        },
    ));
    tokio::time::timeout(LIMIT, gateway.faults().wait_connected("my_service"))
        .await
        .expect("the service logs in with the variables");

    let caller = connect("caller", "caller-pw").await.unwrap();
    let embedded: serde_json::Value = caller
        .call(
            "my_service",
            json!({"action": "embed", "texts": ["one text"]}),
        )
        .job_id("t-1")
        .timeout(LIMIT)
        .data()
        .await
        .unwrap();
    assert_eq!(embedded["status"], "ok", "{embedded}");
    assert_eq!(embedded["vectors"], 1);
    assert_eq!(embedded["dimensions"], 384);
    // A task it cannot read: answered by the library with the platform's
    // error outcome, which the caller gets as the error it is.
    let refused = caller
        .call("my_service", json!({"action": "fly"}))
        .job_id("t-2")
        .timeout(LIMIT)
        .await
        .unwrap_err();
    let ms_utils::communication_utils::ws::Error::TaskFailed {
        job_id, message, ..
    } = &refused
    else {
        panic!("{refused:?}");
    };
    assert_eq!(job_id, "t-2");
    assert!(message.contains("fly"), "{message}");

    stop_tx.send(()).unwrap();
    tokio::time::timeout(LIMIT, serving)
        .await
        .expect("it stops when told")
        .unwrap()
        .expect("and closes cleanly");
}
