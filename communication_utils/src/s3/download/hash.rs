//! How the bytes of one GET are hashed: not at all, on the GET's own task
//! (an MD5, or the CRC of a stored full-object checksum), on the download's
//! lane hasher (the parts of a multipart object), or by the in-order hasher
//! reading the file back (ranges of a single-PUT object).

use bytes::Bytes;

use super::plan::{Plan, UnitDigest};
use crate::s3::crc::CrcDigest;
use crate::s3::error::Error;
use crate::s3::in_order::Frontier;
use crate::s3::md5_lanes::Lane;
use crate::s3::verify::{Check, Md5Hasher};

/// The hashing of one GET's bytes.
pub(super) enum UnitHash<'a> {
    /// Nothing to hash.
    Off,
    /// On the GET's task.
    Here(Md5Hasher),
    /// The CRC of a stored full-object checksum, on the GET's task (boxed:
    /// the digest holds its parameters, the largest of the variants).
    Crc(Box<CrcDigest>),
    /// On the download's lane hasher, with the other parts.
    Lane(Lane),
    /// Read back from the file by the in-order hasher: the bytes written
    /// are reported to the frontier, for range `.1`.
    InOrder(&'a Frontier, usize),
}

impl<'a> UnitHash<'a> {
    /// On the GET's task when the plan's check needs this GET's MD5
    /// (`whole`: the GET fetches the whole object) or CRC, else off.
    pub(super) fn new(plan: &Plan, whole: bool) -> Self {
        match plan.check {
            Check::Crc { kind, .. } => UnitHash::Crc(Box::new(kind.digest())),
            _ if plan.hashes(whole) => UnitHash::Here(Md5Hasher::default()),
            _ => UnitHash::Off,
        }
    }

    /// The frontier to report written bytes to, when hashed in order.
    pub(super) fn frontier(&self) -> Option<(&'a Frontier, usize)> {
        match *self {
            UnitHash::InOrder(frontier, index) => Some((frontier, index)),
            _ => None,
        }
    }

    /// The GET's next bytes.
    pub(super) async fn update(&mut self, chunk: &Bytes) -> Result<(), Error> {
        match self {
            UnitHash::Here(md5) => md5.update(chunk),
            UnitHash::Crc(crc) => crc.update(chunk),
            UnitHash::Lane(lane) => lane.update(chunk.clone()).await?,
            UnitHash::Off | UnitHash::InOrder(..) => {}
        }
        Ok(())
    }

    /// The GET's digest, when it is computed per GET.
    pub(super) async fn finish(self) -> Result<UnitDigest, Error> {
        Ok(match self {
            UnitHash::Here(md5) => UnitDigest::Md5(md5.finish()),
            UnitHash::Crc(crc) => UnitDigest::Crc(crc.finish()),
            UnitHash::Lane(lane) => UnitDigest::Md5(lane.finish().await?),
            UnitHash::Off | UnitHash::InOrder(..) => UnitDigest::None,
        })
    }
}
