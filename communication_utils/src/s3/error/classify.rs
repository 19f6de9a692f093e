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
use crate::s3::error::{BoxError, Error, RequestContext};

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
            request: RequestContext::new(endpoint, operation, bucket, key),
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
        let request = RequestContext::new(endpoint, operation, bucket, key);
        // Missing credentials surface as a dispatch failure (the identity
        // resolver runs just before sending): look for them first.
        if !matches!(err, SdkError::ServiceError(_)) && find::<CredentialsError>(&err).is_some() {
            return Error::Credentials {
                request,
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
                request,
                cause: Box::new(err),
            };
        }
        match &err {
            SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
                return Error::Transport {
                    request,
                    cause: Box::new(err),
                };
            }
            SdkError::ConstructionFailure(_) => {
                return Error::config(format!("{request}: request not built"), Some(Box::new(err)));
            }
            _ => {}
        }
        let not_found = matches!(
            code.as_deref(),
            Some("NoSuchKey" | "NoSuchBucket" | "NotFound" | "NoSuchUpload" | "NoSuchVersion")
        ) || status == Some(404);
        if not_found {
            return Error::NotFound {
                request,
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
                request,
                code,
                message,
                cause: Box::new(err),
            };
        }
        Error::Service {
            request,
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
            Error::Service { request, cause, .. } | Error::AccessDenied { request, cause, .. } => {
                Error::SseCustomerKey {
                    request,
                    given,
                    cause,
                }
            }
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

/// The endpoint errors name: the configured one, or AWS's regional endpoint.
pub(crate) fn endpoint_label(endpoint: Option<&str>, region: &str) -> String {
    match endpoint {
        Some(url) => url.to_owned(),
        None => format!("https://s3.{region}.amazonaws.com"),
    }
}
