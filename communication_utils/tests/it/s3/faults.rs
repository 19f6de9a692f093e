//! Failures half-way: the server going away during a download, and an
//! upload source failing during a multipart upload.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::support::{FailingReader, MIB, TestS3, data};
use ms_utils_communication::s3::{DownloadOptions, Progress, UploadOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn download_cut_by_the_server_leaves_no_file_and_no_temp_file() {
    // In-process server: needs to stop the server mid-transfer.
    let mut t = TestS3::dev().await;
    t.client
        .upload_bytes(data(40 * MIB, 1), &t.bucket, "big", UploadOptions::new())
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("big.bin");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let tx = Mutex::new(Some(tx));
    let first_bytes = Arc::new(move |_: &Progress| {
        if let Some(tx) = tx.lock().unwrap().take() {
            let _ = tx.send(());
        }
    });
    let client = t.client.clone();
    let (bucket, dest2) = (t.bucket.clone(), dest.clone());
    let download = tokio::spawn(async move {
        client
            .download_file(
                &bucket,
                "big",
                &dest2,
                DownloadOptions::new().progress(first_bytes),
            )
            .await
    });

    tokio::time::timeout(Duration::from_secs(20), rx)
        .await
        .unwrap()
        .unwrap();
    t.server.take().unwrap().shutdown().await;

    let err = tokio::time::timeout(Duration::from_secs(60), download)
        .await
        .unwrap()
        .unwrap()
        .unwrap_err();
    assert!(
        err.is_transport()
            || err.is_timeout()
            || matches!(err, ms_utils_communication::s3::Error::Integrity { .. }),
        "{err:?}"
    );
    assert!(!dest.exists(), "no half file under the final name");
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "temporary file removed: {left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_upload_failing_midway_is_aborted() {
    let t = TestS3::start().await;
    let reader = FailingReader {
        data: data(20 * MIB, 2),
        at: 0,
    };
    let err = t
        .client
        .upload_reader(reader, &t.bucket, "broken", None, UploadOptions::new())
        .await
        .unwrap_err();
    assert!(err.is_io(), "{err:?}");
    assert_eq!(
        t.open_multipart_uploads().await,
        0,
        "the upload was aborted, its parts removed"
    );
    assert!(!t.client.exists(&t.bucket, "broken").await.unwrap());

    // The same key uploads fine afterwards.
    let ok = t
        .client
        .upload_reader(
            std::io::Cursor::new(data(9 * MIB, 3)),
            &t.bucket,
            "broken",
            None,
            UploadOptions::new(),
        )
        .await
        .unwrap();
    assert_eq!(ok.size, 9 * MIB as u64);
    assert_eq!(t.open_multipart_uploads().await, 0);
}
