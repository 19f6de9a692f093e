//! What an object the client writes gets besides its bytes and metadata
//! (boto3's `ExtraArgs`): standard headers, encryption, storage class, tags
//! and canned ACL, set the same way on every request that writes an object
//! (`PutObject`, `CreateMultipartUpload`, `CopyObject`), and the SSE-C key
//! on the requests that must carry it too (parts, completion, reads).

use std::time::SystemTime;

use aws_sdk_s3::types::{ObjectCannedAcl, ServerSideEncryption, StorageClass};
use aws_smithy_types::DateTime;

use super::encryption::{Encryption, SSE_C_ALGORITHM, SseCustomerKey};
use crate::percent::percent_encode;

/// Headers, encryption, class, tags and ACL of an object being written.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct ObjectArgs {
    pub(crate) cache_control: Option<String>,
    pub(crate) content_disposition: Option<String>,
    pub(crate) content_encoding: Option<String>,
    pub(crate) content_language: Option<String>,
    pub(crate) expires: Option<SystemTime>,
    pub(crate) encryption: Option<Encryption>,
    pub(crate) storage_class: Option<String>,
    /// `(key, value)` tags, in order.
    pub(crate) tags: Option<Vec<(String, String)>>,
    pub(crate) acl: Option<String>,
}

impl std::fmt::Debug for ObjectArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `Encryption`'s own Debug hides an SSE-C key.
        f.debug_struct("ObjectArgs")
            .field("cache_control", &self.cache_control)
            .field("content_disposition", &self.content_disposition)
            .field("content_encoding", &self.content_encoding)
            .field("content_language", &self.content_language)
            .field("expires", &self.expires)
            .field("encryption", &self.encryption)
            .field("storage_class", &self.storage_class)
            .field("tags", &self.tags)
            .field("acl", &self.acl)
            .finish()
    }
}

impl ObjectArgs {
    /// The SSE-C key, when the object is written with one.
    pub(crate) fn customer_key(&self) -> Option<&SseCustomerKey> {
        match &self.encryption {
            Some(Encryption::Customer(key)) => Some(key),
            _ => None,
        }
    }

    /// Whether any standard header is set (a copy then replaces them all).
    pub(crate) fn has_headers(&self) -> bool {
        self.cache_control.is_some()
            || self.content_disposition.is_some()
            || self.content_encoding.is_some()
            || self.content_language.is_some()
            || self.expires.is_some()
    }

    /// `x-amz-tagging`: `k1=v1&k2=v2`, percent-encoded.
    pub(crate) fn tagging(&self) -> Option<String> {
        let tags = self.tags.as_ref()?;
        Some(
            tags.iter()
                .map(|(k, v)| format!("{}={}", percent_encode(k, b""), percent_encode(v, b"")))
                .collect::<Vec<_>>()
                .join("&"),
        )
    }

    pub(crate) fn expires(&self) -> Option<DateTime> {
        self.expires.map(DateTime::from)
    }

    /// `x-amz-server-side-encryption` and its KMS key, for SSE-S3 and SSE-KMS.
    pub(crate) fn sse(&self) -> (Option<ServerSideEncryption>, Option<String>) {
        match &self.encryption {
            Some(Encryption::S3) => (Some(ServerSideEncryption::Aes256), None),
            Some(Encryption::Kms { key_id }) => {
                (Some(ServerSideEncryption::AwsKms), key_id.clone())
            }
            _ => (None, None),
        }
    }

    pub(crate) fn storage_class(&self) -> Option<StorageClass> {
        self.storage_class.as_deref().map(StorageClass::from)
    }

    pub(crate) fn acl(&self) -> Option<ObjectCannedAcl> {
        self.acl.as_deref().map(ObjectCannedAcl::from)
    }
}

/// The three SSE-C headers of `key` (algorithm, key, key MD5), or none.
pub(crate) fn sse_c(
    key: Option<&SseCustomerKey>,
) -> (Option<String>, Option<String>, Option<String>) {
    match key {
        Some(k) => (
            Some(SSE_C_ALGORITHM.to_owned()),
            Some(k.key_base64()),
            Some(k.key_md5()),
        ),
        None => (None, None, None),
    }
}

/// Sets what `args` says on a request that writes an object
/// (`PutObject`, `CreateMultipartUpload`, `CopyObject`: their builders have
/// the same setters). Headers are set only with `headers` (a copy keeps the
/// source's unless it replaces them).
macro_rules! with_object_args {
    ($builder:expr, $args:expr, headers: $headers:expr) => {{
        let args: &$crate::s3::object_args::ObjectArgs = $args;
        let (sse, kms_key) = args.sse();
        let (algorithm, key, key_md5) = $crate::s3::object_args::sse_c(args.customer_key());
        let mut b = $builder
            .set_server_side_encryption(sse)
            .set_ssekms_key_id(kms_key)
            .set_sse_customer_algorithm(algorithm)
            .set_sse_customer_key(key)
            .set_sse_customer_key_md5(key_md5)
            .set_storage_class(args.storage_class())
            .set_tagging(args.tagging())
            .set_acl(args.acl());
        if $headers {
            b = b
                .set_cache_control(args.cache_control.clone())
                .set_content_disposition(args.content_disposition.clone())
                .set_content_encoding(args.content_encoding.clone())
                .set_content_language(args.content_language.clone())
                .set_expires(args.expires());
        }
        b
    }};
}

/// Sets the SSE-C headers of `key` on a request that reads or continues an
/// object written with it (`GetObject`, `HeadObject`, `UploadPart`,
/// `CompleteMultipartUpload`, `UploadPartCopy`'s destination).
macro_rules! with_sse_c {
    ($builder:expr, $key:expr) => {{
        let (algorithm, key, key_md5) = $crate::s3::object_args::sse_c($key);
        $builder
            .set_sse_customer_algorithm(algorithm)
            .set_sse_customer_key(key)
            .set_sse_customer_key_md5(key_md5)
    }};
}

/// Sets the SSE-C headers of the *source* of a copy (`CopyObject`,
/// `UploadPartCopy`).
macro_rules! with_copy_source_sse_c {
    ($builder:expr, $key:expr) => {{
        let (algorithm, key, key_md5) = $crate::s3::object_args::sse_c($key);
        $builder
            .set_copy_source_sse_customer_algorithm(algorithm)
            .set_copy_source_sse_customer_key(key)
            .set_copy_source_sse_customer_key_md5(key_md5)
    }};
}

pub(crate) use {with_copy_source_sse_c, with_object_args, with_sse_c};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_encoded_as_a_query_string() {
        let args = ObjectArgs {
            tags: Some(vec![
                ("team".into(), "a b".into()),
                ("path".into(), "x/y&z=1".into()),
                ("é".into(), String::new()),
            ]),
            ..ObjectArgs::default()
        };
        assert_eq!(
            args.tagging().as_deref(),
            Some("team=a%20b&path=x%2Fy%26z%3D1&%C3%A9=")
        );
        assert_eq!(ObjectArgs::default().tagging(), None);
    }

    #[test]
    fn debug_hides_the_customer_key() {
        let key = SseCustomerKey::new([0x41; 32]);
        let args = ObjectArgs {
            encryption: Some(Encryption::Customer(key.clone())),
            ..ObjectArgs::default()
        };
        let shown = format!("{args:?}");
        assert!(!shown.contains(&key.key_base64()), "{shown}");
        assert!(!shown.contains("AAAA"), "{shown}");
    }
}
