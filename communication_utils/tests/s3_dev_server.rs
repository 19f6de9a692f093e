//! The in-process S3 server's options: a root folder kept across restarts,
//! a fixed port, its own credentials, buckets created at start.
#![cfg(all(feature = "s3", feature = "test-util"))]

use std::time::Duration;

use communication_utils::dev::s3::DevS3Server;
use communication_utils::s3::{S3BucketClient, S3Config, UploadOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn root_port_credentials_and_buckets_are_honoured() {
    let root = tempfile::tempdir().unwrap();
    // A port known to be free a moment ago (the OS picks it).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = DevS3Server::builder()
        .root(root.path())
        .port(port)
        .credentials("dev-ak", "dev-sk")
        .bucket("alpha")
        .bucket("beta")
        .start()
        .await
        .unwrap();
    assert_eq!(server.addr().port(), port);
    assert_eq!(server.endpoint(), format!("http://127.0.0.1:{port}"));
    assert_eq!(server.root(), root.path());
    assert_eq!(
        (server.access_key(), server.secret_key()),
        ("dev-ak", "dev-sk")
    );
    assert!(!format!("{server:?}").contains("dev-sk"));

    let client = S3BucketClient::new("dev", server.client_config())
        .await
        .unwrap();
    let mut buckets = client.list_buckets().await.unwrap();
    buckets.sort();
    assert_eq!(buckets, ["alpha", "beta"]);
    client
        .upload_bytes(b"kept".to_vec(), "alpha", "dir/k.txt", UploadOptions::new())
        .await
        .unwrap();
    assert_eq!(
        std::fs::read(root.path().join("alpha/dir/k.txt")).unwrap(),
        b"kept",
        "one file per object under ROOT/BUCKET/KEY"
    );
    let wrong = S3BucketClient::new(
        "dev",
        S3Config::builder()
            .endpoint(server.endpoint())
            .credentials("dev-ak", "other")
            .build()
            .unwrap(),
    )
    .await
    .unwrap();
    assert!(
        wrong
            .test_connection()
            .await
            .unwrap_err()
            .is_access_denied()
    );
    server.shutdown().await;

    // A new server on the same root serves what the first one stored; the
    // given root is not deleted on shutdown.
    let again = DevS3Server::builder()
        .root(root.path())
        .credentials("dev-ak", "dev-sk")
        .start()
        .await
        .unwrap();
    let client = S3BucketClient::new("dev", again.client_config())
        .await
        .unwrap();
    let got = tokio::time::timeout(
        Duration::from_secs(10),
        client.download_bytes("alpha", "dir/k.txt", Default::default()),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(got.as_ref(), b"kept");
    assert_eq!(
        client
            .get_file_metadata("alpha", "dir/k.txt")
            .await
            .unwrap()
            .get("FileSize"),
        Some("0.00 MB"),
        "metadata survives the restart too"
    );
}

#[tokio::test]
async fn a_taken_port_is_an_error() {
    let first = DevS3Server::builder().start().await.unwrap();
    let err = DevS3Server::builder()
        .port(first.addr().port())
        .start()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
}
