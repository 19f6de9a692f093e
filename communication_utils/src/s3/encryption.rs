//! Server-side encryption of the objects the client writes
//! ([`Encryption`]: SSE-S3, SSE-KMS, SSE-C) and the customer key of SSE-C
//! ([`SseCustomerKey`]), which every later read of the object must send too.

use std::fmt;

use aws_smithy_types::base64;

use super::error::Error;
use super::verify;

/// How the store encrypts an object the client writes (boto3's
/// `ExtraArgs={'ServerSideEncryption': ...}` / `SSECustomerKey`).
///
/// ```
/// use ms_utils_communication::s3::{Encryption, SseCustomerKey, UploadOptions};
///
/// let sse_s3 = UploadOptions::new().encryption(Encryption::S3);
/// let sse_kms = UploadOptions::new().encryption(Encryption::kms("alias/my-key"));
/// let key = SseCustomerKey::new([7u8; 32]);
/// let sse_c = UploadOptions::new().encryption(Encryption::Customer(key));
/// # let _ = (sse_s3, sse_kms, sse_c);
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Encryption {
    /// SSE-S3: keys managed by the store (`AES256`).
    S3,
    /// SSE-KMS (`aws:kms`) with this key (id, ARN or alias), or the
    /// bucket's / account's default KMS key when `None`.
    Kms {
        /// The KMS key.
        key_id: Option<String>,
    },
    /// SSE-C: the store encrypts with the caller's key, and keeps only its
    /// MD5. Every read of the object (download, metadata, copy source) must
    /// send the same key.
    Customer(SseCustomerKey),
}

impl Encryption {
    /// SSE-KMS with the key `key_id` (id, ARN or alias).
    ///
    /// ```
    /// let e = ms_utils_communication::s3::Encryption::kms("alias/reports");
    /// # let _ = e;
    /// ```
    pub fn kms(key_id: impl Into<String>) -> Self {
        Encryption::Kms {
            key_id: Some(key_id.into()),
        }
    }

    /// SSE-KMS with the default KMS key of the bucket or account.
    ///
    /// ```
    /// let e = ms_utils_communication::s3::Encryption::kms_default();
    /// # let _ = e;
    /// ```
    pub fn kms_default() -> Self {
        Encryption::Kms { key_id: None }
    }
}

impl fmt::Debug for Encryption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Encryption::S3 => f.write_str("S3"),
            Encryption::Kms { key_id } => f.debug_struct("Kms").field("key_id", key_id).finish(),
            Encryption::Customer(key) => f.debug_tuple("Customer").field(key).finish(),
        }
    }
}

/// A customer key of SSE-C: 256 bits for AES-256. A secret: its `Debug`
/// shows nothing of it, and the client never logs it. It travels as a
/// request header, which S3 requires signed, and `aws-sigv4` logs every
/// request it signs, headers included, at TRACE (target
/// `aws_sigv4::http_request::sign`): keep that target below TRACE where
/// SSE-C keys are used (e.g. `RUST_LOG=trace,aws_sigv4=debug`).
///
/// ```
/// use ms_utils_communication::s3::SseCustomerKey;
///
/// let key = SseCustomerKey::from_base64("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")?;
/// assert!(!format!("{key:?}").contains("AAEC"));
/// assert!(SseCustomerKey::from_bytes(b"too short").is_err());
/// # Ok::<(), ms_utils_communication::s3::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct SseCustomerKey {
    key: [u8; 32],
}

impl SseCustomerKey {
    /// A key from its 32 bytes.
    ///
    /// ```
    /// let key = ms_utils_communication::s3::SseCustomerKey::new([1u8; 32]);
    /// # let _ = key;
    /// ```
    pub fn new(key: [u8; 32]) -> Self {
        SseCustomerKey { key }
    }

    /// A key from a slice, which must hold 32 bytes.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for any other length (the message does not
    /// show the bytes).
    ///
    /// ```
    /// let key = ms_utils_communication::s3::SseCustomerKey::from_bytes(&[2u8; 32])?;
    /// # Ok::<(), ms_utils_communication::s3::Error>(())
    /// ```
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let key: [u8; 32] = bytes.try_into().map_err(|_| {
            Error::InvalidInput(format!(
                "an SSE-C key is 32 bytes (AES-256), not {}",
                bytes.len()
            ))
        })?;
        Ok(SseCustomerKey { key })
    }

    /// A key from its base64 form (as `aws s3 --sse-c-key` takes it after
    /// `fileb://` reading, or a secret store hands it out).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when it is not base64 of 32 bytes.
    ///
    /// ```
    /// let key = ms_utils_communication::s3::SseCustomerKey::from_base64(
    ///     "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
    /// )?;
    /// # Ok::<(), ms_utils_communication::s3::Error>(())
    /// ```
    pub fn from_base64(text: &str) -> Result<Self, Error> {
        let bytes = base64::decode(text.trim())
            .map_err(|_| Error::InvalidInput("an SSE-C key in base64 is not base64".into()))?;
        Self::from_bytes(&bytes)
    }

    /// The base64 MD5 of the key, as S3 keeps and answers it
    /// (`x-amz-server-side-encryption-customer-key-MD5`): it names the key
    /// without giving it away.
    ///
    /// ```
    /// let key = ms_utils_communication::s3::SseCustomerKey::new([0u8; 32]);
    /// assert_eq!(key.key_md5(), "cLyPS3KoaSFGi/joRB3OUQ==");
    /// ```
    pub fn key_md5(&self) -> String {
        base64::encode(verify::md5(&self.key))
    }

    /// `x-amz-server-side-encryption-customer-key` (secret).
    pub(crate) fn key_base64(&self) -> String {
        base64::encode(self.key)
    }
}

impl fmt::Debug for SseCustomerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SseCustomerKey(<redacted>)")
    }
}

/// The SSE-C algorithm S3 supports.
pub(crate) const SSE_C_ALGORITHM: &str = "AES256";
