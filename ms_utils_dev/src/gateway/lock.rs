//! The gateway's one way to take a `std::sync::Mutex`.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks a mutex even if a panicking thread poisoned it: every critical
/// section in the gateway leaves its data consistent (a table, a counter
/// set, a recording), so a later holder has nothing half-done to trip on.
pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
