//! Shared support for the `s3_*` tests: one S3 server per test, either the
//! in-process `DevS3Server` (default) or an external one named by
//! `MS_UTILS_S3_TEST_ENDPOINT` (e.g. moto's server in `.ci/run`):
//!
//! ```text
//! MS_UTILS_S3_TEST_ENDPOINT=http://127.0.0.1:5000   # use this server
//! MS_UTILS_S3_TEST_ACCESS_KEY=testing               # default "testing"
//! MS_UTILS_S3_TEST_SECRET_KEY=testing               # default "testing"
//! MS_UTILS_S3_TEST_REGION=fr-par                    # default "fr-par"
//! ```
//!
//! Every test gets its own fresh bucket, so tests run in parallel on one
//! external server.
#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use ms_utils_communication::s3::{S3BucketClient, S3Config, TransferConfig};
use ms_utils_dev::s3::DevS3Server;
use sha2::{Digest, Sha256};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

pub const MIB: usize = 1024 * 1024;

/// An S3 server for one test, a client for it and a fresh bucket.
pub struct TestS3 {
    pub server: Option<DevS3Server>,
    pub client: S3BucketClient,
    pub bucket: String,
    endpoint: String,
    access_key: String,
    secret_key: String,
    region: String,
}

fn external() -> Option<(String, String, String, String)> {
    let endpoint = std::env::var("MS_UTILS_S3_TEST_ENDPOINT").ok()?;
    let var = |n: &str, d: &str| std::env::var(n).unwrap_or_else(|_| d.to_owned());
    Some((
        endpoint,
        var("MS_UTILS_S3_TEST_ACCESS_KEY", "testing"),
        var("MS_UTILS_S3_TEST_SECRET_KEY", "testing"),
        var("MS_UTILS_S3_TEST_REGION", "fr-par"),
    ))
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{:016x}", rand::random::<u64>())
}

impl TestS3 {
    /// The server of this run: the external one if named, else in-process.
    pub async fn start() -> TestS3 {
        Self::with_transfer(TransferConfig::default()).await
    }

    /// [`TestS3::start`] with `transfer` settings.
    pub async fn with_transfer(transfer: TransferConfig) -> TestS3 {
        match external() {
            Some((e, a, s, r)) => Self::on(None, e, a, s, r, transfer).await,
            None => Self::dev_with_transfer(transfer).await,
        }
    }

    /// Always the in-process development server, for a test that needs the
    /// server itself (its files, its faults, its keys, its signature
    /// checks); such a test runs the same against any external server.
    pub async fn dev() -> TestS3 {
        Self::dev_with_transfer(TransferConfig::default()).await
    }

    /// [`TestS3::dev`] with `transfer` settings.
    pub async fn dev_with_transfer(transfer: TransferConfig) -> TestS3 {
        let server = DevS3Server::builder().start().await.unwrap();
        let (e, a, s) = (
            server.endpoint(),
            server.access_key().to_owned(),
            server.secret_key().to_owned(),
        );
        Self::on(Some(server), e, a, s, "fr-par".to_owned(), transfer).await
    }

    /// The in-process server of a [`TestS3::dev`] test.
    pub fn dev_server(&self) -> &DevS3Server {
        self.server
            .as_ref()
            .expect("a test of the server itself starts with TestS3::dev()")
    }

    async fn on(
        server: Option<DevS3Server>,
        endpoint: String,
        ak: String,
        sk: String,
        region: String,
        transfer: TransferConfig,
    ) -> TestS3 {
        let config = S3Config::builder()
            .endpoint(&endpoint)
            .credentials(&ak, &sk)
            .region(&region)
            .transfer(transfer)
            .connect_timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        let client = S3BucketClient::new("test", config).await.unwrap();
        let t = TestS3 {
            server,
            client,
            bucket: unique("bkt"),
            endpoint,
            access_key: ak,
            secret_key: sk,
            region,
        };
        t.create_bucket(&t.bucket).await;
        t
    }

    pub fn endpoint_and_keys(&self) -> (&str, &str, &str) {
        (&self.endpoint, &self.access_key, &self.secret_key)
    }

    pub fn is_external(&self) -> bool {
        self.server.is_none()
    }

    pub fn config_builder(&self) -> ms_utils_communication::s3::S3ConfigBuilder {
        S3Config::builder()
            .endpoint(&self.endpoint)
            .credentials(&self.access_key, &self.secret_key)
            .region(&self.region)
    }

    pub async fn client_with(
        &self,
        builder: ms_utils_communication::s3::S3ConfigBuilder,
    ) -> S3BucketClient {
        S3BucketClient::new("test", builder.build().unwrap())
            .await
            .unwrap()
    }

    pub async fn create_bucket(&self, name: &str) {
        use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
        let mut req = self.client.sdk().create_bucket().bucket(name);
        // moto (like AWS) wants the region spelled out outside us-east-1.
        if self.region != "us-east-1" {
            req = req.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(self.region.as_str()))
                    .build(),
            );
        }
        req.send().await.unwrap();
    }

    /// Multipart uploads still open in the test bucket. On the dev server
    /// (`s3s-fs` answers ListMultipartUploads with NotImplemented) these are
    /// its `.upload*` bookkeeping files and part files in the root folder.
    pub async fn open_multipart_uploads(&self) -> usize {
        match &self.server {
            Some(server) => std::fs::read_dir(server.root())
                .unwrap()
                .filter_map(Result::ok)
                .filter(|e| {
                    let n = e.file_name().to_string_lossy().into_owned();
                    n.starts_with(".upload") || n.contains(".upload-")
                })
                .count(),
            None => self
                .client
                .sdk()
                .list_multipart_uploads()
                .bucket(&self.bucket)
                .send()
                .await
                .unwrap()
                .uploads()
                .len(),
        }
    }
}

/// Lower-case hex, as S3 writes ETags and Python's `hexdigest()`.
#[allow(unused_imports)]
pub use ms_utils_dev::testing::hex;
/// Deterministic, incompressible-looking test data.
#[allow(unused_imports)]
pub use ms_utils_dev::testing::test_data as data;

pub fn sha256(bytes: &[u8]) -> Vec<u8> {
    Sha256::digest(bytes).to_vec()
}

pub fn sha256_file(path: &std::path::Path) -> Vec<u8> {
    sha256(&std::fs::read(path).unwrap())
}

/// A bare HTTP/1.1 request to a loopback URL (for presigned URLs): returns
/// the status and body.
pub async fn http(method: &str, url: &str, body: &[u8]) -> (u16, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut s = tokio::net::TcpStream::connect(host).await.unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).await.unwrap();
    let split = resp.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&resp[..split]).into_owned();
    let status: u16 = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let mut body = resp[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    (status, body)
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = b.windows(2).position(|w| w == b"\r\n").unwrap();
        let size =
            usize::from_str_radix(std::str::from_utf8(&b[..line_end]).unwrap().trim(), 16).unwrap();
        b = &b[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&b[..size]);
        b = &b[size + 2..];
    }
}

/// A loopback TCP relay in front of a real server: keeps a copy of every
/// byte clients send (to read request headers) and counts connections open
/// at once (the SDK opens another only when every pooled one is busy, so
/// more than one at once means requests in flight together).
pub struct Relay {
    pub endpoint: String,
    pub sent: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    open: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    max_open: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Relay {
    pub async fn start(endpoint: &str) -> Relay {
        use std::sync::atomic::Ordering;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let upstream = endpoint.strip_prefix("http://").unwrap().to_owned();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let relay = Relay {
            endpoint: format!("http://{}", listener.local_addr().unwrap()),
            sent: Default::default(),
            open: Default::default(),
            max_open: Default::default(),
        };
        let (sent, open, max_open) = (
            relay.sent.clone(),
            relay.open.clone(),
            relay.max_open.clone(),
        );
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = tokio::net::TcpStream::connect(&upstream).await else {
                    continue;
                };
                let now = open.fetch_add(1, Ordering::SeqCst) + 1;
                max_open.fetch_max(now, Ordering::SeqCst);
                let (sent, open) = (sent.clone(), open.clone());
                tokio::spawn(async move {
                    let (mut cr, mut cw) = client.into_split();
                    let (mut sr, mut sw) = server.into_split();
                    let up = async move {
                        let mut buf = vec![0u8; 64 * 1024];
                        loop {
                            let n = match cr.read(&mut buf).await {
                                Ok(0) | Err(_) => break,
                                Ok(n) => n,
                            };
                            sent.lock().unwrap().extend_from_slice(&buf[..n]);
                            if sw.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                        let _ = sw.shutdown().await;
                    };
                    let down = async move {
                        let _ = tokio::io::copy(&mut sr, &mut cw).await;
                        let _ = cw.shutdown().await;
                    };
                    // In use until either side ends: a server that closes
                    // after its answer (moto, HTTP/1.0) has ended the
                    // connection's use, even while the client has not
                    // noticed yet and the socket still counts as open.
                    tokio::pin!(up, down);
                    tokio::select! {
                        () = &mut up => {
                            open.fetch_sub(1, Ordering::SeqCst);
                            down.await;
                        }
                        () = &mut down => {
                            open.fetch_sub(1, Ordering::SeqCst);
                            up.await;
                        }
                    }
                });
            }
        });
        relay
    }

    /// The most connections open at once so far; then starts counting again
    /// from the connections open now.
    pub fn take_max_open(&self) -> usize {
        use std::sync::atomic::Ordering;
        let now = self.open.load(Ordering::SeqCst);
        self.max_open.swap(now, Ordering::SeqCst)
    }
}

/// A source that yields `data`, then fails with a connection reset: an
/// upload whose input breaks half way.
pub struct FailingReader {
    pub data: Vec<u8>,
    pub at: usize,
}

impl tokio::io::AsyncRead for FailingReader {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        if self.at >= self.data.len() {
            return std::task::Poll::Ready(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "source broke",
            )));
        }
        let n = buf
            .remaining()
            .min(self.data.len() - self.at)
            .min(64 * 1024);
        let at = self.at;
        buf.put_slice(&self.data[at..at + n]);
        self.at += n;
        std::task::Poll::Ready(Ok(()))
    }
}

/// (CA certificate PEM, TLS acceptor for 127.0.0.1 signed by that CA).
pub fn private_pki() -> (String, tokio_rustls::TlsAcceptor) {
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, rcgen::KeyPair::generate().unwrap())
        .unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let certs = vec![CertificateDer::from_pem_slice(cert.pem().as_bytes()).unwrap()];
    let key = PrivateKeyDer::from_pem_slice(key.serialize_pem().as_bytes()).unwrap();
    let provider = std::sync::Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
    let mut config = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    (
        ca.pem(),
        tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config)),
    )
}

/// HTTPS on 127.0.0.1 in front of the real (plain HTTP) S3 server: a private
/// endpoint with a certificate from a private CA.
pub async fn tls_front(upstream: &str, acceptor: tokio_rustls::TlsAcceptor) -> String {
    let upstream = upstream.strip_prefix("http://").unwrap().to_owned();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, upstream) = (acceptor.clone(), upstream.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Ok(mut plain) = tokio::net::TcpStream::connect(&upstream).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    format!("https://{addr}")
}
