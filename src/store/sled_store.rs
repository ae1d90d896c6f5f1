//! The sled implementation of [`Store`].

use super::commit::GroupCommit;
use super::keys;
use super::leadtime::{self, Clock, Dimension, LeadTimeGroup, LeadTimeQuery, Measurement, Metric};
use super::model::*;
use super::{Store, StoreError};
use crate::analysis::fold;
use crate::domain::{
    transition, ActionKind, Category, Expert, ExpertId, ExpertRecord, ProviderChange, ProviderId,
    Status,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};

/// The store format this build writes and reads.
pub const FORMAT: u32 = 1;
const FORMAT_KEY: &[u8] = &[keys::META, b'f', b'o', b'r', b'm', b'a', b't'];
const DAY_MS: f64 = 86_400_000.0;

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
    Submitted(Submitted),
    Question(Question),
}

/// A queued write: run inside a shared transaction. `Ok(Err(..))` is a
/// refusal that wrote nothing; `Err(..)` aborts the transaction.
type Op = Arc<dyn Fn(&TransactionalTree) -> TxResult<Result<Output, StoreError>> + Send + Sync>;
/// Where a write's result is left for its writer, and where the writer is
/// told to lead the next batch. Each writer waits on its own slot, so a
/// finished batch wakes exactly its writers and the next leader, not every
/// waiting thread (measured: waking all 64 writers per batch spent a fifth
/// of the CPU in context switches).
#[derive(Default)]
struct SlotInner {
    state: Mutex<SlotState>,
    ready: Condvar,
}

#[derive(Default)]
struct SlotState {
    result: Option<Result<Output, StoreError>>,
    lead: bool,
}

type Slot = Arc<SlotInner>;

impl SlotInner {
    fn lock(&self) -> std::sync::MutexGuard<'_, SlotState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn answer(&self, result: Result<Output, StoreError>) {
        let mut state = self.lock();
        if state.result.is_none() {
            state.result = Some(result);
        }
        self.ready.notify_one();
    }
}

#[derive(Default)]
struct BatchState {
    queue: Vec<(Op, Slot)>,
    leading: bool,
}

fn tx_error(e: TransactionError<StoreError>) -> StoreError {
    match e {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => io(e),
    }
}

/// Commit leadership: while it exists no other batch commits. Dropping it
/// (also when unwinding from a panic) answers every write of its batch that
/// got no result and hands leadership back.
struct Leadership<'a> {
    store: &'a SledStore,
    batch: Vec<(Op, Slot)>,
}

impl Drop for Leadership<'_> {
    fn drop(&mut self) {
        for (_, slot) in &self.batch {
            // Does nothing to a slot that has its result already.
            slot.answer(Err(StoreError::Io(
                "the commit failed unexpectedly; the write may not be stored: read the question again before retrying"
                    .into(),
            )));
        }
        // Hand leadership to the oldest waiting writer, or give it up.
        let mut st = self.store.lock_batch();
        match st.queue.first() {
            Some((_, next)) => {
                next.lock().lead = true;
                next.ready.notify_one();
            }
            None => {
                st.leading = false;
                self.store.batch_done.notify_all();
            }
        }
    }
}

/// The sled store.
pub struct SledStore {
    db: sled::Db,
    path: PathBuf,
    commit: GroupCommit,
    batch: Mutex<BatchState>,
    batch_done: Condvar,
    time: Arc<dyn TimeSource>,
    durable: bool,
}

impl std::fmt::Debug for SledStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

type TxResult<T> = Result<T, ConflictableTransactionError<StoreError>>;

fn abort<T>(e: StoreError) -> TxResult<T> {
    Err(ConflictableTransactionError::Abort(e))
}

fn io(e: impl std::fmt::Display) -> StoreError {
    StoreError::Io(e.to_string())
}

fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(io)
}

fn from_json<T: DeserializeOwned>(key: &[u8], bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        key: String::from_utf8_lossy(key).escape_debug().to_string(),
        reason: e.to_string(),
    })
}

fn tx_get<T: DeserializeOwned>(tx: &TransactionalTree, key: &[u8]) -> TxResult<Option<T>> {
    match tx.get(key)? {
        None => Ok(None),
        Some(bytes) => match from_json(key, &bytes) {
            Ok(v) => Ok(Some(v)),
            Err(e) => abort(e),
        },
    }
}

fn tx_put<T: Serialize>(tx: &TransactionalTree, key: Vec<u8>, value: &T) -> TxResult<()> {
    match to_json(value) {
        Ok(bytes) => {
            tx.insert(key, bytes)?;
            Ok(())
        }
        Err(e) => abort(e),
    }
}

/// The priority a triage entry had at the epoch: importance of its
/// category for the asker (Tabel 3.1) plus impact, minus one point per
/// week since the epoch at submit. Adding one point per week of the
/// current time gives today's priority; since that is the same for all
/// entries, the stored value orders the queue at any moment and the
/// queue never needs re-sorting as questions age.
fn priority_at_epoch(q: &Question) -> f64 {
    let importance = match q.category {
        Some(c) => f64::from(q.organization_type.category_importance(c)),
        None => 3.7,
    };
    let waiting_since = q.triage_since_ms.unwrap_or(q.submitted_ms);
    importance + f64::from(q.impact) - (waiting_since as f64 / DAY_MS) / 7.0
}

fn priority_now(at_epoch: f64, now_ms: i64) -> f64 {
    at_epoch + (now_ms as f64 / DAY_MS) / 7.0
}

fn assignee_key(a: &Assignee) -> String {
    match a {
        Assignee::Provider(p) => format!("provider:{p}"),
        Assignee::Expert(e) => format!("expert:{e}"),
    }
}

/// Every index entry a question has in its current state.
fn index_keys(q: &Question) -> Vec<Vec<u8>> {
    let mut out = vec![
        keys::indexed(&[keys::BY_STATUS, q.status.code()], q.submitted_ms, q.id),
        keys::indexed(&[keys::BY_TIME], q.submitted_ms, q.id),
        keys::indexed(
            &keys::text_prefix(keys::BY_ORGANIZATION, &fold(&q.organization_name)),
            q.submitted_ms,
            q.id,
        ),
    ];
    if let Some(c) = q.category {
        out.push(keys::indexed(
            &[keys::BY_CATEGORY, c.index() as u8],
            q.submitted_ms,
            q.id,
        ));
    }
    if let Some(p) = &q.provider {
        let prefix = keys::text_prefix(
            keys::BY_ASSIGNEE,
            &assignee_key(&Assignee::Provider(p.clone())),
        );
        out.push(keys::indexed(&prefix, q.submitted_ms, q.id));
    }
    if let Some(e) = &q.expert {
        let prefix = keys::text_prefix(
            keys::BY_ASSIGNEE,
            &assignee_key(&Assignee::Expert(e.clone())),
        );
        out.push(keys::indexed(&prefix, q.submitted_ms, q.id));
    }
    if q.status == Status::Triage {
        out.push(keys::queue(priority_at_epoch(q), q.id));
    }
    if matches!(q.status, Status::Answered | Status::Closed) {
        if let Some(at) = q.answer.as_ref().and_then(|a| a.review_after_ms) {
            out.push(keys::review(at, q.id));
        }
    }
    out
}

/// Lead-time histograms are stored one counter per bucket: key
/// `h` + metric + clock + dimension + group + 0 + month + bucket, value the
/// count. A measurement increments a handful of 8-byte values instead of
/// rewriting whole histograms, which matters twice with sled: every
/// transaction commits under one global lock, and a log-structured store
/// keeps rewritten values around until it cleans its segments (rewriting
/// multi-KiB histograms made a store of a million questions 36 GiB). A query
/// scans the buckets of one metric, clock and grouping.
fn bucket_key(
    metric: Metric,
    clock: Clock,
    dim: Dimension,
    group: &str,
    month: u32,
    bucket: u64,
) -> Vec<u8> {
    let mut k = vec![keys::HISTOGRAM, metric as u8, clock as u8, dim as u8];
    k.extend_from_slice(group.as_bytes());
    k.push(0);
    k.extend_from_slice(&month.to_be_bytes());
    k.extend_from_slice(&bucket.to_be_bytes());
    k
}

/// The bucket counters a measurement increments.
fn measurement_keys(m: &Measurement, groups: &[(Dimension, String)]) -> Vec<Vec<u8>> {
    let month = crate::domain::worktime::month_of(m.at_ms);
    let mut out = Vec::with_capacity(2 * groups.len());
    for (clock, value) in [
        (Clock::Calendar, m.calendar_ms),
        (Clock::WorkingHours, m.working_ms),
    ] {
        let bucket = leadtime::bucket_of(value.max(0) as u64);
        for (dim, group) in groups {
            out.push(bucket_key(m.metric, clock, *dim, group, month, bucket));
        }
    }
    out
}

fn count_of(bytes: Option<&[u8]>) -> u64 {
    bytes
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map_or(0, u64::from_be_bytes)
}

fn record_in_tx(tx: &TransactionalTree, key: Vec<u8>) -> TxResult<()> {
    let count = count_of(tx.get(&key)?.as_deref());
    tx.insert(key, &(count + 1).to_be_bytes())?;
    Ok(())
}

/// The recorded fields of a question, as text, for the event history.
type FieldText = fn(&Question) -> Option<String>;

const RECORDED_FIELDS: [(&str, FieldText); 6] = [
    ("category", |q| q.category.map(|c| c.to_string())),
    ("provider", |q| q.provider.as_ref().map(ToString::to_string)),
    ("expert", |q| q.expert.as_ref().map(ToString::to_string)),
    ("duplicate_of", |q| q.duplicate_of.map(|d| d.to_string())),
    ("answer", |q| q.answer.as_ref().map(|a| a.text.clone())),
    ("review_after", |q| {
        q.answer
            .as_ref()
            .and_then(|a| a.review_after_ms)
            .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
            .map(|t| t.to_string())
    }),
];

/// The recorded fields that differ between two states of a question.
fn field_changes(old: &Question, new: &Question) -> Vec<FieldChange> {
    RECORDED_FIELDS
        .iter()
        .filter_map(|(field, value)| change(field, value(old), value(new)))
        .collect()
}

fn change(field: &str, before: Option<String>, after: Option<String>) -> Option<FieldChange> {
    (before != after).then(|| FieldChange {
        field: field.to_string(),
        before,
        after,
    })
}

impl SledStore {
    /// Opens (or creates) the store in `path`.
    pub fn open(
        path: &Path,
        options: StoreOptions,
        time: Arc<dyn TimeSource>,
    ) -> Result<Self, StoreError> {
        std::fs::create_dir_all(path).map_err(|e| {
            StoreError::Io(format!(
                "cannot create data directory {}: {e}",
                path.display()
            ))
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
                        path: path.display().to_string(),
                    }
                } else {
                    StoreError::Io(format!(
                        "cannot open the store in {}: {text}",
                        path.display()
                    ))
                }
            })?;
        let shown = path.display().to_string();
        match db.get(FORMAT_KEY).map_err(io)? {
            Some(v) => {
                let found = v.as_ref().try_into().map(u32::from_be_bytes).unwrap_or(0);
                if found != FORMAT {
                    return Err(StoreError::Format {
                        path: shown,
                        found,
                        supported: FORMAT,
                        hint: if found > FORMAT {
                            "it was written by a newer kicer; run that version or newer"
                        } else {
                            "it was written by an older kicer; export it with that version"
                        },
                    });
                }
            }
            None => {
                if db.iter().next().is_some() {
                    return Err(StoreError::Format {
                        path: shown,
                        found: 0,
                        supported: FORMAT,
                        hint: "the directory holds data that is not a kicer store; point --data-dir elsewhere",
                    });
                }
                db.insert(FORMAT_KEY, &FORMAT.to_be_bytes()).map_err(io)?;
                db.flush().map_err(io)?;
            }
        }
        // sled 0.34 keeps its log in `<dir>/db`; it is fsynced after each
        // group flush (see `commit`).
        let log = std::fs::File::open(path.join("db")).map_err(|e| {
            StoreError::Io(format!(
                "cannot open the store's log {}: {e}",
                path.join("db").display()
            ))
        })?;
        let commit = GroupCommit::new(db.clone(), log);
        Ok(SledStore {
            db,
            path: path.to_path_buf(),
            commit,
            batch: Mutex::new(BatchState::default()),
            batch_done: Condvar::new(),
            time,
            durable: options.durable,
        })
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

    /// Bytes the store occupies on disk.
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        self.db.size_on_disk().map_err(io)
    }

    /// Runs a write, sharing one sled transaction and one flush + fsync
    /// with every write queued at the same moment.
    ///
    /// sled 0.34 commits each transaction under a global lock and its cost
    /// is per key written, so writes that wait together commit together:
    /// the first writer to find no commit running takes everything queued
    /// and runs it as one transaction (a counter bumped by thirty writes is
    /// written once), then flushes; the others wait for their result. A
    /// write that is refused (illegal transition, stale version…) returns
    /// its error without writing and without disturbing the others; one
    /// that fails in a way that must not commit makes the batch run again
    /// write by write, so only it fails.
    fn execute(&self, op: Op) -> Result<Output, StoreError> {
        let slot: Slot = Arc::new(SlotInner::default());
        {
            let mut st = self.lock_batch();
            st.queue.push((op, slot.clone()));
            if !st.leading {
                st.leading = true;
                drop(st);
                return self.lead(&slot);
            }
        }
        let mut state = slot.lock();
        loop {
            if let Some(result) = state.result.take() {
                return result;
            }
            if state.lead {
                state.lead = false;
                drop(state);
                return self.lead(&slot);
            }
            state = slot.ready.wait(state).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Commits everything queued (which includes the leader's own write) as
    /// one batch, then hands leadership on.
    fn lead(&self, own: &Slot) -> Result<Output, StoreError> {
        let batch = std::mem::take(&mut self.lock_batch().queue);
        // Leadership is kept through the flush: writers arriving meanwhile
        // gather into the next, larger batch (measured: handing over before
        // the flush made batches smaller and throughput lower). The guard
        // hands it on even if a commit panics, so writers never wait forever.
        let lead = Leadership { store: self, batch };
        let committed = self.commit_batch(&lead.batch);
        self.finish_batch(&lead.batch, committed);
        drop(lead);
        own.lock().result.take().unwrap_or_else(|| {
            Err(StoreError::Io(
                "the write was not part of the batch it led; read the question again before retrying".into(),
            ))
        })
    }

    fn lock_batch(&self) -> std::sync::MutexGuard<'_, BatchState> {
        // The queue stays consistent even if a writer panicked.
        self.batch.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs a batch as one transaction.
    fn commit_batch(
        &self,
        batch: &[(Op, Slot)],
    ) -> Result<Vec<Result<Output, StoreError>>, TransactionError<StoreError>> {
        self.db.transaction(|tx| {
            let mut out = Vec::with_capacity(batch.len());
            for (op, _) in batch {
                out.push(op(tx)?);
            }
            Ok(out)
        })
    }

    /// Makes a committed batch durable and hands out the results; a batch
    /// that did not commit is run again write by write.
    fn finish_batch(
        &self,
        batch: &[(Op, Slot)],
        committed: Result<Vec<Result<Output, StoreError>>, TransactionError<StoreError>>,
    ) {
        let results: Vec<Result<Output, StoreError>> = match committed {
            Ok(results) => match self.make_durable() {
                Ok(()) => results,
                // Refusals wrote nothing and stay refusals; committed
                // writes may or may not have reached the disk.
                Err(e) => results
                    .into_iter()
                    .map(|r| {
                        r.and_then(|_| {
                            Err(StoreError::Io(format!(
                                "the write was committed but could not be made durable ({e}); its outcome is unknown: \
                                 retry with the same request id, or read the question again"
                            )))
                        })
                    })
                    .collect(),
            },
            Err(e) if batch.len() == 1 => vec![Err(tx_error(e))],
            Err(_) => batch
                .iter()
                .map(|(op, _)| {
                    let r = self.db.transaction(|tx| op(tx)).map_err(tx_error)?;
                    self.make_durable()?;
                    r
                })
                .collect(),
        };
        for ((_, slot), result) in batch.iter().zip(results) {
            slot.answer(result);
        }
    }

    fn make_durable(&self) -> Result<(), StoreError> {
        if self.durable {
            self.commit.wait_durable().map_err(StoreError::Io)?;
        }
        Ok(())
    }

    fn load(&self, id: QuestionId) -> Result<Question, StoreError> {
        let key = keys::question(id);
        match self.db.get(&key).map_err(io)? {
            Some(bytes) => from_json(&key, &bytes),
            None => Err(StoreError::NotFound(id)),
        }
    }

    /// One page of the keys in `[start, end)`: after the key in the page
    /// token (which must have been made for `listing` and lie in the
    /// range), up to the page size of items for which `keep` returns one.
    fn page<T>(
        &self,
        listing: &[u8],
        (start, end): (&[u8], &[u8]),
        page: &PageRequest,
        mut keep: impl FnMut(&[u8], &[u8]) -> Result<Option<T>, StoreError>,
    ) -> Result<Page<T>, StoreError> {
        let from = match page.token.as_deref() {
            Some(token) => {
                let mut last = keys::parse_page_token(listing, token)?;
                if last.as_slice() < start || last.as_slice() >= end {
                    return Err(StoreError::BadPageToken);
                }
                last.push(0); // just after the previous page's last key
                last
            }
            None => start.to_vec(),
        };
        let limit = page.effective_size();
        let mut items = Vec::new();
        for entry in self.db.range(from..end.to_vec()) {
            let (k, v) = entry.map_err(io)?;
            if let Some(item) = keep(&k, &v)? {
                items.push(item);
                if items.len() == limit {
                    return Ok(Page {
                        items,
                        next_token: Some(keys::page_token(listing, &k)),
                    });
                }
            }
        }
        Ok(Page {
            items,
            next_token: None,
        })
    }

    /// Recomputes the lead-time counters from the event history.
    fn rebuild_counters(&self) -> Result<u64, StoreError> {
        let mut counters: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
        let mut replayed = 0u64;
        for entry in self.db.scan_prefix([keys::QUESTION]) {
            let (k, v) = entry.map_err(io)?;
            let q: Question = from_json(&k, &v)?;
            let events = self.history(q.id)?;
            // The groups of a measurement are the question's assignments
            // at the moment it completed, replayed from the field changes.
            let mut state = q.clone();
            state.category = None;
            state.provider = None;
            state.expert = None;
            let mut timeline = Timeline {
                received_ms: q.submitted_ms,
                ..Timeline::default()
            };
            for e in &events {
                for c in &e.changes {
                    match c.field.as_str() {
                        "category" => {
                            state.category =
                                c.after.as_deref().and_then(|s| s.parse::<Category>().ok())
                        }
                        "provider" => {
                            state.provider =
                                c.after.as_deref().and_then(|s| ProviderId::parse(s).ok())
                        }
                        "expert" => {
                            state.expert = c.after.as_deref().and_then(|s| ExpertId::parse(s).ok())
                        }
                        _ => {}
                    }
                }
                if e.from.is_none() {
                    continue;
                }
                let groups = leadtime::groups_of(&state);
                for m in leadtime::advance(&mut timeline, e.to, e.at_ms) {
                    for key in measurement_keys(&m, &groups) {
                        *counters.entry(key).or_default() += 1;
                    }
                }
            }
            replayed += 1;
        }
        let mut batch = sled::Batch::default();
        for entry in self.db.scan_prefix([keys::HISTOGRAM]) {
            let (k, _) = entry.map_err(io)?;
            if !counters.contains_key(k.as_ref()) {
                batch.remove(k);
            }
        }
        for (k, count) in &counters {
            batch.insert(k.as_slice(), &count.to_be_bytes());
        }
        self.db.apply_batch(batch).map_err(io)?;
        self.commit.wait_durable().map_err(StoreError::Io)?;
        Ok(replayed)
    }

    fn write_indexes(
        tx: &TransactionalTree,
        before: Option<&Question>,
        after: &Question,
    ) -> TxResult<()> {
        let new = index_keys(after);
        if let Some(old) = before {
            for k in index_keys(old) {
                if !new.contains(&k) {
                    tx.remove(k)?;
                }
            }
        }
        for k in new {
            tx.insert(k, &[] as &[u8])?;
        }
        Ok(())
    }
}

fn end_of(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0xff; 16]
}

impl Store for SledStore {
    fn submit(&self, new: NewQuestion) -> Result<Submitted, StoreError> {
        if !(1..=5).contains(&new.impact) || !(1..=5).contains(&new.effort) {
            return Err(StoreError::Invalid(format!(
                "impact {} and effort {} must be between 1 and 5",
                new.impact, new.effort
            )));
        }
        if let Decision::Route {
            provider: None,
            expert: None,
        } = new.decision
        {
            return Err(StoreError::Invalid(
                "a routing decision needs a provider or an expert".into(),
            ));
        }
        let now = self.time.now_ms();
        let op = move |tx: &TransactionalTree| -> TxResult<Submitted> {
            if let Some(rid) = &new.request_id {
                if let Some(existing) = tx.get(keys::request(rid))? {
                    let id = match <[u8; 8]>::try_from(existing.as_ref()) {
                        Ok(b) => QuestionId::new(u64::from_be_bytes(b)),
                        Err(_) => {
                            return abort(StoreError::Corrupt {
                                key: format!("request {rid}"),
                                reason: "not an id".into(),
                            })
                        }
                    };
                    return match tx_get::<Question>(tx, &keys::question(id))? {
                        Some(q) => Ok(Submitted {
                            question: q,
                            created: false,
                        }),
                        None => abort(StoreError::Corrupt {
                            key: format!("request {rid}"),
                            reason: format!("points at missing {id}"),
                        }),
                    };
                }
            }
            let id = QuestionId::new(tx.generate_id()? + 1);
            let mut q = Question {
                id,
                text: new.text.clone(),
                organization_name: new.organization_name.clone(),
                organization_type: new.organization_type,
                region: new.region,
                portal: new.portal.clone(),
                request_id: new.request_id.clone(),
                submitted_ms: now,
                classification: new.classification.clone(),
                category: new.classification.category,
                status: Status::Received,
                provider: None,
                expert: None,
                impact: new.impact,
                effort: new.effort,
                triage_reason: None,
                triage_since_ms: None,
                answer: None,
                duplicate_of: None,
                version: 1,
                updated_ms: now,
                timeline: Timeline {
                    received_ms: now,
                    ..Timeline::default()
                },
                events: 0,
            };
            let received = Event {
                seq: 0,
                at_ms: now,
                actor: new.actor.clone(),
                action: None,
                from: None,
                to: Status::Received,
                reason: None,
                changes: change("category", None, q.category.map(|c| c.to_string()))
                    .into_iter()
                    .collect(),
            };
            let (action, reason) = match &new.decision {
                Decision::Route { provider, expert } => {
                    q.provider = provider.clone();
                    q.expert = expert.clone();
                    (ActionKind::Route, None)
                }
                Decision::Triage { reason } => {
                    q.triage_reason = Some(reason.clone());
                    q.triage_since_ms = Some(now);
                    (ActionKind::Triage, Some(reason.clone()))
                }
            };
            q.status = action
                .target_from(Status::Received)
                .unwrap_or(Status::Triage);
            let decided = Event {
                seq: 1,
                at_ms: now,
                actor: new.actor.clone(),
                action: Some(action),
                from: Some(Status::Received),
                to: q.status,
                reason,
                changes: [
                    change(
                        "provider",
                        None,
                        q.provider.as_ref().map(ToString::to_string),
                    ),
                    change("expert", None, q.expert.as_ref().map(ToString::to_string)),
                ]
                .into_iter()
                .flatten()
                .collect(),
            };
            q.events = 2;
            let measurements = leadtime::advance(&mut q.timeline, q.status, now);
            tx_put(tx, keys::event(id, 0), &received)?;
            tx_put(tx, keys::event(id, 1), &decided)?;
            Self::write_indexes(tx, None, &q)?;
            let groups = leadtime::groups_of(&q);
            for m in &measurements {
                for key in measurement_keys(m, &groups) {
                    record_in_tx(tx, key)?;
                }
            }
            if let Some(rid) = &new.request_id {
                tx.insert(keys::request(rid), &id.get().to_be_bytes())?;
            }
            tx_put(tx, keys::question(id), &q)?;
            Ok(Submitted {
                question: q,
                created: true,
            })
        };
        match self.execute(Arc::new(move |tx| Ok(Ok(Output::Submitted(op(tx)?)))))? {
            Output::Submitted(s) => Ok(s),
            Output::Question(question) => Ok(Submitted {
                question,
                created: false,
            }),
        }
    }

    fn get(&self, id: QuestionId) -> Result<Question, StoreError> {
        self.load(id)
    }

    fn history(&self, id: QuestionId) -> Result<Vec<Event>, StoreError> {
        self.load(id)?;
        let prefix = keys::events_of(id);
        self.db
            .scan_prefix(&prefix)
            .map(|entry| {
                let (k, v) = entry.map_err(io)?;
                from_json(&k, &v)
            })
            .collect()
    }

    fn event(&self, id: QuestionId, seq: u32) -> Result<Option<Event>, StoreError> {
        let key = keys::event(id, seq);
        match self.db.get(&key).map_err(io)? {
            Some(bytes) => from_json(&key, &bytes).map(Some),
            None => Ok(None),
        }
    }

    fn apply(&self, id: QuestionId, ch: Change) -> Result<Question, StoreError> {
        let kind = ch.action.kind();
        match &ch.action {
            Action::Route {
                provider: None,
                expert: None,
                ..
            } => {
                return Err(StoreError::Invalid(
                    "route to a provider or an expert: give at least one".into(),
                ))
            }
            Action::Answer { text, .. } if text.trim().is_empty() => {
                return Err(StoreError::Invalid(
                    "the answer is empty: give the answer text".into(),
                ))
            }
            Action::MarkDuplicate { original } if *original == id => {
                return Err(StoreError::Invalid(
                    "a question cannot be a duplicate of itself".into(),
                ))
            }
            _ => {}
        }
        let now = self.time.now_ms();
        let op = move |tx: &TransactionalTree| -> TxResult<Result<Question, StoreError>> {
            // Refusals come back as `Ok(Err(..))` before anything is
            // written, so the other writes of a shared commit go through.
            let Some(old) = tx_get::<Question>(tx, &keys::question(id))? else {
                return Ok(Err(StoreError::NotFound(id)));
            };
            if let Some(expected) = ch.expected_version {
                if expected != old.version {
                    return Ok(Err(StoreError::Stale {
                        id,
                        expected,
                        current: old.version,
                    }));
                }
            }
            // Writes queue before they commit, so a later write may carry an
            // earlier reading of the clock: never let history run backwards.
            let now = now.max(old.updated_ms);
            let to = match transition(old.status, kind) {
                Ok(to) => to,
                Err(source) => return Ok(Err(StoreError::IllegalTransition { id, source })),
            };
            let mut q = old.clone();
            q.status = to;
            let mut feedback = None;
            match &ch.action {
                Action::Route {
                    category,
                    provider,
                    expert,
                } => {
                    if old.status == Status::Triage {
                        feedback = Some(Feedback {
                            question: id,
                            at_ms: now,
                            actor: ch.actor.clone(),
                            proposed_category: old.classification.category,
                            proposed_provider: old.classification.providers.first().cloned(),
                            proposed_expert: old.classification.experts.first().cloned(),
                            chosen_category: category.or(old.category),
                            chosen_provider: provider.clone(),
                            chosen_expert: expert.clone(),
                            index_version: old.classification.index_version,
                        });
                    }
                    if category.is_some() {
                        q.category = *category;
                    }
                    q.provider = provider.clone();
                    q.expert = expert.clone();
                    q.triage_reason = None;
                }
                Action::Triage | Action::Decline => {
                    q.triage_reason = ch.reason.clone();
                    q.triage_since_ms = Some(now);
                    if kind == ActionKind::Decline {
                        q.provider = None;
                        q.expert = None;
                    }
                }
                Action::MarkDuplicate { original } => {
                    match tx_get::<Question>(tx, &keys::question(*original))? {
                        None => {
                            return Ok(Err(StoreError::Invalid(format!(
                                "the original question {original} does not exist"
                            ))))
                        }
                        Some(o) if matches!(o.status, Status::Duplicate | Status::Rejected) => {
                            return Ok(Err(StoreError::Invalid(format!(
                                "{original} is {} and cannot be the original: link to the question it points to",
                                o.status
                            ))))
                        }
                        Some(_) => {}
                    }
                    q.duplicate_of = Some(*original);
                }
                Action::Answer {
                    text,
                    sources,
                    review_after_ms,
                } => {
                    q.answer = Some(Answer {
                        text: text.clone(),
                        sources: sources.clone(),
                        review_after_ms: *review_after_ms,
                        answered_at_ms: now,
                    });
                }
                Action::Reject
                | Action::Accept
                | Action::WaitForAsker
                | Action::Resume
                | Action::Close
                | Action::Reopen => {}
            }
            q.version += 1;
            q.updated_ms = now;
            let event = Event {
                seq: old.events,
                at_ms: now,
                actor: ch.actor.clone(),
                action: Some(kind),
                from: Some(old.status),
                to,
                reason: ch.reason.clone(),
                changes: field_changes(&old, &q),
            };
            q.events += 1;
            let measurements = leadtime::advance(&mut q.timeline, to, now);
            tx_put(tx, keys::event(id, event.seq), &event)?;
            Self::write_indexes(tx, Some(&old), &q)?;
            let groups = leadtime::groups_of(&q);
            for m in &measurements {
                for key in measurement_keys(m, &groups) {
                    record_in_tx(tx, key)?;
                }
            }
            if let Some(f) = &feedback {
                let mut key = vec![keys::FEEDBACK];
                key.extend_from_slice(&tx.generate_id()?.to_be_bytes());
                tx_put(tx, key, f)?;
            }
            tx_put(tx, keys::question(id), &q)?;
            Ok(Ok(q))
        };
        match self.execute(Arc::new(move |tx| Ok(op(tx)?.map(Output::Question))))? {
            Output::Question(q) => Ok(q),
            Output::Submitted(s) => Ok(s.question),
        }
    }

    fn review_answer(&self, id: QuestionId, review: AnswerReview) -> Result<Question, StoreError> {
        if let Some((text, _)) = &review.replace {
            if text.trim().is_empty() {
                return Err(StoreError::Invalid(
                    "the new answer is empty: give the answer text, or confirm the current one"
                        .into(),
                ));
            }
        }
        let now = self.time.now_ms();
        let op = move |tx: &TransactionalTree| -> TxResult<Result<Question, StoreError>> {
            let Some(old) = tx_get::<Question>(tx, &keys::question(id))? else {
                return Ok(Err(StoreError::NotFound(id)));
            };
            if let Some(expected) = review.expected_version {
                if expected != old.version {
                    return Ok(Err(StoreError::Stale {
                        id,
                        expected,
                        current: old.version,
                    }));
                }
            }
            let (true, Some(answer)) = (
                matches!(old.status, Status::Answered | Status::Closed),
                old.answer.clone(),
            ) else {
                return Ok(Err(StoreError::NotAnswered {
                    id,
                    status: old.status,
                }));
            };
            let now = now.max(old.updated_ms);
            let mut q = old.clone();
            let confirmed = review.replace.is_none();
            q.answer = Some(match &review.replace {
                Some((text, sources)) => Answer {
                    text: text.clone(),
                    sources: sources.clone(),
                    review_after_ms: review.review_after_ms,
                    answered_at_ms: now,
                },
                None => Answer {
                    review_after_ms: review.review_after_ms,
                    ..answer
                },
            });
            q.version += 1;
            q.updated_ms = now;
            let event = Event {
                seq: old.events,
                at_ms: now,
                actor: review.actor.clone(),
                action: Some(ActionKind::ReviewAnswer),
                from: Some(old.status),
                to: old.status,
                reason: Some(match (&review.reason, confirmed) {
                    (Some(r), true) => format!("answer confirmed: {r}"),
                    (Some(r), false) => format!("answer replaced: {r}"),
                    (None, true) => "answer confirmed".into(),
                    (None, false) => "answer replaced".into(),
                }),
                changes: field_changes(&old, &q),
            };
            q.events += 1;
            tx_put(tx, keys::event(id, event.seq), &event)?;
            Self::write_indexes(tx, Some(&old), &q)?;
            tx_put(tx, keys::question(id), &q)?;
            Ok(Ok(q))
        };
        match self.execute(Arc::new(move |tx| Ok(op(tx)?.map(Output::Question))))? {
            Output::Question(q) => Ok(q),
            Output::Submitted(s) => Ok(s.question),
        }
    }

    fn list(&self, filter: &ListFilter, page: &PageRequest) -> Result<Page<Question>, StoreError> {
        // The most selective index the filter allows; the rest of the
        // filter is checked on the questions found.
        let prefix: Vec<u8> = if let Some(a) = &filter.assignee {
            keys::text_prefix(keys::BY_ASSIGNEE, &assignee_key(a))
        } else if let Some(org) = &filter.organization {
            keys::text_prefix(keys::BY_ORGANIZATION, &fold(org))
        } else if let Some(s) = filter.status {
            vec![keys::BY_STATUS, s.code()]
        } else if let Some(c) = filter.category {
            vec![keys::BY_CATEGORY, c.index() as u8]
        } else {
            vec![keys::BY_TIME]
        };
        let mut start = prefix.clone();
        start.extend_from_slice(&keys::time(filter.submitted_from_ms.unwrap_or(i64::MIN)));
        let end = match filter.submitted_to_ms {
            Some(to) => {
                let mut e = prefix.clone();
                e.extend_from_slice(&keys::time(to));
                e
            }
            None => end_of(&prefix),
        };
        let mut listing = prefix.clone();
        listing.extend_from_slice(&keys::fnv(format!("{filter:?}").as_bytes()));
        self.page(&listing, (&start, &end), page, |k, _| {
            let Some(id) = keys::id_at_end(k) else {
                return Ok(None);
            };
            let q = self.load(id)?;
            let matches = filter.status.is_none_or(|s| q.status == s)
                && filter.category.is_none_or(|c| q.category == Some(c))
                && filter
                    .organization_type
                    .is_none_or(|t| q.organization_type == t)
                && filter
                    .organization
                    .as_ref()
                    .is_none_or(|o| fold(o) == fold(&q.organization_name))
                && filter.assignee.as_ref().is_none_or(|a| match a {
                    Assignee::Provider(p) => q.provider.as_ref() == Some(p),
                    Assignee::Expert(e) => q.expert.as_ref() == Some(e),
                });
            Ok(matches.then_some(q))
        })
    }

    fn triage_queue(&self, page: &PageRequest) -> Result<Page<QueueEntry>, StoreError> {
        let prefix = [keys::QUEUE];
        let now = self.time.now_ms();
        self.page(&prefix, (&prefix, &end_of(&prefix)), page, |k, _| {
            let (Some(id), Some(p)) = (keys::id_at_end(k), keys::queue_priority(k)) else {
                return Ok(None);
            };
            Ok(Some(QueueEntry {
                question: self.load(id)?,
                priority: priority_now(p, now),
            }))
        })
    }

    fn due_for_review(&self, at_ms: i64, page: &PageRequest) -> Result<Page<Question>, StoreError> {
        let prefix = [keys::REVIEW];
        let mut end = vec![keys::REVIEW];
        end.extend_from_slice(&keys::time(at_ms.saturating_add(1)));
        self.page(&prefix, (&prefix, &end), page, |k, _| {
            keys::id_at_end(k).map(|id| self.load(id)).transpose()
        })
    }

    fn lead_times(&self, query: &LeadTimeQuery) -> Result<Vec<LeadTimeGroup>, StoreError> {
        let dim = if query.group_by == Dimension::Month {
            Dimension::All
        } else {
            query.group_by
        };
        let prefix = vec![
            keys::HISTOGRAM,
            query.metric as u8,
            query.clock as u8,
            dim as u8,
        ];
        let mut groups: BTreeMap<String, hdrhistogram::Histogram<u64>> = BTreeMap::new();
        for entry in self.db.scan_prefix(&prefix) {
            let (k, v) = entry.map_err(io)?;
            let rest = &k[prefix.len()..];
            let Some(zero) = rest.iter().position(|&b| b == 0) else {
                continue;
            };
            let tail = &rest[zero + 1..];
            let (Some(month), Some(bucket)) = (
                tail.get(..4)
                    .and_then(|m| <[u8; 4]>::try_from(m).ok())
                    .map(u32::from_be_bytes),
                tail.get(4..12)
                    .and_then(|b| <[u8; 8]>::try_from(b).ok())
                    .map(u64::from_be_bytes),
            ) else {
                continue;
            };
            if month < query.from_month || month > query.to_month {
                continue;
            }
            let name = if query.group_by == Dimension::Month {
                month.to_string()
            } else {
                String::from_utf8_lossy(&rest[..zero]).into_owned()
            };
            let slot = groups.entry(name).or_insert_with(leadtime::new_histogram);
            slot.record_n(bucket.min(leadtime::MAX_LEAD_TIME_MS), count_of(Some(&v)))
                .map_err(|e| io(format!("recording a lead-time bucket: {e:?}")))?;
        }
        Ok(groups
            .into_iter()
            .map(|(name, h)| leadtime::summary(name, &h))
            .collect())
    }

    fn open_ages(&self) -> Result<Vec<OpenAge>, StoreError> {
        // Open questions are few next to closed ones; the category comes
        // from the record, so this reads each open question once.
        let now = self.time.now_ms();
        let mut out = Vec::new();
        for status in Status::ALL
            .into_iter()
            .filter(|s| s.is_open() && *s != Status::Received)
        {
            let mut ages: Vec<(Option<Category>, i64)> = Vec::new();
            for entry in self.db.scan_prefix([keys::BY_STATUS, status.code()]) {
                let (k, _) = entry.map_err(io)?;
                let (Some(t), Some(id)) = (
                    k.get(2..10).and_then(|b| <[u8; 8]>::try_from(b).ok()),
                    k.get(10..18).and_then(|b| <[u8; 8]>::try_from(b).ok()),
                ) else {
                    continue;
                };
                let submitted = (u64::from_be_bytes(t) ^ (1 << 63)) as i64;
                let category = match self.load(QuestionId::new(u64::from_be_bytes(id))) {
                    Ok(q) => q.category,
                    Err(StoreError::NotFound(_)) => continue,
                    Err(e) => return Err(e),
                };
                ages.push((category, (now - submitted).max(0)));
            }
            let mut rows = vec![open_age(status, None, ages.iter().map(|a| a.1).collect())];
            for category in Category::ALL.iter().copied() {
                let of: Vec<i64> = ages
                    .iter()
                    .filter(|a| a.0 == Some(category))
                    .map(|a| a.1)
                    .collect();
                if !of.is_empty() {
                    rows.push(open_age(status, Some(category), of));
                }
            }
            out.extend(rows);
        }
        Ok(out)
    }

    fn rebuild_lead_times(&self) -> Result<u64, StoreError> {
        // Hold writes back while the counters are replaced: an increment
        // committed between the scan and the replacement would be lost.
        // Writers queue meanwhile and commit as one batch afterwards.
        let mut st = self.lock_batch();
        while st.leading {
            st = self.batch_done.wait(st).unwrap_or_else(|p| p.into_inner());
        }
        st.leading = true;
        drop(st);
        let _lead = Leadership {
            store: self,
            batch: Vec::new(),
        };
        self.rebuild_counters()
    }

    fn put_expert(&self, expert: &ExpertRecord) -> Result<(), StoreError> {
        let valid =
            Expert::try_from(expert.clone()).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let bytes = to_json(expert)?;
        self.db
            .insert(keys::expert(valid.id().as_str()), bytes)
            .map_err(io)?;
        if self.durable {
            self.commit.wait_durable().map_err(StoreError::Io)?;
        }
        Ok(())
    }

    fn put_experts(&self, experts: &[ExpertRecord]) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for expert in experts {
            let valid =
                Expert::try_from(expert.clone()).map_err(|e| StoreError::Invalid(e.to_string()))?;
            batch.insert(keys::expert(valid.id().as_str()), to_json(expert)?);
        }
        self.db.apply_batch(batch).map_err(io)?;
        if self.durable {
            self.commit.wait_durable().map_err(StoreError::Io)?;
        }
        Ok(())
    }

    fn delete_expert(&self, id: &ExpertId) -> Result<bool, StoreError> {
        let existed = self
            .db
            .remove(keys::expert(id.as_str()))
            .map_err(io)?
            .is_some();
        if self.durable {
            self.commit.wait_durable().map_err(StoreError::Io)?;
        }
        Ok(existed)
    }

    fn expert(&self, id: &str) -> Result<Option<ExpertRecord>, StoreError> {
        let key = keys::expert(id);
        match self.db.get(&key).map_err(io)? {
            Some(bytes) => from_json(&key, &bytes).map(Some),
            None => Ok(None),
        }
    }

    fn experts(&self) -> Result<Vec<ExpertRecord>, StoreError> {
        self.db
            .scan_prefix([keys::EXPERT])
            .map(|entry| {
                let (k, v) = entry.map_err(io)?;
                from_json(&k, &v)
            })
            .collect()
    }

    fn put_provider_change(&self, change: &ProviderChange) -> Result<(), StoreError> {
        let bytes = to_json(change)?;
        self.db
            .insert(keys::provider(change.id()), bytes)
            .map_err(io)?;
        if self.durable {
            self.commit.wait_durable().map_err(StoreError::Io)?;
        }
        Ok(())
    }

    fn provider_changes(&self) -> Result<Vec<ProviderChange>, StoreError> {
        self.db
            .scan_prefix([keys::PROVIDER])
            .map(|entry| {
                let (k, v) = entry.map_err(io)?;
                from_json(&k, &v)
            })
            .collect()
    }

    fn put_meta(&self, name: &str, value: &[u8]) -> Result<(), StoreError> {
        self.db.insert(keys::meta(name), value).map_err(io)?;
        if self.durable {
            self.commit.wait_durable().map_err(StoreError::Io)?;
        }
        Ok(())
    }

    fn meta(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .db
            .get(keys::meta(name))
            .map_err(io)?
            .map(|v| v.to_vec()))
    }

    fn feedback(&self, page: &PageRequest) -> Result<Page<Feedback>, StoreError> {
        let prefix = [keys::FEEDBACK];
        self.page(&prefix, (&prefix, &end_of(&prefix)), page, |k, v| {
            from_json(k, v).map(Some)
        })
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.commit.wait_durable().map_err(StoreError::Io)
    }
}

fn open_age(status: Status, category: Option<Category>, mut ages: Vec<i64>) -> OpenAge {
    ages.sort_unstable();
    OpenAge {
        status,
        category,
        count: ages.len() as u64,
        oldest_ms: ages.last().copied().unwrap_or(0),
        median_ms: ages.get(ages.len() / 2).copied().unwrap_or(0),
    }
}

#[cfg(test)]
mod tests;
