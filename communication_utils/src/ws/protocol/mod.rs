//! The wire formats, pure: message envelopes and their Python-identical
//! JSON, chunk messages, JWT claims, URIs. No I/O, no tasks, no clock of
//! their own ([protocol](crate::protocol)).

pub mod chunks;
pub(crate) mod jwt;
pub(crate) mod message;
pub(crate) mod outcome;
pub(crate) mod python_json;
#[cfg(test)]
pub(crate) mod random_json;
pub(crate) mod uri;
