//! What an upload takes besides its data (`UploadOptions`) and what it
//! reports (`UploadOutput`).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use super::progress::ProgressListener;

/// Options of an upload: extra metadata, Content-Type, progress.
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
}

impl fmt::Debug for UploadOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UploadOptions")
            .field("metadata", &self.metadata)
            .field("content_type", &self.content_type)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

impl UploadOptions {
    /// No extra metadata, type guessed, no progress.
    ///
    /// ```
    /// let o = ms_utils_communication::s3::UploadOptions::new();
    /// # let _ = o;
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// User metadata to store besides the four standard keys (the map is
    /// copied; the standard keys win on a clash, as in the original).
    ///
    /// ```
    /// let o = ms_utils_communication::s3::UploadOptions::new().metadata([("k".to_owned(), "v".to_owned())].into());
    /// # let _ = o;
    /// ```
    pub fn metadata(mut self, metadata: HashMap<String, String>) -> Self {
        self.metadata = Some(metadata);
        self
    }

    /// The Content-Type (and `FileType`), instead of the guess from the extension.
    ///
    /// ```
    /// let o = ms_utils_communication::s3::UploadOptions::new().content_type("application/x-ndjson");
    /// # let _ = o;
    /// ```
    pub fn content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }

    /// Progress reports go to this listener.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use ms_utils_communication::s3::{Progress, UploadOptions};
    /// let o = UploadOptions::new().progress(Arc::new(|p: &Progress| eprintln!("{}", p.transferred)));
    /// # let _ = o;
    /// ```
    pub fn progress(mut self, listener: Arc<dyn ProgressListener>) -> Self {
        self.progress = Some(listener);
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
