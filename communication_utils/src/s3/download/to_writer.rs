//! Downloads into the caller's `AsyncWrite` (boto3's `download_fileobj`):
//! the bytes go out in order, checked as a file download checks them, the
//! verdict coming after the last byte.

use bytes::Bytes;
use futures_util::{StreamExt, stream};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::check::{check_md5, integrity, verify_pieces};
use super::fetch::Sink;
use super::hash::UnitHash;
use super::plan::{Piece, Plan};
use super::{DownloadOptions, DownloadOutput};
use crate::s3::client::S3BucketClient;
use crate::s3::error::Error;
use crate::s3::progress::{Direction, Tracker};
use crate::s3::verify::{Check, Md5Hasher};

impl S3BucketClient {
    /// Downloads an object into `writer` (boto3's `download_fileobj`), in
    /// order, and flushes it. The content is verified as
    /// [`download_file`](Self::download_file) verifies it (see its
    /// "Verification": a stored full-object checksum, the MD5 of a
    /// single-PUT ETag, the part MD5s of a multipart ETag, or skipped with
    /// the reason logged), with one difference that a stream cannot avoid:
    ///
    /// **The writer sees the bytes before the verdict.** The check can only
    /// end once the last byte arrived, and by then the bytes have been
    /// written. When it fails, the call returns [`Error::Integrity`] after
    /// the writer received the whole (wrong) content: treat everything
    /// written as unverified until the call returns `Ok`, e.g. write into a
    /// temporary place and commit on `Ok`, or stop the response you stream
    /// into. A transfer that breaks off likewise leaves the writer with a
    /// prefix of the object.
    ///
    /// Small objects (under `download_threshold`) are one GET streamed
    /// straight into the writer. Larger ones are fetched as parallel ranges
    /// (or, for a multipart object, parallel parts), held in memory until
    /// their turn: at most about `download_concurrency` ×
    /// `download_part_size` bytes (128 MiB with the default
    /// [`TransferConfig`](crate::s3::TransferConfig); lower `download_concurrency`
    /// for less), and the writer is written from one task. A range is pinned
    /// to the object's ETag, so a replaced object fails the download rather
    /// than mixing two versions.
    ///
    /// # Errors
    /// As for [`download_bytes`](Self::download_bytes), and
    /// [`Error::Writer`] when `writer` fails (the download stops there).
    ///
    /// # Cancellation safety
    /// Dropping the future stops the download; the writer keeps what was
    /// written so far.
    ///
    /// ```no_run
    /// # async fn f(c: ms_utils_communication::s3::S3BucketClient) -> Result<(), ms_utils_communication::s3::Error> {
    /// use ms_utils_communication::s3::DownloadOptions;
    /// // Any AsyncWrite: a file, a socket, a response body, `tokio::io::stdout()`.
    /// let mut out = tokio::fs::File::create("report.csv").await.map_err(|error| {
    ///     ms_utils_communication::s3::Error::Writer { error }
    /// })?;
    /// c.download_to_writer("bucket", "report.csv", &mut out, DownloadOptions::new()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn download_to_writer<W>(
        &self,
        bucket: &str,
        key: &str,
        writer: &mut W,
        options: DownloadOptions,
    ) -> Result<DownloadOutput, Error>
    where
        W: AsyncWrite + Unpin + Send + ?Sized,
    {
        // Boxed: the transfer's state is large, and would otherwise
        // sit inside every future that awaits this one.
        Box::pin(async move {
            // `&mut W` is sized even when `W` is not (`dyn AsyncWrite`): the
            // steps below take it as a trait object.
            let mut writer = writer;
            let writer: &mut (dyn AsyncWrite + Unpin + Send) = &mut writer;
            let plan = self.plan(bucket, key, &options).await?;
            let tracker = Tracker::new(
                options.progress.as_ref(),
                Direction::Download,
                key,
                Some(plan.size),
            );
            if plan.size > 0 {
                if plan.parts.is_some() {
                    self.parts_to_writer(&plan, writer, &tracker).await?;
                } else if plan.ranges.len() > 1 {
                    self.ranges_to_writer(&plan, writer, &tracker).await?;
                } else {
                    let mut hash = UnitHash::new(&plan, true);
                    let (body, expected) = self.get_range(&plan, plan.ranges[0], true).await?;
                    let mut sink = Sink::Writer(&mut *writer);
                    let got = self
                        .drain(&plan, body, expected, &mut hash, &tracker, &mut sink)
                        .await?;
                    let mut pieces = [Piece::new(0, got, 0, hash.finish())];
                    verify_pieces(&plan, true, &mut pieces)?;
                }
            }
            writer
                .flush()
                .await
                .map_err(|error| Error::Writer { error })?;
            Ok(DownloadOutput {
                size: plan.size,
                e_tag: plan.e_tag.clone(),
                ranges: plan.units(),
                verification: plan.check.verification(),
            })
        })
        .await
    }

    /// The ranges of a single-PUT (or unverifiable) object, fetched in
    /// parallel and written in order: each range's CRC computed on its own
    /// when the object has a stored CRC, else hashed in order as they are
    /// written when the ETag is an MD5.
    async fn ranges_to_writer(
        &self,
        plan: &Plan,
        writer: &mut (dyn AsyncWrite + Unpin + Send),
        tracker: &Tracker,
    ) -> Result<(), Error> {
        let mut md5 = matches!(plan.check, Check::Md5(_)).then(Md5Hasher::default);
        let crc = matches!(plan.check, Check::Crc { .. });
        let mut ranges = stream::iter(0..plan.ranges.len())
            .map(|index| {
                let hash = match crc {
                    true => UnitHash::new(plan, false),
                    false => UnitHash::Off,
                };
                self.unit_to_frames(plan, index, hash, tracker)
            })
            .buffered(self.window(plan.ranges[0]));
        let mut pieces = Vec::with_capacity(plan.ranges.len());
        while let Some(unit) = ranges.next().await {
            let (piece, frames) = unit?;
            for frame in frames {
                if let Some(md5) = md5.as_mut() {
                    md5.update(&frame);
                }
                put(writer, &frame).await?;
            }
            pieces.push(piece);
        }
        if let Some(md5) = md5 {
            check_md5(plan, "GetObject (ranges)", md5.finish())?;
        }
        if crc {
            verify_pieces(plan, false, &mut pieces)?;
        }
        Ok(())
    }

    /// The parts of a multipart object, fetched in parallel by part number,
    /// each hashed as it arrives, and written in order; a part that does not
    /// start where the one before ended stops the download before it is
    /// written.
    async fn parts_to_writer(
        &self,
        plan: &Plan,
        writer: &mut (dyn AsyncWrite + Unpin + Send),
        tracker: &Tracker,
    ) -> Result<(), Error> {
        let first = plan.parts.map_or(1, |(_, first)| first);
        let mut parts = stream::iter(0..plan.units())
            .map(|index| self.unit_to_frames(plan, index, UnitHash::new(plan, false), tracker))
            .buffered(self.window((0, first.saturating_sub(1))));
        let mut pieces = Vec::with_capacity(plan.units());
        let mut at = 0u64;
        while let Some(unit) = parts.next().await {
            let (piece, frames) = unit?;
            if piece.start != at {
                return Err(integrity(
                    plan,
                    format!(
                        "GetObject by part: part {} starts at byte {}, the parts before end at {at}",
                        piece.index + 1,
                        piece.start
                    ),
                ));
            }
            at += piece.len;
            for frame in frames {
                put(writer, &frame).await?;
            }
            pieces.push(piece);
        }
        verify_pieces(plan, false, &mut pieces)
    }

    /// Unit `index` (a range or a part) into memory, as the frames came.
    async fn unit_to_frames(
        &self,
        plan: &Plan,
        index: usize,
        mut hash: UnitHash,
        tracker: &Tracker,
    ) -> Result<(Piece, Vec<Bytes>), Error> {
        let (body, start, expected) = self.get_unit(plan, index, false).await?;
        let mut frames = Vec::new();
        let mut sink = Sink::Frames(&mut frames);
        let got = self
            .drain(plan, body, expected, &mut hash, tracker, &mut sink)
            .await?;
        let piece = Piece::new(start, got, index, hash.finish());
        Ok((piece, frames))
    }

    /// Units fetched ahead of the writer: `download_concurrency`, fewer when
    /// units are larger than `download_part_size` (the parts of an object
    /// uploaded with large parts), so that about `download_concurrency` ×
    /// `download_part_size` bytes are held at most; at least one.
    fn window(&self, (start, end): (u64, u64)) -> usize {
        let t = &self.transfer;
        let unit = (end - start + 1).max(1);
        let budget = t
            .download_part_size
            .max(1)
            .saturating_mul(t.download_concurrency as u64);
        usize::try_from(budget / unit)
            .unwrap_or(usize::MAX)
            .clamp(1, t.download_concurrency.max(1))
    }
}

/// Writes one frame to the caller's writer, a failure made [`Error::Writer`].
async fn put(writer: &mut (dyn AsyncWrite + Unpin + Send), frame: &[u8]) -> Result<(), Error> {
    writer
        .write_all(frame)
        .await
        .map_err(|error| Error::Writer { error })
}
