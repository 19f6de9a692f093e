//! Downloads into any `AsyncWrite` (verified, the verdict after the bytes)
//! and byte ranges into memory.

use std::pin::Pin;
use std::task::{Context, Poll};

use super::support::{MIB, TestS3, data, sha256};
use ms_utils_communication::s3::{
    ChecksumAlgorithm, DownloadOptions, Error, TransferConfig, UploadOptions, Verification,
};

/// Multipart uploads of 5 MiB parts, downloads in 1 MiB ranges from 2 MiB
/// on: a 12 MiB single-PUT-sized object goes in ranges, a 12 MiB multipart
/// one by part.
fn small_units() -> TransferConfig {
    let mut t = TransferConfig::default();
    t.multipart_threshold = 5 * MIB as u64;
    t.part_size = 5 * MIB as u64;
    t.download_threshold = 2 * MIB as u64;
    t.download_part_size = MIB as u64;
    t.download_concurrency = 4;
    t
}

/// Flips one byte of the object's file on the dev server.
fn corrupt_on_disk(t: &TestS3, key: &str, at: usize) {
    let path = t.dev_server().root().join(&t.bucket).join(key);
    let mut on_disk = std::fs::read(&path).unwrap();
    on_disk[at] ^= 0xFF;
    std::fs::write(&path, &on_disk).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_of_every_shape_stream_into_a_writer_in_order() {
    let t = TestS3::with_transfer(small_units()).await;
    let small = data(300_000, 1);
    let ranged = data(3 * MIB + 12_345, 2);
    let multi = data(12 * MIB + 7, 3);
    for (key, bytes) in [
        ("small", &small),
        ("ranged", &ranged),
        ("empty", &Vec::new()),
    ] {
        // Single PUTs: upload_bytes under the 5 MiB threshold.
        let up = t
            .client
            .upload_bytes(bytes.clone(), &t.bucket, key, UploadOptions::new())
            .await
            .unwrap();
        assert_eq!(up.parts, 0);
    }
    let up = t
        .client
        .upload_bytes(multi.clone(), &t.bucket, "multi", UploadOptions::new())
        .await
        .unwrap();
    assert_eq!(up.parts, 3);

    for (key, bytes, units) in [
        ("small", &small, 1),
        ("ranged", &ranged, 0),
        ("multi", &multi, 3),
        ("empty", &Vec::new(), 1),
    ] {
        let mut out: Vec<u8> = Vec::new();
        let got = t
            .client
            .download_to_writer(&t.bucket, key, &mut out, DownloadOptions::new())
            .await
            .unwrap();
        assert_eq!(out.len(), bytes.len(), "{key}");
        assert!(sha256(&out) == sha256(bytes), "{key}: same bytes, in order");
        assert_eq!(got.size, bytes.len() as u64);
        if key == "multi" && !t.is_external() {
            // The dev server keeps the upload's full-object CRC64NVME: it
            // replaces the part GETs, the object comes in plain 1 MiB
            // ranges (12 of 1 MiB and one of 7 bytes).
            assert_eq!(
                got.verification,
                Verification::Checksum(ChecksumAlgorithm::Crc64Nvme)
            );
            assert_eq!(
                got.ranges,
                multi.len().div_ceil(MIB),
                "{key}: fetched as ranges"
            );
        } else if units > 0 && !(t.is_external() && key == "multi") {
            assert_eq!(got.ranges, units, "{key}");
        } else {
            assert!(got.ranges > 1, "{key}: fetched as ranges");
        }
    }

    // Into a file through tokio's writer, as a user would.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("multi.bin");
    let mut file = tokio::fs::File::create(&path).await.unwrap();
    t.client
        .download_to_writer(&t.bucket, "multi", &mut file, DownloadOptions::new())
        .await
        .unwrap();
    drop(file);
    assert!(sha256(&std::fs::read(&path).unwrap()) == sha256(&multi));

    let err = t
        .client
        .download_to_writer(
            &t.bucket,
            "missing",
            &mut Vec::new(),
            DownloadOptions::new(),
        )
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
}

/// The check ends after the last byte: a corrupted object reaches the
/// writer whole, and the call then fails with an integrity error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupted_object_streamed_is_reported_after_its_bytes() {
    let t = TestS3::dev_with_transfer(small_units()).await;
    let single = data(300_000, 4);
    let ranged = data(3 * MIB, 5);
    let multi = data(11 * MIB, 6);
    for (key, bytes) in [("single", &single), ("ranged", &ranged), ("multi", &multi)] {
        t.client
            .upload_bytes(bytes.clone(), &t.bucket, key, UploadOptions::new())
            .await
            .unwrap();
        corrupt_on_disk(&t, key, bytes.len() / 2 + 1);
        let mut out: Vec<u8> = Vec::new();
        let err = t
            .client
            .download_to_writer(&t.bucket, key, &mut out, DownloadOptions::new())
            .await
            .unwrap_err();
        assert!(err.is_integrity(), "{key}: {err:?}");
        assert_eq!(err.key(), Some(key));
        assert_eq!(out.len(), bytes.len(), "{key}: the writer saw every byte");
        assert!(out != *bytes, "{key}: and they were the wrong ones");
    }
}

/// A writer that takes `room` bytes, then fails.
struct FullWriter {
    room: usize,
}

impl tokio::io::AsyncWrite for FullWriter {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if self.room == 0 {
            return Poll::Ready(Err(std::io::Error::new(
                std::io::ErrorKind::StorageFull,
                "disk full",
            )));
        }
        let n = buf.len().min(self.room);
        self.room -= n;
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_writer_stops_the_download_with_a_writer_error() {
    let t = TestS3::with_transfer(small_units()).await;
    for (key, len) in [("single", 300_000), ("ranged", 3 * MIB)] {
        t.client
            .upload_bytes(data(len, 7), &t.bucket, key, UploadOptions::new())
            .await
            .unwrap();
        let mut full = FullWriter { room: 100_000 };
        let err = t
            .client
            .download_to_writer(&t.bucket, key, &mut full, DownloadOptions::new())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Writer { .. }), "{key}: {err:?}");
        assert!(err.is_io());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn byte_ranges_read_the_bytes_asked_for() {
    let t = TestS3::start().await;
    let bytes = data(1000, 8);
    t.client
        .upload_bytes(bytes.clone(), &t.bucket, "r.bin", UploadOptions::new())
        .await
        .unwrap();
    let o = DownloadOptions::new;
    let read = |r: std::ops::Range<u64>| t.client.download_range(&t.bucket, "r.bin", r, o());
    assert_eq!(read(0..100).await.unwrap(), bytes[..100]);
    assert_eq!(read(992..1000).await.unwrap(), bytes[992..]);
    assert_eq!(
        read(990..5000).await.unwrap(),
        bytes[990..],
        "cut at the end"
    );
    assert_eq!(read(5..5).await.unwrap().len(), 0, "empty, no request");
    assert_eq!(
        t.client
            .download_range(&t.bucket, "r.bin", 900.., o())
            .await
            .unwrap(),
        bytes[900..]
    );
    assert_eq!(
        t.client
            .download_range(&t.bucket, "r.bin", ..=9, o())
            .await
            .unwrap(),
        bytes[..10]
    );
    assert_eq!(
        t.client
            .download_range(&t.bucket, "r.bin", .., o())
            .await
            .unwrap(),
        bytes[..]
    );

    let past = read(1000..1010).await.unwrap_err();
    assert_eq!(past.code(), Some("InvalidRange"), "{past:?}");
    let missing = t
        .client
        .download_range(&t.bucket, "nope", 0..10, o())
        .await
        .unwrap_err();
    assert!(missing.is_not_found(), "{missing:?}");
}
