//! Checks of what a download delivered: the pieces tile the object, the
//! MD5s match the ETag, the lengths match; and the errors that say not.

use std::sync::Arc;

use super::plan::{Piece, Plan};
use crate::s3::error::Error;
use crate::s3::verify::{self, Check};

/// Checks the pieces of a download against the plan's check: the CRCs of
/// the ranges (which must tile the object) combined against a stored CRC,
/// the MD5 of a single GET against a single-PUT ETag, or the parts (which
/// must tile the object) against a multipart ETag. Sorts `pieces` by offset.
pub(super) fn verify_pieces(plan: &Plan, single: bool, pieces: &mut [Piece]) -> Result<(), Error> {
    pieces.sort_by_key(|p| (p.start, p.index));
    match plan.check {
        Check::Crc { kind, expected } => {
            let mut at = 0u64;
            let mut crcs = Vec::with_capacity(pieces.len());
            for p in pieces.iter() {
                let Some(crc) = p.digest.crc() else {
                    return Err(integrity(plan, "GetObject: a range was not hashed".into()));
                };
                if p.start != at {
                    return Err(integrity(
                        plan,
                        format!("GetObject: the ranges leave bytes {at}..{} out", p.start),
                    ));
                }
                at += p.len;
                crcs.push((crc, p.len));
            }
            if at != plan.size {
                return Err(integrity(
                    plan,
                    format!("GetObject: the ranges hold {at} bytes of {}", plan.size),
                ));
            }
            let computed = kind.combine_all(crcs);
            if computed != expected {
                return Err(integrity(
                    plan,
                    format!(
                        "GetObject: content {} does not match the stored checksum: expected {}, computed {}",
                        kind.public(),
                        kind.encode(expected),
                        kind.encode(computed),
                    ),
                ));
            }
        }
        Check::Md5(_) if single => {
            if let Some(computed) = pieces.first().and_then(|p| p.digest.md5()) {
                check_md5(plan, "GetObject", computed)?;
            }
        }
        Check::Parts {
            md5: expected,
            parts,
        } if plan.parts.is_some() => {
            let mut at = 0u64;
            let mut md5s = Vec::with_capacity(pieces.len());
            for p in pieces.iter() {
                if p.start != at {
                    return Err(integrity(
                        plan,
                        format!(
                            "GetObject by part: the parts leave bytes {at}..{} out",
                            p.start
                        ),
                    ));
                }
                at += p.len;
                md5s.extend(p.digest.md5());
            }
            if at != plan.size || md5s.len() != pieces.len() {
                return Err(integrity(
                    plan,
                    format!(
                        "GetObject by part: the parts hold {at} bytes of {}",
                        plan.size
                    ),
                ));
            }
            let computed = verify::combine_parts(&md5s);
            if computed != expected {
                return Err(integrity(
                    plan,
                    format!(
                        "GetObject by part: multipart ETag mismatch: expected {}-{parts}, computed {}-{}",
                        verify::hex(&expected),
                        verify::hex(&computed),
                        md5s.len(),
                    ),
                ));
            }
        }
        _ => {}
    }
    Ok(())
}

/// Checks the MD5 of the whole content against a single-PUT ETag (a no-op
/// for any other check); `op` names the operation in the error.
pub(super) fn check_md5(plan: &Plan, op: &str, computed: [u8; 16]) -> Result<(), Error> {
    match plan.check {
        Check::Md5(expected) if computed != expected => Err(integrity(
            plan,
            format!(
                "{op}: content MD5 does not match the ETag: expected {}, computed {}",
                verify::hex(&expected),
                verify::hex(&computed),
            ),
        )),
        _ => Ok(()),
    }
}

pub(super) fn integrity(plan: &Plan, detail: String) -> Error {
    Error::Integrity {
        bucket: plan.bucket.clone(),
        key: plan.key.clone(),
        detail,
    }
}

pub(super) fn check_len(plan: &Plan, got: u64, expected: u64) -> Result<(), Error> {
    if got == expected {
        Ok(())
    } else {
        Err(integrity(
            plan,
            format!("received {got} bytes of {expected}"),
        ))
    }
}

/// A body that broke off is a transport failure; one that failed the SDK's
/// checksum validation is an integrity failure. The SDK's checksum error
/// type is private to a crate we do not depend on, so it is recognised by
/// its message, anywhere in the source chain.
pub(super) fn body_error(
    endpoint: &Arc<str>,
    plan: &Plan,
    source: crate::s3::error::BoxError,
) -> Error {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(source.as_ref());
    while let Some(e) = cause {
        let text = e.to_string();
        if text.contains("checksum mismatch") {
            return integrity(plan, format!("GetObject: stored checksum {text}"));
        }
        cause = e.source();
    }
    Error::transport(endpoint, "GetObject", &plan.bucket, Some(&plan.key), source)
}
