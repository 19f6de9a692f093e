//! Writes one range (or part) of a download into the temporary file.

use std::io::{IoSlice, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use tokio::task::JoinHandle;

use super::error::Error;

/// Bytes gathered from the network before one write: large writes keep the
/// blocking-pool round trips few.
const WRITE_BUFFER: usize = 512 * 1024;

/// The bytes of one range, from `offset` on, written in runs of
/// [`WRITE_BUFFER`] by the blocking pool: one write in flight while the next
/// run gathers, as `tokio::fs::File` does, but the network's buffers are
/// written as they are (one vectored write of the frames, no copy into a
/// buffer of our own).
pub(crate) struct RangeWriter<'a> {
    path: &'a Path,
    file: Arc<std::fs::File>,
    /// File offset of the next run written.
    offset: u64,
    /// Frames gathered for the next write, and their length.
    run: Vec<Bytes>,
    run_len: usize,
    in_flight: Option<JoinHandle<std::io::Result<()>>>,
}

impl<'a> RangeWriter<'a> {
    /// Opens `path` (which must exist: a download that was dropped must not
    /// bring its removed temporary file back) to write from `offset` on.
    pub(crate) async fn open(path: &'a Path, offset: u64) -> Result<Self, Error> {
        let file = tokio::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .await
            .map_err(|e| Error::io(path, e))?
            .into_std()
            .await;
        Ok(Self {
            path,
            file: Arc::new(file),
            offset,
            run: Vec::new(),
            run_len: 0,
            in_flight: None,
        })
    }

    /// Appends `chunk` (a reference to it, not a copy); writes once a run
    /// of [`WRITE_BUFFER`] is gathered.
    pub(crate) async fn write(&mut self, chunk: Bytes) -> Result<(), Error> {
        // An empty frame (an HTTP/2 stream may end with one) adds nothing,
        // and a run of empty slices would be written as zero bytes.
        if chunk.is_empty() {
            return Ok(());
        }
        self.run_len += chunk.len();
        self.run.push(chunk);
        if self.run_len >= WRITE_BUFFER {
            self.submit().await?;
        }
        Ok(())
    }

    /// Writes what is gathered and waits until every write returned.
    pub(crate) async fn finish(mut self) -> Result<(), Error> {
        self.submit().await?;
        self.settle().await
    }

    /// Waits for the write in flight, then starts writing the gathered run.
    async fn submit(&mut self) -> Result<(), Error> {
        self.settle().await?;
        if self.run.is_empty() {
            return Ok(());
        }
        let run = std::mem::take(&mut self.run);
        let len = std::mem::take(&mut self.run_len) as u64;
        let (file, offset) = (Arc::clone(&self.file), self.offset);
        self.offset += len;
        self.in_flight = Some(tokio::task::spawn_blocking(move || {
            write_run_at(&file, offset, &run)
        }));
        Ok(())
    }

    /// Waits for the write in flight, if any.
    async fn settle(&mut self) -> Result<(), Error> {
        let Some(write) = self.in_flight.take() else {
            return Ok(());
        };
        write
            .await
            .map_err(Error::task)?
            .map_err(|e| Error::io(self.path, e))
    }
}

/// Writes `run` at `offset` of `file`: vectored writes until all of it is
/// written (a write may take part of it).
fn write_run_at(file: &std::fs::File, offset: u64, run: &[Bytes]) -> std::io::Result<()> {
    let mut f = file;
    f.seek(SeekFrom::Start(offset))?;
    let mut slices: Vec<IoSlice<'_>> = run
        .iter()
        .filter(|b| !b.is_empty())
        .map(|b| IoSlice::new(b))
        .collect();
    let mut rest = &mut slices[..];
    while !rest.is_empty() {
        match f.write_vectored(rest) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut rest, n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::{RangeWriter, WRITE_BUFFER};

    /// Empty frames (an HTTP/2 stream may end with an empty DATA frame),
    /// one inside a run and one alone after the last full run: the file
    /// holds the bytes at the offset, and nothing fails.
    #[tokio::test]
    async fn empty_frames_write_nothing_and_fail_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("range");
        std::fs::write(&path, vec![0u8; 10 + 2 * WRITE_BUFFER + 3]).unwrap();
        let mut out = RangeWriter::open(&path, 10).await.unwrap();
        let full: Vec<u8> = (0..WRITE_BUFFER).map(|i| (i % 251) as u8).collect();
        let half = WRITE_BUFFER / 2;
        out.write(Bytes::from(full[..half].to_vec())).await.unwrap();
        out.write(Bytes::new()).await.unwrap();
        out.write(Bytes::from(full[half..].to_vec())).await.unwrap();
        out.write(Bytes::from(full.clone())).await.unwrap();
        out.write(Bytes::from_static(b"end")).await.unwrap();
        out.finish().await.unwrap();
        // A range whose last frame is empty, after a full run was written.
        let mut tail = RangeWriter::open(&path, 10).await.unwrap();
        tail.write(Bytes::from(full.clone())).await.unwrap();
        tail.write(Bytes::new()).await.unwrap();
        tail.finish().await.unwrap();
        let on_disk = std::fs::read(&path).unwrap();
        assert!(on_disk[..10].iter().all(|&b| b == 0));
        assert!(on_disk[10..10 + WRITE_BUFFER] == full[..]);
        assert!(on_disk[10 + WRITE_BUFFER..10 + 2 * WRITE_BUFFER] == full[..]);
        assert_eq!(&on_disk[10 + 2 * WRITE_BUFFER..], b"end");
    }
}
