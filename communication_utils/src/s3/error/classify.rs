//! Building an [`Error`]: from an I/O failure, a configuration problem, a
//! task, a transport failure, and from an SDK error, classified by what the
//! server or the connection said.

use std::error::Error as StdError;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::http::Response as HttpResponse;

use crate::error_chain::find;
use crate::s3::error::{At, BoxError, Error};

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, error: io::Error) -> Self {
        Error::Io {
            path: path.into(),
            error,
        }
    }

    pub(crate) fn config(message: impl Into<String>, cause: Option<BoxError>) -> Self {
        Error::Config {
            message: message.into(),
            cause,
        }
    }

    pub(crate) fn task(error: tokio::task::JoinError) -> Self {
        Error::Task {
            cause: Box::new(error),
        }
    }

    /// A transfer that broke off while the body was read.
    pub(crate) fn transport(
        endpoint: &Arc<str>,
        operation: &'static str,
        bucket: &str,
        key: Option<&str>,
        cause: BoxError,
    ) -> Self {
        Error::Transport {
            operation,
            bucket: non_empty(bucket),
            key: key.map(Into::into),
            endpoint: Arc::clone(endpoint),
            cause,
        }
    }

    /// Classifies an SDK error of `operation` on `bucket`/`key` (`""` and
    /// `None` when the operation names none) sent to `endpoint`.
    pub(crate) fn from_sdk<E>(
        endpoint: &Arc<str>,
        operation: &'static str,
        bucket: &str,
        key: Option<&str>,
        err: SdkError<E, HttpResponse>,
    ) -> Self
    where
        E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    {
        let status = err.raw_response().map(|r| r.status().as_u16());
        let code: Option<Box<str>> = err.code().map(Into::into);
        let message = err.message().map(Into::into);
        let (bucket, key, endpoint) =
            (non_empty(bucket), key.map(Into::into), Arc::clone(endpoint));
        // Missing credentials surface as a dispatch failure (the identity
        // resolver runs just before sending): look for them first.
        if !matches!(err, SdkError::ServiceError(_)) && find::<CredentialsError>(&err).is_some() {
            return Error::Credentials {
                operation,
                bucket,
                key,
                endpoint,
                cause: Box::new(err),
            };
        }
        let timeout = match &err {
            SdkError::TimeoutError(_) => true,
            SdkError::DispatchFailure(d) => d.is_timeout(),
            _ => false,
        };
        if timeout {
            return Error::Timeout {
                operation,
                bucket,
                key,
                endpoint,
                cause: Box::new(err),
            };
        }
        match &err {
            SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
                return Error::Transport {
                    operation,
                    bucket,
                    key,
                    endpoint,
                    cause: Box::new(err),
                };
            }
            SdkError::ConstructionFailure(_) => {
                let at = At {
                    operation,
                    bucket: bucket.as_deref(),
                    key: key.as_deref(),
                    endpoint: &endpoint,
                };
                return Error::config(format!("{at}: request not built"), Some(Box::new(err)));
            }
            _ => {}
        }
        let not_found = matches!(
            code.as_deref(),
            Some("NoSuchKey" | "NoSuchBucket" | "NotFound" | "NoSuchUpload" | "NoSuchVersion")
        ) || status == Some(404);
        if not_found {
            return Error::NotFound {
                operation,
                bucket,
                key,
                endpoint,
                code,
                message,
                cause: Box::new(err),
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
                bucket,
                key,
                endpoint,
                code,
                message,
                cause: Box::new(err),
            };
        }
        Error::Service {
            operation,
            bucket,
            key,
            endpoint,
            code,
            status,
            message,
            cause: Box::new(err),
        }
    }
}

impl Error {
    /// This refusal of a request on an SSE-C object as an
    /// [`Error::SseCustomerKey`] (`given`: whether the request carried a
    /// key); any other error unchanged.
    pub(crate) fn into_sse_customer_key(self, given: bool) -> Self {
        match self {
            Error::Service {
                operation,
                bucket,
                key,
                endpoint,
                cause,
                ..
            }
            | Error::AccessDenied {
                operation,
                bucket,
                key,
                endpoint,
                cause,
                ..
            } => Error::SseCustomerKey {
                operation,
                bucket,
                key,
                endpoint,
                given,
                cause,
            },
            other => other,
        }
    }

    /// HTTP 400 (a service error), as S3 answers a HEAD or GET of an SSE-C
    /// object sent without its key.
    pub(crate) fn is_bad_request(&self) -> bool {
        matches!(
            self,
            Error::Service {
                status: Some(400),
                ..
            }
        )
    }
}

fn non_empty(s: &str) -> Option<Box<str>> {
    (!s.is_empty()).then(|| s.into())
}

/// The endpoint errors name: the configured one, or AWS's regional endpoint.
pub(crate) fn endpoint_label(endpoint: Option<&str>, region: &str) -> String {
    match endpoint {
        Some(url) => url.to_owned(),
        None => format!("https://s3.{region}.amazonaws.com"),
    }
}
