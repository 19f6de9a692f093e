//! Client configuration: endpoint, region, credentials, TLS, timeouts,
//! retries and transfer tuning.

use std::fmt;
use std::time::Duration;

use super::error::Error;
use super::proxy::{Proxy, ProxySetting};

/// The region the original client always used (Scaleway Paris).
pub const DEFAULT_REGION: &str = "fr-par";

/// Sizes and parallelism of large transfers.
///
/// The defaults were chosen from `cargo run --release --example s3_bench`
/// (see `BENCHMARKS.md`): 8 MiB parts (boto3's default), 4 parts in flight
/// (memory for a file upload stays near one part per task; a file is never
/// read whole), downloads split into 8 MiB ranges fetched 16 at a time.
///
/// ```
/// use ms_utils_communication::s3::TransferConfig;
///
/// let mut t = TransferConfig::default();
/// t.part_size = 16 * 1024 * 1024;
/// t.concurrency = 8;
/// assert!(t.multipart_threshold >= 5 * 1024 * 1024);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransferConfig {
    /// Uploads of at least this many bytes go multipart (default 8 MiB, boto3's).
    pub multipart_threshold: u64,
    /// Size of each multipart part (default 8 MiB; S3's minimum is 5 MiB,
    /// and at most 10,000 parts are allowed: larger files get larger parts).
    pub part_size: u64,
    /// Parts uploaded at once (default 4). Memory is bounded by this times
    /// `part_size` for streams; file parts are streamed from disk.
    pub concurrency: usize,
    /// Objects of at least this size are downloaded as parallel ranges (default 16 MiB).
    pub download_threshold: u64,
    /// Size of each download range (default 8 MiB).
    pub download_part_size: u64,
    /// Ranges fetched at once (default 16). Each range in flight holds about
    /// 1.3 MiB (socket, body and file buffers): a 256 MiB download peaked at
    /// 41 MiB of RSS with 16 ranges and 30 MiB with 8 (measured in a process
    /// of its own); lower it where memory matters more than speed.
    pub download_concurrency: usize,
    /// Verify downloaded content (default true): against a stored
    /// full-object checksum, else the ETag (the MD5 of a single PUT, or, for
    /// a multipart object, the MD5 of its parts' MD5s, fetched by part
    /// number); see `S3BucketClient::download_file`. False turns all of it
    /// off. Sizes are always verified.
    pub verify_checksums: bool,
    /// Whether uploads store a full-object CRC64NVME checksum for later
    /// downloads to check (default [`UploadChecksum::Auto`]: sent, and
    /// dropped for a store that refuses checksum headers).
    pub upload_checksum: UploadChecksum,
}

impl Default for TransferConfig {
    fn default() -> Self {
        const MIB: u64 = 1024 * 1024;
        TransferConfig {
            multipart_threshold: 8 * MIB,
            part_size: 8 * MIB,
            concurrency: 4,
            download_threshold: 16 * MIB,
            download_part_size: 8 * MIB,
            // Measured on s3s-fs (examples/bench/S3_BENCHMARKS.md, runs 7-8):
            // 16 ranges 310-332 MB/s, 12 290-305, 8 265-299; boto3 (10
            // threads) 269-288 in the same runs.
            download_concurrency: 16,
            verify_checksums: true,
            upload_checksum: UploadChecksum::Auto,
        }
    }
}

/// Static credentials; the secret never appears in `Debug`.
#[derive(Clone)]
pub(crate) struct StaticKeys {
    pub(crate) access_key: String,
    pub(crate) secret_key: String,
    pub(crate) session_token: Option<String>,
}

/// Everything [`S3BucketClient::new`](super::S3BucketClient::new) needs.
///
/// Build it with [`S3Config::builder`] or read it from the environment with
/// [`S3Config::from_env`]. Its `Debug` output never shows the secret key.
///
/// ```
/// use ms_utils_communication::s3::S3Config;
///
/// let config = S3Config::builder()
///     .endpoint("https://s3.fr-par.scw.cloud")
///     .credentials("SCWXXXXXXXX", "secret")
///     .build()?;
/// assert!(!format!("{config:?}").contains("secret\""));
/// # Ok::<(), ms_utils_communication::s3::Error>(())
/// ```
#[derive(Clone)]
pub struct S3Config {
    pub(crate) endpoint: Option<String>,
    pub(crate) region: String,
    pub(crate) keys: Option<StaticKeys>,
    pub(crate) force_path_style: bool,
    pub(crate) checksums_when_required: bool,
    pub(crate) extra_ca_pem: Option<Vec<u8>>,
    /// The proxy every connection takes (resolved by `build`).
    pub(crate) proxy: Option<Proxy>,
    pub(crate) connect_timeout: Duration,
    pub(crate) read_timeout: Option<Duration>,
    pub(crate) operation_timeout: Option<Duration>,
    pub(crate) attempt_timeout: Option<Duration>,
    pub(crate) max_attempts: u32,
    pub(crate) transfer: TransferConfig,
    /// `S3_ACCESS_KEY_ID` / `S3_SECRET_ACCESS_KEY` were read (`from_env`)
    /// and not both set: a missing-credentials error names them too.
    pub(crate) s3_key_variables_read: bool,
}

impl fmt::Debug for S3Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field(
                "access_key",
                &self.keys.as_ref().map(|k| k.access_key.as_str()),
            )
            .field("secret_key", &self.keys.as_ref().map(|_| "<redacted>"))
            .field("force_path_style", &self.force_path_style)
            .field("checksums_when_required", &self.checksums_when_required)
            .field("extra_ca", &self.extra_ca_pem.is_some())
            .field("proxy", &self.proxy)
            .field("connect_timeout", &self.connect_timeout)
            .field("read_timeout", &self.read_timeout)
            .field("operation_timeout", &self.operation_timeout)
            .field("attempt_timeout", &self.attempt_timeout)
            .field("max_attempts", &self.max_attempts)
            .field("transfer", &self.transfer)
            .finish()
    }
}

impl S3Config {
    /// A builder with the defaults: region `fr-par`, credentials from the
    /// standard AWS chain, 10 s connect timeout, 3 attempts (standard retry mode).
    ///
    /// ```
    /// let builder = ms_utils_communication::s3::S3Config::builder();
    /// let config = builder.region("nl-ams").build()?;
    /// assert_eq!(config.region(), "nl-ams");
    /// # Ok::<(), ms_utils_communication::s3::Error>(())
    /// ```
    pub fn builder() -> S3ConfigBuilder {
        S3ConfigBuilder::default()
    }

    /// Reads `S3_ENDPOINT`, `S3_ACCESS_KEY_ID`, `S3_SECRET_ACCESS_KEY` and
    /// `S3_REGION` (else `AWS_REGION`, else `fr-par`) now, at call time.
    /// Without both keys the standard AWS chain supplies credentials
    /// (`AWS_ACCESS_KEY_ID`, profiles, instance roles, ...).
    ///
    /// # Errors
    /// [`Error::Config`] when `S3_ENDPOINT` is not an `http(s)://` URL.
    ///
    /// ```no_run
    /// let config = ms_utils_communication::s3::S3Config::from_env()?;
    /// # Ok::<(), ms_utils_communication::s3::Error>(())
    /// ```
    pub fn from_env() -> Result<S3Config, Error> {
        S3ConfigBuilder::from_env().build()
    }

    /// The endpoint URL, if a custom one is set.
    ///
    /// ```
    /// let c = ms_utils_communication::s3::S3Config::builder().build()?;
    /// assert_eq!(c.endpoint(), None);
    /// # Ok::<(), ms_utils_communication::s3::Error>(())
    /// ```
    pub fn endpoint(&self) -> Option<&str> {
        self.endpoint.as_deref()
    }

    /// The signing region.
    ///
    /// ```
    /// let c = ms_utils_communication::s3::S3Config::builder().build()?;
    /// assert_eq!(c.region(), "fr-par");
    /// # Ok::<(), ms_utils_communication::s3::Error>(())
    /// ```
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The access key id, if static credentials are set.
    ///
    /// ```
    /// let c = ms_utils_communication::s3::S3Config::builder().credentials("AK", "SK").build()?;
    /// assert_eq!(c.access_key(), Some("AK"));
    /// # Ok::<(), ms_utils_communication::s3::Error>(())
    /// ```
    pub fn access_key(&self) -> Option<&str> {
        self.keys.as_ref().map(|k| k.access_key.as_str())
    }

    /// The transfer tuning in use.
    ///
    /// ```
    /// let c = ms_utils_communication::s3::S3Config::builder().build()?;
    /// assert_eq!(c.transfer().part_size, 8 * 1024 * 1024);
    /// # Ok::<(), ms_utils_communication::s3::Error>(())
    /// ```
    pub fn transfer(&self) -> &TransferConfig {
        &self.transfer
    }
}

/// Builder for [`S3Config`]; setters never fail, [`build`](Self::build) validates.
///
/// # Proxies
/// Every connection of the client (with or without an
/// [extra CA](Self::extra_ca_pem)) goes through the HTTP proxy the
/// environment names, as boto3 reads it: `HTTPS_PROXY` for an `https://`
/// endpoint (and AWS), `HTTP_PROXY` for an `http://` one, else `ALL_PROXY`;
/// lower-case spellings first, empty values unset, `host:port` read as
/// `http://host:port`. `NO_PROXY` (`*`, names with their subdomains, IP
/// addresses, CIDR blocks, as curl reads it) lists hosts reached directly.
/// The variables are read by [`build`](Self::build).
/// [`proxy`](Self::proxy) names one explicitly and [`no_proxy`](Self::no_proxy)
/// turns them off. An `https://` endpoint is reached through an HTTP
/// `CONNECT` tunnel (TLS to the endpoint inside it), an `http://` one by
/// forwarding; `user:password@` in the URL is sent as Basic credentials and
/// never appears in `Debug` output, errors or logs. The gateway client
/// (`ws::WsConfigBuilder`, feature `ws`) reads the
/// same variables the same way.
///
/// ```
/// use std::time::Duration;
/// use ms_utils_communication::s3::S3Config;
///
/// let config = S3Config::builder()
///     .endpoint("http://127.0.0.1:9000")
///     .credentials("minio", "minio123")
///     .connect_timeout(Duration::from_secs(2))
///     .max_attempts(5)
///     .build()?;
/// # Ok::<(), ms_utils_communication::s3::Error>(())
/// ```
#[derive(Clone, Default)]
#[must_use]
pub struct S3ConfigBuilder {
    endpoint: Option<String>,
    region: Option<String>,
    keys: Option<StaticKeys>,
    force_path_style: Option<bool>,
    checksums_when_required: Option<bool>,
    extra_ca_pem: Option<Vec<u8>>,
    proxy: ProxySetting,
    connect_timeout: Option<Duration>,
    read_timeout: Option<Duration>,
    operation_timeout: Option<Duration>,
    attempt_timeout: Option<Duration>,
    max_attempts: Option<u32>,
    transfer: Option<TransferConfig>,
    s3_key_variables_read: bool,
}

impl fmt::Debug for S3ConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3ConfigBuilder")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field(
                "access_key",
                &self.keys.as_ref().map(|k| k.access_key.as_str()),
            )
            .field("secret_key", &self.keys.as_ref().map(|_| "<redacted>"))
            .field("proxy", &self.proxy)
            .finish_non_exhaustive()
    }
}

fn env_nonempty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl S3ConfigBuilder {
    /// A builder pre-filled from `S3_ENDPOINT`, `S3_ACCESS_KEY_ID`,
    /// `S3_SECRET_ACCESS_KEY`, `S3_REGION` / `AWS_REGION` (read now).
    ///
    /// ```no_run
    /// use ms_utils_communication::s3::S3ConfigBuilder;
    /// let config = S3ConfigBuilder::from_env().max_attempts(5).build()?;
    /// # Ok::<(), ms_utils_communication::s3::Error>(())
    /// ```
    pub fn from_env() -> S3ConfigBuilder {
        let keys = match (
            env_nonempty("S3_ACCESS_KEY_ID"),
            env_nonempty("S3_SECRET_ACCESS_KEY"),
        ) {
            (Some(access_key), Some(secret_key)) => Some(StaticKeys {
                access_key,
                secret_key,
                session_token: None,
            }),
            _ => None,
        };
        S3ConfigBuilder {
            endpoint: env_nonempty("S3_ENDPOINT"),
            region: env_nonempty("S3_REGION").or_else(|| env_nonempty("AWS_REGION")),
            s3_key_variables_read: keys.is_none(),
            keys,
            ..S3ConfigBuilder::default()
        }
    }

    /// A custom endpoint (MinIO, Scaleway, Ceph, ...). Turns on path-style
    /// addressing and "checksums only when required" unless set otherwise.
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// The signing region (default `fr-par`).
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Static credentials. Without them the standard AWS chain is used.
    pub fn credentials(
        mut self,
        access_key: impl Into<String>,
        secret_key: impl Into<String>,
    ) -> Self {
        self.keys = Some(StaticKeys {
            access_key: access_key.into(),
            secret_key: secret_key.into(),
            session_token: None,
        });
        self
    }

    /// A session token to go with the static credentials (STS).
    pub fn session_token(mut self, token: impl Into<String>) -> Self {
        if let Some(k) = self.keys.as_mut() {
            k.session_token = Some(token.into());
        }
        self
    }

    /// Force path-style (`https://host/bucket/key`) or virtual-hosted-style
    /// addressing. Default: path-style on custom endpoints, virtual-hosted on AWS.
    pub fn force_path_style(mut self, on: bool) -> Self {
        self.force_path_style = Some(on);
        self
    }

    /// Compute request checksums (and validate response ones) only when the
    /// operation requires it. Default: on for custom endpoints, because since
    /// aws-sdk-s3 1.69 the default CRC32 trailer is rejected by Scaleway, OVH
    /// and Backblaze; off (the SDK default) on AWS.
    pub fn checksums_when_required(mut self, on: bool) -> Self {
        self.checksums_when_required = Some(on);
        self
    }

    /// Trust this PEM certificate (or bundle) in addition to the system roots,
    /// for private endpoints.
    ///
    /// ```no_run
    /// let pem = std::fs::read("/etc/ssl/private-ca.pem")?;
    /// let b = ms_utils_communication::s3::S3Config::builder().extra_ca_pem(pem);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn extra_ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.extra_ca_pem = Some(pem.into());
        self
    }

    /// Send every request through the HTTP proxy at `url`
    /// (`http://[user:password@]host[:port]`; `https://` for TLS to the
    /// proxy), whatever the environment says (see [Proxies](Self#proxies)).
    /// A URL the client cannot use is refused by [`build`](Self::build).
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.proxy = ProxySetting::Url(url.into());
        self
    }

    /// Connect straight to the endpoint, ignoring `HTTPS_PROXY`,
    /// `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY` (see [Proxies](Self#proxies)).
    pub fn no_proxy(mut self) -> Self {
        self.proxy = ProxySetting::Off;
        self
    }

    /// TCP/TLS connect timeout (default 10 s).
    pub fn connect_timeout(mut self, t: Duration) -> Self {
        self.connect_timeout = Some(t);
        self
    }

    /// Time to wait for the first byte of a response (default: none).
    pub fn read_timeout(mut self, t: Duration) -> Self {
        self.read_timeout = Some(t);
        self
    }

    /// Whole-operation timeout, retries included (default: none, as large
    /// transfers take long). Applies to each request of a multipart transfer.
    pub fn operation_timeout(mut self, t: Duration) -> Self {
        self.operation_timeout = Some(t);
        self
    }

    /// Timeout of one attempt (default: none).
    pub fn attempt_timeout(mut self, t: Duration) -> Self {
        self.attempt_timeout = Some(t);
        self
    }

    /// Attempts per request in standard retry mode (default 3; 1 = no retry).
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = Some(n);
        self
    }

    /// Multipart and ranged-download tuning.
    pub fn transfer(mut self, t: TransferConfig) -> Self {
        self.transfer = Some(t);
        self
    }

    /// Validates and builds; reads the proxy variables (see [Proxies](Self#proxies)).
    ///
    /// # Errors
    /// [`Error::Config`] for an endpoint that is not an `http://` or
    /// `https://` URL, a part size under 5 MiB, a zero concurrency or zero
    /// attempts, or a proxy URL (given or from the environment) that is not
    /// `http(s)://host[:port]` (the message names where it came from, never
    /// the URL, which may hold a password).
    ///
    /// ```
    /// let err = ms_utils_communication::s3::S3Config::builder().endpoint("ftp://x").build();
    /// assert!(err.is_err());
    /// ```
    pub fn build(self) -> Result<S3Config, Error> {
        if let Some(e) = &self.endpoint
            && !(e.starts_with("http://") || e.starts_with("https://"))
        {
            return Err(Error::config(
                format!("endpoint `{e}` must start with http:// or https://"),
                None,
            ));
        }
        let transfer = self.transfer.unwrap_or_default();
        if transfer.part_size < 5 * 1024 * 1024 {
            return Err(Error::config("part_size must be at least 5 MiB", None));
        }
        if transfer.concurrency == 0 || transfer.download_concurrency == 0 {
            return Err(Error::config("concurrency must be at least 1", None));
        }
        if transfer.download_part_size == 0 {
            return Err(Error::config("download_part_size must be at least 1", None));
        }
        let max_attempts = self.max_attempts.unwrap_or(3);
        if max_attempts == 0 {
            return Err(Error::config("max_attempts must be at least 1", None));
        }
        let custom = self.endpoint.is_some();
        // AWS itself is reached over https.
        let https = self
            .endpoint
            .as_deref()
            .is_none_or(|e| e.starts_with("https://"));
        let proxy = self.proxy.resolve(|k| std::env::var(k).ok(), https)?;
        // Keys set on the builder after `from_env` replace the variables.
        let s3_key_variables_read = self.s3_key_variables_read && self.keys.is_none();
        Ok(S3Config {
            endpoint: self.endpoint.map(|e| e.trim_end_matches('/').to_owned()),
            region: self.region.unwrap_or_else(|| DEFAULT_REGION.to_owned()),
            keys: self.keys,
            force_path_style: self.force_path_style.unwrap_or(custom),
            checksums_when_required: self.checksums_when_required.unwrap_or(custom),
            extra_ca_pem: self.extra_ca_pem,
            proxy,
            connect_timeout: self.connect_timeout.unwrap_or(Duration::from_secs(10)),
            read_timeout: self.read_timeout,
            operation_timeout: self.operation_timeout,
            attempt_timeout: self.attempt_timeout,
            max_attempts,
            transfer,
            s3_key_variables_read,
        })
    }
}

/// Whether uploads store a full-object checksum (CRC64NVME) that later
/// downloads check (see `S3BucketClient::download_file`).
///
/// ```
/// use ms_utils_communication::s3::{TransferConfig, UploadChecksum};
/// let mut t = TransferConfig::default();
/// assert_eq!(t.upload_checksum, UploadChecksum::Auto);
/// t.upload_checksum = UploadChecksum::Off;
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum UploadChecksum {
    /// Send one with every upload; when the store refuses checksum headers,
    /// upload again without, and send none to that store from then on
    /// (logged once at INFO). The default.
    #[default]
    Auto,
    /// Send one with every upload; a store that refuses it fails the upload.
    Required,
    /// Send none (downloads then check the ETag where they can).
    Off,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_secret_key() {
        let c = S3Config::builder()
            .credentials("AKIDVISIBLE", "very-secret-value")
            .build()
            .unwrap();
        let shown = format!("{c:?}");
        assert!(shown.contains("AKIDVISIBLE"));
        assert!(!shown.contains("very-secret-value"));
        let b = S3Config::builder().credentials("AK", "very-secret-value");
        assert!(!format!("{b:?}").contains("very-secret-value"));
    }

    #[test]
    fn custom_endpoint_turns_on_path_style_and_required_checksums() {
        let c = S3Config::builder()
            .endpoint("http://127.0.0.1:9000/")
            .build()
            .unwrap();
        assert!(c.force_path_style && c.checksums_when_required);
        assert_eq!(c.endpoint(), Some("http://127.0.0.1:9000"));
        let aws = S3Config::builder().build().unwrap();
        assert!(!aws.force_path_style && !aws.checksums_when_required);
    }

    #[test]
    fn build_rejects_bad_values() {
        assert!(
            S3Config::builder()
                .endpoint("localhost:9000")
                .build()
                .is_err()
        );
        let t = TransferConfig {
            part_size: 1024,
            ..TransferConfig::default()
        };
        assert!(S3Config::builder().transfer(t).build().is_err());
        assert!(S3Config::builder().max_attempts(0).build().is_err());
    }
}
