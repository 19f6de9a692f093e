//! The S3 bucket client, [`S3BucketClient`]: every operation of the Python
//! original on aws-sdk-s3, with typed errors, multipart uploads, parallel
//! ranged downloads, progress reporting and presigned URLs.
//!
//! # Quick start
//!
//! ```no_run
//! use ms_utils_communication::s3::{DownloadOptions, S3BucketClient, UploadOptions};
//!
//! # async fn run() -> Result<(), ms_utils_communication::s3::Error> {
//! // S3_ENDPOINT, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY (and S3_REGION,
//! // default "fr-par") are read now; without them the AWS chain is used.
//! let client = S3BucketClient::from_env("documents").await?;
//! client.test_connection().await?;
//!
//! // Key defaults to the file name; FileName/FileSize/FileType/CreationTime are stored.
//! client.upload_file("report.pdf", "my-bucket", None, UploadOptions::new()).await?;
//!
//! let meta = client.get_file_metadata("my-bucket", "report.pdf").await?;
//! println!("{:?}", meta.get("FileSize")); // Some("0.12 MB")
//!
//! client.download_file("my-bucket", "report.pdf", "copy.pdf", DownloadOptions::new()).await?;
//! for key in client.list_files("my-bucket").await? {
//!     println!("{key}");
//! }
//! match client.delete_file("my-bucket", "report.pdf").await {
//!     Err(e) if e.is_access_denied() => eprintln!("read-only credentials"),
//!     other => other?,
//! }
//! # Ok(()) }
//! ```
//!
//! # Beyond the original (what boto3 users reach for)
//! - Streams and ranges: [`download_to_writer`](S3BucketClient::download_to_writer)
//!   (boto3's `download_fileobj`, verified, the verdict after the bytes) and
//!   [`download_range`](S3BucketClient::download_range).
//! - Batches and folders: [`delete_files`](S3BucketClient::delete_files)
//!   (1,000 keys a request, a [`DeleteSummary`]),
//!   [`delete_prefix`](S3BucketClient::delete_prefix),
//!   [`list_folder`](S3BucketClient::list_folder) (common prefixes and
//!   objects), [`upload_dir`](S3BucketClient::upload_dir) /
//!   [`download_prefix`](S3BucketClient::download_prefix) and their `aws s3
//!   sync` forms [`sync_up`](S3BucketClient::sync_up) /
//!   [`sync_down`](S3BucketClient::sync_down).
//! - Versions: [`list_versions`](S3BucketClient::list_versions),
//!   [`DownloadOptions::version_id`],
//!   [`get_file_metadata_version`](S3BucketClient::get_file_metadata_version),
//!   [`delete_file_version`](S3BucketClient::delete_file_version),
//!   [`copy_version`](S3BucketClient::copy_version), [`ObjectId::version`].
//! - Upload options (boto3's `ExtraArgs`): [`UploadOptions`] with
//!   [`Encryption`] (SSE-S3, SSE-KMS, SSE-C with an [`SseCustomerKey`]),
//!   storage class, tags, standard headers and canned ACL;
//!   [`copy_with`](S3BucketClient::copy_with) and [`CopyOptions`] for
//!   copies. An SSE-C object read without its key, or with another, is
//!   [`Error::SseCustomerKey`].
//! - Missing credentials are [`Error::Credentials`], whose message names
//!   each source read (`S3_ACCESS_KEY_ID`/`S3_SECRET_ACCESS_KEY`,
//!   `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, the profile and its files,
//!   web identity, container credentials, instance metadata); aws-config's
//!   own log lines of the search are kept at `DEBUG`.
//!
//! ```no_run
//! use ms_utils_communication::s3::{DownloadOptions, S3BucketClient, SyncOptions};
//!
//! # async fn run(client: S3BucketClient) -> Result<(), ms_utils_communication::s3::Error> {
//! // Mirror a folder, deleting what it no longer has; skip *.tmp.
//! let s = client
//!     .sync_up("site/", "my-bucket", "www", SyncOptions::new().delete(true).exclude("*.tmp"))
//!     .await?;
//! println!("{} uploaded, {} unchanged", s.copied.len(), s.skipped.len());
//!
//! // One "folder" of the bucket, and its first KiB of a file.
//! let folder = client.list_folder("my-bucket", "www/", "/").await?;
//! let head = client.download_range("my-bucket", "www/index.html", ..1024, DownloadOptions::new()).await?;
//!
//! // Clean up in batches of 1,000.
//! let gone = client.delete_prefix("my-bucket", "tmp/").await?;
//! assert!(gone.is_complete());
//! # let _ = (folder, head); Ok(()) }
//! ```
//!
//! # Differences from the Python original
//! - Failures are [`Error`]s with predicates, never `False`/`None`/`[]`.
//! - [`list_files`](S3BucketClient::list_files) returns every key, not the first 1,000.
//! - Metadata read back has lower-case keys (S3 lower-cases them, in Python
//!   too); non-ASCII values are stored RFC 2047-encoded (see [`metadata`]).
//! - The caller's metadata map is copied, never modified.
//! - Progress goes to a [`ProgressListener`] (e.g. [`ProgressBarListener`]),
//!   not to stdout.
//!
//! # Compatible stores
//! A custom endpoint turns on path-style addressing and "checksums only when
//! required", which MinIO, Scaleway, OVH, Ceph and Backblaze need.

mod abort;
mod bulk;
mod client;
mod config;
mod copy;
mod copy_options;
mod crc;
mod credentials;
mod delete;
mod download;
mod encryption;
mod error;
mod fix_size;
mod folders;
mod http_client;
mod incomplete;
mod listing;
pub mod metadata;
mod mime;
mod object_args;
mod progress;
mod proxy;
mod range_writer;
mod stale_parts;
mod sync;
mod upload;
mod upload_checksum;
mod upload_options;
mod verification;
mod verify;
mod versions;

pub use bulk::{
    BulkFailure, BulkOptions, BulkProgress, BulkProgressListener, BulkSummary,
    DEFAULT_BULK_CONCURRENCY,
};
pub use client::S3BucketClient;
pub use config::{DEFAULT_REGION, S3Config, S3ConfigBuilder, TransferConfig, UploadChecksum};
pub use copy_options::{CopyOptions, MetadataOptions};
pub use delete::{DELETE_BATCH, DeleteFailure, DeleteSummary, DeletedObject, ObjectId};
pub use download::{DownloadOptions, DownloadOutput};
pub use encryption::{Encryption, SseCustomerKey};
pub use error::{BoxError, Error, RequestContext};
pub use folders::{FolderListing, FolderPages};
pub use incomplete::{AbortSummary, IncompleteUpload};
pub use listing::{ListPages, ObjectInfo};
pub use metadata::ObjectMetadata;
pub use progress::{Direction, Progress, ProgressBarListener, ProgressListener};
pub use sync::{SyncCompare, SyncEntry, SyncOptions, SyncReason, SyncSummary};
pub use upload_options::{UploadOptions, UploadOutput};
pub use verification::{ChecksumAlgorithm, FullChecksum, NotVerified, Verification};
pub use versions::{ObjectVersion, VersionPages};

/// A client of `server` for this crate's unit tests. (The server's own
/// `client_config()` is of the `ms_utils_communication` that `ms_utils_dev`
/// links, not of this unit-test build.)
#[cfg(test)]
pub(crate) async fn test_client(server: &ms_utils_dev::s3::DevS3Server) -> S3BucketClient {
    let config = S3Config::builder()
        .endpoint(server.endpoint())
        .credentials(server.access_key(), server.secret_key())
        .force_path_style(true)
        .checksums_when_required(true)
        .build()
        .unwrap();
    S3BucketClient::new("t", config).await.unwrap()
}
