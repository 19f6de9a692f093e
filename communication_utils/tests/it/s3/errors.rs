//! Typed errors: wrong credentials, missing bucket or key, unreadable local
//! files, ACLs where the server lacks them.

use std::time::Duration;

use super::support::{TestS3, unique};
use ms_utils_communication::s3::{DownloadOptions, UploadOptions};
use ms_utils_dev::testing::{assert_child_passed, assert_in_child, child_test};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_fail_fast_with_access_denied() {
    // In-process server: moto accepts any credentials.
    let t = TestS3::dev().await;
    let bad = t
        .client_with(
            t.config_builder()
                .credentials("ms-utils-dev", "not-the-secret"),
        )
        .await;
    let unknown = t
        .client_with(t.config_builder().credentials("nobody", "x"))
        .await;
    for client in [bad, unknown] {
        let err = tokio::time::timeout(Duration::from_secs(5), client.test_connection())
            .await
            .expect("a refused signature is not retried")
            .unwrap_err();
        assert!(err.is_access_denied(), "{err:?}");
        let err = client
            .upload_bytes(b"x".to_vec(), &t.bucket, "k", UploadOptions::new())
            .await
            .unwrap_err();
        assert!(err.is_access_denied(), "{err:?}");
        assert!(
            !err.is_credentials(),
            "keys were there, the server refused them"
        );
        assert!(err.code().is_some(), "the server's code is kept: {err:?}");
        assert_eq!(err.operation(), Some("PutObject"));
        assert_eq!(err.bucket(), Some(t.bucket.as_str()));
        assert_eq!(err.key(), Some("k"));
    }
    assert!(!t.client.exists(&t.bucket, "k").await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_key_and_missing_bucket_are_not_found() {
    let t = TestS3::start().await;
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("never.bin");

    let err = t
        .client
        .get_file_metadata(&t.bucket, "nope")
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    let err = t
        .client
        .download_file(&t.bucket, "nope", &dest, DownloadOptions::new())
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert!(!dest.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no temp file left"
    );
    let err = t
        .client
        .download_bytes(&t.bucket, "nope", DownloadOptions::new())
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");

    let missing = unique("missing");
    let err = t.client.list_files(&missing).await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert_eq!(err.code(), Some("NoSuchBucket"));
    assert!(err.is_bucket_not_found());

    // HEAD answers carry no error code: the client asks HeadBucket to tell
    // a missing bucket from a missing key.
    let err = t.client.exists(&missing, "k").await.unwrap_err();
    assert!(err.is_not_found() && err.is_bucket_not_found(), "{err:?}");
    assert_eq!(err.code(), Some("NoSuchBucket"));
    // What failed is the bucket check, on the bucket alone.
    assert_eq!(err.operation(), Some("HeadBucket"));
    assert_eq!(err.bucket(), Some(missing.as_str()));
    assert_eq!(err.key(), None);
    let err = t.client.get_file_metadata(&missing, "k").await.unwrap_err();
    assert!(err.is_bucket_not_found(), "{err:?}");
    let err = t
        .client
        .download_bytes(&missing, "k", DownloadOptions::new())
        .await
        .unwrap_err();
    assert!(err.is_bucket_not_found(), "{err:?}");

    assert!(
        !t.client.exists(&t.bucket, "k").await.unwrap(),
        "missing key: false"
    );
    let err = t
        .client
        .get_file_metadata(&t.bucket, "k")
        .await
        .unwrap_err();
    assert!(err.is_not_found() && !err.is_bucket_not_found(), "{err:?}");
    assert_eq!(err.code(), Some("NoSuchKey"));
    let err = t
        .client
        .copy(&t.bucket, "nope", &t.bucket, "dst")
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_local_files_are_io_errors_and_send_nothing() {
    let t = TestS3::start().await;
    let dir = tempfile::tempdir().unwrap();

    let missing = dir.path().join("absent.txt");
    let err = t
        .client
        .upload_file(&missing, &t.bucket, None, UploadOptions::new())
        .await
        .unwrap_err();
    assert!(err.is_io(), "{err:?}");

    // A directory opens on Linux but cannot be read as a file (and, unlike
    // chmod 000, this holds when the tests run as root).
    let err = t
        .client
        .upload_file(dir.path(), &t.bucket, Some("dir"), UploadOptions::new())
        .await
        .unwrap_err();
    assert!(err.is_io(), "{err:?}");

    assert!(
        t.client.list_files(&t.bucket).await.unwrap().is_empty(),
        "nothing was uploaded"
    );

    // A destination folder that does not exist is a local error too.
    t.client
        .upload_bytes(b"x".to_vec(), &t.bucket, "x", UploadOptions::new())
        .await
        .unwrap();
    let err = t
        .client
        .download_file(
            &t.bucket,
            "x",
            dir.path().join("no/such/dir/x"),
            DownloadOptions::new(),
        )
        .await
        .unwrap_err();
    assert!(err.is_io(), "{err:?}");
}

/// A canned ACL is set and reads back (the development server keeps canned
/// ACLs since issue #22); a store without object ACLs answers
/// `NotImplemented`, which `is_not_implemented` tells (see the unit tests
/// of the error classification).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acl_is_set_and_reads_back() {
    let t = TestS3::start().await;
    t.client
        .upload_bytes(b"x".to_vec(), &t.bucket, "pub.txt", UploadOptions::new())
        .await
        .unwrap();
    t.client
        .set_file_permission(&t.bucket, "pub.txt", "public-read")
        .await
        .unwrap();
    let acl = t
        .client
        .sdk()
        .get_object_acl()
        .bucket(&t.bucket)
        .key("pub.txt")
        .send()
        .await
        .unwrap();
    let public = acl.grants().iter().any(|g| {
        g.grantee()
            .and_then(|x| x.uri())
            .is_some_and(|u| u.ends_with("/global/AllUsers"))
            && g.permission().is_some_and(|p| p.as_str() == "READ")
    });
    assert!(public, "{acl:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_endpoint_is_a_transport_error() {
    let t = TestS3::start().await;
    // A port that was just free: connection refused, quickly.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = t
        .client_with(
            t.config_builder()
                .endpoint(format!("http://127.0.0.1:{port}"))
                .max_attempts(1),
        )
        .await;
    let endpoint = format!("http://127.0.0.1:{port}");
    let err = tokio::time::timeout(Duration::from_secs(10), client.list_buckets())
        .await
        .unwrap()
        .unwrap_err();
    assert!(err.is_transport() && err.is_connect(), "{err:?}");
    assert_eq!(err.operation(), Some("ListBuckets"));
    assert_eq!(err.endpoint(), Some(endpoint.as_str()));
    assert_eq!(err.bucket(), None);

    let err = tokio::time::timeout(Duration::from_secs(10), client.list_files("somebucket"))
        .await
        .unwrap()
        .unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    assert_eq!(err.operation(), Some("ListObjectsV2"));
    assert_eq!(err.bucket(), Some("somebucket"));
    assert_eq!(err.endpoint(), Some(endpoint.as_str()));
    // What the `s3_transfer` example prints: where, once, and why (the
    // operating system's words for a refused connection), once.
    let refused = std::io::Error::from_raw_os_error(111).to_string();
    let text = err.to_string();
    for part in [err.operation(), err.bucket(), err.endpoint()] {
        assert_eq!(text.matches(part.unwrap()).count(), 1, "{text}");
    }
    if cfg!(target_os = "linux") {
        assert_eq!(text.matches(&refused).count(), 1, "{text}");
    }
    assert!(std::error::Error::source(&err).is_none(), "said once");
}

/// The child half of `missing_credentials_are_a_credentials_error`: runs only
/// inside the re-executed test binary, where no credentials can be found.
#[test]
#[ignore = "child half of missing_credentials_are_a_credentials_error, run by it in a child process"]
fn missing_credentials_child() {
    assert_in_child();
    // What a user's logger at INFO shows.
    ms_utils_dev::testing::LogCapture::run_multi_thread(
        tracing::level_filters::LevelFilter::INFO,
        |logs| async move {
            let endpoint =
                std::env::var("MS_UTILS_S3_CHILD_ENDPOINT").expect("the parent names the endpoint");
            // As `S3BucketClient::from_env` reads it (no S3 keys set).
            let config = ms_utils_communication::s3::S3ConfigBuilder::from_env()
                .endpoint(&endpoint)
                .max_attempts(1)
                .build()
                .unwrap();
            let client = ms_utils_communication::s3::S3BucketClient::new("child", config)
                .await
                .unwrap();
            let err =
                tokio::time::timeout(Duration::from_secs(20), client.list_files("somebucket"))
                    .await
                    .expect("no network wait: every provider of the chain is off")
                    .unwrap_err();
            assert!(err.is_credentials(), "{err:?}");
            assert!(!err.is_transport() && !err.is_access_denied(), "{err:?}");
            assert_eq!(err.operation(), Some("ListObjectsV2"));
            assert_eq!(err.bucket(), Some("somebucket"));
            assert_eq!(err.endpoint(), Some(endpoint.as_str()));
            // The error names every source read, in one line.
            let text = err.to_string();
            for read in [
                "S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY",
                "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY",
                "the profile `default` (AWS_PROFILE) in /nonexistent/ms-utils-aws-credentials",
                "/nonexistent/ms-utils-aws-config (AWS_CONFIG_FILE)",
                "AWS_WEB_IDENTITY_TOKEN_FILE",
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            ] {
                assert!(text.contains(read), "{read} in: {text}");
            }
            let imds_off = std::env::var_os("MS_UTILS_S3_CHILD_IMDS_ON").is_none();
            assert_eq!(
                text.contains("EC2 instance metadata (off: AWS_EC2_METADATA_DISABLED)"),
                imds_off,
                "{text}"
            );
            assert!(text.contains("EC2 instance metadata"), "{text}");
            assert!(!text.contains('\n'), "{text}");
            // aws-config's search logged nothing at INFO or above (its
            // lines are at DEBUG now; with the instance metadata on, the
            // region it asked there warned at length). What stays is
            // aws-runtime's one line per profile file named by a variable
            // and missing, which the user set.
            let shown = logs.text();
            assert!(!shown.contains("aws_config"), "{shown}");
            for line in shown.lines().filter(|l| l.contains("aws_runtime")) {
                assert!(
                    line.contains("config file overridden via environment variable not found"),
                    "{line}"
                );
            }
        },
    );
}

/// No keys configured and none in the AWS chain: a typed credentials error
/// before anything is sent, not a transport failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_credentials_are_a_credentials_error() {
    let t = TestS3::start().await;
    let (endpoint, _, _) = t.endpoint_and_keys();
    let mut child = child_test("s3::errors::missing_credentials_child");
    child
        .env("MS_UTILS_S3_CHILD_ENDPOINT", endpoint)
        .env("AWS_CONFIG_FILE", "/nonexistent/ms-utils-aws-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/ms-utils-aws-credentials",
        )
        .env("AWS_EC2_METADATA_DISABLED", "true");
    for var in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "S3_ACCESS_KEY_ID",
        "S3_SECRET_ACCESS_KEY",
    ] {
        child.env_remove(var);
    }
    let out = child.output().unwrap();
    assert_child_passed(&out);

    // Instance metadata on, as on a developer's machine, at an address
    // that refuses: the same one line, and aws-config's search stays quiet.
    child
        .env_remove("AWS_EC2_METADATA_DISABLED")
        .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1")
        .env("MS_UTILS_S3_CHILD_IMDS_ON", "1");
    let out = child.output().unwrap();
    assert_child_passed(&out);
}
