//! `sync_up` / `sync_down`: only new or changed files move, deletions on
//! request, include/exclude patterns, dry runs, the ETag comparison.

use std::path::Path;
use std::time::{Duration, SystemTime};

use super::support::{MIB, TestS3, data};
use ms_utils_communication::s3::{
    DownloadOptions, SyncCompare, SyncOptions, SyncReason, SyncSummary, TransferConfig,
    UploadOptions,
};

fn write(root: &Path, rel: &str, bytes: &[u8]) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn set_mtime(path: &Path, time: SystemTime) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(time)
        .unwrap();
}

fn mtime(path: &Path) -> SystemTime {
    std::fs::metadata(path).unwrap().modified().unwrap()
}

fn keys(entries: &[ms_utils_communication::s3::SyncEntry]) -> Vec<&str> {
    let mut k: Vec<&str> = entries.iter().map(|e| e.key.as_str()).collect();
    k.sort_unstable();
    k
}

fn reason_of(s: &SyncSummary, key: &str) -> SyncReason {
    s.copied
        .iter()
        .chain(&s.skipped)
        .chain(&s.deleted)
        .find(|e| e.key == key)
        .map(|e| e.reason)
        .unwrap_or_else(|| panic!("{key} not in {s:?}"))
}

fn tree(root: &Path) {
    write(root, "a.txt", b"alpha");
    write(root, "b/c.bin", &data(3000, 1));
    write(root, "b/d/e.json", b"{}");
    write(root, "f.tmp", b"scratch");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_up_moves_only_what_changed_and_deletes_on_request() {
    let t = TestS3::start().await;
    let src = tempfile::tempdir().unwrap();
    let root = src.path();
    tree(root);
    // An object the folder does not have, and one outside the prefix.
    t.client
        .upload_bytes(
            b"old".to_vec(),
            &t.bucket,
            "site/stale.txt",
            UploadOptions::new(),
        )
        .await
        .unwrap();
    t.client
        .upload_bytes(
            b"x".to_vec(),
            &t.bucket,
            "other/keep.txt",
            UploadOptions::new(),
        )
        .await
        .unwrap();

    let first = t
        .client
        .sync_up(root, &t.bucket, "site", SyncOptions::new())
        .await
        .unwrap();
    assert!(first.is_complete(), "{first:?}");
    assert_eq!(
        keys(&first.copied),
        [
            "site/a.txt",
            "site/b/c.bin",
            "site/b/d/e.json",
            "site/f.tmp"
        ]
    );
    assert!(first.copied.iter().all(|e| e.reason == SyncReason::New));
    assert!(first.deleted.is_empty(), "no deletes unless asked");
    assert_eq!(first.bytes_copied(), 5 + 3000 + 2 + 7);
    let meta = t
        .client
        .get_file_metadata(&t.bucket, "site/b/c.bin")
        .await
        .unwrap();
    assert_eq!(
        meta.get("FileName"),
        Some("c.bin"),
        "stored as upload_file does"
    );

    // Nothing changed: nothing moves.
    let again = t
        .client
        .sync_up(root, &t.bucket, "site", SyncOptions::new())
        .await
        .unwrap();
    assert!(again.copied.is_empty(), "{again:?}");
    assert_eq!(again.skipped.len(), 4);

    // Changed in place (newer), resized, new, removed.
    set_mtime(
        &root.join("a.txt"),
        SystemTime::now() + Duration::from_secs(120),
    );
    write(root, "b/d/e.json", b"{\"k\": 1}");
    write(root, "new.txt", b"new");
    std::fs::remove_file(root.join("f.tmp")).unwrap();

    let options = || SyncOptions::new().delete(true);
    let dry = t
        .client
        .sync_up(root, &t.bucket, "site", options().dry_run(true))
        .await
        .unwrap();
    assert!(dry.dry_run);
    assert_eq!(
        keys(&dry.copied),
        ["site/a.txt", "site/b/d/e.json", "site/new.txt"]
    );
    assert_eq!(keys(&dry.deleted), ["site/f.tmp", "site/stale.txt"]);
    assert!(
        t.client.exists(&t.bucket, "site/stale.txt").await.unwrap(),
        "a dry run changes nothing"
    );
    assert!(!t.client.exists(&t.bucket, "site/new.txt").await.unwrap());

    let done = t
        .client
        .sync_up(root, &t.bucket, "site", options())
        .await
        .unwrap();
    assert!(done.is_complete(), "{done:?}");
    assert_eq!(reason_of(&done, "site/a.txt"), SyncReason::TimeDiffers);
    assert_eq!(reason_of(&done, "site/b/d/e.json"), SyncReason::SizeDiffers);
    assert_eq!(reason_of(&done, "site/new.txt"), SyncReason::New);
    assert_eq!(reason_of(&done, "site/b/c.bin"), SyncReason::Unchanged);
    assert_eq!(reason_of(&done, "site/stale.txt"), SyncReason::Gone);
    assert_eq!(keys(&done.deleted), ["site/f.tmp", "site/stale.txt"]);

    let mut listed = t.client.list_files(&t.bucket).await.unwrap();
    listed.sort();
    assert_eq!(
        listed,
        [
            "other/keep.txt",
            "site/a.txt",
            "site/b/c.bin",
            "site/b/d/e.json",
            "site/new.txt"
        ]
    );
    let e = t
        .client
        .download_bytes(&t.bucket, "site/b/d/e.json", DownloadOptions::new())
        .await
        .unwrap();
    assert_eq!(e, &b"{\"k\": 1}"[..]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patterns_leave_files_out_of_copies_and_deletes() {
    let t = TestS3::start().await;
    let src = tempfile::tempdir().unwrap();
    let root = src.path();
    tree(root);
    t.client
        .upload_bytes(
            b"remote".to_vec(),
            &t.bucket,
            "p/gone.tmp",
            UploadOptions::new(),
        )
        .await
        .unwrap();
    t.client
        .upload_bytes(
            b"remote".to_vec(),
            &t.bucket,
            "p/gone.txt",
            UploadOptions::new(),
        )
        .await
        .unwrap();

    // Only *.txt and *.json, everything else left alone, even with delete.
    let options = SyncOptions::new()
        .exclude("*")
        .include("*.txt")
        .include("b/*.json")
        .delete(true);
    let s = t
        .client
        .sync_up(root, &t.bucket, "p/", options)
        .await
        .unwrap();
    assert!(s.is_complete(), "{s:?}");
    assert_eq!(keys(&s.copied), ["p/a.txt", "p/b/d/e.json"]);
    assert_eq!(keys(&s.deleted), ["p/gone.txt"]);
    assert_eq!(s.excluded, 3, "b/c.bin, f.tmp and the object gone.tmp");
    let mut listed = t.client.list_files(&t.bucket).await.unwrap();
    listed.sort();
    assert_eq!(listed, ["p/a.txt", "p/b/d/e.json", "p/gone.tmp"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_down_moves_only_what_changed_and_keeps_the_objects_times() {
    let t = TestS3::start().await;
    let src = tempfile::tempdir().unwrap();
    tree(src.path());
    t.client
        .upload_dir(src.path(), &t.bucket, "data", Default::default())
        .await
        .unwrap();
    let dest = tempfile::tempdir().unwrap();
    let root = dest.path().join("mirror");
    write(&root, "local-only.txt", b"mine");
    write(&root, "keep.log", b"mine too");

    let first = t
        .client
        .sync_down(&t.bucket, "data", &root, SyncOptions::new())
        .await
        .unwrap();
    assert!(first.is_complete(), "{first:?}");
    assert_eq!(first.copied.len(), 4);
    assert!(first.deleted.is_empty());
    assert_eq!(std::fs::read(root.join("b/c.bin")).unwrap(), data(3000, 1));
    let object_time = t
        .client
        .get_file_metadata(&t.bucket, "data/b/c.bin")
        .await
        .unwrap()
        .last_modified
        .unwrap();
    // (A listing's time has milliseconds, a HEAD's whole seconds.)
    let secs = |t: SystemTime| t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
    assert_eq!(
        secs(mtime(&root.join("b/c.bin"))),
        secs(object_time),
        "the object's time"
    );

    let again = t
        .client
        .sync_down(&t.bucket, "data", &root, SyncOptions::new())
        .await
        .unwrap();
    assert!(again.copied.is_empty(), "{again:?}");
    assert_eq!(again.skipped.len(), 4);

    // A local file touched (its time no longer the object's) and one
    // resized are fetched again; local files with no object go on delete.
    set_mtime(
        &root.join("a.txt"),
        SystemTime::now() - Duration::from_secs(3600),
    );
    write(&root, "b/d/e.json", b"{\"changed\": true}");
    let s = t
        .client
        .sync_down(
            &t.bucket,
            "data",
            &root,
            SyncOptions::new().delete(true).exclude("*.log"),
        )
        .await
        .unwrap();
    assert!(s.is_complete(), "{s:?}");
    assert_eq!(reason_of(&s, "data/a.txt"), SyncReason::TimeDiffers);
    assert_eq!(reason_of(&s, "data/b/d/e.json"), SyncReason::SizeDiffers);
    assert_eq!(keys(&s.deleted), ["data/local-only.txt"]);
    assert_eq!(s.excluded, 1, "keep.log");
    assert!(!root.join("local-only.txt").exists());
    assert!(root.join("keep.log").exists(), "excluded: not deleted");
    assert_eq!(std::fs::read(root.join("b/d/e.json")).unwrap(), b"{}");

    // A dry run into a folder that does not exist creates nothing.
    let none = dest.path().join("never");
    let dry = t
        .client
        .sync_down(&t.bucket, "data", &none, SyncOptions::new().dry_run(true))
        .await
        .unwrap();
    assert_eq!(dry.copied.len(), 4);
    assert!(!none.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etag_comparison_sees_content_not_times() {
    let mut transfer = TransferConfig::default();
    transfer.multipart_threshold = 5 * MIB as u64;
    transfer.part_size = 5 * MIB as u64;
    let t = TestS3::with_transfer(transfer).await;
    let src = tempfile::tempdir().unwrap();
    let root = src.path();
    write(root, "small.txt", b"same size A");
    write(root, "big.bin", &data(11 * MIB, 2));
    let first = t
        .client
        .sync_up(root, &t.bucket, "", SyncOptions::new())
        .await
        .unwrap();
    assert!(first.is_complete(), "{first:?}");
    let big = t
        .client
        .get_file_metadata(&t.bucket, "big.bin")
        .await
        .unwrap();
    assert!(big.e_tag.unwrap().ends_with("-3\""), "a multipart object");

    // Touched, content unchanged: times say copy, ETags say no.
    let later = SystemTime::now() + Duration::from_secs(120);
    set_mtime(&root.join("small.txt"), later);
    set_mtime(&root.join("big.bin"), later);
    let by_time = t
        .client
        .sync_up(root, &t.bucket, "", SyncOptions::new().dry_run(true))
        .await
        .unwrap();
    assert_eq!(by_time.copied.len(), 2);
    let etag = || SyncOptions::new().compare(SyncCompare::SizeAndEtag);
    let by_tag = t.client.sync_up(root, &t.bucket, "", etag()).await.unwrap();
    assert!(by_tag.copied.is_empty(), "{by_tag:?}");

    // Content changed, same size, older time: times say no, ETags say copy.
    write(root, "small.txt", b"same size B");
    let earlier = SystemTime::now() - Duration::from_secs(3600);
    set_mtime(&root.join("small.txt"), earlier);
    set_mtime(&root.join("big.bin"), earlier);
    let by_time = t
        .client
        .sync_up(root, &t.bucket, "", SyncOptions::new().dry_run(true))
        .await
        .unwrap();
    assert!(by_time.copied.is_empty());
    let by_tag = t.client.sync_up(root, &t.bucket, "", etag()).await.unwrap();
    assert_eq!(keys(&by_tag.copied), ["small.txt"]);
    assert_eq!(by_tag.copied[0].reason, SyncReason::ContentDiffers);

    // Down: the same comparison against local files.
    let dest = tempfile::tempdir().unwrap();
    t.client
        .sync_down(&t.bucket, "", dest.path(), SyncOptions::new())
        .await
        .unwrap();
    write(dest.path(), "small.txt", b"same size C");
    let down = t
        .client
        .sync_down(&t.bucket, "", dest.path(), etag())
        .await
        .unwrap();
    assert_eq!(keys(&down.copied), ["small.txt"]);
    assert_eq!(
        std::fs::read(dest.path().join("small.txt")).unwrap(),
        b"same size B"
    );
    assert_eq!(reason_of(&down, "big.bin"), SyncReason::Unchanged);
}

/// An entry that cannot be read (here a link to a folder, which is not
/// followed) is a failure, and the objects under it are not "gone".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_under_an_unread_entry_are_not_deleted() {
    let t = TestS3::start().await;
    let src = tempfile::tempdir().unwrap();
    let root = src.path();
    write(root, "x.txt", b"x");
    let elsewhere = tempfile::tempdir().unwrap();
    write(elsewhere.path(), "inner.txt", b"i");
    std::os::unix::fs::symlink(elsewhere.path(), root.join("linked")).unwrap();
    t.client
        .upload_bytes(
            b"i".to_vec(),
            &t.bucket,
            "linked/inner.txt",
            UploadOptions::new(),
        )
        .await
        .unwrap();
    let s = t
        .client
        .sync_up(root, &t.bucket, "", SyncOptions::new().delete(true))
        .await
        .unwrap();
    assert_eq!(s.failures.len(), 1, "{s:?}");
    assert_eq!(s.failures[0].key, "linked");
    assert!(s.failures[0].error.is_io());
    assert!(s.deleted.is_empty(), "{s:?}");
    assert!(
        t.client
            .exists(&t.bucket, "linked/inner.txt")
            .await
            .unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_that_cannot_start_is_an_error() {
    let t = TestS3::start().await;
    let missing = tempfile::tempdir().unwrap().path().join("nope");
    let err = t
        .client
        .sync_up(&missing, &t.bucket, "", SyncOptions::new())
        .await
        .unwrap_err();
    assert!(err.is_io(), "{err:?}");
    let dir = tempfile::tempdir().unwrap();
    let err = t
        .client
        .sync_down(
            &super::support::unique("no-such-bucket"),
            "",
            dir.path(),
            SyncOptions::new(),
        )
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
}
