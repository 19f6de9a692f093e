//! Interop with the Python original (msutils-lib's boto3 `S3BucketClient`):
//! objects written by one client are read by the other, byte for byte and
//! with the metadata each expects. Ignored unless asked for (`cargo test --
//! --ignored`, as `.ci/run` does), with `MS_UTILS_PYTHON` naming a Python
//! that has `msutils-lib` 1.0.7 installed.

use std::path::Path;
use std::process::Command;

use super::support::{TestS3, data, hex, sha256};
use ms_utils_communication::s3::{DownloadOptions, UploadOptions};
use serde_json::Value;

/// `MS_UTILS_PYTHON`; the tests that call this are `#[ignore]`d, so it is
/// unset only when they are run on purpose without it.
fn python() -> String {
    std::env::var("MS_UTILS_PYTHON").unwrap_or_else(|_| panic!("this test needs the Python original: set MS_UTILS_PYTHON to a python with msutils-lib 1.0.7 (see .ci/run)"))
}

fn run_python(py: &str, t: &TestS3, cwd: &Path, args: &[&str]) -> Value {
    let (endpoint, ak, sk) = t.endpoint_and_keys();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/s3_interop.py");
    let out = Command::new(py)
        .arg(script)
        .args(args)
        .current_dir(cwd)
        .env("S3_ENDPOINT", endpoint)
        .env("S3_ACCESS_KEY_ID", ak)
        .env("S3_SECRET_ACCESS_KEY", sk)
        .env("S3_BUCKET", &t.bucket)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Python original: set MS_UTILS_PYTHON to a python with msutils-lib 1.0.7 (see .ci/run)"]
async fn python_upload_is_read_by_rust() {
    let py = python();
    let t = TestS3::start().await;
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("from_python.json");
    // Above boto3's 8 MB threshold: the original uploads it in parts, and the
    // server's multipart completion is what Rust reads back.
    let bytes = data(12 * 1024 * 1024 + 17, 1);
    std::fs::write(&src, &bytes).unwrap();

    let out = run_python(
        &py,
        &t,
        dir.path(),
        &["upload", src.to_str().unwrap(), "py/from_python.json"],
    );
    assert_eq!(out["ok"], true, "{out}");

    let dest = dir.path().join("rust-copy.json");
    t.client
        .download_file(
            &t.bucket,
            "py/from_python.json",
            &dest,
            DownloadOptions::new(),
        )
        .await
        .unwrap();
    assert_eq!(sha256(&std::fs::read(&dest).unwrap()), sha256(&bytes));

    let meta = t
        .client
        .get_file_metadata(&t.bucket, "py/from_python.json")
        .await
        .unwrap();
    assert_eq!(meta.get("FileName"), Some("from_python.json"));
    assert_eq!(meta.get("FileSize"), Some("12.00 MB"));
    assert_eq!(meta.get("FileType"), Some("application/json"));
    assert_eq!(meta.get("origin"), Some("python"));
    assert_eq!(
        meta.get("CreationTime")
            .map(str::len)
            .map(|n| n == 19 || n == 26),
        Some(true)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Python original: set MS_UTILS_PYTHON to a python with msutils-lib 1.0.7 (see .ci/run)"]
async fn rust_upload_is_read_by_python() {
    let py = python();
    let t = TestS3::start().await;
    let dir = tempfile::tempdir().unwrap();
    for (name, len) in [("rust_data.csv", 12_939_428usize), ("café.txt", 10)] {
        let src = dir.path().join(name);
        let bytes = data(len, 2);
        std::fs::write(&src, &bytes).unwrap();
        let mut mine = std::collections::HashMap::new();
        mine.insert("origin".to_owned(), "rust".to_owned());
        t.client
            .upload_file(&src, &t.bucket, None, UploadOptions::new().metadata(mine))
            .await
            .unwrap();
        let rust_meta = t.client.get_file_metadata(&t.bucket, name).await.unwrap();

        let dest = dir.path().join("py-dl.bin");
        let out = run_python(
            &py,
            &t,
            dir.path(),
            &["inspect", name, dest.to_str().unwrap()],
        );
        assert_eq!(out["ok"], true, "{out}");
        assert_eq!(
            out["sha256"],
            hex(&sha256(&bytes)),
            "byte-identical in Python"
        );
        let m = &out["metadata"];
        let d = &out["decoded"];
        // Python sees lower-case keys, with the original's value formats.
        assert_eq!(d["filename"], name, "{out}");
        assert_eq!(m["filesize"], rust_meta.get("FileSize").unwrap());
        assert_eq!(m["filetype"], rust_meta.get("FileType").unwrap());
        assert_eq!(m["creationtime"], rust_meta.get("CreationTime").unwrap());
        assert_eq!(m["origin"], "rust");
    }
    assert_eq!(
        t.client
            .get_file_metadata(&t.bucket, "rust_data.csv")
            .await
            .unwrap()
            .get("FileSize"),
        Some("12.34 MB")
    );

    // A stream of unknown length, uploaded multipart: Python still reads
    // the real size.
    let bytes = data(9 * 1024 * 1024 + 5, 3);
    t.client
        .upload_reader(
            std::io::Cursor::new(bytes.clone()),
            &t.bucket,
            "stream.bin",
            None,
            UploadOptions::new(),
        )
        .await
        .unwrap();
    let dest = dir.path().join("py-stream.bin");
    let out = run_python(
        &py,
        &t,
        dir.path(),
        &["inspect", "stream.bin", dest.to_str().unwrap()],
    );
    assert_eq!(out["sha256"], hex(&sha256(&bytes)), "{out}");
    assert_eq!(out["metadata"]["filesize"], "9.00 MB", "{out}");
}

/// Upload options written by the Rust client (standard headers, class,
/// encryption, tags, ACL, metadata) are what boto3 reads back, on a single
/// PUT and on a multipart upload.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Python original: set MS_UTILS_PYTHON to a python with msutils-lib 1.0.7 (see .ci/run)"]
async fn rust_upload_options_are_read_by_boto3() {
    use ms_utils_communication::s3::{Encryption, TransferConfig};
    use std::time::{Duration, UNIX_EPOCH};
    let py = python();
    let mut transfer = TransferConfig::default();
    transfer.multipart_threshold = 5 * 1024 * 1024;
    transfer.part_size = 5 * 1024 * 1024;
    let t = TestS3::with_transfer(transfer).await;
    let dir = tempfile::tempdir().unwrap();
    let options = |encryption: Encryption| {
        let mut mine = std::collections::HashMap::new();
        mine.insert("origin".to_owned(), "rust".to_owned());
        UploadOptions::new()
            .metadata(mine)
            .content_type("text/csv")
            .cache_control("max-age=60")
            .content_disposition("attachment; filename=\"r.csv\"")
            .content_encoding("identity")
            .content_language("fr-FR")
            .expires(UNIX_EPOCH + Duration::from_secs(1_900_000_000))
            .storage_class("STANDARD_IA")
            .tags([("team", "search"), ("note", "a b/c+d=e")])
            .acl("public-read")
            .encryption(encryption)
    };
    for (key, len, encryption) in [
        ("one.csv", 1000, Encryption::S3),
        (
            "multi.csv",
            11 * 1024 * 1024,
            Encryption::kms("alias/reports"),
        ),
    ] {
        t.client
            .upload_bytes(data(len, 5), &t.bucket, key, options(encryption.clone()))
            .await
            .unwrap();
        let out = run_python(&py, &t, dir.path(), &["head", key]);
        assert_eq!(out["ok"], true, "{out}");
        assert_eq!(out["ContentType"], "text/csv", "{key}: {out}");
        assert_eq!(out["CacheControl"], "max-age=60", "{key}: {out}");
        assert_eq!(
            out["ContentDisposition"], "attachment; filename=\"r.csv\"",
            "{key}: {out}"
        );
        assert_eq!(out["ContentEncoding"], "identity", "{key}: {out}");
        assert_eq!(out["ContentLanguage"], "fr-FR", "{key}: {out}");
        assert!(
            out["Expires"].as_str().is_some_and(|e| e.contains("2030")),
            "{key}: {out}"
        );
        assert_eq!(out["StorageClass"], "STANDARD_IA", "{key}: {out}");
        assert_eq!(out["Metadata"]["origin"], "rust", "{key}: {out}");
        assert_eq!(out["Tags"]["team"], "search", "{key}: {out}");
        assert_eq!(out["Tags"]["note"], "a b/c+d=e", "{key}: {out}");
        assert_eq!(out["PublicRead"], true, "{key}: {out}");
        match encryption {
            Encryption::S3 => assert_eq!(out["ServerSideEncryption"], "AES256", "{out}"),
            _ => {
                assert_eq!(out["ServerSideEncryption"], "aws:kms", "{out}");
                assert_eq!(out["SSEKMSKeyId"], "alias/reports", "{out}");
            }
        }
    }
}
