//! Configuration from the environment, read when called.

use super::support::TestS3;
use ms_utils_communication::s3::{S3BucketClient, S3Config};
use ms_utils_dev::testing::{assert_child_passed, assert_in_child, child_test};

/// The child half of `from_env_reads_the_variables_when_called`: runs only
/// inside the re-executed test binary, where the variables are set (tests
/// may not set variables in their own process: `set_var` is unsafe).
#[tokio::test]
#[ignore = "child half of the two from_env tests below, run by them in a child process"]
async fn from_env_child() {
    assert_in_child();
    let bucket = std::env::var("MS_UTILS_S3_CHILD_BUCKET").expect("the parent names the bucket");
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
    // In-process server: the child reads the dev server's keys.
    let t = TestS3::dev().await;
    let server = t.dev_server();
    let out = child_test("s3::config::from_env_child")
        .env("MS_UTILS_S3_CHILD_BUCKET", &t.bucket)
        .env("S3_ENDPOINT", server.endpoint())
        .env("S3_ACCESS_KEY_ID", server.access_key())
        .env("S3_SECRET_ACCESS_KEY", server.secret_key())
        .env_remove("S3_REGION")
        .env_remove("AWS_REGION")
        .output()
        .unwrap();
    assert_child_passed(&out);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_s3_keys_the_standard_aws_chain_is_used() {
    // In-process server: the child reads the dev server's keys.
    let t = TestS3::dev().await;
    let server = t.dev_server();
    // No S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY: the keys come from the
    // AWS chain's environment provider; no profile file, no instance metadata.
    let out = child_test("s3::config::from_env_child")
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
    assert_child_passed(&out);
}
