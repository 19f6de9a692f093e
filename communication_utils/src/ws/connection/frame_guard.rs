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
//! Payload bytes of frames within the limit are read straight into the
//! codec's buffer; only headers (2 to 14 bytes) pass through this reader's
//! own small buffer.

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
    /// Collecting a frame header (`have` bytes of `need` so far).
    Header { have: usize, need: usize },
    /// Passing `remaining` payload bytes through.
    Payload { remaining: u64 },
    /// Discarding `remaining` payload bytes.
    Skip { remaining: u64 },
}

/// The byte stream from the gateway, with oversized data messages emptied.
#[derive(Debug)]
pub(crate) struct FrameGuard<S> {
    inner: S,
    limit: u64,
    state: State,
    header: [u8; MAX_HEADER],
    /// Header bytes ready for the codec, from `out_start`.
    out: [u8; MAX_HEADER],
    out_start: usize,
    out_end: usize,
    /// Data messages whose last frame header has been read.
    messages: u64,
    /// Bytes of the current data message so far (its frames' lengths).
    message_bytes: u64,
    /// The current data message is being emptied.
    dropping: bool,
    oversized: VecDeque<Oversized>,
}

impl<S> FrameGuard<S> {
    /// Guards `inner`, which must be positioned at a frame boundary (right
    /// after the HTTP upgrade response).
    pub(crate) fn new(inner: S, limit: usize) -> Self {
        Self {
            inner,
            limit: limit as u64,
            state: State::Header { have: 0, need: 2 },
            header: [0; MAX_HEADER],
            out: [0; MAX_HEADER],
            out_start: 0,
            out_end: 0,
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

    /// A whole header is in `self.header[..len]`: decide, queue the header
    /// for the codec (rewritten to an empty payload when dropping), and
    /// move on to its payload.
    fn header_done(&mut self, len: usize) {
        let first = self.header[0];
        let fin = first & 0x80 != 0;
        let opcode = first & 0x0f;
        let masked = self.header[1] & 0x80 != 0;
        let payload = payload_len(&self.header[..len]);
        let data = matches!(opcode, OP_TEXT | OP_BINARY | OP_CONTINUATION);
        if !data {
            // Control frames are at most 125 bytes; pass them as they are.
            self.queue_header(len, payload);
            return;
        }
        if opcode != OP_CONTINUATION {
            self.message_bytes = 0;
            self.dropping = false;
        }
        self.message_bytes = self.message_bytes.saturating_add(payload);
        let drop_it = self.dropping || self.message_bytes > self.limit;
        self.dropping = drop_it;
        if fin {
            if self.dropping {
                self.oversized.push_back(Oversized {
                    seq: self.messages,
                    size: self.message_bytes,
                });
            }
            self.messages += 1;
        }
        if drop_it {
            // The same frame with no payload: FIN and opcode kept, length 0,
            // the mask key (if any) kept after it.
            self.out[0] = first;
            self.out[1] = if masked { 0x80 } else { 0 };
            let mut end = 2;
            if masked {
                self.out[2..6].copy_from_slice(&self.header[len - 4..len]);
                end = 6;
            }
            self.out_start = 0;
            self.out_end = end;
            self.state = State::Skip { remaining: payload };
        } else {
            self.queue_header(len, payload);
        }
    }

    fn queue_header(&mut self, len: usize, payload: u64) {
        self.out[..len].copy_from_slice(&self.header[..len]);
        self.out_start = 0;
        self.out_end = len;
        self.state = State::Payload { remaining: payload };
    }
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
        let start = buf.filled().len();
        // Fills `buf` as far as the bytes already at hand allow; returns
        // what it has once the inner reader would wait.
        loop {
            if this.out_start < this.out_end {
                let n = (this.out_end - this.out_start).min(buf.remaining());
                buf.put_slice(&this.out[this.out_start..this.out_start + n]);
                this.out_start += n;
            }
            if buf.remaining() == 0 || this.out_start < this.out_end {
                return Poll::Ready(Ok(()));
            }
            let progress = match this.state {
                State::Payload { remaining: 0 } => {
                    this.state = State::Header { have: 0, need: 2 };
                    continue;
                }
                State::Payload { remaining } => {
                    let room = usize::try_from(remaining)
                        .unwrap_or(usize::MAX)
                        .min(buf.remaining());
                    // The codec hands over initialized buffers, so this
                    // costs nothing on the usual path.
                    let mut part = ReadBuf::new(buf.initialize_unfilled_to(room));
                    let polled = Pin::new(&mut this.inner).poll_read(cx, &mut part);
                    let n = part.filled().len();
                    match polled {
                        Poll::Ready(Ok(())) if n == 0 => None,
                        Poll::Ready(Ok(())) => {
                            buf.advance(n);
                            this.state = State::Payload {
                                remaining: remaining - n as u64,
                            };
                            Some(true)
                        }
                        Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                        Poll::Pending => Some(false),
                    }
                }
                State::Skip { remaining: 0 } => {
                    this.state = State::Header { have: 0, need: 2 };
                    continue;
                }
                State::Skip { remaining } => {
                    let mut scratch = [0u8; 8192];
                    let room = usize::try_from(remaining)
                        .unwrap_or(usize::MAX)
                        .min(scratch.len());
                    let mut sink = ReadBuf::new(&mut scratch[..room]);
                    match Pin::new(&mut this.inner).poll_read(cx, &mut sink) {
                        Poll::Ready(Ok(())) if sink.filled().is_empty() => None,
                        Poll::Ready(Ok(())) => {
                            this.state = State::Skip {
                                remaining: remaining - sink.filled().len() as u64,
                            };
                            Some(true)
                        }
                        Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                        Poll::Pending => Some(false),
                    }
                }
                State::Header { have, need } => {
                    let mut part = ReadBuf::new(&mut this.header[have..need]);
                    match Pin::new(&mut this.inner).poll_read(cx, &mut part) {
                        Poll::Ready(Ok(())) if part.filled().is_empty() => None,
                        Poll::Ready(Ok(())) => {
                            let have = have + part.filled().len();
                            if have < need {
                                this.state = State::Header { have, need };
                            } else if need == 2 && header_len(&this.header[..2]) > 2 {
                                let need = header_len(&this.header[..2]);
                                this.state = State::Header { have, need };
                            } else {
                                this.header_done(have);
                            }
                            Some(true)
                        }
                        Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                        Poll::Pending => Some(false),
                    }
                }
            };
            match progress {
                Some(true) => {}
                // End of stream: the codec sees it (after what was filled).
                None => return Poll::Ready(Ok(())),
                Some(false) if buf.filled().len() > start => return Poll::Ready(Ok(())),
                Some(false) => return Poll::Pending,
            }
        }
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
mod tests;
