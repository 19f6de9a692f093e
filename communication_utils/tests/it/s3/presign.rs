//! Presigned URLs work without credentials, until they expire.

use std::time::Duration;

use super::support::{TestS3, http};
use ms_utils_communication::s3::{DownloadOptions, UploadOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presigned_get_and_put_need_no_credentials() {
    let t = TestS3::start().await;
    t.client
        .upload_bytes(
            b"secret doc".to_vec(),
            &t.bucket,
            "doc.txt",
            UploadOptions::new(),
        )
        .await
        .unwrap();

    let url = t
        .client
        .presigned_get(&t.bucket, "doc.txt", Duration::from_secs(300))
        .await
        .unwrap();
    let (status, body) = http("GET", &url, b"").await;
    assert_eq!(status, 200);
    assert_eq!(body, b"secret doc");

    let url = t
        .client
        .presigned_put(&t.bucket, "up.txt", Duration::from_secs(300))
        .await
        .unwrap();
    let (status, _) = http("PUT", &url, b"from a browser").await;
    assert_eq!(status, 200);
    let got = t
        .client
        .download_bytes(&t.bucket, "up.txt", DownloadOptions::new())
        .await
        .unwrap();
    assert_eq!(&got[..], b"from a browser");

    // moto does not check signatures.
    if !t.is_external() {
        // Tampering with the URL breaks the signature.
        let (status, _) = http("GET", &url.replace("up.txt", "doc.txt"), b"").await;
        assert_eq!(status, 403);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presign_expiry_over_a_week_is_rejected() {
    let t = TestS3::start().await;
    let err = t
        .client
        .presigned_get(&t.bucket, "k", Duration::from_secs(8 * 24 * 3600))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ms_utils_communication::s3::Error::InvalidInput(_)),
        "{err:?}"
    );
}
