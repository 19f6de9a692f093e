//! The GETs of a download: ranges or parts, to the temporary file or into
//! one buffer, each hashed as it arrives when the check needs it.

use std::path::Path;
use std::sync::{Mutex, PoisonError};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ChecksumMode;
use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt, stream};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::check::{body_error, check_len, integrity, verify_pieces};
use super::hash::UnitHash;
use super::plan::{Piece, Plan, parse_content_range};
use crate::s3::client::S3BucketClient;
use crate::s3::error::Error;
use crate::s3::object_args::with_sse_c;
use crate::s3::progress::Tracker;
use crate::s3::range_writer::RangeWriter;
use crate::s3::verify::Check;

impl S3BucketClient {
    /// A multipart object into memory, its parts fetched in parallel by
    /// part number, each hashed as it arrives and written straight to its
    /// offset in one buffer of the object's size: the peak is the object
    /// once, not the parts plus their concatenation. A part's offset is
    /// known only from its answer (parts need not be of one size), so the
    /// buffer is shared behind a lock held for each copy alone (the parts
    /// all run on this task: it is never contended).
    pub(super) async fn parts_to_bytes(
        &self,
        plan: &Plan,
        size: usize,
        tracker: &Tracker,
    ) -> Result<Bytes, Error> {
        let buf = Mutex::new(vec![0u8; size]);
        let pending =
            (0..plan.units()).map(|index| self.unit_to_buffer(plan, index, &buf, tracker));
        let results = stream::iter(pending).buffer_unordered(self.transfer.download_concurrency);
        let mut pieces = results.try_collect::<Vec<Piece>>().await?;
        // The parts must tile the object: no byte left out or written twice.
        verify_pieces(plan, false, &mut pieces)?;
        let buf = buf.into_inner().unwrap_or_else(PoisonError::into_inner);
        Ok(Bytes::from(buf))
    }

    /// GETs one range (or the whole object when `whole`), returning the body
    /// and the number of bytes it must hold.
    pub(super) async fn get_range(
        &self,
        plan: &Plan,
        (start, end): (u64, u64),
        whole: bool,
    ) -> Result<(ByteStream, u64), Error> {
        let mut req = with_sse_c!(self.sdk.get_object(), plan.customer_key.as_ref())
            .bucket(&plan.bucket)
            .key(&plan.key)
            .set_version_id(plan.version_id.clone());
        let expected = if whole {
            // The SDK checks a stored SHA (a CRC is computed here).
            if matches!(plan.check, Check::FullChecksum(_)) {
                req = req.checksum_mode(ChecksumMode::Enabled);
            }
            plan.size
        } else {
            req = req
                .range(format!("bytes={start}-{end}"))
                .set_if_match(plan.e_tag.clone());
            end - start + 1
        };
        let out = req.send().await.map_err(|e| {
            Error::from_sdk(&self.target, "GetObject", &plan.bucket, Some(&plan.key), e)
        })?;
        let announced = out.content_length.and_then(|n| u64::try_from(n).ok());
        if let Some(announced) = announced.filter(|&n| n != expected) {
            return Err(integrity(
                plan,
                format!("server announced {announced} bytes, expected {expected}"),
            ));
        }
        Ok((out.body, expected))
    }

    /// GETs unit `index`: part `index + 1` when fetching by part number,
    /// else range `index`. Returns the body, the offset of its first byte
    /// and the number of bytes it must hold.
    pub(super) async fn get_unit(
        &self,
        plan: &Plan,
        index: usize,
        whole: bool,
    ) -> Result<(ByteStream, u64, u64), Error> {
        let Some((_, first)) = plan.parts else {
            let range = plan.ranges[index];
            let (body, expected) = self.get_range(plan, range, whole).await?;
            return Ok((body, range.0, expected));
        };
        let number = i32::try_from(index + 1).unwrap_or(i32::MAX);
        let out = with_sse_c!(self.sdk.get_object(), plan.customer_key.as_ref())
            .bucket(&plan.bucket)
            .key(&plan.key)
            .set_version_id(plan.version_id.clone())
            .part_number(number)
            .set_if_match(plan.e_tag.clone())
            .send()
            .await
            .map_err(|e| {
                Error::from_sdk(&self.target, "GetObject", &plan.bucket, Some(&plan.key), e)
            })?;
        let len = out
            .content_length
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| integrity(plan, format!("part {number}: no Content-Length")))?;
        let start = match out.content_range.as_deref().map(parse_content_range) {
            Some(Some((a, b, total))) if b + 1 - a == len && total == plan.size => a,
            Some(_) => {
                return Err(integrity(
                    plan,
                    format!(
                        "part {number}: Content-Range `{}` does not match {len} bytes of {}",
                        out.content_range.as_deref().unwrap_or_default(),
                        plan.size
                    ),
                ));
            }
            None => index as u64 * first,
        };
        if start.checked_add(len).is_none_or(|end| end > plan.size) {
            return Err(integrity(
                plan,
                format!("part {number} ends beyond the object's {} bytes", plan.size),
            ));
        }
        Ok((out.body, start, len))
    }

    /// Unit `index` into the file at `path`, hashed as the plan's check
    /// needs.
    pub(super) async fn unit_to_file(
        &self,
        plan: &Plan,
        index: usize,
        whole: bool,
        path: &Path,
        tracker: &Tracker,
    ) -> Result<Piece, Error> {
        let mut hash = UnitHash::new(plan, whole);
        if plan.size == 0 {
            return Ok(Piece::new(0, 0, index, hash.finish()));
        }
        let (body, start, expected) = self.get_unit(plan, index, whole).await?;
        let mut sink = Sink::File(RangeWriter::open(path, start).await?);
        let got = self
            .drain(plan, body, expected, &mut hash, tracker, &mut sink)
            .await?;
        sink.finish().await?;
        Ok(Piece::new(start, got, index, hash.finish()))
    }

    /// One part of a multipart object, hashed as it arrives and copied to
    /// its offset in `buf`.
    pub(super) async fn unit_to_buffer(
        &self,
        plan: &Plan,
        index: usize,
        buf: &Mutex<Vec<u8>>,
        tracker: &Tracker,
    ) -> Result<Piece, Error> {
        let mut hash = UnitHash::new(plan, false);
        let (body, start, expected) = self.get_unit(plan, index, false).await?;
        // `get_unit` checked that the part ends within the object.
        let at = usize::try_from(start).unwrap_or(usize::MAX);
        let mut sink = Sink::Buffer { buf, at };
        let got = self
            .drain(plan, body, expected, &mut hash, tracker, &mut sink)
            .await?;
        sink.finish().await?;
        Ok(Piece::new(start, got, index, hash.finish()))
    }

    /// Reads `body` to its end, each frame hashed, counted for progress and
    /// put into `sink`; stops at the first byte beyond `expected`. Returns
    /// the bytes read, which must be `expected` (else an integrity error).
    pub(super) async fn drain(
        &self,
        plan: &Plan,
        mut body: ByteStream,
        expected: u64,
        hash: &mut UnitHash,
        tracker: &Tracker,
        sink: &mut Sink<'_>,
    ) -> Result<u64, Error> {
        let mut got = 0u64;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| body_error(&self.target, plan, e.into()))?;
            got += chunk.len() as u64;
            if got > expected {
                break;
            }
            hash.update(&chunk);
            tracker.add(chunk.len() as u64);
            sink.put(plan, chunk).await?;
        }
        check_len(plan, got, expected)?;
        Ok(got)
    }

    /// Range `index` (or the whole object when `whole`) into `slice`, its
    /// own part of one buffer of the object's size.
    pub(super) async fn range_to_slice(
        &self,
        plan: &Plan,
        index: usize,
        whole: bool,
        slice: &mut [u8],
        tracker: &Tracker,
    ) -> Result<Piece, Error> {
        let mut hash = UnitHash::new(plan, whole);
        let range = plan.ranges[index];
        if plan.size == 0 {
            return Ok(Piece::new(0, 0, index, hash.finish()));
        }
        let (body, expected) = self.get_range(plan, range, whole).await?;
        let mut sink = Sink::Slice { slice, at: 0 };
        let got = self
            .drain(plan, body, expected, &mut hash, tracker, &mut sink)
            .await?;
        sink.finish().await?;
        Ok(Piece::new(range.0, got, index, hash.finish()))
    }
}

/// Where the frames of one GET go.
pub(super) enum Sink<'a> {
    /// Its range of the temporary file.
    File(RangeWriter<'a>),
    /// One buffer of the object's size, from offset `at` on.
    Buffer { buf: &'a Mutex<Vec<u8>>, at: usize },
    /// The range's own slice of such a buffer, from `at` on.
    Slice { slice: &'a mut [u8], at: usize },
    /// The frames as they came, to be written elsewhere in order.
    Frames(&'a mut Vec<Bytes>),
    /// The caller's writer, as the frames come.
    Writer(&'a mut (dyn AsyncWrite + Unpin + Send)),
}

impl Sink<'_> {
    async fn put(&mut self, plan: &Plan, chunk: Bytes) -> Result<(), Error> {
        match self {
            Sink::File(out) => out.write(chunk).await,
            Sink::Buffer { buf, at } => {
                copy_at(plan, buf, *at, &chunk)?;
                *at += chunk.len();
                Ok(())
            }
            Sink::Slice { slice, at } => {
                let end = *at + chunk.len();
                let len = slice.len();
                let dst = slice.get_mut(*at..end).ok_or_else(|| {
                    integrity(plan, format!("a range holds more than its {len} bytes"))
                })?;
                dst.copy_from_slice(&chunk);
                *at = end;
                Ok(())
            }
            Sink::Frames(frames) => {
                frames.push(chunk);
                Ok(())
            }
            Sink::Writer(out) => out
                .write_all(&chunk)
                .await
                .map_err(|error| Error::Writer { error }),
        }
    }

    /// Waits until everything put is in place (a file's writes returned).
    pub(super) async fn finish(self) -> Result<(), Error> {
        match self {
            Sink::File(out) => out.finish().await,
            Sink::Buffer { .. } | Sink::Slice { .. } | Sink::Frames(_) | Sink::Writer(_) => Ok(()),
        }
    }
}

/// Copies `chunk` to `buf[at..]`, under the lock for that copy alone.
pub(super) fn copy_at(
    plan: &Plan,
    buf: &Mutex<Vec<u8>>,
    at: usize,
    chunk: &[u8],
) -> Result<(), Error> {
    let mut buf = crate::lock::lock(buf);
    let dst = at
        .checked_add(chunk.len())
        .and_then(|end| buf.get_mut(at..end))
        .ok_or_else(|| integrity(plan, "a part runs beyond the object's end".into()))?;
    dst.copy_from_slice(chunk);
    Ok(())
}

pub(super) async fn join_piece(
    tasks: &mut tokio::task::JoinSet<Result<Piece, Error>>,
) -> Result<Option<Piece>, Error> {
    match tasks.join_next().await {
        Some(joined) => joined.map_err(Error::task)?.map(Some),
        None => Ok(None),
    }
}
