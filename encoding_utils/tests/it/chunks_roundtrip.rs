//! `chunk_messages` is the inverse of `ChunkAssembler`: a property-style test
//! over many payload sizes, piece sizes, arrival orders and seeds, with a
//! small deterministic PRNG (no extra dependency, reproducible failures).

use ms_utils_encoding::codec::{ChunkAssembler, ChunkLimits, chunk_messages};
use serde_json::{Value, json};
use tokio::time::Instant;

/// xorshift64*: deterministic, good enough to vary test inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const ALPHABET: &[char] = &['a', 'Z', '0', ' ', '"', '\\', '\n', 'é', '€', '😀', '\u{1}'];

fn random_value(rng: &mut Rng, target_len: usize) -> Value {
    let text: String = (0..target_len)
        .map(|_| ALPHABET[rng.below(ALPHABET.len())])
        .collect();
    // Integers and eighths: exact in binary, so the comparison tests the
    // chunking, not serde_json's float parsing.
    let numbers: Vec<Value> = (0..rng.below(8))
        .map(|i| {
            if i % 2 == 0 {
                json!(rng.next() >> 1)
            } else {
                json!(rng.below(1 << 20) as f64 / 8.0)
            }
        })
        .collect();
    json!({"event": "ms-task", "data": {"text": text, "numbers": numbers, "flag": rng.below(2) == 0, "none": null}})
}

#[test]
fn chunks_reassemble_to_the_original_value_over_many_sizes_and_orders() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let sizes = [0usize, 1, 2, 3, 7, 63, 64, 65, 500, 4_096, 70_000];
    let mut cases = 0;
    for seed in 0..12u64 {
        for &size in &sizes {
            let value = random_value(&mut rng, size + seed as usize);
            let serialized_len = serde_json::to_vec(&value).unwrap().len();
            for piece in [1, 2, 3, 5, 64, 1000, serialized_len, serialized_len + 10] {
                if serialized_len / piece > 3_000 {
                    continue; // tens of thousands of tiny chunks add time, not coverage
                }
                let job = format!("job-{seed}-{size}-{piece}");
                let mut chunks = chunk_messages(&job, &value, piece).unwrap();
                assert_eq!(chunks.len(), serialized_len.div_ceil(piece));
                for c in &chunks {
                    assert!(ChunkAssembler::is_chunk(c));
                    assert_eq!(c["max_index"], chunks.len());
                }
                // Any arrival order: Fisher-Yates with the test PRNG.
                for i in (1..chunks.len()).rev() {
                    chunks.swap(i, rng.below(i + 1));
                }
                // A repeated chunk is ignored, not counted twice.
                if chunks.len() > 1 {
                    let dup = chunks[0].clone();
                    chunks.insert(1, dup);
                }
                let mut asm = ChunkAssembler::new(ChunkLimits::default());
                let now = Instant::now();
                let mut whole = None;
                let last = chunks.len() - 1;
                for (i, c) in chunks.into_iter().enumerate() {
                    match asm.push(c, now) {
                        Ok(Some(v)) => {
                            assert_eq!(i, last, "{job}: complete before the last chunk");
                            whole = Some(v);
                        }
                        Ok(None) => assert!(i < last, "{job}: incomplete after the last chunk"),
                        Err(drop) => assert!(drop.is_duplicate(), "{job}: {drop}"),
                    }
                }
                assert_eq!(whole.as_ref(), Some(&value), "{job}");
                assert_eq!(asm.pending_jobs(), 0);
                cases += 1;
            }
        }
    }
    assert!(cases > 700, "{cases}");
}

#[test]
fn a_zero_piece_size_is_refused() {
    assert!(chunk_messages("j", &json!(1), 0).is_err());
}
