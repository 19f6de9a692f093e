//! `time_it!`, the replacement for Python's `time_it_decorator`.
//!
//! A macro rather than a function so that the line it logs carries the
//! caller's file and line (the event is expanded at the call site), and a drop
//! guard so that the time is logged however the body ends: a value, an error
//! returned with `?`, a panic, or a future dropped before it finished.

use std::fmt;
use std::time::{Duration, Instant};

/// Calls a closure with the elapsed time when dropped. The building block of
/// [`time_it!`](crate::time_it); use it directly to time a whole scope.
///
/// # Examples
///
/// ```
/// use ms_utils_logging::TimeItGuard;
///
/// let mut seen = None;
/// {
///     let _timer = TimeItGuard::start(|elapsed| seen = Some(elapsed));
///     // ... work ...
/// }
/// assert!(seen.is_some());
/// ```
#[must_use = "the time is taken when the guard is dropped: bind it to a named variable"]
pub struct TimeItGuard<F: FnOnce(Duration)> {
    start: Instant,
    on_drop: Option<F>,
}

impl<F: FnOnce(Duration)> TimeItGuard<F> {
    /// Starts the clock.
    ///
    /// # Examples
    ///
    /// ```
    /// let _timer = ms_utils_logging::TimeItGuard::start(|elapsed| {
    ///     tracing::info!("scope took {elapsed:?}");
    /// });
    /// ```
    pub fn start(on_drop: F) -> Self {
        Self {
            start: Instant::now(),
            on_drop: Some(on_drop),
        }
    }
}

impl<F: FnOnce(Duration)> Drop for TimeItGuard<F> {
    fn drop(&mut self) {
        if let Some(on_drop) = self.on_drop.take() {
            on_drop(self.start.elapsed());
        }
    }
}

impl<F: FnOnce(Duration)> fmt::Debug for TimeItGuard<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimeItGuard")
            .field("start", &self.start)
            .finish_non_exhaustive()
    }
}

/// Times an expression, or a future to completion, and logs
/// `"<name> executed in 0.00012345s"` at INFO (the text of Python's
/// `time_it_decorator`, 8 decimals), then gives back the value.
///
/// - `time_it!("name", expr)` evaluates `expr` and returns its value.
/// - `time_it!(async "name", future)` returns a future that awaits `future`
///   and resolves to its output; the clock runs from its first poll to its
///   completion (the original timed only the coroutine's creation).
///
/// The line carries the caller's file and line and target, and is logged
/// however the body ends: with a value, with an `Err` (also through `?`), by
/// panicking, or (for a future) by being dropped before it finished. The name
/// is any `Display` value.
///
/// # Cancellation safety
///
/// The `async` form adds no state of its own beyond the wrapped future's:
/// dropping it (in a `select!` branch that lost, on a timeout) drops the
/// wrapped future and logs the time it had run, if it was ever polled.
///
/// # Examples
///
/// ```
/// use ms_utils_logging::time_it;
///
/// fn parse(input: &str) -> Result<u32, std::num::ParseIntError> {
///     // Logged even when parsing fails and `?` returns early.
///     let n = time_it!("parse", input.parse::<u32>())?;
///     Ok(n * 2)
/// }
/// assert_eq!(parse("21"), Ok(42));
/// assert!(parse("x").is_err());
/// ```
///
/// ```
/// use ms_utils_logging::time_it;
///
/// # async fn fetch() -> u32 { 7 }
/// # async fn run() {
/// let n = time_it!(async "fetch", fetch()).await;
/// assert_eq!(n, 7);
/// # }
/// ```
#[macro_export]
macro_rules! time_it {
    (async $name:expr, $future:expr $(,)?) => {{
        let __time_it_name = $name;
        let __time_it_future = $future;
        async move {
            let __time_it_guard = $crate::TimeItGuard::start(|elapsed: ::std::time::Duration| {
                $crate::__private::tracing::info!(
                    "{} executed in {:.8}s",
                    __time_it_name,
                    elapsed.as_secs_f64()
                );
            });
            __time_it_future.await
        }
    }};
    ($name:expr, $body:expr $(,)?) => {{
        let __time_it_name = $name;
        let __time_it_guard = $crate::TimeItGuard::start(|elapsed: ::std::time::Duration| {
            $crate::__private::tracing::info!(
                "{} executed in {:.8}s",
                __time_it_name,
                elapsed.as_secs_f64()
            );
        });
        $body
    }};
}
