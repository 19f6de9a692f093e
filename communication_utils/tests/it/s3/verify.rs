//! Verified downloads of objects without a stored checksum (uploaded with
//! `UploadChecksum::Off`, as by clients that store none): the content is
//! checked against the ETag (the MD5 of a single PUT, also when fetched as
//! parallel ranges; for a multipart object, the MD5 of its parts' MD5s,
//! fetched by part number) and a mismatch is an integrity error that leaves
//! no file. (Objects with one: `checksums.rs`.)

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::support::{MIB, TestS3, data};
use ms_utils_communication::s3::{
    DownloadOptions, Progress, TransferConfig, UploadChecksum, UploadOptions, Verification,
};

/// Small parts, so that a 12 MiB upload is multipart (3 parts of 5, 5 and
/// 2 MiB) and its download would be 4 ranges of 3 MiB if not fetched by part.
fn small_parts() -> TransferConfig {
    let mut t = no_checksum();
    t.multipart_threshold = 5 * MIB as u64;
    t.part_size = 5 * MIB as u64;
    t.download_threshold = 4 * MIB as u64;
    t.download_part_size = 3 * MIB as u64;
    t
}

/// Small ranges, so that a few-MiB single-PUT object (under the default
/// 8 MiB multipart threshold) is downloaded as many parallel ranges, of a
/// size that does not divide the object, more of them than run at once.
fn small_ranges() -> TransferConfig {
    let mut t = no_checksum();
    t.download_threshold = MIB as u64;
    t.download_part_size = 300_000;
    t.download_concurrency = 4;
    t
}

/// Uploads store no checksum: the downloads check ETags.
fn no_checksum() -> TransferConfig {
    let mut t = TransferConfig::default();
    t.upload_checksum = UploadChecksum::Off;
    t
}

fn files_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// Flips one byte of the object's file on the dev server: same size, same
/// ETag, different content.
fn corrupt_on_disk(t: &TestS3, key: &str, at: usize) -> Vec<u8> {
    let path = t.dev_server().root().join(&t.bucket).join(key);
    let mut on_disk = std::fs::read(&path).unwrap();
    on_disk[at] ^= 0xFF;
    std::fs::write(&path, &on_disk).unwrap();
    on_disk
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_put_download_is_verified() {
    let t = TestS3::with_transfer(no_checksum()).await;
    let bytes = data(300_000, 7);
    let up = t
        .client
        .upload_bytes(bytes.clone(), &t.bucket, "one.bin", UploadOptions::new())
        .await
        .unwrap();
    assert_eq!(up.parts, 0, "a single PUT");
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("one.bin");
    let out = t
        .client
        .download_file(&t.bucket, "one.bin", &dest, DownloadOptions::new())
        .await
        .unwrap();
    assert_eq!(out.ranges, 1);
    assert_eq!(out.verification, Verification::EtagMd5);
    assert!(std::fs::read(&dest).unwrap() == bytes);
    let got = t
        .client
        .download_bytes(&t.bucket, "one.bin", DownloadOptions::new())
        .await
        .unwrap();
    assert!(got.as_ref() == bytes.as_slice());
    assert_eq!(files_in(dir.path()), vec!["one.bin".to_owned()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_download_is_verified_by_part() {
    let t = TestS3::with_transfer(small_parts()).await;
    let bytes = data(12 * MIB, 8);
    let up = t
        .client
        .upload_bytes(bytes.clone(), &t.bucket, "multi.bin", UploadOptions::new())
        .await
        .unwrap();
    assert_eq!(up.parts, 3);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("multi.bin");
    let out = t
        .client
        .download_file(&t.bucket, "multi.bin", &dest, DownloadOptions::new())
        .await
        .unwrap();
    assert!(std::fs::read(&dest).unwrap() == bytes);
    assert_eq!(out.size, bytes.len() as u64);
    assert!(out.e_tag.as_deref().unwrap_or_default().ends_with("-3\""));
    // One GET per part (3), not one per 3 MiB range (4). moto counts the
    // parts but does not serve them (GET partNumber answers the whole
    // object): there the download is ranged and not verified.
    if !t.is_external() {
        assert_eq!(out.ranges, 3, "fetched by part number");
        assert_eq!(out.verification, Verification::PartMd5s { parts: 3 });
    }
    let got = t
        .client
        .download_bytes(&t.bucket, "multi.bin", DownloadOptions::new())
        .await
        .unwrap();
    assert!(got.as_ref() == bytes.as_slice());
    assert_eq!(files_in(dir.path()), vec!["multi.bin".to_owned()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupted_single_put_object_is_detected() {
    // In-process server: corrupts the dev server's files on disk.
    let t = TestS3::dev_with_transfer(no_checksum()).await;
    let bytes = data(300_000, 9);
    t.client
        .upload_bytes(bytes, &t.bucket, "one.bin", UploadOptions::new())
        .await
        .unwrap();
    let on_disk = corrupt_on_disk(&t, "one.bin", 4321);

    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("one.bin");
    let err = tokio::time::timeout(
        Duration::from_secs(30),
        t.client
            .download_file(&t.bucket, "one.bin", &dest, DownloadOptions::new()),
    )
    .await
    .unwrap()
    .unwrap_err();
    assert!(err.is_integrity(), "{err:?}");
    assert_eq!(err.bucket(), Some(t.bucket.as_str()));
    assert_eq!(err.key(), Some("one.bin"));
    let text = err.to_string();
    assert!(
        text.contains("GetObject") && text.contains("expected") && text.contains("computed"),
        "{text}"
    );
    assert!(files_in(dir.path()).is_empty(), "no file, no .part left");

    let err = t
        .client
        .download_bytes(&t.bucket, "one.bin", DownloadOptions::new())
        .await
        .unwrap_err();
    assert!(err.is_integrity(), "{err:?}");

    // Verification turned off: the corrupt bytes come through.
    let mut transfer = TransferConfig::default();
    transfer.verify_checksums = false;
    let unverified = t.client_with(t.config_builder().transfer(transfer)).await;
    let got = unverified
        .download_bytes(&t.bucket, "one.bin", DownloadOptions::new())
        .await
        .unwrap();
    assert!(got.as_ref() == on_disk.as_slice());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupted_multipart_object_is_detected() {
    // In-process server: corrupts the dev server's files on disk.
    let t = TestS3::dev_with_transfer(small_parts()).await;
    let bytes = data(12 * MIB, 10);
    let up = t
        .client
        .upload_bytes(bytes, &t.bucket, "multi.bin", UploadOptions::new())
        .await
        .unwrap();
    assert_eq!(up.parts, 3);
    // A byte of the second part.
    corrupt_on_disk(&t, "multi.bin", 6 * MIB + 17);

    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("multi.bin");
    let err = tokio::time::timeout(
        Duration::from_secs(60),
        t.client
            .download_file(&t.bucket, "multi.bin", &dest, DownloadOptions::new()),
    )
    .await
    .unwrap()
    .unwrap_err();
    assert!(err.is_integrity(), "{err:?}");
    assert_eq!(err.key(), Some("multi.bin"));
    let text = err.to_string();
    assert!(
        text.contains("multipart ETag") && text.contains("expected") && text.contains("computed"),
        "{text}"
    );
    assert!(files_in(dir.path()).is_empty(), "no file, no .part left");

    let err = t
        .client
        .download_bytes(&t.bucket, "multi.bin", DownloadOptions::new())
        .await
        .unwrap_err();
    assert!(err.is_integrity(), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ranged_single_put_download_is_verified() {
    let t = TestS3::with_transfer(small_ranges()).await;
    let bytes = data(3 * MIB + 12_345, 11);
    let up = t
        .client
        .upload_bytes(bytes.clone(), &t.bucket, "ranged.bin", UploadOptions::new())
        .await
        .unwrap();
    assert_eq!(up.parts, 0, "a single PUT");
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("ranged.bin");
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        t.client
            .download_file(&t.bucket, "ranged.bin", &dest, DownloadOptions::new()),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(out.ranges >= 11, "fetched as ranges of up to 300,000 bytes");
    assert_eq!(out.size, bytes.len() as u64);
    assert!(std::fs::read(&dest).unwrap() == bytes);
    assert_eq!(files_in(dir.path()), vec!["ranged.bin".to_owned()]);
    let got = t
        .client
        .download_bytes(&t.bucket, "ranged.bin", DownloadOptions::new())
        .await
        .unwrap();
    assert!(got.as_ref() == bytes.as_slice());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupted_ranged_single_put_object_is_detected() {
    // In-process server: corrupts the dev server's files on disk.
    let t = TestS3::dev_with_transfer(small_ranges()).await;
    let bytes = data(3 * MIB + 12_345, 12);
    let up = t
        .client
        .upload_bytes(bytes, &t.bucket, "ranged.bin", UploadOptions::new())
        .await
        .unwrap();
    assert_eq!(up.parts, 0, "a single PUT");
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("ranged.bin");
    // A byte of the first range, then also one of the last: each is caught.
    for at in [17, 3 * MIB + 12_000] {
        let on_disk = corrupt_on_disk(&t, "ranged.bin", at);
        let err = tokio::time::timeout(
            Duration::from_secs(60),
            t.client
                .download_file(&t.bucket, "ranged.bin", &dest, DownloadOptions::new()),
        )
        .await
        .unwrap()
        .unwrap_err();
        assert!(err.is_integrity(), "{err:?}");
        assert_eq!(err.bucket(), Some(t.bucket.as_str()));
        assert_eq!(err.key(), Some("ranged.bin"));
        assert!(files_in(dir.path()).is_empty(), "no file, no .part left");

        let err = tokio::time::timeout(
            Duration::from_secs(60),
            t.client
                .download_bytes(&t.bucket, "ranged.bin", DownloadOptions::new()),
        )
        .await
        .unwrap()
        .unwrap_err();
        assert!(err.is_integrity(), "{err:?}");

        // Verification turned off: the corrupt bytes come through.
        let mut transfer = small_ranges();
        transfer.verify_checksums = false;
        let unverified = t.client_with(t.config_builder().transfer(transfer)).await;
        let out = unverified
            .download_file(&t.bucket, "ranged.bin", &dest, DownloadOptions::new())
            .await
            .unwrap();
        assert!(out.ranges > 1);
        assert!(std::fs::read(&dest).unwrap() == on_disk);
        std::fs::remove_file(&dest).unwrap();
    }
}

/// Dropping a ranged download whose MD5 is being computed in order stops
/// it: no temporary file is left, and the hashing thread does not wait for
/// ranges that will never land (the runtime's shutdown would wait for it
/// until its timeout).
#[test]
fn dropping_a_ranged_verified_download_leaves_nothing() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut transfer = small_ranges();
        transfer.download_part_size = 64 * 1024;
        transfer.download_concurrency = 2;
        let t = TestS3::with_transfer(transfer).await;
        let bytes = data(6 * MIB, 13);
        t.client
            .upload_bytes(bytes.clone(), &t.bucket, "drop.bin", UploadOptions::new())
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("drop.bin");
        let started = Arc::new(tokio::sync::Notify::new());
        let signal = Arc::clone(&started);
        let options = DownloadOptions::new().progress(Arc::new(move |_: &Progress| {
            signal.notify_one();
        }));
        let download = t
            .client
            .download_file(&t.bucket, "drop.bin", &dest, options);
        let finished = tokio::time::timeout(Duration::from_secs(60), async {
            tokio::select! {
                biased;
                () = started.notified() => false,
                r = download => { r.unwrap(); true }
            }
        })
        .await
        .unwrap();
        assert!(!finished, "the download was dropped half-way");
        assert!(files_in(dir.path()).is_empty(), "no file, no .part left");

        // The next download of the object is whole and verified.
        let out = t
            .client
            .download_file(&t.bucket, "drop.bin", &dest, DownloadOptions::new())
            .await
            .unwrap();
        assert!(out.ranges > 1);
        assert!(std::fs::read(&dest).unwrap() == bytes);
    });
    let limit = Duration::from_secs(20);
    let shutdown = std::time::Instant::now();
    rt.shutdown_timeout(limit);
    assert!(
        shutdown.elapsed() < limit,
        "a blocking task of the dropped download was still running"
    );
}

/// Uploads `unequal.bin` as parts of unequal sizes (5, 7 and 1 MiB, as
/// another client may upload them) through the SDK; returns its bytes.
async fn upload_unequal_parts(t: &TestS3) -> Vec<u8> {
    use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
    let sizes = [5 * MIB, 7 * MIB, MIB];
    let bytes = data(sizes.iter().sum(), 14);
    let sdk = t.client.sdk();
    let id = sdk
        .create_multipart_upload()
        .bucket(&t.bucket)
        .key("unequal.bin")
        .send()
        .await
        .unwrap()
        .upload_id
        .unwrap();
    let mut done = Vec::new();
    let mut at = 0;
    for (i, size) in sizes.iter().enumerate() {
        let number = i32::try_from(i + 1).unwrap();
        let part = sdk
            .upload_part()
            .bucket(&t.bucket)
            .key("unequal.bin")
            .upload_id(&id)
            .part_number(number)
            .body(bytes[at..at + size].to_vec().into())
            .send()
            .await
            .unwrap();
        done.push(
            CompletedPart::builder()
                .part_number(number)
                .set_e_tag(part.e_tag)
                .build(),
        );
        at += size;
    }
    sdk.complete_multipart_upload()
        .bucket(&t.bucket)
        .key("unequal.bin")
        .upload_id(&id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(done))
                .build(),
        )
        .send()
        .await
        .unwrap();

    bytes
}

/// Parts of unequal sizes: each part lands at the offset its answer names,
/// on disk and in memory (one buffer of the object's size).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_object_of_unequal_parts_is_whole() {
    let t = TestS3::with_transfer(small_parts()).await;
    let bytes = upload_unequal_parts(&t).await;
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("unequal.bin");
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        t.client
            .download_file(&t.bucket, "unequal.bin", &dest, DownloadOptions::new()),
    )
    .await
    .unwrap()
    .unwrap();
    if !t.is_external() {
        assert_eq!(out.ranges, 3, "fetched by part number");
    }
    assert!(std::fs::read(&dest).unwrap() == bytes);
    let got = t
        .client
        .download_bytes(&t.bucket, "unequal.bin", DownloadOptions::new())
        .await
        .unwrap();
    assert!(got.as_ref() == bytes.as_slice());
}

/// Parts of unequal sizes: a corrupted byte of the middle part is caught,
/// on disk and in memory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_object_of_unequal_parts_is_verified() {
    // In-process server: corrupts the dev server's files on disk.
    let t = TestS3::dev_with_transfer(small_parts()).await;
    upload_unequal_parts(&t).await;
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("unequal.bin");
    corrupt_on_disk(&t, "unequal.bin", 5 * MIB + 3);
    let err = t
        .client
        .download_file(&t.bucket, "unequal.bin", &dest, DownloadOptions::new())
        .await
        .unwrap_err();
    assert!(err.is_integrity(), "{err:?}");
    assert!(files_in(dir.path()).is_empty(), "no file, no .part left");
    let err = t
        .client
        .download_bytes(&t.bucket, "unequal.bin", DownloadOptions::new())
        .await
        .unwrap_err();
    assert!(err.is_integrity(), "{err:?}");
}

/// The hashing threads of a verified download are threads of their own:
/// on a runtime whose blocking pool has one thread (which the file writes
/// need), a multipart download (parts hashed side by side) and a ranged
/// single-PUT download (hashed in order) both complete. Were a hasher on
/// the pool, it would wait for bytes whose writes wait for it.
#[test]
fn verified_downloads_complete_with_a_blocking_pool_of_one() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(1)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut transfer = small_parts();
        transfer.download_threshold = MIB as u64;
        transfer.download_part_size = 300_000;
        let t = TestS3::with_transfer(transfer).await;
        let multipart = data(12 * MIB, 21);
        let single = data(3 * MIB, 22);
        t.client
            .upload_bytes(multipart.clone(), &t.bucket, "mp.bin", UploadOptions::new())
            .await
            .unwrap();
        t.client
            .upload_bytes(single.clone(), &t.bucket, "sp.bin", UploadOptions::new())
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        for (key, bytes) in [("mp.bin", &multipart), ("sp.bin", &single)] {
            let dest = dir.path().join(key);
            let out = tokio::time::timeout(
                Duration::from_secs(60),
                t.client
                    .download_file(&t.bucket, key, &dest, DownloadOptions::new()),
            )
            .await
            .expect("the download completes")
            .unwrap();
            assert!(out.ranges > 1, "{key} is fetched in pieces");
            assert!(std::fs::read(&dest).unwrap() == *bytes);
        }
    });
}
