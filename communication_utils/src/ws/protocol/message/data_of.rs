//! [`DataOf`]: a message's `data` deserialized straight from its text.

use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, IgnoredAny, MapAccess, Visitor};

/// An object's `data` as `T` (an absent `data` reads as `null`), the rest
/// of it skipped; only an object is accepted (a derived struct would also
/// take an array).
pub(crate) struct DataOf<T>(pub(crate) T);

/// A top-level key: `data` or another.
#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "lowercase")]
enum Key {
    Data,
    #[serde(other)]
    Other,
}

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
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Data => data = Some(map.next_value::<T>()?),
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
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
