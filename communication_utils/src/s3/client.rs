//! `S3BucketClient`: construction and the small operations (everything but
//! the transfers, which live in `upload.rs` and `download.rs`).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, SystemTime};

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_credential_types::Credentials;
use aws_sdk_s3::config::{Region, RequestChecksumCalculation, ResponseChecksumValidation};
use aws_sdk_s3::operation::head_object::HeadObjectOutput;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::types::ObjectCannedAcl;
use aws_smithy_runtime_api::client::http::SharedHttpClient;

use super::config::{S3Config, TransferConfig};
use super::copy_options::{CopyOptions, MetadataOptions};
use super::credentials::ChainNamingSources;
use super::encryption::SseCustomerKey;
use super::error::{Error, endpoint_label};
use super::http_client::S3HttpClient;
use super::metadata::ObjectMetadata;
use super::object_args::with_sse_c;
use crate::percent::percent_encode;

/// The bucket client: every operation of the original `S3BucketClient`, with
/// typed errors instead of `False`/`None`.
///
/// Cheap to clone (the SDK client inside is reference-counted); share one per
/// process. `Send + Sync`.
///
/// ```no_run
/// use ms_utils_communication::s3::{S3BucketClient, UploadOptions};
///
/// # async fn run() -> Result<(), ms_utils_communication::s3::Error> {
/// let client = S3BucketClient::from_env("documents").await?;
/// client.test_connection().await?;
/// client.upload_file("report.pdf", "my-bucket", None, UploadOptions::new()).await?;
/// let keys = client.list_files("my-bucket").await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct S3BucketClient {
    pub(crate) sdk: aws_sdk_s3::Client,
    pub(crate) transfer: TransferConfig,
    bucket_type: String,
    endpoint: Option<String>,
    region: String,
    /// The endpoint URL errors name (see [`Error::endpoint`]).
    pub(crate) target: Arc<str>,
    /// The store refused a checksum header: uploads send none from now on
    /// (see `upload_checksum.rs`).
    pub(crate) checksums_refused: Arc<AtomicBool>,
}

impl fmt::Debug for S3BucketClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3BucketClient")
            .field("bucket_type", &self.bucket_type)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl S3BucketClient {
    /// Builds a client from `S3_ENDPOINT`, `S3_ACCESS_KEY_ID`,
    /// `S3_SECRET_ACCESS_KEY` and `S3_REGION` (default `fr-par`), read now;
    /// without the keys, from the standard AWS credential chain.
    /// `bucket_type` is kept for parity with the original (see [`bucket_type`](Self::bucket_type)).
    ///
    /// # Errors
    /// [`Error::Config`] for a malformed endpoint. No request is sent: use
    /// [`test_connection`](Self::test_connection) to check the credentials.
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), ms_utils_communication::s3::Error> {
    /// let client = ms_utils_communication::s3::S3BucketClient::from_env("images").await?;
    /// # Ok(()) }
    /// ```
    pub async fn from_env(bucket_type: impl Into<String>) -> Result<Self, Error> {
        Self::new(bucket_type, S3Config::from_env()?).await
    }

    /// Builds a client from an explicit configuration.
    ///
    /// # Errors
    /// [`Error::Config`] when the extra CA certificate is not PEM or the
    /// proxy URL is unusable.
    ///
    /// ```no_run
    /// use ms_utils_communication::s3::{S3BucketClient, S3Config};
    /// # async fn f() -> Result<(), ms_utils_communication::s3::Error> {
    /// let config = S3Config::builder()
    ///     .endpoint("https://s3.fr-par.scw.cloud")
    ///     .credentials("SCW...", "...")
    ///     .build()?;
    /// let client = S3BucketClient::new("images", config).await?;
    /// # Ok(()) }
    /// ```
    pub async fn new(bucket_type: impl Into<String>, config: S3Config) -> Result<Self, Error> {
        let mut timeouts = TimeoutConfig::builder().connect_timeout(config.connect_timeout);
        if let Some(t) = config.read_timeout {
            timeouts = timeouts.read_timeout(t);
        }
        if let Some(t) = config.operation_timeout {
            timeouts = timeouts.operation_timeout(t);
        }
        if let Some(t) = config.attempt_timeout {
            timeouts = timeouts.operation_attempt_timeout(t);
        }
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(config.region.clone()))
            .timeout_config(timeouts.build())
            .retry_config(RetryConfig::standard().with_max_attempts(config.max_attempts));
        if let Some(ep) = &config.endpoint {
            loader = loader.endpoint_url(ep.clone());
        }
        // Our own HTTP client in every case, so that the proxy holds with an
        // extra CA too (see `http_client.rs`).
        let http = SharedHttpClient::new(S3HttpClient::new(
            config.extra_ca_pem.as_deref(),
            config.proxy.as_ref(),
        )?);
        if let Some(proxy) = &config.proxy {
            tracing::debug!(proxy = %proxy.shown(), source = proxy.source, "S3 client: through a proxy");
        }
        loader = match &config.keys {
            Some(k) => loader.credentials_provider(Credentials::new(
                k.access_key.clone(),
                k.secret_key.clone(),
                k.session_token.clone(),
                None,
                "ms_utils",
            )),
            // The standard chain, its failure naming what it read.
            // (Boxed: the chain's construction is a large future, kept off
            // the caller's stack.)
            None => loader.credentials_provider(
                Box::pin(ChainNamingSources::new(
                    Region::new(config.region.clone()),
                    http.clone(),
                    config.s3_key_variables_read,
                ))
                .await,
            ),
        };
        loader = loader.http_client(http);
        let shared = loader.load().await;
        let mut b =
            aws_sdk_s3::config::Builder::from(&shared).force_path_style(config.force_path_style);
        if config.checksums_when_required {
            b = b
                .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
                .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
        }
        Ok(S3BucketClient {
            sdk: aws_sdk_s3::Client::from_conf(b.build()),
            transfer: config.transfer,
            bucket_type: bucket_type.into(),
            target: endpoint_label(config.endpoint.as_deref(), &config.region).into(),
            checksums_refused: Arc::new(AtomicBool::new(false)),
            endpoint: config.endpoint,
            region: config.region,
        })
    }

    /// The `bucket_type` given at construction (the original stores it too).
    ///
    /// ```no_run
    /// # async fn f(c: ms_utils_communication::s3::S3BucketClient) { assert_eq!(c.bucket_type(), "images"); }
    /// ```
    pub fn bucket_type(&self) -> &str {
        &self.bucket_type
    }

    /// The underlying `aws_sdk_s3::Client`, for operations this client does not wrap.
    ///
    /// ```no_run
    /// # async fn f(c: ms_utils_communication::s3::S3BucketClient) -> Result<(), Box<dyn std::error::Error>> {
    /// c.sdk().create_bucket().bucket("new-bucket").send().await?;
    /// # Ok(()) }
    /// ```
    pub fn sdk(&self) -> &aws_sdk_s3::Client {
        &self.sdk
    }

    /// Checks the endpoint and credentials by listing buckets.
    ///
    /// # Errors
    /// [`Error::AccessDenied`] for wrong credentials, [`Error::Transport`] or
    /// [`Error::Timeout`] when the endpoint is unreachable.
    ///
    /// ```no_run
    /// # async fn f(c: ms_utils_communication::s3::S3BucketClient) {
    /// if let Err(e) = c.test_connection().await { eprintln!("S3 unusable: {e}"); }
    /// # }
    /// ```
    pub async fn test_connection(&self) -> Result<(), Error> {
        self.list_buckets().await.map(|_| ())
    }

    /// Names of all buckets the credentials can see.
    ///
    /// # Errors
    /// As for [`test_connection`](Self::test_connection).
    ///
    /// ```no_run
    /// # async fn f(c: ms_utils_communication::s3::S3BucketClient) -> Result<(), ms_utils_communication::s3::Error> {
    /// for name in c.list_buckets().await? { println!("{name}"); }
    /// # Ok(()) }
    /// ```
    pub async fn list_buckets(&self) -> Result<Vec<String>, Error> {
        let out = self
            .sdk
            .list_buckets()
            .send()
            .await
            .map_err(|e| Error::from_sdk(&self.target, "ListBuckets", "", None, e))?;
        Ok(out
            .buckets
            .unwrap_or_default()
            .into_iter()
            .filter_map(|b| b.name)
            .collect())
    }

    /// Deletes an object. Deleting a key that does not exist succeeds (S3 semantics).
    ///
    /// # Errors
    /// [`Error::NotFound`] when the bucket does not exist; [`Error::AccessDenied`].
    ///
    /// ```no_run
    /// # async fn f(c: ms_utils_communication::s3::S3BucketClient) -> Result<(), ms_utils_communication::s3::Error> {
    /// c.delete_file("bucket", "old/report.pdf").await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_file(&self, bucket: &str, key: &str) -> Result<(), Error> {
        self.sdk
            .delete_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| Error::from_sdk(&self.target, "DeleteObject", bucket, Some(key), e))?;
        Ok(())
    }

    /// Sets a canned ACL on an object (`private`, `public-read`, ...).
    ///
    /// # Errors
    /// [`Error::NotFound`]; a [`Error::Service`] for which
    /// [`is_not_implemented`](Error::is_not_implemented) is true on stores
    /// without object ACLs.
    ///
    /// ```no_run
    /// # async fn f(c: ms_utils_communication::s3::S3BucketClient) -> Result<(), ms_utils_communication::s3::Error> {
    /// c.set_file_permission("bucket", "site/index.html", "public-read").await?;
    /// # Ok(()) }
    /// ```
    pub async fn set_file_permission(
        &self,
        bucket: &str,
        key: &str,
        acl: &str,
    ) -> Result<(), Error> {
        self.sdk
            .put_object_acl()
            .bucket(bucket)
            .key(key)
            .acl(ObjectCannedAcl::from(acl))
            .send()
            .await
            .map_err(|e| Error::from_sdk(&self.target, "PutObjectAcl", bucket, Some(key), e))?;
        Ok(())
    }

    /// The object's user metadata (keys lower-case, values decoded; see
    /// [`ObjectMetadata`]) with its size, type, ETag and date.
    ///
    /// # Errors
    /// [`Error::NotFound`] for a missing bucket or key.
    ///
    /// ```no_run
    /// # async fn f(c: ms_utils_communication::s3::S3BucketClient) -> Result<(), ms_utils_communication::s3::Error> {
    /// let meta = c.get_file_metadata("bucket", "report.pdf").await?;
    /// assert_eq!(meta.get("FileType"), Some("application/pdf"));
    /// # Ok(()) }
    /// ```
    pub async fn get_file_metadata(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<ObjectMetadata, Error> {
        self.get_file_metadata_with(bucket, key, MetadataOptions::new())
            .await
    }

    /// [`get_file_metadata`](Self::get_file_metadata) with options: the
    /// SSE-C key of an object written with one.
    ///
    /// # Errors
    /// As for [`get_file_metadata`](Self::get_file_metadata);
    /// [`Error::SseCustomerKey`] when the object is SSE-C and the key is
    /// missing or another.
    ///
    /// ```no_run
    /// # async fn f(c: ms_utils_communication::s3::S3BucketClient, key: ms_utils_communication::s3::SseCustomerKey) -> Result<(), ms_utils_communication::s3::Error> {
    /// use ms_utils_communication::s3::MetadataOptions;
    /// let meta = c
    ///     .get_file_metadata_with("bucket", "secret.pdf", MetadataOptions::new().sse_customer_key(key))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn get_file_metadata_with(
        &self,
        bucket: &str,
        key: &str,
        options: MetadataOptions,
    ) -> Result<ObjectMetadata, Error> {
        let out = self
            .head_object_full(
                bucket,
                key,
                options.version_id.as_deref(),
                options.customer_key.as_ref(),
            )
            .await?;
        Ok(metadata_of(out))
    }

    /// True when the object exists.
    ///
    /// # Errors
    /// [`Error::NotFound`] with [`is_bucket_not_found`](Error::is_bucket_not_found)
    /// when the *bucket* is missing (a HEAD answer has no body, so a 404 is
    /// followed by a HeadBucket to tell which), and any other failure.
    ///
    /// ```no_run
    /// # async fn f(c: ms_utils_communication::s3::S3BucketClient) -> Result<(), ms_utils_communication::s3::Error> {
    /// if !c.exists("bucket", "cache/result.json").await? { /* compute it */ }
    /// # Ok(()) }
    /// ```
    pub async fn exists(&self, bucket: &str, key: &str) -> Result<bool, Error> {
        match self.get_file_metadata(bucket, key).await {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() && !e.is_bucket_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// [`head_object_full`](Self::head_object_full) of an object written
    /// with the SSE-C key `customer_key`.
    pub(crate) async fn head_object_with(
        &self,
        bucket: &str,
        key: &str,
        customer_key: Option<&SseCustomerKey>,
    ) -> Result<HeadObjectOutput, Error> {
        self.head_object_full(bucket, key, None, customer_key).await
    }

    /// `err`, of a HEAD or GET of `bucket`/`key` (a version of it, if
    /// given) that carried `customer_key` (or none), as an
    /// [`Error::SseCustomerKey`] when it is S3's refusal of an SSE-C object;
    /// else unchanged. Without a key S3 answers 400; with another key 403,
    /// which wrong credentials answer too: the same HEAD without a key tells
    /// them apart (400 again means the object wants a key).
    pub(crate) async fn sse_c_refusal(
        &self,
        err: Error,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
        customer_key: Option<&SseCustomerKey>,
    ) -> Error {
        match customer_key {
            None if err.is_bad_request() => err.into_sse_customer_key(false),
            Some(_) if err.is_access_denied() => {
                let probe = self
                    .sdk
                    .head_object()
                    .bucket(bucket)
                    .key(key)
                    .set_version_id(version_id.map(str::to_owned))
                    .send()
                    .await
                    .map_err(|e| Error::from_sdk(&self.target, "HeadObject", bucket, Some(key), e));
                if probe.is_err_and(|e| e.is_bad_request()) {
                    err.into_sse_customer_key(true)
                } else {
                    err
                }
            }
            _ => err,
        }
    }

    /// HEAD on an object (a version of it, if given, written with the SSE-C
    /// key `customer_key`, if any) that tells a missing bucket from a
    /// missing key. A HEAD answer has no body, so both arrive as a bare 404
    /// (code `NotFound`); on a 404 a HeadBucket decides, and the error's code
    /// becomes `NoSuchBucket`, or `NoSuchKey` (`NoSuchVersion` when a
    /// version was asked for).
    pub(crate) async fn head_object_full(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
        customer_key: Option<&SseCustomerKey>,
    ) -> Result<HeadObjectOutput, Error> {
        let res = with_sse_c!(self.sdk.head_object(), customer_key)
            .bucket(bucket)
            .key(key)
            .set_version_id(version_id.map(str::to_owned))
            .send()
            .await;
        let mut err = match res {
            Ok(out) => return Ok(out),
            Err(e) => Error::from_sdk(&self.target, "HeadObject", bucket, Some(key), e),
        };
        if (customer_key.is_none() && err.is_bad_request())
            || (customer_key.is_some() && err.is_access_denied())
        {
            return Err(self
                .sse_c_refusal(err, bucket, key, version_id, customer_key)
                .await);
        }
        if !err.is_not_found() {
            return Err(err);
        }
        match self.sdk.head_bucket().bucket(bucket).send().await {
            Ok(_) if version_id.is_some() => set_code(&mut err, "NoSuchVersion"),
            Ok(_) => set_code(&mut err, "NoSuchKey"),
            Err(e) => {
                let mut bucket_err = Error::from_sdk(&self.target, "HeadBucket", bucket, None, e);
                if bucket_err.is_not_found() {
                    set_code(&mut bucket_err, "NoSuchBucket");
                    return Err(bucket_err);
                }
                // The bucket check itself failed (e.g. no right to HEAD the
                // bucket): the object's 404 is the better answer.
            }
        }
        Err(err)
    }

    /// Copies an object on the server side, of any size, metadata included:
    /// the user metadata (the Python-compatible `FileName`, `FileSize`, ...
    /// as stored), content type and other headers. Up to 5 GiB (one
    /// `CopyObject`'s limit) it is one request; above, a multipart copy
    /// (`UploadPartCopy` of 1 GiB ranges, done in parallel up to the transfer
    /// concurrency, aborted on failure). The copy is pinned to the source's
    /// ETag and checked by size once done.
    ///
    /// # Errors
    /// [`Error::NotFound`] when the source is missing (the error of the
    /// `HeadObject` sent first); [`Error::Integrity`] when the copy's size is
    /// not the source's; a `PreconditionFailed` [`Error::Service`] when the
    /// source was replaced during the copy.
    ///
    /// ```no_run
    /// # async fn f(c: ms_utils_communication::s3::S3BucketClient) -> Result<(), ms_utils_communication::s3::Error> {
    /// c.copy("bucket", "a.txt", "archive", "2024/a.txt").await?;
    /// # Ok(()) }
    /// ```
    pub async fn copy(
        &self,
        src_bucket: &str,
        src_key: &str,
        dst_bucket: &str,
        dst_key: &str,
    ) -> Result<(), Error> {
        self.copy_with(src_bucket, src_key, dst_bucket, dst_key, CopyOptions::new())
            .await
    }

    /// [`copy`](Self::copy) with options (boto3's `copy(..., ExtraArgs=...)`):
    /// the source's SSE-C key, and the copy's encryption, storage class,
    /// tags, ACL, Content-Type and standard headers (see [`CopyOptions`]).
    /// A header or Content-Type given replaces the source's headers (its
    /// user metadata is kept); tags given replace the source's. Above 5 GiB
    /// (a multipart copy) the source's tags are not copied: give them.
    ///
    /// # Errors
    /// As for [`copy`](Self::copy); [`Error::SseCustomerKey`] when the
    /// source is SSE-C and its key is missing or wrong.
    ///
    /// ```no_run
    /// # async fn f(c: ms_utils_communication::s3::S3BucketClient) -> Result<(), ms_utils_communication::s3::Error> {
    /// use ms_utils_communication::s3::{CopyOptions, Encryption};
    /// let options = CopyOptions::new().encryption(Encryption::S3).storage_class("STANDARD_IA");
    /// c.copy_with("bucket", "a.txt", "archive", "2024/a.txt", options).await?;
    /// # Ok(()) }
    /// ```
    pub async fn copy_with(
        &self,
        src_bucket: &str,
        src_key: &str,
        dst_bucket: &str,
        dst_key: &str,
        options: CopyOptions,
    ) -> Result<(), Error> {
        let version = options.source_version.as_deref();
        self.copy_object(
            (src_bucket, src_key, version),
            (dst_bucket, dst_key),
            &options,
        )
        .await
    }

    /// A URL anyone can GET the object with, until `expires_in` has passed (max 7 days).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an expiry over 7 days.
    ///
    /// ```no_run
    /// # async fn f(c: ms_utils_communication::s3::S3BucketClient) -> Result<(), ms_utils_communication::s3::Error> {
    /// let url = c.presigned_get("bucket", "a.pdf", std::time::Duration::from_secs(600)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn presigned_get(
        &self,
        bucket: &str,
        key: &str,
        expires_in: Duration,
    ) -> Result<String, Error> {
        let req = self
            .sdk
            .get_object()
            .bucket(bucket)
            .key(key)
            .presigned(presign_config(expires_in)?)
            .await
            .map_err(|e| Error::from_sdk(&self.target, "GetObject", bucket, Some(key), e))?;
        Ok(req.uri().to_owned())
    }

    /// A URL anyone can PUT the object's bytes to, until `expires_in` has passed.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an expiry over 7 days.
    ///
    /// ```no_run
    /// # async fn f(c: ms_utils_communication::s3::S3BucketClient) -> Result<(), ms_utils_communication::s3::Error> {
    /// let url = c.presigned_put("bucket", "incoming/x.bin", std::time::Duration::from_secs(600)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn presigned_put(
        &self,
        bucket: &str,
        key: &str,
        expires_in: Duration,
    ) -> Result<String, Error> {
        let req = self
            .sdk
            .put_object()
            .bucket(bucket)
            .key(key)
            .presigned(presign_config(expires_in)?)
            .await
            .map_err(|e| Error::from_sdk(&self.target, "PutObject", bucket, Some(key), e))?;
        Ok(req.uri().to_owned())
    }
}

/// What a HEAD answer says of an object, as [`ObjectMetadata`].
pub(crate) fn metadata_of(out: HeadObjectOutput) -> ObjectMetadata {
    let mut meta = ObjectMetadata::from_parts(
        out.metadata.as_ref(),
        out.content_length
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(0),
        out.content_type,
        out.e_tag,
        out.last_modified.and_then(|t| SystemTime::try_from(t).ok()),
    );
    meta.version_id = out.version_id;
    meta
}

fn set_code(err: &mut Error, new: &str) {
    if let Error::NotFound { code, .. } = err {
        *code = Some(new.into());
    }
}

fn presign_config(expires_in: Duration) -> Result<PresigningConfig, Error> {
    PresigningConfig::expires_in(expires_in)
        .map_err(|e| Error::InvalidInput(format!("presigned URL expiry: {e}")))
}

/// Percent-encodes a key for `x-amz-copy-source`, keeping `/`.
pub(crate) fn encode_key(key: &str) -> String {
    percent_encode(key, b"/")
}

/// `x-amz-copy-source` of a key, or of one version of it.
pub(crate) fn copy_source(bucket: &str, key: &str, version_id: Option<&str>) -> String {
    match version_id {
        Some(v) => format!(
            "{bucket}/{}?versionId={}",
            encode_key(key),
            percent_encode(v, b"")
        ),
        None => format!("{bucket}/{}", encode_key(key)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn _assert_impls() {
        fn check<T: Send + Sync + Clone + 'static>() {}
        check::<S3BucketClient>();
    }

    #[test]
    fn copy_source_keys_are_percent_encoded() {
        assert_eq!(encode_key("a b/café+1.txt"), "a%20b/caf%C3%A9%2B1.txt");
    }

    #[test]
    fn a_copy_source_version_is_percent_encoded_whole() {
        assert_eq!(copy_source("b", "k/x y", None), "b/k/x%20y");
        assert_eq!(
            copy_source("b", "k", Some("3/L4+k=")),
            "b/k?versionId=3%2FL4%2Bk%3D"
        );
    }
}
