//! How the bytes of one GET are hashed, on the GET's own task: not at all,
//! an MD5 (a single GET of a single-PUT object, or a part of a multipart
//! object), or the CRC of a stored full-object checksum.

use bytes::Bytes;

use super::plan::{Plan, UnitDigest};
use crate::s3::crc::CrcDigest;
use crate::s3::verify::{Check, Md5Hasher};

/// The hashing of one GET's bytes.
pub(super) enum UnitHash {
    /// Nothing to hash.
    Off,
    /// Its MD5.
    Md5(Md5Hasher),
    /// The CRC of a stored full-object checksum (boxed: the digest holds
    /// its parameters, the largest of the variants).
    Crc(Box<CrcDigest>),
}

impl UnitHash {
    /// What the plan's check needs of this GET (`whole`: the GET fetches
    /// the whole object): its CRC, its MD5, or nothing.
    pub(super) fn new(plan: &Plan, whole: bool) -> Self {
        match plan.check {
            Check::Crc { kind, .. } => UnitHash::Crc(Box::new(kind.digest())),
            _ if plan.hashes(whole) => UnitHash::Md5(Md5Hasher::default()),
            _ => UnitHash::Off,
        }
    }

    /// The GET's next bytes.
    pub(super) fn update(&mut self, chunk: &Bytes) {
        match self {
            UnitHash::Md5(md5) => md5.update(chunk),
            UnitHash::Crc(crc) => crc.update(chunk),
            UnitHash::Off => {}
        }
    }

    /// The GET's digest.
    pub(super) fn finish(self) -> UnitDigest {
        match self {
            UnitHash::Md5(md5) => UnitDigest::Md5(md5.finish()),
            UnitHash::Crc(crc) => UnitDigest::Crc(crc.finish()),
            UnitHash::Off => UnitDigest::None,
        }
    }
}
