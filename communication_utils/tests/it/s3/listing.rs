//! Listing past 1,000 keys, prefixes and pages, buckets, exists, copy, delete.

use super::support::TestS3;
use futures_util::{StreamExt, TryStreamExt, stream};
use ms_utils_communication::s3::{DownloadOptions, UploadOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_files_returns_all_1500_keys_across_pages() {
    let t = TestS3::start().await;
    let keys: Vec<String> = (0..1500)
        .map(|i| format!("{}/k{i:05}", if i % 2 == 0 { "even" } else { "odd" }))
        .collect();
    stream::iter(keys.iter())
        .map(|k| {
            t.client
                .upload_bytes(k.clone().into_bytes(), &t.bucket, k, UploadOptions::new())
        })
        .buffer_unordered(16)
        .try_collect::<Vec<_>>()
        .await
        .unwrap();

    let mut listed = t.client.list_files(&t.bucket).await.unwrap();
    listed.sort();
    let mut want = keys.clone();
    want.sort();
    assert_eq!(listed, want);

    let odd = t
        .client
        .list_files_with_prefix(&t.bucket, "odd/")
        .await
        .unwrap();
    assert_eq!(odd.len(), 750);
    assert!(odd.iter().all(|k| k.starts_with("odd/")));

    let mut pages = t.client.list_pages(&t.bucket, None);
    let mut sizes = Vec::new();
    while let Some(page) = pages.next_page().await {
        sizes.push(page.unwrap().len());
    }
    assert_eq!(sizes.iter().sum::<usize>(), 1500);
    assert!(sizes.len() >= 2, "more than one page: {sizes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_bucket_lists_nothing_and_buckets_are_listed() {
    let t = TestS3::start().await;
    assert!(t.client.list_files(&t.bucket).await.unwrap().is_empty());
    assert!(t.client.list_buckets().await.unwrap().contains(&t.bucket));
    t.client.test_connection().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exists_copy_and_delete_work_together() {
    let t = TestS3::start().await;
    assert!(!t.client.exists(&t.bucket, "a b/ü.txt").await.unwrap());
    t.client
        .upload_bytes(
            b"payload".to_vec(),
            &t.bucket,
            "a b/ü.txt",
            UploadOptions::new(),
        )
        .await
        .unwrap();
    assert!(t.client.exists(&t.bucket, "a b/ü.txt").await.unwrap());

    t.client
        .copy(&t.bucket, "a b/ü.txt", &t.bucket, "copy/ü.txt")
        .await
        .unwrap();
    let got = t
        .client
        .download_bytes(&t.bucket, "copy/ü.txt", DownloadOptions::new())
        .await
        .unwrap();
    assert_eq!(&got[..], b"payload");
    let meta = t
        .client
        .get_file_metadata(&t.bucket, "copy/ü.txt")
        .await
        .unwrap();
    assert_eq!(meta.get("FileSize"), Some("0.00 MB"), "metadata is copied");

    t.client.delete_file(&t.bucket, "a b/ü.txt").await.unwrap();
    assert!(!t.client.exists(&t.bucket, "a b/ü.txt").await.unwrap());
    assert_eq!(
        t.client.list_files(&t.bucket).await.unwrap(),
        vec!["copy/ü.txt".to_owned()]
    );
}
