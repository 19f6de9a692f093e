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
//! headers, a part without a recorded hash (sent before a restart, by
//! `UploadPartCopy`, or twice at once), a listed ETag that is not the
//! recorded one, parts out of order or too small, a key with empty, `.` or
//! `..` segments, an unknown upload or other credentials.
//!
//! `ListMultipartUploads`, which `s3s-fs` does not implement, is answered
//! here from `s3s-fs`'s files of the open uploads (see
//! [`DevStore::list_uploads`]). Listings carry ETags, `DeleteObjects` knows
//! a missing bucket, writes into a bucket never created answer `NoSuchBucket`
//! (unless auto-creation is on) and version ids are refused (`parity.rs`). `UploadPart`,
//! `UploadPartCopy`, `ListParts` and `AbortMultipartUpload` answer
//! `NoSuchUpload` for an upload that is gone, as S3 does, and a part stored
//! after its upload was aborted or completed is removed (`parts.rs`). Every
//! other operation is `s3s-fs`'s own.
//!
//! A completion first takes the upload over by moving its owner file aside,
//! as `s3s-fs` deletes it first: a part, an abort or a second completion
//! arriving meanwhile is refused as for an ended upload. Until the object is
//! in place, a failure gives the upload back unchanged, to be completed again
//! or aborted.
//!
//! The file names used here are `s3s-fs` 0.14.1's (the workspace pins that
//! exact version): `.upload-{id}.json` (the upload's owner),
//! `.upload_id-{id}.part-{n}` (a part), `.bucket-{b64}.object-{b64}[.upload-{id}].metadata.json`
//! (attributes) and `.bucket-{b64}.object-{b64}.internal.json` (the ETag),
//! with `b64` the URL-safe unpadded base64 of the bucket or key. The tests in
//! `tests/it/s3_server.rs` compare both paths' results, so a change of
//! layout in a new `s3s-fs` shows there.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use s3s::crypto::{Checksum as _, Md5};
use s3s::dto::{
    AbortMultipartUploadInput, AbortMultipartUploadOutput, ChecksumType,
    CompleteMultipartUploadInput, CompleteMultipartUploadOutput, CopyObjectInput, CopyObjectOutput,
    CreateBucketInput, CreateBucketOutput, CreateMultipartUploadInput, CreateMultipartUploadOutput,
    DeleteBucketInput, DeleteBucketOutput, DeleteObjectInput, DeleteObjectOutput,
    DeleteObjectsInput, DeleteObjectsOutput, ETag, GetBucketLocationInput, GetBucketLocationOutput,
    GetObjectAclInput, GetObjectAclOutput, GetObjectInput, GetObjectOutput, GetObjectTaggingInput,
    GetObjectTaggingOutput, HeadBucketInput, HeadBucketOutput, HeadObjectInput, HeadObjectOutput,
    ListBucketsInput, ListBucketsOutput, ListMultipartUploadsInput, ListMultipartUploadsOutput,
    ListObjectsInput, ListObjectsOutput, ListObjectsV2Input, ListObjectsV2Output, ListPartsInput,
    ListPartsOutput, PutObjectAclInput, PutObjectAclOutput, PutObjectInput, PutObjectOutput,
    UploadPartCopyInput, UploadPartCopyOutput, UploadPartInput, UploadPartOutput,
};
use s3s::{S3, S3Error, S3Request, S3Response, S3Result};
use uuid::Uuid;

mod checksums;
mod extras;
mod extras_ops;
mod list_uploads;
mod parity;
mod parts;
mod read;

use checksums::Crc;
pub use parts::PartUploads;
use parts::{PartStore, Parts};

/// The most uploads one `ListMultipartUploads` answer lists (S3's limit).
const MAX_UPLOADS: usize = 1000;

/// Where an object's internal info says its checksum is of the whole object.
const CHECKSUM_TYPE_KEY: &str = "ms_utils_checksum_type";

/// S3's smallest part, for every part but the last.
const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;

/// `s3s-fs` with multipart completion done in the kernel (see the module doc).
pub(super) struct DevStore {
    fs: Arc<s3s_fs::FileSystem>,
    /// The folder `s3s-fs` resolves its files against (absolute, canonical).
    root: PathBuf,
    parts: Arc<Mutex<Parts>>,
    /// What the `UploadPart` calls are doing, for tests.
    activity: tokio::sync::watch::Sender<PartUploads>,
    /// Faults tests inject (see `DevS3Server`).
    pub(super) faults: Arc<StoreFaults>,
    /// A write into a bucket never created creates it (`s3s-fs`'s way),
    /// instead of `NoSuchBucket` (S3's).
    auto_create_buckets: bool,
}

/// The faults a test sets on a running server.
#[derive(Debug, Default)]
pub(super) struct StoreFaults {
    /// Each `UploadPart` waits this long (milliseconds) after its body was
    /// read before it stores the part; 0: no wait.
    pub(super) part_delay_ms: AtomicU64,
}

/// A completion taken on: the upload's owner file moved aside (`claim`), so
/// that no part, abort or other completion is accepted for it meanwhile.
struct Plan {
    upload_id: Uuid,
    parts: Vec<(PathBuf, [u8; 16])>,
    object: PathBuf,
    upload_info: PathBuf,
    claim: PathBuf,
    upload_attrs: PathBuf,
    object_attrs: PathBuf,
    internal_info: PathBuf,
    /// The full-object CRC the upload asked for, from its parts' CRCs.
    checksum: Option<(Crc, u64)>,
}

impl DevStore {
    pub(super) fn new(
        root: &Path,
        activity: tokio::sync::watch::Sender<PartUploads>,
        faults: Arc<StoreFaults>,
        auto_create_buckets: bool,
    ) -> io::Result<Self> {
        let fs = s3s_fs::FileSystem::new(root)
            .map_err(|e| io::Error::other(format!("s3s-fs root: {e:?}")))?;
        // As s3s-fs resolves it.
        let root = std::env::current_dir()?.join(root).canonicalize()?;
        Ok(Self {
            fs: Arc::new(fs),
            root,
            parts: Arc::default(),
            activity,
            faults,
            auto_create_buckets,
        })
    }

    fn parts(&self) -> std::sync::MutexGuard<'_, Parts> {
        self.parts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn forget_upload(&self, upload_id: &str) {
        if let Ok(id) = Uuid::parse_str(upload_id) {
            self.parts().forget(id);
        }
    }

    /// The file that says an upload is open, and whose it is.
    fn upload_info(&self, upload_id: Uuid) -> PathBuf {
        self.root.join(format!(".upload-{upload_id}.json"))
    }

    /// Whether the upload is open (see [`PartStore::is_open`]).
    async fn is_open(&self, upload_id: Uuid) -> bool {
        self.part_store().is_open(upload_id).await
    }

    /// What a part request needs, owned, so that it can go on storing a
    /// part its client no longer waits for.
    fn part_store(&self) -> PartStore {
        PartStore {
            fs: Arc::clone(&self.fs),
            parts: Arc::clone(&self.parts),
            activity: self.activity.clone(),
            root: self.root.clone(),
        }
    }

    /// The injected delay of part writes, if any.
    fn part_delay(&self) -> Option<Duration> {
        match self.faults.part_delay_ms.load(Ordering::SeqCst) {
            0 => None,
            ms => Some(Duration::from_millis(ms)),
        }
    }

    /// `AbortMultipartUpload`: `NoSuchUpload` for an upload that is gone
    /// (`s3s-fs` says `AccessDenied`); otherwise the upload is marked ended
    /// *before* `s3s-fs` removes its parts, so that a part being stored
    /// meanwhile is removed when it lands (see `upload_part_here`).
    async fn abort_here(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        let Ok(id) = Uuid::parse_str(&req.input.upload_id) else {
            return self.fs.abort_multipart_upload(req).await;
        };
        let owner: Option<Option<String>> = match tokio::fs::read(self.upload_info(id)).await {
            Ok(bytes) => serde_json::from_slice(&bytes).ok(),
            Err(_) => return Err(S3Error::new(s3s::S3ErrorCode::NoSuchUpload)),
        };
        let caller = req.credentials.as_ref().map(|c| c.access_key.as_str());
        if owner.as_ref().is_some_and(|o| o.as_deref() == caller) {
            self.parts().end(id);
        }
        let res = self.fs.abort_multipart_upload(req).await?;
        self.set_upload_extras(id, &extras::Extras::default())
            .await?;
        Ok(res)
    }

    /// `ListParts`: `NoSuchUpload` for an upload that is gone (aborted or
    /// completed), as S3 answers; `s3s-fs` lists whatever part files are left.
    async fn list_parts_here(
        &self,
        req: S3Request<ListPartsInput>,
    ) -> S3Result<S3Response<ListPartsOutput>> {
        if let Ok(id) = Uuid::parse_str(&req.input.upload_id)
            && !self.is_open(id).await
        {
            return Err(S3Error::new(s3s::S3ErrorCode::NoSuchUpload));
        }
        self.fs.list_parts(req).await
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
        let mut checksum = None;
        {
            let known = self.parts();
            // A full-object CRC asked for: every part's CRC is needed (one
            // missing, e.g. a part sent twice at once, goes to s3s-fs, which
            // stores none).
            if let Some(&kind) = known.checksums.get(&upload_id) {
                let pieces = (1..=i32::try_from(listed.len()).ok()?)
                    .map(|n| known.crcs.get(&(upload_id, n)).copied())
                    .collect::<Option<Vec<_>>>()?;
                checksum = Some((kind, kind.combine(&pieces)));
            }
            for (i, part) in listed.iter().enumerate() {
                let number = part.part_number?;
                if usize::try_from(number).ok()? != i + 1 {
                    return None;
                }
                let md5 = *known.md5.get(&(upload_id, number))?;
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

        // Taken on: from here the completion is this store's. Losing the race
        // to another completion or an abort leaves it to s3s-fs to answer.
        let claim = self.tmp_path();
        tokio::fs::rename(&upload_info, &claim).await.ok()?;
        // A part sent again since the hashes were read (it started before the
        // claim, or it would have been refused) gives the upload back.
        let unchanged = {
            let known = self.parts();
            parts.iter().zip(1..).all(|((_, md5), number)| {
                let key = (upload_id, number);
                !known.running.contains_key(&key) && known.md5.get(&key) == Some(md5)
            })
        };
        if !unchanged {
            tokio::fs::rename(&claim, &upload_info).await.ok()?;
            return None;
        }
        let (bucket, key) = (b64(&input.bucket), b64(&input.key));
        Some(Plan {
            upload_id,
            parts,
            object,
            upload_info,
            claim,
            upload_attrs: self.root.join(format!(
                ".bucket-{bucket}.object-{key}.upload-{upload_id}.metadata.json"
            )),
            object_attrs: self
                .root
                .join(format!(".bucket-{bucket}.object-{key}.metadata.json")),
            internal_info: self
                .root
                .join(format!(".bucket-{bucket}.object-{key}.internal.json")),
            checksum,
        })
    }

    /// What `s3s-fs` does at completion, without reading the data back.
    ///
    /// Until the object is in place a failure undoes the claim and leaves the
    /// upload as it was (parts, attributes, owner), to be completed again or
    /// aborted. The old object's ETag and checksums are removed before the new
    /// data lands, so that they never describe it (without them `s3s-fs`
    /// answers the MD5 of the content).
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

        // The full-object CRC the client sends must be its parts' (S3
        // answers `BadDigest`, and the upload stays open).
        if let Some((kind, crc)) = plan.checksum
            && kind
                .of_completion(&input)
                .is_some_and(|v| v != kind.encode(crc))
        {
            if let Err(undo) = tokio::fs::rename(&plan.claim, &plan.upload_info).await {
                tracing::warn!(error = %undo, upload_id = %plan.upload_id, "dev S3 server: could not reopen the upload");
            }
            return Err(S3Error::with_message(
                s3s::S3ErrorCode::BadDigest,
                format!("the {} sent does not match the parts'", kind.info_key()),
            ));
        }

        let parts: Vec<PathBuf> = plan.parts.iter().map(|(p, _)| p.clone()).collect();
        let mut sizes = Vec::with_capacity(parts.len());
        for part in &parts {
            sizes.push(tokio::fs::metadata(part).await.map_or(0, |m| m.len()));
        }
        let (tmp, object, old_info) = (
            self.tmp_path(),
            plan.object.clone(),
            plan.internal_info.clone(),
        );
        let installed =
            tokio::task::spawn_blocking(move || install(&parts, &tmp, &old_info, &object))
                .await
                .map_err(io::Error::other)
                .and_then(|r| r);
        if let Err(e) = installed {
            if let Err(undo) = tokio::fs::rename(&plan.claim, &plan.upload_info).await {
                tracing::warn!(error = %undo, upload_id = %plan.upload_id, "dev S3 server: could not reopen the upload");
            }
            return Err(S3Error::internal_error(e));
        }

        // The object is in place: its attributes follow.
        match tokio::fs::rename(&plan.upload_attrs, &plan.object_attrs).await {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                tracing::warn!(error = %e, key = %input.key, "dev S3 server: attributes not moved");
                return Err(S3Error::internal_error(e));
            }
            _ => {}
        }
        let mut info = serde_json::json!({ "e_tag": e_tag });
        if let (Some((kind, crc)), Some(map)) = (plan.checksum, info.as_object_mut()) {
            map.insert(kind.info_key().into(), kind.encode(crc).into());
            map.insert(CHECKSUM_TYPE_KEY.into(), ChecksumType::FULL_OBJECT.into());
        }
        let info = info.to_string();
        if let Err(e) =
            write_then_rename(&self.tmp_path(), &plan.internal_info, info.as_bytes()).await
        {
            tracing::warn!(error = %e, key = %input.key, "dev S3 server: ETag not stored");
        }
        for leftover in plan.parts.iter().map(|(p, _)| p).chain([&plan.claim]) {
            if let Err(e) = tokio::fs::remove_file(leftover).await {
                tracing::warn!(error = %e, file = %leftover.display(), "dev S3 server: not removed");
            }
        }

        {
            let mut known = self.parts();
            known.end(plan.upload_id);
            known
                .layouts
                .insert(plan.object.clone(), (e_tag.clone(), sizes));
        }
        self.complete_extras(plan.upload_id, &input.bucket, &input.key)
            .await;
        let mut out = CompleteMultipartUploadOutput {
            bucket: Some(input.bucket),
            key: Some(input.key),
            e_tag: Some(ETag::Strong(e_tag)),
            ..Default::default()
        };
        if let Some((kind, crc)) = plan.checksum {
            kind.answer(&mut out, kind.encode(crc));
        }
        Ok(S3Response::new(out))
    }

    /// The body of a `GetObject` answer `s3s-fs` built (headers, range and
    /// all), read again in large steps (`read.rs`) instead of its 4 KiB ones.
    /// Keys out of the plain case keep `s3s-fs`'s body.
    fn read_in_large_steps(&self, bucket: &str, key: &str, out: &mut GetObjectOutput) {
        let Some(relative) = plain_relative_path(bucket, key) else {
            return;
        };
        let Some((start, len)) =
            read::answered_range(out.content_range.as_deref(), out.content_length)
        else {
            return;
        };
        out.body = Some(read::file_body(self.root.join(relative), start, len));
    }

    /// `CreateMultipartUpload`, remembering the full-object CRC it asks for.
    async fn create_upload_here(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        self.require_bucket(&req.input.bucket).await?;
        let asked = Crc::asked(&req.input);
        let algorithm = req.input.checksum_algorithm.clone();
        let extras = extras::Extras::of_create(&req.input)?;
        let mut req = req;
        req.input.storage_class = None;
        let mut res = self.fs.create_multipart_upload(req).await?;
        if let Some(id) = res
            .output
            .upload_id
            .as_deref()
            .and_then(|u| Uuid::parse_str(u).ok())
        {
            self.set_upload_extras(id, &extras).await?;
        }
        if let Some(kind) = asked
            && let Some(id) = res
                .output
                .upload_id
                .as_deref()
                .and_then(|u| Uuid::parse_str(u).ok())
        {
            self.parts().checksums.insert(id, kind);
            res.output.checksum_algorithm = algorithm;
            res.output.checksum_type = Some(ChecksumType::from_static(ChecksumType::FULL_OBJECT));
        }
        Ok(res)
    }

    /// The `x-amz-checksum-type` of an object whose checksum is kept, from
    /// its internal info (`s3s-fs` keeps none: a multipart object completed
    /// here with a full-object CRC has `FULL_OBJECT`).
    async fn checksum_type(&self, bucket: &str, key: &str) -> Option<ChecksumType> {
        let info = self.root.join(format!(
            ".bucket-{}.object-{}.internal.json",
            b64(bucket),
            b64(key)
        ));
        let stored: serde_json::Value =
            serde_json::from_slice(&tokio::fs::read(info).await.ok()?).ok()?;
        match stored.get(CHECKSUM_TYPE_KEY)?.as_str()? {
            ChecksumType::FULL_OBJECT => Some(ChecksumType::from_static(ChecksumType::FULL_OBJECT)),
            _ => None,
        }
    }

    /// A temporary file in the root, named so that `s3s-fs` removes it at
    /// its next start if it is left behind, and unique even between two
    /// servers on one folder.
    fn tmp_path(&self) -> PathBuf {
        let id = Uuid::new_v4();
        self.root.join(format!(".tmp.ms-utils-{id}.internal.part"))
    }
}

impl DevStore {
    /// Part `number` of a multipart object completed here: its first and
    /// last byte and the part count, while the object keeps the ETag and
    /// size it was completed with (`None` otherwise: then `s3s-fs` answers
    /// with the whole object, as S3 does for part 1 of a single-PUT object).
    async fn part_range(&self, bucket: &str, key: &str, number: i32) -> Option<(u64, u64, i32)> {
        let object = self.root.join(plain_relative_path(bucket, key)?);
        let (e_tag, sizes) = self.parts().layouts.get(&object).cloned()?;
        let len = tokio::fs::metadata(&object).await.ok()?.len();
        let info = self.root.join(format!(
            ".bucket-{}.object-{}.internal.json",
            b64(bucket),
            b64(key)
        ));
        let stored: serde_json::Value =
            serde_json::from_slice(&tokio::fs::read(info).await.ok()?).ok()?;
        if stored.get("e_tag").and_then(|v| v.as_str()) != Some(e_tag.as_str())
            || sizes.iter().sum::<u64>() != len
        {
            return None;
        }
        let index = usize::try_from(number).ok()?.checked_sub(1)?;
        let first: u64 = sizes.get(..index)?.iter().sum();
        let size = *sizes.get(index)?;
        let count = i32::try_from(sizes.len()).ok()?;
        (size > 0).then(|| (first, first + size - 1, count))
    }
}

/// `BUCKET/KEY` when both are plain names (`/`-separated segments, none empty,
/// `.` or `..`), the only keys handled here: for those the path is the one
/// `s3s-fs` resolves.
fn plain_relative_path(bucket: &str, key: &str) -> Option<PathBuf> {
    let plain = |s: &str| {
        !s.is_empty()
            && s.split('/')
                .all(|seg| !seg.is_empty() && seg != "." && seg != "..")
    };
    (plain(bucket) && !bucket.contains('/') && plain(key)).then(|| Path::new(bucket).join(key))
}

/// Appends the parts to `tmp` (the kernel copies: `std::io::copy` between two
/// files is `copy_file_range` on Linux), removes the old object's internal
/// info, and moves `tmp` to `dest`. The parts stay; `tmp` is removed on failure.
fn install(parts: &[PathBuf], tmp: &Path, old_info: &Path, dest: &Path) -> io::Result<()> {
    let installed = (|| {
        let mut out = std::fs::File::create(tmp)?;
        for part in parts {
            io::copy(&mut std::fs::File::open(part)?, &mut out)?;
        }
        drop(out);
        match std::fs::remove_file(old_info) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        if let Some(dir) = dest.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::rename(tmp, dest)
    })();
    if installed.is_err() {
        let _ = std::fs::remove_file(tmp);
    }
    installed
}

async fn write_then_rename(tmp: &Path, dest: &Path, bytes: &[u8]) -> io::Result<()> {
    tokio::fs::write(tmp, bytes).await?;
    if let Err(e) = tokio::fs::rename(tmp, dest).await {
        let _ = tokio::fs::remove_file(tmp).await;
        return Err(e);
    }
    Ok(())
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
    if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// The operations `s3s-fs` implements, passed to it as they are; the
/// multipart ones (parts, completion, abort, `ListParts`), `GetObject` and
/// `HeadObject` by part number, `ListMultipartUploads`, and those made to
/// answer as S3 does (`parity.rs`: listings, batch deletes, versions), are
/// below. The rest answer `NotImplemented`, as with `s3s-fs` alone.
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
                if let Ok(id) = Uuid::parse_str(&req.input.upload_id) {
                    self.upload_extras(id)
                        .await?
                        .check_key(req.input.sse_customer_key_md5.as_deref())?;
                }
                self.part_store().upload_part(req, self.part_delay()).await
            }

            async fn create_multipart_upload(
                &self,
                req: S3Request<CreateMultipartUploadInput>,
            ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
                self.create_upload_here(req).await
            }

            async fn list_parts(
                &self,
                req: S3Request<ListPartsInput>,
            ) -> S3Result<S3Response<ListPartsOutput>> {
                self.list_parts_here(req).await
            }

            async fn upload_part_copy(
                &self,
                req: S3Request<UploadPartCopyInput>,
            ) -> S3Result<S3Response<UploadPartCopyOutput>> {
                parity::refuse_source_version(&req.input.copy_source)?;
                self.part_store().upload_part_copy(req).await
            }

            async fn complete_multipart_upload(
                &self,
                req: S3Request<CompleteMultipartUploadInput>,
            ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
                match self.plan(&req).await {
                    Some(plan) => self.complete(req.input, plan).await,
                    None => {
                        // Forgotten whatever s3s-fs answers: it may have ended
                        // the upload before refusing it, and forgetting only
                        // sends a later completion to s3s-fs.
                        let upload_id = req.input.upload_id.clone();
                        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
                        let res = self.fs.complete_multipart_upload(req).await;
                        match (&res, Uuid::parse_str(&upload_id)) {
                            (Ok(_), Ok(id)) => {
                                self.parts().end(id);
                                self.complete_extras(id, &bucket, &key).await;
                            }
                            _ => self.forget_upload(&upload_id),
                        }
                        res
                    }
                }
            }

            /// With `partNumber`, a multipart object completed here answers
            /// that part's bytes (as a range) and its part count.
            async fn get_object(
                &self,
                mut req: S3Request<GetObjectInput>,
            ) -> S3Result<S3Response<GetObjectOutput>> {
                parity::refuse_version(req.input.version_id.as_deref())?;
                let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
                let extras = self.object_extras(&bucket, &key).await?;
                extras.check_key(req.input.sse_customer_key_md5.as_deref())?;
                let Some(number) = req.input.part_number else {
                    let mut res = self.fs.get_object(req).await?;
                    extras.answer_get(&mut res.output);
                    if res.output.checksum_crc64nvme.is_some()
                        || res.output.checksum_crc32.is_some()
                        || res.output.checksum_crc32c.is_some()
                    {
                        res.output.checksum_type = self.checksum_type(&bucket, &key).await;
                    }
                    self.read_in_large_steps(&bucket, &key, &mut res.output);
                    return Ok(res);
                };
                let Some((first, last, count)) =
                    self.part_range(&req.input.bucket, &req.input.key, number).await
                else {
                    let mut res = self.fs.get_object(req).await?;
                    extras.answer_get(&mut res.output);
                    self.read_in_large_steps(&bucket, &key, &mut res.output);
                    return Ok(res);
                };
                req.input.part_number = None;
                req.input.range = Some(s3s::dto::Range::Int { first, last: Some(last) });
                let mut res = self.fs.get_object(req).await?;
                extras.answer_get(&mut res.output);
                res.output.parts_count = Some(count);
                self.read_in_large_steps(&bucket, &key, &mut res.output);
                Ok(res)
            }

            /// With `partNumber`, a multipart object completed here answers
            /// that part's size and its part count.
            async fn head_object(
                &self,
                req: S3Request<HeadObjectInput>,
            ) -> S3Result<S3Response<HeadObjectOutput>> {
                parity::refuse_version(req.input.version_id.as_deref())?;
                let part = match req.input.part_number {
                    Some(number) => self.part_range(&req.input.bucket, &req.input.key, number).await,
                    None => None,
                };
                let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
                let extras = self.object_extras(&bucket, &key).await?;
                extras.check_key(req.input.sse_customer_key_md5.as_deref())?;
                let mut res = self.fs.head_object(req).await?;
                extras.answer_head(&mut res.output);
                if part.is_none()
                    && (res.output.checksum_crc64nvme.is_some()
                        || res.output.checksum_crc32.is_some()
                        || res.output.checksum_crc32c.is_some())
                {
                    res.output.checksum_type = self.checksum_type(&bucket, &key).await;
                }
                if let Some((first, last, count)) = part {
                    res.output.content_length = i64::try_from(last - first + 1).ok();
                    res.output.parts_count = Some(count);
                }
                Ok(res)
            }

            async fn list_objects_v2(
                &self,
                req: S3Request<ListObjectsV2Input>,
            ) -> S3Result<S3Response<ListObjectsV2Output>> {
                self.list_objects_v2_with_e_tags(req).await
            }

            async fn delete_objects(
                &self,
                req: S3Request<DeleteObjectsInput>,
            ) -> S3Result<S3Response<DeleteObjectsOutput>> {
                self.delete_objects_checked(req).await
            }

            async fn put_object(
                &self,
                req: S3Request<PutObjectInput>,
            ) -> S3Result<S3Response<PutObjectOutput>> {
                self.put_object_here(req).await
            }

            async fn copy_object(
                &self,
                req: S3Request<CopyObjectInput>,
            ) -> S3Result<S3Response<CopyObjectOutput>> {
                parity::refuse_source_version(&req.input.copy_source)?;
                self.copy_object_here(req).await
            }

            async fn delete_object(
                &self,
                req: S3Request<DeleteObjectInput>,
            ) -> S3Result<S3Response<DeleteObjectOutput>> {
                parity::refuse_version(req.input.version_id.as_deref())?;
                self.delete_object_here(req).await
            }

            async fn get_object_tagging(
                &self,
                req: S3Request<GetObjectTaggingInput>,
            ) -> S3Result<S3Response<GetObjectTaggingOutput>> {
                self.get_object_tagging_here(req).await
            }

            async fn get_object_acl(
                &self,
                req: S3Request<GetObjectAclInput>,
            ) -> S3Result<S3Response<GetObjectAclOutput>> {
                self.get_object_acl_here(req).await
            }

            async fn put_object_acl(
                &self,
                req: S3Request<PutObjectAclInput>,
            ) -> S3Result<S3Response<PutObjectAclOutput>> {
                self.put_object_acl_here(req).await
            }

            async fn list_multipart_uploads(
                &self,
                req: S3Request<ListMultipartUploadsInput>,
            ) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
                self.list_uploads(req).await
            }

            async fn abort_multipart_upload(
                &self,
                req: S3Request<AbortMultipartUploadInput>,
            ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
                self.abort_here(req).await
            }
        }
    };
}

dev_store_s3! {
    create_bucket(CreateBucketInput) -> CreateBucketOutput;
    delete_bucket(DeleteBucketInput) -> DeleteBucketOutput;
    get_bucket_location(GetBucketLocationInput) -> GetBucketLocationOutput;
    head_bucket(HeadBucketInput) -> HeadBucketOutput;
    list_buckets(ListBucketsInput) -> ListBucketsOutput;
    list_objects(ListObjectsInput) -> ListObjectsOutput;
}

#[cfg(test)]
mod tests;
