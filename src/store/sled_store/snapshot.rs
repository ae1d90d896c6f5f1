//! Online backup and restore of the sled store.
//!
//! sled 0.34 has no snapshots, and holding every write back while a large
//! store is copied would stop the service for as long as the copy takes.
//! So the backup copies the tree while writes go on (the first pass sees
//! some keys before a write and some after), while a sled subscriber notes
//! every key written since the copy began. Then it copies those keys
//! again, in rounds, until few are left; the final round runs with every
//! write held back. A key's last record in the backup is then its value at
//! that final moment: either nobody wrote it after it was copied, or it
//! was noted and copied again later. The backup is the store as it was at
//! the end of the final round, and writes paused only for that round (its
//! values are read into memory under the hold and sent after it).

use super::super::backup::{self, BackupError, Checked, Record, SnapshotSink, SnapshotStats};
use super::{io, keys, SledStore, StoreError, StoreOptions, FORMAT};
use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Catch-up rounds before the final one: each copies what was written
/// during the one before, so under a steady load they shrink quickly.
const ROUNDS: u32 = 6;
/// Keys small enough to copy with writes held back: reading them takes a
/// few milliseconds.
const FINAL_KEYS: usize = 5_000;
/// How often the subscriber's thread looks for the end of a backup.
const TICK: Duration = Duration::from_millis(5);
/// The longest the final round waits for the subscriber to have seen every
/// write made before the hold; it takes a few ticks.
const SETTLE_LIMIT: Duration = Duration::from_secs(5);
/// Records applied per sled batch when restoring.
const RESTORE_BATCH: usize = 10_000;

/// The keys written since the last [`Touched::take`], noted by a sled
/// subscriber on its own thread, so that a slow backup reader never makes
/// writers wait on the subscriber's bounded channel.
struct Touched {
    keys: Arc<Mutex<HashSet<sled::IVec>>>,
    /// Ticks the thread found no event in: a tick that began after writes
    /// were held back and found nothing means every earlier write is in
    /// `keys`.
    idle: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Touched {
    fn watch(db: &sled::Db) -> Result<Touched, StoreError> {
        let mut subscriber = db.watch_prefix(Vec::<u8>::new());
        let keys = Arc::new(Mutex::new(HashSet::new()));
        let idle = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (k, i, s) = (keys.clone(), idle.clone(), stop.clone());
        // The subscriber is polled as a future, with a timeout per tick:
        // sled 0.34's `next_timeout` reports a timeout as a disconnection
        // and stalls on the reservation of a write that changed nothing,
        // while the future skips those.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .map_err(|e| StoreError::io("cannot start the backup's watcher", e))?;
        let thread = std::thread::Builder::new()
            .name("kicer-backup-watch".into())
            .spawn(move || {
                runtime.block_on(async move {
                    while !s.load(Ordering::Relaxed) {
                        match tokio::time::timeout(TICK, &mut subscriber).await {
                            Ok(Some(event)) => {
                                let key = event.key().clone();
                                k.lock().unwrap_or_else(|p| p.into_inner()).insert(key);
                            }
                            Ok(None) => break,
                            Err(_elapsed) => {
                                i.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                    }
                });
            })
            .map_err(|e| StoreError::io("cannot start the backup's watcher thread", e))?;
        Ok(Touched {
            keys,
            idle,
            stop,
            thread: Some(thread),
        })
    }

    fn take(&self) -> HashSet<sled::IVec> {
        std::mem::take(&mut *self.keys.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Waits until the subscriber has seen every write that finished
    /// before now; call it with writes held back.
    fn settle(&self) -> Result<(), StoreError> {
        let start = self.idle.load(Ordering::SeqCst);
        let began = Instant::now();
        // Two idle ticks: the second began after `start` was read.
        while self.idle.load(Ordering::SeqCst) < start + 2 {
            let finished = self.thread.as_ref().is_none_or(|t| t.is_finished());
            if finished || began.elapsed() > SETTLE_LIMIT {
                return Err(StoreError::io(
                    "the backup could not catch up with the writes: take it again",
                    std::io::Error::other("the backup's watcher thread stopped"),
                ));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        Ok(())
    }
}

impl Drop for Touched {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl SledStore {
    /// Writes a consistent snapshot of the whole store into `sink` while
    /// writes go on (see the module's documentation).
    pub(super) fn snapshot(
        &self,
        sink: &mut dyn SnapshotSink,
    ) -> Result<SnapshotStats, StoreError> {
        let touched = Touched::watch(&self.db)?;
        {
            // A write that began before the subscriber existed would not
            // be noted: wait for those to finish before the copy begins.
            let _hold = self.writes.hold();
            let _outside = self.hold_outside_writes();
        }
        for entry in self.db.iter() {
            let (key, value) = entry.map_err(io("reading the store for a backup"))?;
            sink.put(&key, &value)?;
        }
        let mut rounds = 0;
        let mut pending = touched.take();
        while pending.len() > FINAL_KEYS && rounds < ROUNDS {
            rounds += 1;
            for (key, value) in self.read_keys(pending)? {
                write_record(sink, &key, value.as_deref())?;
            }
            pending = touched.take();
        }
        rounds += 1;
        let began = Instant::now();
        let (last, taken_ms, questions) = {
            let _hold = self.writes.hold();
            let _outside = self.hold_outside_writes();
            touched.settle()?;
            pending.extend(touched.take());
            let last = self.read_keys(pending)?;
            let questions = self
                .db
                .get(keys::QUESTION_COUNTER)
                .map_err(io("reading the question counter"))?
                .and_then(|v| keys::number_of(&v))
                .unwrap_or(0);
            (last, self.time.now_ms(), questions)
        };
        let pause = began.elapsed();
        drop(touched);
        for (key, value) in last {
            write_record(sink, &key, value.as_deref())?;
        }
        Ok(SnapshotStats {
            store_format: FORMAT,
            taken_ms,
            pause,
            rounds,
            questions,
        })
    }

    /// The current values of `keys` (`None`: removed).
    fn read_keys(
        &self,
        keys: HashSet<sled::IVec>,
    ) -> Result<Vec<(sled::IVec, Option<sled::IVec>)>, StoreError> {
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            let value = self
                .db
                .get(&key)
                .map_err(io("reading the store for a backup"))?;
            out.push((key, value));
        }
        Ok(out)
    }

    /// Checks the backup in `dir` against its manifest as [`Self::restore`]
    /// needs it: a format this build reads, every byte as the SHA-256 says.
    pub fn check_backup(dir: &Path) -> Result<Checked, BackupError> {
        backup::check(dir, FORMAT)
    }

    /// Fills the empty data directory `to` from the checked backup, then
    /// opens it as a store (which upgrades an older store format) and
    /// flushes it. `progress` is told the records applied so far.
    pub fn restore(from: &Checked, to: &Path, progress: &dyn Fn(u64)) -> Result<(), BackupError> {
        backup::ensure_empty(
            to,
            "restore fills a new or empty directory, so that no store is overwritten; give a new --data-dir",
        )?;
        std::fs::create_dir_all(to).map_err(|e| BackupError::Io {
            context: format!("cannot create {}", to.display()),
            source: e,
        })?;
        let db = sled::Config::new()
            .path(to)
            .open()
            .map_err(|e| StoreError::io(format!("cannot create a store in {}", to.display()), e))?;
        let mut batch = sled::Batch::default();
        let mut queued = 0;
        let apply = |batch: sled::Batch| {
            db.apply_batch(batch)
                .map_err(io("writing the restored store"))
        };
        from.replay(
            |record| {
                match record {
                    Record::Put(k, v) => batch.insert(k, v),
                    Record::Delete(k) => batch.remove(k),
                }
                queued += 1;
                if queued == RESTORE_BATCH {
                    queued = 0;
                    apply(std::mem::take(&mut batch))?;
                }
                Ok(())
            },
            progress,
        )?;
        apply(batch)?;
        db.flush().map_err(io("flushing the restored store"))?;
        drop(db);
        // Opening checks the format, upgrades an older one and loads the
        // counters: a restored store that opens is one the server can use.
        let store = SledStore::open(
            to,
            StoreOptions::default(),
            Arc::new(super::super::SystemTime),
        )?;
        store
            .db
            .flush()
            .map_err(io("flushing the restored store"))?;
        Ok(())
    }
}

fn write_record(
    sink: &mut dyn SnapshotSink,
    key: &[u8],
    value: Option<&[u8]>,
) -> Result<(), StoreError> {
    match value {
        Some(v) => sink.put(key, v),
        None => sink.delete(key),
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::backup::{BackupWriter, DATA_FILE, MANIFEST_FILE};
    use super::super::super::fixtures::*;
    use super::super::super::{ManualTime, Store};
    use super::*;
    use crate::domain::{ExpertId, ExpertRecord};

    fn open(dir: &Path) -> SledStore {
        SledStore::open(
            dir,
            StoreOptions {
                durable: false,
                ..StoreOptions::default()
            },
            Arc::new(ManualTime::new(1_772_438_400_000)),
        )
        .unwrap()
    }

    /// A sink that writes into the store while the first pass runs, as
    /// the service's writers would, then records like a backup file.
    struct Meddling<'a> {
        store: &'a SledStore,
        writer: BackupWriter<std::fs::File>,
        meddled: bool,
    }

    impl SnapshotSink for Meddling<'_> {
        fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
            if !self.meddled {
                self.meddled = true;
                // Changed, added and removed after the copy began; a
                // question written whole in the middle of the copy.
                self.store.put_meta("learned", b"after")?;
                self.store.put_meta("added", b"new")?;
                self.store
                    .delete_expert(&ExpertId::parse("anna").unwrap())?;
                self.store.submit(new_question("Tweede vraag", routed()))?;
            }
            self.writer.put(key, value)
        }

        fn delete(&mut self, key: &[u8]) -> Result<(), StoreError> {
            self.writer.delete(key)
        }
    }

    #[test]
    fn writes_made_during_the_copy_are_in_the_restored_store_and_removals_are_gone() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir.path().join("data"));
        let first = store
            .submit(new_question("Eerste vraag", routed()))
            .unwrap();
        store.put_meta("learned", b"before").unwrap();
        let anna: ExpertRecord =
            serde_json::from_str(r#"{"id":"anna","name":"Anna","themes":["waste"]}"#).unwrap();
        store.put_expert(&anna).unwrap();

        let backup = dir.path().join("backup");
        std::fs::create_dir(&backup).unwrap();
        let file = std::fs::File::create(backup.join(DATA_FILE)).unwrap();
        let mut sink = Meddling {
            store: &store,
            writer: BackupWriter::new(file).unwrap(),
            meddled: false,
        };
        let stats = store.backup(&mut sink).unwrap();
        assert!(sink.meddled);
        assert_eq!(stats.questions, 2);
        let manifest = sink.writer.finish(&stats).unwrap();
        std::fs::write(
            backup.join(MANIFEST_FILE),
            serde_json::to_vec(&manifest).unwrap(),
        )
        .unwrap();

        let checked = SledStore::check_backup(&backup).unwrap();
        let restored_dir = dir.path().join("restored");
        SledStore::restore(&checked, &restored_dir, &|_| {}).unwrap();
        let restored = open(&restored_dir);
        assert_eq!(
            restored.meta("learned").unwrap().as_deref(),
            Some(&b"after"[..])
        );
        assert_eq!(
            restored.meta("added").unwrap().as_deref(),
            Some(&b"new"[..])
        );
        assert!(restored.experts().unwrap().is_empty());
        let id = first.question.id;
        assert_eq!(restored.get(id).unwrap(), store.get(id).unwrap());
        assert_eq!(restored.history(id).unwrap(), store.history(id).unwrap());
        let second = crate::store::QuestionId::new(id.get() + 1);
        assert_eq!(
            restored.history(second).unwrap(),
            store.history(second).unwrap()
        );
        // Ids go on where the original's did.
        let third = restored
            .submit(new_question("Derde vraag", routed()))
            .unwrap();
        assert_eq!(third.question.id.get(), id.get() + 2);
    }

    #[test]
    fn restore_refuses_a_directory_that_holds_files() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir.path().join("data"));
        store
            .submit(new_question("Eerste vraag", routed()))
            .unwrap();
        let backup = dir.path().join("backup");
        std::fs::create_dir(&backup).unwrap();
        let mut writer =
            BackupWriter::new(std::fs::File::create(backup.join(DATA_FILE)).unwrap()).unwrap();
        let stats = store.backup(&mut writer).unwrap();
        let manifest = writer.finish(&stats).unwrap();
        std::fs::write(
            backup.join(MANIFEST_FILE),
            serde_json::to_vec(&manifest).unwrap(),
        )
        .unwrap();
        let checked = SledStore::check_backup(&backup).unwrap();
        let err = SledStore::restore(&checked, &dir.path().join("data"), &|_| {}).unwrap_err();
        assert!(err.to_string().contains("give a new --data-dir"), "{err}");
        // The store it was pointed at is untouched.
        assert_eq!(
            store
                .get(crate::store::QuestionId::new(1))
                .unwrap()
                .id
                .get(),
            1
        );
    }
}
