//! Integration tests of `ms_utils_encoding`, in one binary: embedding jobs
//! against the development gateway, S3 server and worker.

mod support;

mod chunks_roundtrip;
mod download_data;
mod encoding_job;
mod encoding_job_failures;
mod python_interop;
mod worker;
