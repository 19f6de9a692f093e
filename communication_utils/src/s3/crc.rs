//! The CRCs of full-object checksums (CRC64NVME, CRC32, CRC32C), computed
//! here: per part of an upload and per range of a download, each on its own
//! task, and combined in order (a CRC of `A‖B` is a function of the CRCs of
//! `A` and `B` and the length of `B`), so that a checksum of the whole
//! object never needs the bytes in order.

use aws_smithy_types::base64;
use crc_fast::CrcAlgorithm;

use super::verification::ChecksumAlgorithm;

/// A CRC kind of S3's full-object checksums.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CrcKind {
    Crc64Nvme,
    Crc32,
    Crc32C,
}

impl CrcKind {
    fn algorithm(self) -> CrcAlgorithm {
        match self {
            CrcKind::Crc64Nvme => CrcAlgorithm::Crc64Nvme,
            CrcKind::Crc32 => CrcAlgorithm::Crc32IsoHdlc,
            CrcKind::Crc32C => CrcAlgorithm::Crc32Iscsi,
        }
    }

    /// Bytes of the digest.
    fn width(self) -> usize {
        match self {
            CrcKind::Crc64Nvme => 8,
            CrcKind::Crc32 | CrcKind::Crc32C => 4,
        }
    }

    /// The public name.
    pub(crate) fn public(self) -> ChecksumAlgorithm {
        match self {
            CrcKind::Crc64Nvme => ChecksumAlgorithm::Crc64Nvme,
            CrcKind::Crc32 => ChecksumAlgorithm::Crc32,
            CrcKind::Crc32C => ChecksumAlgorithm::Crc32C,
        }
    }

    /// The CRC of `data` alone.
    pub(crate) fn of(self, data: &[u8]) -> u64 {
        crc_fast::checksum(self.algorithm(), data)
    }

    /// The CRC of `A‖B` from the CRCs of `A` and `B` and `B`'s length.
    pub(crate) fn combine(self, a: u64, b: u64, b_len: u64) -> u64 {
        crc_fast::checksum_combine(self.algorithm(), a, b, b_len)
    }

    /// The CRC of the pieces `(crc, len)` in order (the CRC of nothing for none).
    pub(crate) fn combine_all(self, pieces: impl IntoIterator<Item = (u64, u64)>) -> u64 {
        pieces
            .into_iter()
            .fold(None, |acc, (crc, len)| {
                Some(match acc {
                    None => crc,
                    Some(a) => self.combine(a, crc, len),
                })
            })
            .unwrap_or_else(|| self.of(&[]))
    }

    /// An incremental CRC.
    pub(crate) fn digest(self) -> CrcDigest {
        CrcDigest(crc_fast::Digest::new(self.algorithm()))
    }

    /// `x-amz-checksum-*`: base64 of the big-endian digest.
    pub(crate) fn encode(self, crc: u64) -> String {
        let bytes = crc.to_be_bytes();
        base64::encode(&bytes[8 - self.width()..])
    }

    /// The value of an `x-amz-checksum-*` header, when it is a digest of
    /// this kind (a value of another width, as some stores send, is not).
    pub(crate) fn decode(self, value: &str) -> Option<u64> {
        let bytes = base64::decode(value.trim()).ok()?;
        if bytes.len() != self.width() {
            return None;
        }
        Some(bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }
}

/// An incremental CRC of one kind.
#[derive(Clone, Copy)]
pub(crate) struct CrcDigest(crc_fast::Digest);

impl CrcDigest {
    pub(crate) fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    pub(crate) fn finish(&self) -> u64 {
        self.0.finalize()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_and_their_headers() {
        // The check values of the three CRCs ("123456789").
        assert_eq!(CrcKind::Crc64Nvme.of(b"123456789"), 0xae8b_1486_0a79_9888);
        assert_eq!(CrcKind::Crc32.of(b"123456789"), 0xcbf4_3926);
        assert_eq!(CrcKind::Crc32C.of(b"123456789"), 0xe306_9283);
        for kind in [CrcKind::Crc64Nvme, CrcKind::Crc32, CrcKind::Crc32C] {
            let crc = kind.of(b"hello world");
            assert_eq!(kind.decode(&kind.encode(crc)), Some(crc));
        }
        // A 4-byte value is no CRC64NVME (moto 5.2.5 stores such ones).
        assert_eq!(CrcKind::Crc64Nvme.decode("gGS6Ew=="), None);
        assert_eq!(CrcKind::Crc32.decode("not base64!"), None);
    }

    #[test]
    fn pieces_combine_to_the_whole() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
        for kind in [CrcKind::Crc64Nvme, CrcKind::Crc32, CrcKind::Crc32C] {
            let pieces = [0..1, 1..30_000, 30_000..30_000, 30_000..100_000]
                .map(|r| (kind.of(&data[r.clone()]), r.len() as u64));
            assert_eq!(kind.combine_all(pieces), kind.of(&data));
            let mut d = kind.digest();
            d.update(&data[..5]);
            d.update(&data[5..]);
            assert_eq!(d.finish(), kind.of(&data));
        }
        assert_eq!(CrcKind::Crc32.combine_all([]), 0);
    }
}
