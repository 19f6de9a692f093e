//! The small codecs the rest uses: base64 (standard and URL-safe),
//! [chunk messages](ms_utils_communication::protocol#chunking), and JWT claims. All pure.
//!
//! [`chunk_messages`] cuts a JSON value into chunk messages that the
//! receiving side's [`ChunkAssembler`] puts back together, in any arrival
//! order; [`jwt_claims`] reads a token's claims without checking its
//! signature (for `exp` and ids, never for trust).
//!
//! ```
//! use ms_utils_encoding::codec::{
//!     ChunkAssembler, ChunkLimits, b64url_encode, chunk_messages, jwt_claims, jwt_expiry,
//! };
//! use serde_json::json;
//!
//! let value = json!({"event": "ms-task", "data": {"text": "a long payload, ünïcode too"}});
//! let mut chunks = chunk_messages("job-1", &value, 16)?;
//! assert!(chunks.len() > 1 && chunks.iter().all(ChunkAssembler::is_chunk));
//! chunks.reverse(); // arrival order does not matter
//! let mut assembler = ChunkAssembler::new(ChunkLimits::default());
//! let now = tokio::time::Instant::now();
//! let last = chunks.pop().unwrap();
//! for c in chunks {
//!     assert_eq!(assembler.push(c, now).unwrap(), None);
//! }
//! assert_eq!(assembler.push(last, now).unwrap(), Some(value));
//!
//! let payload = b64url_encode(br#"{"sub":"svc-7","exp":1900000000}"#);
//! let token = format!("e30.{payload}.not-checked");
//! assert_eq!(jwt_claims(&token)?["sub"], "svc-7");
//! assert!(jwt_expiry(&token).is_some());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

use crate::error::Error;

pub use ms_utils_communication::ws::chunks::{
    ChunkAssembler, ChunkDrop, ChunkError, ChunkLimits, chunk_messages,
};
pub use ms_utils_communication::ws::{jwt_claims, jwt_expiry};

/// Standard base64 with padding (what chunk pieces and most peers use).
///
/// ```
/// use ms_utils_encoding::codec::b64_encode;
/// assert_eq!(b64_encode(b"hi!?"), "aGkhPw==");
/// ```
pub fn b64_encode(data: impl AsRef<[u8]>) -> String {
    STANDARD.encode(data)
}

/// Decode standard base64 (padding required, as the encoder writes it).
///
/// # Errors
/// [`Error::Base64`] when `text` is not standard base64.
///
/// ```
/// use ms_utils_encoding::codec::b64_decode;
/// assert_eq!(b64_decode("aGkhPw==").unwrap(), b"hi!?");
/// assert!(b64_decode("not base64!").is_err());
/// ```
pub fn b64_decode(text: &str) -> Result<Vec<u8>, Error> {
    STANDARD
        .decode(text.trim())
        .map_err(|e| Error::Base64(Box::new(e)))
}

/// URL-safe base64 without padding (the JWT alphabet).
///
/// ```
/// use ms_utils_encoding::codec::b64url_encode;
/// assert_eq!(b64url_encode(b"hi!?"), "aGkhPw");
/// ```
pub fn b64url_encode(data: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

/// Decode URL-safe base64, with or without padding (issuers differ).
///
/// # Errors
/// [`Error::Base64`] when `text` is not URL-safe base64.
///
/// ```
/// use ms_utils_encoding::codec::b64url_decode;
/// assert_eq!(b64url_decode("aGkhPw").unwrap(), b"hi!?");
/// assert_eq!(b64url_decode("aGkhPw==").unwrap(), b"hi!?");
/// assert!(b64url_decode("a+b/").is_err());
/// ```
pub fn b64url_decode(text: &str) -> Result<Vec<u8>, Error> {
    URL_SAFE_NO_PAD
        .decode(text.trim().trim_end_matches('='))
        .map_err(|e| Error::Base64(Box::new(e)))
}

/// Serialize `value` to JSON and base64 it (standard alphabet), e.g. to carry
/// a JSON document inside a string field.
///
/// # Errors
/// [`Error::Serialize`] when `value` does not serialize.
///
/// ```
/// use ms_utils_encoding::codec::{b64_json_decode, b64_json_encode};
/// let text = b64_json_encode(&serde_json::json!({"a": [1, 2]})).unwrap();
/// let back: serde_json::Value = b64_json_decode(&text).unwrap();
/// assert_eq!(back["a"][1], 2);
/// ```
pub fn b64_json_encode<T: serde::Serialize + ?Sized>(value: &T) -> Result<String, Error> {
    let bytes = serde_json::to_vec(value)
        .map_err(|e| Error::Serialize(Box::new(ms_utils_communication::ws::Error::from(e))))?;
    Ok(b64_encode(bytes))
}

/// Decode what [`b64_json_encode`] made.
///
/// # Errors
/// [`Error::Base64`] when `text` is not base64; [`Error::Json`] when the
/// bytes are not JSON of type `T`.
///
/// ```
/// use ms_utils_encoding::codec::b64_json_decode;
/// assert!(b64_json_decode::<u32>("bm90IGpzb24=").unwrap_err().is_malformed());
/// ```
pub fn b64_json_decode<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, Error> {
    let bytes = b64_decode(text)?;
    serde_json::from_slice(&bytes).map_err(Error::Json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_value_round_trips_in_both_alphabets() {
        let all: Vec<u8> = (0..=255u8).collect();
        for n in 0..all.len() {
            assert_eq!(b64_decode(&b64_encode(&all[..n])).unwrap(), &all[..n]);
            assert_eq!(b64url_decode(&b64url_encode(&all[..n])).unwrap(), &all[..n]);
        }
    }
}
