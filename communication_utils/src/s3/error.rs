//! The one error type of the S3 client.

use std::path::PathBuf;

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::http::Response as HttpResponse;

/// A boxed foreign error, kept as the `source` of an [`Error`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything an [`S3BucketClient`](super::S3BucketClient) operation can fail with.
///
/// Match on the predicates ([`is_not_found`](Error::is_not_found),
/// [`is_access_denied`](Error::is_access_denied), ...) rather than on message
/// text; the SDK error (or I/O error) that caused it is kept as
/// [`std::error::Error::source`].
///
/// ```
/// use ms_utils_communication::s3::Error;
///
/// fn describe(err: &Error) -> &'static str {
///     if err.is_not_found() {
///         "no such bucket or key"
///     } else if err.is_access_denied() {
///         "check S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY"
///     } else {
///         "other failure"
///     }
/// }
/// # let _ = describe;
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bucket or the key does not exist (HTTP 404, `NoSuchKey`, `NoSuchBucket`).
    #[error("{operation}: not found: bucket `{bucket}`{}", key_suffix(key.as_deref()))]
    NotFound {
        /// The S3 operation, e.g. `GetObject`.
        operation: &'static str,
        /// The bucket asked for.
        bucket: String,
        /// The key asked for, when the operation names one.
        key: Option<String>,
        /// The S3 error code (`NoSuchKey`, `NoSuchBucket`), when the server sent one.
        code: Option<String>,
        /// The SDK error.
        #[source]
        source: BoxError,
    },
    /// The server refused the request: wrong credentials, a bad signature or
    /// missing rights (HTTP 403).
    #[error("{operation}: access denied ({})", code.as_deref().unwrap_or("403"))]
    AccessDenied {
        /// The S3 operation.
        operation: &'static str,
        /// The S3 error code, e.g. `InvalidAccessKeyId`, `SignatureDoesNotMatch`.
        code: Option<String>,
        /// The SDK error.
        #[source]
        source: BoxError,
    },
    /// The server answered with another S3 error (including `NotImplemented`).
    #[error("{operation}: S3 error {} (HTTP {})", code.as_deref().unwrap_or("?"), status.map_or_else(|| "?".to_owned(), |s| s.to_string()))]
    Service {
        /// The S3 operation.
        operation: &'static str,
        /// The S3 error code, when the server sent one.
        code: Option<String>,
        /// The HTTP status, when there was a response.
        status: Option<u16>,
        /// The SDK error.
        #[source]
        source: BoxError,
    },
    /// The request or the whole operation ran past its timeout.
    #[error("{operation}: timed out")]
    Timeout {
        /// The S3 operation.
        operation: &'static str,
        /// The SDK error.
        #[source]
        source: BoxError,
    },
    /// The connection failed or broke (refused, reset, truncated body, TLS).
    #[error("{operation}: transport failure")]
    Transport {
        /// The S3 operation.
        operation: &'static str,
        /// The underlying error.
        #[source]
        source: BoxError,
    },
    /// A local file could not be read, written or renamed.
    #[error("local file `{}`: {source}", path.display())]
    Io {
        /// The local path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The caller's `AsyncRead` failed during an upload.
    #[error("reading the upload source failed: {source}")]
    Reader {
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A transfer task panicked or was cancelled.
    #[error("transfer task failed")]
    Task {
        /// The join error.
        #[source]
        source: tokio::task::JoinError,
    },
    /// The data received does not match what the server announced (size or checksum).
    #[error("integrity check failed for `{key}`: {detail}")]
    Integrity {
        /// The key downloaded.
        key: String,
        /// What did not match.
        detail: String,
    },
    /// The configuration is unusable (bad endpoint, bad CA certificate, ...).
    #[error("invalid S3 configuration: {message}")]
    Config {
        /// What is wrong.
        message: String,
        /// The underlying error, if any.
        #[source]
        source: Option<BoxError>,
    },
    /// The caller's input is unusable (e.g. a path without a file name and no key).
    #[error("invalid input: {0}")]
    InvalidInput(String),
}

fn key_suffix(key: Option<&str>) -> String {
    key.map(|k| format!(", key `{k}`")).unwrap_or_default()
}

impl Error {
    /// True when the bucket or the key does not exist.
    ///
    /// ```
    /// # let err = ms_utils_communication::s3::Error::InvalidInput("x".into());
    /// if err.is_not_found() { /* create it, or report a missing object */ }
    /// ```
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound { .. })
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
        matches!(self, Error::NotFound { code: Some(c), .. } if c == "NoSuchBucket")
    }

    /// True when the server refused the credentials or the rights.
    ///
    /// ```
    /// # let err = ms_utils_communication::s3::Error::InvalidInput("x".into());
    /// assert!(!err.is_access_denied());
    /// ```
    pub fn is_access_denied(&self) -> bool {
        matches!(self, Error::AccessDenied { .. })
    }

    /// True when a timeout fired.
    ///
    /// ```
    /// # let err = ms_utils_communication::s3::Error::InvalidInput("x".into());
    /// assert!(!err.is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout { .. })
    }

    /// True when the connection failed or broke (server gone, reset, truncated body).
    ///
    /// ```
    /// # let err = ms_utils_communication::s3::Error::InvalidInput("x".into());
    /// assert!(!err.is_transport());
    /// ```
    pub fn is_transport(&self) -> bool {
        matches!(self, Error::Transport { .. })
    }

    /// True when the server does not implement the operation (e.g. object ACLs
    /// on some S3-compatible stores).
    ///
    /// ```
    /// # let err = ms_utils_communication::s3::Error::InvalidInput("x".into());
    /// assert!(!err.is_not_implemented());
    /// ```
    pub fn is_not_implemented(&self) -> bool {
        match self {
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
        matches!(self, Error::Integrity { .. })
    }

    /// True when a local file could not be read or written.
    ///
    /// ```
    /// # let err = ms_utils_communication::s3::Error::InvalidInput("x".into());
    /// assert!(!err.is_io());
    /// ```
    pub fn is_io(&self) -> bool {
        matches!(self, Error::Io { .. } | Error::Reader { .. })
    }

    /// The S3 error code the server sent (`NoSuchKey`, `AccessDenied`, ...), if any.
    ///
    /// ```
    /// # let err = ms_utils_communication::s3::Error::InvalidInput("x".into());
    /// assert_eq!(err.code(), None);
    /// ```
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::AccessDenied { code, .. }
            | Error::Service { code, .. }
            | Error::NotFound { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn config(message: impl Into<String>, source: Option<BoxError>) -> Self {
        Error::Config {
            message: message.into(),
            source,
        }
    }

    /// Classifies an SDK error. `bucket`/`key` name what was asked for, for
    /// not-found errors.
    pub(crate) fn from_sdk<E>(
        operation: &'static str,
        bucket: &str,
        key: Option<&str>,
        err: SdkError<E, HttpResponse>,
    ) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let status = err.raw_response().map(|r| r.status().as_u16());
        let code = err.code().map(str::to_owned);
        match &err {
            SdkError::TimeoutError(_) => {
                return Error::Timeout {
                    operation,
                    source: Box::new(err),
                };
            }
            SdkError::DispatchFailure(d) => {
                if d.is_timeout() {
                    return Error::Timeout {
                        operation,
                        source: Box::new(err),
                    };
                }
                return Error::Transport {
                    operation,
                    source: Box::new(err),
                };
            }
            SdkError::ResponseError(_) => {
                return Error::Transport {
                    operation,
                    source: Box::new(err),
                };
            }
            SdkError::ConstructionFailure(_) => {
                return Error::config(
                    format!("{operation}: request not built"),
                    Some(Box::new(err)),
                );
            }
            _ => {}
        }
        let not_found = matches!(
            code.as_deref(),
            Some("NoSuchKey" | "NoSuchBucket" | "NotFound" | "NoSuchUpload")
        ) || status == Some(404);
        if not_found {
            return Error::NotFound {
                operation,
                bucket: bucket.to_owned(),
                key: key.map(str::to_owned),
                code,
                source: Box::new(err),
            };
        }
        let denied = matches!(
            code.as_deref(),
            Some(
                "AccessDenied"
                    | "InvalidAccessKeyId"
                    | "SignatureDoesNotMatch"
                    | "InvalidToken"
                    | "ExpiredToken"
            )
        ) || status == Some(403);
        if denied {
            return Error::AccessDenied {
                operation,
                code,
                source: Box::new(err),
            };
        }
        Error::Service {
            operation,
            code,
            status,
            source: Box::new(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predicates_match_their_variant_only() {
        let e = Error::InvalidInput("no key".into());
        assert!(!e.is_not_found() && !e.is_access_denied() && !e.is_timeout());
        let io = Error::io(
            "/nope",
            std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        );
        assert!(io.is_io());
        assert!(std::error::Error::source(&io).is_some());
        let svc = Error::Service {
            operation: "PutObjectAcl",
            code: Some("NotImplemented".into()),
            status: Some(501),
            source: "x".into(),
        };
        assert!(svc.is_not_implemented());
        assert_eq!(svc.code(), Some("NotImplemented"));
    }
}
