//! An S3-compatible server in-process: `s3s` + `s3s-fs` serving a folder
//! over HTTP on 127.0.0.1, with signature checks, for tests and local
//! development.
//!
//! What `s3s-fs` 0.14.1 supports (checked with aws-sdk-s3): put/get/head/
//! delete, ranges, user metadata, copy, multipart, paging, presigned URLs and
//! SigV4 signature checks. Kept here
//! beside it (`store/extras.rs`): an object's server-side encryption
//! (SSE-S3, SSE-KMS key id, SSE-C, whose objects are read only with their
//! key), storage class, tags (`GetObjectTagging`) and canned ACL
//! (`GetObjectAcl`, `PutObjectAcl`; grants answer `NotImplemented`), carried
//! by multipart uploads and copies. Nothing is encrypted on disk. `ListMultipartUploads` is the server's
//! own (from the files `s3s-fs` keeps per open upload): `prefix`,
//! `key-marker`/`upload-id-marker` paging and `max-uploads` are honoured,
//! `delimiter` is ignored. Listings carry each object's ETag (as S3's do)
//! and `DeleteObjects` answers `NoSuchBucket` for a missing bucket. As on
//! S3, a bucket exists once created: by `CreateBucket`, or at start
//! ([`DevS3ServerBuilder::bucket`]); an upload or copy into any other is
//! `NoSuchBucket` (`s3s-fs` alone would create its folder), unless
//! [`DevS3ServerBuilder::auto_create_buckets`] opts into that. Object
//! versions are not kept: a request naming a version (other than `null`)
//! answers `NotImplemented`, as do `PutBucketVersioning` and
//! `ListObjectVersions`; test versions against moto or a real store.
//!
//! Fault injection for tests: [`DevS3Server::fail_next_aborts`] makes the
//! next `AbortMultipartUpload` requests fail as a transport failure would
//! (the connection is closed without an answer), and
//! [`DevS3Server::ignore_next_aborts`] answers them without doing them;
//! [`DevS3Server::refuse_checksum_headers`] refuses checksum headers;
//! [`DevS3Server::delay_part_uploads`] makes every part wait before it is
//! stored ([`DevS3Server::part_uploads`] reports it).
//!
//! Beyond `s3s-fs`, as S3 does: a part, `ListParts` or an abort of an upload
//! that is gone answers `NoSuchUpload`, and a part still being stored when
//! its upload is aborted (or completed) is removed once it lands; a
//! multipart upload created with a full-object CRC (CRC64NVME, or CRC32 /
//! CRC32C with `FULL_OBJECT`) gets it checked and kept, and answered on
//! `HeadObject`/`GetObject` with checksum mode (`x-amz-checksum-type:
//! FULL_OBJECT`).
//!
//! `CompleteMultipartUpload` is the server's own: `s3s-fs` reads every part
//! back, hashes it again and copies it (0.6–0.9 s per 256 MiB on 2 cores,
//! longer than sending the parts); here the parts are joined in the kernel
//! and the ETag is derived from the part hashes recorded as they arrived.
//! The stored object, attributes and ETag are the ones `s3s-fs` writes, minus
//! any checksum left from an earlier object under the same key. Completions
//! with conditional headers, copied parts or mismatched ETags go to `s3s-fs`
//! as before.
//!
//! The `s3s` crate logs each request it serves at `DEBUG` (target `s3s`),
//! headers included: signatures and any `x-amz-security-token`, never the
//! secret key. Filter that target out of logs you keep.
//!
//! ```no_run
//! use ms_utils_dev::s3::DevS3Server;
//! use ms_utils_communication::s3::S3BucketClient;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let server = DevS3Server::builder().bucket("test").start().await?;
//! let client = S3BucketClient::new("dev", server.client_config()).await?;
//! client.upload_bytes(b"hi".to_vec(), "test", "hi.txt", Default::default()).await?;
//! server.shutdown().await;
//! # Ok(()) }
//! ```

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use ms_utils_communication::s3::S3Config;

mod store;

pub use store::PartUploads;

/// The `PutObject` requests held by
/// [`DevS3Server::hold_object_puts`], for tests that observe how many
/// uploads run at once (see [`DevS3Server::held_object_puts`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HeldPuts {
    /// Requests waiting now.
    pub now: usize,
    /// The most that waited at once since the server started.
    pub most: usize,
}

/// Whether `PutObject` requests are held, and how many are.
#[derive(Debug)]
struct PutHold {
    on: tokio::sync::watch::Sender<bool>,
    held: tokio::sync::watch::Sender<HeldPuts>,
}

/// The access key used when none is given.
pub const DEFAULT_ACCESS_KEY: &str = "ms-utils-dev";
/// The secret key used when none is given (a development server on loopback).
pub const DEFAULT_SECRET_KEY: &str = "ms-utils-dev-secret";

/// A running S3-compatible server on `127.0.0.1`. Stops on
/// [`shutdown`](Self::shutdown) or drop; a temporary root is deleted then.
///
/// ```no_run
/// # async fn f() -> std::io::Result<()> {
/// let server = ms_utils_dev::s3::DevS3Server::builder().start().await?;
/// println!("S3 {}", server.endpoint());
/// # Ok(()) }
/// ```
pub struct DevS3Server {
    addr: SocketAddr,
    root: PathBuf,
    access_key: String,
    secret_key: String,
    stop: CancellationToken,
    task: Option<JoinHandle<()>>,
    /// How many more `AbortMultipartUpload` requests to drop unanswered.
    aborts_to_fail: Arc<AtomicU32>,
    /// How many more `AbortMultipartUpload` requests to answer without doing them.
    aborts_to_ignore: Arc<AtomicU32>,
    /// Refuse requests that carry checksum headers.
    refuse_checksums: Arc<AtomicBool>,
    /// Faults of the store (slow part writes).
    faults: Arc<store::StoreFaults>,
    part_uploads: tokio::sync::watch::Receiver<PartUploads>,
    /// `PutObject` requests held until released.
    put_hold: Arc<PutHold>,
    // Dropped last: the folder must outlive the server task.
    _temp: Option<tempfile::TempDir>,
}

impl fmt::Debug for DevS3Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DevS3Server")
            .field("addr", &self.addr)
            .field("root", &self.root)
            .field("access_key", &self.access_key)
            .field("secret_key", &"<redacted>")
            .finish()
    }
}

/// Builder for [`DevS3Server`].
///
/// ```no_run
/// # async fn f() -> std::io::Result<()> {
/// use ms_utils_dev::s3::DevS3Server;
/// let server = DevS3Server::builder()
///     .root("/tmp/s3-data")
///     .port(9000)
///     .credentials("dev", "dev-secret")
///     .bucket("uploads")
///     .start()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Default)]
#[must_use]
pub struct DevS3ServerBuilder {
    root: Option<PathBuf>,
    port: u16,
    credentials: Option<(String, String)>,
    buckets: Vec<String>,
    auto_create_buckets: bool,
}

impl fmt::Debug for DevS3ServerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DevS3ServerBuilder")
            .field("root", &self.root)
            .field("port", &self.port)
            .field(
                "access_key",
                &self.credentials.as_ref().map(|c| c.0.as_str()),
            )
            .field("buckets", &self.buckets)
            .field("auto_create_buckets", &self.auto_create_buckets)
            .finish()
    }
}

impl DevS3ServerBuilder {
    /// Serve this folder (created if missing; kept after shutdown). Default:
    /// a fresh temporary folder, deleted on shutdown.
    ///
    /// ```
    /// let b = ms_utils_dev::s3::DevS3Server::builder().root("./s3-data");
    /// # let _ = b;
    /// ```
    pub fn root(mut self, root: impl Into<PathBuf>) -> Self {
        self.root = Some(root.into());
        self
    }

    /// Listen on this port of 127.0.0.1 (default 0: any free port).
    ///
    /// ```
    /// let b = ms_utils_dev::s3::DevS3Server::builder().port(9000);
    /// # let _ = b;
    /// ```
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// The only credentials accepted (default [`DEFAULT_ACCESS_KEY`] /
    /// [`DEFAULT_SECRET_KEY`]). Requests signed with others are refused (403).
    ///
    /// ```
    /// let b = ms_utils_dev::s3::DevS3Server::builder().credentials("ak", "sk");
    /// # let _ = b;
    /// ```
    pub fn credentials(
        mut self,
        access_key: impl Into<String>,
        secret_key: impl Into<String>,
    ) -> Self {
        self.credentials = Some((access_key.into(), secret_key.into()));
        self
    }

    /// Create this bucket at start (may be called several times).
    ///
    /// ```
    /// let b = ms_utils_dev::s3::DevS3Server::builder().bucket("a").bucket("b");
    /// # let _ = b;
    /// ```
    pub fn bucket(mut self, name: impl Into<String>) -> Self {
        self.buckets.push(name.into());
        self
    }

    /// Create a bucket on the first upload (or copy) into it, as `s3s-fs`
    /// does, instead of answering `NoSuchBucket` as S3 does (default: off).
    /// For a quick local setup only: a test with it on passes with a
    /// bucket name a real store would refuse.
    ///
    /// ```
    /// let b = ms_utils_dev::s3::DevS3Server::builder().auto_create_buckets(true);
    /// # let _ = b;
    /// ```
    pub fn auto_create_buckets(mut self, on: bool) -> Self {
        self.auto_create_buckets = on;
        self
    }

    /// Binds, creates the buckets and starts serving in a background task.
    ///
    /// # Errors
    /// The port is taken, or the root folder cannot be created or read.
    ///
    /// ```no_run
    /// # async fn f() -> std::io::Result<()> {
    /// let server = ms_utils_dev::s3::DevS3Server::builder().start().await?;
    /// # Ok(()) }
    /// ```
    pub async fn start(self) -> std::io::Result<DevS3Server> {
        let (root, temp) = match self.root {
            Some(r) => {
                tokio::fs::create_dir_all(&r).await?;
                (r, None)
            }
            None => {
                let t = tempfile::Builder::new().prefix("ms-utils-s3-").tempdir()?;
                (t.path().to_owned(), Some(t))
            }
        };
        for b in &self.buckets {
            tokio::fs::create_dir_all(root.join(b)).await?;
        }
        let (activity, part_uploads) = tokio::sync::watch::channel(PartUploads::default());
        let faults = Arc::new(store::StoreFaults::default());
        let store =
            store::DevStore::new(&root, activity, faults.clone(), self.auto_create_buckets)?;
        let (access_key, secret_key) = self
            .credentials
            .unwrap_or_else(|| (DEFAULT_ACCESS_KEY.to_owned(), DEFAULT_SECRET_KEY.to_owned()));
        let service = {
            let mut b = S3ServiceBuilder::new(store);
            b.set_auth(SimpleAuth::from_single(
                access_key.clone(),
                secret_key.clone(),
            ));
            b.build()
        };
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, self.port)).await?;
        let addr = listener.local_addr()?;
        let stop = CancellationToken::new();
        let aborts_to_fail = Arc::new(AtomicU32::new(0));
        let aborts_to_ignore = Arc::new(AtomicU32::new(0));
        let refuse_checksums = Arc::new(AtomicBool::new(false));
        let put_hold = Arc::new(PutHold {
            on: tokio::sync::watch::Sender::new(false),
            held: tokio::sync::watch::Sender::new(HeldPuts::default()),
        });
        let service = Faulty {
            put_hold: put_hold.clone(),
            inner: service,
            aborts_to_fail: aborts_to_fail.clone(),
            aborts_to_ignore: aborts_to_ignore.clone(),
            refuse_checksums: refuse_checksums.clone(),
        };
        let task = tokio::spawn(serve(listener, service, stop.clone()));
        tracing::debug!(%addr, root = %root.display(), "dev S3 server started");
        Ok(DevS3Server {
            addr,
            root,
            access_key,
            secret_key,
            stop,
            task: Some(task),
            aborts_to_fail,
            aborts_to_ignore,
            refuse_checksums,
            faults,
            part_uploads,
            put_hold,
            _temp: temp,
        })
    }
}

/// Accepts until stopped; each connection is dropped (closed hard, even
/// mid-response) when the server stops, which is what lets tests cut a
/// transfer half-way.
async fn serve(listener: TcpListener, service: Faulty, stop: CancellationToken) {
    let http = ConnBuilder::new(TokioExecutor::new());
    let mut conns = tokio::task::JoinSet::new();
    loop {
        let socket = tokio::select! {
            () = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((socket, _)) => socket,
                Err(e) => {
                    tracing::warn!(error = %e, "dev S3 server: accept failed");
                    continue;
                }
            },
            // Reap finished connections so the set does not grow.
            Some(_) = conns.join_next(), if !conns.is_empty() => continue,
        };
        let conn = http
            .serve_connection(TokioIo::new(socket), service.clone())
            .into_owned();
        let stop = stop.clone();
        conns.spawn(async move {
            tokio::select! {
                _ = conn => {}
                () = stop.cancelled() => {}
            }
        });
    }
    drop(listener);
    conns.shutdown().await;
}

/// The S3 service with the faults tests ask for (see
/// [`DevS3Server::fail_next_aborts`]).
#[derive(Clone)]
struct Faulty {
    inner: s3s::service::S3Service,
    aborts_to_fail: Arc<AtomicU32>,
    aborts_to_ignore: Arc<AtomicU32>,
    refuse_checksums: Arc<AtomicBool>,
    put_hold: Arc<PutHold>,
}

type ServiceFuture = std::pin::Pin<
    Box<
        dyn std::future::Future<Output = Result<s3s::HttpResponse, s3s::HttpError>>
            + Send
            + 'static,
    >,
>;

impl hyper::service::Service<http::Request<hyper::body::Incoming>> for Faulty {
    type Response = s3s::HttpResponse;
    type Error = s3s::HttpError;
    type Future = ServiceFuture;

    fn call(&self, req: http::Request<hyper::body::Incoming>) -> Self::Future {
        let carries_checksum = req.headers().keys().any(|name| {
            let name = name.as_str();
            name.starts_with("x-amz-checksum-") || name == "x-amz-sdk-checksum-algorithm"
        });
        if carries_checksum && self.refuse_checksums.load(Ordering::SeqCst) {
            tracing::debug!(uri = %req.uri(), "dev S3 server: checksum header refused (fault injected)");
            let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>InvalidArgument</Code>\
                        <Message>checksum headers are not supported</Message></Error>";
            let mut answer = http::Response::new(s3s::Body::from(body.to_owned()));
            *answer.status_mut() = http::StatusCode::BAD_REQUEST;
            answer.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/xml"),
            );
            return Box::pin(std::future::ready(Ok(answer)));
        }
        if *self.put_hold.on.borrow() && is_put_object(&req) {
            return self.held(req);
        }
        // AbortMultipartUpload: `DELETE /bucket/key?uploadId=...`.
        let abort = req.method() == http::Method::DELETE
            && req
                .uri()
                .query()
                .is_some_and(|q| q.split('&').any(|p| p.starts_with("uploadId=")));
        let fail = abort
            && self
                .aborts_to_fail
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
        let ignore = abort
            && !fail
            && self
                .aborts_to_ignore
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
        if ignore {
            tracing::debug!(uri = %req.uri(), "dev S3 server: abort answered, not done (fault injected)");
            let mut answer = http::Response::new(s3s::Body::empty());
            *answer.status_mut() = http::StatusCode::NO_CONTENT;
            return Box::pin(std::future::ready(Ok(answer)));
        }
        if fail {
            tracing::debug!(uri = %req.uri(), "dev S3 server: abort dropped (fault injected)");
            // An error handed to hyper closes the connection unanswered.
            return Box::pin(std::future::ready(Err(s3s::HttpError::new(Box::new(
                std::io::Error::other("fault injected: abort dropped"),
            )))));
        }
        hyper::service::Service::call(&self.inner, req)
    }
}

/// `PutObject`: `PUT /bucket/key` (path style), not a part
/// (`?partNumber=&uploadId=`), a copy (`x-amz-copy-source`) or a
/// sub-resource (`?tagging`, `?acl`, ...); the SDK may add `?x-id=PutObject`.
fn is_put_object<B>(req: &http::Request<B>) -> bool {
    let path = req.uri().path().trim_start_matches('/');
    req.method() == http::Method::PUT
        && path.split_once('/').is_some_and(|(_, key)| !key.is_empty())
        && req.uri().query().is_none_or(|q| {
            // The SDK names the operation in `x-id=PutObject`.
            q.split('&').all(|p| p.is_empty() || p == "x-id=PutObject")
        })
        && !req.headers().contains_key("x-amz-copy-source")
}

impl Faulty {
    /// Serves `req` once [`DevS3Server::hold_object_puts`] is turned off,
    /// counted in [`HeldPuts`] while it waits.
    fn held(&self, req: http::Request<hyper::body::Incoming>) -> ServiceFuture {
        let inner = self.inner.clone();
        let hold = Arc::clone(&self.put_hold);
        Box::pin(async move {
            /// Counts the request out when it stops waiting, also when its
            /// connection goes first.
            struct Waiting(Arc<PutHold>);
            impl Drop for Waiting {
                fn drop(&mut self) {
                    self.0.held.send_modify(|h| h.now -= 1);
                }
            }
            hold.held.send_modify(|h| {
                h.now += 1;
                h.most = h.most.max(h.now);
            });
            let waiting = Waiting(Arc::clone(&hold));
            let mut on = hold.on.subscribe();
            // The sender lives as long as `hold`: this returns once off.
            let _ = on.wait_for(|on| !*on).await;
            drop(waiting);
            hyper::service::Service::call(&inner, req).await
        })
    }
}

impl DevS3Server {
    /// Fault injection for tests: while on, each `PutObject` request (a
    /// whole object in one PUT, as small files are uploaded) waits before
    /// it is served; turning it off serves the waiting ones. With
    /// [`held_object_puts`](Self::held_object_puts) a test sees how many
    /// uploads run at once without timing them.
    ///
    /// ```no_run
    /// # async fn f() -> std::io::Result<()> {
    /// let server = ms_utils_dev::s3::DevS3Server::builder().start().await?;
    /// server.hold_object_puts(true);
    /// // ... start uploads, then wait for them to be held:
    /// let _ = server.held_object_puts().wait_for(|h| h.now == 2).await;
    /// server.hold_object_puts(false);
    /// # Ok(()) }
    /// ```
    pub fn hold_object_puts(&self, on: bool) {
        self.put_hold.on.send_replace(on);
    }

    /// How many `PutObject` requests [`hold_object_puts`](Self::hold_object_puts)
    /// holds now, and the most it held at once, with every change.
    ///
    /// ```no_run
    /// # async fn f(server: ms_utils_dev::s3::DevS3Server) {
    /// assert!(server.held_object_puts().borrow().most <= 4);
    /// # }
    /// ```
    pub fn held_object_puts(&self) -> tokio::sync::watch::Receiver<HeldPuts> {
        self.put_hold.held.subscribe()
    }

    /// Fault injection for tests: the next `n` `AbortMultipartUpload`
    /// requests are dropped unanswered (the connection is closed, which the
    /// client sees as a transport failure). Requests of other operations are
    /// served as usual. Calling it again replaces the count; 0 turns it off.
    ///
    /// ```no_run
    /// # async fn f() -> std::io::Result<()> {
    /// let server = ms_utils_dev::s3::DevS3Server::builder().start().await?;
    /// server.fail_next_aborts(2); // the two next aborts fail, the third goes through
    /// # Ok(()) }
    /// ```
    pub fn fail_next_aborts(&self, n: u32) {
        self.aborts_to_fail.store(n, Ordering::SeqCst);
    }

    /// Fault injection for tests: the next `n` `AbortMultipartUpload`
    /// requests are answered `204 No Content` without being done, so the
    /// upload and its parts stay (as when a part lands after an abort on
    /// S3). Calling it again replaces the count; 0 turns it off.
    ///
    /// ```no_run
    /// # async fn f() -> std::io::Result<()> {
    /// let server = ms_utils_dev::s3::DevS3Server::builder().start().await?;
    /// server.ignore_next_aborts(1); // the next abort "succeeds" and leaves everything
    /// # Ok(()) }
    /// ```
    pub fn ignore_next_aborts(&self, n: u32) {
        self.aborts_to_ignore.store(n, Ordering::SeqCst);
    }

    /// Fault injection for tests: while on, every request carrying a
    /// checksum header (`x-amz-checksum-*`, `x-amz-sdk-checksum-algorithm`)
    /// is answered `400 InvalidArgument`, as some S3-compatible stores do.
    ///
    /// ```no_run
    /// # async fn f() -> std::io::Result<()> {
    /// let server = ms_utils_dev::s3::DevS3Server::builder().start().await?;
    /// server.refuse_checksum_headers(true);
    /// # Ok(()) }
    /// ```
    pub fn refuse_checksum_headers(&self, on: bool) {
        self.refuse_checksums.store(on, Ordering::SeqCst);
    }

    /// Fault injection for tests: from now on each `UploadPart` waits
    /// `delay` after its last byte arrived before it stores the part and
    /// answers (a slow disk), so that a test can end the upload (abort,
    /// cancel) while parts are still being stored. A part stored after its
    /// upload was aborted or completed is removed, as S3 frees the parts of
    /// an aborted upload, and answered `NoSuchUpload`.
    /// `Duration::ZERO` turns it off.
    ///
    /// ```no_run
    /// # async fn f() -> std::io::Result<()> {
    /// let server = ms_utils_dev::s3::DevS3Server::builder().start().await?;
    /// server.delay_part_uploads(std::time::Duration::from_millis(500));
    /// # Ok(()) }
    /// ```
    pub fn delay_part_uploads(&self, delay: std::time::Duration) {
        let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.faults.part_delay_ms.store(ms, Ordering::SeqCst);
    }

    /// What the `UploadPart` requests are doing now, and every change of
    /// it: how many run, how many wait in an injected delay
    /// ([`delay_part_uploads`](Self::delay_part_uploads)), how many parts were
    /// removed for landing after their upload ended. For tests that must wait
    /// until the server is done with a cancelled upload's parts.
    ///
    /// ```no_run
    /// # async fn f(server: ms_utils_dev::s3::DevS3Server) {
    /// let mut parts = server.part_uploads();
    /// let _ = parts.wait_for(|p| p.running == 0).await;
    /// # }
    /// ```
    pub fn part_uploads(&self) -> tokio::sync::watch::Receiver<PartUploads> {
        self.part_uploads.clone()
    }

    /// A builder: temporary root, any free port, default credentials.
    ///
    /// ```
    /// let b = ms_utils_dev::s3::DevS3Server::builder();
    /// # let _ = b;
    /// ```
    pub fn builder() -> DevS3ServerBuilder {
        DevS3ServerBuilder::default()
    }

    /// The bound address (`127.0.0.1:port`).
    ///
    /// ```no_run
    /// # async fn f(s: ms_utils_dev::s3::DevS3Server) { println!("{}", s.addr().port()); }
    /// ```
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The endpoint URL, `http://127.0.0.1:port`.
    ///
    /// ```no_run
    /// # async fn f(s: ms_utils_dev::s3::DevS3Server) { println!("S3 {}", s.endpoint()); }
    /// ```
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The folder served: one sub-folder per bucket, one file per object.
    ///
    /// ```no_run
    /// # async fn f(s: ms_utils_dev::s3::DevS3Server) { println!("{}", s.root().display()); }
    /// ```
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The access key the server accepts.
    ///
    /// ```no_run
    /// # async fn f(s: ms_utils_dev::s3::DevS3Server) { println!("{}", s.access_key()); }
    /// ```
    pub fn access_key(&self) -> &str {
        &self.access_key
    }

    /// The secret key the server accepts (print it only for local use).
    ///
    /// ```no_run
    /// # async fn f(s: ms_utils_dev::s3::DevS3Server) { let _ = s.secret_key(); }
    /// ```
    pub fn secret_key(&self) -> &str {
        &self.secret_key
    }

    /// A ready-made configuration for [`S3BucketClient`](ms_utils_communication::s3::S3BucketClient):
    /// this endpoint, these credentials, region `fr-par`, path-style.
    ///
    /// ```no_run
    /// # async fn f(s: ms_utils_dev::s3::DevS3Server) -> Result<(), ms_utils_communication::s3::Error> {
    /// let client = ms_utils_communication::s3::S3BucketClient::new("dev", s.client_config()).await?;
    /// # Ok(()) }
    /// ```
    pub fn client_config(&self) -> S3Config {
        #[allow(clippy::expect_used)]
        S3Config::builder()
            .endpoint(self.endpoint())
            .credentials(self.access_key.as_str(), self.secret_key.as_str())
            .force_path_style(true)
            .checksums_when_required(true)
            .build()
            // Only a non-http(s) endpoint or a bad transfer setting fails, and
            // this is an http:// URL with the default transfer settings.
            .expect("a local http endpoint with default settings is a valid S3Config")
    }

    /// Stops accepting, closes every connection (cutting transfers in
    /// progress) and waits for the server task to end.
    ///
    /// ```no_run
    /// # async fn f(s: ms_utils_dev::s3::DevS3Server) { s.shutdown().await; }
    /// ```
    pub async fn shutdown(mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for DevS3Server {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}
