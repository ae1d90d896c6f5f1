//! The sled implementation of [`Store`]: opening the data directory and
//! persisting what [`transition`] decides, each write in one sled
//! transaction shared with the writes queued beside it, then made durable.
//! The queries are in `read`.

mod counters;
mod migrate;
mod read;
mod record;
mod snapshot;

use super::backup::{SnapshotSink, SnapshotStats};
use super::batch::WriteQueue;
use super::catalog::{self, Catalog};
use super::commit::GroupCommit;
use super::keys;
use super::leadtime;
use super::model::*;
use super::transition::{self, Transition};
use super::{Store, StoreError};
use crate::domain::{Expert, ExpertId, ExpertRecord, ProviderChange};
use record::{persist, stored_number, tx_question, tx_record, Written};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The store format this build writes and reads. Format 2 (kicer with
/// access control) added the portal index and portal-scoped request ids;
/// format 3 keeps lead-time counters at two significant digits (a tenth
/// of the counters to read per query); format 4 keeps a question's events
/// in its record and its listed fields in the catalog instead of a key
/// per event and per index (a sixth of the keys, and of sled's memory).
/// Older stores are upgraded in place at open (`migrate`).
pub const FORMAT: u32 = 4;

/// How the store is opened.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// sled's page cache in bytes. sled's process memory is a multiple of
    /// it (about ten times in sled 0.34), so it is set deliberately rather
    /// than left at sled's 1 GiB default.
    pub cache_capacity_bytes: u64,
    /// sled's background flush interval; writes are made durable by the
    /// group commit anyway, this only bounds the work of each flush.
    pub flush_every_ms: Option<u64>,
    /// Wait for flush + fsync before a write returns. Only bulk loads
    /// that flush once at the end turn this off.
    pub durable: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            cache_capacity_bytes: 64 * 1024 * 1024,
            flush_every_ms: Some(500),
            durable: true,
        }
    }
}

/// What a queued write returns.
enum Output {
    Submitted(Submitted, Written),
    Question(Question, Written),
}

/// A queued write: run inside a shared transaction (perhaps more than
/// once: sled retries conflicting transactions). `Ok(Err(..))` is a
/// refusal that wrote nothing; `Err(..)` aborts the transaction.
type Op = Arc<dyn Fn(&TransactionalTree) -> TxResult<Result<Output, StoreError>> + Send + Sync>;

type TxResult<T> = Result<T, ConflictableTransactionError<StoreError>>;

/// The sled store.
pub struct SledStore {
    db: sled::Db,
    path: PathBuf,
    commit: GroupCommit,
    writes: WriteQueue<Op, Output>,
    time: Arc<dyn TimeSource>,
    durable: bool,
    /// The lead-time counters in memory, for queries.
    counters: counters::Counters,
    /// The listed fields of every question, in memory, for listings
    /// (shared with the queued writes, which read its dictionary).
    catalog: Arc<Catalog>,
    /// Taken (shared) by every write outside the write queue (directory
    /// records, service values, embeddings) and (exclusively) by a backup's
    /// final round, which must see no write half done.
    outside: std::sync::RwLock<()>,
    /// Why writes stopped working, once one failed on the disk or in
    /// sled (which then refuses every later write until a restart).
    failure: std::sync::Mutex<Option<String>>,
}

impl std::fmt::Debug for SledStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn abort<T>(e: StoreError) -> TxResult<T> {
    Err(ConflictableTransactionError::Abort(e))
}

/// A sled failure while doing `context`.
fn io(context: &'static str) -> impl FnOnce(sled::Error) -> StoreError {
    move |e| StoreError::io(context, e)
}

fn tx_error(e: TransactionError<StoreError>) -> StoreError {
    match e {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => StoreError::io("committing a write", e),
    }
}

fn to_json<T: Serialize>(what: &'static str, value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::Encode {
        what,
        reason: e.to_string(),
    })
}

fn from_json<T: DeserializeOwned>(key: &[u8], bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        key: String::from_utf8_lossy(key).escape_debug().to_string(),
        reason: e.to_string(),
    })
}

/// The catalog's dictionary as the store holds it: every name with its
/// kind and code. A code that no write can have handed out (0, or past its
/// kind's counter) is damage: the catalog sizes tables by codes.
fn stored_names(db: &sled::Db) -> Result<Vec<(catalog::Kind, String, u32)>, StoreError> {
    let mut last = [0u64; 7];
    for kind in catalog::Kind::ALL {
        let key = keys::name_counter(kind.tag());
        if let Some(v) = db.get(&key).map_err(io("reading a name counter"))? {
            last[kind as usize] = stored_number(&key, &v)?;
        }
    }
    let mut out = Vec::new();
    for entry in db.scan_prefix([keys::NAME]) {
        let (k, v) = entry.map_err(io("reading the catalog's names"))?;
        let (Some(kind), Ok(name)) = (
            k.get(1).copied().and_then(catalog::Kind::of_tag),
            std::str::from_utf8(k.get(2..).unwrap_or_default()),
        ) else {
            continue;
        };
        let code = stored_number(&k, &v)?;
        let Some(code) = u32::try_from(code)
            .ok()
            .filter(|&c| c != 0 && u64::from(c) <= last[kind as usize])
        else {
            return Err(StoreError::Corrupt {
                key: String::from_utf8_lossy(&k).escape_debug().to_string(),
                reason: format!(
                    "name code {code}, outside 1..={} handed out",
                    last[kind as usize]
                ),
            });
        };
        out.push((kind, name.to_owned(), code));
    }
    Ok(out)
}

/// Makes sure a counter is at least the number of the last record under
/// `prefix`: a store written before the counter existed, or by a build
/// that numbered otherwise, continues after its last record.
fn ensure_counter(db: &sled::Db, counter: &[u8], prefix: u8) -> Result<(), StoreError> {
    let stored = match db.get(counter).map_err(io("reading a counter"))? {
        None => 0,
        Some(v) => stored_number(counter, &v)?,
    };
    let last = match db.scan_prefix([prefix]).next_back() {
        Some(entry) => {
            let (k, _) = entry.map_err(io("reading the last record"))?;
            keys::record_number(&k).unwrap_or(0)
        }
        None => 0,
    };
    if last > stored {
        db.insert(counter, &keys::number(last))
            .map_err(io("setting a counter"))?;
    }
    Ok(())
}

impl SledStore {
    /// Opens (or creates) the store in `path`. A damaged store is an
    /// error that says to restore a backup: sled 0.34 panics on some
    /// damaged files instead of returning an error, so the panic is caught
    /// here and never reaches the terminal.
    pub fn open(
        path: &Path,
        options: StoreOptions,
        time: Arc<dyn TimeSource>,
    ) -> Result<Self, StoreError> {
        crate::telemetry::panics::quietly(|| Self::open_checked(path, options, time))
            .unwrap_or_else(|reason| {
                Err(StoreError::Damaged {
                    path: path.display().to_string(),
                    reason: format!("the storage engine failed reading it: {reason}"),
                })
            })
    }

    fn open_checked(
        path: &Path,
        options: StoreOptions,
        time: Arc<dyn TimeSource>,
    ) -> Result<Self, StoreError> {
        let shown = path.display().to_string();
        std::fs::create_dir_all(path).map_err(|e| {
            StoreError::io(
                format!("cannot create data directory {shown}: check the path and its permissions"),
                e,
            )
        })?;
        let db = sled::Config::new()
            .path(path)
            .cache_capacity(options.cache_capacity_bytes)
            .flush_every_ms(options.flush_every_ms)
            .open()
            .map_err(|e| {
                let text = e.to_string();
                if text.contains("lock") || text.contains("Resource temporarily unavailable") {
                    StoreError::Locked {
                        path: shown.clone(),
                    }
                } else if matches!(
                    e,
                    sled::Error::Corruption { .. } | sled::Error::ReportableBug(_)
                ) {
                    StoreError::Damaged {
                        path: shown.clone(),
                        reason: text,
                    }
                } else {
                    StoreError::io(format!("cannot open the store in {shown}"), e)
                }
            })?;
        let found = match db.get(keys::FORMAT).map_err(io("reading the format"))? {
            Some(v) => v.as_ref().try_into().map(u32::from_be_bytes).unwrap_or(0),
            None => {
                if db.iter().next().is_some() {
                    return Err(StoreError::Format {
                        path: shown,
                        found: 0,
                        supported: FORMAT,
                        hint: "the directory holds data that is not a kicer store; point --data-dir elsewhere",
                    });
                }
                db.insert(keys::FORMAT, &FORMAT.to_be_bytes())
                    .map_err(io("writing the format"))?;
                db.flush().map_err(io("flushing a new store"))?;
                FORMAT
            }
        };
        // An upgrade under way (interrupted, or refused half-way) goes on
        // from the format it started from.
        let from = migrate::upgrading_from(&db)?.unwrap_or(found);
        if found > FORMAT || (from < FORMAT && !migrate::can_upgrade(from)) {
            return Err(StoreError::Format {
                path: shown,
                found: if found > FORMAT { found } else { from },
                supported: FORMAT,
                hint: if found > FORMAT {
                    "it was written by a newer kicer; run that version or newer"
                } else {
                    "it was written by an older kicer; export it with that version"
                },
            });
        }
        if from < FORMAT {
            migrate::begin(&db, from)?;
            migrate::upgrade_keys(&db, from)?;
        }
        ensure_counter(&db, keys::QUESTION_COUNTER, keys::QUESTION)?;
        ensure_counter(&db, keys::FEEDBACK_COUNTER, keys::FEEDBACK)?;
        // sled 0.34 keeps its log in `<dir>/db`; it is fsynced after each
        // group flush (see `commit`).
        let log_path = path.join("db");
        let log = std::fs::File::open(&log_path).map_err(|e| {
            StoreError::io(
                format!("cannot open the store's log {}", log_path.display()),
                e,
            )
        })?;
        let commit = GroupCommit::new(db.clone(), log);
        let counters = counters::Counters::load(&db)?;
        let store = SledStore {
            db,
            path: path.to_path_buf(),
            commit,
            writes: WriteQueue::default(),
            time,
            durable: options.durable,
            counters,
            catalog: Arc::default(),
            outside: std::sync::RwLock::new(()),
            failure: std::sync::Mutex::new(None),
        };
        if from < FORMAT {
            migrate::finish(&store, from)?;
        }
        store.load_catalog()?;
        Ok(store)
    }

    /// The data directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Group flushes (flush + fsync) done since the store was opened; with
    /// the number of writes this shows how many writes share a flush.
    pub fn flush_count(&self) -> u64 {
        self.commit.flushes()
    }

    /// Reports every group commit (flush + fsync time, writes covered) to
    /// `observer`: the metrics' view of the disk.
    pub fn observe_commits(&self, observer: Arc<dyn super::commit::CommitObserver>) {
        self.commit.observe(observer);
    }

    /// Bytes the store occupies on disk.
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        self.db.size_on_disk().map_err(io("measuring the store"))
    }

    /// Runs a write in the next batch of the write queue: one sled
    /// transaction and one flush + fsync for every write queued with it.
    fn execute(&self, op: Op) -> Result<Output, StoreError> {
        self.written(self.writes.run(op, &|batch| self.commit_batch(batch)))
    }

    /// Passes a write's result on, noting a failure of the disk or the
    /// engine: the first one is what [`Store::write_failure`] reports.
    fn written<T>(&self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        if let Err(e) = &result {
            if e.is_io() {
                let mut failure = self.failure.lock().unwrap_or_else(|p| p.into_inner());
                if failure.is_none() {
                    *failure = Some(e.to_string());
                }
            }
        }
        result
    }

    /// Commits a batch as one transaction and makes it durable. A write
    /// that is refused (illegal transition, stale version…) returns its
    /// error without writing and without disturbing the others; one that
    /// fails in a way that must not commit makes the batch run again write
    /// by write, so only it fails.
    fn commit_batch(&self, batch: Vec<Op>) -> Vec<Result<Output, StoreError>> {
        let committed = self.db.transaction(|tx| {
            let mut out = Vec::with_capacity(batch.len());
            for op in &batch {
                out.push(op(tx)?);
            }
            Ok(out)
        });
        match committed {
            Ok(results) => match self.catalogue(&results).make_durable() {
                Ok(()) => results,
                // The kind is kept, so that a full disk is named as one.
                // Refusals wrote nothing and stay refusals; committed
                // writes may or may not have reached the disk.
                Err(e) => results
                    .into_iter()
                    .map(|r| {
                        r.and_then(|_| {
                            Err(StoreError::io(
                                "the write was committed but could not be made durable; its outcome is unknown: \
                                 retry with the same request id, or read the question again",
                                std::io::Error::new(e.io_kind(), e.to_string()),
                            ))
                        })
                    })
                    .collect(),
            },
            Err(e) if batch.len() == 1 => vec![Err(tx_error(e))],
            Err(_) => batch
                .iter()
                .map(|op| {
                    let r = self.db.transaction(|tx| op(tx)).map_err(tx_error)?;
                    self.catalogue(std::slice::from_ref(&r)).make_durable()?;
                    r
                })
                .collect(),
        }
    }

    /// Tells the copies in memory (catalog, lead-time counters) what
    /// committed writes changed, in commit order (the write queue commits
    /// one batch at a time), so a later state never gives way to an
    /// earlier one.
    fn catalogue(&self, results: &[Result<Output, StoreError>]) -> &Self {
        for r in results {
            let written = match r {
                Ok(Output::Submitted(_, w) | Output::Question(_, w)) => w,
                Err(_) => continue,
            };
            // Here, under the write queue's leadership, rather than in each
            // writer's thread afterwards: a rebuild of the counters (which
            // holds the queue) can then never fall between a commit and its
            // increments.
            self.counters.add(&written.incremented);
            for (kind, name, code) in &written.names {
                self.catalog.learn(*kind, name, *code);
            }
            if let Some(entry) = &written.entry {
                self.catalog.put(entry);
            }
        }
        self
    }

    /// Loads the catalog in memory from its dictionary and blocks.
    fn load_catalog(&self) -> Result<(), StoreError> {
        for (kind, name, code) in stored_names(&self.db)? {
            self.catalog.learn(kind, &name, code);
        }
        // Entries past the last id handed out are damage: the catalog's
        // table is sized by ids.
        let last = match self
            .db
            .get(keys::QUESTION_COUNTER)
            .map_err(io("reading a counter"))?
        {
            Some(v) => stored_number(keys::QUESTION_COUNTER, &v)?,
            None => 0,
        };
        for entry in self.db.scan_prefix([keys::CATALOG]) {
            let (k, v) = entry.map_err(io("reading the catalog"))?;
            for coded in catalog::decode_block(&k, &v)? {
                if coded.id() > last {
                    return Err(StoreError::Corrupt {
                        key: String::from_utf8_lossy(&k).escape_debug().to_string(),
                        reason: format!(
                            "catalog entry of q{}, past the last question q{last}",
                            coded.id()
                        ),
                    });
                }
                self.catalog.put(&coded);
            }
        }
        Ok(())
    }

    /// The one way a write waits for the disk: flush + fsync shared with
    /// every writer waiting now, unless the store was opened for a bulk
    /// load that flushes at the end.
    fn make_durable(&self) -> Result<(), StoreError> {
        if self.durable {
            self.commit.wait_durable()?;
        }
        Ok(())
    }

    /// Runs a write that changes one stored question.
    fn change(
        &self,
        id: QuestionId,
        decide: impl Fn(&TransactionalTree, &Question) -> TxResult<Result<Transition, StoreError>>
            + Send
            + Sync
            + 'static,
    ) -> Result<Question, StoreError> {
        let known = self.catalog.clone();
        let op = move |tx: &TransactionalTree| -> TxResult<Result<Output, StoreError>> {
            // Refusals come back as `Ok(Err(..))` before anything is
            // written, so the other writes of a shared commit go through.
            let Some((old, value)) = tx_record(tx, id)? else {
                return Ok(Err(StoreError::NotFound(id)));
            };
            Ok(match decide(tx, &old)? {
                Ok(t) => {
                    let written = persist(tx, &known, Some((&old, &value)), &t)?;
                    Ok(Output::Question(t.question, written))
                }
                Err(refused) => Err(refused),
            })
        };
        Ok(match self.execute(Arc::new(op))? {
            Output::Question(q, _) => q,
            Output::Submitted(s, _) => s.question,
        })
    }

    /// Writes a directory or service record outside the write queue: these
    /// are single keys that no question write reads.
    fn put_record(&self, key: Vec<u8>, bytes: Vec<u8>) -> Result<(), StoreError> {
        self.outside_write().and_then(|_g| {
            self.db
                .insert(key, bytes)
                .map_err(io("writing a directory record"))
        })?;
        self.make_durable()
    }

    /// Lets a write outside the write queue run (many at once), unless a
    /// backup's final round holds them back.
    fn outside_write(&self) -> Result<std::sync::RwLockReadGuard<'_, ()>, StoreError> {
        Ok(self.outside.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Holds back every write outside the write queue until the guard is
    /// dropped, after those running now finish.
    fn hold_outside_writes(&self) -> std::sync::RwLockWriteGuard<'_, ()> {
        self.outside.write().unwrap_or_else(|p| p.into_inner())
    }

    fn load(&self, id: QuestionId) -> Result<Question, StoreError> {
        let key = keys::question(id);
        match self.db.get(&key).map_err(io("reading a question"))? {
            Some(bytes) => from_json(&key, record::head(&bytes)),
            None => Err(StoreError::NotFound(id)),
        }
    }

    fn read<T: DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>, StoreError> {
        match self.db.get(key).map_err(io("reading a record"))? {
            Some(bytes) => from_json(key, &bytes).map(Some),
            None => Ok(None),
        }
    }

    fn scan<T: DeserializeOwned>(&self, prefix: &[u8]) -> Result<Vec<T>, StoreError> {
        self.db
            .scan_prefix(prefix)
            .map(|entry| {
                let (k, v) = entry.map_err(io("reading records"))?;
                from_json(&k, &v)
            })
            .collect()
    }
}

impl Store for SledStore {
    fn submit(&self, new: NewQuestion) -> Result<Submitted, StoreError> {
        transition::check_new(&new)?;
        let now = self.time.now_ms();
        let known = self.catalog.clone();
        let op = move |tx: &TransactionalTree| -> TxResult<Result<Output, StoreError>> {
            if let Some(rid) = &new.request_id {
                let key = keys::request(&new.portal, rid);
                if let Some(existing) = tx.get(&key)? {
                    let id = match stored_number(&key, &existing) {
                        Ok(n) => QuestionId::new(n),
                        Err(e) => return abort(e),
                    };
                    return match tx_question(tx, id)? {
                        Some(question) => Ok(Ok(Output::Submitted(
                            Submitted {
                                question,
                                created: false,
                                events: Vec::new(),
                            },
                            Written::default(),
                        ))),
                        None => abort(StoreError::Corrupt {
                            key: format!("request {rid}"),
                            reason: format!("points at missing {id}"),
                        }),
                    };
                }
            }
            let id = QuestionId::new(record::next_number(tx, keys::QUESTION_COUNTER)?);
            let t = transition::submit(&new, id, now);
            if let Some(rid) = &new.request_id {
                tx.insert(keys::request(&new.portal, rid), &keys::number(id.get()))?;
            }
            let written = persist(tx, &known, None, &t)?;
            Ok(Ok(Output::Submitted(
                Submitted {
                    question: t.question,
                    created: true,
                    events: t.events,
                },
                written,
            )))
        };
        Ok(match self.execute(Arc::new(op))? {
            Output::Submitted(s, _) => s,
            Output::Question(question, _) => Submitted {
                question,
                created: false,
                events: Vec::new(),
            },
        })
    }

    fn get(&self, id: QuestionId) -> Result<Question, StoreError> {
        self.load(id)
    }

    fn brief(&self, id: QuestionId) -> Result<QuestionBrief, StoreError> {
        // The same record, decoded into fewer fields: serde skips the
        // classification without building it.
        let key = keys::question(id);
        match self.db.get(&key).map_err(io("reading a question"))? {
            Some(bytes) => from_json(&key, record::head(&bytes)),
            None => Err(StoreError::NotFound(id)),
        }
    }

    fn history(&self, id: QuestionId) -> Result<Vec<Event>, StoreError> {
        let key = keys::question(id);
        match self.db.get(&key).map_err(io("reading a history"))? {
            Some(value) => record::events(&key, &value),
            None => Err(StoreError::NotFound(id)),
        }
    }

    fn event(&self, id: QuestionId, seq: u32) -> Result<Option<Event>, StoreError> {
        let key = keys::question(id);
        match self.db.get(&key).map_err(io("reading an event"))? {
            Some(value) => record::event(&key, &value, seq),
            None => Ok(None),
        }
    }

    fn apply(&self, id: QuestionId, ch: Change) -> Result<Question, StoreError> {
        transition::check_change(id, &ch)?;
        let now = self.time.now_ms();
        self.change(id, move |tx, old| {
            let original = match transition::original_of(&ch) {
                Some(o) => tx_question(tx, o)?,
                None => None,
            };
            Ok(transition::apply(old, &ch, now, original.as_ref()))
        })
    }

    fn review_answer(&self, id: QuestionId, review: AnswerReview) -> Result<Question, StoreError> {
        transition::check_review(&review)?;
        let now = self.time.now_ms();
        self.change(id, move |_, old| Ok(transition::review(old, &review, now)))
    }

    fn list(&self, filter: &ListFilter, page: &PageRequest) -> Result<Page<Question>, StoreError> {
        self.list_questions(filter, page)
    }

    fn triage_queue(&self, page: &PageRequest) -> Result<Page<QueueEntry>, StoreError> {
        self.queue_page(page)
    }

    fn due_for_review(&self, at_ms: i64, page: &PageRequest) -> Result<Page<Question>, StoreError> {
        self.review_page(at_ms, page)
    }

    fn lead_times(
        &self,
        query: &leadtime::LeadTimeQuery,
    ) -> Result<Vec<leadtime::LeadTimeGroup>, StoreError> {
        Ok(self.counters.query(query))
    }

    fn open_ages(&self) -> Result<Vec<OpenAge>, StoreError> {
        self.open_question_ages()
    }

    fn open_counts(&self, _now_ms: i64) -> Result<Vec<OpenCount>, StoreError> {
        self.open_question_counts()
    }

    fn rebuild_lead_times(&self) -> Result<u64, StoreError> {
        // Hold writes back while the counters are replaced: an increment
        // committed between the scan and the replacement would be lost.
        let _hold = self.writes.hold();
        self.rebuild_counters()
    }

    fn put_expert(&self, expert: &ExpertRecord) -> Result<(), StoreError> {
        let valid =
            Expert::try_from(expert.clone()).map_err(|e| StoreError::Invalid(e.to_string()))?;
        self.put_record(
            keys::expert(valid.id().as_str()),
            to_json("an expert", expert)?,
        )
    }

    fn put_experts(&self, experts: &[ExpertRecord]) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for expert in experts {
            let valid =
                Expert::try_from(expert.clone()).map_err(|e| StoreError::Invalid(e.to_string()))?;
            batch.insert(
                keys::expert(valid.id().as_str()),
                to_json("an expert", expert)?,
            );
        }
        let outside = self.outside_write()?;
        self.written(
            self.db
                .apply_batch(batch)
                .map_err(io("writing imported experts")),
        )?;
        drop(outside);
        self.written(self.make_durable())
    }

    fn delete_expert(&self, id: &ExpertId) -> Result<bool, StoreError> {
        let outside = self.outside_write()?;
        let existed = self
            .written(
                self.db
                    .remove(keys::expert(id.as_str()))
                    .map_err(io("removing an expert")),
            )?
            .is_some();
        drop(outside);
        self.written(self.make_durable())?;
        Ok(existed)
    }

    fn expert(&self, id: &str) -> Result<Option<ExpertRecord>, StoreError> {
        self.read(&keys::expert(id))
    }

    fn experts(&self) -> Result<Vec<ExpertRecord>, StoreError> {
        self.scan(&[keys::EXPERT])
    }

    fn put_provider_change(&self, change: &ProviderChange) -> Result<(), StoreError> {
        self.put_record(
            keys::provider(change.id()),
            to_json("a provider change", change)?,
        )
    }

    fn provider_changes(&self) -> Result<Vec<ProviderChange>, StoreError> {
        self.scan(&[keys::PROVIDER])
    }

    fn put_meta(&self, name: &str, value: &[u8]) -> Result<(), StoreError> {
        self.put_record(keys::meta(name), value.to_vec())
    }

    fn meta(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .db
            .get(keys::meta(name))
            .map_err(io("reading a service value"))?
            .map(|v| v.to_vec()))
    }

    fn put_embedding(&self, id: QuestionId, encoded: &[u8]) -> Result<(), StoreError> {
        if !self
            .db
            .contains_key(keys::question(id))
            .map_err(io("reading a question"))?
        {
            return Err(StoreError::NotFound(id));
        }
        let _outside = self.outside_write()?;
        self.written(
            self.db
                .insert(keys::embedding(id), encoded)
                .map_err(io("writing an embedding")),
        )?;
        Ok(())
    }

    fn embeddings(
        &self,
        after: Option<QuestionId>,
        limit: usize,
    ) -> Result<Vec<(QuestionId, Vec<u8>)>, StoreError> {
        let start = match after {
            Some(id) => {
                let mut k = keys::embedding(id);
                k.push(0);
                k
            }
            None => vec![keys::EMBEDDING],
        };
        let end = keys::end_of(&[keys::EMBEDDING]);
        let mut out = Vec::new();
        for entry in self.db.range(start..end).take(limit) {
            let (key, value) = entry.map_err(io("reading embeddings"))?;
            let id = keys::record_number(&key).ok_or_else(|| StoreError::Corrupt {
                key: String::from_utf8_lossy(&key).into_owned(),
                reason: "an embedding key without a question number".into(),
            })?;
            out.push((QuestionId::new(id), value.to_vec()));
        }
        Ok(out)
    }

    fn feedback(&self, page: &PageRequest) -> Result<Page<Feedback>, StoreError> {
        self.feedback_page(page)
    }

    fn size_on_disk(&self) -> Result<Option<u64>, StoreError> {
        SledStore::size_on_disk(self).map(Some)
    }

    fn backup(&self, sink: &mut dyn SnapshotSink) -> Result<SnapshotStats, StoreError> {
        self.snapshot(sink)
    }

    fn write_failure(&self) -> Option<String> {
        self.failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.commit.wait_durable()
    }
}

#[cfg(test)]
mod tests;
