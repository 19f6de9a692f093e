//! What `s3s-fs` does not keep of an object: its server-side encryption
//! (SSE-S3, SSE-KMS and its key id, the MD5 of an SSE-C key), storage
//! class, tags and canned ACL. Kept in a file of its own beside `s3s-fs`'s
//! (`.bucket-{b64}.object-{b64}.ms-utils.json`; an open upload's in
//! `.upload-{id}.ms-utils.json`, moved to the object at completion),
//! answered on HEAD and GET, carried by copies as S3 carries them, and
//! enforced as S3 enforces it: an SSE-C object is read (GET, HEAD, copy
//! source, parts of its upload) only with its key. Nothing is encrypted on
//! disk: this is a development server.

use std::io;
use std::path::PathBuf;

use s3s::dto::{
    CopyObjectInput, CreateMultipartUploadInput, GetObjectAclOutput, GetObjectOutput,
    GetObjectTaggingOutput, Grant, Grantee, HeadObjectOutput, ObjectCannedACL, Owner, Permission,
    PutObjectInput, ServerSideEncryption, StorageClass, Tag, TaggingDirective, Type,
};
use s3s::{S3Error, S3ErrorCode, S3Result};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{DevStore, b64, write_then_rename};

/// The storage classes S3 knows.
const STORAGE_CLASSES: [&str; 11] = [
    "STANDARD",
    "REDUCED_REDUNDANCY",
    "STANDARD_IA",
    "ONEZONE_IA",
    "INTELLIGENT_TIERING",
    "GLACIER",
    "DEEP_ARCHIVE",
    "OUTPOSTS",
    "GLACIER_IR",
    "SNOW",
    "EXPRESS_ONEZONE",
];

/// The canned ACLs of objects.
const CANNED_ACLS: [&str; 7] = [
    "private",
    "public-read",
    "public-read-write",
    "authenticated-read",
    "aws-exec-read",
    "bucket-owner-read",
    "bucket-owner-full-control",
];

/// An object's (or open upload's) attributes `s3s-fs` does not keep.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Extras {
    /// `AES256` or `aws:kms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sse: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kms_key_id: Option<String>,
    /// The base64 MD5 of the SSE-C key (the key itself is never kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sse_c_key_md5: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    storage_class: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    tags: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    acl: Option<String>,
}

impl Extras {
    fn is_empty(&self) -> bool {
        *self == Extras::default()
    }

    /// What a write asks for (the encryption, class, tags and ACL headers of
    /// `PutObject`, `CreateMultipartUpload` or `CopyObject`).
    #[allow(clippy::too_many_arguments)]
    fn asked(
        sse: Option<&ServerSideEncryption>,
        kms_key_id: Option<&String>,
        sse_c_key_md5: Option<&String>,
        storage_class: Option<&StorageClass>,
        tagging: Option<&String>,
        acl: Option<&ObjectCannedACL>,
    ) -> S3Result<Extras> {
        let storage_class = match storage_class.map(StorageClass::as_str) {
            Some(c) if !STORAGE_CLASSES.contains(&c) => {
                return Err(S3Error::new(S3ErrorCode::InvalidStorageClass));
            }
            // The default: not kept, not answered (as S3).
            Some("STANDARD") | None => None,
            Some(c) => Some(c.to_owned()),
        };
        let acl = match acl.map(ObjectCannedACL::as_str) {
            Some(a) if !CANNED_ACLS.contains(&a) => {
                return Err(S3Error::with_message(
                    S3ErrorCode::InvalidArgument,
                    "unknown canned ACL",
                ));
            }
            other => other.map(str::to_owned),
        };
        Ok(Extras {
            sse: sse.map(|s| s.as_str().to_owned()),
            kms_key_id: kms_key_id.cloned(),
            sse_c_key_md5: sse_c_key_md5.cloned(),
            storage_class,
            tags: tagging
                .map(|t| parse_tagging(t))
                .transpose()?
                .unwrap_or_default(),
            acl,
        })
    }

    pub(super) fn of_put(input: &PutObjectInput) -> S3Result<Extras> {
        Extras::asked(
            input.server_side_encryption.as_ref(),
            input.ssekms_key_id.as_ref(),
            input.sse_customer_key_md5.as_ref(),
            input.storage_class.as_ref(),
            input.tagging.as_ref(),
            input.acl.as_ref(),
        )
    }

    pub(super) fn of_create(input: &CreateMultipartUploadInput) -> S3Result<Extras> {
        Extras::asked(
            input.server_side_encryption.as_ref(),
            input.ssekms_key_id.as_ref(),
            input.sse_customer_key_md5.as_ref(),
            input.storage_class.as_ref(),
            input.tagging.as_ref(),
            input.acl.as_ref(),
        )
    }

    /// A copy's: what it asks for, the source's tags unless it replaces them.
    pub(super) fn of_copy(input: &CopyObjectInput, source: &Extras) -> S3Result<Extras> {
        let mut extras = Extras::asked(
            input.server_side_encryption.as_ref(),
            input.ssekms_key_id.as_ref(),
            input.sse_customer_key_md5.as_ref(),
            input.storage_class.as_ref(),
            input.tagging.as_ref(),
            input.acl.as_ref(),
        )?;
        let replace = input
            .tagging_directive
            .as_ref()
            .is_some_and(|d| d.as_str() == TaggingDirective::REPLACE);
        if !replace {
            extras.tags.clone_from(&source.tags);
        }
        Ok(extras)
    }

    /// An SSE-C object is read only with its key (`given`: the request's
    /// key MD5): none is `InvalidRequest`, another is `AccessDenied`, as S3
    /// answers.
    pub(super) fn check_key(&self, given: Option<&str>) -> S3Result<()> {
        match (&self.sse_c_key_md5, given) {
            (None, _) => Ok(()),
            (Some(_), None) => Err(S3Error::with_message(
                S3ErrorCode::InvalidRequest,
                "The object was stored using a form of Server Side Encryption. \
                 The correct parameters must be provided to retrieve the object.",
            )),
            (Some(kept), Some(given)) if kept == given => Ok(()),
            (Some(_), Some(_)) => Err(S3Error::with_message(
                S3ErrorCode::AccessDenied,
                "The calculated MD5 hash of the key did not match the hash that was provided.",
            )),
        }
    }

    fn sse(&self) -> Option<ServerSideEncryption> {
        self.sse.clone().map(ServerSideEncryption::from)
    }

    fn sse_c_algorithm(&self) -> Option<String> {
        self.sse_c_key_md5.as_ref().map(|_| "AES256".to_owned())
    }

    pub(super) fn answer_head(&self, out: &mut HeadObjectOutput) {
        out.server_side_encryption = self.sse();
        out.ssekms_key_id.clone_from(&self.kms_key_id);
        out.sse_customer_algorithm = self.sse_c_algorithm();
        out.sse_customer_key_md5.clone_from(&self.sse_c_key_md5);
        out.storage_class = self.storage_class.clone().map(StorageClass::from);
    }

    pub(super) fn answer_get(&self, out: &mut GetObjectOutput) {
        out.server_side_encryption = self.sse();
        out.ssekms_key_id.clone_from(&self.kms_key_id);
        out.sse_customer_algorithm = self.sse_c_algorithm();
        out.sse_customer_key_md5.clone_from(&self.sse_c_key_md5);
        out.storage_class = self.storage_class.clone().map(StorageClass::from);
        out.tag_count = i32::try_from(self.tags.len()).ok().filter(|n| *n > 0);
    }

    pub(super) fn tagging(&self) -> GetObjectTaggingOutput {
        GetObjectTaggingOutput {
            tag_set: self
                .tags
                .iter()
                .map(|(k, v)| Tag {
                    key: Some(k.clone()),
                    value: Some(v.clone()),
                })
                .collect(),
            ..Default::default()
        }
    }

    /// The grants of the canned ACL: the owner's `FULL_CONTROL`, and
    /// `READ` (and `WRITE`) for all users or authenticated users.
    pub(super) fn acl(&self, owner: &str) -> GetObjectAclOutput {
        let group = |uri: &str, permission: &'static str| Grant {
            grantee: Some(Grantee {
                type_: Type::from_static(Type::GROUP),
                uri: Some(uri.to_owned()),
                display_name: None,
                email_address: None,
                id: None,
            }),
            permission: Some(Permission::from_static(permission)),
        };
        const ALL: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
        const AUTHENTICATED: &str = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";
        let mut grants = vec![Grant {
            grantee: Some(Grantee {
                type_: Type::from_static(Type::CANONICAL_USER),
                id: Some(owner.to_owned()),
                display_name: Some(owner.to_owned()),
                email_address: None,
                uri: None,
            }),
            permission: Some(Permission::from_static(Permission::FULL_CONTROL)),
        }];
        match self.acl.as_deref() {
            Some("public-read") => grants.push(group(ALL, Permission::READ)),
            Some("public-read-write") => {
                grants.push(group(ALL, Permission::READ));
                grants.push(group(ALL, Permission::WRITE));
            }
            Some("authenticated-read") => grants.push(group(AUTHENTICATED, Permission::READ)),
            _ => {}
        }
        GetObjectAclOutput {
            grants: Some(grants),
            owner: Some(Owner {
                display_name: Some(owner.to_owned()),
                id: Some(owner.to_owned()),
            }),
            ..Default::default()
        }
    }

    pub(super) fn set_acl(&mut self, acl: Option<&ObjectCannedACL>) -> S3Result<()> {
        let asked = Extras::asked(None, None, None, None, None, acl)?;
        self.acl = asked.acl;
        Ok(())
    }
}

/// `x-amz-tagging`: `k1=v1&k2=v2`, form-encoded; S3's limits (10 tags,
/// keys of 1 to 128 characters, values of up to 256, letters, digits,
/// spaces and `_ . : / = + - @`) answer `InvalidTag`.
fn parse_tagging(text: &str) -> S3Result<Vec<(String, String)>> {
    let bad = || S3Error::with_message(S3ErrorCode::InvalidArgument, "malformed x-amz-tagging");
    let tags = text
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((decode(k).ok_or_else(bad)?, decode(v).ok_or_else(bad)?))
        })
        .collect::<S3Result<Vec<(String, String)>>>()?;
    let allowed = |s: &str, max: usize| {
        s.chars().count() <= max
            && s.chars()
                .all(|c| c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c))
    };
    let valid = tags.len() <= 10
        && tags
            .iter()
            .all(|(k, v)| !k.is_empty() && allowed(k, 128) && allowed(v, 256));
    if !valid {
        return Err(S3Error::with_message(
            S3ErrorCode::InvalidTag,
            "tags: at most 10, keys of 1-128 and values of up to 256 letters, digits, spaces \
             and _ . : / = + - @",
        ));
    }
    Ok(tags)
}

/// Form decoding: `%XX` escapes and `+` for a space.
fn decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = text.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

impl DevStore {
    fn object_extras_path(&self, bucket: &str, key: &str) -> PathBuf {
        self.root.join(format!(
            ".bucket-{}.object-{}.ms-utils.json",
            b64(bucket),
            b64(key)
        ))
    }

    fn upload_extras_path(&self, upload_id: Uuid) -> PathBuf {
        self.root.join(format!(".upload-{upload_id}.ms-utils.json"))
    }

    async fn read_extras(path: PathBuf) -> S3Result<Extras> {
        match tokio::fs::read(&path).await {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(S3Error::internal_error),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Extras::default()),
            Err(e) => Err(S3Error::internal_error(e)),
        }
    }

    async fn write_extras(&self, path: PathBuf, extras: &Extras) -> S3Result<()> {
        if extras.is_empty() {
            return match tokio::fs::remove_file(&path).await {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(S3Error::internal_error(e)),
                _ => Ok(()),
            };
        }
        let json = serde_json::to_vec(extras).map_err(S3Error::internal_error)?;
        write_then_rename(&self.tmp_path(), &path, &json)
            .await
            .map_err(S3Error::internal_error)
    }

    pub(super) async fn object_extras(&self, bucket: &str, key: &str) -> S3Result<Extras> {
        Self::read_extras(self.object_extras_path(bucket, key)).await
    }

    pub(super) async fn set_object_extras(
        &self,
        bucket: &str,
        key: &str,
        extras: &Extras,
    ) -> S3Result<()> {
        self.write_extras(self.object_extras_path(bucket, key), extras)
            .await
    }

    pub(super) async fn upload_extras(&self, upload_id: Uuid) -> S3Result<Extras> {
        Self::read_extras(self.upload_extras_path(upload_id)).await
    }

    pub(super) async fn set_upload_extras(&self, upload_id: Uuid, extras: &Extras) -> S3Result<()> {
        self.write_extras(self.upload_extras_path(upload_id), extras)
            .await
    }

    /// At completion: the upload's extras become the object's.
    pub(super) async fn complete_extras(&self, upload_id: Uuid, bucket: &str, key: &str) {
        let moved = async {
            let extras = self.upload_extras(upload_id).await?;
            self.set_object_extras(bucket, key, &extras).await?;
            self.set_upload_extras(upload_id, &Extras::default()).await
        };
        if let Err(e) = moved.await {
            tracing::warn!(error = ?e, key, "dev S3 server: encryption, class, tags or ACL not kept");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_sets_are_form_decoded() {
        assert_eq!(
            parse_tagging("a=1&b=x%20y&c=p+q&%C3%A9=").unwrap(),
            vec![
                ("a".to_owned(), "1".to_owned()),
                ("b".to_owned(), "x y".to_owned()),
                ("c".to_owned(), "p q".to_owned()),
                ("é".to_owned(), String::new()),
            ]
        );
        assert!(parse_tagging("a=%zz").is_err());
        assert!(parse_tagging("a=x%26y").is_err(), "& is no tag character");
    }

    #[test]
    fn an_sse_c_object_is_read_with_its_key_only() {
        let extras = Extras {
            sse_c_key_md5: Some("md5".into()),
            ..Extras::default()
        };
        assert!(extras.check_key(Some("md5")).is_ok());
        assert_eq!(
            extras.check_key(None).unwrap_err().code(),
            &S3ErrorCode::InvalidRequest
        );
        assert_eq!(
            extras.check_key(Some("other")).unwrap_err().code(),
            &S3ErrorCode::AccessDenied
        );
        assert!(Extras::default().check_key(None).is_ok());
    }
}
