//! The sending side of PROTOCOL §3.1: one message cut into chunk messages.

use base64::Engine as _;
use serde_json::Value;

use super::ChunkError;

/// Splits `value`, serialized with `serde_json`, into PROTOCOL §3.1 chunk
/// messages of `piece_size` raw bytes each (the last may be shorter), every
/// piece base64-encoded, all under `job_id`, `index` 0-based and `max_index`
/// the number of chunks.
///
/// # Errors
/// [`ChunkError::ZeroPieceSize`] when `piece_size` is 0.
///
/// ```
/// use communication_utils::ws::chunks::chunk_messages;
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
/// use communication_utils::ws::chunks::chunk_texts;
///
/// let frames = chunk_texts("j1", br#"{"a":1}"#, 4).unwrap();
/// assert_eq!(frames[1], r#"{"jobId":"j1","index":1,"max_index":2,"chunk":"OjF9"}"#);
/// ```
pub fn chunk_texts(
    job_id: &str,
    serialized: &[u8],
    piece_size: usize,
) -> Result<Vec<String>, ChunkError> {
    if piece_size == 0 {
        return Err(ChunkError::ZeroPieceSize);
    }
    let total = serialized.len().div_ceil(piece_size).max(1);
    // serde_json escapes the id exactly as it would inside a Value.
    let id = serde_json::to_string(job_id).map_err(ChunkError::Serialize)?;
    let pieces: Vec<&[u8]> = if serialized.is_empty() {
        vec![&[]]
    } else {
        serialized.chunks(piece_size).collect()
    };
    Ok(pieces
        .into_iter()
        .enumerate()
        .map(|(index, piece)| {
            let mut frame = String::with_capacity(piece.len() / 3 * 4 + id.len() + 64);
            frame.push_str("{\"jobId\":");
            frame.push_str(&id);
            frame.push_str(",\"index\":");
            frame.push_str(&index.to_string());
            frame.push_str(",\"max_index\":");
            frame.push_str(&total.to_string());
            frame.push_str(",\"chunk\":\"");
            base64::engine::general_purpose::STANDARD.encode_string(piece, &mut frame);
            frame.push_str("\"}");
            frame
        })
        .collect())
}
