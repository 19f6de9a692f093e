//! Integration tests of `ms_utils_communication`, in one binary so that a
//! change links once: the gateway client (`ws`) against the development
//! gateway, and the bucket client (`s3`) against the development S3 server
//! (or any S3 server named by `MS_UTILS_S3_TEST_ENDPOINT`).

#[cfg(feature = "s3")]
mod s3;
#[cfg(feature = "ws")]
mod ws;
