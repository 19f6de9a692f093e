//! What an upload takes besides its data (`UploadOptions`) and what it
//! reports (`UploadOutput`).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use super::encryption::Encryption;
use super::object_args::ObjectArgs;
use super::progress::ProgressListener;

/// Options of an upload: extra metadata, Content-Type, progress, and what
/// boto3 takes as `ExtraArgs` (encryption, storage class, tags, standard
/// headers, canned ACL). They apply alike to a single PUT and a multipart
/// upload (where an SSE-C key goes with every part and the completion).
///
/// ```
/// use std::collections::HashMap;
/// use ms_utils_communication::s3::UploadOptions;
///
/// let mut meta = HashMap::new();
/// meta.insert("owner".to_owned(), "team-a".to_owned());
/// let options = UploadOptions::new().metadata(meta).content_type("text/csv");
/// # let _ = options;
/// ```
#[derive(Clone, Default)]
#[must_use]
pub struct UploadOptions {
    pub(crate) metadata: Option<HashMap<String, String>>,
    pub(crate) content_type: Option<String>,
    pub(crate) progress: Option<Arc<dyn ProgressListener>>,
    pub(crate) args: ObjectArgs,
}

impl fmt::Debug for UploadOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UploadOptions")
            .field("metadata", &self.metadata)
            .field("content_type", &self.content_type)
            .field("progress", &self.progress.is_some())
            .field("args", &self.args)
            .finish()
    }
}

impl UploadOptions {
    /// No extra metadata, type guessed, no progress.
    pub fn new() -> Self {
        Self::default()
    }

    /// User metadata to store besides the four standard keys (the map is
    /// copied; the standard keys win on a clash, as in the original).
    pub fn metadata(mut self, metadata: HashMap<String, String>) -> Self {
        self.metadata = Some(metadata);
        self
    }

    /// The Content-Type (and `FileType`), instead of the guess from the extension.
    pub fn content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }

    /// Progress reports go to this listener.
    pub fn progress(mut self, listener: Arc<dyn ProgressListener>) -> Self {
        self.progress = Some(listener);
        self
    }

    /// Server-side encryption (`ExtraArgs={'ServerSideEncryption': 'AES256'}`,
    /// `'aws:kms'` with `SSEKMSKeyId`, or `SSECustomerKey`): see
    /// [`Encryption`]. An SSE-C object can only be read with the same key
    /// ([`DownloadOptions::sse_customer_key`](super::DownloadOptions::sse_customer_key), ...).
    pub fn encryption(mut self, encryption: Encryption) -> Self {
        self.args.encryption = Some(encryption);
        self
    }

    /// The storage class (`STANDARD_IA`, `GLACIER_IR`, `ONEZONE_IA`,
    /// `INTELLIGENT_TIERING`, Scaleway's `ONEZONE_IA`/`GLACIER`, ...); the
    /// store's default (`STANDARD`) when unset.
    pub fn storage_class(mut self, class: impl Into<String>) -> Self {
        self.args.storage_class = Some(class.into());
        self
    }

    /// Tags of the object (`ExtraArgs={'Tagging': 'k=v&...'}`), in this
    /// order; keys and values are encoded by the client.
    pub fn tags<K: Into<String>, V: Into<String>>(
        mut self,
        tags: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.args.tags = Some(
            tags.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        );
        self
    }

    /// `Cache-Control`, returned with every GET of the object.
    pub fn cache_control(mut self, value: impl Into<String>) -> Self {
        self.args.cache_control = Some(value.into());
        self
    }

    /// `Content-Disposition` (e.g. `attachment; filename="report.pdf"`).
    pub fn content_disposition(mut self, value: impl Into<String>) -> Self {
        self.args.content_disposition = Some(value.into());
        self
    }

    /// `Content-Encoding` (e.g. `gzip` for data uploaded compressed). The
    /// client sends the bytes as given.
    pub fn content_encoding(mut self, value: impl Into<String>) -> Self {
        self.args.content_encoding = Some(value.into());
        self
    }

    /// `Content-Language` (e.g. `fr-FR`).
    pub fn content_language(mut self, value: impl Into<String>) -> Self {
        self.args.content_language = Some(value.into());
        self
    }

    /// `Expires`: when caches should consider the object stale.
    pub fn expires(mut self, at: SystemTime) -> Self {
        self.args.expires = Some(at);
        self
    }

    /// A canned ACL (`private`, `public-read`, `bucket-owner-full-control`,
    /// ...), as [`set_file_permission`](super::S3BucketClient::set_file_permission)
    /// sets afterwards. Buckets with ACLs disabled (the AWS default since
    /// 2023) refuse any but `private` / `bucket-owner-full-control`.
    pub fn acl(mut self, acl: impl Into<String>) -> Self {
        self.args.acl = Some(acl.into());
        self
    }
}

/// What an upload did.
///
/// ```no_run
/// # async fn f(c: ms_utils_communication::s3::S3BucketClient) -> Result<(), ms_utils_communication::s3::Error> {
/// let out = c.upload_bytes(b"hello".to_vec(), "bucket", "hello.txt", Default::default()).await?;
/// assert_eq!(out.size, 5);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UploadOutput {
    /// The key written.
    pub key: String,
    /// Bytes uploaded.
    pub size: u64,
    /// The ETag the server returned.
    pub e_tag: Option<String>,
    /// Number of parts (0 for a single PUT).
    pub parts: usize,
    /// The full-object checksum the store confirmed it keeps (see
    /// [`UploadChecksum`](super::UploadChecksum)); `None` when none was sent,
    /// or the store did not say it kept it.
    pub checksum: Option<super::FullChecksum>,
}
