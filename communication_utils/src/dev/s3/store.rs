//! The development server's storage: `s3s-fs`, with `CompleteMultipartUpload`
//! done here.
//!
//! `s3s-fs` 0.14.1 completes an upload by reading every part back in 64 KiB
//! steps, hashing it again with MD5 and writing it out, on one thread: about
//! 0.6–0.9 s per 256 MiB on a 2-core machine, longer than the parts took to
//! send. The part MD5s are already known (they are the ETags `UploadPart`
//! answered), so [`DevStore`] records them as the parts arrive and, at
//! completion, joins the part files in the kernel (`copy_file_range`) and
//! derives the multipart ETag from the recorded hashes. The result on disk is
//! the one `s3s-fs` writes (same object file, attributes and ETag), and it
//! stores no checksum left from an earlier object under the same key, which
//! `s3s-fs` keeps.
//!
//! Anything out of the plain case goes to `s3s-fs` unchanged: conditional
//! headers, a part without a recorded hash (sent before a restart, or by
//! `UploadPartCopy`), a listed ETag that is not the recorded one, parts out of
//! order or too small, a key with `.`/`..` components, an unknown upload or
//! other credentials. Every other operation is `s3s-fs`'s own.
//!
//! The file names used here are `s3s-fs` 0.14.1's (the workspace pins that
//! exact version): `.upload-{id}.json` (the upload's owner),
//! `.upload_id-{id}.part-{n}` (a part), `.bucket-{b64}.object-{b64}[.upload-{id}].metadata.json`
//! (attributes) and `.bucket-{b64}.object-{b64}.internal.json` (the ETag),
//! with `b64` the URL-safe unpadded base64 of the bucket or key. The tests in
//! `tests/s3_dev_server.rs` compare both paths' results, so a change of
//! layout in a new `s3s-fs` shows there.

use std::collections::HashMap;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use s3s::crypto::{Checksum as _, Md5};
use s3s::dto::{
    AbortMultipartUploadInput, AbortMultipartUploadOutput, CompleteMultipartUploadInput,
    CompleteMultipartUploadOutput, CopyObjectInput, CopyObjectOutput, CreateBucketInput,
    CreateBucketOutput, CreateMultipartUploadInput, CreateMultipartUploadOutput, DeleteBucketInput,
    DeleteBucketOutput, DeleteObjectInput, DeleteObjectOutput, DeleteObjectsInput,
    DeleteObjectsOutput, ETag, GetBucketLocationInput, GetBucketLocationOutput, GetObjectInput,
    GetObjectOutput, HeadBucketInput, HeadBucketOutput, HeadObjectInput, HeadObjectOutput,
    ListBucketsInput, ListBucketsOutput, ListObjectsInput, ListObjectsOutput, ListObjectsV2Input,
    ListObjectsV2Output, ListPartsInput, ListPartsOutput, PutObjectInput, PutObjectOutput,
    UploadPartCopyInput, UploadPartCopyOutput, UploadPartInput, UploadPartOutput,
};
use s3s::{S3, S3Error, S3Request, S3Response, S3Result};
use uuid::Uuid;

/// S3's smallest part, for every part but the last.
const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;

/// `s3s-fs` with multipart completion done in the kernel (see the module doc).
pub(super) struct DevStore {
    fs: s3s_fs::FileSystem,
    /// The folder `s3s-fs` resolves its files against (absolute, canonical).
    root: PathBuf,
    /// MD5 of each part as `UploadPart` stored it, by upload and part number.
    parts: Mutex<HashMap<(Uuid, i32), [u8; 16]>>,
    tmp_counter: AtomicU64,
}

/// What a plain completion will do, checked before anything changes.
struct Plan {
    upload_id: Uuid,
    parts: Vec<(PathBuf, [u8; 16])>,
    object: PathBuf,
    upload_info: PathBuf,
    upload_attrs: PathBuf,
    object_attrs: PathBuf,
    internal_info: PathBuf,
}

impl DevStore {
    pub(super) fn new(root: &Path) -> io::Result<Self> {
        let fs = s3s_fs::FileSystem::new(root)
            .map_err(|e| io::Error::other(format!("s3s-fs root: {e:?}")))?;
        // As s3s-fs resolves it.
        let root = std::env::current_dir()?.join(root).canonicalize()?;
        Ok(Self {
            fs,
            root,
            parts: Mutex::new(HashMap::new()),
            tmp_counter: AtomicU64::new(0),
        })
    }

    fn recorded(&self) -> std::sync::MutexGuard<'_, HashMap<(Uuid, i32), [u8; 16]>> {
        self.parts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn forget_upload(&self, upload_id: &str) {
        if let Ok(id) = Uuid::parse_str(upload_id) {
            self.recorded().retain(|(u, _), _| *u != id);
        }
    }

    /// The plain case, or `None` for `s3s-fs` to handle (and answer errors).
    async fn plan(&self, req: &S3Request<CompleteMultipartUploadInput>) -> Option<Plan> {
        let input = &req.input;
        if input.if_match.is_some() || input.if_none_match.is_some() {
            return None;
        }
        let listed = input.multipart_upload.as_ref()?.parts.as_ref()?;
        if listed.is_empty() {
            return None;
        }
        let upload_id = Uuid::parse_str(&input.upload_id).ok()?;
        let object = self
            .root
            .join(plain_relative_path(&input.bucket, &input.key)?);

        // The upload exists and belongs to these credentials.
        let upload_info = self.root.join(format!(".upload-{upload_id}.json"));
        let owner: Option<String> =
            serde_json::from_slice(&tokio::fs::read(&upload_info).await.ok()?).ok()?;
        if owner.as_deref() != req.credentials.as_ref().map(|c| c.access_key.as_str()) {
            return None;
        }

        let mut parts = Vec::with_capacity(listed.len());
        {
            let recorded = self.recorded();
            for (i, part) in listed.iter().enumerate() {
                let number = part.part_number?;
                if usize::try_from(number).ok()? != i + 1 {
                    return None;
                }
                let md5 = *recorded.get(&(upload_id, number))?;
                if let Some(listed_tag) = &part.e_tag
                    && !listed_tag.value().eq_ignore_ascii_case(&hex(&md5))
                {
                    return None;
                }
                let path = self
                    .root
                    .join(format!(".upload_id-{upload_id}.part-{number}"));
                parts.push((path, md5));
            }
        }
        let last = parts.len() - 1;
        for (i, (path, _)) in parts.iter().enumerate() {
            let len = tokio::fs::metadata(path).await.ok()?.len();
            if i < last && len < MIN_PART_SIZE {
                return None;
            }
        }

        let (bucket, key) = (b64(&input.bucket), b64(&input.key));
        Some(Plan {
            upload_id,
            parts,
            object,
            upload_info,
            upload_attrs: self.root.join(format!(
                ".bucket-{bucket}.object-{key}.upload-{upload_id}.metadata.json"
            )),
            object_attrs: self
                .root
                .join(format!(".bucket-{bucket}.object-{key}.metadata.json")),
            internal_info: self
                .root
                .join(format!(".bucket-{bucket}.object-{key}.internal.json")),
        })
    }

    /// What `s3s-fs` does at completion, without reading the data back. The
    /// data goes first: if joining the parts fails, the upload is left as it
    /// was (parts, attributes, owner), to be completed again or aborted.
    async fn complete(
        &self,
        input: CompleteMultipartUploadInput,
        plan: Plan,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        let mut etag = Md5::new();
        for (_, md5) in &plan.parts {
            etag.update(md5);
        }
        let e_tag = format!("{}-{}", hex(&etag.finalize()), plan.parts.len());

        let tmp = self.tmp_path();
        let paths: Vec<PathBuf> = plan.parts.into_iter().map(|(p, _)| p).collect();
        let object = plan.object;
        tokio::task::spawn_blocking(move || join_parts(&paths, &tmp, &object))
            .await
            .map_err(S3Error::internal_error)?
            .map_err(S3Error::internal_error)?;

        match tokio::fs::rename(&plan.upload_attrs, &plan.object_attrs).await {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                return Err(S3Error::internal_error(e));
            }
            _ => {}
        }
        // A new map: checksums stored for an earlier object under this key
        // do not describe this one.
        let info = serde_json::to_vec(&serde_json::json!({ "e_tag": e_tag }))
            .map_err(S3Error::internal_error)?;
        write_then_rename(&self.tmp_path(), &plan.internal_info, &info)
            .await
            .map_err(S3Error::internal_error)?;
        remove_if_present(&plan.upload_info)
            .await
            .map_err(S3Error::internal_error)?;

        self.recorded().retain(|(u, _), _| *u != plan.upload_id);
        Ok(S3Response::new(CompleteMultipartUploadOutput {
            bucket: Some(input.bucket),
            key: Some(input.key),
            e_tag: Some(ETag::Strong(e_tag)),
            ..Default::default()
        }))
    }

    /// A temporary file in the root, named so that `s3s-fs` removes it at
    /// its next start if it is left behind.
    fn tmp_path(&self) -> PathBuf {
        let n = self.tmp_counter.fetch_add(1, Ordering::Relaxed);
        self.root.join(format!(".tmp.ms-utils-{n}.internal.part"))
    }
}

/// `BUCKET/KEY` when both are plain names (no `.`, `..`, root or empty
/// component, no trailing `/`), the only keys handled here.
fn plain_relative_path(bucket: &str, key: &str) -> Option<PathBuf> {
    let plain = |s: &str| {
        !s.is_empty()
            && !s.ends_with('/')
            && Path::new(s)
                .components()
                .all(|c| matches!(c, Component::Normal(_)))
    };
    (plain(bucket) && !bucket.contains('/') && plain(key)).then(|| Path::new(bucket).join(key))
}

/// Appends the parts to `tmp` (the kernel copies: `std::io::copy` between two
/// files is `copy_file_range` on Linux), moves it to `dest`, removes the parts.
/// `tmp` is removed on failure; the parts then stay for a retry or an abort.
fn join_parts(parts: &[PathBuf], tmp: &Path, dest: &Path) -> io::Result<()> {
    let joined = (|| {
        let mut out = std::fs::File::create(tmp)?;
        for part in parts {
            io::copy(&mut std::fs::File::open(part)?, &mut out)?;
        }
        drop(out);
        if let Some(dir) = dest.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::rename(tmp, dest)
    })();
    if let Err(e) = joined {
        let _ = std::fs::remove_file(tmp);
        return Err(e);
    }
    for part in parts {
        std::fs::remove_file(part)?;
    }
    Ok(())
}

async fn write_then_rename(tmp: &Path, dest: &Path, bytes: &[u8]) -> io::Result<()> {
    tokio::fs::write(tmp, bytes).await?;
    if let Err(e) = tokio::fs::rename(tmp, dest).await {
        let _ = tokio::fs::remove_file(tmp).await;
        return Err(e);
    }
    Ok(())
}

async fn remove_if_present(path: &Path) -> io::Result<()> {
    match tokio::fs::remove_file(path).await {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

fn b64(s: &str) -> String {
    URL_SAFE_NO_PAD.encode(s)
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(32), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn parse_md5(hex: &str) -> Option<[u8; 16]> {
    let mut out = [0u8; 16];
    if hex.len() != 32 {
        return None;
    }
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// The operations `s3s-fs` implements, passed to it as they are; the four
/// multipart ones that touch parts are below. The rest answer
/// `NotImplemented`, as with `s3s-fs` alone.
macro_rules! dev_store_s3 {
    ($($op:ident($input:ty) -> $output:ty;)*) => {
        #[async_trait::async_trait]
        impl S3 for DevStore {
            $(
                async fn $op(&self, req: S3Request<$input>) -> S3Result<S3Response<$output>> {
                    self.fs.$op(req).await
                }
            )*

            async fn upload_part(
                &self,
                req: S3Request<UploadPartInput>,
            ) -> S3Result<S3Response<UploadPartOutput>> {
                let key = Uuid::parse_str(&req.input.upload_id)
                    .ok()
                    .map(|id| (id, req.input.part_number));
                // A part sent again replaces the old one, hash and all.
                if let Some(key) = key {
                    self.recorded().remove(&key);
                }
                let res = self.fs.upload_part(req).await?;
                let md5 = res.output.e_tag.as_ref().and_then(|t| parse_md5(t.value()));
                if let (Some(key), Some(md5)) = (key, md5) {
                    self.recorded().insert(key, md5);
                }
                Ok(res)
            }

            async fn upload_part_copy(
                &self,
                req: S3Request<UploadPartCopyInput>,
            ) -> S3Result<S3Response<UploadPartCopyOutput>> {
                // Not recorded: a completion with a copied part goes to s3s-fs.
                if let Ok(id) = Uuid::parse_str(&req.input.upload_id) {
                    self.recorded().remove(&(id, req.input.part_number));
                }
                self.fs.upload_part_copy(req).await
            }

            async fn complete_multipart_upload(
                &self,
                req: S3Request<CompleteMultipartUploadInput>,
            ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
                match self.plan(&req).await {
                    Some(plan) => self.complete(req.input, plan).await,
                    None => {
                        let upload_id = req.input.upload_id.clone();
                        let res = self.fs.complete_multipart_upload(req).await?;
                        self.forget_upload(&upload_id);
                        Ok(res)
                    }
                }
            }

            async fn abort_multipart_upload(
                &self,
                req: S3Request<AbortMultipartUploadInput>,
            ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
                let upload_id = req.input.upload_id.clone();
                let res = self.fs.abort_multipart_upload(req).await?;
                self.forget_upload(&upload_id);
                Ok(res)
            }
        }
    };
}

dev_store_s3! {
    create_bucket(CreateBucketInput) -> CreateBucketOutput;
    copy_object(CopyObjectInput) -> CopyObjectOutput;
    delete_bucket(DeleteBucketInput) -> DeleteBucketOutput;
    delete_object(DeleteObjectInput) -> DeleteObjectOutput;
    delete_objects(DeleteObjectsInput) -> DeleteObjectsOutput;
    get_bucket_location(GetBucketLocationInput) -> GetBucketLocationOutput;
    get_object(GetObjectInput) -> GetObjectOutput;
    head_bucket(HeadBucketInput) -> HeadBucketOutput;
    head_object(HeadObjectInput) -> HeadObjectOutput;
    list_buckets(ListBucketsInput) -> ListBucketsOutput;
    list_objects(ListObjectsInput) -> ListObjectsOutput;
    list_objects_v2(ListObjectsV2Input) -> ListObjectsV2Output;
    put_object(PutObjectInput) -> PutObjectOutput;
    create_multipart_upload(CreateMultipartUploadInput) -> CreateMultipartUploadOutput;
    list_parts(ListPartsInput) -> ListPartsOutput;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_keys_are_handled_here() {
        assert_eq!(
            plain_relative_path("b", "dir/k.bin"),
            Some(PathBuf::from("b/dir/k.bin"))
        );
        for (bucket, key) in [
            ("b", ""),
            ("b", "../k"),
            ("b", "a/../k"),
            ("b", "./k"),
            ("b", "/k"),
            ("b", "dir/"),
            ("", "k"),
            ("a/b", "k"),
            ("..", "k"),
        ] {
            assert_eq!(plain_relative_path(bucket, key), None, "{bucket:?} {key:?}");
        }
    }

    #[test]
    fn md5_hex_round_trips_and_refuses_other_text() {
        let md5 = Md5::checksum(b"abc");
        assert_eq!(hex(&md5), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(parse_md5(&hex(&md5)), Some(md5));
        assert_eq!(parse_md5("900150983cd24fb0d6963f7d28e17f7"), None);
        assert_eq!(parse_md5("zz0150983cd24fb0d6963f7d28e17f72"), None);
        assert_eq!(parse_md5("900150983cd24fb0d6963f7d28e17f72-2"), None);
    }
}
