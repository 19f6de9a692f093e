//! Writes one range (or part) of a download into the temporary file.

use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::Arc;

use tokio::task::JoinHandle;

use super::error::Error;
use super::in_order::Frontier;

/// Bytes gathered from the network before one write: large writes keep the
/// blocking-pool round trips few.
const WRITE_BUFFER: usize = 512 * 1024;

type Landed = (Vec<u8>, std::io::Result<()>);

/// The bytes of one range, from `offset` on, written in buffers of
/// [`WRITE_BUFFER`] by the blocking pool: one write in flight while the next
/// buffer fills, as `tokio::fs::File` does, but the buffer is moved to the
/// write, not copied, and the writer knows when a write has returned, so
/// that it can tell a [`Frontier`] how many of its bytes are in the file.
pub(crate) struct RangeWriter<'a> {
    path: &'a Path,
    file: Arc<std::fs::File>,
    /// File offset of the next buffer written.
    offset: u64,
    /// Bytes gathered for the next write.
    buf: Vec<u8>,
    /// The buffer of the last write that returned, for reuse.
    spare: Vec<u8>,
    in_flight: Option<JoinHandle<Landed>>,
    /// Bytes of this range in the file (writes returned).
    landed: u64,
    /// Told of every write that returned: the frontier and this range's index.
    frontier: Option<(&'a Frontier, usize)>,
}

impl<'a> RangeWriter<'a> {
    /// Opens `path` (which must exist: a download that was dropped must not
    /// bring its removed temporary file back) to write from `offset` on.
    pub(crate) async fn open(
        path: &'a Path,
        offset: u64,
        frontier: Option<(&'a Frontier, usize)>,
    ) -> Result<Self, Error> {
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
            buf: Vec::with_capacity(WRITE_BUFFER),
            spare: Vec::new(),
            in_flight: None,
            landed: 0,
            frontier,
        })
    }

    /// Appends `chunk`; writes once a buffer's worth is gathered (before
    /// the chunk when it would not fit, so that the buffer never grows).
    pub(crate) async fn write(&mut self, chunk: &[u8]) -> Result<(), Error> {
        if !self.buf.is_empty() && self.buf.len() + chunk.len() > WRITE_BUFFER {
            self.submit().await?;
        }
        self.buf.extend_from_slice(chunk);
        if self.buf.len() >= WRITE_BUFFER {
            self.submit().await?;
        }
        Ok(())
    }

    /// Writes what is gathered and waits until every write returned.
    pub(crate) async fn finish(mut self) -> Result<(), Error> {
        self.submit().await?;
        self.settle().await
    }

    /// Waits for the write in flight, then starts writing the gathered bytes.
    async fn submit(&mut self) -> Result<(), Error> {
        self.settle().await?;
        if self.buf.is_empty() {
            return Ok(());
        }
        let mut next = std::mem::take(&mut self.spare);
        next.reserve(WRITE_BUFFER);
        let buf = std::mem::replace(&mut self.buf, next);
        let (file, offset) = (Arc::clone(&self.file), self.offset);
        self.offset += buf.len() as u64;
        self.in_flight = Some(tokio::task::spawn_blocking(move || {
            let mut f: &std::fs::File = &file;
            let done = f
                .seek(SeekFrom::Start(offset))
                .and_then(|_| f.write_all(&buf));
            (buf, done)
        }));
        Ok(())
    }

    /// Waits for the write in flight, if any, and reports its bytes landed.
    async fn settle(&mut self) -> Result<(), Error> {
        let Some(write) = self.in_flight.take() else {
            return Ok(());
        };
        let (mut buf, done) = write.await.map_err(Error::task)?;
        done.map_err(|e| Error::io(self.path, e))?;
        self.landed += buf.len() as u64;
        if let Some((frontier, index)) = self.frontier {
            frontier.landed(index, self.landed);
        }
        buf.clear();
        self.spare = buf;
        Ok(())
    }
}
