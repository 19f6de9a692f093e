//! Checksums: on custom endpoints, requests carry no checksum trailer (the
//! default CRC32 trailer of aws-sdk-s3 >= 1.69 is rejected by Scaleway, OVH
//! and Backblaze), only the plain CRC64NVME header of a full-object checksum
//! that uploads store (dropped for a store that refuses it); downloads
//! verify the checksum the server stored, when it has one, and say how
//! they were verified.

use std::time::Duration;

use super::support::{MIB, Relay, TestS3, data};
use ms_utils_communication::s3::{
    ChecksumAlgorithm, DownloadOptions, NotVerified, S3BucketClient, TransferConfig,
    UploadChecksum, UploadOptions, Verification,
};
use ms_utils_dev::s3::DevS3Server;
use ms_utils_dev::testing::{LogCapture, within};
use tracing::level_filters::LevelFilter;

/// The checksum headers (and trailer markers) of the requests in `sent`.
fn checksum_headers(sent: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(sent).to_ascii_lowercase();
    text.lines()
        .filter(|l| {
            l.starts_with("x-amz-checksum-")
                || l.starts_with("x-amz-trailer:")
                || l.starts_with("x-amz-sdk-checksum-algorithm:")
                || l.starts_with("content-encoding: aws-chunked")
        })
        .map(|l| l.split(':').next().unwrap_or_default().to_owned())
        .collect()
}

async fn upload_small_and_multipart(client: &S3BucketClient, bucket: &str) {
    client
        .upload_bytes(data(1000, 1), bucket, "small", UploadOptions::new())
        .await
        .unwrap();
    let up = client
        .upload_bytes(data(9 * MIB, 2), bucket, "multi", UploadOptions::new())
        .await
        .unwrap();
    assert!(up.parts > 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_endpoints_send_checksums_only_when_required() {
    let t = TestS3::start().await;
    let (endpoint, _, _) = t.endpoint_and_keys();
    let relay = Relay::start(endpoint).await;
    let (relay, seen) = (relay.endpoint.clone(), relay.sent);

    // The default for a custom endpoint: no trailer, no aws-chunked body;
    // the plain CRC64NVME header of the full-object checksum (PutObject,
    // each UploadPart, CreateMultipartUpload's algorithm, the completion).
    let default = t.client_with(t.config_builder().endpoint(&relay)).await;
    upload_small_and_multipart(&default, &t.bucket).await;
    let sent = std::mem::take(&mut *seen.lock().unwrap());
    assert!(sent.starts_with(b"PUT "), "the relay saw the requests");
    let headers = checksum_headers(&sent);
    assert!(!headers.is_empty());
    for h in &headers {
        assert!(
            matches!(
                h.as_str(),
                "x-amz-checksum-crc64nvme" | "x-amz-checksum-algorithm" | "x-amz-checksum-type"
            ),
            "{headers:?}"
        );
    }

    // Turned off: PutObject and UploadPart go bare.
    let mut off = TransferConfig::default();
    off.upload_checksum = UploadChecksum::Off;
    let bare = t
        .client_with(t.config_builder().endpoint(&relay).transfer(off))
        .await;
    upload_small_and_multipart(&bare, &t.bucket).await;
    let sent = std::mem::take(&mut *seen.lock().unwrap());
    assert!(sent.starts_with(b"PUT "), "the relay saw the requests");
    assert_eq!(checksum_headers(&sent), Vec::<String>::new());

    // The SDK's own default (as on AWS) adds its CRC32: the check above
    // can fail.
    let mut off = TransferConfig::default();
    off.upload_checksum = UploadChecksum::Off;
    let sdk_default = t
        .client_with(
            t.config_builder()
                .endpoint(&relay)
                .checksums_when_required(false)
                .transfer(off),
        )
        .await;
    upload_small_and_multipart(&sdk_default, &t.bucket).await;
    let sent = std::mem::take(&mut *seen.lock().unwrap());
    assert!(!checksum_headers(&sent).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloads_verify_the_stored_checksum() {
    // In-process server: corrupts the dev server's files on disk.
    let t = TestS3::dev().await;
    // Uploaded with a CRC32 (checksums always on), which s3s-fs stores and
    // hands back on a GET with checksum mode.
    let with_crc = t
        .client_with(t.config_builder().checksums_when_required(false))
        .await;
    let bytes = data(300_000, 3);
    with_crc
        .upload_bytes(bytes.clone(), &t.bucket, "c.bin", UploadOptions::new())
        .await
        .unwrap();
    let got = t
        .client
        .download_bytes(&t.bucket, "c.bin", DownloadOptions::new())
        .await
        .unwrap();
    assert!(got.as_ref() == bytes.as_slice());

    // Flip one byte on disk: same size, different content.
    let path = t
        .server
        .as_ref()
        .unwrap()
        .root()
        .join(&t.bucket)
        .join("c.bin");
    let mut on_disk = std::fs::read(&path).unwrap();
    on_disk[1234] ^= 0xFF;
    std::fs::write(&path, &on_disk).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("c.bin");
    let err = tokio::time::timeout(
        Duration::from_secs(30),
        t.client
            .download_file(&t.bucket, "c.bin", &dest, DownloadOptions::new()),
    )
    .await
    .unwrap()
    .unwrap_err();
    assert!(err.is_integrity(), "{err:?}");
    assert!(
        !dest.exists(),
        "a corrupt download never lands under the final name"
    );
    let err = t
        .client
        .download_bytes(&t.bucket, "c.bin", DownloadOptions::new())
        .await
        .unwrap_err();
    assert!(err.is_integrity(), "{err:?}");

    // Without verification the corrupt bytes come through: the check above
    // is what caught them.
    let mut transfer = TransferConfig::default();
    transfer.verify_checksums = false;
    let unverified = t.client_with(t.config_builder().transfer(transfer)).await;
    let got = unverified
        .download_bytes(&t.bucket, "c.bin", DownloadOptions::new())
        .await
        .unwrap();
    assert!(got.as_ref() == on_disk.as_slice());
}

/// Small parts and ranges: a 12 MiB upload is 3 parts (5, 5, 2 MiB), its
/// download 4 ranges of 3 MiB; a 300 kB object is one GET.
fn small_parts() -> TransferConfig {
    let mut t = TransferConfig::default();
    t.multipart_threshold = 5 * MIB as u64;
    t.part_size = 5 * MIB as u64;
    t.download_threshold = 4 * MIB as u64;
    t.download_part_size = 3 * MIB as u64;
    t
}

/// The client's uploads store a full-object CRC64NVME where the store keeps
/// one (the development server: single PUT and multipart; moto 5.2.5 keeps
/// none for a single PUT and a malformed one for a multipart upload, which
/// downloads do not use), and every download says how it was verified.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_store_a_full_object_checksum_that_downloads_check() {
    let t = TestS3::with_transfer(small_parts()).await;
    let small = data(300_000, 11);
    let big = data(12 * MIB, 12);
    let one = t
        .client
        .upload_bytes(small.clone(), &t.bucket, "one.bin", UploadOptions::new())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.src");
    std::fs::write(&path, &big).unwrap();
    let multi = t
        .client
        .upload_file(&path, &t.bucket, Some("big.bin"), UploadOptions::new())
        .await
        .unwrap();
    assert_eq!((one.parts, multi.parts), (0, 3));

    for (key, bytes, up) in [("one.bin", &small, &one), ("big.bin", &big, &multi)] {
        let dest = dir.path().join(key);
        let out = within(
            "download",
            t.client
                .download_file(&t.bucket, key, &dest, DownloadOptions::new()),
        )
        .await
        .unwrap();
        assert!(std::fs::read(&dest).unwrap() == *bytes);
        let got = t
            .client
            .download_bytes(&t.bucket, key, DownloadOptions::new())
            .await
            .unwrap();
        assert!(got.as_ref() == bytes.as_slice());
        if t.is_external() {
            // moto: the ETag where it can (a multipart object's parts are
            // not served there).
            assert_eq!(up.checksum, None, "{key}");
            let expected = match key {
                "one.bin" => Verification::EtagMd5,
                _ => Verification::SizeOnly(NotVerified::PartsNotServed),
            };
            assert_eq!(out.verification, expected, "{key}");
        } else {
            let stored = up.checksum.as_ref().expect("the server confirmed it");
            assert_eq!(stored.algorithm, ChecksumAlgorithm::Crc64Nvme);
            assert_eq!(
                out.verification,
                Verification::Checksum(ChecksumAlgorithm::Crc64Nvme),
                "{key}"
            );
            // The CRC replaces the part GETs: plain ranges.
            if key == "big.bin" {
                assert_eq!(out.ranges, 4);
            }
        }
    }
}

/// A byte flipped on the server's disk is caught through the stored
/// checksum in every shape of download: a single GET, ranges to a file,
/// ranges into memory; and, with the checksum, also for an object the ETag
/// cannot vouch for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupted_object_is_caught_by_its_stored_checksum() {
    // In-process server: corrupts the dev server's files on disk.
    let t = TestS3::dev_with_transfer(small_parts()).await;
    for (key, len, at) in [
        ("one.bin", 300_000, 4321),
        ("big.bin", 12 * MIB, 6 * MIB + 17),
    ] {
        let up = t
            .client
            .upload_bytes(data(len, 13), &t.bucket, key, UploadOptions::new())
            .await
            .unwrap();
        assert!(up.checksum.is_some());
        let path = t.dev_server().root().join(&t.bucket).join(key);
        let mut on_disk = std::fs::read(&path).unwrap();
        on_disk[at] ^= 0xFF;
        std::fs::write(&path, &on_disk).unwrap();

        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join(key);
        let err = within(
            "download",
            t.client
                .download_file(&t.bucket, key, &dest, DownloadOptions::new()),
        )
        .await
        .unwrap_err();
        assert!(err.is_integrity(), "{key}: {err:?}");
        assert!(
            std::fs::read_dir(dir.path()).unwrap().next().is_none(),
            "no file left"
        );
        let err = t
            .client
            .download_bytes(&t.bucket, key, DownloadOptions::new())
            .await
            .unwrap_err();
        assert!(err.is_integrity(), "{key}: {err:?}");
    }
}

/// A store that refuses checksum headers (400 InvalidArgument) still takes
/// the uploads: the request goes again without, the client sends none from
/// then on (one INFO line says so), and the result says no checksum was
/// stored; with `UploadChecksum::Required` the refusal is the upload's error.
#[test]
fn a_store_refusing_checksum_headers_still_takes_uploads() {
    LogCapture::run_multi_thread(LevelFilter::INFO, |logs| async move {
        // In-process server: needs the dev server's fault.
        let t = TestS3::dev_with_transfer(small_parts()).await;
        t.dev_server().refuse_checksum_headers(true);
        for (key, len) in [("one.bin", 1000), ("big.bin", 12 * MIB), ("two.bin", 2000)] {
            let up = within(
                "an upload",
                t.client
                    .upload_bytes(data(len, 14), &t.bucket, key, UploadOptions::new()),
            )
            .await
            .unwrap();
            assert_eq!(up.checksum, None, "{key}");
            let got = t
                .client
                .download_bytes(&t.bucket, key, DownloadOptions::new())
                .await
                .unwrap();
            assert!(got.as_ref() == data(len, 14).as_slice());
        }
        let said = logs.text();
        assert_eq!(
            said.matches("the store refuses checksum headers").count(),
            1,
            "{said}"
        );

        let mut required = small_parts();
        required.upload_checksum = UploadChecksum::Required;
        let strict = t.client_with(t.config_builder().transfer(required)).await;
        let err = strict
            .upload_bytes(data(10, 15), &t.bucket, "x.bin", UploadOptions::new())
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("InvalidArgument"), "{err:?}");
        assert!(!t.client.exists(&t.bucket, "x.bin").await.unwrap());
    });
}

/// What cannot be verified says why, in the result and at INFO, or is
/// refused with `require_verified` before any byte is fetched. Here: a
/// multipart object without a checksum on a server that no longer knows
/// its parts (a development server restarted on the same folder).
#[test]
fn unverified_downloads_say_why_and_can_be_refused() {
    LogCapture::run_multi_thread(LevelFilter::INFO, |logs| async move {
        // In-process server: restarted on its own folder.
        let mut transfer = small_parts();
        transfer.upload_checksum = UploadChecksum::Off;
        let t = TestS3::dev_with_transfer(transfer.clone()).await;
        let bytes = data(12 * MIB, 16);
        t.client
            .upload_bytes(bytes.clone(), &t.bucket, "m.bin", UploadOptions::new())
            .await
            .unwrap();
        let server = t.dev_server();
        let again = DevS3Server::builder()
            .root(server.root())
            .credentials(server.access_key(), server.secret_key())
            .start()
            .await
            .unwrap();
        let client = t
            .client_with(
                t.config_builder()
                    .endpoint(again.endpoint())
                    .transfer(transfer),
            )
            .await;

        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("m.bin");
        let out = client
            .download_file(&t.bucket, "m.bin", &dest, DownloadOptions::new())
            .await
            .unwrap();
        assert!(std::fs::read(&dest).unwrap() == bytes);
        assert_eq!(
            out.verification,
            Verification::SizeOnly(NotVerified::PartsNotServed)
        );
        assert!(!out.verification.is_verified());
        let line = within(
            "the INFO line",
            logs.wait_for_line(|l| l.contains("download not verified")),
        )
        .await;
        assert!(line.contains("INFO") && line.contains("m.bin"), "{line}");

        std::fs::remove_file(&dest).unwrap();
        let strict = DownloadOptions::new().require_verified(true);
        let err = client
            .download_file(&t.bucket, "m.bin", &dest, strict.clone())
            .await
            .unwrap_err();
        assert!(err.is_unverifiable(), "{err:?}");
        assert_eq!(err.key(), Some("m.bin"));
        assert!(
            std::fs::read_dir(dir.path()).unwrap().next().is_none(),
            "nothing written"
        );
        let err = client
            .download_bytes(&t.bucket, "m.bin", strict)
            .await
            .unwrap_err();
        assert!(err.is_unverifiable(), "{err:?}");

        // The first server still serves the parts: verified by their MD5s.
        let out = t
            .client
            .download_file(
                &t.bucket,
                "m.bin",
                &dest,
                DownloadOptions::new().require_verified(true),
            )
            .await
            .unwrap();
        assert_eq!(out.verification, Verification::PartMd5s { parts: 3 });
    });
}
