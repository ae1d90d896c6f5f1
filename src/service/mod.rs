//! The service: what kicer does for its callers, in domain terms. This file
//! owns the [`Service`] itself, composed of one part per concern, and the
//! [`ServiceError`] every call returns:
//!
//! - `questions`: classify, submit, read and act on questions, status
//!   events;
//! - `assignment`: the open questions per expert and the fair,
//!   capacity-aware choice of an expert;
//! - `learning`: the learned model and the background learner;
//! - `directory`: providers and experts, and the index rebuild after a
//!   change;
//! - `insights`: knowledge gaps, lead times, queue ages, review dates;
//! - `backup`: online backups, one at a time;
//! - `similar`: similar earlier questions and their reuse;
//! - `routing`, `events`: the first routing decision and event values;
//! - `paging`, `sync`: walking store listings and taking locks.
//!
//! Everything here is synchronous and knows nothing of gRPC: the `grpc`
//! module parses requests into the types below, calls in on a blocking
//! thread (store writes wait for an fsync), and maps [`ServiceError`] to a
//! status in one place.

mod assignment;
mod backup;
mod directory;
mod events;
mod insights;
mod learning;
mod paging;
mod questions;
mod routing;
mod similar;
mod sync;
pub(crate) use sync::LockExt;

pub use crate::domain::worktime::month_text;
pub use assignment::EQUALLY_GOOD;
pub use events::{EventFilter, QuestionEvent};
pub use insights::{KnowledgeGap, DEFAULT_REVIEW_MONTHS};
pub use questions::{Lifecycle, Request, Submission, SubmitOutcome};
pub use routing::{RoutingPolicy, TriageCause};
pub use similar::{
    ReuseSettings, SearchCounts, SemanticCounts, Similar, SimilarQuery, SHORT_SEARCH_QUESTIONS,
};

use crate::analysis::Analyzer;
use crate::domain::input::InputError;
use crate::engine::Engine;
use crate::index::IndexError;
use crate::store::{Store, StoreError, TimeSource};
use crate::taxonomy::{ProviderError, Taxonomy};
use std::sync::Arc;
use tokio::sync::broadcast;

/// Why a service call failed. Each variant maps to one gRPC status code in
/// `grpc::status`; messages say what to change.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// A text field is empty, too long or malformed.
    #[error(transparent)]
    Input(#[from] InputError),
    /// Another request value is not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// A provider record cannot be used.
    #[error(transparent)]
    Provider(#[from] ProviderError),
    /// Something named does not exist.
    #[error("{what} `{id}` does not exist: {hint}")]
    NotFound {
        /// What kind of thing.
        what: &'static str,
        /// Its id.
        id: String,
        /// How to find valid ids.
        hint: &'static str,
    },
    /// A create named an id that is taken.
    #[error("{what} `{id}` already exists: update it instead, or choose another id")]
    AlreadyExists {
        /// What kind of thing.
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Work that runs one at a time is running already.
    #[error("{0}")]
    Busy(&'static str),
    /// The directory could not be turned into an index.
    #[error("the directory cannot be indexed: {0}")]
    Index(#[from] IndexError),
    /// The server failed at something no request can cause (such as
    /// serialising its own state): a bug, not the caller's mistake.
    #[error("the server could not {what}: {reason}; this is a bug in kicer, report it with the server log")]
    Internal {
        /// What the server was doing.
        what: &'static str,
        /// Why it failed.
        reason: String,
    },
}

/// The service. One per process, shared by every request.
pub struct Service {
    engine: Engine,
    store: Arc<dyn Store>,
    time: Arc<dyn TimeSource>,
    policy: RoutingPolicy,
    events: broadcast::Sender<QuestionEvent>,
    directory: directory::Directory,
    learning: learning::Learning,
    similar: similar::SimilarQuestions,
    load: assignment::Load,
    backups: backup::Backups,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("engine", &self.engine)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// How many events a slow watcher may fall behind before it misses some.
const EVENT_BUFFER: usize = 4096;

impl Service {
    /// Builds the service over a store: the index is built from the
    /// taxonomy with the stored directory (provider changes and experts).
    /// The similar-question index is built from every stored question; see
    /// [`Service::open_with_snapshot`] to keep it in a file instead.
    pub fn open(
        taxonomy: Taxonomy,
        store: Arc<dyn Store>,
        time: Arc<dyn TimeSource>,
        policy: RoutingPolicy,
    ) -> Result<Service, ServiceError> {
        Service::open_with_snapshot(taxonomy, store, time, policy, None)
    }

    /// [`Service::open`], with the similar-question index loaded from the
    /// snapshot file `similar_snapshot` (and caught up with the store)
    /// when it fits, and written there in the background and by
    /// [`Service::flush`]. The file is a cache, rebuilt when missing.
    pub fn open_with_snapshot(
        taxonomy: Taxonomy,
        store: Arc<dyn Store>,
        time: Arc<dyn TimeSource>,
        policy: RoutingPolicy,
        similar_snapshot: Option<std::path::PathBuf>,
    ) -> Result<Service, ServiceError> {
        let analyzer = Analyzer::new();
        let learning = learning::Learning::load(store.as_ref())?;
        let directory = directory::Directory::new(taxonomy.clone());
        let engine = directory.start_engine(store.as_ref(), &learning.current(), &analyzer)?;
        let similar = similar::SimilarQuestions::open(taxonomy, &store, similar_snapshot)?;
        let load = assignment::Load::count(store.as_ref())?;
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        Ok(Service {
            engine,
            store,
            time,
            policy,
            events,
            directory,
            learning,
            similar,
            load,
            backups: backup::Backups::default(),
        })
    }

    /// The engine (for classification outside the lifecycle).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The service's clock, now (ms since the epoch).
    pub fn now_ms(&self) -> i64 {
        self.time.now_ms()
    }
}

#[cfg(test)]
mod tests;
