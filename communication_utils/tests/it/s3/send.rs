//! Every public async method of the S3 client returns a `Send` future, so
//! callers can `tokio::spawn` transfers. The compile-time half fails to build
//! if one is not; the run-time half spawns the transfers against a real server.

use std::time::Duration;

use super::support::{MIB, TestS3, data, sha256};
use ms_utils_communication::s3::{
    DownloadOptions, S3BucketClient, S3Config, TransferConfig, UploadOptions,
};

fn assert_send<T: Send>(_: &T) {}

/// Never run: only type-checked. Each future is built and checked, not awaited.
#[allow(dead_code, clippy::let_underscore_future)]
fn every_public_future_is_send(c: &S3BucketClient, config: S3Config) {
    assert_send(&S3BucketClient::from_env("t"));
    assert_send(&S3BucketClient::new("t", config));
    assert_send(&c.test_connection());
    assert_send(&c.list_buckets());
    assert_send(&c.delete_file("b", "k"));
    assert_send(&c.set_file_permission("b", "k", "private"));
    assert_send(&c.get_file_metadata("b", "k"));
    assert_send(&c.exists("b", "k"));
    assert_send(&c.copy("b", "k", "b2", "k2"));
    assert_send(&c.list_files("b"));
    assert_send(&c.list_files_with_prefix("b", "p/"));
    assert_send(&c.presigned_get("b", "k", Duration::from_secs(60)));
    assert_send(&c.presigned_put("b", "k", Duration::from_secs(60)));
    assert_send(&c.upload_file("/tmp/x", "b", None, UploadOptions::new()));
    assert_send(&c.upload_bytes(vec![1u8], "b", "k", UploadOptions::new()));
    assert_send(&c.upload_reader(&b"abc"[..], "b", "k", None, UploadOptions::new()));
    assert_send(&c.download_file("b", "k", "/tmp/y", DownloadOptions::new()));
    assert_send(&c.download_bytes("b", "k", DownloadOptions::new()));
    let mut pages = c.list_pages("b", None);
    assert_send(&pages.next_page());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfers_run_in_spawned_tasks() {
    // Small parts so the in-memory download really runs as parallel ranges.
    let mut transfer = TransferConfig::default();
    transfer.part_size = 5 * MIB as u64;
    transfer.multipart_threshold = 5 * MIB as u64;
    transfer.download_part_size = MIB as u64;
    transfer.download_threshold = MIB as u64;
    let t = TestS3::with_transfer(transfer).await;
    let bytes = data(6 * MIB + 123, 7);
    let (client, bucket) = (t.client.clone(), t.bucket.clone());
    let up = {
        let bytes = bytes.clone();
        tokio::spawn(async move {
            client
                .upload_bytes(bytes, &bucket, "spawned.bin", UploadOptions::new())
                .await
        })
    };
    let up = tokio::time::timeout(Duration::from_secs(60), up)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(up.parts >= 2, "multipart upload in a spawned task");

    let (client, bucket) = (t.client.clone(), t.bucket.clone());
    let down = tokio::spawn(async move {
        client
            .download_bytes(&bucket, "spawned.bin", DownloadOptions::new())
            .await
    });
    let got = tokio::time::timeout(Duration::from_secs(60), down)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(sha256(&got), sha256(&bytes));
}
