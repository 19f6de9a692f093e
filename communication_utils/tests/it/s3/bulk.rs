//! Many files at once: `upload_dir` and `download_prefix` (tree round trip,
//! per-file metadata, failures in the summary, bounded concurrency,
//! aggregate progress, listing past 1,000 keys).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::support::{TestS3, data, sha256_file};
use ms_utils_communication::s3::{BulkOptions, BulkProgress, UploadOptions};

/// Writes ~50 files in nested folders (hidden ones included); returns their
/// relative paths (with `/`) and sizes.
fn make_tree(root: &Path) -> Vec<(String, usize)> {
    let mut files = Vec::new();
    for i in 0..50usize {
        let rel = match i % 5 {
            0 => format!("f{i}.txt"),
            1 => format!("a/f{i}.bin"),
            2 => format!("a/b/c/f{i}.json"),
            3 => format!(".hidden/.f{i}"),
            _ => format!("d e/ü{i}.csv"),
        };
        let len = (i * 37) % 700;
        let path = root.join(&rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, data(len, i as u64)).unwrap();
        files.push((rel, len));
    }
    files.sort();
    files
}

fn recorder() -> (Arc<Mutex<Vec<BulkProgress>>>, BulkOptions) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = Arc::clone(&seen);
    let options = BulkOptions::new()
        .concurrency(4)
        .progress(Arc::new(move |p: &BulkProgress| {
            s2.lock().unwrap().push(p.clone());
        }));
    (seen, options)
}

fn check_progress(seen: &[BulkProgress], files: usize, bytes: u64, failed: usize) {
    let last = seen.last().unwrap();
    assert_eq!(last.files_total, files);
    assert_eq!(last.bytes_total, bytes);
    assert_eq!(last.files_done + last.files_failed, files);
    assert_eq!(last.files_failed, failed);
    assert_eq!(last.in_flight, 0);
    // At most the bound; that it is reached is
    // `uploads_run_together_up_to_the_bound` (small files finish too fast
    // to see it here without timing).
    let max = seen.iter().map(|p| p.in_flight).max().unwrap();
    assert!(
        (1..=4).contains(&max),
        "in flight together, at most 4: {max}"
    );
    for w in seen.windows(2) {
        assert!(w[1].bytes_done >= w[0].bytes_done, "bytes never go back");
        assert_eq!(w[1].bytes_total, bytes);
    }
    if failed == 0 {
        assert_eq!(last.bytes_done, bytes);
    }
}

fn walk_files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tree_goes_up_and_back_down_byte_identical() {
    let t = TestS3::start().await;
    let src = tempfile::tempdir().unwrap();
    let files = make_tree(src.path());
    let total: u64 = files.iter().map(|(_, n)| *n as u64).sum();

    let (seen, options) = recorder();
    let up = t
        .client
        .upload_dir(src.path(), &t.bucket, "batch", options)
        .await
        .unwrap();
    assert!(up.is_complete(), "{:?}", up.failures);
    assert_eq!(
        (up.files_done, up.files_total, up.bytes_done, up.bytes_total),
        (50, 50, total, total)
    );
    check_progress(&seen.lock().unwrap(), 50, total, 0);

    let mut keys = t
        .client
        .list_files_with_prefix(&t.bucket, "batch/")
        .await
        .unwrap();
    keys.sort();
    let mut want: Vec<String> = files.iter().map(|(r, _)| format!("batch/{r}")).collect();
    want.sort();
    assert_eq!(keys, want);

    // The metadata of a file equals a single upload's of the same file.
    let one = src.path().join("a/b/c/f2.json");
    t.client
        .upload_file(
            &one,
            &t.bucket,
            Some("single/f2.json"),
            UploadOptions::new(),
        )
        .await
        .unwrap();
    let bulk = t
        .client
        .get_file_metadata(&t.bucket, "batch/a/b/c/f2.json")
        .await
        .unwrap();
    let single = t
        .client
        .get_file_metadata(&t.bucket, "single/f2.json")
        .await
        .unwrap();
    assert_eq!(bulk.user, single.user);
    assert_eq!(bulk.content_type, single.content_type);
    assert_eq!(bulk.get("FileName"), Some("f2.json"));

    let dest = tempfile::tempdir().unwrap();
    let (seen, options) = recorder();
    let down = t
        .client
        .download_prefix(&t.bucket, "batch/", dest.path().join("out"), options)
        .await
        .unwrap();
    assert!(down.is_complete(), "{:?}", down.failures);
    assert_eq!(
        (down.files_done, down.bytes_done, down.bytes_total),
        (50, total, total)
    );
    check_progress(&seen.lock().unwrap(), 50, total, 0);
    let got = walk_files(&dest.path().join("out"));
    assert_eq!(got.len(), 50, "only the files, no temporary file: {got:?}");
    for (rel, _) in &files {
        assert_eq!(
            sha256_file(&dest.path().join("out").join(rel)),
            sha256_file(&src.path().join(rel)),
            "{rel}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_entries_are_failures_and_the_rest_is_uploaded() {
    let t = TestS3::start().await;
    let src = tempfile::tempdir().unwrap();
    let files = make_tree(src.path());
    let mut bad = vec!["a/dangling".to_owned(), "a/fifo".to_owned()];
    std::os::unix::fs::symlink(src.path().join("nowhere"), src.path().join("a/dangling")).unwrap();
    let fifo = std::process::Command::new("mkfifo")
        .arg(src.path().join("a/fifo"))
        .status()
        .unwrap();
    assert!(fifo.success());
    // A symlink to a folder is not followed, and says so.
    std::os::unix::fs::symlink(src.path().join("a"), src.path().join("link-to-a")).unwrap();
    bad.push("link-to-a".to_owned());
    // A symlink to a file is followed.
    std::os::unix::fs::symlink(src.path().join("f0.txt"), src.path().join("link-to-f0")).unwrap();
    let root = is_root();
    if !root {
        use std::os::unix::fs::PermissionsExt;
        let p = src.path().join("a/f1.bin");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o000)).unwrap();
        bad.push("a/f1.bin".to_owned());
    }
    bad.sort();

    let (seen, options) = recorder();
    let up = t
        .client
        .upload_dir(src.path(), &t.bucket, "", options)
        .await
        .unwrap();
    let mut failed: Vec<String> = up.failures.iter().map(|f| f.key.clone()).collect();
    failed.sort();
    assert_eq!(failed, bad, "{:?}", up.failures);
    for f in &up.failures {
        assert!(f.error.is_io(), "{}: {}", f.key, f.error);
        assert!(
            f.error.to_string().contains(f.path.to_str().unwrap()),
            "{}",
            f.error
        );
    }
    let good = files.len() + 1 - usize::from(!root);
    assert_eq!(up.files_done, good);
    assert_eq!(up.files_total, good + bad.len());
    check_progress(
        &seen.lock().unwrap(),
        good + bad.len(),
        up.bytes_total,
        bad.len(),
    );
    assert_eq!(
        t.client
            .download_bytes(&t.bucket, "link-to-f0", Default::default())
            .await
            .unwrap(),
        std::fs::read(src.path().join("f0.txt")).unwrap()
    );
}

fn is_root() -> bool {
    let out = std::process::Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_that_would_leave_the_folder_are_refused() {
    let t = TestS3::start().await;
    for key in ["p/ok.txt", "p/sub/ok2.txt", "p/../evil.txt", "p//abs.txt"] {
        t.client
            .upload_bytes(
                key.as_bytes().to_vec(),
                &t.bucket,
                key,
                UploadOptions::new(),
            )
            .await
            .unwrap();
    }
    let listed = t
        .client
        .list_files_with_prefix(&t.bucket, "p/")
        .await
        .unwrap();
    let dest = tempfile::tempdir().unwrap();
    let out = dest.path().join("out");
    let down = t
        .client
        .download_prefix(&t.bucket, "p", &out, BulkOptions::new())
        .await
        .unwrap();
    let mut refused: Vec<&str> = down.failures.iter().map(|f| f.key.as_str()).collect();
    refused.sort_unstable();
    // The server decides which of the odd keys it stores as given.
    let mut want: Vec<&str> = ["p/../evil.txt", "p//abs.txt"]
        .into_iter()
        .filter(|k| listed.iter().any(|l| l == k))
        .collect();
    want.sort_unstable();
    assert_eq!(refused, want, "listed: {listed:?}");
    for f in &down.failures {
        let msg = f.error.to_string();
        assert!(msg.contains(&f.key) && msg.contains("outside"), "{msg}");
    }
    assert_eq!(down.files_done, listed.len() - want.len());
    assert_eq!(std::fs::read(out.join("ok.txt")).unwrap(), b"p/ok.txt");
    assert_eq!(
        std::fs::read(out.join("sub/ok2.txt")).unwrap(),
        b"p/sub/ok2.txt"
    );
    assert!(!dest.path().join("evil.txt").exists());
    assert!(!Path::new("/abs.txt").exists());
}

/// The server holds every `PutObject`: the batch has as many files in
/// flight as its bound, and no more, without depending on timing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_run_together_up_to_the_bound() {
    let t = TestS3::dev().await;
    let server = t.dev_server();
    let src = tempfile::tempdir().unwrap();
    let files = make_tree(src.path());
    let total: u64 = files.iter().map(|(_, n)| *n as u64).sum();
    server.hold_object_puts(true);
    let mut held = server.held_object_puts();
    let (seen, options) = recorder();
    let client = t.client.clone();
    let (bucket, root) = (t.bucket.clone(), src.path().to_owned());
    let upload =
        tokio::spawn(async move { client.upload_dir(&root, &bucket, "held", options).await });
    // Bounded: a batch that never reaches 4 fails here, not by hanging.
    tokio::time::timeout(Duration::from_secs(60), held.wait_for(|h| h.now == 4))
        .await
        .expect("4 uploads held at once")
        .unwrap();
    let in_flight = seen.lock().unwrap().last().map(|p| p.in_flight);
    assert!(in_flight.is_none_or(|n| n <= 4), "{in_flight:?}");
    server.hold_object_puts(false);
    let up = tokio::time::timeout(Duration::from_secs(60), upload)
        .await
        .expect("the batch ends once released")
        .unwrap()
        .unwrap();
    assert!(up.is_complete(), "{:?}", up.failures);
    assert_eq!((up.files_done, up.bytes_done), (files.len(), total));
    assert_eq!(held.borrow().now, 0);
    assert_eq!(held.borrow().most, 4, "never more than the bound");
    let seen = seen.lock().unwrap();
    assert!(seen.iter().all(|p| p.in_flight <= 4));
    assert_eq!(seen.last().unwrap().in_flight, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_one_moves_one_file_at_a_time() {
    let t = TestS3::start().await;
    let src = tempfile::tempdir().unwrap();
    let files = make_tree(src.path());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = Arc::clone(&seen);
    let options = BulkOptions::new()
        .concurrency(1)
        .progress(Arc::new(move |p: &BulkProgress| {
            s2.lock().unwrap().push(p.in_flight);
        }));
    let up = t
        .client
        .upload_dir(src.path(), &t.bucket, "one", options.clone())
        .await
        .unwrap();
    assert_eq!(up.files_done, files.len());
    let dest = tempfile::tempdir().unwrap();
    let down = t
        .client
        .download_prefix(&t.bucket, "one", dest.path(), options)
        .await
        .unwrap();
    assert_eq!(down.files_done, files.len());
    let seen = seen.lock().unwrap();
    assert!(seen.len() > 2 * files.len(), "reports: {}", seen.len());
    assert_eq!(seen.iter().max(), Some(&1), "never two files in flight");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_that_cannot_start_is_an_error() {
    let t = TestS3::start().await;
    let dir = tempfile::tempdir().unwrap();
    let err = t
        .client
        .upload_dir(
            dir.path().join("missing"),
            &t.bucket,
            "x",
            BulkOptions::new(),
        )
        .await
        .unwrap_err();
    assert!(err.is_io(), "{err}");
    let err = t
        .client
        .download_prefix("no-such-bucket-bulk", "x", dir.path(), BulkOptions::new())
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_than_a_thousand_keys_come_down() {
    let t = TestS3::start().await;
    let src = tempfile::tempdir().unwrap();
    for i in 0..1005usize {
        let p = src.path().join(format!("d{}/k{i:04}", i % 7));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, format!("{i}")).unwrap();
    }
    let up = t
        .client
        .upload_dir(
            src.path(),
            &t.bucket,
            "many/",
            BulkOptions::new().concurrency(16),
        )
        .await
        .unwrap();
    assert!(up.is_complete(), "{:?}", up.failures.first());
    assert_eq!(up.files_done, 1005);
    let dest = tempfile::tempdir().unwrap();
    let down = t
        .client
        .download_prefix(
            &t.bucket,
            "many",
            dest.path(),
            BulkOptions::new().concurrency(16),
        )
        .await
        .unwrap();
    assert!(down.is_complete(), "{:?}", down.failures.first());
    assert_eq!((down.files_done, down.bytes_done), (1005, up.bytes_done));
    assert_eq!(walk_files(dest.path()).len(), 1005);
}

/// A stub S3 endpoint that answers every request with one ListObjectsV2
/// page naming `keys` (the dev server normalizes `..` and `//` in keys, so
/// it cannot store them).
async fn listing_stub(keys: &[&str]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let contents: String = keys
        .iter()
        .map(|k| format!("<Contents><Key>{k}</Key><Size>3</Size></Contents>"))
        .collect();
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
         <Name>stub</Name><Prefix>p/</Prefix><KeyCount>{}</KeyCount><MaxKeys>1000</MaxKeys>\
         <IsTruncated>false</IsTruncated>{contents}</ListBucketResult>",
        keys.len()
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let resp = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = s.write_all(resp.as_bytes()).await;
                let _ = s.shutdown().await;
            });
        }
    });
    endpoint
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listed_keys_with_dot_dot_or_absolute_parts_are_failures() {
    use ms_utils_communication::s3::{S3BucketClient, S3Config};
    let bad = [
        "p/../evil.txt",
        "p//etc/abs.txt",
        "p/a/../../../up.txt",
        "p/..",
    ];
    let endpoint = listing_stub(&bad).await;
    let config = S3Config::builder()
        .endpoint(&endpoint)
        .credentials("k", "s")
        .build()
        .unwrap();
    let client = S3BucketClient::new("test", config).await.unwrap();
    let dest = tempfile::tempdir().unwrap();
    let out = dest.path().join("out");
    let (seen, options) = recorder();
    let down = client
        .download_prefix("stub", "p/", &out, options)
        .await
        .unwrap();
    assert_eq!(down.files_done, 0);
    let mut refused: Vec<&str> = down.failures.iter().map(|f| f.key.as_str()).collect();
    refused.sort_unstable();
    let mut want = bad.to_vec();
    want.sort_unstable();
    assert_eq!(refused, want);
    for f in &down.failures {
        let msg = f.error.to_string();
        assert!(
            msg.contains(&f.key) && msg.contains("outside") && msg.contains("stub"),
            "{msg}"
        );
    }
    let last = seen.lock().unwrap().last().cloned().unwrap();
    assert_eq!((last.files_failed, last.files_total), (4, 4));
    assert_eq!(walk_files(dest.path()).len(), 0, "nothing written");
}
