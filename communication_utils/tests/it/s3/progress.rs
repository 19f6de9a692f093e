//! The ready-made progress bar (`indicatif`) as a transfer's listener: it
//! follows uploads and downloads, in parts and ranges, to their end.

use std::sync::Arc;

use super::support::{MIB, TestS3, data};
use ms_utils_communication::s3::{DownloadOptions, ProgressBarListener, UploadOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_bar_follows_transfers_to_the_end() {
    let t = TestS3::start().await;
    let len = 20 * MIB + 3;

    let up_bar = Arc::new(ProgressBarListener::new());
    let up = t
        .client
        .upload_bytes(
            data(len, 1),
            &t.bucket,
            "bar.bin",
            UploadOptions::new().progress(up_bar.clone()),
        )
        .await
        .unwrap();
    assert!(up.parts > 1);
    assert_eq!(up_bar.length(), Some(len as u64));
    assert_eq!(up_bar.position(), len as u64);
    assert!(up_bar.is_finished());

    let down_bar = Arc::new(ProgressBarListener::new());
    let dir = tempfile::tempdir().unwrap();
    let down = t
        .client
        .download_file(
            &t.bucket,
            "bar.bin",
            dir.path().join("bar.bin"),
            DownloadOptions::new().progress(down_bar.clone()),
        )
        .await
        .unwrap();
    assert!(down.ranges > 1);
    assert_eq!(down_bar.position(), len as u64);
    assert!(down_bar.is_finished());

    // A stream of unknown length: the bar learns the total at the end.
    let stream_bar = Arc::new(ProgressBarListener::new());
    t.client
        .upload_reader(
            std::io::Cursor::new(data(len, 2)),
            &t.bucket,
            "stream.bin",
            None,
            UploadOptions::new().progress(stream_bar.clone()),
        )
        .await
        .unwrap();
    assert_eq!(stream_bar.position(), len as u64);
    assert!(stream_bar.is_finished());
}
