//! Group commit: every write waits until it is on disk, and writers that
//! wait at the same moment share one flush.
//!
//! Not sled's `flush_async`, which deadlocks under concurrent writers in
//! sled 0.34.7 (sled #1308, #1241, #1357). A writer takes a ticket after
//! its transaction committed; if nobody is flushing it becomes the leader
//! and flushes everything committed so far (all tickets issued before the
//! flush started); otherwise it waits for a leader whose flush covers its
//! ticket. After sled's `flush()` the log file is `fsync`ed as well: on
//! Linux sled 0.34.7 ends its flush with `sync_file_range`, which neither
//! empties the disk's write cache nor persists the file size, so without
//! the `fsync` an acknowledged write could be lost in a power cut.

use super::StoreError;
use std::fs::File;
use std::io;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::Instant;

/// Told about every group commit (for metrics): how long the flush and
/// fsync took and how many writes it made durable. Called by the leader
/// after its flush, outside the lock, so it must be quick.
pub trait CommitObserver: Send + Sync {
    /// A flush of `writes` waiting writes took `seconds`.
    fn committed(&self, seconds: f64, writes: u64);
}

#[derive(Debug, Default)]
struct State {
    /// The last ticket handed out.
    issued: u64,
    /// Every ticket up to this one is durable.
    durable: u64,
    /// A leader is flushing.
    flushing: bool,
    /// Flushes done (for tests and metrics).
    flushes: u64,
    /// The first flush failure. After it nothing is acknowledged any more:
    /// Linux reports a failed write-back once and may drop the pages, so a
    /// later successful fsync would not mean the earlier writes are on disk.
    failed: Option<(io::ErrorKind, String)>,
}

/// The group-commit coordinator of one sled database.
pub struct GroupCommit {
    db: sled::Db,
    log: File,
    state: Mutex<State>,
    done: Condvar,
    observer: OnceLock<Arc<dyn CommitObserver>>,
}

impl GroupCommit {
    /// Coordinates flushes of `db`, whose log file `log` is fsynced after
    /// each flush.
    pub fn new(db: sled::Db, log: File) -> Self {
        GroupCommit {
            db,
            log,
            state: Mutex::new(State::default()),
            done: Condvar::new(),
            observer: OnceLock::new(),
        }
    }

    /// Reports every later commit to `observer` (the first one set stays).
    pub fn observe(&self, observer: Arc<dyn CommitObserver>) {
        let _ = self.observer.set(observer);
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is a few counters that are always consistent; a panic
        // elsewhere while holding the lock does not invalidate them.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Returns once everything committed before the call is durable.
    pub fn wait_durable(&self) -> Result<(), StoreError> {
        let mut st = self.lock();
        st.issued += 1;
        let ticket = st.issued;
        loop {
            if let Some((kind, text)) = &st.failed {
                return Err(StoreError::io(
                    "writes could not be made durable; the store refuses writes until it is reopened",
                    io::Error::new(*kind, text.clone()),
                ));
            }
            if st.durable >= ticket {
                return Ok(());
            }
            if !st.flushing {
                st.flushing = true;
                let target = st.issued;
                let writes = target - st.durable;
                drop(st);
                let started = Instant::now();
                let result = self.flush_to_disk();
                if let (Ok(()), Some(observer)) = (&result, self.observer.get()) {
                    observer.committed(started.elapsed().as_secs_f64(), writes);
                }
                st = self.lock();
                st.flushing = false;
                match &result {
                    Ok(()) => {
                        st.durable = st.durable.max(target);
                        st.flushes += 1;
                    }
                    Err(e) => st.failed = Some((e.kind(), e.to_string())),
                }
                self.done.notify_all();
                // The first failure is reported by the loop like any later one.
                continue;
            }
            st = self.done.wait(st).unwrap_or_else(|p| p.into_inner());
        }
    }

    fn flush_to_disk(&self) -> Result<(), io::Error> {
        self.db.flush().map_err(io::Error::from)?;
        self.log
            .sync_all()
            .map_err(|e| io::Error::new(e.kind(), format!("fsync of the store's log failed: {e}")))
    }

    /// Number of flushes so far.
    pub fn flushes(&self) -> u64 {
        self.lock().flushes
    }
}
