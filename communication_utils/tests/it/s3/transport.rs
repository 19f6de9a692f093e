//! The client's transport settings: an extra CA certificate for a private
//! HTTPS endpoint, and configurable timeouts and retries (standard mode).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::support::{TestS3, private_pki, tls_front};
use tokio::net::TcpListener;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_ca_is_trusted_when_given_and_refused_otherwise() {
    let t = TestS3::start().await;
    let (ca, acceptor) = private_pki();
    let (endpoint, _, _) = t.endpoint_and_keys();
    let https = tls_front(endpoint, acceptor).await;

    let trusted = t
        .client_with(
            t.config_builder()
                .endpoint(&https)
                .extra_ca_pem(ca.into_bytes()),
        )
        .await;
    let bucket = t.bucket.clone();
    tokio::time::timeout(Duration::from_secs(20), async {
        trusted
            .upload_bytes(b"over tls".to_vec(), &bucket, "tls.txt", Default::default())
            .await
            .unwrap();
        let got = trusted
            .download_bytes(&bucket, "tls.txt", Default::default())
            .await
            .unwrap();
        assert_eq!(got.as_ref(), b"over tls");
    })
    .await
    .unwrap();

    let untrusted = t
        .client_with(t.config_builder().endpoint(&https).max_attempts(1))
        .await;
    let err = tokio::time::timeout(Duration::from_secs(20), untrusted.test_connection())
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        err.is_transport(),
        "an unknown CA is a TLS failure: {err:?}"
    );
}

#[tokio::test]
async fn a_certificate_that_is_not_pem_is_a_config_error() {
    let err = ms_utils_communication::s3::S3BucketClient::new(
        "t",
        ms_utils_communication::s3::S3Config::builder()
            .endpoint("https://127.0.0.1:1")
            .credentials("a", "b")
            .extra_ca_pem(b"not a certificate".to_vec())
            .build()
            .unwrap(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, ms_utils_communication::s3::Error::Config { .. }),
        "{err:?}"
    );
}

/// A loopback server that accepts connections, counts them and never answers.
async fn silent_server() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&accepted);
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            held.push(socket);
        }
    });
    (format!("http://{addr}"), accepted)
}

fn client_config(endpoint: &str) -> ms_utils_communication::s3::S3ConfigBuilder {
    ms_utils_communication::s3::S3Config::builder()
        .endpoint(endpoint)
        .credentials("ak", "sk")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attempt_timeouts_are_retried_as_configured() {
    for attempts in [1u32, 3] {
        let (endpoint, accepted) = silent_server().await;
        let client = ms_utils_communication::s3::S3BucketClient::new(
            "t",
            client_config(&endpoint)
                .attempt_timeout(Duration::from_millis(300))
                .max_attempts(attempts)
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
        let err = tokio::time::timeout(Duration::from_secs(30), client.list_buckets())
            .await
            .expect("bounded by the attempt timeout and the retry count")
            .unwrap_err();
        assert!(err.is_timeout(), "{err:?}");
        assert_eq!(
            accepted.load(Ordering::SeqCst),
            attempts as usize,
            "one connection per attempt"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operation_and_read_timeouts_end_a_silent_request() {
    let (endpoint, _) = silent_server().await;
    for config in [
        client_config(&endpoint)
            .operation_timeout(Duration::from_millis(400))
            .max_attempts(10),
        client_config(&endpoint)
            .read_timeout(Duration::from_millis(300))
            .max_attempts(1),
    ] {
        let client = ms_utils_communication::s3::S3BucketClient::new("t", config.build().unwrap())
            .await
            .unwrap();
        let err = tokio::time::timeout(Duration::from_secs(10), client.list_buckets())
            .await
            .expect("the configured timeout fired well before 10 s")
            .unwrap_err();
        assert!(err.is_timeout(), "{err:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn path_style_is_on_for_custom_endpoints_and_needed_there() {
    let t = TestS3::start().await;
    let (endpoint, _, _) = t.endpoint_and_keys();
    // A `localhost` endpoint, as MinIO users write it (for an IP address the
    // SDK falls back to path-style by itself).
    let localhost = endpoint.replace("127.0.0.1", "localhost");
    let default = t.client_with(t.config_builder().endpoint(&localhost)).await;
    default
        .upload_bytes(b"x".to_vec(), &t.bucket, "p.txt", Default::default())
        .await
        .unwrap();
    // Virtual-hosted style asks for host `BUCKET.localhost`: it either does
    // not resolve or reaches a server that cannot see the bucket in the path.
    let virtual_hosted = t
        .client_with(
            t.config_builder()
                .endpoint(&localhost)
                .force_path_style(false)
                .max_attempts(1),
        )
        .await;
    let res = tokio::time::timeout(
        Duration::from_secs(20),
        virtual_hosted.get_file_metadata(&t.bucket, "p.txt"),
    )
    .await
    .unwrap();
    assert!(res.is_err(), "{res:?}");
}
