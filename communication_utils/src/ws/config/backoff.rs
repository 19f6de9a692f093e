//! Reconnect delays: exponential backoff with full jitter, as a pure function.

use std::time::Duration;

use rand::Rng;

/// How much each ceiling grows over the one before it.
const GROWTH: f64 = 1.5;

/// When and how often to reconnect after the connection is lost.
///
/// The delay before attempt `n` (1-based) is drawn uniformly from
/// `[0, min(max_delay, initial_delay * 1.5^(n-1)))` ("full jitter"), so that
/// many services cut off by the same gateway restart do not come back in
/// lockstep. The default ceiling grows from 0.5 s to 5 s (0.5, 0.75, 1.125,
/// 1.69, 2.53, 3.8, then 5 s): a gateway back after a deploy of a few
/// seconds (or a minute) finds its services back within about 1.5 s at the
/// median, 5 s at most. The growth is 1.5 rather than the usual 2 so that a
/// short outage (3 s) does not end in the middle of a long wait: with
/// doubling, the fifth ceiling is 4 s already (`examples/BENCHMARKS.md`,
/// "Back after a gateway outage").
///
/// ```
/// use std::time::Duration;
/// use ms_utils_communication::ws::ReconnectPolicy;
///
/// let policy = ReconnectPolicy::default();
/// assert_eq!(policy.ceiling(1), Duration::from_millis(500));
/// assert_eq!(policy.ceiling(3), Duration::from_millis(1125));
/// assert_eq!(policy.ceiling(50), Duration::from_secs(5));
/// let d = policy.delay(3);
/// assert!(d <= Duration::from_millis(1125));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReconnectPolicy {
    /// Ceiling of the first delay (default 0.5 s).
    pub initial_delay: Duration,
    /// Largest ceiling (default 5 s).
    pub max_delay: Duration,
    /// Give up (and close the client) after this many failed attempts in a row;
    /// `None` (the default) never gives up.
    pub max_attempts: Option<u32>,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        Self {
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(5),
            max_attempts: None,
        }
    }
}

impl ReconnectPolicy {
    /// A policy with the given first and largest ceiling, never giving up.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use ms_utils_communication::ws::ReconnectPolicy;
    /// let p = ReconnectPolicy::new(Duration::from_millis(10), Duration::from_secs(1));
    /// assert_eq!(p.ceiling(2), Duration::from_millis(15));
    /// ```
    pub fn new(initial_delay: Duration, max_delay: Duration) -> Self {
        Self {
            initial_delay,
            max_delay,
            max_attempts: None,
        }
    }

    /// The same policy giving up after `attempts` failed attempts in a row.
    ///
    /// ```
    /// # use ms_utils_communication::ws::ReconnectPolicy;
    /// let p = ReconnectPolicy::default().with_max_attempts(Some(5));
    /// assert_eq!(p.max_attempts, Some(5));
    /// ```
    #[must_use]
    pub fn with_max_attempts(mut self, attempts: Option<u32>) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// The upper bound of the delay before attempt `attempt` (1-based; 0 is
    /// treated as 1): `min(max_delay, initial_delay * 1.5^(attempt-1))`.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use ms_utils_communication::ws::ReconnectPolicy;
    /// assert_eq!(ReconnectPolicy::default().ceiling(2), Duration::from_millis(750));
    /// ```
    pub fn ceiling(&self, attempt: u32) -> Duration {
        // Past 1.5^200 every ceiling is the cap; the float stays finite.
        let exponent = attempt.saturating_sub(1).min(200);
        let grown = self.initial_delay.as_secs_f64() * GROWTH.powi(exponent as i32);
        if grown >= self.max_delay.as_secs_f64() {
            self.max_delay
        } else {
            // Whole nanoseconds, so that the ceilings are exact.
            Duration::from_nanos((grown * 1e9).round() as u64)
        }
    }

    /// The delay before attempt `attempt`: uniform in `[0, ceiling(attempt))`,
    /// drawn from a thread-local random generator.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use ms_utils_communication::ws::ReconnectPolicy;
    /// let p = ReconnectPolicy::default();
    /// assert!(p.delay(10) <= Duration::from_secs(5));
    /// ```
    pub fn delay(&self, attempt: u32) -> Duration {
        self.jittered(attempt, rand::rng().random::<f64>())
    }

    /// The delay before attempt `attempt` for a given draw `jitter` in
    /// `[0, 1)`: `jitter * ceiling(attempt)`. The pure core of
    /// [`delay`](Self::delay); values outside `[0, 1]` are clamped.
    pub(crate) fn jittered(&self, attempt: u32, jitter: f64) -> Duration {
        let jitter = if jitter.is_nan() {
            0.0
        } else {
            jitter.clamp(0.0, 1.0)
        };
        self.ceiling(attempt).mul_f64(jitter)
    }

    /// True when `attempts` failed attempts exhaust the policy.
    ///
    /// ```
    /// # use ms_utils_communication::ws::ReconnectPolicy;
    /// let p = ReconnectPolicy::default().with_max_attempts(Some(2));
    /// assert!(!p.gives_up_after(1));
    /// assert!(p.gives_up_after(2));
    /// assert!(!ReconnectPolicy::default().gives_up_after(1_000_000));
    /// ```
    pub fn gives_up_after(&self, attempts: u32) -> bool {
        self.max_attempts.is_some_and(|max| attempts >= max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceiling_grows_by_half_from_half_a_second_to_five() {
        let p = ReconnectPolicy::default();
        let got: Vec<u64> = (1..=8).map(|a| p.ceiling(a).as_micros() as u64).collect();
        assert_eq!(
            got,
            [
                500_000, 750_000, 1_125_000, 1_687_500, 2_531_250, 3_796_875, 5_000_000, 5_000_000
            ]
        );
        assert_eq!(p.ceiling(0), p.ceiling(1));
        assert_eq!(p.ceiling(u32::MAX), Duration::from_secs(5));
    }

    #[test]
    fn the_jitter_scales_the_ceiling() {
        // A first ceiling of 4 s.
        let p = ReconnectPolicy::new(Duration::from_secs(4), Duration::from_secs(5));
        assert_eq!(p.jittered(1, 0.0), Duration::ZERO);
        assert_eq!(p.jittered(1, 0.25), Duration::from_secs(1));
        assert_eq!(p.jittered(1, 0.5), Duration::from_secs(2));
        assert!(p.jittered(1, 0.999_999) < Duration::from_secs(4));
        // Out-of-range draws cannot leave [0, ceiling].
        assert_eq!(p.jittered(1, 7.0), Duration::from_secs(4));
        assert_eq!(p.jittered(1, -1.0), Duration::ZERO);
        assert_eq!(p.jittered(1, f64::NAN), Duration::ZERO);
        assert_eq!(p.jittered(50, 1.0), Duration::from_secs(5));
    }

    #[test]
    fn delay_is_full_jitter_within_the_ceiling() {
        let p = ReconnectPolicy::default();
        // The seventh ceiling is the 5 s cap.
        let delays: Vec<Duration> = (0..1000).map(|_| p.delay(7)).collect();
        assert!(delays.iter().all(|d| *d <= Duration::from_secs(5)));
        // Full jitter spreads over the whole range, not just near the ceiling
        // (each of these fails with probability 0.75^1000).
        assert!(delays.iter().any(|d| *d < Duration::from_millis(1250)));
        assert!(delays.iter().any(|d| *d > Duration::from_millis(3750)));
    }

    #[test]
    fn zero_initial_delay_never_waits() {
        let p = ReconnectPolicy::new(Duration::ZERO, Duration::ZERO);
        assert_eq!(p.delay(5), Duration::ZERO);
    }
}
