//! `copy()`: metadata, content type and size kept (the multipart path above
//! 5 GiB is tested with a small limit in `src/s3/copy.rs`).

use std::collections::HashMap;

use super::support::{MIB, TestS3, data};
use ms_utils_communication::s3::{DownloadOptions, UploadOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_keeps_the_bytes_metadata_and_content_type() {
    let t = TestS3::start().await;
    let other = super::support::unique("dst");
    t.create_bucket(&other).await;
    let bytes = data(3 * MIB + 17, 5);
    let mut metadata = HashMap::new();
    metadata.insert("owner".to_owned(), "Zoë Ångström".to_owned());
    t.client
        .upload_bytes(
            bytes.clone(),
            &t.bucket,
            "docs/report 1.pdf",
            UploadOptions::new()
                .content_type("application/pdf")
                .metadata(metadata),
        )
        .await
        .unwrap();
    let before = t
        .client
        .get_file_metadata(&t.bucket, "docs/report 1.pdf")
        .await
        .unwrap();

    t.client
        .copy(&t.bucket, "docs/report 1.pdf", &other, "archive/r.pdf")
        .await
        .unwrap();

    let after = t
        .client
        .get_file_metadata(&other, "archive/r.pdf")
        .await
        .unwrap();
    assert_eq!(after.content_length, bytes.len() as u64);
    assert_eq!(after.content_type.as_deref(), Some("application/pdf"));
    assert_eq!(after.get("owner"), Some("Zoë Ångström"));
    assert!(before.get("FileSize").is_some(), "{before:?}");
    assert_eq!(
        after.user, before.user,
        "the Python-compatible metadata as stored"
    );
    let got = t
        .client
        .download_bytes(&other, "archive/r.pdf", DownloadOptions::new())
        .await
        .unwrap();
    assert!(got.as_ref() == bytes.as_slice());

    // An empty object copies too.
    t.client
        .upload_bytes(Vec::new(), &t.bucket, "empty", UploadOptions::new())
        .await
        .unwrap();
    t.client
        .copy(&t.bucket, "empty", &t.bucket, "empty2")
        .await
        .unwrap();
    let empty = t
        .client
        .get_file_metadata(&t.bucket, "empty2")
        .await
        .unwrap();
    assert_eq!(empty.content_length, 0);

    let err = t
        .client
        .copy(&t.bucket, "missing", &other, "x")
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert_eq!(err.key(), Some("missing"));
    assert!(!t.client.exists(&other, "x").await.unwrap());
}
