//! `GetObject` bodies read in large steps. `s3s-fs` streams an object in
//! 4 KiB reads, each a round trip to tokio's blocking pool: about 250–300
//! MB/s per stream on the 2-core machine of this project's benchmarks,
//! which made the server, not the clients, the limit of every download
//! benchmark. Here one blocking thread per GET reads the range in 2 MiB
//! steps into fresh buffers (no zeroing) and hands each to the response as
//! it is (no copy), two buffers ahead of the socket.

use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::Stream;
use s3s::StdError;
use s3s::dto::StreamingBlob;
use s3s::stream::{ByteStream, RemainingLength};
use tokio::sync::mpsc;

/// Bytes read from the file at once.
const READ_STEP: usize = 2 * 1024 * 1024;

/// Buffers read ahead of the socket, per GET.
const READ_AHEAD: usize = 2;

/// `len` bytes of the file at `path` from `start`, read in [`READ_STEP`]
/// steps on a blocking thread. The thread stops when the body is dropped
/// (the client went away) or the range is read; a read error ends the body
/// with that error.
pub(super) fn file_body(path: PathBuf, start: u64, len: u64) -> StreamingBlob {
    let (tx, rx) = mpsc::channel(READ_AHEAD);
    tokio::task::spawn_blocking(move || {
        let read = || -> std::io::Result<()> {
            let mut file = std::fs::File::open(&path)?;
            file.seek(SeekFrom::Start(start))?;
            let mut left = len;
            while left > 0 {
                let step = left.min(READ_STEP as u64);
                // Read into fresh capacity (no zeroing first): the buffer
                // becomes the response's frame as it is.
                let mut buf = Vec::with_capacity(READ_STEP);
                (&mut file).take(step).read_to_end(&mut buf)?;
                if (buf.len() as u64) < step {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "the object's file is shorter than announced",
                    ));
                }
                left -= step;
                if tx.blocking_send(Ok(Bytes::from(buf))).is_err() {
                    return Ok(());
                }
            }
            Ok(())
        };
        if let Err(e) = read() {
            let _ = tx.blocking_send(Err(e));
        }
    });
    StreamingBlob::new(FileBody { rx, left: len })
}

/// The receiving end of [`file_body`]'s thread.
struct FileBody {
    rx: mpsc::Receiver<std::io::Result<Bytes>>,
    left: u64,
}

impl Stream for FileBody {
    type Item = Result<Bytes, StdError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(Ok(bytes))) => {
                self.left = self.left.saturating_sub(bytes.len() as u64);
                Poll::Ready(Some(Ok(bytes)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(Box::new(e)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl ByteStream for FileBody {
    fn remaining_length(&self) -> RemainingLength {
        RemainingLength::new_exact(usize::try_from(self.left).unwrap_or(usize::MAX))
    }
}

/// The first byte and the length of what a `GetObject` answer holds: its
/// `Content-Range` (`bytes A-B/TOTAL`), else the whole `Content-Length`.
pub(super) fn answered_range(
    content_range: Option<&str>,
    content_length: Option<i64>,
) -> Option<(u64, u64)> {
    match content_range {
        Some(range) => {
            let rest = range.trim().strip_prefix("bytes")?.trim_start();
            let (span, _) = rest.split_once('/')?;
            let (a, b) = span.split_once('-')?;
            let (a, b): (u64, u64) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
            (a <= b).then(|| (a, b - a + 1))
        }
        None => Some((0, u64::try_from(content_length?).ok()?)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_range_answered() {
        assert_eq!(
            answered_range(Some("bytes 10-19/100"), Some(10)),
            Some((10, 10))
        );
        assert_eq!(answered_range(None, Some(100)), Some((0, 100)));
        assert_eq!(answered_range(Some("bytes */100"), None), None);
        assert_eq!(answered_range(None, None), None);
    }
}
