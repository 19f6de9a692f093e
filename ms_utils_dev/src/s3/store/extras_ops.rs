//! The operations that write, read or answer an object's extras
//! (`extras.rs`): `PutObject`, `CopyObject` and `DeleteObject` around
//! `s3s-fs`'s, and `GetObjectTagging`, `GetObjectAcl` and `PutObjectAcl`,
//! which `s3s-fs` does not implement.

use s3s::dto::{
    CopyObjectInput, CopyObjectOutput, CopySource, DeleteObjectInput, DeleteObjectOutput,
    GetObjectAclInput, GetObjectAclOutput, GetObjectTaggingInput, GetObjectTaggingOutput,
    PutObjectAclInput, PutObjectAclOutput, PutObjectInput, PutObjectOutput, ServerSideEncryption,
};
use s3s::{S3, S3Error, S3ErrorCode, S3Request, S3Response, S3Result};

use super::extras::Extras;
use super::{DevStore, plain_relative_path};

impl DevStore {
    /// `PutObject`: `s3s-fs` stores the bytes and headers (with the storage
    /// class taken out: it refuses all but two), the extras go beside.
    pub(super) async fn put_object_here(
        &self,
        mut req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        self.require_bucket(&req.input.bucket).await?;
        let extras = Extras::of_put(&req.input)?;
        req.input.storage_class = None;
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let (sse, kms, sse_c) = (
            req.input.server_side_encryption.clone(),
            req.input.ssekms_key_id.clone(),
            req.input.sse_customer_key_md5.clone(),
        );
        let mut res = self.fs.put_object(req).await?;
        self.set_object_extras(&bucket, &key, &extras).await?;
        res.output.server_side_encryption = sse;
        res.output.ssekms_key_id = kms;
        res.output.sse_customer_algorithm = sse_c.as_ref().map(|_| "AES256".to_owned());
        res.output.sse_customer_key_md5 = sse_c;
        Ok(res)
    }

    /// `CopyObject`: the source's SSE-C key is checked, the copy gets the
    /// extras it asks for (and the source's tags unless it replaces them).
    pub(super) async fn copy_object_here(
        &self,
        mut req: S3Request<CopyObjectInput>,
    ) -> S3Result<S3Response<CopyObjectOutput>> {
        self.require_bucket(&req.input.bucket).await?;
        let source = match &req.input.copy_source {
            CopySource::Bucket { bucket, key, .. } => self.object_extras(bucket, key).await?,
            _ => Extras::default(),
        };
        source.check_key(req.input.copy_source_sse_customer_key_md5.as_deref())?;
        let extras = Extras::of_copy(&req.input, &source)?;
        req.input.storage_class = None;
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let (sse, kms): (Option<ServerSideEncryption>, _) = (
            req.input.server_side_encryption.clone(),
            req.input.ssekms_key_id.clone(),
        );
        let mut res = self.fs.copy_object(req).await?;
        self.set_object_extras(&bucket, &key, &extras).await?;
        res.output.server_side_encryption = sse;
        res.output.ssekms_key_id = kms;
        Ok(res)
    }

    /// `DeleteObject`, and the object's extras with it.
    pub(super) async fn delete_object_here(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let res = self.fs.delete_object(req).await?;
        self.set_object_extras(&bucket, &key, &Extras::default())
            .await?;
        Ok(res)
    }

    /// `NoSuchKey` unless the object exists.
    async fn require_object(&self, bucket: &str, key: &str) -> S3Result<()> {
        let exists = match plain_relative_path(bucket, key) {
            Some(relative) => tokio::fs::try_exists(self.root.join(relative))
                .await
                .unwrap_or(false),
            None => false,
        };
        match exists {
            true => Ok(()),
            false => Err(S3Error::new(S3ErrorCode::NoSuchKey)),
        }
    }

    pub(super) async fn get_object_tagging_here(
        &self,
        req: S3Request<GetObjectTaggingInput>,
    ) -> S3Result<S3Response<GetObjectTaggingOutput>> {
        let (bucket, key) = (&req.input.bucket, &req.input.key);
        self.require_object(bucket, key).await?;
        let extras = self.object_extras(bucket, key).await?;
        Ok(S3Response::new(extras.tagging()))
    }

    pub(super) async fn get_object_acl_here(
        &self,
        req: S3Request<GetObjectAclInput>,
    ) -> S3Result<S3Response<GetObjectAclOutput>> {
        let (bucket, key) = (&req.input.bucket, &req.input.key);
        self.require_object(bucket, key).await?;
        let extras = self.object_extras(bucket, key).await?;
        let owner = req
            .credentials
            .as_ref()
            .map_or("owner", |c| c.access_key.as_str());
        Ok(S3Response::new(extras.acl(owner)))
    }

    /// `PutObjectAcl` with a canned ACL (`x-amz-acl`); grants and policies
    /// answer `NotImplemented`.
    pub(super) async fn put_object_acl_here(
        &self,
        req: S3Request<PutObjectAclInput>,
    ) -> S3Result<S3Response<PutObjectAclOutput>> {
        let input = &req.input;
        if input.access_control_policy.is_some()
            || input.grant_full_control.is_some()
            || input.grant_read.is_some()
            || input.grant_read_acp.is_some()
            || input.grant_write.is_some()
            || input.grant_write_acp.is_some()
        {
            return Err(S3Error::with_message(
                S3ErrorCode::NotImplemented,
                "the development server keeps canned ACLs only",
            ));
        }
        self.require_object(&input.bucket, &input.key).await?;
        let mut extras = self.object_extras(&input.bucket, &input.key).await?;
        extras.set_acl(input.acl.as_ref())?;
        self.set_object_extras(&input.bucket, &input.key, &extras)
            .await?;
        Ok(S3Response::new(PutObjectAclOutput::default()))
    }
}
