//! Configuration from the environment, read when called.
#![cfg(feature = "s3")]

mod common_s3;

use std::process::Command;

use common_s3::TestS3;
use ms_utils_communication::s3::{S3BucketClient, S3Config};

/// The child half of `from_env_reads_the_variables_when_called`: runs only
/// inside the re-executed test binary, where the variables are set (tests
/// may not set variables in their own process: `set_var` is unsafe).
#[tokio::test]
async fn from_env_child() {
    let Ok(bucket) = std::env::var("MS_UTILS_S3_CHILD_BUCKET") else {
        return;
    };
    let config = S3Config::from_env().unwrap();
    assert_eq!(config.region(), "fr-par");
    let secret = std::env::var("S3_SECRET_ACCESS_KEY").unwrap_or_default();
    if secret.is_empty() {
        assert_eq!(config.access_key(), None, "keys left to the AWS chain");
    } else {
        assert!(!format!("{config:?}").contains(&secret));
    }
    let client = S3BucketClient::from_env("child").await.unwrap();
    assert!(client.list_buckets().await.unwrap().contains(&bucket));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_env_reads_the_variables_when_called() {
    let t = TestS3::start().await;
    if t.skip_on_external("the child reads the dev server's keys") {
        return;
    }
    let server = t.server.as_ref().unwrap();
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["from_env_child", "--exact", "--nocapture"])
        .env("MS_UTILS_S3_CHILD_BUCKET", &t.bucket)
        .env("S3_ENDPOINT", server.endpoint())
        .env("S3_ACCESS_KEY_ID", server.access_key())
        .env("S3_SECRET_ACCESS_KEY", server.secret_key())
        .env_remove("S3_REGION")
        .env_remove("AWS_REGION")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("1 passed"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_s3_keys_the_standard_aws_chain_is_used() {
    let t = TestS3::start().await;
    if t.skip_on_external("the child reads the dev server's keys") {
        return;
    }
    let server = t.server.as_ref().unwrap();
    // No S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY: the keys come from the
    // AWS chain's environment provider; no profile file, no instance metadata.
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["from_env_child", "--exact", "--nocapture"])
        .env("MS_UTILS_S3_CHILD_BUCKET", &t.bucket)
        .env("S3_ENDPOINT", server.endpoint())
        .env_remove("S3_ACCESS_KEY_ID")
        .env("S3_SECRET_ACCESS_KEY", "")
        .env("AWS_ACCESS_KEY_ID", server.access_key())
        .env("AWS_SECRET_ACCESS_KEY", server.secret_key())
        .env("AWS_CONFIG_FILE", "/nonexistent/ms-utils-aws-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/ms-utils-aws-credentials",
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("S3_REGION")
        .env_remove("AWS_REGION")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("1 passed"), "{text}");
}
