//! Delimited listings: common prefixes and objects, paged.

use std::time::Duration;

use futures_util::{StreamExt, TryStreamExt, stream};
use ms_utils_communication::s3::UploadOptions;
use ms_utils_dev::testing::within_for;

use super::support::TestS3;

async fn put_keys(t: &TestS3, keys: &[&str]) {
    stream::iter(keys)
        .map(|k| {
            t.client
                .upload_bytes(k.as_bytes().to_vec(), &t.bucket, k, UploadOptions::new())
        })
        .buffer_unordered(16)
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_lists_its_objects_and_its_sub_folders() {
    let t = TestS3::start().await;
    put_keys(
        &t,
        &[
            "cover.jpg",
            "photos/a.jpg",
            "photos/b.jpg",
            "photos/2023/x.jpg",
            "photos/2024/y.jpg",
            "photos/2024/deep/z.jpg",
            "photos-old/q.jpg",
        ],
    )
    .await;

    let top = t.client.list_folder(&t.bucket, "", "/").await.unwrap();
    assert_eq!(top.prefixes, ["photos-old/", "photos/"]);
    let keys: Vec<&str> = top.objects.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(keys, ["cover.jpg"]);
    assert_eq!(top.objects[0].size, "cover.jpg".len() as u64);
    assert!(top.objects[0].e_tag.is_some(), "listings carry ETags");

    let photos = t
        .client
        .list_folder(&t.bucket, "photos/", "/")
        .await
        .unwrap();
    assert_eq!(photos.prefixes, ["photos/2023/", "photos/2024/"]);
    let keys: Vec<&str> = photos.objects.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(keys, ["photos/a.jpg", "photos/b.jpg"]);

    // Taken literally: "photos" is a key start, not a folder.
    let literal = t
        .client
        .list_folder(&t.bucket, "photos", "/")
        .await
        .unwrap();
    assert_eq!(literal.prefixes, ["photos-old/", "photos/"]);
    assert!(literal.objects.is_empty());

    // No delimiter: a flat listing.
    let flat = t
        .client
        .list_folder(&t.bucket, "photos/2024/", "")
        .await
        .unwrap();
    assert!(flat.prefixes.is_empty());
    assert_eq!(flat.objects.len(), 2);

    let none = t
        .client
        .list_folder(&t.bucket, "nothing/", "/")
        .await
        .unwrap();
    assert!(none.prefixes.is_empty() && none.objects.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_of_more_than_a_page_is_listed_in_pages() {
    let t = TestS3::start().await;
    // 700 sub-folders and 700 objects: 1,400 entries, two pages at least.
    let keys: Vec<String> = (0..700)
        .flat_map(|i| [format!("d/sub{i:04}/f"), format!("d/obj{i:04}")])
        .collect();
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    within_for("uploading", Duration::from_secs(120), put_keys(&t, &refs)).await;

    let mut pages = t.client.list_folder_pages(&t.bucket, "d/", "/");
    let (mut prefixes, mut objects, mut n) = (Vec::new(), Vec::new(), 0);
    while let Some(page) = pages.next_page().await {
        let page = page.unwrap();
        assert!(page.prefixes.len() + page.objects.len() <= 1000);
        prefixes.extend(page.prefixes);
        objects.extend(page.objects.into_iter().map(|o| o.key));
        n += 1;
    }
    assert!(n >= 2, "{n} pages");
    prefixes.sort();
    objects.sort();
    prefixes.dedup();
    assert_eq!(prefixes.len(), 700);
    assert_eq!(objects.len(), 700);
    assert!(
        prefixes
            .iter()
            .all(|p| p.starts_with("d/sub") && p.ends_with('/'))
    );

    let all = t.client.list_folder(&t.bucket, "d/", "/").await.unwrap();
    assert_eq!((all.prefixes.len(), all.objects.len()), (700, 700));

    let err = t
        .client
        .list_folder(&super::support::unique("no-such-bucket"), "", "/")
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
}
