//! The handler concurrency bound: a counter, cheaper per message than a
//! semaphore (one atomic increment to enter, one decrement to leave, a wake-up
//! only when the bound was reached).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Notify;

#[derive(Debug)]
pub(crate) struct Gate {
    in_flight: AtomicUsize,
    limit: usize,
    freed: Notify,
}

/// One place under the bound; leaving it frees the place.
#[derive(Debug)]
pub(crate) struct GatePermit(Arc<Gate>);

impl Drop for GatePermit {
    fn drop(&mut self) {
        let before = self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
        if before == self.0.limit {
            // Only a full gate can have a waiter.
            self.0.freed.notify_one();
        }
    }
}

impl Gate {
    pub(crate) fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self {
            in_flight: AtomicUsize::new(0),
            limit: limit.max(1),
            freed: Notify::new(),
        })
    }

    pub(crate) fn try_acquire(self: &Arc<Self>) -> Option<GatePermit> {
        let mut current = self.in_flight.load(Ordering::Acquire);
        loop {
            if current >= self.limit {
                return None;
            }
            match self.in_flight.compare_exchange_weak(
                current,
                current + 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Some(GatePermit(self.clone())),
                Err(now) => current = now,
            }
        }
    }

    /// Waits for a place. Cancel-safe.
    pub(crate) async fn acquire(self: &Arc<Self>) -> GatePermit {
        loop {
            if let Some(p) = self.try_acquire() {
                return p;
            }
            let freed = self.freed.notified();
            tokio::pin!(freed);
            // Registered before the re-check, so a release in between is not missed.
            freed.as_mut().enable();
            if self.in_flight.load(Ordering::Acquire) < self.limit {
                continue;
            }
            freed.await;
        }
    }

    #[cfg(test)]
    fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn never_more_than_the_limit() {
        let gate = Gate::new(2);
        let a = gate.try_acquire().unwrap();
        let _b = gate.try_acquire().unwrap();
        assert!(gate.try_acquire().is_none());
        drop(a);
        assert!(gate.try_acquire().is_some());
    }

    #[tokio::test]
    async fn a_waiter_wakes_when_a_place_frees() {
        let gate = Gate::new(1);
        let held = gate.acquire().await;
        let waiter = {
            let gate = gate.clone();
            tokio::spawn(async move { gate.acquire().await })
        };
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        drop(held);
        let p = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(gate.in_flight(), 1);
        drop(p);
        assert_eq!(gate.in_flight(), 0);
    }

    /// Property test: on random sequences of entries and leavings, the
    /// gate admits exactly when a `tokio::sync::Semaphore` of as many
    /// permits does, and counts the same places taken. The seed is random
    /// per run and printed on failure; `MS_UTILS_PROP_SEED=<seed>` replays one.
    #[test]
    fn admits_as_a_semaphore_of_as_many_permits_does() {
        use rand::Rng;
        use tokio::sync::Semaphore;

        let (mut rng, seed) = crate::prop_seed::rng();
        for case in 0..5000 {
            let limit = rng.random_range(0..=8);
            let gate = Gate::new(limit);
            let sem = Arc::new(Semaphore::new(limit.max(1)));
            let mut held = Vec::new();
            for step in 0..100 {
                if held.is_empty() || rng.random_bool(0.55) {
                    let ours = gate.try_acquire();
                    let plain = sem.clone().try_acquire_owned().ok();
                    assert_eq!(
                        ours.is_some(),
                        plain.is_some(),
                        "seed {seed} case {case} step {step} (limit {limit})"
                    );
                    if let (Some(o), Some(p)) = (ours, plain) {
                        held.push((o, p));
                    }
                } else {
                    let i = rng.random_range(0..held.len());
                    drop(held.swap_remove(i));
                }
                assert_eq!(
                    gate.in_flight(),
                    limit.max(1) - sem.available_permits(),
                    "seed {seed} case {case} step {step} (limit {limit})"
                );
            }
        }
    }
}
