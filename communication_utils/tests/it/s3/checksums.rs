//! Checksums: on custom endpoints, requests carry a checksum only when the
//! operation requires one (the default CRC32 trailer of aws-sdk-s3 >= 1.69 is
//! rejected by Scaleway, OVH and Backblaze), and whole-object downloads verify
//! the checksum the server stored, when it has one.

use std::time::Duration;

use super::support::{MIB, Relay, TestS3, data};
use ms_utils_communication::s3::{DownloadOptions, S3BucketClient, TransferConfig, UploadOptions};

fn checksum_headers(sent: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(sent).to_ascii_lowercase();
    text.lines()
        .filter(|l| {
            l.starts_with("x-amz-checksum-")
                || l.starts_with("x-amz-trailer:")
                || l.starts_with("x-amz-sdk-checksum-algorithm:")
                || l.starts_with("content-encoding: aws-chunked")
        })
        .map(|l| l.split(':').next().unwrap_or_default().to_owned())
        .collect()
}

async fn upload_small_and_multipart(client: &S3BucketClient, bucket: &str) {
    client
        .upload_bytes(data(1000, 1), bucket, "small", UploadOptions::new())
        .await
        .unwrap();
    let up = client
        .upload_bytes(data(9 * MIB, 2), bucket, "multi", UploadOptions::new())
        .await
        .unwrap();
    assert!(up.parts > 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_endpoints_send_checksums_only_when_required() {
    let t = TestS3::start().await;
    let (endpoint, _, _) = t.endpoint_and_keys();
    let relay = Relay::start(endpoint).await;
    let (relay, seen) = (relay.endpoint.clone(), relay.sent);

    // The default for a custom endpoint: PutObject and UploadPart go bare.
    let default = t.client_with(t.config_builder().endpoint(&relay)).await;
    upload_small_and_multipart(&default, &t.bucket).await;
    let sent = std::mem::take(&mut *seen.lock().unwrap());
    assert!(sent.starts_with(b"PUT "), "the relay saw the requests");
    assert_eq!(checksum_headers(&sent), Vec::<String>::new());

    // The SDK's own default (as on AWS) adds them: the check above can fail.
    let sdk_default = t
        .client_with(
            t.config_builder()
                .endpoint(&relay)
                .checksums_when_required(false),
        )
        .await;
    upload_small_and_multipart(&sdk_default, &t.bucket).await;
    let sent = std::mem::take(&mut *seen.lock().unwrap());
    assert!(!checksum_headers(&sent).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloads_verify_the_stored_checksum() {
    // In-process server: corrupts the dev server's files on disk.
    let t = TestS3::dev().await;
    // Uploaded with a CRC32 (checksums always on), which s3s-fs stores and
    // hands back on a GET with checksum mode.
    let with_crc = t
        .client_with(t.config_builder().checksums_when_required(false))
        .await;
    let bytes = data(300_000, 3);
    with_crc
        .upload_bytes(bytes.clone(), &t.bucket, "c.bin", UploadOptions::new())
        .await
        .unwrap();
    let got = t
        .client
        .download_bytes(&t.bucket, "c.bin", DownloadOptions::new())
        .await
        .unwrap();
    assert!(got.as_ref() == bytes.as_slice());

    // Flip one byte on disk: same size, different content.
    let path = t
        .server
        .as_ref()
        .unwrap()
        .root()
        .join(&t.bucket)
        .join("c.bin");
    let mut on_disk = std::fs::read(&path).unwrap();
    on_disk[1234] ^= 0xFF;
    std::fs::write(&path, &on_disk).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("c.bin");
    let err = tokio::time::timeout(
        Duration::from_secs(30),
        t.client
            .download_file(&t.bucket, "c.bin", &dest, DownloadOptions::new()),
    )
    .await
    .unwrap()
    .unwrap_err();
    assert!(err.is_integrity(), "{err:?}");
    assert!(
        !dest.exists(),
        "a corrupt download never lands under the final name"
    );
    let err = t
        .client
        .download_bytes(&t.bucket, "c.bin", DownloadOptions::new())
        .await
        .unwrap_err();
    assert!(err.is_integrity(), "{err:?}");

    // Without verification the corrupt bytes come through: the check above
    // is what caught them.
    let mut transfer = TransferConfig::default();
    transfer.verify_checksums = false;
    let unverified = t.client_with(t.config_builder().transfer(transfer)).await;
    let got = unverified
        .download_bytes(&t.bucket, "c.bin", DownloadOptions::new())
        .await
        .unwrap();
    assert!(got.as_ref() == on_disk.as_slice());
}
