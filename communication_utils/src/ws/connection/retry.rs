//! Dialing until it works: the client's one retry loop, for the first
//! connect and for every reconnect of the connection task.
//!
//! Between attempts it waits the [`ReconnectPolicy`]'s delays (exponential
//! backoff with full jitter), up to the policy's `max_attempts`. A deadline,
//! when there is one, is tried to its end: an attempt still running there
//! is cut off, and a wait that would cross it is shortened so that a last
//! attempt starts [`FINAL_ATTEMPT`] before it. Each failure that is retried
//! is logged once, at WARN; the final error is the caller's to report.

use std::time::Duration;

use tokio::time::{Instant, sleep, timeout_at};

use crate::ws::config::backoff::ReconnectPolicy;
use crate::ws::connection::auth::Token;
use crate::ws::connection::dial::{Dialer, WsStream};
use crate::ws::error::Error;

/// How long before a deadline the last attempt starts: time enough for a
/// login and a handshake on a working network.
pub(crate) const FINAL_ATTEMPT: Duration = Duration::from_secs(1);

/// How one run of [`dial_with_retry`] retries.
#[derive(Debug, Clone)]
pub(crate) struct Retry {
    pub(crate) policy: ReconnectPolicy,
    /// When to stop (the first connect's `connect_deadline`), and that
    /// deadline's length, for the error.
    pub(crate) deadline: Option<(Instant, Duration)>,
    /// The first attempt starts at once (the first connect, a connection
    /// the client replaces); otherwise after the first backoff delay (a
    /// connection lost).
    pub(crate) at_once: bool,
    /// Which failures are worth another attempt.
    pub(crate) retry_if: fn(&Error) -> bool,
    /// The WARN line of a failure that is retried (the error follows it).
    pub(crate) retrying: &'static str,
}

/// One step of the loop, for the caller to report.
#[derive(Debug)]
pub(crate) enum Step<'a> {
    /// Attempt `attempt` (1-based) starts after `delay`.
    Attempt { attempt: u32, delay: Duration },
    /// The attempt failed (retried or not).
    Failed { error: &'a Error },
}

/// Dials until an attempt succeeds; reports each step to `report`.
///
/// # Errors
/// A failure `retry_if` refuses, as it is; [`Error::GaveUp`] after the
/// policy's `max_attempts`; [`Error::ConnectDeadline`] when the deadline
/// passed. The last two carry the last failure.
pub(crate) async fn dial_with_retry(
    dialer: &Dialer,
    retry: &Retry,
    mut report: impl FnMut(Step<'_>),
) -> Result<(WsStream, Option<Token>), Error> {
    let policy = &retry.policy;
    let mut attempt: u32 = 0;
    let mut waits: u32 = 0;
    let mut delay = if retry.at_once {
        Duration::ZERO
    } else {
        waits += 1;
        policy.delay(waits)
    };
    let mut last_attempt = false;
    loop {
        attempt = attempt.saturating_add(1);
        report(Step::Attempt { attempt, delay });
        sleep(delay).await;
        let result = match retry.deadline {
            Some((at, after)) => {
                timeout_at(at, dialer.dial())
                    .await
                    .unwrap_or(Err(Error::Timeout {
                        what: "connect deadline",
                        after,
                    }))
            }
            None => dialer.dial().await,
        };
        let error = match result {
            Ok(connection) => return Ok(connection),
            Err(error) => error,
        };
        report(Step::Failed { error: &error });
        if !(retry.retry_if)(&error) {
            return Err(error);
        }
        if policy.gives_up_after(attempt) {
            return Err(Error::GaveUp {
                attempts: attempt,
                last: Box::new(error),
            });
        }
        waits = waits.saturating_add(1);
        delay = policy.delay(waits);
        if let Some((at, after)) = retry.deadline {
            let remaining = at.saturating_duration_since(Instant::now());
            if last_attempt || remaining.is_zero() {
                return Err(Error::ConnectDeadline {
                    after,
                    attempts: attempt,
                    last: Box::new(error),
                });
            }
            if delay >= remaining.saturating_sub(FINAL_ATTEMPT) {
                delay = remaining.saturating_sub(FINAL_ATTEMPT);
                last_attempt = true;
            }
        }
        tracing::warn!(attempt, ?delay, "{}: {error}", retry.retrying);
    }
}
