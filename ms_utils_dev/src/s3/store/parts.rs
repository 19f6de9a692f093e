//! What the store knows of the parts of open uploads as they arrive, and
//! the uploads that ended (aborted or completed): a part that lands after
//! its upload ended is removed, as S3 frees the parts of an aborted upload.

use std::collections::{HashMap, HashSet};
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::Stream;
use s3s::StdError;
use s3s::dto::{
    StreamingBlob, UploadPartCopyInput, UploadPartCopyOutput, UploadPartInput, UploadPartOutput,
};
use s3s::stream::{ByteStream, RemainingLength};
use s3s::{S3, S3Error, S3Request, S3Response, S3Result};
use tokio::sync::watch;
use uuid::Uuid;

use super::checksums::Crc;
use super::parse_md5;

pub(super) type PartKey = (Uuid, i32);

/// What `UploadPart` calls are doing, for tests that wait on the server
/// (see [`DevS3Server::part_uploads`](crate::s3::DevS3Server::part_uploads)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PartUploads {
    /// `UploadPart` requests being served (body being read or stored).
    pub running: usize,
    /// Of those, the ones whose body has been read and which wait for the
    /// injected delay before they store the part
    /// ([`DevS3Server::delay_part_uploads`](crate::s3::DevS3Server::delay_part_uploads)).
    pub delayed: usize,
    /// Parts removed because they landed after their upload ended.
    pub removed_late: usize,
}

/// What is known of the parts as they arrive.
#[derive(Default)]
pub(super) struct Parts {
    /// The MD5 of each part as `UploadPart` stored it.
    pub(super) md5: HashMap<PartKey, [u8; 16]>,
    /// `UploadPart` calls running, by part.
    pub(super) running: HashMap<PartKey, u32>,
    /// Parts sent twice at once: which file won is unknown, so their hash is
    /// not recorded until a later upload of the part runs alone.
    pub(super) overlapped: HashSet<PartKey>,
    /// The part sizes of the objects completed here, by object file, with
    /// the ETag they were completed with: `GetObject`/`HeadObject` with
    /// `partNumber` use them while the object still has that ETag and size.
    pub(super) layouts: HashMap<PathBuf, (String, Vec<u64>)>,
    /// Uploads aborted or completed. A part still being stored when its
    /// upload ends is removed once stored. (Kept for the server's life: a
    /// development server sees few uploads.)
    pub(super) ended: HashSet<Uuid>,
    /// The full-object CRC each upload asked for at its creation.
    pub(super) checksums: HashMap<Uuid, Crc>,
    /// Each part's CRC (of its upload's kind) and length, as stored.
    pub(super) crcs: HashMap<PartKey, (u64, u64)>,
}

impl Parts {
    pub(super) fn start(&mut self, key: PartKey) {
        self.md5.remove(&key);
        self.crcs.remove(&key);
        let running = self.running.entry(key).or_insert(0);
        *running += 1;
        if *running > 1 {
            self.overlapped.insert(key);
        } else {
            self.overlapped.remove(&key);
        }
    }

    pub(super) fn finish(&mut self, key: PartKey, md5: Option<[u8; 16]>, crc: Option<(u64, u64)>) {
        if let Some(running) = self.running.get_mut(&key) {
            *running = running.saturating_sub(1);
            if *running == 0 {
                self.running.remove(&key);
            }
        }
        if self.overlapped.contains(&key) {
            return;
        }
        if let Some(md5) = md5 {
            self.md5.insert(key, md5);
        }
        if let Some(crc) = crc {
            self.crcs.insert(key, crc);
        }
    }

    /// The upload ended (aborted or completed): what was recorded of its
    /// parts goes, and a part of it that lands later is removed.
    pub(super) fn end(&mut self, upload_id: Uuid) {
        self.forget(upload_id);
        self.checksums.remove(&upload_id);
        self.ended.insert(upload_id);
    }

    pub(super) fn forget(&mut self, upload_id: Uuid) {
        self.md5.retain(|(u, _), _| *u != upload_id);
        self.crcs.retain(|(u, _), _| *u != upload_id);
        self.overlapped.retain(|(u, _)| *u != upload_id);
    }
}

/// What a part request needs, owned: `UploadPart` runs in a task of its
/// own, so that a part whose body has arrived in full is stored even when
/// its client stops waiting (as S3 does: the race of an abort with such a
/// part is what `refuse_if_ended` settles).
#[derive(Clone)]
pub(super) struct PartStore {
    pub(super) fs: Arc<s3s_fs::FileSystem>,
    pub(super) parts: Arc<Mutex<Parts>>,
    pub(super) activity: watch::Sender<PartUploads>,
    /// The folder `s3s-fs` resolves its files against.
    pub(super) root: PathBuf,
}

impl PartStore {
    pub(super) fn parts(&self) -> MutexGuard<'_, Parts> {
        self.parts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the upload is open (its owner file is there). An upload being
    /// completed here has that file moved aside: it counts as ended.
    pub(super) async fn is_open(&self, upload_id: Uuid) -> bool {
        tokio::fs::try_exists(self.root.join(format!(".upload-{upload_id}.json")))
            .await
            .unwrap_or(false)
    }

    /// A part arriving: its old hash is dropped now; the new one, if the
    /// caller sets it, is recorded when the returned guard drops.
    fn part_upload(&self, upload_id: &str, part_number: i32) -> Option<PartUpload> {
        let key = (Uuid::parse_str(upload_id).ok()?, part_number);
        self.parts().start(key);
        self.activity.send_modify(|a| a.running += 1);
        Some(PartUpload {
            store: self.clone(),
            key,
            md5: None,
            crc: None,
        })
    }

    /// `UploadPart`, with what `s3s-fs` leaves out: a part of an upload that
    /// is gone is refused with `NoSuchUpload` (S3's answer; `s3s-fs` says
    /// `AccessDenied`), a part whose body has arrived is stored even if the
    /// client has gone, and a part that was still being stored when its
    /// upload was aborted or completed is removed once stored, as S3 frees
    /// the parts of an aborted upload. `delay`: an injected wait between the
    /// body's last byte and the store.
    pub(super) async fn upload_part(
        self,
        mut req: S3Request<UploadPartInput>,
        delay: Option<Duration>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        let upload_id = Uuid::parse_str(&req.input.upload_id).ok();
        if let Some(id) = upload_id
            && !self.is_open(id).await
        {
            return Err(S3Error::new(s3s::S3ErrorCode::NoSuchUpload));
        }
        let part_number = req.input.part_number;
        let running = self.part_upload(&req.input.upload_id, part_number);
        let asked = upload_id.and_then(|id| self.parts().checksums.get(&id).copied());
        let crc_kind = Crc::for_part(asked, &req.input);
        let header = crc_kind.and_then(|k| k.of_part(&req.input).map(str::to_owned));
        let hashed = Arc::new(Mutex::new(None));
        req.input.body = req.input.body.take().map(|body| {
            PartBody::wrap(
                body,
                delay,
                crc_kind.map(|k| (k.digest(), Arc::clone(&hashed))),
                self.activity.clone(),
            )
        });
        let stored = tokio::spawn(async move {
            let res = self.fs.upload_part(req).await;
            if let Some(id) = upload_id {
                self.refuse_if_ended(id, part_number).await?;
            }
            let mut res = res?;
            let crc = *hashed.lock().unwrap_or_else(PoisonError::into_inner);
            if let (Some(kind), Some((value, _))) = (crc_kind, crc) {
                let computed = kind.encode(value);
                if header.as_deref().is_some_and(|h| h != computed) {
                    if let Some(id) = upload_id {
                        let part = self
                            .root
                            .join(format!(".upload_id-{id}.part-{part_number}"));
                        let _ = tokio::fs::remove_file(part).await;
                    }
                    return Err(S3Error::with_message(
                        s3s::S3ErrorCode::BadDigest,
                        format!("the part's {} does not match its content", kind.info_key()),
                    ));
                }
                match kind {
                    Crc::Crc64Nvme => res.output.checksum_crc64nvme = Some(computed),
                    Crc::Crc32 => res.output.checksum_crc32 = Some(computed),
                    Crc::Crc32C => res.output.checksum_crc32c = Some(computed),
                }
            }
            if let Some(mut running) = running {
                running.md5 = res.output.e_tag.as_ref().and_then(|t| parse_md5(t.value()));
                running.crc = crc.filter(|_| asked.is_some());
            }
            Ok(res)
        });
        stored.await.map_err(S3Error::internal_error)?
    }

    /// `UploadPartCopy`, with the same checks of the upload as `UploadPart`.
    pub(super) async fn upload_part_copy(
        self,
        req: S3Request<UploadPartCopyInput>,
    ) -> S3Result<S3Response<UploadPartCopyOutput>> {
        let upload_id = Uuid::parse_str(&req.input.upload_id).ok();
        if let Some(id) = upload_id
            && !self.is_open(id).await
        {
            return Err(S3Error::new(s3s::S3ErrorCode::NoSuchUpload));
        }
        let part_number = req.input.part_number;
        // Not recorded: a completion with a copied part goes to s3s-fs.
        let running = self.part_upload(&req.input.upload_id, part_number);
        let stored = tokio::spawn(async move {
            let res = self.fs.upload_part_copy(req).await;
            if let Some(id) = upload_id {
                self.refuse_if_ended(id, part_number).await?;
            }
            drop(running);
            res
        });
        stored.await.map_err(S3Error::internal_error)?
    }

    /// A part stored after its upload ended (aborted or completed) is
    /// removed, and refused with `NoSuchUpload`: nothing may keep it.
    async fn refuse_if_ended(&self, upload_id: Uuid, part_number: i32) -> S3Result<()> {
        if !self.parts().ended.contains(&upload_id) {
            return Ok(());
        }
        let part = self
            .root
            .join(format!(".upload_id-{upload_id}.part-{part_number}"));
        match tokio::fs::remove_file(&part).await {
            Ok(()) => self.activity.send_modify(|a| a.removed_late += 1),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(error = %e, file = %part.display(), "dev S3 server: late part not removed");
            }
        }
        Err(S3Error::new(s3s::S3ErrorCode::NoSuchUpload))
    }
}

/// One `UploadPart` in progress; ends (recording the hash if it is set) when
/// dropped, also when the request is cancelled half-way.
pub(super) struct PartUpload {
    store: PartStore,
    key: PartKey,
    md5: Option<[u8; 16]>,
    crc: Option<(u64, u64)>,
}

impl Drop for PartUpload {
    fn drop(&mut self) {
        self.store.parts().finish(self.key, self.md5, self.crc);
        self.store
            .activity
            .send_modify(|a| a.running = a.running.saturating_sub(1));
    }
}

/// A part's body as `s3s-fs` reads it: the client's bytes (hashed with a
/// CRC on the way when the part needs one: the result, CRC and length, goes
/// to its slot at the end), then, when a delay is injected, a wait before
/// the end of the stream, so that the part is stored only that long after
/// its last byte arrived (a slow disk).
pub(super) struct PartBody {
    inner: StreamingBlob,
    crc: Option<(crc_fast::Digest, CrcSlot)>,
    len: u64,
    delay: Option<Duration>,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    activity: watch::Sender<PartUploads>,
}

/// Where a part's CRC and length go once its body has been read.
pub(super) type CrcSlot = Arc<Mutex<Option<(u64, u64)>>>;

impl PartBody {
    /// The body `s3s-fs` reads in place of `inner`.
    pub(super) fn wrap(
        inner: StreamingBlob,
        delay: Option<Duration>,
        crc: Option<(crc_fast::Digest, CrcSlot)>,
        activity: watch::Sender<PartUploads>,
    ) -> StreamingBlob {
        StreamingBlob::new(PartBody {
            inner,
            crc,
            len: 0,
            delay,
            sleep: None,
            activity,
        })
    }
}

impl Stream for PartBody {
    type Item = Result<Bytes, StdError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.sleep.is_none() {
            match Pin::new(&mut this.inner).poll_next(cx) {
                Poll::Ready(None) => {}
                Poll::Ready(Some(Ok(bytes))) => {
                    if let Some((digest, _)) = this.crc.as_mut() {
                        digest.update(&bytes);
                    }
                    this.len += bytes.len() as u64;
                    return Poll::Ready(Some(Ok(bytes)));
                }
                other => return other,
            }
            if let Some((digest, slot)) = this.crc.take() {
                *slot.lock().unwrap_or_else(PoisonError::into_inner) =
                    Some((digest.finalize(), this.len));
            }
            let Some(delay) = this.delay.take() else {
                return Poll::Ready(None);
            };
            this.activity.send_modify(|a| a.delayed += 1);
            this.sleep = Some(Box::pin(tokio::time::sleep(delay)));
        }
        match this.sleep.as_mut().map(|s| s.as_mut().poll(cx)) {
            Some(Poll::Pending) => Poll::Pending,
            _ => {
                this.sleep = None;
                this.activity
                    .send_modify(|a| a.delayed = a.delayed.saturating_sub(1));
                Poll::Ready(None)
            }
        }
    }
}

impl Drop for PartBody {
    fn drop(&mut self) {
        // Dropped while waiting (the request was cancelled).
        if self.sleep.is_some() {
            self.activity
                .send_modify(|a| a.delayed = a.delayed.saturating_sub(1));
        }
    }
}

impl ByteStream for PartBody {
    fn remaining_length(&self) -> RemainingLength {
        self.inner.remaining_length()
    }
}
