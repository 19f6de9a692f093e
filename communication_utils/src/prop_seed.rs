//! The random generator of a property test: seeded at random each run, or
//! from `MS_UTILS_PROP_SEED` to replay a failure. Each test prints its seed
//! in the message of a failing case.

use rand::SeedableRng;
use rand::rngs::StdRng;

/// The variable that replays a run: `MS_UTILS_PROP_SEED=<seed>`.
pub(crate) const SEED_VAR: &str = "MS_UTILS_PROP_SEED";

/// A generator and the seed it started from.
pub(crate) fn rng() -> (StdRng, u64) {
    let seed = std::env::var(SEED_VAR)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random::<u64>);
    (StdRng::seed_from_u64(seed), seed)
}
