//! The bound on every wait of a test: a step that hangs fails the test with
//! the step's name instead of hanging the run.

use std::future::Future;
use std::time::Duration;

/// How long [`within`] lets one step of a test take.
pub const STEP_LIMIT: Duration = Duration::from_secs(30);

/// `fut`'s output, or a panic naming `what` once [`STEP_LIMIT`] has passed.
///
/// Under paused tokio time the limit is in virtual time, so it costs
/// nothing; use [`within_for`] where a step is meant to take longer.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use ms_utils_dev::testing::within;
///
/// let answer = within("the answer", async { 42 }).await;
/// assert_eq!(answer, 42);
/// # }
/// ```
pub fn within<F: Future>(what: &str, fut: F) -> impl Future<Output = F::Output> {
    // Not an `async fn` of its own: one layer less around a test's (often
    // large) future keeps debug builds' stack use down.
    within_for(what, STEP_LIMIT, fut)
}

/// `fut`'s output, or a panic naming `what` and `limit` once `limit` has
/// passed (in virtual time when the clock is paused).
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// use std::time::Duration;
/// use ms_utils_dev::testing::within_for;
///
/// // 60 virtual seconds of sleep, bounded by 90: instant under paused time.
/// within_for("a long sleep", Duration::from_secs(90), tokio::time::sleep(Duration::from_secs(60))).await;
/// # }
/// ```
pub async fn within_for<T>(what: &str, limit: Duration, fut: impl Future<Output = T>) -> T {
    match tokio::time::timeout(limit, fut).await {
        Ok(v) => v,
        Err(_) => panic!("timed out after {limit:?} waiting for {what}"),
    }
}
