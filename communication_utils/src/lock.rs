//! The crate's one way to take a `std::sync::Mutex`: a lock poisoned by a
//! panic elsewhere is taken anyway. Every mutex here guards plain data whose
//! invariants hold between statements (a queue, a table, a buffer), so a
//! panicking holder leaves nothing half-done that a later holder could trip
//! on, and refusing the lock would turn one panic into a dead client.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `mutex`, ignoring poison (see the module's header).
pub(crate) fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_poisoned_lock_is_taken_anyway() {
        let m = std::sync::Arc::new(Mutex::new(1));
        let m2 = m.clone();
        let _ = std::thread::spawn(move || {
            let _g = m2.lock().unwrap();
            panic!("poison it");
        })
        .join();
        assert!(m.is_poisoned());
        *lock(&m) += 1;
        assert_eq!(*lock(&m), 2);
    }
}
