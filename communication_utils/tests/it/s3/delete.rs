//! Batch deletes: `delete_files` in requests of up to 1,000 keys with a
//! summary, `delete_prefix` page by page, and the failures of a request.

use std::time::Duration;

use futures_util::{StreamExt, TryStreamExt, stream};
use ms_utils_communication::s3::{ObjectId, UploadOptions};
use ms_utils_dev::testing::within_for;

use super::support::TestS3;

const BOUND: Duration = Duration::from_secs(120);

async fn put_keys(t: &TestS3, keys: &[String]) {
    stream::iter(keys)
        .map(|k| {
            t.client
                .upload_bytes(k.clone().into_bytes(), &t.bucket, k, UploadOptions::new())
        })
        .buffer_unordered(16)
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_files_removes_2500_keys_in_three_requests_and_counts_missing_ones() {
    let t = TestS3::start().await;
    let keys: Vec<String> = (0..2500).map(|i| format!("batch/k{i:05} é")).collect();
    within_for("uploading 2,500 keys", BOUND, put_keys(&t, &keys)).await;
    let keep = "kept/one.txt".to_owned();
    put_keys(&t, std::slice::from_ref(&keep)).await;

    // Two keys that do not exist: S3 reports them deleted too.
    let mut asked = keys.clone();
    asked.push("batch/never-there".into());
    asked.push("batch/neither".into());
    let summary = within_for(
        "deleting 2,502 keys",
        BOUND,
        t.client.delete_files(&t.bucket, &asked),
    )
    .await
    .unwrap();
    assert!(summary.is_complete(), "{:?}", summary.failures);
    let mut deleted: Vec<String> = summary.deleted.iter().map(|d| d.key.clone()).collect();
    deleted.sort();
    asked.sort();
    assert_eq!(deleted, asked);
    assert!(summary.deleted.iter().all(|d| !d.delete_marker));

    assert_eq!(t.client.list_files(&t.bucket).await.unwrap(), vec![keep]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_files_of_nothing_sends_nothing_and_an_empty_key_is_refused() {
    let t = TestS3::start().await;
    let none: [&str; 0] = [];
    let summary = t.client.delete_files(&t.bucket, none).await.unwrap();
    assert!(summary.deleted.is_empty() && summary.is_complete());

    t.client
        .upload_bytes(b"x".to_vec(), &t.bucket, "a", UploadOptions::new())
        .await
        .unwrap();
    let err = t
        .client
        .delete_files(&t.bucket, [ObjectId::new("a"), ObjectId::new("")])
        .await
        .unwrap_err();
    assert!(
        matches!(err, ms_utils_communication::s3::Error::InvalidInput(_)),
        "{err:?}"
    );
    assert!(
        t.client.exists(&t.bucket, "a").await.unwrap(),
        "nothing was sent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_request_lists_each_of_its_keys_with_the_request_error() {
    let t = TestS3::start().await;
    let missing = super::support::unique("no-such-bucket");
    let summary = t.client.delete_files(&missing, ["a", "b/c"]).await.unwrap();
    assert!(summary.deleted.is_empty());
    let mut keys: Vec<&str> = summary.failures.iter().map(|f| f.key.as_str()).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["a", "b/c"]);
    for f in &summary.failures {
        let err = f.request_error.as_deref().expect("the request's error");
        assert!(err.is_not_found(), "{err:?}");
        assert_eq!(err.operation(), Some("DeleteObjects"));
        assert_eq!(f.code, None);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_prefix_deletes_past_a_page_and_leaves_the_rest() {
    let t = TestS3::start().await;
    let mut keys: Vec<String> = (0..1200).map(|i| format!("jobs/42/part-{i:05}")).collect();
    keys.push("jobs/42/nested/deep/x.json".into());
    let others: Vec<String> = ["jobs/421/a", "jobs/43/b", "top.txt"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    within_for("uploading", BOUND, put_keys(&t, &keys)).await;
    put_keys(&t, &others).await;

    let summary = within_for(
        "delete_prefix",
        BOUND,
        t.client.delete_prefix(&t.bucket, "jobs/42/"),
    )
    .await
    .unwrap();
    assert!(summary.is_complete(), "{:?}", summary.failures);
    assert_eq!(summary.deleted.len(), keys.len());

    let mut left = t.client.list_files(&t.bucket).await.unwrap();
    left.sort();
    assert_eq!(left, others);

    // Again: nothing left to delete.
    let again = t.client.delete_prefix(&t.bucket, "jobs/42/").await.unwrap();
    assert!(again.deleted.is_empty() && again.is_complete());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_prefix_refuses_an_empty_prefix_and_reports_a_missing_bucket() {
    let t = TestS3::start().await;
    t.client
        .upload_bytes(b"x".to_vec(), &t.bucket, "a", UploadOptions::new())
        .await
        .unwrap();
    let err = t.client.delete_prefix(&t.bucket, "").await.unwrap_err();
    assert!(
        matches!(err, ms_utils_communication::s3::Error::InvalidInput(_)),
        "{err:?}"
    );
    assert!(t.client.exists(&t.bucket, "a").await.unwrap());

    let err = t
        .client
        .delete_prefix(&super::support::unique("no-such-bucket"), "x/")
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
}

/// Stores that predate S3's newer checksums want `Content-MD5` on
/// `DeleteObjects`: it is sent, and it is the body's MD5 (the server
/// accepts it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_objects_carries_a_content_md5() {
    let t = TestS3::start().await;
    let (endpoint, _, _) = t.endpoint_and_keys();
    let relay = super::support::Relay::start(endpoint).await;
    let client = t
        .client_with(t.config_builder().endpoint(&relay.endpoint))
        .await;
    client
        .upload_bytes(b"x".to_vec(), &t.bucket, "a", UploadOptions::new())
        .await
        .unwrap();
    let summary = client.delete_files(&t.bucket, ["a"]).await.unwrap();
    assert!(summary.is_complete(), "{:?}", summary.failures);
    let sent = String::from_utf8_lossy(&relay.sent.lock().unwrap()).to_ascii_lowercase();
    let post = &sent[sent.find("post /").expect("a DeleteObjects POST")..];
    let head = &post[..post.find("\r\n\r\n").unwrap()];
    assert!(head.contains("\r\ncontent-md5: "), "{head}");
    assert!(!t.client.exists(&t.bucket, "a").await.unwrap());
}
