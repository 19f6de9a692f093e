//! The one error type of the S3 client (how one is built from an SDK or I/O
//! failure: `classify.rs`).
//!
//! How causes are reported (one rule for `ws::Error`, `s3::Error`,
//! `ms_utils_encoding::Error` and `ms_utils_logging::Error`): `Display` is the
//! whole message on one line, what failed (the S3 operation), where (bucket,
//! key and endpoint, or the local path) and why (the server's error code and
//! message, or the root cause of a transport failure such as `Connection
//! refused (os error 111)`), and `source()` returns nothing. So `{e}`, a `%e`
//! log field and a reporter that walks `source()` all print each cause exactly
//! once. The SDK or I/O error is kept in the variant's `cause` (or `error`)
//! field for `{e:?}` and for the predicates; the type inside a `cause` is not
//! part of the API.

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use aws_smithy_runtime_api::client::result::ConnectorError;

use crate::error_chain::{RootCause, find};

/// A boxed lower-level error, kept in an [`Error`]'s `cause` field. What it
/// holds (an SDK error, a task's join error, ...) is not part of the API.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// Everything an [`S3BucketClient`](super::S3BucketClient) operation can fail with.
///
/// Match on the variants and the predicates ([`is_not_found`](Error::is_not_found),
/// [`is_access_denied`](Error::is_access_denied), [`is_credentials`](Error::is_credentials),
/// [`is_connect`](Error::is_connect), ...) rather than on message text; ask
/// [`request`](Error::request) (a [`RequestContext`]), or
/// [`operation`](Error::operation), [`bucket`](Error::bucket),
/// [`key`](Error::key) and [`endpoint`](Error::endpoint), where it happened.
///
/// ```
/// use ms_utils_communication::s3::Error;
///
/// fn describe(err: &Error) -> &'static str {
///     if err.is_not_found() {
///         "no such bucket or key"
///     } else if err.is_access_denied() || err.is_credentials() {
///         "check S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY"
///     } else if err.is_connect() {
///         "check S3_ENDPOINT"
///     } else {
///         "other failure"
///     }
/// }
/// # let _ = describe;
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The bucket or the key does not exist (HTTP 404, `NoSuchKey`, `NoSuchBucket`).
    NotFound {
        /// The request that failed: operation, bucket, key and endpoint.
        request: RequestContext,
        /// The S3 error code (`NoSuchKey`, `NoSuchBucket`), when known.
        code: Option<Box<str>>,
        /// The server's error message, when it sent one.
        message: Option<Box<str>>,
        /// The SDK error.
        cause: BoxError,
    },
    /// The server refused the request: wrong credentials, a bad signature or
    /// missing rights (HTTP 403). Credentials that could not be found at all
    /// are [`Error::Credentials`].
    AccessDenied {
        /// The request that failed: operation, bucket, key and endpoint.
        request: RequestContext,
        /// The S3 error code, e.g. `InvalidAccessKeyId`, `SignatureDoesNotMatch`.
        code: Option<Box<str>>,
        /// The server's error message, when it sent one.
        message: Option<Box<str>>,
        /// The SDK error.
        cause: BoxError,
    },
    /// The server answered with another S3 error (including `NotImplemented`).
    Service {
        /// The request that failed: operation, bucket, key and endpoint.
        request: RequestContext,
        /// The S3 error code, when the server sent one.
        code: Option<Box<str>>,
        /// The HTTP status, when there was a response.
        status: Option<u16>,
        /// The server's error message, when it sent one.
        message: Option<Box<str>>,
        /// The SDK error.
        cause: BoxError,
    },
    /// The object is encrypted with a customer key (SSE-C) and the request
    /// did not carry it: no key was given (`given` false; S3 answers HTTP
    /// 400), or the one given is not the object's (`given` true; S3 answers
    /// HTTP 403, and the same request without a key is refused as needing
    /// one). Give the key with
    /// [`DownloadOptions::sse_customer_key`](super::DownloadOptions::sse_customer_key),
    /// [`MetadataOptions::sse_customer_key`](super::MetadataOptions::sse_customer_key)
    /// or [`CopyOptions::source_sse_customer_key`](super::CopyOptions::source_sse_customer_key).
    SseCustomerKey {
        /// The request that failed: operation, bucket, key and endpoint.
        request: RequestContext,
        /// Whether an SSE-C key was given (and refused).
        given: bool,
        /// The SDK error.
        cause: BoxError,
    },
    /// No credentials could be found (no keys configured and none in the AWS
    /// chain: environment, profile files, instance role), or their provider
    /// failed. Nothing was sent.
    Credentials {
        /// The request that failed: operation, bucket, key and endpoint.
        request: RequestContext,
        /// The SDK error.
        cause: BoxError,
    },
    /// The request or the whole operation ran past its timeout.
    Timeout {
        /// The request that failed: operation, bucket, key and endpoint.
        request: RequestContext,
        /// The SDK error.
        cause: BoxError,
    },
    /// The connection failed or broke: refused, name not resolved, reset,
    /// TLS, a body cut short. [`is_connect`](Error::is_connect) tells a
    /// connection that could not be opened.
    Transport {
        /// The request that failed: operation, bucket, key and endpoint.
        request: RequestContext,
        /// The underlying error.
        cause: BoxError,
    },
    /// A local file could not be read, written or renamed.
    Io {
        /// The local path.
        path: PathBuf,
        /// The I/O error.
        error: io::Error,
    },
    /// The caller's `AsyncRead` failed during an upload.
    Reader {
        /// The I/O error.
        error: io::Error,
    },
    /// The caller's `AsyncWrite` failed during a download into it
    /// ([`download_to_writer`](super::S3BucketClient::download_to_writer)).
    Writer {
        /// The I/O error.
        error: io::Error,
    },
    /// A transfer task or thread panicked, was cancelled or could not be
    /// started.
    Task {
        /// The task's join error.
        cause: BoxError,
    },
    /// The data received does not match what the server announced (size or checksum).
    Integrity {
        /// The bucket downloaded from.
        bucket: String,
        /// The key downloaded.
        key: String,
        /// What did not match.
        detail: String,
    },
    /// The download was asked to be verified
    /// ([`DownloadOptions::require_verified`](super::DownloadOptions::require_verified))
    /// and the store gives nothing to check its content against. Nothing
    /// was fetched.
    Unverifiable {
        /// The bucket downloaded from.
        bucket: String,
        /// The key downloaded.
        key: String,
        /// Why it cannot be verified.
        reason: super::NotVerified,
    },
    /// A multipart upload failed (`error` says why) and could not be
    /// aborted either (`abort` says why): its parts stay on the server, and
    /// are billed, until
    /// [`abort_incomplete_uploads`](super::S3BucketClient::abort_incomplete_uploads),
    /// `aws s3api abort-multipart-upload` or a lifecycle rule removes them.
    /// The predicates ([`is_transport`](Error::is_transport), ...) answer for
    /// `error`; [`upload_id`](Error::upload_id) names the upload.
    UploadLeftOpen {
        /// The bucket uploaded to.
        bucket: String,
        /// The key uploaded.
        key: String,
        /// The multipart upload left open.
        upload_id: String,
        /// Why the upload failed.
        error: Box<Error>,
        /// Why the abort failed (an [`Error`] of `AbortMultipartUpload`, or
        /// parts still listed after every abort).
        abort: BoxError,
    },
    /// The configuration is unusable (bad endpoint, bad CA certificate, ...).
    Config {
        /// What is wrong.
        message: String,
        /// The underlying error, if any (its root cause ends the message).
        cause: Option<BoxError>,
    },
    /// The caller's input is unusable (e.g. a path without a file name and no key).
    InvalidInput(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotFound { code, message, .. } => write!(
                f,
                "{}: not found: {}",
                self.at(),
                Why(code, Some(404), message)
            ),
            Error::AccessDenied { code, message, .. } => write!(
                f,
                "{}: access denied: {}",
                self.at(),
                Why(code, Some(403), message)
            ),
            Error::Service {
                code,
                status,
                message,
                ..
            } => {
                write!(f, "{}: S3 error: ", self.at())?;
                if code.is_some()
                    && let Some(status) = status
                {
                    write!(f, "HTTP {status} ")?;
                }
                Why(code, *status, message).fmt(f)
            }
            Error::SseCustomerKey { given: false, .. } => write!(
                f,
                "{}: the object is encrypted with a customer key (SSE-C) and no key was \
                 given: give its key (sse_customer_key of the download, metadata or copy \
                 options)",
                self.at()
            ),
            Error::SseCustomerKey { given: true, .. } => write!(
                f,
                "{}: the SSE-C key given is not the one the object is encrypted with",
                self.at()
            ),
            Error::Credentials { cause, .. } => write!(
                f,
                "{}: no usable credentials: {}",
                self.at(),
                RootCause(cause.as_ref())
            ),
            Error::Timeout { cause, .. } => {
                write!(f, "{}: timed out: {}", self.at(), RootCause(cause.as_ref()))
            }
            Error::Transport { cause, .. } => write!(
                f,
                "{}: transport failure: {}",
                self.at(),
                RootCause(cause.as_ref())
            ),
            Error::Io { path, error } => write!(f, "local file `{}`: {error}", path.display()),
            Error::Reader { error } => write!(f, "reading the upload source failed: {error}"),
            Error::Writer { error } => {
                write!(f, "writing to the download's destination failed: {error}")
            }
            Error::Task { cause } => {
                write!(f, "transfer task failed: {}", RootCause(cause.as_ref()))
            }
            Error::Integrity {
                bucket,
                key,
                detail,
            } => write!(
                f,
                "integrity check failed for key `{key}` in bucket `{bucket}`: {detail}"
            ),
            Error::Unverifiable {
                bucket,
                key,
                reason,
            } => write!(
                f,
                "download of key `{key}` in bucket `{bucket}` refused: its content cannot be \
                 verified ({reason}), and verification is required"
            ),
            Error::UploadLeftOpen {
                bucket,
                key,
                upload_id,
                error,
                abort,
            } => write!(
                f,
                "{error}; the multipart upload `{upload_id}` of key `{key}` in bucket `{bucket}` \
                 is left open, its parts kept (and billed) until aborted: its abort failed: {}",
                RootCause(abort.as_ref())
            ),
            Error::Config { message, cause } => {
                write!(f, "invalid S3 configuration: {message}")?;
                match cause {
                    Some(cause) => write!(f, ": {}", RootCause(cause.as_ref())),
                    None => Ok(()),
                }
            }
            Error::InvalidInput(what) => write!(f, "invalid input: {what}"),
        }
    }
}

/// No `source()`: see the module comment.
impl StdError for Error {}

/// Which request failed: the S3 operation, the bucket and key it named and
/// the endpoint it went to. Held by every error of a request
/// ([`Error::NotFound`], [`Error::AccessDenied`], [`Error::Service`],
/// [`Error::SseCustomerKey`], [`Error::Credentials`], [`Error::Timeout`],
/// [`Error::Transport`]) and returned by [`Error::request`].
///
/// `Display` is the start of those errors' messages ("GetObject of key `k`
/// in bucket `b` at http://..."); `Debug` shows the four parts, with any
/// `user:password@` removed from the endpoint. It holds no credentials.
///
/// ```
/// use ms_utils_communication::s3::Error;
///
/// fn where_(err: &Error) -> String {
///     match err.request() {
///         Some(r) => format!("{} on {:?}/{:?} at {}", r.operation(), r.bucket(), r.key(), r.endpoint()),
///         None => "not a request".to_owned(),
///     }
/// }
/// assert_eq!(where_(&Error::InvalidInput("x".into())), "not a request");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct RequestContext {
    operation: &'static str,
    bucket: Option<Box<str>>,
    key: Option<Box<str>>,
    endpoint: Arc<str>,
}

impl RequestContext {
    /// `operation` on `bucket`/`key` (`""` and `None` when the operation
    /// names none) sent to `endpoint`.
    pub(crate) fn new(
        endpoint: &Arc<str>,
        operation: &'static str,
        bucket: &str,
        key: Option<&str>,
    ) -> Self {
        RequestContext {
            operation,
            bucket: (!bucket.is_empty()).then(|| bucket.into()),
            key: key.map(Into::into),
            endpoint: Arc::clone(endpoint),
        }
    }

    /// The S3 operation, e.g. `GetObject`, `ListObjectsV2`.
    pub fn operation(&self) -> &'static str {
        self.operation
    }

    /// The bucket, when the operation names one.
    pub fn bucket(&self) -> Option<&str> {
        self.bucket.as_deref()
    }

    /// The key, when the operation names one.
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// The endpoint URL the request went to: the configured endpoint, or
    /// `https://s3.<region>.amazonaws.com` without one.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }
}

impl fmt::Debug for RequestContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestContext")
            .field("operation", &self.operation)
            .field("bucket", &self.bucket)
            .field("key", &self.key)
            .field("endpoint", &without_userinfo(&self.endpoint))
            .finish()
    }
}

/// `scheme://host...` without a `user:password@` part.
fn without_userinfo(url: &str) -> std::borrow::Cow<'_, str> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.into();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://{}", &rest[at + 1..]).into(),
        None => url.into(),
    }
}

/// "GetObject of key `k` in bucket `b` at http://...", for the messages.
impl fmt::Display for RequestContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.operation)?;
        match (self.bucket(), self.key()) {
            (Some(b), Some(k)) => write!(f, " of key `{k}` in bucket `{b}`")?,
            (Some(b), None) => write!(f, " on bucket `{b}`")?,
            (None, Some(k)) => write!(f, " of key `{k}`")?,
            (None, None) => {}
        }
        write!(f, " at {}", self.endpoint)
    }
}

/// The server's reason: `code: message`, or what of it there is.
struct Why<'a>(&'a Option<Box<str>>, Option<u16>, &'a Option<Box<str>>);

impl fmt::Display for Why<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Why(code, status, message) = self;
        match (code, status) {
            (Some(code), _) => f.write_str(code)?,
            (None, Some(status)) => write!(f, "HTTP {status}")?,
            (None, None) => f.write_str("no error code")?,
        }
        match message {
            Some(m) if !m.is_empty() => write!(f, ": {m}"),
            _ => Ok(()),
        }
    }
}

impl Error {
    /// True when the bucket or the key does not exist.
    ///
    /// ```
    /// # let err = ms_utils_communication::s3::Error::InvalidInput("x".into());
    /// if err.is_not_found() { /* create it, or report a missing object */ }
    /// ```
    pub fn is_not_found(&self) -> bool {
        matches!(self.failure(), Error::NotFound { .. })
    }

    /// True when the *bucket* does not exist (code `NoSuchBucket`). Object
    /// operations that use HEAD ([`exists`](super::S3BucketClient::exists),
    /// [`get_file_metadata`](super::S3BucketClient::get_file_metadata),
    /// downloads) check the bucket on a 404, so this holds for them too.
    ///
    /// ```no_run
    /// # async fn f(c: ms_utils_communication::s3::S3BucketClient) -> Result<(), ms_utils_communication::s3::Error> {
    /// match c.exists("bucket", "key").await {
    ///     Ok(found) => println!("{found}"),
    ///     Err(e) if e.is_bucket_not_found() => eprintln!("create the bucket first"),
    ///     Err(e) => return Err(e),
    /// }
    /// # Ok(()) }
    /// ```
    pub fn is_bucket_not_found(&self) -> bool {
        matches!(self.failure(), Error::NotFound { code: Some(c), .. } if &**c == "NoSuchBucket")
    }

    /// True when the server refused the credentials or the rights.
    ///
    /// ```
    /// # let err = ms_utils_communication::s3::Error::InvalidInput("x".into());
    /// assert!(!err.is_access_denied());
    /// ```
    pub fn is_access_denied(&self) -> bool {
        matches!(self.failure(), Error::AccessDenied { .. })
    }

    /// True when the object is encrypted with a customer key (SSE-C) and
    /// none, or another, was given ([`Error::SseCustomerKey`]).
    ///
    /// ```
    /// # let err = ms_utils_communication::s3::Error::InvalidInput("x".into());
    /// assert!(!err.is_sse_customer_key());
    /// ```
    pub fn is_sse_customer_key(&self) -> bool {
        matches!(self.failure(), Error::SseCustomerKey { .. })
    }

    /// True when no credentials could be found, or their provider failed:
    /// set `S3_ACCESS_KEY_ID` / `S3_SECRET_ACCESS_KEY` or the AWS chain's
    /// variables. Nothing was sent.
    ///
    /// ```
    /// # let err = ms_utils_communication::s3::Error::InvalidInput("x".into());
    /// assert!(!err.is_credentials());
    /// ```
    pub fn is_credentials(&self) -> bool {
        matches!(self.failure(), Error::Credentials { .. })
    }

    /// True when a timeout fired.
    ///
    /// ```
    /// # let err = ms_utils_communication::s3::Error::InvalidInput("x".into());
    /// assert!(!err.is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self.failure(), Error::Timeout { .. })
    }

    /// True when the connection failed or broke (server gone, reset, truncated body).
    ///
    /// ```
    /// # let err = ms_utils_communication::s3::Error::InvalidInput("x".into());
    /// assert!(!err.is_transport());
    /// ```
    pub fn is_transport(&self) -> bool {
        matches!(self.failure(), Error::Transport { .. })
    }

    /// True for a transport failure before any answer: the connection to
    /// [`endpoint`](Error::endpoint) could not be opened (refused, name not
    /// resolved, unreachable) or broke while the request was sent.
    ///
    /// ```
    /// # let err = ms_utils_communication::s3::Error::InvalidInput("x".into());
    /// assert!(!err.is_connect());
    /// ```
    pub fn is_connect(&self) -> bool {
        match self.failure() {
            Error::Transport { cause, .. } => {
                find::<ConnectorError>(cause.as_ref()).is_some_and(ConnectorError::is_io)
            }
            _ => false,
        }
    }

    /// True when the server does not implement the operation (e.g. object ACLs
    /// on some S3-compatible stores).
    ///
    /// ```
    /// # let err = ms_utils_communication::s3::Error::InvalidInput("x".into());
    /// assert!(!err.is_not_implemented());
    /// ```
    pub fn is_not_implemented(&self) -> bool {
        match self.failure() {
            Error::Service { code, status, .. } => {
                code.as_deref() == Some("NotImplemented") || *status == Some(501)
            }
            _ => false,
        }
    }

    /// True when the data received did not match what the server announced:
    /// fewer bytes than its length, or a checksum that does not match the
    /// one it stored.
    ///
    /// ```
    /// # let err = ms_utils_communication::s3::Error::InvalidInput("x".into());
    /// assert!(!err.is_integrity());
    /// ```
    pub fn is_integrity(&self) -> bool {
        matches!(self.failure(), Error::Integrity { .. })
    }

    /// True when a local file could not be read or written, or the caller's
    /// reader (upload) or writer (download) failed.
    ///
    /// ```
    /// # let err = ms_utils_communication::s3::Error::InvalidInput("x".into());
    /// assert!(!err.is_io());
    /// ```
    pub fn is_io(&self) -> bool {
        matches!(
            self.failure(),
            Error::Io { .. } | Error::Reader { .. } | Error::Writer { .. }
        )
    }

    /// The S3 error code the server sent (`NoSuchKey`, `AccessDenied`, ...), if any.
    ///
    /// ```
    /// # let err = ms_utils_communication::s3::Error::InvalidInput("x".into());
    /// assert_eq!(err.code(), None);
    /// ```
    pub fn code(&self) -> Option<&str> {
        match self.failure() {
            Error::AccessDenied { code, .. }
            | Error::Service { code, .. }
            | Error::NotFound { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// The S3 operation that failed (`GetObject`, `ListObjectsV2`, ...), for
    /// errors of a request.
    ///
    /// ```
    /// # let err = ms_utils_communication::s3::Error::InvalidInput("x".into());
    /// assert_eq!(err.operation(), None);
    /// ```
    pub fn operation(&self) -> Option<&'static str> {
        self.request().map(RequestContext::operation)
    }

    /// The bucket the failed request was about, if it names one.
    ///
    /// ```
    /// # let err = ms_utils_communication::s3::Error::InvalidInput("x".into());
    /// assert_eq!(err.bucket(), None);
    /// ```
    pub fn bucket(&self) -> Option<&str> {
        match self {
            Error::Integrity { bucket, .. }
            | Error::Unverifiable { bucket, .. }
            | Error::UploadLeftOpen { bucket, .. } => Some(bucket),
            _ => self.request().and_then(RequestContext::bucket),
        }
    }

    /// The key the failed request was about, if it names one.
    ///
    /// ```
    /// # let err = ms_utils_communication::s3::Error::InvalidInput("x".into());
    /// assert_eq!(err.key(), None);
    /// ```
    pub fn key(&self) -> Option<&str> {
        match self {
            Error::Integrity { key, .. }
            | Error::Unverifiable { key, .. }
            | Error::UploadLeftOpen { key, .. } => Some(key),
            _ => self.request().and_then(RequestContext::key),
        }
    }

    /// The endpoint URL the failed request went to: the configured endpoint,
    /// or `https://s3.<region>.amazonaws.com` without one.
    ///
    /// ```
    /// # let err = ms_utils_communication::s3::Error::InvalidInput("x".into());
    /// assert_eq!(err.endpoint(), None);
    /// ```
    pub fn endpoint(&self) -> Option<&str> {
        self.request().map(RequestContext::endpoint)
    }

    /// The request that failed (operation, bucket, key, endpoint), for
    /// errors of a request: [`Error::NotFound`], [`Error::AccessDenied`],
    /// [`Error::Service`], [`Error::SseCustomerKey`], [`Error::Credentials`],
    /// [`Error::Timeout`] and [`Error::Transport`] (also when kept in an
    /// [`Error::UploadLeftOpen`]).
    ///
    /// ```
    /// # let err = ms_utils_communication::s3::Error::InvalidInput("x".into());
    /// assert!(err.request().is_none());
    /// ```
    pub fn request(&self) -> Option<&RequestContext> {
        match self.failure() {
            Error::NotFound { request, .. }
            | Error::AccessDenied { request, .. }
            | Error::Service { request, .. }
            | Error::Credentials { request, .. }
            | Error::SseCustomerKey { request, .. }
            | Error::Timeout { request, .. }
            | Error::Transport { request, .. } => Some(request),
            _ => None,
        }
    }

    /// True when a download required to be verified could not be
    /// ([`Error::Unverifiable`]).
    ///
    /// ```
    /// # let err = ms_utils_communication::s3::Error::InvalidInput("x".into());
    /// assert!(!err.is_unverifiable());
    /// ```
    pub fn is_unverifiable(&self) -> bool {
        matches!(self, Error::Unverifiable { .. })
    }

    /// True when a multipart upload failed and could not be aborted
    /// either ([`Error::UploadLeftOpen`]): its parts stay on the server until
    /// removed; [`upload_id`](Error::upload_id) names it.
    ///
    /// ```
    /// # let err = ms_utils_communication::s3::Error::InvalidInput("x".into());
    /// assert!(!err.is_upload_left_open());
    /// ```
    pub fn is_upload_left_open(&self) -> bool {
        matches!(self, Error::UploadLeftOpen { .. })
    }

    /// The id of the multipart upload a failed upload left open (see
    /// [`Error::UploadLeftOpen`]), for `abort_incomplete_uploads` or
    /// `aws s3api abort-multipart-upload`.
    ///
    /// ```no_run
    /// # async fn f(c: ms_utils_communication::s3::S3BucketClient) {
    /// if let Err(e) = c.upload_file("big.bin", "bucket", None, Default::default()).await {
    ///     if let (Some(id), Some(key)) = (e.upload_id(), e.key()) {
    ///         eprintln!("upload {id} of {key} left open: {e}");
    ///     }
    /// }
    /// # }
    /// ```
    pub fn upload_id(&self) -> Option<&str> {
        match self {
            Error::UploadLeftOpen { upload_id, .. } => Some(upload_id),
            _ => None,
        }
    }

    /// The error the predicates answer for: the upload's own failure for
    /// an [`Error::UploadLeftOpen`], else this one.
    fn failure(&self) -> &Error {
        match self {
            Error::UploadLeftOpen { error, .. } => error.failure(),
            other => other,
        }
    }

    /// What the messages name: the request, or a placeholder.
    fn at(&self) -> &dyn fmt::Display {
        match self.request() {
            Some(request) => request,
            None => &"S3 at ?",
        }
    }
}

mod classify;

pub(crate) use classify::endpoint_label;

#[cfg(test)]
mod tests;
