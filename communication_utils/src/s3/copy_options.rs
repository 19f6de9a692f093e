//! Options of a server-side copy ([`CopyOptions`]) and of a metadata read
//! ([`MetadataOptions`]): what the destination gets, and the SSE-C key an
//! object was written with.

use std::time::SystemTime;

use super::encryption::{Encryption, SseCustomerKey};
use super::object_args::ObjectArgs;

/// Options of [`S3BucketClient::copy_with`](super::S3BucketClient::copy_with)
/// (boto3's `copy(..., ExtraArgs=...)`). By default the copy keeps the
/// source's metadata, content type, standard headers and tags, and gets the
/// bucket's default encryption, the `STANDARD` class and a private ACL, as
/// S3 does.
///
/// ```
/// use ms_utils_communication::s3::{CopyOptions, Encryption, SseCustomerKey};
///
/// let options = CopyOptions::new()
///     .source_sse_customer_key(SseCustomerKey::new([1u8; 32]))
///     .encryption(Encryption::kms("alias/archive"))
///     .storage_class("GLACIER_IR")
///     .tags([("archived", "yes")]);
/// # let _ = options;
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct CopyOptions {
    pub(crate) args: ObjectArgs,
    pub(crate) content_type: Option<String>,
    pub(crate) source_key: Option<SseCustomerKey>,
    pub(crate) source_version: Option<String>,
}

impl CopyOptions {
    /// A copy that keeps what the source has (see the type's doc).
    pub fn new() -> Self {
        Self::default()
    }

    /// The SSE-C key the *source* was written with (S3 refuses to copy an
    /// SSE-C object without it).
    pub fn source_sse_customer_key(mut self, key: SseCustomerKey) -> Self {
        self.source_key = Some(key);
        self
    }

    /// Copy this version of the source instead of its current one (boto3's
    /// `CopySource={..., "VersionId": ...}`; see
    /// [`copy_version`](super::S3BucketClient::copy_version)).
    pub fn source_version_id(mut self, version_id: impl Into<String>) -> Self {
        self.source_version = Some(version_id.into());
        self
    }

    /// Encryption of the copy (see [`Encryption`]); with
    /// `Encryption::Customer` the copy is readable with that key only.
    pub fn encryption(mut self, encryption: Encryption) -> Self {
        self.args.encryption = Some(encryption);
        self
    }

    /// Storage class of the copy.
    pub fn storage_class(mut self, class: impl Into<String>) -> Self {
        self.args.storage_class = Some(class.into());
        self
    }

    /// Tags of the copy, instead of the source's.
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

    /// Canned ACL of the copy.
    pub fn acl(mut self, acl: impl Into<String>) -> Self {
        self.args.acl = Some(acl.into());
        self
    }

    /// The copy's Content-Type, instead of the source's (the user metadata
    /// is kept).
    pub fn content_type(mut self, value: impl Into<String>) -> Self {
        self.content_type = Some(value.into());
        self
    }

    /// The copy's `Cache-Control`, instead of the source's.
    pub fn cache_control(mut self, value: impl Into<String>) -> Self {
        self.args.cache_control = Some(value.into());
        self
    }

    /// The copy's `Content-Disposition`, instead of the source's.
    pub fn content_disposition(mut self, value: impl Into<String>) -> Self {
        self.args.content_disposition = Some(value.into());
        self
    }

    /// The copy's `Content-Encoding`, instead of the source's.
    pub fn content_encoding(mut self, value: impl Into<String>) -> Self {
        self.args.content_encoding = Some(value.into());
        self
    }

    /// The copy's `Content-Language`, instead of the source's.
    pub fn content_language(mut self, value: impl Into<String>) -> Self {
        self.args.content_language = Some(value.into());
        self
    }

    /// The copy's `Expires`, instead of the source's.
    pub fn expires(mut self, at: SystemTime) -> Self {
        self.args.expires = Some(at);
        self
    }
}

/// Options of [`S3BucketClient::get_file_metadata_with`](super::S3BucketClient::get_file_metadata_with).
///
/// ```
/// use ms_utils_communication::s3::{MetadataOptions, SseCustomerKey};
/// let o = MetadataOptions::new()
///     .sse_customer_key(SseCustomerKey::new([1u8; 32]))
///     .version_id("3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY");
/// # let _ = o;
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct MetadataOptions {
    pub(crate) customer_key: Option<SseCustomerKey>,
    pub(crate) version_id: Option<String>,
}

impl MetadataOptions {
    /// No options.
    pub fn new() -> Self {
        Self::default()
    }

    /// The SSE-C key the object was written with (S3 answers a HEAD of an
    /// SSE-C object without it with 400).
    pub fn sse_customer_key(mut self, key: SseCustomerKey) -> Self {
        self.customer_key = Some(key);
        self
    }

    /// Read this version of the object instead of its current one (see
    /// [`get_file_metadata_version`](super::S3BucketClient::get_file_metadata_version)).
    pub fn version_id(mut self, version_id: impl Into<String>) -> Self {
        self.version_id = Some(version_id.into());
        self
    }
}
