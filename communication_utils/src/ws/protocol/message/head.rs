//! [`Head`]: what the client reads of every text frame before a handler sees
//! it — the envelope fields that route, key, correlate and label a message
//! (`event`, the job id, the sender, whether it is a chunk) — in one pass
//! that validates the whole frame as JSON but builds no tree.
//!
//! The pass accepts exactly the texts `serde_json::from_str::<Value>` accepts
//! (the same tokenizer, the same number and nesting checks), and reads each
//! field the way the [`Message`](super::Message) accessors read it from a
//! `Value` (a duplicate key: the last one counts, as in a `Value` map), so
//! that a message's head and its lazily parsed value never disagree.

use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess,
    Visitor,
};

/// Answers every scalar a JSON tokenizer can hand over with `$value`.
macro_rules! scalars_as {
    ($value:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($value)
        }
    };
}

/// A string field: where it lies in the frame text when it has no escapes
/// (no copy), else its unescaped text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) enum Field {
    /// Absent, or not a string.
    #[default]
    Missing,
    /// `text[start..end]`.
    At(u32, u32),
    /// Unescaped (the frame text has escapes there).
    Owned(Box<str>),
}

impl Field {
    /// The field's text, given the frame text it was read from.
    pub(crate) fn get<'t>(&'t self, text: &'t str) -> Option<&'t str> {
        match self {
            Field::Missing => None,
            Field::At(start, end) => text.get(*start as usize..*end as usize),
            Field::Owned(s) => Some(s),
        }
    }
}

/// The envelope fields of one JSON text frame.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Head {
    /// Top-level `event`.
    pub(crate) event: Field,
    /// `data.jobId` when `data` is an object with that key (string or not:
    /// a present non-string hides the top-level one, as in
    /// [`Message::job_id`](super::Message::job_id)), else the top-level `jobId`.
    pub(crate) job_id: Field,
    /// `data.from`.
    pub(crate) sender: Field,
    /// When a top-level `chunk` is there and not `null` (a chunk of a larger
    /// message), the chunk's own fields.
    pub(crate) chunk: Option<Box<ChunkFields>>,
}

/// The fields of a chunk ([protocol: chunking](crate::protocol#chunking)),
/// read in the same pass, so that a base64 piece is decoded straight from
/// the frame text and never copied into a `Value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChunkFields {
    /// The top-level `jobId` when it is a string.
    pub(crate) job_id_text: Field,
    /// The top-level `jobId` when it is a number.
    pub(crate) job_id_number: Option<serde_json::Value>,
    pub(crate) index: Option<serde_json::Value>,
    pub(crate) max_index: Option<serde_json::Value>,
    /// The piece when it is a string; [`Field::Missing`] for any other
    /// piece (a Node `Buffer` object), which is read from the parsed value.
    pub(crate) piece: Field,
}

/// A value as the envelope reads it: a string (where it stands in the
/// text), a number, `null`, or anything else (skipped).
enum Scalar {
    Null,
    Str(Field),
    Num(serde_json::Number),
    Other,
}

impl Scalar {
    /// The value as a string field: [`Field::Missing`] unless it is one.
    fn into_str(self) -> Field {
        match self {
            Scalar::Str(f) => f,
            _ => Field::Missing,
        }
    }
}

impl Head {
    /// Reads the head of `text`, validating all of it as JSON.
    pub(crate) fn read(text: &str) -> Result<Head, serde_json::Error> {
        let base = text.as_ptr() as usize;
        let mut de = serde_json::Deserializer::from_str(text);
        let head = de.deserialize_any(TopVisitor { base })?;
        de.end()?;
        Ok(head)
    }
}

/// A string as the tokenizer handed it over: borrowed from the frame text
/// (no escapes) or unescaped into a scratch buffer.
fn field_of(base: usize, s: Str<'_>) -> Field {
    match s {
        Str::Borrowed(b) => {
            let start = b.as_ptr() as usize - base;
            match (u32::try_from(start), u32::try_from(start + b.len())) {
                (Ok(start), Ok(end)) => Field::At(start, end),
                _ => Field::Owned(b.into()),
            }
        }
        Str::Owned(s) => Field::Owned(s.into()),
    }
}

enum Str<'de> {
    Borrowed(&'de str),
    Owned(String),
}

/// The top level: an object's envelope fields, or nothing for any other value.
struct TopVisitor {
    base: usize,
}

impl<'de> Visitor<'de> for TopVisitor {
    type Value = Head;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Head, A::Error> {
        let base = self.base;
        let mut head = Head::default();
        let mut data_job_id: Option<Field> = None;
        let (mut top_job_id, mut piece) = (Scalar::Other, Scalar::Null);
        let (mut index, mut max_index) = (None, None);
        while let Some(key) = map.next_key_seed(KeySeed)? {
            match key.as_ref() {
                "event" => head.event = map.next_value_seed(ScalarSeed { base })?.into_str(),
                "jobId" => top_job_id = map.next_value_seed(ScalarSeed { base })?,
                "data" => {
                    let data = map.next_value_seed(DataSeed { base })?;
                    data_job_id = data.job_id;
                    head.sender = data.from;
                }
                "chunk" => piece = map.next_value_seed(ScalarSeed { base })?,
                "index" => index = Some(map.next_value()?),
                "max_index" => max_index = Some(map.next_value()?),
                _ => map.next_value_seed(SkipSeed)?,
            }
        }
        let (top_str, top_any) = match top_job_id {
            Scalar::Str(f) => (f, None),
            Scalar::Num(n) => (Field::Missing, Some(serde_json::Value::Number(n))),
            Scalar::Null | Scalar::Other => (Field::Missing, None),
        };
        let piece = match piece {
            Scalar::Null => None,
            Scalar::Str(f) => Some(f),
            Scalar::Num(_) | Scalar::Other => Some(Field::Missing),
        };
        if let Some(piece) = piece {
            head.chunk = Some(Box::new(ChunkFields {
                job_id_text: top_str.clone(),
                job_id_number: top_any,
                index,
                max_index,
                piece,
            }));
        }
        head.job_id = data_job_id.unwrap_or(top_str);
        Ok(head)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Head, A::Error> {
        SkipVisitor.visit_seq(seq).map(|()| Head::default())
    }

    scalars_as!(Head::default());
}

/// What `data` contributes: its `jobId` (`Some` when the key is present,
/// whatever its type) and its `from`.
#[derive(Default)]
struct Data {
    job_id: Option<Field>,
    from: Field,
}

struct DataSeed {
    base: usize,
}

impl<'de> DeserializeSeed<'de> for DataSeed {
    type Value = Data;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Data, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for DataSeed {
    type Value = Data;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Data, A::Error> {
        let mut data = Data::default();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            match key.as_ref() {
                "jobId" => {
                    data.job_id = Some(
                        map.next_value_seed(ScalarSeed { base: self.base })?
                            .into_str(),
                    )
                }
                "from" => {
                    data.from = map
                        .next_value_seed(ScalarSeed { base: self.base })?
                        .into_str()
                }
                _ => map.next_value_seed(SkipSeed)?,
            }
        }
        Ok(data)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Data, A::Error> {
        SkipVisitor.visit_seq(seq).map(|()| Data::default())
    }

    scalars_as!(Data::default());
}

/// An object's `data` as `T` (an absent `data` reads as `null`), the rest
/// of it skipped; only an object is accepted (a derived struct would also
/// take an array).
pub(crate) struct DataOf<T>(pub(crate) T);

impl<'de, T: DeserializeOwned> Deserialize<'de> for DataOf<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(DataOfVisitor(PhantomData))
    }
}

struct DataOfVisitor<T>(PhantomData<T>);

impl<'de, T: DeserializeOwned> Visitor<'de> for DataOfVisitor<T> {
    type Value = DataOf<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<DataOf<T>, A::Error> {
        let mut data = None;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            if key.as_ref() == "data" {
                data = Some(map.next_value::<T>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        match data {
            Some(data) => Ok(DataOf(data)),
            None => T::deserialize(serde_json::Value::Null)
                .map(DataOf)
                .map_err(de::Error::custom),
        }
    }
}

/// An object key, borrowed when it has no escapes.
struct KeySeed;

struct Key<'de>(Str<'de>);

impl AsRef<str> for Key<'_> {
    fn as_ref(&self) -> &str {
        match &self.0 {
            Str::Borrowed(s) => s,
            Str::Owned(s) => s,
        }
    }
}

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Key<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Key<'de>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Key<'de>, E> {
        Ok(Key(Str::Borrowed(s)))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Key<'de>, E> {
        Ok(Key(Str::Owned(s.to_owned())))
    }
}

/// A value read as a [`Scalar`].
struct ScalarSeed {
    base: usize,
}

impl<'de> DeserializeSeed<'de> for ScalarSeed {
    type Value = Scalar;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Scalar, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ScalarSeed {
    type Value = Scalar;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Scalar, E> {
        Ok(Scalar::Str(field_of(self.base, Str::Borrowed(s))))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Scalar, E> {
        Ok(Scalar::Str(field_of(self.base, Str::Owned(s.to_owned()))))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Scalar, A::Error> {
        SkipVisitor.visit_map(map).map(|()| Scalar::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Scalar, A::Error> {
        SkipVisitor.visit_seq(seq).map(|()| Scalar::Other)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
        Ok(Scalar::Null)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Scalar, E> {
        Ok(Scalar::Other)
    }
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Scalar, E> {
        Ok(Scalar::Num(n.into()))
    }
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Scalar, E> {
        Ok(Scalar::Num(n.into()))
    }
    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Scalar, E> {
        Ok(serde_json::Number::from_f64(n).map_or(Scalar::Other, Scalar::Num))
    }
}

/// Consumes a value through `deserialize_any`, so that the tokenizer checks
/// it exactly as it does for a `Value` (numbers in range, nesting depth),
/// without building anything. (`IgnoredAny` would skip those checks.)
struct SkipSeed;

impl<'de> DeserializeSeed<'de> for SkipSeed {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(SkipVisitor)
    }
}

struct SkipVisitor;

impl<'de> Visitor<'de> for SkipVisitor {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_key_seed(SkipKey)?.is_some() {
            map.next_value_seed(SkipSeed)?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(SkipSeed)?.is_some() {}
        Ok(())
    }

    scalars_as!(());
}

/// An object key that is not looked at.
struct SkipKey;

impl<'de> DeserializeSeed<'de> for SkipKey {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_str(SkipVisitor)
    }
}

#[cfg(test)]
mod tests;
