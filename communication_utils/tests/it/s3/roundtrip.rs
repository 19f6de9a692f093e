//! Round trips through the S3 client: sizes around the multipart threshold,
//! every upload source and both download targets, compared by hash.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::support::{MIB, TestS3, data, sha256, sha256_file};
use ms_utils_communication::s3::{DownloadOptions, Progress, UploadOptions};

async fn round_trip_file(t: &TestS3, len: usize, seed: u64) {
    round_trip_file_with(t, len, seed, DownloadOptions::new()).await;
}

async fn round_trip_file_with(t: &TestS3, len: usize, seed: u64, options: DownloadOptions) {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join(format!("blob-{len}.bin"));
    let bytes = data(len, seed);
    std::fs::write(&src, &bytes).unwrap();

    let up = t
        .client
        .upload_file(&src, &t.bucket, None, UploadOptions::new())
        .await
        .unwrap();
    assert_eq!(
        up.key,
        format!("blob-{len}.bin"),
        "default key is the file name"
    );
    assert_eq!(up.size, len as u64);

    let dest = dir.path().join("out").join("copy.bin");
    std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
    let down = t
        .client
        .download_file(&t.bucket, &up.key, &dest, options)
        .await
        .unwrap();
    assert_eq!(down.size, len as u64);
    assert_eq!(sha256_file(&dest), sha256(&bytes), "{len} bytes via file");

    let mem = t
        .client
        .download_bytes(&t.bucket, &up.key, DownloadOptions::new())
        .await
        .unwrap();
    assert_eq!(sha256(&mem), sha256(&bytes), "{len} bytes via memory");
    let leftovers: Vec<_> = std::fs::read_dir(dest.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers.len(),
        1,
        "only the final file remains: {leftovers:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_file_round_trips() {
    let t = TestS3::start().await;
    round_trip_file(&t, 0, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_byte_file_round_trips() {
    let t = TestS3::start().await;
    round_trip_file(&t, 1, 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_mib_file_round_trips_in_one_put() {
    let t = TestS3::start().await;
    round_trip_file(&t, 5 * MIB, 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_flushed_to_disk_before_its_rename_round_trips() {
    let t = TestS3::start().await;
    round_trip_file_with(&t, 5 * MIB + 1, 4, DownloadOptions::new().sync(true)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forty_mib_file_goes_multipart_and_comes_back_in_ranges() {
    let t = TestS3::start().await;
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("big.bin");
    let bytes = data(40 * MIB + 123, 4);
    std::fs::write(&src, &bytes).unwrap();

    let seen = Arc::new(AtomicU64::new(0));
    let s2 = Arc::clone(&seen);
    let progress = Arc::new(move |p: &Progress| {
        s2.fetch_max(p.transferred, Ordering::Relaxed);
    });
    let up = t
        .client
        .upload_file(
            &src,
            &t.bucket,
            Some("dir/big.bin"),
            UploadOptions::new().progress(progress.clone()),
        )
        .await
        .unwrap();
    assert_eq!(up.parts, 6, "8 MiB parts");
    assert_eq!(
        seen.load(Ordering::Relaxed),
        bytes.len() as u64,
        "upload progress reaches the total"
    );

    seen.store(0, Ordering::Relaxed);
    let dest = dir.path().join("big.copy");
    let down = t
        .client
        .download_file(
            &t.bucket,
            "dir/big.bin",
            &dest,
            DownloadOptions::new().progress(progress),
        )
        .await
        .unwrap();
    assert!(down.ranges > 1, "large objects are fetched in ranges");
    assert_eq!(seen.load(Ordering::Relaxed), bytes.len() as u64);
    assert_eq!(sha256_file(&dest), sha256(&bytes));

    let mem = t
        .client
        .download_bytes(&t.bucket, "dir/big.bin", DownloadOptions::new())
        .await
        .unwrap();
    assert_eq!(sha256(&mem), sha256(&bytes));
    assert_eq!(t.open_multipart_uploads().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_upload_round_trips_small_and_multipart() {
    let t = TestS3::start().await;
    for (len, seed) in [(0usize, 5u64), (1, 6), (20 * MIB + 7, 7)] {
        let bytes = data(len, seed);
        let key = format!("bytes-{len}");
        let up = t
            .client
            .upload_bytes(bytes.clone(), &t.bucket, &key, UploadOptions::new())
            .await
            .unwrap();
        assert_eq!(
            up.parts > 0,
            len >= 8 * MIB,
            "multipart only above the threshold"
        );
        let got = t
            .client
            .download_bytes(&t.bucket, &key, DownloadOptions::new())
            .await
            .unwrap();
        assert_eq!(sha256(&got), sha256(&bytes), "{len} bytes");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reader_upload_streams_parts_of_unknown_length() {
    let t = TestS3::start().await;
    for (len, seed) in [(3usize, 8u64), (17 * MIB + 5, 9)] {
        let bytes = data(len, seed);
        let reader = std::io::Cursor::new(bytes.clone());
        let key = format!("reader-{len}");
        let up = t
            .client
            .upload_reader(reader, &t.bucket, &key, None, UploadOptions::new())
            .await
            .unwrap();
        assert_eq!(up.size, len as u64);
        let got = t
            .client
            .download_bytes(&t.bucket, &key, DownloadOptions::new())
            .await
            .unwrap();
        assert_eq!(sha256(&got), sha256(&bytes), "{len} bytes");
    }
}

/// Parts and ranges really travel at once (and no more than configured):
/// the SDK opens another connection only while the pooled ones are busy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parts_and_ranges_are_transferred_in_parallel() {
    let t = TestS3::start().await;
    let (endpoint, _, _) = t.endpoint_and_keys();
    let bytes = data(40 * MIB, 10);
    for concurrency in [1usize, 4] {
        let relay = super::support::Relay::start(endpoint).await;
        let mut transfer = ms_utils_communication::s3::TransferConfig::default();
        transfer.concurrency = concurrency;
        transfer.download_concurrency = concurrency;
        let client = t
            .client_with(
                t.config_builder()
                    .endpoint(&relay.endpoint)
                    .transfer(transfer),
            )
            .await;
        let key = format!("parallel-{concurrency}");
        let up = client
            .upload_bytes(bytes.clone(), &t.bucket, &key, UploadOptions::new())
            .await
            .unwrap();
        assert_eq!(up.parts, 5);
        let up_max = relay.take_max_open();
        let down = client
            .download_bytes(&t.bucket, &key, DownloadOptions::new())
            .await
            .unwrap();
        assert_eq!(sha256(&down), sha256(&bytes));
        let down_max = relay.take_max_open();
        eprintln!("concurrency {concurrency}: {up_max} up, {down_max} down");
        // Connections are a proxy for requests in flight, off by one at
        // most: hyper may open a new connection while the last one is still
        // on its way back to the pool. (A connection the server closed
        // after its answer, as moto's HTTP/1.0 does, stops counting then,
        // not when the client notices.)
        if concurrency == 1 {
            assert!(up_max <= 2 && down_max <= 2, "{up_max} up, {down_max} down");
        } else {
            let parallel = 3..=concurrency + 1;
            assert!(
                parallel.contains(&up_max) && parallel.contains(&down_max),
                "{up_max} up, {down_max} down"
            );
        }
    }
}
