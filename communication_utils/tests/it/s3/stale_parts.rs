//! A download removes its folder's stale temporary files of its own naming
//! (`.NAME.<16 hex>.part`, an hour old or more), and nothing else.

use std::time::{Duration, SystemTime};

use super::support::TestS3;
use ms_utils_communication::s3::{DownloadOptions, UploadOptions};

fn age(path: &std::path::Path, by: Duration) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(SystemTime::now() - by)
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_removes_only_stale_part_files_of_its_naming() {
    let t = TestS3::start().await;
    t.client
        .upload_bytes(b"payload".to_vec(), &t.bucket, "k", UploadOptions::new())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let two_hours = Duration::from_secs(2 * 3600);
    let stale = dir.path().join(".model.bin.0123456789abcdef.part");
    let fresh = dir.path().join(".model.bin.fedcba9876543210.part");
    // Old, but not our naming: kept.
    let unrelated = [
        "notes.part",
        ".model.bin.part",
        ".model.bin.0123456789ABCDEF.part",
        "model.bin.0123456789abcdef.part",
        "data.bin",
    ];
    std::fs::write(&stale, vec![0u8; 1024]).unwrap();
    std::fs::write(&fresh, b"in progress").unwrap();
    age(&stale, two_hours);
    for name in unrelated {
        let p = dir.path().join(name);
        std::fs::write(&p, b"keep me").unwrap();
        age(&p, two_hours);
    }
    // A folder of our naming is not a file: kept.
    let sub = dir.path().join(".d.0000000000000000.part");
    std::fs::create_dir(&sub).unwrap();

    t.client
        .download_file(
            &t.bucket,
            "k",
            dir.path().join("out.txt"),
            DownloadOptions::new(),
        )
        .await
        .unwrap();

    assert!(!stale.exists(), "the stale .part file is removed");
    assert!(fresh.exists(), "a recent one (a download running) stays");
    assert!(sub.is_dir());
    for name in unrelated {
        assert!(dir.path().join(name).exists(), "{name} untouched");
    }
    assert_eq!(
        std::fs::read(dir.path().join("out.txt")).unwrap(),
        b"payload"
    );
    let mut names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names.len(), unrelated.len() + 3, "{names:?}");
}
