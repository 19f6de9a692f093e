//! Property test: the guard under the codec reads what tungstenite's own
//! reader reads from the same bytes with no limit, except that each data
//! message over the limit is replaced by a stand-in of the same kind (its
//! payload a prefix of the original, within the limit: the frames before
//! the one that crossed it) and reported by `take_oversized` with its
//! number among data messages and its size.
//!
//! Random server streams (unmasked frames: text, binary, continuation,
//! ping, pong, a close at the end or not; payload lengths across the 7-,
//! 16- and 64-bit length encodings, some over the limit), handed to the
//! guard in pieces cut at random points (random early bytes, random read
//! sizes, random `Pending`s). The seed is random per run and printed on
//! failure; `MS_UTILS_PROP_SEED=<seed>` replays one.

use std::io::{self, Cursor, Read, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::StreamExt;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocket, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Bytes, Error as WsError, Message};

use super::*;

const CASES: usize = 2000;

/// One frame as a server sends it (unmasked).
fn frame(out: &mut Vec<u8>, fin: bool, opcode: u8, payload: &[u8]) {
    out.push(if fin { 0x80 } else { 0 } | opcode);
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
}

/// A payload length from one of the three length encodings.
fn length(rng: &mut StdRng) -> usize {
    match rng.random_range(0..10) {
        0..=4 => rng.random_range(0..=125),
        5..=8 => rng.random_range(126..=3000),
        _ => rng.random_range(65_536..=70_000),
    }
}

/// ASCII (valid UTF-8 whatever the cut between fragments).
fn payload(rng: &mut StdRng, len: usize) -> Vec<u8> {
    let first = rng.random_range(b'a'..=b't');
    (0..len).map(|i| first + (i % 7) as u8).collect()
}

fn control(rng: &mut StdRng, out: &mut Vec<u8>) {
    let opcode = if rng.random_bool(0.5) { 0x9 } else { 0xA };
    let len = rng.random_range(0..=125);
    frame(out, true, opcode, &payload(rng, len));
}

/// A random server byte stream.
fn stream(rng: &mut StdRng) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..rng.random_range(1..=8) {
        if rng.random_bool(0.2) {
            control(rng, &mut out);
        }
        let opcode = if rng.random_bool(0.5) {
            OP_TEXT
        } else {
            OP_BINARY
        };
        let pieces = if rng.random_bool(0.7) {
            1
        } else {
            rng.random_range(2..=4)
        };
        for i in 0..pieces {
            if i > 0 && rng.random_bool(0.3) {
                // Control frames may come between a message's fragments.
                control(rng, &mut out);
            }
            let op = if i == 0 { opcode } else { OP_CONTINUATION };
            let len = length(rng);
            frame(&mut out, i + 1 == pieces, op, &payload(rng, len));
        }
    }
    if rng.random_bool(0.3) {
        let mut close = 1000u16.to_be_bytes().to_vec();
        close.extend_from_slice(b"bye");
        frame(&mut out, true, 0x8, &close);
    }
    out
}

/// Bytes for tungstenite's blocking reader; writes (pongs) go nowhere.
struct Wire(Cursor<Vec<u8>>);

impl Read for Wire {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl Write for Wire {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// What tungstenite's own reader reads, with no limit.
fn reference(bytes: &[u8]) -> Vec<Message> {
    let config = WebSocketConfig::default()
        .max_message_size(None)
        .max_frame_size(None);
    let mut ws = WebSocket::from_raw_socket(
        Wire(Cursor::new(bytes.to_vec())),
        Role::Client,
        Some(config),
    );
    let mut out = Vec::new();
    loop {
        match ws.read() {
            Ok(m) => out.push(m),
            Err(e) => {
                // The end of the bytes (with or without a close): nothing
                // else may stop the reading.
                assert!(
                    matches!(
                        e,
                        WsError::ConnectionClosed
                            | WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake)
                    ),
                    "{e:?}"
                );
                break;
            }
        }
    }
    out
}

/// Hands out its bytes in random pieces, with random `Pending`s.
struct Pieces {
    data: Vec<u8>,
    pos: usize,
    rng: StdRng,
}

impl AsyncRead for Pieces {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.rng.random_bool(0.3) {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let most = if self.rng.random_bool(0.3) {
            self.rng.random_range(1..=16)
        } else {
            self.rng.random_range(1..=80_000)
        };
        let n = most.min(buf.remaining()).min(self.data.len() - self.pos);
        let pos = self.pos;
        buf.put_slice(&self.data[pos..pos + n]);
        self.pos += n;
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Pieces {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// What the codec reads over the guard, the first `early` bytes given as
/// read past the upgrade response, and what the guard reported.
async fn guarded(
    mut bytes: Vec<u8>,
    early: usize,
    limit: usize,
    rng: StdRng,
) -> (Vec<Message>, Vec<Oversized>) {
    let rest = bytes.split_off(early.min(bytes.len()));
    let pieces = Pieces {
        data: rest,
        pos: 0,
        rng,
    };
    let config = WebSocketConfig::default()
        .max_message_size(Some(limit))
        .max_frame_size(Some(limit))
        .read_buffer_size(8 * 1024);
    let guard = FrameGuard::new(pieces, bytes, limit);
    let mut ws = WebSocketStream::from_raw_socket(guard, Role::Client, Some(config)).await;
    let mut out = Vec::new();
    while let Some(r) = ws.next().await {
        match r {
            Ok(m) => out.push(m),
            Err(_) => break,
        }
    }
    let mut oversized = Vec::new();
    while let Some(o) = ws.get_mut().take_oversized() {
        oversized.push(o);
    }
    (out, oversized)
}

fn data(m: &Message) -> Option<(bool, Bytes)> {
    match m {
        Message::Text(t) => Some((true, Bytes::copy_from_slice(t.as_bytes()))),
        Message::Binary(b) => Some((false, b.clone())),
        _ => None,
    }
}

/// Checks one case; `Err` says what differs.
fn compare(
    want: &[Message],
    got: &[Message],
    oversized: &[Oversized],
    limit: usize,
) -> Result<(), String> {
    if want.len() != got.len() {
        return Err(format!(
            "{} messages read, {} expected",
            got.len(),
            want.len()
        ));
    }
    let mut expected_oversized = Vec::new();
    let mut seq = 0u64;
    for (i, (w, g)) in want.iter().zip(got).enumerate() {
        match (data(w), data(g)) {
            (Some((w_text, w_bytes)), Some((g_text, g_bytes))) => {
                if w_text != g_text {
                    return Err(format!("message {i}: kind differs"));
                }
                if w_bytes.len() > limit {
                    expected_oversized.push(Oversized {
                        seq,
                        size: w_bytes.len() as u64,
                    });
                    if g_bytes.len() > limit || !w_bytes.starts_with(&g_bytes) {
                        return Err(format!(
                            "message {i}: stand-in of {} bytes is not a prefix within the limit",
                            g_bytes.len()
                        ));
                    }
                } else if w_bytes != g_bytes {
                    return Err(format!("message {i}: payload differs"));
                }
                seq += 1;
            }
            (None, None) if w == g => {}
            _ => return Err(format!("message {i}: {g:?} read, {w:?} expected")),
        }
    }
    if oversized != expected_oversized {
        return Err(format!(
            "reported {oversized:?}, expected {expected_oversized:?}"
        ));
    }
    Ok(())
}

#[test]
fn the_guard_under_the_codec_reads_what_tungstenite_reads_with_oversized_messages_replaced() {
    let (mut rng, seed) = crate::prop_seed::rng();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let mut oversized_seen = 0;
    for case in 0..CASES {
        let bytes = stream(&mut rng);
        // Not under 125: control frames (up to 125 bytes) pass the guard
        // as they are, and the codec's frame limit would refuse them.
        let limit = match rng.random_range(0..3) {
            0 => rng.random_range(125..=200),
            1 => rng.random_range(126..=3000),
            _ => rng.random_range(3001..=70_000),
        };
        let early = rng.random_range(0..=bytes.len().min(200));
        let reads = StdRng::seed_from_u64(rng.random());
        let want = reference(&bytes);
        let (got, oversized) = rt.block_on(guarded(bytes, early, limit, reads));
        oversized_seen += oversized.len();
        if let Err(e) = compare(&want, &got, &oversized, limit) {
            panic!("seed {seed} case {case} (limit {limit}, early {early}): {e}");
        }
    }
    // The cases exercise the dropping (not only the passing through).
    assert!(oversized_seen > CASES / 4, "seed {seed}: {oversized_seen}");
}
