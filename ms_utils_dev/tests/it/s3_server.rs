//! The in-process S3 server's options: a root folder kept across restarts,
//! a fixed port, its own credentials, buckets created at start; multipart
//! completion done by the server itself, with the result `s3s-fs` stores.

use std::path::Path;
use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use ms_utils_communication::s3::{DownloadOptions, S3BucketClient, S3Config, UploadOptions};
use ms_utils_dev::s3::DevS3Server;
use ms_utils_dev::testing::{hex, test_data as data};
use s3s::crypto::{Checksum as _, Md5};

const MIB: usize = 1024 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn root_port_credentials_and_buckets_are_honoured() {
    let root = tempfile::tempdir().unwrap();
    // A port known to be free a moment ago (the OS picks it).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = DevS3Server::builder()
        .root(root.path())
        .port(port)
        .credentials("dev-ak", "dev-sk")
        .bucket("alpha")
        .bucket("beta")
        .start()
        .await
        .unwrap();
    assert_eq!(server.addr().port(), port);
    assert_eq!(server.endpoint(), format!("http://127.0.0.1:{port}"));
    assert_eq!(server.root(), root.path());
    assert_eq!(
        (server.access_key(), server.secret_key()),
        ("dev-ak", "dev-sk")
    );
    assert!(!format!("{server:?}").contains("dev-sk"));

    let client = S3BucketClient::new("dev", server.client_config())
        .await
        .unwrap();
    let mut buckets = client.list_buckets().await.unwrap();
    buckets.sort();
    assert_eq!(buckets, ["alpha", "beta"]);
    client
        .upload_bytes(b"kept".to_vec(), "alpha", "dir/k.txt", UploadOptions::new())
        .await
        .unwrap();
    assert_eq!(
        std::fs::read(root.path().join("alpha/dir/k.txt")).unwrap(),
        b"kept",
        "one file per object under ROOT/BUCKET/KEY"
    );
    let wrong = S3BucketClient::new(
        "dev",
        S3Config::builder()
            .endpoint(server.endpoint())
            .credentials("dev-ak", "other")
            .build()
            .unwrap(),
    )
    .await
    .unwrap();
    assert!(
        wrong
            .test_connection()
            .await
            .unwrap_err()
            .is_access_denied()
    );
    server.shutdown().await;

    // A new server on the same root serves what the first one stored; the
    // given root is not deleted on shutdown.
    let again = DevS3Server::builder()
        .root(root.path())
        .credentials("dev-ak", "dev-sk")
        .start()
        .await
        .unwrap();
    let client = S3BucketClient::new("dev", again.client_config())
        .await
        .unwrap();
    let got = tokio::time::timeout(
        Duration::from_secs(10),
        client.download_bytes("alpha", "dir/k.txt", Default::default()),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(got.as_ref(), b"kept");
    assert_eq!(
        client
            .get_file_metadata("alpha", "dir/k.txt")
            .await
            .unwrap()
            .get("FileSize"),
        Some("0.00 MB"),
        "metadata survives the restart too"
    );
}

/// As on S3, a bucket exists once created (at start or by CreateBucket):
/// an upload, a multipart upload or a copy into any other is
/// `NoSuchBucket`, and creates nothing; auto-creation is an opt-in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bucket_never_created_is_no_such_bucket() {
    let server = DevS3Server::builder().bucket("made").start().await.unwrap();
    let mut transfer = ms_utils_communication::s3::TransferConfig::default();
    transfer.multipart_threshold = 5 * MIB as u64;
    transfer.part_size = 5 * MIB as u64;
    let config = S3Config::builder()
        .endpoint(server.endpoint())
        .credentials(server.access_key(), server.secret_key())
        .transfer(transfer)
        .build()
        .unwrap();
    let client = S3BucketClient::new("dev", config).await.unwrap();
    client
        .upload_bytes(b"x".to_vec(), "made", "k", UploadOptions::new())
        .await
        .unwrap();
    for bytes in [b"small".to_vec(), data(6 * MIB, 1)] {
        let err = client
            .upload_bytes(bytes, "never-made", "k", UploadOptions::new())
            .await
            .unwrap_err();
        assert!(err.is_bucket_not_found(), "{err:?}");
        assert!(err.to_string().contains("NoSuchBucket"), "{err}");
    }
    let err = client
        .copy("made", "k", "never-made", "k")
        .await
        .unwrap_err();
    assert!(err.is_bucket_not_found(), "{err:?}");
    assert!(
        !server.root().join("never-made").exists(),
        "nothing created"
    );
    let mut buckets = client.list_buckets().await.unwrap();
    buckets.sort();
    assert_eq!(buckets, ["made"]);

    // Created with CreateBucket, it takes uploads.
    client
        .sdk()
        .create_bucket()
        .bucket("made-later")
        .send()
        .await
        .unwrap();
    client
        .upload_bytes(b"y".to_vec(), "made-later", "k", UploadOptions::new())
        .await
        .unwrap();
    server.shutdown().await;

    // Opted in: the first upload creates the bucket.
    let server = DevS3Server::builder()
        .auto_create_buckets(true)
        .start()
        .await
        .unwrap();
    let client = S3BucketClient::new("dev", server.client_config())
        .await
        .unwrap();
    client
        .upload_bytes(b"z".to_vec(), "made-on-upload", "k", UploadOptions::new())
        .await
        .unwrap();
    assert_eq!(client.list_buckets().await.unwrap(), ["made-on-upload"]);
}

#[tokio::test]
async fn a_taken_port_is_an_error() {
    let first = DevS3Server::builder().start().await.unwrap();
    let err = DevS3Server::builder()
        .port(first.addr().port())
        .start()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
}

type Completion =
    aws_sdk_s3::operation::complete_multipart_upload::builders::CompleteMultipartUploadFluentBuilder;

/// Starts a multipart upload of `bkt/KEY` through the bare SDK and sends
/// `parts`; returns the completion request, listing the parts with the ETags
/// the server answered (not sent yet: it can be changed, or sent twice).
async fn upload_parts(sdk: &aws_sdk_s3::Client, key: &str, parts: &[&[u8]]) -> Completion {
    let created = sdk
        .create_multipart_upload()
        .bucket("bkt")
        .key(key)
        .content_type("application/x-test")
        .metadata("filename", "part.bin")
        .send()
        .await
        .unwrap();
    let id = created.upload_id().unwrap();
    let mut done = Vec::new();
    for (part, n) in parts.iter().zip(1..) {
        let up = sdk
            .upload_part()
            .bucket("bkt")
            .key(key)
            .upload_id(id)
            .part_number(n)
            .body(ByteStream::from(part.to_vec()))
            .send()
            .await
            .unwrap();
        done.push(
            CompletedPart::builder()
                .part_number(n)
                .set_e_tag(up.e_tag().map(str::to_owned))
                .build(),
        );
    }
    sdk.complete_multipart_upload()
        .bucket("bkt")
        .key(key)
        .upload_id(id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(done))
                .build(),
        )
}

/// A server with the bucket `bkt`, and a client for it.
async fn server_with_bucket() -> (DevS3Server, S3BucketClient) {
    let server = DevS3Server::builder().bucket("bkt").start().await.unwrap();
    let client = S3BucketClient::new("dev", server.client_config())
        .await
        .unwrap();
    (server, client)
}

/// A client that sends a CRC32 with every upload (as on AWS), which s3s-fs
/// stores and hands back on a GET with checksum mode.
async fn crc_client(server: &DevS3Server) -> S3BucketClient {
    // Not the client's own CRC64NVME: the SDK's CRC32.
    let mut transfer = ms_utils_communication::s3::TransferConfig::default();
    transfer.upload_checksum = ms_utils_communication::s3::UploadChecksum::Off;
    let config = S3Config::builder()
        .endpoint(server.endpoint())
        .credentials(server.access_key(), server.secret_key())
        .checksums_when_required(false)
        .transfer(transfer)
        .build()
        .unwrap();
    S3BucketClient::new("dev", config).await.unwrap()
}

/// The files the server keeps in its root (beside the bucket folders).
fn root_files(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// s3s-fs's name for an object's file of `kind` (`metadata` or `internal`).
fn object_file(root: &Path, key: &str, kind: &str) -> std::path::PathBuf {
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    root.join(format!(
        ".bucket-{}.object-{}.{kind}.json",
        b64("bkt"),
        b64(key)
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_completion_stores_what_s3s_fs_stores() {
    let (server, client) = server_with_bucket().await;
    let root = server.root().to_owned();
    let sdk = client.sdk();
    // Both keys first hold a small object stored with a CRC32.
    let with_crc = crc_client(&server).await;
    for key in ["dir/fast.bin", "dir/slow.bin"] {
        with_crc
            .upload_bytes(data(1000, 1), "bkt", key, UploadOptions::new())
            .await
            .unwrap();
    }

    // The same parts twice; `If-Match: *` leaves the second completion to
    // s3s-fs.
    let bytes = data(13 * MIB, 7);
    let parts: Vec<&[u8]> = bytes.chunks(5 * MIB).collect();
    let again = upload_parts(sdk, "dir/fast.bin", &parts).await;
    let fast = again.clone().send().await.unwrap();
    let slow = upload_parts(sdk, "dir/slow.bin", &parts)
        .await
        .if_match("*")
        .send()
        .await
        .unwrap();

    // S3's multipart ETag: the MD5 of the parts' MD5s, then the part count.
    let mut md5s = Md5::new();
    for part in &parts {
        md5s.update(&Md5::checksum(part));
    }
    let bare = format!("{}-3", hex(&md5s.finalize()));
    let expected = format!("\"{bare}\"");
    assert_eq!(
        (fast.e_tag(), slow.e_tag()),
        (Some(expected.as_str()), Some(expected.as_str()))
    );

    for key in ["dir/fast.bin", "dir/slow.bin"] {
        let head = sdk
            .head_object()
            .bucket("bkt")
            .key(key)
            .send()
            .await
            .unwrap();
        assert_eq!(head.e_tag(), Some(expected.as_str()), "{key}");
        assert_eq!(head.content_length(), Some(13 * MIB as i64), "{key}");
        assert_eq!(head.content_type(), Some("application/x-test"), "{key}");
        assert_eq!(
            head.metadata()
                .and_then(|m| m.get("filename"))
                .map(String::as_str),
            Some("part.bin"),
            "{key}"
        );
        let got = sdk
            .get_object()
            .bucket("bkt")
            .key(key)
            .send()
            .await
            .unwrap()
            .body
            .collect()
            .await
            .unwrap()
            .into_bytes();
        assert!(got.as_ref() == bytes.as_slice(), "{key}: content");
    }

    // The same attributes file, byte for byte.
    let attrs = |key| std::fs::read(object_file(&root, key, "metadata")).unwrap();
    assert_eq!(attrs("dir/fast.bin"), attrs("dir/slow.bin"));
    // The one difference: s3s-fs keeps the replaced object's CRC32.
    let info = |key| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(object_file(&root, key, "internal")).unwrap())
            .unwrap()
    };
    assert_eq!(info("dir/fast.bin"), serde_json::json!({ "e_tag": bare }));
    assert_eq!(info("dir/slow.bin")["e_tag"], bare.as_str());
    assert!(info("dir/slow.bin")["checksum_crc32"].is_string());

    // Nothing else is left: no part, upload, claim or temporary file.
    let mut expected_files: Vec<String> = ["dir/fast.bin", "dir/slow.bin"]
        .iter()
        .flat_map(|k| ["metadata", "internal"].map(|kind| object_file(&root, k, kind)))
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    expected_files.sort();
    assert_eq!(root_files(&root), expected_files);

    // The completion sent again finds the upload ended; the object stays.
    assert!(again.send().await.is_err());
    let head = sdk
        .head_object()
        .bucket("bkt")
        .key("dir/fast.bin")
        .send()
        .await
        .unwrap();
    assert_eq!(head.e_tag(), Some(expected.as_str()));
    assert_eq!(root_files(&root), expected_files);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multipart_object_does_not_keep_the_checksum_of_the_one_it_replaced() {
    let (server, client) = server_with_bucket().await;
    crc_client(&server)
        .await
        .upload_bytes(data(1000, 1), "bkt", "k.bin", UploadOptions::new())
        .await
        .unwrap();

    // Replaced by a multipart upload without checksums. s3s-fs alone keeps
    // the old CRC32 and hands it back for the new bytes, which then fail the
    // download's check.
    let bytes = data(9 * MIB, 2);
    let up = client
        .upload_bytes(bytes.clone(), "bkt", "k.bin", UploadOptions::new())
        .await
        .unwrap();
    assert!(up.parts > 1);
    let got = tokio::time::timeout(
        Duration::from_secs(30),
        client.download_bytes("bkt", "k.bin", DownloadOptions::new()),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(got.as_ref() == bytes.as_slice());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_out_of_the_plain_case_get_s3s_fs_answers() {
    let (_server, client) = server_with_bucket().await;
    let sdk = client.sdk();

    // A part other than the last under 5 MiB: EntityTooSmall.
    let (small, big) = (data(1024, 3), data(5 * MIB, 4));
    let too_small = upload_parts(sdk, "small.bin", &[&small, &big]).await;
    let err = too_small.clone().send().await.unwrap_err();
    assert_eq!(
        err.as_service_error().and_then(|e| e.meta().code()),
        Some("EntityTooSmall"),
        "{err:?}"
    );

    // An unknown upload id: refused, nothing stored.
    let err = too_small
        .key("ghost.bin")
        .upload_id("00000000-0000-4000-8000-000000000000")
        .send()
        .await
        .unwrap_err();
    assert!(err.as_service_error().is_some(), "{err:?}");
    assert!(!client.exists("bkt", "ghost.bin").await.unwrap());

    // A listed ETag that is not the part's: s3s-fs completes from the data.
    let bytes = data(6 * MIB, 5);
    upload_parts(sdk, "tag.bin", &[&bytes])
        .await
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(
                    CompletedPart::builder()
                        .part_number(1)
                        .e_tag("\"00000000000000000000000000000000\"")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let got = client
        .download_bytes("bkt", "tag.bin", DownloadOptions::new())
        .await
        .unwrap();
    assert!(got.as_ref() == bytes.as_slice());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_completion_that_fails_leaves_the_upload_to_complete_again() {
    let (server, client) = server_with_bucket().await;
    // `x` is a file, so nothing can be stored under `x/y` for now.
    client
        .upload_bytes(b"in the way".to_vec(), "bkt", "x", UploadOptions::new())
        .await
        .unwrap();
    let bytes = data(6 * MIB, 9);
    let complete = upload_parts(client.sdk(), "x/y", &[&bytes]).await;
    assert!(complete.clone().send().await.is_err());

    // The upload is still there, its part too: once the way is clear, the
    // same completion stores the object.
    client.delete_file("bkt", "x").await.unwrap();
    complete.send().await.unwrap();
    let got = client
        .download_bytes("bkt", "x/y", DownloadOptions::new())
        .await
        .unwrap();
    assert!(got.as_ref() == bytes.as_slice());
    let left: Vec<String> = root_files(server.root())
        .into_iter()
        .filter(|n| n.starts_with(".upload") || n.starts_with(".tmp."))
        .collect();
    assert_eq!(left, Vec::<String>::new());
}

/// A part still being stored when its upload is aborted is removed when it
/// lands and answered `NoSuchUpload`; after the abort, `ListParts`, parts
/// and aborts of the upload answer `NoSuchUpload`, as S3 does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_part_that_lands_after_the_abort_is_removed() {
    let (server, client) = server_with_bucket().await;
    let sdk = client.sdk().clone();
    let id = sdk
        .create_multipart_upload()
        .bucket("bkt")
        .key("late")
        .send()
        .await
        .unwrap()
        .upload_id
        .unwrap();
    server.delay_part_uploads(std::time::Duration::from_millis(300));
    let mut activity = server.part_uploads();
    let part = tokio::spawn({
        let (sdk, id) = (sdk.clone(), id.clone());
        async move {
            sdk.upload_part()
                .bucket("bkt")
                .key("late")
                .upload_id(id)
                .part_number(1)
                .body(vec![7u8; 1024 * 1024].into())
                .send()
                .await
        }
    });
    activity.wait_for(|a| a.delayed == 1).await.unwrap();
    sdk.abort_multipart_upload()
        .bucket("bkt")
        .key("late")
        .upload_id(&id)
        .send()
        .await
        .unwrap();
    let late = part.await.unwrap().unwrap_err();
    assert_eq!(
        late.as_service_error().and_then(|e| e.meta().code()),
        Some("NoSuchUpload")
    );
    let settled = *activity.wait_for(|a| a.running == 0).await.unwrap();
    assert_eq!(settled.removed_late, 1);
    let left: Vec<_> = root_files(server.root())
        .into_iter()
        .filter(|n| n.contains(&id))
        .collect();
    assert_eq!(left, Vec::<String>::new());

    server.delay_part_uploads(std::time::Duration::ZERO);
    let code = |e: Option<&str>| e.map(str::to_owned);
    let listed = sdk
        .list_parts()
        .bucket("bkt")
        .key("late")
        .upload_id(&id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(listed.as_service_error().and_then(|e| e.meta().code())).as_deref(),
        Some("NoSuchUpload")
    );
    let again = sdk
        .abort_multipart_upload()
        .bucket("bkt")
        .key("late")
        .upload_id(&id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(again.as_service_error().and_then(|e| e.meta().code())).as_deref(),
        Some("NoSuchUpload")
    );
    let part = sdk
        .upload_part()
        .bucket("bkt")
        .key("late")
        .upload_id(&id)
        .part_number(2)
        .body(vec![1u8; 10].into())
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(part.as_service_error().and_then(|e| e.meta().code())).as_deref(),
        Some("NoSuchUpload")
    );
    server.shutdown().await;
}

/// A multipart upload created with a full-object CRC64NVME: each part's
/// CRC is checked against its header (`BadDigest` when it differs), the
/// completion's value against the parts' (`BadDigest`, the upload stays
/// open), and the object keeps it, answered with `FULL_OBJECT` on HEAD and
/// GET with checksum mode.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_object_checksum_of_a_multipart_upload_is_checked_and_kept() {
    use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode, ChecksumType};
    let (server, client) = server_with_bucket().await;
    let sdk = client.sdk();
    let crc = |d: &[u8]| crc_fast::checksum(crc_fast::CrcAlgorithm::Crc64Nvme, d);
    let b64 = |c: u64| {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(c.to_be_bytes())
    };
    let bytes = data(11 * MIB, 9);
    let (one, two) = bytes.split_at(6 * MIB);
    let id = sdk
        .create_multipart_upload()
        .bucket("bkt")
        .key("full")
        .checksum_algorithm(ChecksumAlgorithm::Crc64Nvme)
        .checksum_type(ChecksumType::FullObject)
        .send()
        .await
        .unwrap()
        .upload_id
        .unwrap();
    let part = |n: i32, body: &[u8], sum: u64| {
        sdk.upload_part()
            .bucket("bkt")
            .key("full")
            .upload_id(&id)
            .part_number(n)
            .checksum_crc64_nvme(b64(sum))
            .body(body.to_vec().into())
            .send()
    };
    let wrong = part(1, one, crc(two)).await.unwrap_err();
    assert_eq!(
        wrong.as_service_error().and_then(|e| e.meta().code()),
        Some("BadDigest")
    );
    let mut done = Vec::new();
    for (n, body) in [(1, one), (2, two)] {
        let out = part(n, body, crc(body)).await.unwrap();
        assert_eq!(out.checksum_crc64_nvme(), Some(b64(crc(body)).as_str()));
        done.push(
            CompletedPart::builder()
                .part_number(n)
                .set_e_tag(out.e_tag)
                .build(),
        );
    }
    let complete = |sum: u64| {
        sdk.complete_multipart_upload()
            .bucket("bkt")
            .key("full")
            .upload_id(&id)
            .checksum_crc64_nvme(b64(sum))
            .checksum_type(ChecksumType::FullObject)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(done.clone()))
                    .build(),
            )
            .send()
    };
    let wrong = complete(crc(one)).await.unwrap_err();
    assert_eq!(
        wrong.as_service_error().and_then(|e| e.meta().code()),
        Some("BadDigest")
    );
    let whole = b64(crc(&bytes));
    let out = complete(crc(&bytes)).await.unwrap();
    assert_eq!(out.checksum_crc64_nvme(), Some(whole.as_str()));
    let head = sdk
        .head_object()
        .bucket("bkt")
        .key("full")
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .unwrap();
    assert_eq!(head.checksum_crc64_nvme(), Some(whole.as_str()));
    assert_eq!(head.checksum_type(), Some(&ChecksumType::FullObject));
    assert!(head.e_tag().unwrap_or_default().ends_with("-2\""));
    server.shutdown().await;
}
