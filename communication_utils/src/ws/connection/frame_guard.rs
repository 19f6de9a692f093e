//! A reader under the websocket codec that keeps oversized messages out of
//! memory without losing the connection.
//!
//! tungstenite refuses a frame longer than its limit after reading only the
//! frame's header, and the connection cannot be read past it any more: the
//! payload is still on the wire, so every message the gateway sent behind
//! it was lost with the connection. This reader follows the frame headers in
//! the gateway's byte stream and, for a data message over the limit,
//! discards the payload as it arrives and hands the codec the same frame
//! with an empty payload. The codec then yields an empty message in the
//! oversized one's place; [`FrameGuard::take_oversized`] tells which message
//! that was (by its number among data messages) and how large it was, so the
//! connection drops it and reports it. Memory stays bounded by the limit,
//! and the messages behind it are read as usual.
//!
//! The guard owns the connection's read buffer: it reads the socket in
//! large pieces, walks the frame headers in what it read, and copies runs of
//! bytes to the codec: the bytes of frames within the limit as they are, an
//! oversized frame's header rewritten and its payload left out. A header cut
//! by the end of what was read waits until it is whole.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Longest frame header: 2 bytes, 8 of extended length, 4 of mask key.
const MAX_HEADER: usize = 14;

const OP_CONTINUATION: u8 = 0x0;
const OP_TEXT: u8 = 0x1;
const OP_BINARY: u8 = 0x2;

/// A data message the guard kept out: the `seq`-th data message (counted
/// from 0 on this connection), of at least `size` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Oversized {
    pub(crate) seq: u64,
    pub(crate) size: u64,
}

#[derive(Debug)]
enum State {
    /// At a frame header.
    Header,
    /// Passing `remaining` payload bytes through.
    Payload { remaining: u64 },
    /// Discarding `remaining` payload bytes.
    Skip { remaining: u64 },
}

/// Bytes read from the socket at once.
const READ_SIZE: usize = 64 * 1024;

/// The byte stream from the gateway, with oversized data messages emptied.
#[derive(Debug)]
pub(crate) struct FrameGuard<S> {
    inner: S,
    limit: u64,
    /// Where the next byte not yet walked stands.
    state: State,
    /// Bytes read from the socket (zeroed once, at its full size):
    /// `input[pos..filled]` not yet handed over.
    input: Vec<u8>,
    pos: usize,
    filled: usize,
    /// Bytes walked and ready for a codec whose buffer was too small for a
    /// header (the codec's never is; `AsyncRead` allows it).
    ready: Vec<u8>,
    /// Data messages whose last frame header has been read.
    messages: u64,
    /// Bytes of the current data message so far (its frames' lengths).
    message_bytes: u64,
    /// The current data message is being emptied.
    dropping: bool,
    oversized: VecDeque<Oversized>,
}

/// What to do with a whole header.
enum Verdict {
    /// Pass it and its payload.
    Keep { payload: u64 },
    /// Replace it with `header[..len]` (the same frame announcing no
    /// payload) and discard its payload.
    Empty {
        payload: u64,
        header: [u8; 6],
        len: usize,
    },
}

impl<S> FrameGuard<S> {
    /// Guards `inner`, positioned right after the HTTP upgrade response;
    /// `early` holds the bytes read past that response (the first frames).
    pub(crate) fn new(inner: S, early: Vec<u8>, limit: usize) -> Self {
        let mut input = vec![0; READ_SIZE.max(early.len())];
        input[..early.len()].copy_from_slice(&early);
        Self {
            inner,
            limit: limit as u64,
            state: State::Header,
            input,
            pos: 0,
            filled: early.len(),
            ready: Vec::new(),
            messages: 0,
            message_bytes: 0,
            dropping: false,
            oversized: VecDeque::new(),
        }
    }

    /// The oversized messages emptied so far and not yet taken, oldest first.
    pub(crate) fn take_oversized(&mut self) -> Option<Oversized> {
        self.oversized.pop_front()
    }

    /// The next oversized message's number, without taking it.
    pub(crate) fn next_oversized(&self) -> Option<u64> {
        self.oversized.front().map(|o| o.seq)
    }

    /// Decides on a whole header and counts the message it belongs to.
    fn verdict(&mut self, header: &[u8]) -> Verdict {
        let first = header[0];
        let fin = first & 0x80 != 0;
        let opcode = first & 0x0f;
        let masked = header[1] & 0x80 != 0;
        let payload = payload_len(header);
        let data = matches!(opcode, OP_TEXT | OP_BINARY | OP_CONTINUATION);
        if !data {
            // Control frames are at most 125 bytes; pass them as they are.
            return Verdict::Keep { payload };
        }
        if opcode != OP_CONTINUATION {
            self.message_bytes = 0;
            self.dropping = false;
        }
        self.message_bytes = self.message_bytes.saturating_add(payload);
        self.dropping = self.dropping || self.message_bytes > self.limit;
        if fin {
            if self.dropping {
                self.oversized.push_back(Oversized {
                    seq: self.messages,
                    size: self.message_bytes,
                });
            }
            self.messages += 1;
        }
        if !self.dropping {
            return Verdict::Keep { payload };
        }
        // The same frame with no payload: FIN and opcode kept, length 0,
        // the mask key (if any) kept after it.
        let mut empty = [first, if masked { 0x80 } else { 0 }, 0, 0, 0, 0];
        let mut len = 2;
        if masked {
            empty[2..6].copy_from_slice(&header[header.len() - 4..]);
            len = 6;
        }
        Verdict::Empty {
            payload,
            header: empty,
            len,
        }
    }

    /// Walks `data[from..]`, just copied in: frames within the limit stay,
    /// oversized ones are emptied (their bytes cut out, which shortens the
    /// data). Returns the data's new length and, when it ends inside a
    /// header, where that header starts.
    fn walk(&mut self, data: &mut [u8], from: usize) -> (usize, Option<usize>) {
        let (mut pos, mut end) = (from, data.len());
        while pos < end {
            match self.state {
                State::Payload { remaining } => {
                    let take = remaining.min((end - pos) as u64);
                    pos += take as usize;
                    self.state = after(
                        remaining - take,
                        State::Payload {
                            remaining: remaining - take,
                        },
                    );
                }
                State::Skip { remaining } => {
                    let take = remaining.min((end - pos) as u64);
                    let n = take as usize;
                    data.copy_within(pos + n..end, pos);
                    end -= n;
                    self.state = after(
                        remaining - take,
                        State::Skip {
                            remaining: remaining - take,
                        },
                    );
                }
                State::Header => {
                    if end - pos < 2 || end - pos < header_len(&data[pos..pos + 2]) {
                        return (end, Some(pos));
                    }
                    let len = header_len(&data[pos..pos + 2]);
                    match self.verdict(&data[pos..pos + len]) {
                        Verdict::Keep { payload } => {
                            pos += len;
                            self.state = after(payload, State::Payload { remaining: payload });
                        }
                        Verdict::Empty {
                            payload,
                            header,
                            len: short,
                        } => {
                            data[pos..pos + short].copy_from_slice(&header[..short]);
                            data.copy_within(pos + len..end, pos + short);
                            end -= len - short;
                            pos += short;
                            self.state = after(payload, State::Skip { remaining: payload });
                        }
                    }
                }
            }
        }
        (end, None)
    }

    /// Reads into `buf` (room for a whole header at least) what the codec
    /// may have, walked.
    fn poll_read_walked(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>>
    where
        S: AsyncRead + Unpin,
    {
        let start = buf.filled().len();
        loop {
            // What was read and not handed over goes first; once only the
            // start of a header (or nothing) is left, the socket is read
            // for more, behind it.
            let from = buf.filled().len();
            let n = (self.filled - self.pos).min(buf.remaining());
            buf.put_slice(&self.input[self.pos..self.pos + n]);
            self.pos += n;
            let (end, cut) = self.walk(buf.filled_mut(), from);
            if let Some(at) = cut {
                // A header's start: not handed over until it is whole (it
                // may have to be rewritten).
                self.pos -= end - at;
                buf.set_filled(at);
                if at > start {
                    return Poll::Ready(Ok(()));
                }
                if self.filled - self.pos > end - at {
                    // Cut by the end of `buf`, not of what was read (the
                    // payload skipped before it made room): walk on. Reading
                    // the socket instead would wait for bytes the codec
                    // does not need, and at its end hand over unwalked ones.
                    continue;
                }
            } else {
                buf.set_filled(end);
                if end > start {
                    return Poll::Ready(Ok(()));
                }
                if self.pos < self.filled {
                    // All of it skipped, and more is at hand.
                    continue;
                }
            }
            // Nothing to hand over yet, and nothing left but the start of a
            // header (or nothing at all): read more.
            // (Left here: at most the start of a header, which always
            // leaves room to read into.)
            self.input.copy_within(self.pos..self.filled, 0);
            self.filled -= self.pos;
            self.pos = 0;
            let mut fresh = ReadBuf::new(&mut self.input[self.filled..]);
            let polled = Pin::new(&mut self.inner).poll_read(cx, &mut fresh);
            let got = fresh.filled().len();
            self.filled += got;
            match polled {
                Poll::Ready(Ok(())) if got == 0 => {
                    // The end of the stream: a header cut short goes to the
                    // codec as it is (it reports the truncated frame).
                    let n = (self.filled - self.pos).min(buf.remaining());
                    buf.put_slice(&self.input[self.pos..self.pos + n]);
                    self.pos += n;
                    return Poll::Ready(Ok(()));
                }
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// `next`, or a header once nothing `remaining` is left of the payload.
fn after(remaining: u64, next: State) -> State {
    if remaining == 0 { State::Header } else { next }
}

/// The header's length given its first two bytes.
fn header_len(b0_b1: &[u8]) -> usize {
    let len7 = b0_b1[1] & 0x7f;
    let ext = match len7 {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    let mask = if b0_b1[1] & 0x80 != 0 { 4 } else { 0 };
    2 + ext + mask
}

/// The payload length a whole header announces.
fn payload_len(header: &[u8]) -> u64 {
    match header[1] & 0x7f {
        126 => u64::from(u16::from_be_bytes([header[2], header[3]])),
        127 => {
            let mut b = [0u8; 8];
            b.copy_from_slice(&header[2..10]);
            u64::from_be_bytes(b)
        }
        n => u64::from(n),
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for FrameGuard<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.ready.is_empty() && buf.remaining() >= MAX_HEADER {
            return this.poll_read_walked(cx, buf);
        }
        // A buffer too small for a header (the codec's never is): walk
        // into a buffer of our own and hand over what fits.
        if this.ready.is_empty() {
            let mut own = [0u8; 4 * MAX_HEADER];
            let mut own = ReadBuf::new(&mut own);
            ready!(this.poll_read_walked(cx, &mut own))?;
            this.ready.extend_from_slice(own.filled());
        }
        let n = this.ready.len().min(buf.remaining());
        buf.put_slice(&this.ready[..n]);
        this.ready.drain(..n);
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for FrameGuard<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(Pin::new(&mut self.get_mut().inner).poll_shutdown(cx))?;
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod prop_tests;
#[cfg(test)]
mod tests;
