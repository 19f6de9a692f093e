//! [`Message`]: what handlers receive, read lazily. A text frame is checked
//! as JSON and its envelope fields (`event`, job id, sender) are read in one
//! pass that builds nothing; the `serde_json::Value` tree is built only when
//! a handler asks for it, and typed payloads are deserialized straight from
//! the frame text.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use bytes::Bytes;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::ws::chunks::{ChunkAssembler, ChunkDrop, Piece};
use crate::ws::error::Error;

mod data_of;
mod head;

use data_of::DataOf;
use head::{Head, Read};

/// Objects up to this many keys are searched by a scan: gateway messages have
/// a handful of keys, and a scan comparing lengths first is several times
/// cheaper than a tree search comparing every key byte-wise.
const SCAN_MAX: usize = 16;

/// `value[name]` when `value` is an object that has that key.
#[inline]
pub(crate) fn field<'a>(value: &'a Value, name: &str) -> Option<&'a Value> {
    let map = value.as_object()?;
    if map.len() <= SCAN_MAX {
        map.iter().find(|(k, _)| k.as_str() == name).map(|(_, v)| v)
    } else {
        map.get(name)
    }
}

/// One message from the gateway: JSON (from a text frame, chunked messages
/// already reassembled) or the payload of a binary frame, which carries no
/// defined meaning in the protocol.
///
/// Reading is lazy: a text frame arrives checked as JSON (a frame that is not
/// JSON never becomes a `Message`; one whose JSON a [`Value`] cannot hold — a
/// number out of range, nesting past 128 levels, a lone surrogate, in a value
/// the envelope does not read — does, and its value reads as `null`) with
/// its `event`, job id and sender read
/// ([`event`](Self::event), [`job_id`](Self::job_id), [`sender`](Self::sender)
/// cost nothing more), while the [`Value`] tree is built on the first call to
/// [`as_json`](Self::as_json), [`data`](Self::data) or
/// [`into_json`](Self::into_json). [`parse`](Self::parse) and
/// [`parse_data`](Self::parse_data) deserialize from the frame text directly,
/// without building a `Value` at all: the cheapest way to read a payload.
///
/// ```
/// use ms_utils_communication::ws::Message;
///
/// let m: Message = r#"{"event": "ms-task", "data": {"jobId": "j1", "x": 1}}"#.parse().unwrap();
/// assert_eq!(m.event(), Some("ms-task"));
/// assert_eq!(m.job_id(), Some("j1"));
/// assert_eq!(m.data().unwrap()["x"], 1);
///
/// #[derive(serde::Deserialize)]
/// struct Payload { x: u32 }
/// assert_eq!(m.parse_data::<Payload>().unwrap().x, 1);
///
/// // Built from a value, as a test would:
/// let built = Message::json(serde_json::json!({"event": "ms-task", "data": {"jobId": "j1", "x": 1}}));
/// assert_eq!(built, m);
/// ```
#[derive(Clone)]
pub struct Message(Repr);

#[derive(Clone)]
enum Repr {
    /// A text frame as received, its envelope read (`None`: read from the
    /// value), its tree built on demand.
    Text {
        text: Utf8Bytes,
        head: Option<Head>,
        value: OnceLock<Value>,
    },
    /// A value (built by the caller, or a reassembled chunked message).
    Json(Value),
    /// The payload of a binary frame.
    Binary(Bytes),
}

impl Message {
    /// A JSON message holding `value` (what a handler receives for that
    /// value; for tests, and for handing a message on).
    ///
    /// ```
    /// # use ms_utils_communication::ws::Message;
    /// let m = Message::json(serde_json::json!({"event": "ping"}));
    /// assert_eq!(m.event(), Some("ping"));
    /// ```
    pub fn json(value: Value) -> Self {
        Self(Repr::Json(value))
    }

    /// A binary message (the payload of a binary frame).
    ///
    /// ```
    /// # use ms_utils_communication::ws::Message;
    /// let m = Message::binary(vec![0u8, 1]);
    /// assert_eq!(m.as_binary().map(|b| b.len()), Some(2));
    /// ```
    pub fn binary(payload: impl Into<Bytes>) -> Self {
        Self(Repr::Binary(payload.into()))
    }

    /// A text frame, checked as JSON with its envelope read; `Err` (with the
    /// frame back, for the log) when it is not JSON.
    pub(crate) fn from_frame(text: Utf8Bytes) -> Result<Self, (Utf8Bytes, serde_json::Error)> {
        match Head::read(text.as_str()) {
            Ok(Read::Head(head)) => Ok(Self(Repr::Text {
                text,
                head: Some(head),
                value: OnceLock::new(),
            })),
            Ok(Read::Value(value)) => Ok(Self(Repr::Text {
                text,
                head: None,
                value: OnceLock::from(value),
            })),
            Err(error) => Err((text, error)),
        }
    }

    /// Whether this is a chunk of a larger message (a top-level `chunk`
    /// that is not `null`, [protocol: chunking](crate::protocol#chunking)).
    pub(crate) fn is_chunk(&self) -> bool {
        match &self.0 {
            Repr::Text {
                head: Some(head), ..
            } => head.chunk.is_some(),
            _ => self
                .as_json()
                .and_then(|v| field(v, "chunk"))
                .is_some_and(|c| !c.is_null()),
        }
    }

    /// Feeds this chunk to `assembler` straight from the frame text when
    /// its piece is a string there; `None` when it must be read from the
    /// parsed value instead ([`ChunkAssembler::push`]).
    pub(crate) fn push_chunk(
        &self,
        assembler: &mut ChunkAssembler,
        now: Instant,
    ) -> Option<Result<Option<Value>, ChunkDrop>> {
        let Repr::Text {
            text,
            head: Some(head),
            ..
        } = &self.0
        else {
            return None;
        };
        let c = head.chunk.as_deref()?;
        let piece = c.piece.get(text.as_str())?;
        let job_id = c
            .job_id
            .and_then(|id| id.get(text.as_str()))
            .map(|id| Value::String(id.to_owned()));
        Some(assembler.push_parts(
            job_id.as_ref(),
            c.index.as_ref(),
            c.max_index.as_ref(),
            Piece::Text(piece),
            now,
        ))
    }

    /// A copy that shares the frame's text, for reading the message again
    /// later without keeping a parsed tree alive (`None` unless it came as
    /// a text frame; a built value would be copied deeply).
    pub(crate) fn text_copy(&self) -> Option<Message> {
        match &self.0 {
            Repr::Text { text, head, .. } => Some(Message(Repr::Text {
                text: text.clone(),
                head: head.clone(),
                value: OnceLock::new(),
            })),
            _ => None,
        }
    }

    /// Whether this is a JSON message (not a binary one).
    ///
    /// ```
    /// # use ms_utils_communication::ws::Message;
    /// assert!(Message::json(serde_json::json!(1)).is_json());
    /// ```
    pub fn is_json(&self) -> bool {
        !matches!(self.0, Repr::Binary(_))
    }

    /// The JSON text as the gateway sent it, when this message came as one
    /// text frame (not for a reassembled chunked message or one built from a
    /// value): for logging or forwarding it without serializing it again.
    ///
    /// ```
    /// # use ms_utils_communication::ws::Message;
    /// let m: Message = r#"{"event":"e"}"#.parse().unwrap();
    /// assert_eq!(m.text(), Some(r#"{"event":"e"}"#));
    /// ```
    pub fn text(&self) -> Option<&str> {
        match &self.0 {
            Repr::Text { text, .. } => Some(text.as_str()),
            _ => None,
        }
    }

    /// The JSON value, if this is a JSON message (built on the first call).
    ///
    /// ```
    /// # use ms_utils_communication::ws::Message;
    /// assert!(Message::binary(bytes::Bytes::new()).as_json().is_none());
    /// ```
    pub fn as_json(&self) -> Option<&Value> {
        match &self.0 {
            Repr::Text { text, value, .. } => Some(value.get_or_init(|| tree(text.as_str()))),
            Repr::Json(v) => Some(v),
            Repr::Binary(_) => None,
        }
    }

    /// The JSON value, if this is a JSON message.
    ///
    /// ```
    /// # use ms_utils_communication::ws::Message;
    /// let v = Message::json(serde_json::json!(1)).into_json();
    /// assert_eq!(v, Some(serde_json::json!(1)));
    /// ```
    pub fn into_json(self) -> Option<Value> {
        match self.0 {
            Repr::Text { text, value, .. } => {
                Some(value.into_inner().unwrap_or_else(|| tree(text.as_str())))
            }
            Repr::Json(v) => Some(v),
            Repr::Binary(_) => None,
        }
    }

    /// The payload, if this is a binary message.
    ///
    /// ```
    /// # use ms_utils_communication::ws::Message;
    /// assert_eq!(Message::binary(vec![7u8]).as_binary().map(|b| b[0]), Some(7));
    /// ```
    pub fn as_binary(&self) -> Option<&Bytes> {
        match &self.0 {
            Repr::Binary(b) => Some(b),
            _ => None,
        }
    }

    /// The payload, if this is a binary message.
    ///
    /// ```
    /// # use ms_utils_communication::ws::Message;
    /// assert!(Message::json(serde_json::json!(1)).into_binary().is_none());
    /// ```
    pub fn into_binary(self) -> Option<Bytes> {
        match self.0 {
            Repr::Binary(b) => Some(b),
            _ => None,
        }
    }

    /// The `event` field of a JSON object message.
    ///
    /// ```
    /// # use ms_utils_communication::ws::Message;
    /// let m = Message::json(serde_json::json!({"event": "ping"}));
    /// assert_eq!(m.event(), Some("ping"));
    /// ```
    pub fn event(&self) -> Option<&str> {
        match &self.0 {
            Repr::Text {
                text,
                head: Some(head),
                ..
            } => head.event?.get(text.as_str()),
            _ => field(self.as_json()?, "event")?.as_str(),
        }
    }

    /// The `data` field of a JSON object message (builds the message's
    /// value; [`parse_data`](Self::parse_data) reads it without).
    ///
    /// ```
    /// # use ms_utils_communication::ws::Message;
    /// let m = Message::json(serde_json::json!({"data": [1]}));
    /// assert_eq!(m.data(), Some(&serde_json::json!([1])));
    /// ```
    pub fn data(&self) -> Option<&Value> {
        field(self.as_json()?, "data")
    }

    /// The job id: `data.jobId`, else a top-level `jobId` (strings only).
    ///
    /// ```
    /// # use ms_utils_communication::ws::Message;
    /// let m = Message::json(serde_json::json!({"jobId": "top"}));
    /// assert_eq!(m.job_id(), Some("top"));
    /// ```
    pub fn job_id(&self) -> Option<&str> {
        match &self.0 {
            Repr::Text {
                text,
                head: Some(head),
                ..
            } => head.job_id?.get(text.as_str()),
            _ => value_job_id(self.as_json()?),
        }
    }

    /// The service that sent it: `data.from`, as the gateway writes it into
    /// every `ms-task` (strings only).
    ///
    /// ```
    /// # use ms_utils_communication::ws::Message;
    /// let m = Message::json(serde_json::json!({"event": "ms-task", "data": {"from": "svc"}}));
    /// assert_eq!(m.sender(), Some("svc"));
    /// ```
    pub fn sender(&self) -> Option<&str> {
        match &self.0 {
            Repr::Text {
                text,
                head: Some(head),
                ..
            } => head.sender?.get(text.as_str()),
            _ => field(field(self.as_json()?, "data")?, "from")?.as_str(),
        }
    }

    /// Deserialize the whole JSON message into `T` (from the frame text
    /// when the message came as one: no [`Value`] is built).
    ///
    /// # Errors
    /// [`Error::Json`] when it does not fit `T`; [`Error::Json`] too for a binary
    /// message that is not JSON.
    ///
    /// ```
    /// # use ms_utils_communication::ws::Message;
    /// #[derive(serde::Deserialize)]
    /// struct Task { event: String }
    /// let t: Task = Message::json(serde_json::json!({"event": "e"})).parse().unwrap();
    /// assert_eq!(t.event, "e");
    /// ```
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, Error> {
        match &self.0 {
            // A text the value reads differently (duplicate keys: the value
            // keeps the last, a derived struct refuses them) gets the
            // value's answer: the text is only the fast way to it.
            Repr::Text { text, .. } => match serde_json::from_str(text.as_str()) {
                Ok(t) => Ok(t),
                Err(_) => Ok(T::deserialize(self.as_json().unwrap_or(&Value::Null))?),
            },
            Repr::Json(v) => Ok(T::deserialize(v)?),
            Repr::Binary(b) => Ok(serde_json::from_slice(b)?),
        }
    }

    /// Deserialize the message's `data` into `T`; a message without `data`
    /// reads as `data: null`. From the frame text when the message came as
    /// one (no [`Value`] is built): what [`Router`](crate::ws::Router) and
    /// [`Task`](crate::ws::Task) use.
    ///
    /// # Errors
    /// [`Error::Json`] when the message is not a JSON object, or its `data`
    /// does not fit `T` (the error names the field).
    ///
    /// ```
    /// # use ms_utils_communication::ws::Message;
    /// let m: Message = r#"{"event": "resize", "data": [640, 480]}"#.parse().unwrap();
    /// assert_eq!(m.parse_data::<(u32, u32)>().unwrap(), (640, 480));
    /// assert_eq!(m.parse_data::<Vec<u8>>().is_err(), true);
    /// ```
    pub fn parse_data<T: DeserializeOwned>(&self) -> Result<T, Error> {
        let data: DataOf<T> = match &self.0 {
            // As in `parse`: where the text and the value differ (duplicate
            // keys), the value's answer.
            Repr::Text { text, .. } => match serde_json::from_str(text.as_str()) {
                Ok(data) => data,
                Err(_) => DataOf::deserialize(self.as_json().unwrap_or(&Value::Null))?,
            },
            Repr::Json(v) => DataOf::deserialize(v)?,
            Repr::Binary(b) => serde_json::from_slice(b)?,
        };
        Ok(data.0)
    }
}

/// The job id of a message held as a value (see [`Message::job_id`]).
fn value_job_id(value: &Value) -> Option<&str> {
    let map = value.as_object()?;
    // One pass over the top level finds both places.
    let (data, top) = if map.len() <= SCAN_MAX {
        let (mut data, mut top) = (None, None);
        for (k, v) in map {
            match k.as_str() {
                "data" => data = Some(v),
                "jobId" => top = Some(v),
                _ => {}
            }
        }
        (data, top)
    } else {
        (map.get("data"), map.get("jobId"))
    };
    data.and_then(|d| field(d, "jobId"))
        .or(top)
        .and_then(Value::as_str)
}

/// The value tree of a text already read by [`Head::read`]: `null` for
/// one of the few texts the head takes and a `Value` refuses (a number out
/// of range, nesting past 128 levels or a lone surrogate, in a value the
/// head skips).
fn tree(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|error| {
        tracing::warn!(%error, len = text.len(), "a frame's value does not parse; it reads as null");
        Value::Null
    })
}

/// Reads `text` as a JSON message, as the client reads a text frame.
///
/// ```
/// # use ms_utils_communication::ws::{Error, Message};
/// let m: Message = r#"{"event": "ping"}"#.parse().unwrap();
/// assert_eq!(m.event(), Some("ping"));
/// assert!(matches!("{oops".parse::<Message>(), Err(Error::Json { .. })));
/// ```
impl FromStr for Message {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        Message::from_frame(Utf8Bytes::from(text.to_owned())).map_err(|(_, error)| error.into())
    }
}

impl From<Value> for Message {
    fn from(value: Value) -> Self {
        Self::json(value)
    }
}

impl PartialEq for Message {
    /// Equal when both are JSON with equal values, or both binary with equal
    /// payloads (however each was read).
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Repr::Binary(a), Repr::Binary(b)) => a == b,
            (Repr::Binary(_), _) | (_, Repr::Binary(_)) => false,
            _ => self.as_json() == other.as_json(),
        }
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Repr::Text { text, .. } => f.debug_tuple("Json").field(&text.as_str()).finish(),
            Repr::Json(v) => f.debug_tuple("Json").field(v).finish(),
            Repr::Binary(b) => f.debug_tuple("Binary").field(b).finish(),
        }
    }
}

#[cfg(test)]
mod tests;
