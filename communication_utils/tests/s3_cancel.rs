//! Dropping an upload future half-way through a multipart upload still
//! aborts the upload: no parts stay behind on the server.
#![cfg(feature = "s3")]

mod common_s3;

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use common_s3::{MIB, TestS3, data};
use ms_utils_communication::s3::{Progress, UploadOptions};
use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf};
use tokio::sync::mpsc;
use tracing::field::{Field, Visit};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::layer::SubscriberExt;

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

/// Hands the client's log messages to the test: the abort runs in a
/// background task, and its log line is the event to wait on.
struct Messages(mpsc::UnboundedSender<String>);

struct MessageField(String);

impl Visit for MessageField {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}

impl<S: tracing::Subscriber> Layer<S> for Messages {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        let mut m = MessageField(String::new());
        event.record(&mut m);
        let _ = self.0.send(m.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_multipart_upload_aborts_it() {
    let (log_tx, mut log_rx) = mpsc::unbounded_channel();
    let layer = Messages(log_tx).with_filter(filter_fn(|m| {
        m.target().starts_with("ms_utils_communication")
    }));
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer)).unwrap();

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

    let aborted = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(msg) = log_rx.recv().await {
            if msg.contains("multipart upload") {
                return msg;
            }
        }
        String::new()
    })
    .await
    .expect("the background abort finished in time");
    assert_eq!(aborted, "multipart upload aborted");
    assert_eq!(
        t.open_multipart_uploads().await,
        0,
        "no multipart upload or part left on the server"
    );
    assert!(!t.client.exists(&t.bucket, "cancelled.bin").await.unwrap());
}
