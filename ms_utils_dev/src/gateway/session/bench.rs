//! The bench commands' answers (`bench-flood`, `bench-chunked`): frames
//! built as cheaply as possible, so that the gateway is not what a client
//! benchmark measures.

use super::*;

/// Flood frames written between flushes (tungstenite also writes out on its
/// own whenever its buffer passes `write_buffer_size`).
const FLOOD_FLUSH_EVERY: u64 = 1024;
/// Upper bound on `bench-chunked` payloads, so a typo cannot eat the host.
pub(super) const MAX_BENCH_BYTES: u64 = 1 << 30;
/// Printable, never escaped in JSON, and not periodic on a power of two, so
/// a reordered or lost piece shows in the reassembled blob.
const BLOB_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-_.";

/// `{"event":"bench-payload","data":{"blob":"<bytes ASCII bytes>"}}`, serialized.
pub(super) fn bench_payload(bytes: usize) -> Vec<u8> {
    const HEAD: &[u8] = br#"{"event":"bench-payload","data":{"blob":""#;
    const TAIL: &[u8] = br#""}}"#;
    let mut out = Vec::with_capacity(HEAD.len() + bytes + TAIL.len());
    out.extend_from_slice(HEAD);
    // Whole copies of the alphabet, then of ever larger runs of them: a
    // 64 MiB blob takes a few dozen copies instead of a million small ones.
    let start = out.len();
    let whole = bytes - bytes % BLOB_ALPHABET.len();
    if whole > 0 {
        out.extend_from_slice(BLOB_ALPHABET);
        while out.len() - start < whole {
            let have = out.len() - start;
            let n = have.min(whole - have);
            out.extend_from_within(start..start + n);
        }
    }
    out.extend_from_slice(&BLOB_ALPHABET[..bytes - whole]);
    out.extend_from_slice(TAIL);
    out
}

/// The `bench-flood` answer: `count` frames of about `size` bytes, then
/// `bench-end`. Only the `seq` digits differ between frames, so each frame
/// is the same prefix, number and suffix pasted together.
pub(super) async fn flood<S>(
    sink: &mut Sink<S>,
    count: u64,
    size: usize,
    stalled: &mut watch::Receiver<bool>,
    close: &CancellationToken,
) -> Result<(), WsError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    const PREFIX: &str = r#"{"event":"bench","data":{"seq":"#;
    const MIDDLE: &str = r#","pad":""#;
    const SUFFIX: &str = r#""}}"#;
    let digits = count.max(1).ilog10() as usize + 1;
    let fixed = PREFIX.len() + MIDDLE.len() + SUFFIX.len() + digits;
    let suffix = format!("{MIDDLE}{}{SUFFIX}", "x".repeat(size.saturating_sub(fixed)));
    let mut number = itoa_buf();
    for seq in 0..count {
        let seq_text = number.format(seq);
        let mut frame = String::with_capacity(PREFIX.len() + seq_text.len() + suffix.len());
        frame.push_str(PREFIX);
        frame.push_str(seq_text);
        frame.push_str(&suffix);
        sink.feed(Message::text(frame)).await?;
        if seq % FLOOD_FLUSH_EVERY == FLOOD_FLUSH_EVERY - 1 {
            sink.flush().await?;
            if !wait_unstalled(stalled, close).await {
                return Ok(());
            }
        }
    }
    let end = json!({"event": "bench-end", "data": {"count": count}}).to_string();
    sink.feed(Message::text(end)).await
}

/// A tiny reusable integer formatter (no extra dependency for `itoa`).
fn itoa_buf() -> Itoa {
    Itoa { buf: [0; 20] }
}

struct Itoa {
    buf: [u8; 20],
}

impl Itoa {
    fn format(&mut self, mut n: u64) -> &str {
        let mut i = self.buf.len();
        loop {
            i -= 1;
            self.buf[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        std::str::from_utf8(&self.buf[i..]).unwrap_or("0")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn itoa_formats_like_display() {
        let mut f = itoa_buf();
        for n in [0u64, 7, 10, 99, 12345, u64::MAX] {
            assert_eq!(f.format(n), n.to_string());
        }
    }

    #[test]
    fn bench_payload_is_the_documented_json() {
        for len in [0, 1, 64, 65, 66, 100, 1000, 65 * 7, 1 << 20] {
            let payload = bench_payload(len);
            let v: Value = serde_json::from_slice(&payload).unwrap();
            assert_eq!(v["event"], "bench-payload");
            let blob = v["data"]["blob"].as_str().unwrap().as_bytes();
            assert_eq!(blob.len(), len);
            for (i, b) in blob.iter().enumerate() {
                assert_eq!(
                    *b,
                    BLOB_ALPHABET[i % BLOB_ALPHABET.len()],
                    "len {len} at {i}"
                );
            }
        }
    }
}
