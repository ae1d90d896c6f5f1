//! The one way the service takes its locks: a poisoned mutex is recovered,
//! not turned into a panic of every later request.
//!
//! A mutex is poisoned when a thread panicked while holding it. Recovering
//! is safe for every state the service guards, because none of them is
//! left half-changed by a panic:
//!
//! - the directory lock guards no data, only the order of directory
//!   changes and their index rebuilds;
//! - the learned model and the learner's wake-up sender are replaced whole
//!   (one assignment of an `Arc` or an `Option`), never edited in place;
//! - the open-question counts are changed one `+= 1` or `-= 1` at a time;
//!   a panic between two of them leaves counts that are each correct for
//!   the changes applied, and counts only steer which expert is picked.

use std::sync::{Mutex, MutexGuard};

/// Locking that survives a panic of another holder (see the module docs
/// for why that is safe here).
pub(crate) trait LockExt<T> {
    /// The guard, whether or not an earlier holder panicked.
    fn lock_or_recover(&self) -> MutexGuard<'_, T>;
}

impl<T> LockExt<T> for Mutex<T> {
    fn lock_or_recover(&self) -> MutexGuard<'_, T> {
        self.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_poisoned_by_a_panic_is_still_usable() {
        let m = std::sync::Arc::new(Mutex::new(1));
        let held = m.clone();
        let _ = std::thread::spawn(move || {
            let _guard = held.lock().unwrap();
            panic!("poison the lock");
        })
        .join();
        assert!(m.is_poisoned());
        *m.lock_or_recover() += 1;
        assert_eq!(*m.lock_or_recover(), 2);
    }
}
