use super::*;
use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Error;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::http::Response as HttpResponse;

const ENDPOINT: &str = "http://127.0.0.1:9";

fn endpoint() -> Arc<str> {
    ENDPOINT.into()
}

fn dispatch(e: ConnectorError) -> SdkError<ListObjectsV2Error, HttpResponse> {
    SdkError::dispatch_failure(e)
}

#[test]
fn predicates_match_their_variant_only() {
    let e = Error::InvalidInput("no key".into());
    assert!(!e.is_not_found() && !e.is_access_denied() && !e.is_timeout());
    let io = Error::io("/nope", io::Error::from(io::ErrorKind::PermissionDenied));
    assert!(io.is_io());
    let svc = Error::Service {
        request: RequestContext::new(&ENDPOINT.into(), "PutObjectAcl", "b", Some("k")),
        code: Some("NotImplemented".into()),
        status: Some(501),
        message: None,
        cause: "x".into(),
    };
    assert!(svc.is_not_implemented());
    assert_eq!(svc.code(), Some("NotImplemented"));
    assert_eq!(svc.operation(), Some("PutObjectAcl"));
    assert_eq!(svc.endpoint(), Some(ENDPOINT));
}

#[test]
fn a_refused_connection_is_a_connect_failure_naming_where() {
    let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
    let err = Error::from_sdk(
        &endpoint(),
        "ListObjectsV2",
        "bkt",
        None,
        dispatch(ConnectorError::io(Box::new(refused))),
    );
    assert!(err.is_transport() && err.is_connect(), "{err:?}");
    assert_eq!(err.operation(), Some("ListObjectsV2"));
    assert_eq!(err.bucket(), Some("bkt"));
    assert_eq!(err.key(), None);
    assert_eq!(err.endpoint(), Some(ENDPOINT));
}

#[test]
fn missing_credentials_are_classified_as_such() {
    let missing = CredentialsError::not_loaded("no providers in chain provided credentials");
    let err = Error::from_sdk(
        &endpoint(),
        "ListBuckets",
        "",
        None,
        dispatch(ConnectorError::other(Box::new(missing), None)),
    );
    assert!(err.is_credentials(), "{err:?}");
    assert!(!err.is_transport() && !err.is_connect());
    assert_eq!(err.bucket(), None);
}

#[test]
fn a_dispatch_timeout_is_a_timeout() {
    let err = Error::from_sdk(
        &endpoint(),
        "GetObject",
        "b",
        Some("k"),
        dispatch(ConnectorError::timeout("connect timeout".into())),
    );
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(err.key(), Some("k"));
}

/// The root cause is in the message once, and not returned again by
/// `source()`, so reporters that walk the chain do not repeat it; the
/// message names where (the accessors' values).
#[test]
fn the_root_cause_is_reported_once() {
    let os = io::Error::from_raw_os_error(111);
    let root = os.to_string();
    let err = Error::from_sdk(
        &endpoint(),
        "ListObjectsV2",
        "somebucket",
        None,
        dispatch(ConnectorError::io(Box::new(io::Error::other(os)))),
    );
    let text = err.to_string();
    assert_eq!(text.matches(&root).count(), 1, "{text}");
    for part in [err.operation(), err.bucket(), err.endpoint()] {
        assert!(text.contains(part.unwrap()), "{text}");
    }
    assert!(StdError::source(&err).is_none());

    let io = Error::io("/nope", io::Error::from_raw_os_error(13));
    let root = io::Error::from_raw_os_error(13).to_string();
    assert_eq!(io.to_string().matches(&root).count(), 1, "{io}");
    assert!(StdError::source(&io).is_none());
}

fn _assert_impls() {
    fn check<T: Send + Sync + 'static>() {}
    check::<Error>();
}

/// Every operation returns `Result<_, Error>`: the error stays small
/// (clippy's `result_large_err` limit), which is why its strings are
/// `Box<str>` and `Arc<str>`.
#[test]
fn the_error_stays_small() {
    assert!(
        std::mem::size_of::<Error>() <= 128,
        "{}",
        std::mem::size_of::<Error>()
    );
}

/// The message of a request's error reads as before the context was shared:
/// one line, operation, key, bucket, endpoint, reason.
#[test]
fn the_request_context_starts_the_message() {
    let err = Error::NotFound {
        request: RequestContext::new(&endpoint(), "GetObject", "b", Some("k")),
        code: Some("NoSuchKey".into()),
        message: Some("The specified key does not exist.".into()),
        cause: "x".into(),
    };
    assert_eq!(
        err.to_string(),
        format!(
            "GetObject of key `k` in bucket `b` at {ENDPOINT}: not found: NoSuchKey: The \
             specified key does not exist."
        )
    );
    let request = err.request().expect("a request's error");
    assert_eq!(
        (request.operation(), request.bucket(), request.key()),
        ("GetObject", Some("b"), Some("k"))
    );
    assert_eq!(request.endpoint(), ENDPOINT);
    let bucket_only = RequestContext::new(&endpoint(), "HeadBucket", "b", None);
    assert_eq!(
        bucket_only.to_string(),
        format!("HeadBucket on bucket `b` at {ENDPOINT}")
    );
    assert!(Error::InvalidInput("x".into()).request().is_none());
}

#[test]
fn the_request_context_debug_shows_no_password() {
    let request = RequestContext::new(
        &"http://user:s3cr3t@store.example:9000/x".into(),
        "GetObject",
        "b",
        Some("k"),
    );
    let debug = format!("{request:?}");
    assert!(
        !debug.contains("s3cr3t") && !debug.contains("user"),
        "{debug}"
    );
    assert!(debug.contains("http://store.example:9000/x"), "{debug}");
    assert!(
        debug.contains("GetObject") && debug.contains("\"k\""),
        "{debug}"
    );
}
