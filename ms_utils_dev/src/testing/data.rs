//! Deterministic test data and the hex form S3 and Python write digests in.

/// `len` bytes of deterministic, incompressible-looking data (xorshift from
/// `seed`): the same call gives the same bytes, different seeds differ.
///
/// ```
/// let a = ms_utils_dev::testing::test_data(1000, 7);
/// assert_eq!(a.len(), 1000);
/// assert_eq!(a, ms_utils_dev::testing::test_data(1000, 7));
/// assert_ne!(a, ms_utils_dev::testing::test_data(1000, 8));
/// ```
pub fn test_data(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(len);
    v
}

/// Lower-case hex, as S3 writes ETags and Python's `hexdigest()` does.
///
/// ```
/// assert_eq!(ms_utils_dev::testing::hex(&[0x0f, 0xa0]), "0fa0");
/// ```
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}
