//! Nothing left behind: multipart uploads left open are listed (past 1,000)
//! and aborted by age; a failed upload's abort is tried again when it fails
//! for a transport reason.

use std::time::{Duration, SystemTime};

use super::support::{FailingReader, MIB, TestS3, data};
use futures_util::{StreamExt, TryStreamExt, stream};
use ms_utils_communication::s3::UploadOptions;
use ms_utils_dev::testing::within;

/// Starts a multipart upload and leaves it open; returns its id.
async fn open_upload(t: &TestS3, key: &str) -> String {
    t.client
        .sdk()
        .create_multipart_upload()
        .bucket(&t.bucket)
        .key(key)
        .send()
        .await
        .unwrap()
        .upload_id
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_uploads_are_listed_by_prefix_and_aborted_by_age() {
    let t = TestS3::start().await;
    assert!(
        t.client
            .list_incomplete_uploads(&t.bucket, "")
            .await
            .unwrap()
            .is_empty()
    );
    let a1 = open_upload(&t, "in/a").await;
    let a2 = open_upload(&t, "in/a").await;
    let b = open_upload(&t, "in/b").await;
    let other = open_upload(&t, "out/c").await;
    // One with a part stored: its part goes with the abort.
    t.client
        .sdk()
        .upload_part()
        .bucket(&t.bucket)
        .key("in/b")
        .upload_id(&b)
        .part_number(1)
        .body(data(MIB, 7).into())
        .send()
        .await
        .unwrap();

    let listed = t
        .client
        .list_incomplete_uploads(&t.bucket, "in/")
        .await
        .unwrap();
    let keys: Vec<_> = listed.iter().map(|u| u.key.as_str()).collect();
    assert_eq!(keys, ["in/a", "in/a", "in/b"], "{listed:?}");
    let mut ids: Vec<_> = listed.iter().map(|u| u.upload_id.clone()).collect();
    ids.sort();
    let mut want = vec![a1, a2, b];
    want.sort();
    assert_eq!(ids, want);
    for u in &listed {
        assert!(u.initiated.is_some(), "{u:?}");
    }
    // moto dates every upload 2010-11-10: the age checks need real dates.
    if !t.is_external() {
        let now = SystemTime::now();
        for u in &listed {
            let started = u.initiated.unwrap();
            let age = now.duration_since(started).unwrap_or(Duration::ZERO);
            assert!(age < Duration::from_secs(300), "{u:?}");
        }
        // Younger than a day: kept, and said so.
        let day = Duration::from_secs(24 * 3600);
        let summary = t
            .client
            .abort_incomplete_uploads(&t.bucket, "in/", day)
            .await
            .unwrap();
        assert!(
            summary.aborted.is_empty() && summary.all_aborted(),
            "{summary:?}"
        );
        assert_eq!(summary.kept.len(), 3, "{summary:?}");
    }

    // Any age: the three under the prefix go, the other stays.
    let summary = t
        .client
        .abort_incomplete_uploads(&t.bucket, "in/", Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(summary.aborted.len(), 3, "{summary:?}");
    assert!(summary.failed.is_empty() && summary.kept.is_empty());
    let left = t
        .client
        .list_incomplete_uploads(&t.bucket, "")
        .await
        .unwrap();
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(
        (left[0].key.as_str(), &left[0].upload_id),
        ("out/c", &other)
    );
    t.client
        .abort_incomplete_uploads(&t.bucket, "", Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(t.open_multipart_uploads().await, 0);

    let err = t
        .client
        .list_incomplete_uploads("no-such-bucket-ms-utils", "")
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert_eq!(err.operation(), Some("ListMultipartUploads"));
}

/// More than one page (1,000 uploads): every one is listed once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_listing_follows_the_markers_past_1000_uploads() {
    let t = TestS3::start().await;
    let n = 1_010;
    let mut ids: Vec<String> = stream::iter(0..n)
        .map(|i| {
            let t = &t;
            // Two uploads per key for some: the upload-id marker matters.
            async move { Ok::<_, ()>(open_upload(t, &format!("k/{:04}", i / 2)).await) }
        })
        .buffer_unordered(16)
        .try_collect()
        .await
        .unwrap();
    let listed = t
        .client
        .list_incomplete_uploads(&t.bucket, "k/")
        .await
        .unwrap();
    assert_eq!(listed.len(), n);
    let mut got: Vec<String> = listed.iter().map(|u| u.upload_id.clone()).collect();
    got.sort();
    ids.sort();
    assert_eq!(got, ids, "each upload once");
    assert!(
        listed.windows(2).all(|w| w[0].key <= w[1].key),
        "sorted by key"
    );

    let summary = t
        .client
        .abort_incomplete_uploads(&t.bucket, "k/", Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(summary.aborted.len(), n, "{:?}", summary.failed.first());
    assert!(
        t.client
            .list_incomplete_uploads(&t.bucket, "")
            .await
            .unwrap()
            .is_empty()
    );
}

/// The server's own paging: `max-uploads` with both markers, two uploads of
/// one key split across pages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_pages_with_key_and_upload_id_markers() {
    // In-process server: moto answers every upload at once, ignoring max-uploads.
    let t = TestS3::dev().await;
    for key in ["a", "b", "b", "c"] {
        open_upload(&t, key).await;
    }
    let mut seen = Vec::new();
    let (mut km, mut um): (Option<String>, Option<String>) = (None, None);
    let mut pages = 0;
    loop {
        let out = t
            .client
            .sdk()
            .list_multipart_uploads()
            .bucket(&t.bucket)
            .max_uploads(2)
            .set_key_marker(km.clone())
            .set_upload_id_marker(um.clone())
            .send()
            .await
            .unwrap();
        pages += 1;
        assert!(out.uploads().len() <= 2);
        seen.extend(out.uploads().iter().map(|u| {
            (
                u.key().unwrap().to_owned(),
                u.upload_id().unwrap().to_owned(),
            )
        }));
        if !out.is_truncated().unwrap_or(false) {
            break;
        }
        km = out.next_key_marker().map(str::to_owned);
        um = out.next_upload_id_marker().map(str::to_owned);
        assert!(pages < 10);
    }
    assert_eq!(pages, 2);
    let keys: Vec<_> = seen.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["a", "b", "b", "c"]);
    assert_ne!(seen[1].1, seen[2].1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_upload_s_abort_is_tried_again_after_transport_failures() {
    // In-process server: needs the dev server's abort fault.
    let t = TestS3::dev().await;
    let server = t.dev_server();
    // One SDK attempt per call: the retries seen are the client's own.
    let client = t.client_with(t.config_builder().max_attempts(1)).await;

    // The two first aborts are dropped; the third try goes through.
    server.fail_next_aborts(2);
    let reader = FailingReader {
        data: data(20 * MIB, 2),
        at: 0,
    };
    let started = std::time::Instant::now();
    let err = client
        .upload_reader(reader, &t.bucket, "broken", None, UploadOptions::new())
        .await
        .unwrap_err();
    assert!(err.is_io(), "{err:?}");
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "backoff between tries"
    );
    assert_eq!(
        t.open_multipart_uploads().await,
        0,
        "aborted at the third try"
    );

    // Every try dropped: the upload stays open, and is found and removed
    // by the listing.
    server.fail_next_aborts(100);
    let reader = FailingReader {
        data: data(20 * MIB, 3),
        at: 0,
    };
    let started = std::time::Instant::now();
    let err = client
        .upload_reader(reader, &t.bucket, "broken", None, UploadOptions::new())
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "bounded in time"
    );
    server.fail_next_aborts(0);
    let open = client.list_incomplete_uploads(&t.bucket, "").await.unwrap();
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0].key, "broken");
    // The error says so: the upload's own failure (the reader's), the
    // upload left open, its id and key.
    assert!(err.is_upload_left_open(), "{err:?}");
    assert!(err.is_io(), "the reader's failure: {err:?}");
    assert_eq!(err.upload_id(), Some(open[0].upload_id.as_str()));
    assert_eq!(
        (err.bucket(), err.key()),
        (Some(t.bucket.as_str()), Some("broken"))
    );

    // abort_incomplete_uploads reports a failed abort with its error.
    server.fail_next_aborts(100);
    let summary = client
        .abort_incomplete_uploads(&t.bucket, "", Duration::ZERO)
        .await
        .unwrap();
    assert!(summary.aborted.is_empty() && !summary.all_aborted());
    assert_eq!(summary.failed.len(), 1, "{summary:?}");
    let (upload, err) = &summary.failed[0];
    assert_eq!(upload.key, "broken");
    assert!(err.is_transport(), "{err:?}");
    assert_eq!(err.operation(), Some("AbortMultipartUpload"));

    server.fail_next_aborts(0);
    let summary = client
        .abort_incomplete_uploads(&t.bucket, "", Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(summary.aborted.len(), 1, "{summary:?}");
    assert_eq!(t.open_multipart_uploads().await, 0);
}

/// The dev server dates an upload by its bookkeeping file: one made to look
/// two hours old is aborted by `older_than` = 1 h, a fresh one kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_uploads_older_than_the_threshold_are_aborted() {
    // In-process server: dates an upload through the dev server's files.
    let t = TestS3::dev().await;
    let old = open_upload(&t, "old").await;
    let fresh = open_upload(&t, "fresh").await;
    let info = t
        .server
        .as_ref()
        .unwrap()
        .root()
        .join(format!(".upload-{old}.json"));
    std::fs::File::options()
        .write(true)
        .open(&info)
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(2 * 3600))
        .unwrap();
    let summary = t
        .client
        .abort_incomplete_uploads(&t.bucket, "", Duration::from_secs(3600))
        .await
        .unwrap();
    let aborted: Vec<_> = summary.aborted.iter().map(|u| &u.upload_id).collect();
    let kept: Vec<_> = summary.kept.iter().map(|u| &u.upload_id).collect();
    assert_eq!((aborted, kept), (vec![&old], vec![&fresh]), "{summary:?}");
}

/// An abort that left the upload (as when a part lands after an abort on
/// S3): `ListParts` still lists its parts, so the abort is sent again and
/// the upload is gone; when every round leaves it, the error carries the
/// upload's id and key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abort_is_sent_again_while_list_parts_lists_parts() {
    // In-process server: needs the dev server's abort fault.
    let t = TestS3::dev().await;
    let server = t.dev_server();

    server.ignore_next_aborts(1);
    let reader = FailingReader {
        data: data(20 * MIB, 4),
        at: 0,
    };
    let err = within(
        "a failed upload",
        t.client
            .upload_reader(reader, &t.bucket, "again", None, UploadOptions::new()),
    )
    .await
    .unwrap_err();
    assert!(err.is_io() && !err.is_upload_left_open(), "{err:?}");
    assert_eq!(
        t.open_multipart_uploads().await,
        0,
        "aborted at the second round"
    );

    server.ignore_next_aborts(100);
    let reader = FailingReader {
        data: data(20 * MIB, 5),
        at: 0,
    };
    let err = within(
        "a failed upload",
        t.client
            .upload_reader(reader, &t.bucket, "kept", None, UploadOptions::new()),
    )
    .await
    .unwrap_err();
    server.ignore_next_aborts(0);
    assert!(err.is_upload_left_open() && err.is_io(), "{err:?}");
    let open = t
        .client
        .list_incomplete_uploads(&t.bucket, "")
        .await
        .unwrap();
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(err.upload_id(), Some(open[0].upload_id.as_str()));
    assert_eq!(err.key(), Some("kept"));
    let summary = t
        .client
        .abort_incomplete_uploads(&t.bucket, "", Duration::ZERO)
        .await
        .unwrap();
    assert!(summary.all_aborted(), "{summary:?}");
}
