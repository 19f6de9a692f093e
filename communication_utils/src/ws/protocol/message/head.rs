//! [`Head`]: what the client reads of every text frame before a handler sees
//! it — the envelope fields that route, key, correlate and label a message
//! (`event`, the job id, the sender, the chunk fields) — read by a derived
//! struct that borrows its strings from the frame text and skips every
//! other value unparsed (`IgnoredAny`): no tree is built.
//!
//! A frame the struct does not fit (a field of another type, an escaped
//! string, a duplicate key, not an object) is parsed into its `Value`
//! instead, and its fields are read from there, so that a message's head and
//! its value never disagree. `IgnoredAny` checks the syntax of what it skips,
//! not what a `Value` refuses besides (a number out of range, nesting past
//! 128 levels, a lone surrogate): such a frame is read, its value `null`.

use std::fmt;

use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

/// What reading a frame gives.
pub(crate) enum Read {
    /// The envelope fields, read from the text without a tree.
    Head(Head),
    /// The value, when the frame needed it to be read.
    Value(Value),
}

/// The envelope fields of one text frame, as places in its text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Head {
    /// Top-level `event`.
    pub(crate) event: Option<Span>,
    /// `data.jobId` when `data` is an object with that key, else the
    /// top-level `jobId`.
    pub(crate) job_id: Option<Span>,
    /// `data.from`.
    pub(crate) sender: Option<Span>,
    /// When the top-level `chunk` is a string (a chunk of a larger message),
    /// the chunk's own fields.
    pub(crate) chunk: Option<Box<ChunkFields>>,
}

/// Where a string lies in the frame text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    start: usize,
    end: usize,
}

impl Span {
    /// The place of `part`, a slice of `text`.
    fn of(text: &str, part: &str) -> Span {
        let start = (part.as_ptr() as usize).wrapping_sub(text.as_ptr() as usize);
        Span {
            start,
            end: start.wrapping_add(part.len()),
        }
    }

    /// The string, given the frame text it was read from.
    pub(crate) fn get(self, text: &str) -> Option<&str> {
        text.get(self.start..self.end)
    }
}

/// The fields of a chunk ([protocol: chunking](crate::protocol#chunking)),
/// so that its base64 piece is decoded straight from the frame text and
/// never copied into a `Value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChunkFields {
    /// The top-level `jobId`.
    pub(crate) job_id: Option<Span>,
    pub(crate) index: Option<Value>,
    pub(crate) max_index: Option<Value>,
    /// The piece.
    pub(crate) piece: Span,
}

/// The top level of a frame, as far as the head reads it.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(default)]
    event: Option<&'a str>,
    #[serde(rename = "jobId", default)]
    job_id: Option<&'a str>,
    #[serde(borrow, default)]
    data: Option<DataHead<'a>>,
    #[serde(default)]
    chunk: Option<&'a str>,
    #[serde(default)]
    index: Option<Value>,
    #[serde(default)]
    max_index: Option<Value>,
}

impl Head {
    /// Reads `text`: its head, or its value when the head cannot be read
    /// without it; `Err` when it is not JSON.
    pub(crate) fn read(text: &str) -> Result<Read, serde_json::Error> {
        // A derived struct also reads an array, as its fields in order.
        let object = text
            .trim_start_matches([' ', '\t', '\n', '\r'])
            .starts_with('{');
        if let Some(envelope) = object
            .then(|| serde_json::from_str::<Envelope<'_>>(text).ok())
            .flatten()
        {
            return Ok(Read::Head(envelope.head(text)));
        }
        serde_json::from_str(text).map(Read::Value)
    }
}

impl Envelope<'_> {
    fn head(self, text: &str) -> Head {
        let span = |s: Option<&str>| s.map(|s| Span::of(text, s));
        let (data_job_id, sender) = match self.data {
            Some(data) => (data.job_id, data.from),
            None => (None, None),
        };
        Head {
            event: span(self.event),
            job_id: match data_job_id {
                Some(inner) => span(inner),
                None => span(self.job_id),
            },
            sender: span(sender),
            chunk: self.chunk.map(|piece| {
                Box::new(ChunkFields {
                    job_id: span(self.job_id),
                    index: self.index,
                    max_index: self.max_index,
                    piece: Span::of(text, piece),
                })
            }),
        }
    }
}

/// What `data` contributes: its `jobId` (`Some` when the key is there: a
/// `null` hides the top-level one, as in a `Value`) and its `from`. Only an
/// object is read (a derived struct would take an array too).
#[derive(Default)]
struct DataHead<'a> {
    job_id: Option<Option<&'a str>>,
    from: Option<&'a str>,
}

impl<'de: 'a, 'a> Deserialize<'de> for DataHead<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(DataVisitor)
    }
}

struct DataVisitor;

impl<'de> Visitor<'de> for DataVisitor {
    type Value = DataHead<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<DataHead<'de>, A::Error> {
        let mut data = DataHead::default();
        while let Some(key) = map.next_key::<&'de str>()? {
            match key {
                "jobId" => data.job_id = Some(map.next_value()?),
                "from" => data.from = map.next_value()?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(data)
    }
}

#[cfg(test)]
mod tests;
