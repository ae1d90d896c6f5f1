//! Online backups through the service, one at a time: a second backup
//! beside a running one would double the load and the memory of the
//! catch-up for no gain.

use super::{Service, ServiceError};
use crate::store::backup::{SnapshotSink, SnapshotStats};
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether a backup is running.
#[derive(Debug, Default)]
pub(super) struct Backups {
    running: AtomicBool,
}

/// Marks the backup as finished when dropped, also when it failed.
struct Running<'a>(&'a AtomicBool);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl Service {
    /// Writes a consistent snapshot of the store into `sink` while writes
    /// go on (see [`crate::store::backup`]). Refused while another backup
    /// runs.
    pub fn backup(&self, sink: &mut dyn SnapshotSink) -> Result<SnapshotStats, ServiceError> {
        if self.backups.running.swap(true, Ordering::AcqRel) {
            return Err(ServiceError::Busy(
                "a backup is running already: wait for it to finish, then take another",
            ));
        }
        let _running = Running(&self.backups.running);
        let stats = self.store.backup(sink)?;
        tracing::info!(
            questions = stats.questions,
            rounds = stats.rounds,
            pause_ms = stats.pause.as_millis() as u64,
            "backup taken"
        );
        Ok(stats)
    }
}
