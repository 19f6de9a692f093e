//! The value of a reassembled message, built from its buffer without a
//! second copy of its one large string.
//!
//! A chunked message is typically one large string (a file, an image) in a
//! small envelope. `serde_json::from_str` copies every string into an
//! allocation of its own: for tens of MiB, writing that copy into fresh
//! pages (each first touch a page fault) costs more than the whole parse,
//! and the reassembly buffer is freed right after. [`parse`] finds such a
//! string first (a run of bytes that need no escaping, across the middle of
//! the text, between quotes), parses the text without it (an empty string
//! in its place: the envelope only), checks that the empty string read there
//! is a string value, and puts the buffer itself in its place, its bytes
//! moved to its front, in pages already touched. Any other text, or any
//! doubt, gets the plain parse: the value and the errors are always those
//! of `serde_json::from_str::<Value>`.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// Strings shorter than this are copied as usual: a small allocation comes
/// from memory the allocator already holds, and costs little.
const MIN_REUSE: usize = 1 << 20;

/// `text` parsed as JSON, as `serde_json::from_str::<Value>` parses it: the
/// same value, or the same error. A string that makes up at least half of
/// it (at least [`MIN_REUSE`] bytes, with no escapes) reuses the allocation
/// of `text`.
pub(super) fn parse(text: String) -> Result<Value, serde_json::Error> {
    parse_reusing(text, MIN_REUSE)
}

/// [`parse`], reusing the allocation of `text` for a string of at least
/// `min` bytes.
fn parse_reusing(text: String, min: usize) -> Result<Value, serde_json::Error> {
    let Some((start, end)) = large_string(text.as_bytes(), min) else {
        return serde_json::from_str(&text);
    };
    // The text with `""` where the string stood (both ends lie next to a
    // quote: character boundaries).
    let (Some(before), Some(after)) = (text.get(..start), text.get(end..)) else {
        return serde_json::from_str(&text);
    };
    let mut rest = String::with_capacity(before.len() + after.len());
    rest.push_str(before);
    rest.push_str(after);
    let ctx = Ctx {
        rest: &rest,
        at: start,
        state: RefCell::new(State::Looking),
        key: RefCell::new(None),
    };
    let parsed = {
        let mut de = serde_json::Deserializer::from_str(&rest);
        Value::deserialize(Spy {
            inner: &mut de,
            ctx: &ctx,
            role: Role::Value,
        })
        .and_then(|value| de.end().map(|()| value))
    };
    let path = match (parsed, ctx.state.into_inner()) {
        (Ok(value), State::Taken { path }) => Some((value, path)),
        // The string was replaced by a later entry with the same key
        // (the last one counts, as in a `Value`): the tree is whole.
        (Ok(value), State::Replaced) => return Ok(value),
        // Not a string value after all (a key, bytes between two strings),
        // or an error, to be told as the whole text's: the plain parse.
        _ => None,
    };
    let Some((mut value, path)) = path else {
        return serde_json::from_str(&text);
    };
    // The path runs from the string out: walk it from the root.
    let mut slot = &mut value;
    for step in path.iter().rev() {
        let next = match step {
            Step::Key(key) => slot
                .as_object_mut()
                .and_then(|map| map.get_mut(key.as_ref())),
            Step::Index(i) => slot.as_array_mut().and_then(|items| items.get_mut(*i)),
        };
        match next {
            Some(next) => slot = next,
            None => return serde_json::from_str(&text),
        }
    }
    match slot {
        Value::String(empty) if empty.is_empty() => {
            *empty = into_slice(text, start, end);
            Ok(value)
        }
        _ => serde_json::from_str(&text),
    }
}

/// Where the string that makes up at least half of `text` would lie: the
/// run of bytes that may stand in a JSON string as they are, across the
/// middle of the text, when it is that long (and at least `min` bytes) and
/// a quote stands at each end.
fn large_string(text: &[u8], min: usize) -> Option<(usize, usize)> {
    if text.len() < min {
        return None;
    }
    let mid = text.len() / 2;
    let (left, right) = text.split_at(mid);
    let start = mid - plain_suffix(left);
    let end = mid + plain_prefix(right);
    let long = end - start >= min && (end - start) * 2 >= text.len();
    let opened = start.checked_sub(1).and_then(|i| text.get(i)) == Some(&b'"');
    let closed = text.get(end) == Some(&b'"');
    (long && opened && closed).then_some((start, end))
}

/// Bytes scanned at once (the compiler checks a block in a few vector
/// instructions).
const BLOCK: usize = 64;

/// A byte that may not stand in a JSON string as it is: a quote, a
/// backslash, or a control character.
fn special(b: u8) -> bool {
    b == b'"' || b == b'\\' || b < 0x20
}

/// Whether `block` holds a [`special`] byte (no early exit: vectorized).
fn any_special(block: &[u8]) -> bool {
    block.iter().fold(false, |found, &b| found | special(b))
}

/// How many bytes at the start of `bytes` are not [`special`].
fn plain_prefix(bytes: &[u8]) -> usize {
    let blocks = bytes.chunks_exact(BLOCK);
    let tail = blocks.remainder();
    for (i, block) in blocks.enumerate() {
        if any_special(block) {
            return i * BLOCK + block.iter().position(|&b| special(b)).unwrap_or(BLOCK);
        }
    }
    let done = bytes.len() - tail.len();
    done + tail.iter().position(|&b| special(b)).unwrap_or(tail.len())
}

/// How many bytes at the end of `bytes` are not [`special`].
fn plain_suffix(bytes: &[u8]) -> usize {
    let blocks = bytes.rchunks_exact(BLOCK);
    let head = blocks.remainder();
    for (i, block) in blocks.enumerate() {
        if any_special(block) {
            let last = block.iter().rposition(|&b| special(b)).unwrap_or(0);
            return i * BLOCK + (BLOCK - 1 - last);
        }
    }
    let done = bytes.len() - head.len();
    done + head
        .iter()
        .rev()
        .position(|&b| special(b))
        .unwrap_or(head.len())
}

/// `text[start..end]`, in the allocation of `text` (both ends lie on
/// character boundaries: next to a quote).
fn into_slice(mut text: String, start: usize, end: usize) -> String {
    text.truncate(end);
    text.drain(..start);
    // The buffer grew by doubling: give back what the string does not use
    // (beyond a little, for a string that may still grow).
    if text.capacity() - text.len() > text.len() / 8 {
        text.shrink_to_fit();
    }
    text
}

/// What the parse of the text without the string found so far.
struct Ctx<'t> {
    /// The text without the string.
    rest: &'t str,
    /// Where the empty string standing for it starts in `rest`.
    at: usize,
    state: RefCell<State<'t>>,
    /// The map key just read, for the map that reads it.
    key: RefCell<Option<Cow<'t, str>>>,
}

/// Where the empty string standing for the one left out went.
enum State<'t> {
    /// Not read yet (or not as a string value).
    Looking,
    /// Read as a string value; `path` leads to it, innermost step first
    /// (each map or array adds its step once the entry holding the string
    /// is complete).
    Taken { path: Vec<Step<'t>> },
    /// The entry holding it was replaced by a later one with the same key
    /// (the last one counts, as in a `Value`): it is in the tree no more,
    /// as the string would not be.
    Replaced,
    /// Its place could not be told (a key read in no known way).
    Lost,
}

/// One step down a JSON tree.
enum Step<'t> {
    /// Into a map's entry.
    Key(Cow<'t, str>),
    /// Into an array's item.
    Index(usize),
}

impl<'t> Ctx<'t> {
    /// Notes `s`, a string value just read, when it is the empty string
    /// standing for the one left out (the path to it is noted from then on).
    fn take(&self, s: &'t str) {
        let here = self.rest.get(self.at..self.at);
        if s.is_empty() && here.is_some_and(|t| std::ptr::eq(t, s)) {
            let mut state = self.state.borrow_mut();
            if let State::Looking = *state {
                *state = State::Taken { path: Vec::new() };
            }
        }
    }

    /// Whether the empty string was read and its entry still stands.
    fn is_taken(&self) -> bool {
        matches!(*self.state.borrow(), State::Taken { .. })
    }

    /// The entry just read (with `step`, if known) holds the string left out.
    fn holds(&self, step: Option<Step<'t>>) {
        let mut state = self.state.borrow_mut();
        match (&mut *state, step) {
            (State::Taken { path }, Some(step)) => path.push(step),
            (State::Taken { .. }, None) => *state = State::Lost,
            _ => {}
        }
    }

    /// The entry holding the string left out was replaced.
    fn replaced(&self) {
        let mut state = self.state.borrow_mut();
        if let State::Taken { .. } = *state {
            *state = State::Replaced;
        }
    }
}

/// How a [`Spy`] watches what passes through it.
#[derive(Clone, Copy)]
enum Role {
    /// A value read by `deserialize_any`: the empty string standing for
    /// the one left out is looked for there.
    Value,
    /// A map key: it is noted.
    Key,
    /// Anything else: passed through.
    Other,
}

/// Wraps a deserializer, visitor or seed of the parse, and watches strings
/// and keys pass.
struct Spy<'a, 't, T> {
    inner: T,
    ctx: &'a Ctx<'t>,
    role: Role,
}

impl<'a, 't, T> Spy<'a, 't, T> {
    fn wrap<U>(&self, inner: U, role: Role) -> Spy<'a, 't, U> {
        Spy {
            inner,
            ctx: self.ctx,
            role,
        }
    }

    /// The role of what a deserializer method other than `deserialize_any`
    /// reads: a key stays a key, a value is passed through.
    fn other(&self) -> Role {
        match self.role {
            Role::Key => Role::Key,
            Role::Value | Role::Other => Role::Other,
        }
    }
}

impl<'t, S: DeserializeSeed<'t>> DeserializeSeed<'t> for Spy<'_, 't, S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'t>>(self, deserializer: D) -> Result<S::Value, D::Error> {
        let spy = self.wrap(deserializer, self.role);
        self.inner.deserialize(spy)
    }
}

/// Forwards deserializer methods, the visitor wrapped.
macro_rules! forward_deserialize {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {
        $(
            fn $method<V: Visitor<'t>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, D::Error> {
                let visitor = self.wrap(visitor, self.other());
                self.inner.$method($($arg,)* visitor)
            }
        )*
    };
}

impl<'t, D: Deserializer<'t>> Deserializer<'t> for Spy<'_, 't, D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, D::Error> {
        let visitor = self.wrap(visitor, self.role);
        self.inner.deserialize_any(visitor)
    }

    forward_deserialize! {
        deserialize_bool(); deserialize_i8(); deserialize_i16(); deserialize_i32();
        deserialize_i64(); deserialize_i128(); deserialize_u8(); deserialize_u16();
        deserialize_u32(); deserialize_u64(); deserialize_u128(); deserialize_f32();
        deserialize_f64(); deserialize_char(); deserialize_str(); deserialize_string();
        deserialize_bytes(); deserialize_byte_buf(); deserialize_option(); deserialize_unit();
        deserialize_unit_struct(name: &'static str);
        deserialize_newtype_struct(name: &'static str);
        deserialize_seq(); deserialize_tuple(len: usize);
        deserialize_tuple_struct(name: &'static str, len: usize);
        deserialize_map();
        deserialize_struct(name: &'static str, fields: &'static [&'static str]);
        deserialize_enum(name: &'static str, variants: &'static [&'static str]);
        deserialize_identifier(); deserialize_ignored_any();
    }

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

/// Forwards visitor methods for scalars.
macro_rules! forward_visit {
    ($($method:ident($ty:ty);)*) => {
        $(
            fn $method<E: de::Error>(self, v: $ty) -> Result<V::Value, E> {
                self.inner.$method(v)
            }
        )*
    };
}

impl<'t, V: Visitor<'t>> Visitor<'t> for Spy<'_, 't, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.expecting(f)
    }

    forward_visit! {
        visit_bool(bool); visit_i8(i8); visit_i16(i16); visit_i32(i32); visit_i64(i64);
        visit_i128(i128); visit_u8(u8); visit_u16(u16); visit_u32(u32); visit_u64(u64);
        visit_u128(u128); visit_f32(f32); visit_f64(f64); visit_char(char);
        visit_bytes(&[u8]); visit_borrowed_bytes(&'t [u8]); visit_byte_buf(Vec<u8>);
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'t str) -> Result<V::Value, E> {
        match self.role {
            Role::Key => *self.ctx.key.borrow_mut() = Some(Cow::Borrowed(v)),
            Role::Value => {
                self.ctx.take(v);
            }
            Role::Other => {}
        }
        self.inner.visit_borrowed_str(v)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<V::Value, E> {
        if let Role::Key = self.role {
            *self.ctx.key.borrow_mut() = Some(Cow::Owned(v.to_owned()));
        }
        self.inner.visit_str(v)
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<V::Value, E> {
        if let Role::Key = self.role {
            *self.ctx.key.borrow_mut() = Some(Cow::Owned(v.clone()));
        }
        self.inner.visit_string(v)
    }

    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.inner.visit_none()
    }

    fn visit_some<D: Deserializer<'t>>(self, deserializer: D) -> Result<V::Value, D::Error> {
        let spy = self.wrap(deserializer, self.role);
        self.inner.visit_some(spy)
    }

    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.inner.visit_unit()
    }

    fn visit_newtype_struct<D: Deserializer<'t>>(
        self,
        deserializer: D,
    ) -> Result<V::Value, D::Error> {
        let spy = self.wrap(deserializer, self.role);
        self.inner.visit_newtype_struct(spy)
    }

    fn visit_seq<A: SeqAccess<'t>>(self, seq: A) -> Result<V::Value, A::Error> {
        self.inner.visit_seq(Items {
            inner: seq,
            ctx: self.ctx,
            index: 0,
        })
    }

    fn visit_map<A: MapAccess<'t>>(self, map: A) -> Result<V::Value, A::Error> {
        self.inner.visit_map(Entries {
            inner: map,
            ctx: self.ctx,
            key: None,
            holding: None,
        })
    }

    fn visit_enum<A: EnumAccess<'t>>(self, data: A) -> Result<V::Value, A::Error> {
        self.inner.visit_enum(data)
    }
}

/// An array's items, counted, so that the one holding the string left out
/// adds its index to the path.
struct Items<'a, 't, A> {
    inner: A,
    ctx: &'a Ctx<'t>,
    index: usize,
}

impl<'t, A: SeqAccess<'t>> SeqAccess<'t> for Items<'_, 't, A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'t>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        let before = self.ctx.is_taken();
        let seed = Spy {
            inner: seed,
            ctx: self.ctx,
            role: Role::Value,
        };
        let item = self.inner.next_element_seed(seed)?;
        if !before && self.ctx.is_taken() {
            self.ctx.holds(Some(Step::Index(self.index)));
        }
        self.index += 1;
        Ok(item)
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

/// A map's entries, their keys noted, so that the one holding the string
/// left out adds its key to the path, and a later entry with the same key
/// (which replaces it) is seen.
struct Entries<'a, 't, A> {
    inner: A,
    ctx: &'a Ctx<'t>,
    /// The key just read.
    key: Option<Cow<'t, str>>,
    /// The key of the entry holding the string left out.
    holding: Option<Cow<'t, str>>,
}

impl<'t, A: MapAccess<'t>> MapAccess<'t> for Entries<'_, 't, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'t>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let seed = Spy {
            inner: seed,
            ctx: self.ctx,
            role: Role::Key,
        };
        let key = self.inner.next_key_seed(seed)?;
        self.key = self.ctx.key.borrow_mut().take();
        if self.holding.is_some() && self.key == self.holding {
            self.ctx.replaced();
            self.holding = None;
        }
        Ok(key)
    }

    fn next_value_seed<T: DeserializeSeed<'t>>(&mut self, seed: T) -> Result<T::Value, A::Error> {
        let before = self.ctx.is_taken();
        let seed = Spy {
            inner: seed,
            ctx: self.ctx,
            role: Role::Value,
        };
        let value = self.inner.next_value_seed(seed)?;
        if !before && self.ctx.is_taken() {
            self.holding.clone_from(&self.key);
            self.ctx.holds(self.key.take().map(Step::Key));
        }
        Ok(value)
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests;
