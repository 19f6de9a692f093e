//! Full-object checksums of multipart uploads (`ChecksumType::FullObject`,
//! CRC64NVME, CRC32 or CRC32C), which `s3s-fs` does not keep: the kind asked
//! for at `CreateMultipartUpload`, each part's CRC computed as its body
//! streams in (and checked against the part's own `x-amz-checksum-*`), and
//! at completion the parts' CRCs combined, checked against the one the
//! client sends, stored where `s3s-fs` keeps a single PUT's checksum (so
//! that `HeadObject`/`GetObject` with checksum mode answer it) and marked
//! `FULL_OBJECT` (which `HeadObject`/`GetObject` answer as
//! `x-amz-checksum-type`).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use crc_fast::CrcAlgorithm;
use s3s::dto::{
    ChecksumAlgorithm, ChecksumType, CompleteMultipartUploadInput, CompleteMultipartUploadOutput,
    CreateMultipartUploadInput, UploadPartInput,
};

/// A CRC kind of S3's full-object checksums.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Crc {
    Crc64Nvme,
    Crc32,
    Crc32C,
}

impl Crc {
    /// The full-object CRC a `CreateMultipartUpload` asks for: CRC64NVME
    /// (always full-object), or CRC32/CRC32C with `FULL_OBJECT`.
    pub(super) fn asked(input: &CreateMultipartUploadInput) -> Option<Crc> {
        let full = input
            .checksum_type
            .as_ref()
            .map(|t| t.as_str() == ChecksumType::FULL_OBJECT);
        let kind = Crc::of_algorithm(input.checksum_algorithm.as_ref()?)?;
        match (kind, full) {
            (Crc::Crc64Nvme, None | Some(true)) | (_, Some(true)) => Some(kind),
            _ => None,
        }
    }

    fn of_algorithm(a: &ChecksumAlgorithm) -> Option<Crc> {
        match a.as_str() {
            ChecksumAlgorithm::CRC64NVME => Some(Crc::Crc64Nvme),
            ChecksumAlgorithm::CRC32 => Some(Crc::Crc32),
            ChecksumAlgorithm::CRC32C => Some(Crc::Crc32C),
            _ => None,
        }
    }

    /// The kind a part is hashed with: its upload's, else the one of the
    /// CRC header the part carries.
    pub(super) fn for_part(upload: Option<Crc>, input: &UploadPartInput) -> Option<Crc> {
        upload.or(if input.checksum_crc64nvme.is_some() {
            Some(Crc::Crc64Nvme)
        } else if input.checksum_crc32.is_some() {
            Some(Crc::Crc32)
        } else if input.checksum_crc32c.is_some() {
            Some(Crc::Crc32C)
        } else {
            None
        })
    }

    /// The part's own header of this kind.
    pub(super) fn of_part(self, input: &UploadPartInput) -> Option<&str> {
        match self {
            Crc::Crc64Nvme => input.checksum_crc64nvme.as_deref(),
            Crc::Crc32 => input.checksum_crc32.as_deref(),
            Crc::Crc32C => input.checksum_crc32c.as_deref(),
        }
    }

    /// The whole object's value the completion sends, of this kind.
    pub(super) fn of_completion(self, input: &CompleteMultipartUploadInput) -> Option<&str> {
        match self {
            Crc::Crc64Nvme => input.checksum_crc64nvme.as_deref(),
            Crc::Crc32 => input.checksum_crc32.as_deref(),
            Crc::Crc32C => input.checksum_crc32c.as_deref(),
        }
    }

    /// The completion's answer with the object's value.
    pub(super) fn answer(self, out: &mut CompleteMultipartUploadOutput, value: String) {
        match self {
            Crc::Crc64Nvme => out.checksum_crc64nvme = Some(value),
            Crc::Crc32 => out.checksum_crc32 = Some(value),
            Crc::Crc32C => out.checksum_crc32c = Some(value),
        }
        out.checksum_type = Some(ChecksumType::from_static(ChecksumType::FULL_OBJECT));
    }

    /// The key `s3s-fs` keeps this checksum under in an object's internal info.
    pub(super) fn info_key(self) -> &'static str {
        match self {
            Crc::Crc64Nvme => "checksum_crc64nvme",
            Crc::Crc32 => "checksum_crc32",
            Crc::Crc32C => "checksum_crc32c",
        }
    }

    fn algorithm(self) -> CrcAlgorithm {
        match self {
            Crc::Crc64Nvme => CrcAlgorithm::Crc64Nvme,
            Crc::Crc32 => CrcAlgorithm::Crc32IsoHdlc,
            Crc::Crc32C => CrcAlgorithm::Crc32Iscsi,
        }
    }

    pub(super) fn digest(self) -> crc_fast::Digest {
        crc_fast::Digest::new(self.algorithm())
    }

    /// The CRC of the pieces `(crc, len)` in order.
    pub(super) fn combine(self, pieces: &[(u64, u64)]) -> u64 {
        let mut it = pieces.iter();
        let first = it.next().map_or(0, |p| p.0);
        it.fold(first, |acc, &(crc, len)| {
            crc_fast::checksum_combine(self.algorithm(), acc, crc, len)
        })
    }

    /// Base64 of the big-endian digest, as in `x-amz-checksum-*`.
    pub(super) fn encode(self, crc: u64) -> String {
        let bytes = crc.to_be_bytes();
        let width = match self {
            Crc::Crc64Nvme => 8,
            Crc::Crc32 | Crc::Crc32C => 4,
        };
        STANDARD.encode(&bytes[8 - width..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_combine_to_the_whole_and_encode_as_s3_does() {
        let data: Vec<u8> = (0..50_000u32).map(|i| (i % 253) as u8).collect();
        for kind in [Crc::Crc64Nvme, Crc::Crc32, Crc::Crc32C] {
            let crc = |d: &[u8]| {
                let mut h = kind.digest();
                h.update(d);
                h.finalize()
            };
            let pieces = [
                (crc(&data[..20_000]), 20_000),
                (crc(&data[20_000..]), 30_000),
            ];
            assert_eq!(kind.combine(&pieces), crc(&data));
        }
        // "123456789": the check value of CRC-32, big-endian, base64.
        let mut h = Crc::Crc32.digest();
        h.update(b"123456789");
        assert_eq!(Crc::Crc32.encode(h.finalize()), "y/Q5Jg==");
    }
}
