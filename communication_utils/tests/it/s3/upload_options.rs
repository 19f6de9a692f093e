//! Upload options (boto3's `ExtraArgs`): standard headers, encryption
//! (SSE-S3, SSE-KMS with a key id, SSE-C), storage class, tags and canned
//! ACL, on a single PUT, a multipart upload, a stream of unknown length
//! (whose `FileSize` fix is a copy onto itself) and a copy; each read back
//! from the server. moto keeps all of them but does not enforce SSE-C (an
//! SSE-C object reads without its key there): those checks run on the
//! development server only.

use std::collections::HashMap;
use std::time::{Duration, UNIX_EPOCH};

use super::support::{MIB, TestS3, data};
use aws_sdk_s3::types::{ChecksumMode, ServerSideEncryption, StorageClass};
use base64::Engine as _;
use ms_utils_communication::s3::{
    CopyOptions, DownloadOptions, Encryption, Error, MetadataOptions, SseCustomerKey,
    TransferConfig, UploadOptions,
};
use ms_utils_dev::testing::{LogCapture, within};
use tracing::level_filters::LevelFilter;

/// Small parts: a 12 MiB upload is 3 parts.
fn small_parts() -> TransferConfig {
    let mut t = TransferConfig::default();
    t.multipart_threshold = 5 * MIB as u64;
    t.part_size = 5 * MIB as u64;
    t
}

/// Every option but encryption, and SSE-S3.
fn all_options() -> UploadOptions {
    UploadOptions::new()
        .content_type("text/csv")
        .cache_control("max-age=60")
        .content_disposition("attachment; filename=\"report.csv\"")
        .content_encoding("identity")
        .content_language("fr-FR")
        .expires(UNIX_EPOCH + Duration::from_secs(1_900_000_000))
        .storage_class("STANDARD_IA")
        .tags([("team", "search"), ("note", "a b/c+d=e")])
        .acl("public-read")
        .encryption(Encryption::S3)
}

/// Reads the object back with the SDK: headers, class, encryption, tags, ACL.
async fn assert_options_kept(t: &TestS3, key: &str) {
    let sdk = t.client.sdk();
    let head = sdk
        .head_object()
        .bucket(&t.bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_type(), Some("text/csv"), "{key}");
    assert_eq!(head.cache_control(), Some("max-age=60"), "{key}");
    assert_eq!(
        head.content_disposition(),
        Some("attachment; filename=\"report.csv\""),
        "{key}"
    );
    assert_eq!(head.content_encoding(), Some("identity"), "{key}");
    assert_eq!(head.content_language(), Some("fr-FR"), "{key}");
    assert!(
        head.expires_string().is_some_and(|e| e.contains("2030")),
        "{key}: {:?}",
        head.expires_string()
    );
    assert_eq!(
        head.storage_class(),
        Some(&StorageClass::StandardIa),
        "{key}"
    );
    assert_eq!(
        head.server_side_encryption(),
        Some(&ServerSideEncryption::Aes256),
        "{key}"
    );
    let tags: HashMap<String, String> = sdk
        .get_object_tagging()
        .bucket(&t.bucket)
        .key(key)
        .send()
        .await
        .unwrap()
        .tag_set()
        .iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect();
    assert_eq!(
        tags.get("team").map(String::as_str),
        Some("search"),
        "{key}"
    );
    assert_eq!(
        tags.get("note").map(String::as_str),
        Some("a b/c+d=e"),
        "{key}"
    );
    let acl = sdk
        .get_object_acl()
        .bucket(&t.bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    assert!(
        acl.grants().iter().any(|g| {
            g.grantee().and_then(|g| g.uri())
                == Some("http://acs.amazonaws.com/groups/global/AllUsers")
                && g.permission().map(|p| p.as_str()) == Some("READ")
        }),
        "{key}: {acl:?}"
    );
}

/// The options land on the object, whichever way it was uploaded: a single
/// PUT, a multipart upload, a stream whose `FileSize` is fixed by a copy
/// onto itself; and the content still downloads verified.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_options_are_kept_by_every_kind_of_upload() {
    let t = TestS3::with_transfer(small_parts()).await;
    let small = data(1000, 1);
    let big = data(12 * MIB, 2);
    t.client
        .upload_bytes(small.clone(), &t.bucket, "one.csv", all_options())
        .await
        .unwrap();
    let up = t
        .client
        .upload_bytes(big.clone(), &t.bucket, "multi.csv", all_options())
        .await
        .unwrap();
    assert_eq!(up.parts, 3);
    // No size hint: uploaded with FileSize 0, then copied onto itself.
    let stream = std::io::Cursor::new(big.clone());
    t.client
        .upload_reader(stream, &t.bucket, "stream.csv", None, all_options())
        .await
        .unwrap();
    for (key, bytes) in [
        ("one.csv", &small),
        ("multi.csv", &big),
        ("stream.csv", &big),
    ] {
        assert_options_kept(&t, key).await;
        let got = t
            .client
            .download_bytes(&t.bucket, key, DownloadOptions::new())
            .await
            .unwrap();
        assert!(got.as_ref() == bytes.as_slice(), "{key}");
    }
    let meta = t
        .client
        .get_file_metadata(&t.bucket, "stream.csv")
        .await
        .unwrap();
    assert_eq!(meta.get("FileSize"), Some("12.00 MB"));
}

/// SSE-KMS with a key id, on a single PUT and a multipart upload; what a
/// download can check of such an object (its ETag is not an MD5: the
/// client's own full-object checksum, where the store keeps it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_kms_with_a_key_id() {
    let t = TestS3::with_transfer(small_parts()).await;
    for (key, len) in [("kms-one", 1000), ("kms-multi", 12 * MIB)] {
        t.client
            .upload_bytes(
                data(len, 3),
                &t.bucket,
                key,
                UploadOptions::new().encryption(Encryption::kms("alias/ms-utils-test")),
            )
            .await
            .unwrap();
        let head = t
            .client
            .sdk()
            .head_object()
            .bucket(&t.bucket)
            .key(key)
            .send()
            .await
            .unwrap();
        assert_eq!(
            head.server_side_encryption(),
            Some(&ServerSideEncryption::AwsKms)
        );
        assert!(
            head.ssekms_key_id()
                .is_some_and(|k| k.contains("ms-utils-test")),
            "{head:?}"
        );
        let dir = tempfile::tempdir().unwrap();
        let out = t
            .client
            .download_file(&t.bucket, key, dir.path().join("k"), DownloadOptions::new())
            .await
            .unwrap();
        assert!(std::fs::read(dir.path().join("k")).unwrap() == data(len, 3));
        if !t.is_external() {
            assert!(out.verification.is_verified(), "{:?}", out.verification);
        }
    }
}

/// SSE-C: the key goes with every request of the upload (single PUT, each
/// part, the completion), and every read (download, metadata, copy source)
/// needs it; a copy can re-encrypt with another key. The key is in no
/// `Debug` output and no log line of the client or the SDK (but for
/// aws-sigv4's TRACE lines of the requests it signs).
#[test]
fn sse_c_objects_are_written_and_read_with_their_key() {
    LogCapture::run_multi_thread(LevelFilter::TRACE, |logs| async move {
        let t = TestS3::with_transfer(small_parts()).await;
        let key = SseCustomerKey::new(KEY_BYTES);
        let other = SseCustomerKey::new([9u8; 32]);
        let sse_c = || UploadOptions::new().encryption(Encryption::Customer(key.clone()));
        let with_key = || DownloadOptions::new().sse_customer_key(key.clone());
        for (name, len) in [("c-one", 1000), ("c-multi", 12 * MIB)] {
            within(
                "an SSE-C upload",
                t.client
                    .upload_bytes(data(len, 4), &t.bucket, name, sse_c()),
            )
            .await
            .unwrap();
            let got = within(
                "an SSE-C download",
                t.client.download_bytes(&t.bucket, name, with_key()),
            )
            .await
            .unwrap();
            assert!(got.as_ref() == data(len, 4).as_slice(), "{name}");
            let meta = t
                .client
                .get_file_metadata_with(
                    &t.bucket,
                    name,
                    MetadataOptions::new().sse_customer_key(key.clone()),
                )
                .await
                .unwrap();
            assert_eq!(meta.content_length, len as u64);
            if !t.is_external() {
                // The development server enforces the key, as S3 does.
                let err = t
                    .client
                    .download_bytes(&t.bucket, name, DownloadOptions::new())
                    .await
                    .unwrap_err();
                assert!(err.is_sse_customer_key(), "{err:?}");
                assert!(
                    matches!(err, Error::SseCustomerKey { given: false, .. }),
                    "{err:?}"
                );
                assert!(err.to_string().contains("no key was given"), "{err}");
                let err = t
                    .client
                    .download_bytes(
                        &t.bucket,
                        name,
                        DownloadOptions::new().sse_customer_key(other.clone()),
                    )
                    .await
                    .unwrap_err();
                assert!(
                    matches!(err, Error::SseCustomerKey { given: true, .. }),
                    "{err:?}"
                );
                assert!(
                    err.to_string()
                        .contains("not the one the object is encrypted with"),
                    "{err}"
                );
                // A range as well, refused alike (GetObject, not HeadObject).
                let err = t
                    .client
                    .download_range(&t.bucket, name, 10..20, DownloadOptions::new())
                    .await
                    .unwrap_err();
                assert!(err.is_sse_customer_key(), "{err:?}");
                assert!(
                    matches!(err, Error::SseCustomerKey { given: false, .. }),
                    "{err:?}"
                );
                assert_eq!(err.operation(), Some("GetObject"), "{err}");
                let err = t
                    .client
                    .download_range(
                        &t.bucket,
                        name,
                        10..20,
                        DownloadOptions::new().sse_customer_key(other.clone()),
                    )
                    .await
                    .unwrap_err();
                assert!(
                    matches!(err, Error::SseCustomerKey { given: true, .. }),
                    "{err:?}"
                );
                let got = t
                    .client
                    .download_range(&t.bucket, name, 10..20, with_key())
                    .await
                    .unwrap();
                assert!(got.as_ref() == &data(len, 4)[10..20], "{name}");
                // Metadata needs the key as well.
                let err = t
                    .client
                    .get_file_metadata(&t.bucket, name)
                    .await
                    .unwrap_err();
                assert!(err.is_sse_customer_key(), "{err:?}");
                let head = t
                    .client
                    .sdk()
                    .head_object()
                    .bucket(&t.bucket)
                    .key(name)
                    .sse_customer_algorithm("AES256")
                    .sse_customer_key(b64(&KEY_BYTES))
                    .sse_customer_key_md5(key.key_md5())
                    .checksum_mode(ChecksumMode::Enabled)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(head.sse_customer_key_md5(), Some(key.key_md5().as_str()));
            }
        }
        // A copy re-encrypted with another key: the source's key to read
        // it, the new one to read the copy.
        t.client
            .copy_with(
                &t.bucket,
                "c-one",
                &t.bucket,
                "c-copy",
                CopyOptions::new()
                    .source_sse_customer_key(key.clone())
                    .encryption(Encryption::Customer(other.clone())),
            )
            .await
            .unwrap();
        let got = t
            .client
            .download_bytes(
                &t.bucket,
                "c-copy",
                DownloadOptions::new().sse_customer_key(other.clone()),
            )
            .await
            .unwrap();
        assert!(got.as_ref() == data(1000, 4).as_slice());
        if !t.is_external() {
            for source in ["c-one", "c-multi"] {
                let err = t
                    .client
                    .copy(&t.bucket, source, &t.bucket, "c-copy-2")
                    .await
                    .unwrap_err();
                assert!(
                    matches!(err, Error::SseCustomerKey { given: false, .. }),
                    "{err:?}"
                );
            }
        }

        // The key in no Debug output ...
        let shown = format!(
            "{:?} {:?} {:?} {:?} {:?}",
            sse_c(),
            with_key(),
            CopyOptions::new().source_sse_customer_key(key.clone()),
            MetadataOptions::new().sse_customer_key(key.clone()),
            Encryption::Customer(key.clone()),
        );
        let secret = b64(&KEY_BYTES);
        assert!(
            !shown.contains(&secret) && !shown.contains("0123456789abcdef"),
            "{shown}"
        );
        // ... and no log line of the client or the SDK, but two left out:
        // the development server's s3s crate logs whole requests at DEBUG,
        // and aws-sigv4 logs each request it signs, headers included, at
        // TRACE (the key is a request header S3 wants signed; documented on
        // `SseCustomerKey`).
        let text = logs.text();
        assert!(
            text.contains("PutObject"),
            "the SDK's trace logs were captured: {} bytes, {:?}",
            text.len(),
            text.lines().take(5).collect::<Vec<_>>()
        );
        let leaks: Vec<&str> = text
            .lines()
            .filter(|l| !l.contains("s3s::") && !l.contains("s3s_fs::"))
            .filter(|l| !l.contains("aws_sigv4::http_request::sign: signing request"))
            .filter(|l| l.contains(&secret) || l.contains("0123456789abcdef"))
            .take(3)
            .collect();
        assert!(leaks.is_empty(), "the SSE-C key in the logs: {leaks:#?}");
    });
}

/// The SSE-C key of these tests (readable, to look for it in the logs).
const KEY_BYTES: [u8; 32] = *b"0123456789abcdef0123456789ABCDEF";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A copy keeps the source's tags and headers by default, and takes the
/// class, encryption, tags, ACL and headers it is given.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_keep_or_replace_what_they_are_told() {
    let t = TestS3::start().await;
    t.client
        .upload_bytes(data(1000, 5), &t.bucket, "src.csv", all_options())
        .await
        .unwrap();
    t.client
        .copy(&t.bucket, "src.csv", &t.bucket, "plain-copy.csv")
        .await
        .unwrap();
    let sdk = t.client.sdk();
    let head = sdk
        .head_object()
        .bucket(&t.bucket)
        .key("plain-copy.csv")
        .send()
        .await
        .unwrap();
    assert_eq!(head.cache_control(), Some("max-age=60"));
    assert_eq!(head.content_type(), Some("text/csv"));
    let tags = sdk
        .get_object_tagging()
        .bucket(&t.bucket)
        .key("plain-copy.csv")
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tag_set().len(), 2, "the source's tags: {tags:?}");

    t.client
        .copy_with(
            &t.bucket,
            "src.csv",
            &t.bucket,
            "new-copy.csv",
            CopyOptions::new()
                .storage_class("ONEZONE_IA")
                .encryption(Encryption::kms("alias/copies"))
                .tags([("copy", "yes")])
                .cache_control("no-cache")
                .acl("private"),
        )
        .await
        .unwrap();
    let head = sdk
        .head_object()
        .bucket(&t.bucket)
        .key("new-copy.csv")
        .send()
        .await
        .unwrap();
    assert_eq!(head.storage_class(), Some(&StorageClass::OnezoneIa));
    assert_eq!(
        head.server_side_encryption(),
        Some(&ServerSideEncryption::AwsKms)
    );
    assert_eq!(head.cache_control(), Some("no-cache"));
    // The other headers and the user metadata stay the source's.
    assert_eq!(head.content_type(), Some("text/csv"));
    assert_eq!(head.content_language(), Some("fr-FR"));
    assert!(
        head.metadata().is_some_and(|m| m.contains_key("filesize")),
        "{head:?}"
    );
    let tags = sdk
        .get_object_tagging()
        .bucket(&t.bucket)
        .key("new-copy.csv")
        .send()
        .await
        .unwrap();
    let tags: Vec<(&str, &str)> = tags
        .tag_set()
        .iter()
        .map(|t| (t.key(), t.value()))
        .collect();
    assert_eq!(tags, [("copy", "yes")]);
}

/// A folder upload and a sync give every file the batch's upload options,
/// as `upload_file` gives them to one file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn folder_uploads_and_syncs_give_every_file_the_options() {
    use ms_utils_communication::s3::{BulkOptions, SyncOptions};
    let t = TestS3::start().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("a.csv"), data(100, 1)).unwrap();
    std::fs::write(dir.path().join("sub/b.csv"), data(200, 2)).unwrap();

    let summary = t
        .client
        .upload_dir(
            dir.path(),
            &t.bucket,
            "batch",
            BulkOptions::new().upload_options(all_options()),
        )
        .await
        .unwrap();
    assert_eq!((summary.files_done, summary.failures.len()), (2, 0));
    let synced = t
        .client
        .sync_up(
            dir.path(),
            &t.bucket,
            "mirror",
            SyncOptions::new().upload_options(all_options()),
        )
        .await
        .unwrap();
    assert_eq!(synced.copied.len(), 2, "{synced:?}");
    for key in [
        "batch/a.csv",
        "batch/sub/b.csv",
        "mirror/a.csv",
        "mirror/sub/b.csv",
    ] {
        assert_options_kept(&t, key).await;
    }
    // Without options, the type is each file's own guess, as before.
    std::fs::write(dir.path().join("c.json"), b"{}").unwrap();
    t.client
        .upload_dir(dir.path(), &t.bucket, "plain", BulkOptions::new())
        .await
        .unwrap();
    let meta = t
        .client
        .get_file_metadata(&t.bucket, "plain/c.json")
        .await
        .unwrap();
    assert_eq!(meta.content_type.as_deref(), Some("application/json"));
}
