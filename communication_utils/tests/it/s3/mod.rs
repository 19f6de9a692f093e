//! The bucket client against a real S3 protocol server: the in-process
//! development server, or the one `MS_UTILS_S3_TEST_ENDPOINT` names.

mod support;

mod bulk;
mod cancel;
mod checksums;
mod config;
mod copy;
mod delete;
mod errors;
mod faults;
mod folders;
mod incomplete;
mod listing;
mod metadata;
mod mime_python;
mod presign;
mod progress;
mod proxy;
mod python_interop;
mod roundtrip;
mod secrets;
mod send;
mod stale_parts;
mod streams;
mod sync;
mod transport;
mod upload_options;
mod verify;
mod versions;
