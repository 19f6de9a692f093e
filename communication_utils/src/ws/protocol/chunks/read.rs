//! Reading one chunk: its header fields and its piece, decoded; and the
//! whole message once all pieces are in.

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::Value;

use super::error::ChunkDrop;
use super::whole;

/// Decodes the standard alphabet with or without padding: Node's
/// `Buffer.toString("base64")` pads, other senders may not, and the bytes are
/// the same either way.
const LENIENT_STANDARD: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The fields of a chunk message, read before anything is stored.
pub(super) struct Header {
    pub(super) job_id: String,
    pub(super) index: u64,
    pub(super) max_index: u64,
}

/// Reads a chunk's header fields (`jobId`, `index`, `max_index`).
pub(super) fn read_header(
    job_id: Option<&Value>,
    index: Option<&Value>,
    max_index: Option<&Value>,
) -> Result<Header, ChunkDrop> {
    let job_id = match job_id {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => {
            return Err(ChunkDrop::BadFields {
                job_id: None,
                field: "jobId",
            });
        }
    };
    let Some(index) = index.and_then(read_count) else {
        return Err(ChunkDrop::BadFields {
            job_id: Some(job_id),
            field: "index",
        });
    };
    let Some(max_index) = max_index.and_then(read_count) else {
        return Err(ChunkDrop::BadFields {
            job_id: Some(job_id),
            field: "max_index",
        });
    };
    Ok(Header {
        job_id,
        index,
        max_index,
    })
}

/// A non-negative integer given as a JSON number (`3` or `3.0`) or as a
/// numeric string (`"3"`), as the original's `int(...)` accepts.
pub(super) fn read_count(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < u64::MAX as f64)
                .map(|f| f as u64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// How decoding a piece failed, before the job id is attached.
pub(super) enum PieceFault {
    Bad(Option<base64::DecodeError>),
    TooBig,
}

impl PieceFault {
    pub(super) fn into_drop(self, job_id: String, index: u64, limit: usize) -> ChunkDrop {
        match self {
            Self::Bad(source) => ChunkDrop::BadPiece {
                job_id,
                index,
                source: source.map(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>),
            },
            Self::TooBig => ChunkDrop::TooManyBytes { job_id, limit },
        }
    }
}

/// A chunk's piece: as it stands in the frame text (a string without
/// escapes), or a parsed value (a string, or a Node `Buffer` object).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Piece<'a> {
    Text(&'a str),
    Value(&'a Value),
}

/// Appends the decoded piece to `out`, refusing to grow it by more than
/// `room` bytes. On error `out` is left as it was.
pub(super) fn decode_piece(
    piece: Piece<'_>,
    out: &mut Vec<u8>,
    room: usize,
) -> Result<(), PieceFault> {
    let start = out.len();
    let piece = match piece {
        Piece::Text(text) => return decode_base64(text, out, room),
        Piece::Value(v) => v,
    };
    match piece {
        Value::String(text) => return decode_base64(text, out, room),
        Value::Object(buffer) => {
            let Some(Value::Array(bytes)) = buffer.get("data") else {
                return Err(PieceFault::Bad(None));
            };
            if bytes.len() > room {
                return Err(PieceFault::TooBig);
            }
            out.reserve(bytes.len());
            for b in bytes {
                match b.as_u64().and_then(|b| u8::try_from(b).ok()) {
                    Some(b) => out.push(b),
                    None => {
                        out.truncate(start);
                        return Err(PieceFault::Bad(None));
                    }
                }
            }
        }
        _ => return Err(PieceFault::Bad(None)),
    }
    if out.len() - start > room {
        out.truncate(start);
        return Err(PieceFault::TooBig);
    }
    Ok(())
}

/// Decodes a base64 piece onto `out`, at most `room` bytes.
pub(super) fn decode_base64(text: &str, out: &mut Vec<u8>, room: usize) -> Result<(), PieceFault> {
    // Check the size before decoding so an oversized piece costs nothing.
    if text.len() / 4 * 3 > room.saturating_add(3) {
        return Err(PieceFault::TooBig);
    }
    let start = out.len();
    if let Err(e) = LENIENT_STANDARD.decode_vec(text.as_bytes(), out) {
        out.truncate(start);
        return Err(PieceFault::Bad(Some(e)));
    }
    if out.len() - start > room {
        out.truncate(start);
        return Err(PieceFault::TooBig);
    }
    Ok(())
}

/// The reassembled message: `bytes` as UTF-8 JSON (see [`whole::parse`]).
pub(super) fn finish(job_id: String, bytes: Vec<u8>) -> Result<Value, ChunkDrop> {
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            return Err(ChunkDrop::NotUtf8 {
                job_id,
                source: e.utf8_error(),
            });
        }
    };
    whole::parse(text).map_err(|source| ChunkDrop::NotJson { job_id, source })
}
