use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::FutureExt;
use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf};

use super::*;

/// A server frame (unmasked) with the given FIN bit, opcode and payload.
fn frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![if fin { 0x80 } else { 0 } | opcode];
    match payload.len() {
        n if n < 126 => out.push(n as u8),
        n if n <= 0xffff => {
            out.push(126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(payload);
    out
}

/// Hands out its bytes a few at a time, with a `Pending` before every
/// piece: the guard must keep its place across any split.
struct Trickle {
    data: Vec<u8>,
    pos: usize,
    step: usize,
    ready: bool,
}

impl AsyncRead for Trickle {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.ready {
            self.ready = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        self.ready = false;
        let n = self
            .step
            .min(buf.remaining())
            .min(self.data.len() - self.pos);
        let pos = self.pos;
        buf.put_slice(&self.data[pos..pos + n]);
        self.pos += n;
        Poll::Ready(Ok(()))
    }
}

async fn through_guard(input: Vec<u8>, limit: usize, step: usize) -> (Vec<u8>, Vec<Oversized>) {
    through_guard_with(input, 0, limit, step, usize::MAX).await
}

/// The first `early` bytes of `input` come with the guard (as bytes read
/// past the upgrade response), the rest from a reader handing out `step`
/// bytes at a time; the guard is read with buffers of `room` bytes
/// (`usize::MAX`: `read_to_end`'s growing buffer).
async fn through_guard_with(
    mut input: Vec<u8>,
    early: usize,
    limit: usize,
    step: usize,
    room: usize,
) -> (Vec<u8>, Vec<Oversized>) {
    let rest = input.split_off(early.min(input.len()));
    let trickle = Trickle {
        data: rest,
        pos: 0,
        step,
        ready: false,
    };
    let mut guard = FrameGuard::new(trickle, input, limit);
    let mut out = Vec::new();
    if room == usize::MAX {
        guard.read_to_end(&mut out).await.unwrap();
    } else {
        let mut piece = vec![0u8; room];
        loop {
            let n = guard.read(&mut piece).await.unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&piece[..n]);
        }
    }
    let mut oversized = Vec::new();
    while let Some(o) = guard.take_oversized() {
        oversized.push(o);
    }
    (out, oversized)
}

#[tokio::test]
async fn frames_within_the_limit_pass_unchanged_whatever_the_split() {
    let mut input = frame(true, OP_TEXT, b"hello");
    input.extend(frame(true, 0x9, b"ping"));
    input.extend(frame(true, OP_BINARY, &[7u8; 300]));
    input.extend(frame(true, OP_TEXT, &[b'x'; 70_000]));
    for step in [1, 2, 3, 13, 4096, usize::MAX] {
        let (out, oversized) = through_guard(input.clone(), 100_000, step).await;
        assert_eq!(out, input, "step {step}");
        assert!(oversized.is_empty());
    }
}

#[tokio::test]
async fn an_oversized_frame_becomes_an_empty_one_and_what_follows_is_kept() {
    let mut input = frame(true, OP_TEXT, b"before");
    input.extend(frame(true, OP_TEXT, &[b'x'; 70_000]));
    input.extend(frame(true, OP_TEXT, b"after"));
    let mut expected = frame(true, OP_TEXT, b"before");
    expected.extend(frame(true, OP_TEXT, b""));
    expected.extend(frame(true, OP_TEXT, b"after"));
    for step in [1, 5, 4096, usize::MAX] {
        let (out, oversized) = through_guard(input.clone(), 1000, step).await;
        assert_eq!(out, expected, "step {step}");
        assert_eq!(
            oversized,
            [Oversized {
                seq: 1,
                size: 70_000
            }]
        );
    }
}

#[tokio::test]
async fn a_fragmented_message_over_the_limit_is_emptied_from_the_frame_that_crosses_it() {
    // Data message 0: three fragments of 600 bytes against 1000, with a
    // ping between them; message 1 fits.
    let mut input = frame(false, OP_BINARY, &[1; 600]);
    input.extend(frame(true, 0x9, b""));
    input.extend(frame(false, OP_CONTINUATION, &[2; 600]));
    input.extend(frame(true, OP_CONTINUATION, &[3; 600]));
    input.extend(frame(true, OP_TEXT, b"next"));
    let mut expected = frame(false, OP_BINARY, &[1; 600]);
    expected.extend(frame(true, 0x9, b""));
    expected.extend(frame(false, OP_CONTINUATION, b""));
    expected.extend(frame(true, OP_CONTINUATION, b""));
    expected.extend(frame(true, OP_TEXT, b"next"));
    let (out, oversized) = through_guard(input, 1000, 7).await;
    assert_eq!(out, expected);
    assert_eq!(oversized, [Oversized { seq: 0, size: 1800 }]);
}

#[tokio::test]
async fn a_64_bit_length_is_skipped_without_buffering() {
    // A header announcing 2^40 bytes, of which 100 arrive before the end:
    // nothing is allocated for it, and the codec gets the empty stand-in at
    // once (the record is made from the header).
    let mut input = vec![0x81, 127];
    input.extend_from_slice(&(1u64 << 40).to_be_bytes());
    input.extend_from_slice(&[0u8; 100]);
    let (out, oversized) = through_guard(input, 1000, usize::MAX).await;
    assert_eq!(out, frame(true, OP_TEXT, b""));
    assert_eq!(
        oversized,
        [Oversized {
            seq: 0,
            size: 1 << 40
        }]
    );
}

#[tokio::test]
async fn a_masked_frame_keeps_its_mask_key_when_emptied() {
    let mut input = vec![0x82, 0x80 | 126];
    input.extend_from_slice(&2000u16.to_be_bytes());
    input.extend_from_slice(&[9, 8, 7, 6]);
    input.extend_from_slice(&[0u8; 2000]);
    let (out, oversized) = through_guard(input, 1000, 3).await;
    assert_eq!(out, [0x82, 0x80, 9, 8, 7, 6]);
    assert_eq!(oversized, [Oversized { seq: 0, size: 2000 }]);
}

#[tokio::test]
async fn early_bytes_and_any_buffer_size_change_nothing() {
    let mut input = frame(true, OP_TEXT, b"before");
    input.extend(frame(true, OP_BINARY, &[5u8; 70_000]));
    input.extend(frame(true, 0x9, b"p"));
    input.extend(frame(true, OP_TEXT, &[b'y'; 300]));
    input.extend(frame(false, OP_TEXT, &[b'z'; 600]));
    input.extend(frame(true, OP_CONTINUATION, &[b'z'; 600]));
    input.extend(frame(true, OP_TEXT, b"after"));
    let mut expected = frame(true, OP_TEXT, b"before");
    expected.extend(frame(true, OP_BINARY, b""));
    expected.extend(frame(true, 0x9, b"p"));
    expected.extend(frame(true, OP_TEXT, &[b'y'; 300]));
    expected.extend(frame(false, OP_TEXT, &[b'z'; 600]));
    expected.extend(frame(true, OP_CONTINUATION, b""));
    expected.extend(frame(true, OP_TEXT, b"after"));
    // Early bytes ending inside a header, inside a payload, past everything;
    // read with buffers smaller than a header, about one, and larger.
    for early in [0, 1, 3, 9, 400, input.len()] {
        for room in [1, 5, 13, 14, 100, 8192, usize::MAX] {
            for step in [1, 7, 65_536, usize::MAX] {
                let (out, oversized) =
                    through_guard_with(input.clone(), early, 1000, step, room).await;
                let at = format!("early {early} room {room} step {step}");
                assert_eq!(out, expected, "{at}");
                assert_eq!(
                    oversized,
                    [
                        Oversized {
                            seq: 1,
                            size: 70_000
                        },
                        Oversized { seq: 3, size: 1200 }
                    ],
                    "{at}"
                );
            }
        }
    }
}

/// Hands out all its bytes at the first read, then has nothing more (an
/// open socket gone quiet): `Pending` for ever.
struct Quiet(Option<Vec<u8>>);

impl AsyncRead for Quiet {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.0.take() {
            Some(data) => {
                buf.put_slice(&data);
                Poll::Ready(Ok(()))
            }
            None => Poll::Pending,
        }
    }
}

#[test]
fn a_header_cut_by_the_end_of_the_buffer_after_a_skip_is_walked_without_more_socket_bytes() {
    // Read 100 bytes at a time: the first read hands over the stand-in of
    // the first frame (its 4-byte header rewritten to 2) and skips 96 bytes
    // of its payload; later ones skip the other 898, and the last of them
    // ends 2 bytes into the next header, with the rest of the stream
    // already read from the socket, which then stays quiet. The rest must
    // be walked and handed over without waiting for the socket.
    let mut input = frame(true, OP_TEXT, &[b'a'; 994]);
    input.extend(frame(true, OP_TEXT, &[b'b'; 2000]));
    input.extend(frame(true, OP_TEXT, b"after"));
    let mut expected = frame(true, OP_TEXT, b"");
    expected.extend(frame(true, OP_TEXT, b""));
    expected.extend(frame(true, OP_TEXT, b"after"));
    let mut guard = FrameGuard::new(Quiet(Some(input)), Vec::new(), 250);
    let mut out = Vec::new();
    let mut piece = [0u8; 100];
    while out.len() < expected.len() {
        // Whatever it needs is at hand: each read is ready at once.
        let n = guard
            .read(&mut piece)
            .now_or_never()
            .expect("the rest was at hand: no wait for the socket")
            .unwrap();
        assert!(n > 0);
        out.extend_from_slice(&piece[..n]);
    }
    assert_eq!(out, expected);
    assert_eq!(
        guard.take_oversized(),
        Some(Oversized { seq: 0, size: 994 })
    );
    assert_eq!(
        guard.take_oversized(),
        Some(Oversized { seq: 1, size: 2000 })
    );
}
