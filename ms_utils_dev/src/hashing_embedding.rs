//! A small, deterministic text embedding by feature hashing, for the worker
//! stand-in ([`worker`](crate::worker)) and for tests: no model, no GPU, the
//! same vector for the same text on every machine and every run.
//!
//! It is a real embedding in the bag-of-n-grams sense: texts sharing words
//! get a positive cosine similarity, texts sharing none get (about) zero. It
//! is no substitute for a trained model's semantics.
//!
//! # The algorithm (stable; reimplement it anywhere from this description)
//!
//! 1. Lower-case the text (Unicode), then cut it into words: maximal runs of
//!    alphanumeric characters (`char::is_alphanumeric`); everything else
//!    separates.
//! 2. The features are every word (unigram) and every pair of adjacent words
//!    joined by one space (bigram), in text order.
//! 3. Each feature's UTF-8 bytes are hashed twice with 64-bit FNV-1a, once with
//!    the standard offset basis `0xcbf29ce484222325` (the *index hash*) and
//!    once with basis `0x84222325cbf29ce4` (the *sign hash*); each result then
//!    goes through MurmurHash3's 64-bit finaliser (`fmix64`), because FNV's low
//!    bits mix poorly.
//! 4. The feature adds `+1.0` to dimension `index_hash % dims` when the sign
//!    hash's top bit is 0, `-1.0` when it is 1 (signing keeps collisions from
//!    piling up in one direction).
//! 5. When `normalize` is true the vector is divided by its L2 norm (a text
//!    without words stays all zeros).
//!
//! ```
//! use ms_utils_dev::hashing_embedding::{DIMENSIONS, cosine, embed};
//!
//! let a = embed("The cat sat on the mat", true);
//! let b = embed("the CAT sat on the mat!", true);
//! let c = embed("quarterly revenue grew", true);
//! assert_eq!(a.len(), DIMENSIONS);
//! assert_eq!(a, b); // case and punctuation do not matter
//! assert!(cosine(&a, &c).abs() < 0.5);
//! ```

/// The dimension of [`embed`]'s vectors.
///
/// ```
/// use ms_utils_dev::hashing_embedding::{DIMENSIONS, embed};
/// assert_eq!(embed("x", false).len(), DIMENSIONS);
/// ```
pub const DIMENSIONS: usize = 384;

const INDEX_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
const SIGN_BASIS: u64 = 0x8422_2325_cbf2_9ce4;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

fn fnv1a(bytes: &[u8], basis: u64) -> u64 {
    bytes
        .iter()
        .fold(basis, |h, &b| (h ^ u64::from(b)).wrapping_mul(FNV_PRIME))
}

fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^= k >> 33;
    k
}

/// The words of `text`: lower-cased runs of alphanumeric characters.
///
/// ```
/// use ms_utils_dev::hashing_embedding::words;
/// assert_eq!(words("Héllo, wörld! 42x"), ["héllo", "wörld", "42x"]);
/// ```
pub fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The features of `text`: its words, then its adjacent word pairs.
///
/// ```
/// use ms_utils_dev::hashing_embedding::features;
/// assert_eq!(features("a b c"), ["a", "b", "c", "a b", "b c"]);
/// ```
pub fn features(text: &str) -> Vec<String> {
    let words = words(text);
    let bigrams: Vec<String> = words
        .windows(2)
        .map(|p| format!("{} {}", p[0], p[1]))
        .collect();
    let mut out = words;
    out.extend(bigrams);
    out
}

/// The `(dimension, sign)` a feature adds to, in a vector of `dims` dimensions.
///
/// ```
/// use ms_utils_dev::hashing_embedding::slot;
/// let (i, s) = slot("cat", 384);
/// assert!(i < 384 && (s == 1.0 || s == -1.0));
/// assert_eq!(slot("cat", 384), (i, s));
/// ```
pub fn slot(feature: &str, dims: usize) -> (usize, f32) {
    let dims = dims.max(1) as u64;
    let index = fmix64(fnv1a(feature.as_bytes(), INDEX_BASIS)) % dims;
    let sign = if fmix64(fnv1a(feature.as_bytes(), SIGN_BASIS)) >> 63 == 0 {
        1.0
    } else {
        -1.0
    };
    // `index < dims`, which came from a usize.
    (usize::try_from(index).unwrap_or(0), sign)
}

/// The embedding of `text` in `dims` dimensions (see the module docs).
/// `dims == 0` gives an empty vector.
///
/// ```
/// use ms_utils_dev::hashing_embedding::embed_with_dims;
/// let v = embed_with_dims("one two", 8, false);
/// assert_eq!(v.len(), 8);
/// // Three features (two words, one pair), each adding ±1.
/// assert!(v.iter().map(|x| x.abs()).sum::<f32>() <= 3.0);
/// ```
pub fn embed_with_dims(text: &str, dims: usize, normalize: bool) -> Vec<f32> {
    let mut v = vec![0.0f32; dims];
    if dims == 0 {
        return v;
    }
    for feature in features(text) {
        let (i, sign) = slot(&feature, dims);
        v[i] += sign;
    }
    if normalize {
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            v.iter_mut().for_each(|x| *x /= norm);
        }
    }
    v
}

/// The embedding of `text` in [`DIMENSIONS`] dimensions, L2-normalised when
/// `normalize` is true.
///
/// ```
/// use ms_utils_dev::hashing_embedding::embed;
/// let v = embed("hello world", true);
/// let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
/// assert!((norm - 1.0).abs() < 1e-6);
/// ```
pub fn embed(text: &str, normalize: bool) -> Vec<f32> {
    embed_with_dims(text, DIMENSIONS, normalize)
}

/// The cosine similarity of two vectors (0 when either is all zeros).
///
/// ```
/// use ms_utils_dev::hashing_embedding::{cosine, embed};
/// let v = embed("same words", false);
/// assert!((cosine(&v, &v) - 1.0).abs() < 1e-6);
/// ```
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_the_published_test_vectors() {
        // From the FNV reference (draft-eastlake-fnv): "" and "a" and "foobar".
        assert_eq!(fnv1a(b"", INDEX_BASIS), 0xcbf29ce484222325);
        assert_eq!(fnv1a(b"a", INDEX_BASIS), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a(b"foobar", INDEX_BASIS), 0x85944171f73967e8);
    }

    #[test]
    fn vectors_are_pinned_so_that_other_implementations_can_check_theirs() {
        // Computed by an independent Python implementation of the module
        // docs' algorithm. If this changes, every vector the worker made changes.
        assert_eq!(slot("hello", DIMENSIONS), (324, 1.0));
        assert_eq!(slot("world", DIMENSIONS), (277, -1.0));
        assert_eq!(slot("hello world", DIMENSIONS), (85, -1.0));
        let v = embed("Hello, world", false);
        let nonzero: Vec<(usize, f32)> = v
            .iter()
            .enumerate()
            .filter(|(_, x)| **x != 0.0)
            .map(|(i, x)| (i, *x))
            .collect();
        assert_eq!(nonzero, [(85, -1.0), (277, -1.0), (324, 1.0)]);
    }

    #[test]
    fn normalised_vectors_have_unit_length_and_empty_text_stays_zero() {
        for text in ["a", "a b c d e f g", "ünïcödé wörds", "x x x x"] {
            let v = embed(text, true);
            let n: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            assert!((n - 1.0).abs() < 1e-5, "{text}: {n}");
        }
        assert!(embed("  ,;!  ", true).iter().all(|x| *x == 0.0));
    }

    #[test]
    fn shared_words_give_higher_similarity_than_unrelated_text() {
        let a = embed("the quick brown fox jumps", true);
        let b = embed("a quick brown fox sleeps", true);
        let c = embed("interest rates rose sharply", true);
        assert!(cosine(&a, &b) > 0.3);
        assert!(cosine(&a, &b) > cosine(&a, &c) + 0.2);
    }

    #[test]
    fn word_order_matters_through_bigrams() {
        let a = embed("dog bites man", false);
        let b = embed("man bites dog", false);
        assert_ne!(a, b);
        assert!(cosine(&a, &b) > 0.3); // same words
    }

    #[test]
    fn indexes_spread_over_the_dimensions() {
        let mut hit = [0u32; DIMENSIONS];
        for i in 0..20_000 {
            hit[slot(&format!("w{i}"), DIMENSIONS).0] += 1;
        }
        // ~52 per bucket on average; a poor mix leaves buckets empty or crowded.
        assert!(hit.iter().all(|&h| (15..=110).contains(&h)), "{hit:?}");
    }
}
