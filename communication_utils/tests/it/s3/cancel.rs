//! Dropping an upload future half-way through a multipart upload still
//! aborts the upload: no parts stay behind on the server.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use super::support::{MIB, TestS3, data};
use ms_utils_communication::s3::{Progress, UploadOptions};
use ms_utils_dev::testing::{LogCapture, within};
use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf};
use tracing::level_filters::LevelFilter;

/// A source that never yields more (a producer that stalls forever).
struct Stalled;

impl AsyncRead for Stalled {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        _: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Poll::Pending
    }
}

/// The abort runs in a background task, and its log line is the event to
/// wait on: the runtime's threads log into a capture.
#[test]
fn dropping_a_multipart_upload_aborts_it() {
    LogCapture::run_multi_thread(LevelFilter::DEBUG, |logs| async move {
        dropping_a_multipart_upload_aborts_it_on(logs).await
    });
}

async fn dropping_a_multipart_upload_aborts_it_on(logs: LogCapture) {
    let t = TestS3::start().await;
    // Exactly one part's worth (8 MiB = threshold = part size), then the
    // source stalls: part 1 is uploaded, part 2 never comes.
    let reader = std::io::Cursor::new(data(8 * MIB, 5)).chain(Stalled);
    let (part_tx, part_rx) = tokio::sync::oneshot::channel::<()>();
    let part_tx = Mutex::new(Some(part_tx));
    let on_part = Arc::new(move |p: &Progress| {
        if p.transferred > 0
            && let Some(tx) = part_tx.lock().unwrap().take()
        {
            let _ = tx.send(());
        }
    });
    let upload = t.client.upload_reader(
        reader,
        &t.bucket,
        "cancelled.bin",
        None,
        UploadOptions::new().progress(on_part),
    );
    tokio::select! {
        res = upload => panic!("the upload cannot finish: {res:?}"),
        first = tokio::time::timeout(Duration::from_secs(30), part_rx) => {
            first.expect("part 1 uploaded in time").unwrap();
        }
    }
    // `select!` dropped the upload future with its multipart upload open.

    let aborted = within(
        "the background abort",
        logs.wait_for_line(|l| {
            l.contains("ms_utils_communication") && l.contains("multipart upload")
        }),
    )
    .await;
    assert!(aborted.contains("multipart upload aborted"), "{aborted}");
    assert_eq!(
        t.open_multipart_uploads().await,
        0,
        "no multipart upload or part left on the server"
    );
    assert!(!t.client.exists(&t.bucket, "cancelled.bin").await.unwrap());
}

/// The race: an upload dropped while the server still stores parts
/// it has received in full (and goes on storing them with the client
/// gone, as S3 does). The cancelled upload lets those part requests end
/// before it aborts, so no part lands after the abort (the server would
/// remove it, and count it), and nothing is left on the server.
#[test]
fn a_cancelled_upload_lets_its_parts_land_before_it_aborts() {
    LogCapture::run_multi_thread(LevelFilter::DEBUG, |logs| async move {
        // In-process server: needs the dev server's slow part writes.
        let t = TestS3::dev().await;
        let server = t.dev_server();
        server.delay_part_uploads(Duration::from_millis(700));
        let mut parts = server.part_uploads();
        // Three parts, all in flight at once (4 at a time by default).
        let upload = t.client.upload_bytes(
            data(24 * MIB, 6),
            &t.bucket,
            "cancelled-late.bin",
            UploadOptions::new(),
        );
        tokio::select! {
            res = upload => panic!("the parts are held by the server: {res:?}"),
            received = within("a part received in full", parts.wait_for(|p| p.delayed >= 1)) => {
                received.unwrap();
            }
        }
        // Dropped with parts received and not yet stored.

        let aborted = within(
            "the background abort",
            logs.wait_for_line(|l| {
                l.contains("ms_utils_communication") && l.contains("multipart upload")
            }),
        )
        .await;
        assert!(aborted.contains("multipart upload aborted"), "{aborted}");
        let done = *within(
            "the server done with the parts",
            parts.wait_for(|p| p.running == 0),
        )
        .await
        .unwrap();
        assert_eq!(done.removed_late, 0, "no part landed after the abort");
        assert_eq!(
            t.open_multipart_uploads().await,
            0,
            "nothing left on the server"
        );
        assert!(
            !t.client
                .exists(&t.bucket, "cancelled-late.bin")
                .await
                .unwrap()
        );
    });
}
