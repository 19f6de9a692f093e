//! The MD5 compression function (RFC 1321, section 3.4) applied to four
//! independent streams at once.
//!
//! Every value is a `[u32; 4]` holding one word of each stream, and every
//! operation is the same on the four lanes, so the compiler keeps a value in
//! one 128-bit register (SSE2, present on every x86_64 CPU; NEON on aarch64)
//! and four blocks cost about what one costs in scalar code. No `unsafe`,
//! no CPU feature detection: plain array code the optimizer vectorizes.

/// Streams hashed side by side.
pub(crate) const LANES: usize = 4;

/// One MD5 word (A, B, C or D) of each lane.
pub(crate) type Word = [u32; LANES];

/// MD5's initial state (A, B, C, D).
pub(crate) const INIT: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];

/// The additive constants: `floor(abs(sin(i + 1)) * 2^32)`.
const K: [u32; 64] = [
    0xd76a_a478,
    0xe8c7_b756,
    0x2420_70db,
    0xc1bd_ceee,
    0xf57c_0faf,
    0x4787_c62a,
    0xa830_4613,
    0xfd46_9501,
    0x6980_98d8,
    0x8b44_f7af,
    0xffff_5bb1,
    0x895c_d7be,
    0x6b90_1122,
    0xfd98_7193,
    0xa679_438e,
    0x49b4_0821,
    0xf61e_2562,
    0xc040_b340,
    0x265e_5a51,
    0xe9b6_c7aa,
    0xd62f_105d,
    0x0244_1453,
    0xd8a1_e681,
    0xe7d3_fbc8,
    0x21e1_cde6,
    0xc337_07d6,
    0xf4d5_0d87,
    0x455a_14ed,
    0xa9e3_e905,
    0xfcef_a3f8,
    0x676f_02d9,
    0x8d2a_4c8a,
    0xfffa_3942,
    0x8771_f681,
    0x6d9d_6122,
    0xfde5_380c,
    0xa4be_ea44,
    0x4bde_cfa9,
    0xf6bb_4b60,
    0xbebf_bc70,
    0x289b_7ec6,
    0xeaa1_27fa,
    0xd4ef_3085,
    0x0488_1d05,
    0xd9d4_d039,
    0xe6db_99e5,
    0x1fa2_7cf8,
    0xc4ac_5665,
    0xf429_2244,
    0x432a_ff97,
    0xab94_23a7,
    0xfc93_a039,
    0x655b_59c3,
    0x8f0c_cc92,
    0xffef_f47d,
    0x8584_5dd1,
    0x6fa8_7e4f,
    0xfe2c_e6e0,
    0xa301_4314,
    0x4e08_11a1,
    0xf753_7e82,
    0xbd3a_f235,
    0x2ad7_d2bb,
    0xeb86_d391,
];

/// One step on every lane: `a = b + ((a + f(b, c, d) + k + m) <<< R)`.
#[inline(always)]
fn step<const R: u32>(
    a: &mut Word,
    (b, c, d): (&Word, &Word, &Word),
    m: &Word,
    k: u32,
    f: impl Fn(u32, u32, u32) -> u32,
) {
    for l in 0..LANES {
        a[l] = b[l].wrapping_add(
            a[l].wrapping_add(f(b[l], c[l], d[l]))
                .wrapping_add(k)
                .wrapping_add(m[l])
                .rotate_left(R),
        );
    }
}

/// Runs one 64-byte block of each lane through the compression function:
/// `state[w][l]` is word `w` (A, B, C, D) of lane `l`.
pub(crate) fn compress(state: &mut [Word; 4], blocks: [&[u8; 64]; LANES]) {
    // The block's sixteen little-endian words, lane by lane.
    let mut m = [[0u32; LANES]; 16];
    for (l, block) in blocks.iter().enumerate() {
        for (w, bytes) in block.chunks_exact(4).enumerate() {
            m[w][l] = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        }
    }
    let [mut a, mut b, mut c, mut d] = *state;
    let f = |x: u32, y: u32, z: u32| (x & y) | (!x & z);
    let g = |x: u32, y: u32, z: u32| (x & z) | (y & !z);
    let h = |x: u32, y: u32, z: u32| x ^ y ^ z;
    let i = |x: u32, y: u32, z: u32| y ^ (x | !z);
    // Four steps: the words rotate (a, b, c, d) -> (d, a, b, c) each step.
    macro_rules! four {
        ($fun:ident, $k:expr, [$m0:expr, $m1:expr, $m2:expr, $m3:expr], [$r0:literal, $r1:literal, $r2:literal, $r3:literal]) => {
            step::<$r0>(&mut a, (&b, &c, &d), &m[$m0], K[$k], $fun);
            step::<$r1>(&mut d, (&a, &b, &c), &m[$m1], K[$k + 1], $fun);
            step::<$r2>(&mut c, (&d, &a, &b), &m[$m2], K[$k + 2], $fun);
            step::<$r3>(&mut b, (&c, &d, &a), &m[$m3], K[$k + 3], $fun);
        };
    }
    four!(f, 0, [0, 1, 2, 3], [7, 12, 17, 22]);
    four!(f, 4, [4, 5, 6, 7], [7, 12, 17, 22]);
    four!(f, 8, [8, 9, 10, 11], [7, 12, 17, 22]);
    four!(f, 12, [12, 13, 14, 15], [7, 12, 17, 22]);
    four!(g, 16, [1, 6, 11, 0], [5, 9, 14, 20]);
    four!(g, 20, [5, 10, 15, 4], [5, 9, 14, 20]);
    four!(g, 24, [9, 14, 3, 8], [5, 9, 14, 20]);
    four!(g, 28, [13, 2, 7, 12], [5, 9, 14, 20]);
    four!(h, 32, [5, 8, 11, 14], [4, 11, 16, 23]);
    four!(h, 36, [1, 4, 7, 10], [4, 11, 16, 23]);
    four!(h, 40, [13, 0, 3, 6], [4, 11, 16, 23]);
    four!(h, 44, [9, 12, 15, 2], [4, 11, 16, 23]);
    four!(i, 48, [0, 7, 14, 5], [6, 10, 15, 21]);
    four!(i, 52, [12, 3, 10, 1], [6, 10, 15, 21]);
    four!(i, 56, [8, 15, 6, 13], [6, 10, 15, 21]);
    four!(i, 60, [4, 11, 2, 9], [6, 10, 15, 21]);
    for l in 0..LANES {
        state[0][l] = state[0][l].wrapping_add(a[l]);
        state[1][l] = state[1][l].wrapping_add(b[l]);
        state[2][l] = state[2][l].wrapping_add(c[l]);
        state[3][l] = state[3][l].wrapping_add(d[l]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use md5::{Digest, Md5};

    /// Whole blocks of each lane through `compress`, then MD5's padding
    /// through the same function: the digest of each lane.
    fn digests(inputs: [&[u8]; LANES]) -> [[u8; 16]; LANES] {
        let mut state = [[0u32; LANES]; 4];
        for (w, init) in INIT.iter().enumerate() {
            state[w] = [*init; LANES];
        }
        let padded: Vec<Vec<u8>> = inputs
            .iter()
            .map(|input| {
                let mut p = input.to_vec();
                p.push(0x80);
                while p.len() % 64 != 56 {
                    p.push(0);
                }
                p.extend_from_slice(&(input.len() as u64 * 8).to_le_bytes());
                p
            })
            .collect();
        let blocks = padded.iter().map(|p| p.len() / 64).max().unwrap();
        let zero = [0u8; 64];
        for n in 0..blocks {
            let before = state;
            let block = |l: usize| -> &[u8; 64] {
                padded[l]
                    .get(n * 64..n * 64 + 64)
                    .map_or(&zero, |b| b.try_into().unwrap())
            };
            compress(&mut state, [block(0), block(1), block(2), block(3)]);
            for l in 0..LANES {
                if n * 64 >= padded[l].len() {
                    for w in 0..4 {
                        state[w][l] = before[w][l];
                    }
                }
            }
        }
        std::array::from_fn(|l| {
            let mut out = [0u8; 16];
            for w in 0..4 {
                out[4 * w..4 * w + 4].copy_from_slice(&state[w][l].to_le_bytes());
            }
            out
        })
    }

    #[test]
    fn four_lanes_agree_with_md5_of_each_input() {
        let data: Vec<u8> = (0..5000u32).map(|i| (i * 7 + i / 13) as u8).collect();
        for lens in [
            [0, 1, 55, 56],
            [63, 64, 65, 119],
            [120, 127, 128, 1000],
            [4999, 3, 0, 200],
        ] {
            let inputs = lens.map(|n| &data[..n]);
            let got = digests(inputs);
            for l in 0..LANES {
                let want: [u8; 16] = Md5::digest(inputs[l]).into();
                assert_eq!(got[l], want, "lane {l}, {} bytes", lens[l]);
            }
        }
    }
}
