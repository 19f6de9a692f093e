//! The sending side of [chunking](crate::protocol#chunking): one message cut into chunk messages.

use base64::Engine as _;
use serde_json::Value;

use super::ChunkError;

/// Splits `value`, serialized with `serde_json`, into [chunk](crate::protocol#chunking)
/// messages of `piece_size` raw bytes each (the last may be shorter), every
/// piece base64-encoded, all under `job_id`, `index` 0-based and `max_index`
/// the number of chunks.
///
/// # Errors
/// [`ChunkError::ZeroPieceSize`] when `piece_size` is 0.
///
/// ```
/// use ms_utils_communication::ws::chunks::chunk_messages;
/// use serde_json::json;
///
/// let parts = chunk_messages("j1", &json!({"a": 1}), 4).unwrap();
/// assert_eq!(parts.len(), 2); // `{"a":1}` is 7 bytes
/// assert_eq!(parts[0], json!({"jobId": "j1", "index": 0, "max_index": 2, "chunk": "eyJhIg=="}));
/// ```
pub fn chunk_messages(
    job_id: &str,
    value: &Value,
    piece_size: usize,
) -> Result<Vec<Value>, ChunkError> {
    if piece_size == 0 {
        return Err(ChunkError::ZeroPieceSize);
    }
    let bytes = serde_json::to_vec(value).map_err(ChunkError::Serialize)?;
    let total = bytes.len().div_ceil(piece_size);
    Ok(bytes
        .chunks(piece_size)
        .enumerate()
        .map(|(index, piece)| {
            serde_json::json!({
                "jobId": job_id,
                "index": index,
                "max_index": total,
                "chunk": base64::engine::general_purpose::STANDARD.encode(piece),
            })
        })
        .collect())
}

/// Like [`chunk_messages`], but takes the already serialized message and
/// returns each chunk message as JSON text ready to send as a frame, which
/// spares building and re-serializing a `Value` per piece.
///
/// # Errors
/// [`ChunkError::ZeroPieceSize`] when `piece_size` is 0.
///
/// ```
/// use ms_utils_communication::ws::chunks::chunk_texts;
///
/// let frames = chunk_texts("j1", br#"{"a":1}"#, 4).unwrap();
/// assert_eq!(frames[1], r#"{"jobId":"j1","index":1,"max_index":2,"chunk":"OjF9"}"#);
/// ```
pub fn chunk_texts(
    job_id: &str,
    serialized: &[u8],
    piece_size: usize,
) -> Result<Vec<String>, ChunkError> {
    Ok(chunk_frames(job_id, serialized, piece_size)?.collect())
}

/// Like [`chunk_texts`], but lazy: each frame's text (and its base64) is
/// built only when the iterator reaches it, so a sender holds one frame at a
/// time beside the serialized message.
///
/// # Errors
/// [`ChunkError::ZeroPieceSize`] when `piece_size` is 0.
///
/// ```
/// use ms_utils_communication::ws::chunks::chunk_frames;
///
/// let mut frames = chunk_frames("j1", br#"{"a":1}"#, 4).unwrap();
/// assert_eq!(frames.len(), 2);
/// assert_eq!(frames.next().unwrap(), r#"{"jobId":"j1","index":0,"max_index":2,"chunk":"eyJhIg=="}"#);
/// ```
pub fn chunk_frames<'a>(
    job_id: &str,
    serialized: &'a [u8],
    piece_size: usize,
) -> Result<ChunkFrames<'a>, ChunkError> {
    if piece_size == 0 {
        return Err(ChunkError::ZeroPieceSize);
    }
    // serde_json escapes the id exactly as it would inside a Value.
    let id = serde_json::to_string(job_id).map_err(ChunkError::Serialize)?;
    Ok(ChunkFrames {
        id,
        serialized,
        piece_size,
        total: serialized.len().div_ceil(piece_size).max(1),
        index: 0,
    })
}

/// The chunk messages of one serialized message, as frame texts; made by
/// [`chunk_frames`].
#[derive(Debug, Clone)]
pub struct ChunkFrames<'a> {
    /// The job id, already JSON-escaped and quoted.
    id: String,
    serialized: &'a [u8],
    piece_size: usize,
    total: usize,
    index: usize,
}

impl ChunkFrames<'_> {
    /// The `max_index` every frame carries: how many frames there are.
    pub fn total(&self) -> usize {
        self.total
    }
}

impl Iterator for ChunkFrames<'_> {
    type Item = String;

    fn next(&mut self) -> Option<String> {
        if self.index >= self.total {
            return None;
        }
        let start = (self.index * self.piece_size).min(self.serialized.len());
        let end = (start + self.piece_size).min(self.serialized.len());
        let piece = &self.serialized[start..end];
        let mut frame = String::with_capacity(piece.len().div_ceil(3) * 4 + self.id.len() + 64);
        frame.push_str("{\"jobId\":");
        frame.push_str(&self.id);
        frame.push_str(",\"index\":");
        frame.push_str(&self.index.to_string());
        frame.push_str(",\"max_index\":");
        frame.push_str(&self.total.to_string());
        frame.push_str(",\"chunk\":\"");
        base64::engine::general_purpose::STANDARD.encode_string(piece, &mut frame);
        frame.push_str("\"}");
        self.index += 1;
        Some(frame)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.total - self.index;
        (left, Some(left))
    }
}

impl ExactSizeIterator for ChunkFrames<'_> {}
