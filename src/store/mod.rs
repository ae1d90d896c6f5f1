//! Everything kicer knows, durably: questions, their event history, the
//! catalog that listings filter, the triage queue, lead-time aggregates, the expert
//! directory and the core team's routing feedback.
//!
//! The service talks to the narrow [`Store`] trait, shaped by the domain's
//! operations (submit, transition, list, lead times…), never to sled's API,
//! so another backend can be added without touching the engine or the gRPC
//! layer. [`SledStore`] is the embedded default.
//!
//! What a change does to a question is decided by the pure functions of
//! [`transition`], which every backend calls; a backend only persists what
//! they return. In [`SledStore`] every write is one atomic transaction
//! (record with its events + catalog block + queue entries + histograms), queued with the writes that
//! arrive at the same moment (`batch`), then a group commit ([`commit`]:
//! flush + fsync shared by all writers waiting at that moment); a call
//! returns only when its write is on disk. Key layouts live in `keys`.

pub mod backup;
mod batch;
mod catalog;
pub mod commit;
#[cfg(test)]
mod fixtures;
mod keys;
pub mod leadtime;
mod model;
mod sled_store;
pub mod transition;

pub use leadtime::{Clock as LeadClock, Dimension, LeadTimeGroup, LeadTimeQuery, Metric};
pub use model::*;
pub use sled_store::{SledStore, StoreOptions};

use crate::domain::{ExpertId, ExpertRecord, IllegalTransition, ProviderChange, Status};

/// Why a store operation failed. Messages say what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No question with this id.
    #[error("question {0} does not exist: check the id (ids look like q42)")]
    NotFound(QuestionId),
    /// The lifecycle does not allow the action now.
    #[error("question {id}: {source}")]
    IllegalTransition {
        /// The question.
        id: QuestionId,
        /// Current status and allowed actions.
        source: IllegalTransition,
    },
    /// The change named an older version of the question.
    #[error("question {id} changed since you read it (you sent version {expected}, it is at {current}): read it again and retry")]
    Stale {
        /// The question.
        id: QuestionId,
        /// The version the caller sent.
        expected: u64,
        /// The version in the store.
        current: u64,
    },
    /// A value in the request is not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// A page token that this listing did not hand out.
    #[error("page token is not valid for this listing: start again without a page token")]
    BadPageToken,
    /// Another process has the data directory open.
    #[error("the data directory {path} is in use by another kicer process: stop it, or use another --data-dir")]
    Locked {
        /// The directory.
        path: String,
    },
    /// Only answered questions have an answer to review.
    #[error(
        "question {id} is {status}: only an ANSWERED or CLOSED question has an answer to review"
    )]
    NotAnswered {
        /// The question.
        id: QuestionId,
        /// Its status.
        status: Status,
    },
    /// The data directory was written by an incompatible build.
    #[error("the data directory {path} holds store format {found}; this build reads format {supported}: {hint}")]
    Format {
        /// The directory.
        path: String,
        /// Format found on disk.
        found: u32,
        /// Format this build reads.
        supported: u32,
        /// What to do.
        hint: &'static str,
    },
    /// A stored record could not be decoded: the store is damaged.
    #[error("stored record {key} is damaged ({reason}): restore the data directory from a backup")]
    Corrupt {
        /// Which record.
        key: String,
        /// The decoder's message.
        reason: String,
    },
    /// The storage engine cannot read the data directory: it is damaged.
    #[error("the store in {path} is damaged ({reason}): restore it from a backup (`kicer restore --from BACKUP --data-dir NEW`, then start kicer with --data-dir NEW); keep the damaged directory for inspection")]
    Damaged {
        /// The directory.
        path: String,
        /// What the engine reported.
        reason: String,
    },
    /// The disk or the storage engine failed. The message names what kicer
    /// was doing; the operating system's or engine's own error is kept as
    /// the source, for the log.
    #[error("storage failed: {context}")]
    Io {
        /// What kicer was doing, and what to do about it where known.
        context: String,
        /// The error underneath.
        #[source]
        source: std::io::Error,
    },
    /// A record could not be encoded for storage: a bug, not bad input.
    #[error(
        "could not encode {what} for storage ({reason}): this is a bug in kicer, please report it"
    )]
    Encode {
        /// What was being encoded.
        what: &'static str,
        /// The encoder's message.
        reason: String,
    },
}

impl StoreError {
    /// A storage failure while doing `context`, caused by `source`. A
    /// full disk is named as such: it is the one cause an operator can
    /// fix at once, and the OS's own text is not shown to clients.
    pub fn io(context: impl Into<String>, source: impl Into<std::io::Error>) -> Self {
        let source = source.into();
        let context = context.into();
        let context = if is_disk_full(&source) {
            format!("the disk holding the store is full: {context}")
        } else {
            context
        };
        StoreError::Io { context, source }
    }

    /// The kind of the I/O error underneath (`Other` for the rest).
    pub fn io_kind(&self) -> std::io::ErrorKind {
        match self {
            StoreError::Io { source, .. } => source.kind(),
            _ => std::io::ErrorKind::Other,
        }
    }

    /// Whether this is a failure of the disk or the engine (rather than a
    /// refusal of the request).
    pub fn is_io(&self) -> bool {
        matches!(self, StoreError::Io { .. })
    }

    /// The state a failed transition found, for callers that map errors.
    pub fn current_status(&self) -> Option<Status> {
        match self {
            StoreError::IllegalTransition { source, .. } => Some(source.current),
            _ => None,
        }
    }
}

/// Whether an I/O error means that the disk (or the quota) is full.
fn is_disk_full(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    ) || matches!(e.raw_os_error(), Some(28 | 122)) // ENOSPC, EDQUOT
}

/// The operations the service needs from storage.
pub trait Store: Send + Sync {
    /// Stores a new question with its first routing decision. A submit with
    /// a `request_id` seen before returns the original question
    /// (`created: false`) instead of storing a second one.
    fn submit(&self, question: NewQuestion) -> Result<Submitted, StoreError>;
    /// One question.
    fn get(&self, id: QuestionId) -> Result<Question, StoreError>;

    /// What similar-question listings show of question `id`. The default
    /// reads the whole record; a backend may read less.
    fn brief(&self, id: QuestionId) -> Result<QuestionBrief, StoreError> {
        self.get(id).map(|q| QuestionBrief::from(&q))
    }
    /// Its events, oldest first.
    fn history(&self, id: QuestionId) -> Result<Vec<Event>, StoreError>;
    /// One event of a question (`seq` counts from 0; a question's last
    /// event is `events - 1`).
    fn event(&self, id: QuestionId, seq: u32) -> Result<Option<Event>, StoreError>;
    /// Applies a lifecycle action; refused when illegal now or when
    /// `expected_version` is stale.
    fn apply(&self, id: QuestionId, change: Change) -> Result<Question, StoreError>;
    /// Confirms or replaces the answer of an ANSWERED or CLOSED question,
    /// recorded in its history; other states are refused.
    fn review_answer(&self, id: QuestionId, review: AnswerReview) -> Result<Question, StoreError>;
    /// Questions matching a filter, oldest submitted first, paged.
    fn list(&self, filter: &ListFilter, page: &PageRequest) -> Result<Page<Question>, StoreError>;
    /// Questions in TRIAGE, highest priority first, paged.
    fn triage_queue(&self, page: &PageRequest) -> Result<Page<QueueEntry>, StoreError>;
    /// Answered questions whose review date is at or before `at_ms`,
    /// earliest first, paged.
    fn due_for_review(&self, at_ms: i64, page: &PageRequest) -> Result<Page<Question>, StoreError>;
    /// Lead-time percentiles per group over a range of months.
    fn lead_times(&self, query: &LeadTimeQuery) -> Result<Vec<LeadTimeGroup>, StoreError>;
    /// Open questions per status, and per status and category, with their
    /// ages.
    fn open_ages(&self) -> Result<Vec<OpenAge>, StoreError>;
    /// Open questions per status (RECEIVED excepted) with the submit time
    /// of the oldest: cheap enough for every metrics scrape. The default
    /// derives it from [`Store::open_ages`]; a backend may read less.
    fn open_counts(&self, now_ms: i64) -> Result<Vec<OpenCount>, StoreError> {
        Ok(self
            .open_ages()?
            .into_iter()
            .filter(|a| a.category.is_none())
            .map(|a| OpenCount {
                status: a.status,
                count: a.count,
                oldest_submitted_ms: (a.count > 0).then_some(now_ms - a.oldest_ms),
            })
            .collect())
    }
    /// Recomputes every lead-time aggregate from the event history;
    /// returns the number of questions replayed.
    fn rebuild_lead_times(&self) -> Result<u64, StoreError>;
    /// Adds or replaces an expert of the directory.
    fn put_expert(&self, expert: &ExpertRecord) -> Result<(), StoreError>;
    /// Adds or replaces many experts in one atomic, durable write (an
    /// import); every record is validated before any is written.
    fn put_experts(&self, experts: &[ExpertRecord]) -> Result<(), StoreError>;
    /// Removes an expert; whether it existed.
    fn delete_expert(&self, id: &ExpertId) -> Result<bool, StoreError>;
    /// One expert of the directory, by id.
    fn expert(&self, id: &str) -> Result<Option<ExpertRecord>, StoreError>;
    /// The whole expert directory.
    fn experts(&self) -> Result<Vec<ExpertRecord>, StoreError>;
    /// Records a change of the provider directory (replacing any earlier
    /// change of the same provider).
    fn put_provider_change(&self, change: &ProviderChange) -> Result<(), StoreError>;
    /// Every provider directory change, by provider id.
    fn provider_changes(&self) -> Result<Vec<ProviderChange>, StoreError>;
    /// Stores a named value of the service (the learned model, learning
    /// resets), durably.
    fn put_meta(&self, name: &str, value: &[u8]) -> Result<(), StoreError>;
    /// A named value of the service, if stored.
    fn meta(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Stores the embedding of question `id` (an opaque encoding, see
    /// `similar::Vector`), replacing any earlier one. Durable at the next
    /// [`Store::flush`] or write: the embedder stores a batch, then
    /// flushes once.
    fn put_embedding(&self, id: QuestionId, encoded: &[u8]) -> Result<(), StoreError>;
    /// Stored embeddings with ids after `after`, in id order, at most
    /// `limit`.
    fn embeddings(
        &self,
        after: Option<QuestionId>,
        limit: usize,
    ) -> Result<Vec<(QuestionId, Vec<u8>)>, StoreError>;
    /// Routing feedback of the core team, oldest first, paged.
    fn feedback(&self, page: &PageRequest) -> Result<Page<Feedback>, StoreError>;
    /// Writes a consistent snapshot of the whole store into `sink` (see
    /// [`backup`]) while writes go on; they pause only briefly at the end
    /// (the pause is in the returned figures).
    fn backup(
        &self,
        sink: &mut dyn backup::SnapshotSink,
    ) -> Result<backup::SnapshotStats, StoreError>;
    /// Why the store stopped accepting writes, once a write failed on the
    /// disk or in the engine. sled 0.34 refuses every write after one
    /// failed, until the process restarts, so the server reports
    /// NOT_SERVING and stops when this is set (`grpc::serve`).
    fn write_failure(&self) -> Option<String> {
        None
    }
    /// Bytes the store occupies on disk, when the backend can tell.
    fn size_on_disk(&self) -> Result<Option<u64>, StoreError> {
        Ok(None)
    }
    /// Makes everything written so far durable (writes already are when
    /// they return; this is for shutdown).
    fn flush(&self) -> Result<(), StoreError>;
}
