//! The service: what kicer does for its callers, in domain terms. It puts
//! the engine and the store together (classify, decide, store, publish),
//! owns the live directory (providers over the taxonomy, experts) and
//! rebuilds the index when it changes, and hands out status events.
//!
//! Everything here is synchronous and knows nothing of gRPC: the `grpc`
//! module parses requests into the types below, calls in on a blocking
//! thread (store writes wait for an fsync), and maps [`ServiceError`] to a
//! status in one place.

mod events;
mod routing;

pub use events::{EventFilter, QuestionEvent};
pub use routing::RoutingPolicy;

use crate::analysis::Analyzer;
use crate::domain::input::{
    AnswerText, InputError, OrganizationName, QuestionText, Reason, RequestId,
};
use crate::domain::{
    ActionKind, Category, Expert, ExpertId, ExpertRecord, OrganizationType, ProviderChange,
    ProviderId, ProviderRecord, Province, Status,
};
use crate::engine::{Classification, Engine, Query};
use crate::index::IndexError;
use crate::learn::{self, Example, LearnSettings, Learned, LearnedTerm, Resets, Target};
use crate::store::{
    Action, Change, ClassificationSnapshot, Event, LeadTimeGroup, LeadTimeQuery, ListFilter,
    NewQuestion, OpenAge, Page, PageRequest, Question, QuestionId, QueueEntry, Store, StoreError,
    TimeSource,
};
use crate::taxonomy::{ProviderError, SameWord, Taxonomy};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
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
    /// The directory could not be turned into an index.
    #[error("the directory cannot be indexed: {0}")]
    Index(#[from] IndexError),
}

/// A question as a portal submits it, validated.
#[derive(Debug, Clone)]
pub struct Submission {
    /// The question.
    pub text: QuestionText,
    /// Asking organisation.
    pub organization_name: OrganizationName,
    /// Its type.
    pub organization_type: OrganizationType,
    /// Its province.
    pub region: Option<Province>,
    /// The portal it came through.
    pub portal: Option<String>,
    /// Idempotency key.
    pub request_id: Option<RequestId>,
    /// Impact 1..=5.
    pub impact: u8,
    /// Effort 1..=5.
    pub effort: u8,
    /// Who submitted.
    pub actor: Option<String>,
}

/// What a submit produced.
#[derive(Debug, Clone)]
pub struct SubmitOutcome {
    /// The stored question.
    pub question: Question,
    /// The engine's full classification, when this call stored the
    /// question (a repeated request id returns the stored one only).
    pub classification: Option<Classification>,
    /// Whether this call stored it.
    pub created: bool,
    /// Earlier questions like it, best first.
    pub similar: Vec<Similar>,
}

/// A lifecycle request, validated.
#[derive(Debug, Clone)]
pub enum Lifecycle {
    /// Assign (core team), optionally correcting the category.
    Route {
        /// Corrected category.
        category: Option<Category>,
        /// Provider.
        provider: Option<ProviderId>,
        /// Expert.
        expert: Option<ExpertId>,
    },
    /// Refuse; needs a reason.
    Reject,
    /// Link to the original.
    MarkDuplicate(QuestionId),
    /// The assignee takes it.
    Accept,
    /// The assignee gives it back; needs a reason.
    Decline,
    /// Wait for the asker.
    WaitForAsker,
    /// The asker replied.
    Resume,
    /// Answer.
    Answer {
        /// Answer text.
        text: AnswerText,
        /// Sources.
        sources: Vec<String>,
        /// Review date (ms).
        review_after_ms: Option<i64>,
    },
    /// Close.
    Close,
    /// Reopen.
    Reopen,
}

/// Who asks for a change, why, and which version they saw.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// Who.
    pub actor: Option<String>,
    /// Why.
    pub reason: Option<Reason>,
    /// The version the caller read (from the etag).
    pub expected_version: Option<u64>,
}

/// Default actor when a caller does not say who they are.
const ANONYMOUS: &str = "api";

/// The service. One per process, shared by every request.
pub struct Service {
    engine: Engine,
    /// The taxonomy as loaded, before the directory's provider changes.
    base: Taxonomy,
    store: Arc<dyn Store>,
    time: Arc<dyn TimeSource>,
    policy: RoutingPolicy,
    events: broadcast::Sender<QuestionEvent>,
    /// Serialises directory changes with their index rebuild, so the index
    /// always reflects the last change (requests never take it).
    directory: Mutex<()>,
    /// What the core team's decisions taught; laid over the taxonomy and
    /// the experts on every index build.
    learned: Mutex<Arc<Learned>>,
    learn_settings: LearnSettings,
    /// Wakes the background learner after a triage decision.
    learner: Mutex<Option<std::sync::mpsc::Sender<()>>>,
    /// Every stored question's features, for similar-question search.
    similar: crate::similar::SimilarIndex,
    /// The engine over the taxonomy as loaded, for stable features.
    features: Engine,
    /// Open questions (ROUTED, IN_PROGRESS, WAITING) per expert: what
    /// automatic assignment checks against capacity. Counted from the store
    /// at start, then kept by every change; an automatic assignment
    /// reserves its place here before the question is stored, so
    /// concurrent submits cannot overfill an expert.
    load: Mutex<std::collections::HashMap<ExpertId, u32>>,
    reuse: ReuseSettings,
}

/// An earlier question like a new one, with its state and answer.
#[derive(Debug, Clone)]
pub struct Similar {
    /// The earlier question.
    pub question: Question,
    /// Cosine similarity, 0..=1.
    pub score: f32,
}

/// When an earlier answered question counts as the same question.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReuseSettings {
    /// Similarity at or above which a new question with an answered
    /// earlier one goes to triage, flagged, so the core team can close it
    /// with the existing answer.
    pub duplicate_threshold: f32,
    /// Similar questions listed on submit and classify.
    pub similar_listed: usize,
    /// Similarity below which a question is not listed as similar.
    pub min_similarity: f32,
}

impl ReuseSettings {
    /// Checks the knobs, saying which one is wrong.
    pub fn check(&self) -> Result<(), String> {
        for (name, v) in [
            ("duplicate_threshold", self.duplicate_threshold),
            ("min_similarity", self.min_similarity),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(format!("reuse.{name} = {v} must be between 0 and 1"));
            }
        }
        if self.similar_listed > 50 {
            return Err(format!(
                "reuse.similar_listed = {} is more than 50",
                self.similar_listed
            ));
        }
        Ok(())
    }
}

impl Default for ReuseSettings {
    fn default() -> Self {
        ReuseSettings {
            duplicate_threshold: 0.8,
            similar_listed: 5,
            min_similarity: 0.3,
        }
    }
}

/// A cluster of recurring questions the knowledge infrastructure does not
/// serve well yet: same main theme and category, asked several times,
/// without a confident provider or without an answer.
#[derive(Debug, Clone, PartialEq)]
pub struct KnowledgeGap {
    /// Main theme of the questions (`None`: no theme found).
    pub theme: Option<crate::domain::ThemeId>,
    /// Category in force.
    pub category: Option<Category>,
    /// Questions in the cluster that are a gap.
    pub questions: u32,
    /// Of these, without an answer yet.
    pub unanswered: u32,
    /// Of these, without a confident category and provider.
    pub unconfident: u32,
    /// Who asks: organisation type and count, most first.
    pub organization_types: Vec<(OrganizationType, u32)>,
    /// Up to three example questions, oldest first.
    pub examples: Vec<Question>,
}

/// Store names of the learned model and the learning resets.
const LEARNED: &str = "learned";
const RESETS: &str = "learning-resets";
/// Store name of the last index version handed out.
const INDEX_VERSION: &str = "index-version";

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
    pub fn open(
        taxonomy: Taxonomy,
        store: Arc<dyn Store>,
        time: Arc<dyn TimeSource>,
        policy: RoutingPolicy,
    ) -> Result<Service, ServiceError> {
        let analyzer = Analyzer::new();
        let learned: Learned = match store.meta(LEARNED)? {
            Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt {
                key: "learned model".into(),
                reason: e.to_string(),
            })?,
            None => Learned::default(),
        };
        let (live, experts) = directory_of(&taxonomy, store.as_ref(), &learned, &analyzer)?;
        let version = match store.meta(INDEX_VERSION)? {
            Some(bytes) => <[u8; 8]>::try_from(bytes.as_slice())
                .map(u64::from_be_bytes)
                .map_err(|_| StoreError::Corrupt {
                    key: "index version".into(),
                    reason: "not a number".into(),
                })?,
            None => 0,
        } + 1;
        let engine = Engine::starting_at(live, experts, version)?;
        store.put_meta(INDEX_VERSION, &version.to_be_bytes())?;
        // Similarity features come from the taxonomy as loaded, never from
        // the live index: learned words and directory changes would make a
        // stored question's features differ from a new one's.
        let features = Engine::new(taxonomy.clone(), Vec::new())?;
        let similar = index_questions(&features, store.as_ref())?;
        let load = count_load(store.as_ref())?;
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        Ok(Service {
            engine,
            base: taxonomy,
            store,
            time,
            policy,
            events,
            directory: Mutex::new(()),
            learned: Mutex::new(Arc::new(learned)),
            learn_settings: LearnSettings::default(),
            learner: Mutex::new(None),
            similar,
            features,
            reuse: ReuseSettings::default(),
            load: Mutex::new(load),
        })
    }

    /// The service with other learning knobs (the config file's `[learning]`
    /// table). Takes effect at the next relearn.
    pub fn with_learn_settings(mut self, settings: LearnSettings) -> Service {
        self.learn_settings = settings;
        self
    }

    /// The service with other reuse settings (the config file's `[reuse]`
    /// table).
    pub fn with_reuse_settings(mut self, settings: ReuseSettings) -> Service {
        self.reuse = settings;
        self
    }

    /// Earlier questions like a text (or like stored question `like`, left
    /// out of its own results), best first.
    pub fn find_similar(
        &self,
        text: Option<&QuestionText>,
        like: Option<QuestionId>,
        limit: usize,
    ) -> Result<Vec<Similar>, ServiceError> {
        let features = match (text, like) {
            (Some(t), _) => self.features.features(t.as_str()),
            (None, Some(id)) => self.features.features(&self.store.get(id)?.text),
            (None, None) => {
                return Err(ServiceError::Invalid(
                    "give the text of a question or the id of a stored one".into(),
                ))
            }
        };
        self.similar_to(&features, like, limit)
    }

    fn similar_to(
        &self,
        features: &[String],
        exclude: Option<QuestionId>,
        limit: usize,
    ) -> Result<Vec<Similar>, ServiceError> {
        let hits = self.similar.search(
            features,
            limit,
            self.reuse.min_similarity,
            exclude.map(QuestionId::get),
        );
        let mut out = Vec::with_capacity(hits.len());
        for hit in hits {
            match self.store.get(QuestionId::new(hit.id)) {
                Ok(question) => out.push(Similar {
                    question,
                    score: hit.score,
                }),
                Err(StoreError::NotFound(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(out)
    }

    /// Similar earlier questions for a classification request.
    pub fn similar_for(&self, text: &QuestionText) -> Result<Vec<Similar>, ServiceError> {
        self.similar_to(
            &self.features.features(text.as_str()),
            None,
            self.reuse.similar_listed,
        )
    }

    /// The engine (for classification outside the lifecycle).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Classifies a text; nothing is stored.
    pub fn classify(
        &self,
        text: &QuestionText,
        organization_type: Option<OrganizationType>,
        region: Option<Province>,
    ) -> Classification {
        self.engine.classify(&Query {
            text: text.as_str(),
            organization_type,
            region,
            language: None,
        })
    }

    /// Classifies, decides and stores a new question, then announces it.
    pub fn submit(&self, s: Submission) -> Result<SubmitOutcome, ServiceError> {
        let c = self.classify(&s.text, Some(s.organization_type), s.region);
        let features = self.features.features(s.text.as_str());
        let similar = self.similar_to(&features, None, self.reuse.similar_listed)?;
        let answered_before = similar.iter().find(|x| {
            x.score >= self.reuse.duplicate_threshold
                && matches!(x.question.status, Status::Answered | Status::Closed)
        });
        let decision = match answered_before {
            Some(x) => crate::store::Decision::Triage {
                reason: format!(
                    "asked and answered before: {} (similarity {:.2}); mark it as a duplicate of {} to reuse that answer",
                    x.question.id, x.score, x.question.id
                ),
            },
            None => self.policy.decide(&c),
        };
        let mut reserved = None;
        let decision = match decision {
            crate::store::Decision::Route { provider, .. } => {
                reserved = self.pick_expert(&c);
                crate::store::Decision::Route {
                    provider,
                    expert: reserved.clone(),
                }
            }
            triage => triage,
        };
        let actor = s.actor.clone().unwrap_or_else(|| ANONYMOUS.to_string());
        let submitted = self.store.submit(NewQuestion {
            text: s.text.into_string(),
            organization_name: s.organization_name.into_string(),
            organization_type: s.organization_type,
            region: s.region,
            portal: s.portal.unwrap_or_default(),
            request_id: s.request_id.map(|r| r.as_str().to_string()),
            classification: snapshot(&c),
            decision,
            impact: s.impact,
            effort: s.effort,
            actor,
        });
        let submitted = match submitted {
            Ok(s) if s.created => s,
            other => {
                // Not stored (or stored before): give the place back.
                if let Some(e) = &reserved {
                    self.release(e);
                }
                other?
            }
        };
        if submitted.created {
            self.similar.add(submitted.question.id.get(), &features);
            if let Ok(history) = self.store.history(submitted.question.id) {
                for event in &history {
                    self.publish(&submitted.question, event);
                }
            }
        }
        // A repeated request id returns a question that was indexed when
        // it was first stored: it is not similar to itself.
        let own = submitted.question.id;
        let similar = similar
            .into_iter()
            .filter(|x| x.question.id != own)
            .collect();
        Ok(SubmitOutcome {
            created: submitted.created,
            classification: submitted.created.then_some(c),
            question: submitted.question,
            similar,
        })
    }

    /// One question.
    pub fn get(&self, id: QuestionId) -> Result<Question, ServiceError> {
        Ok(self.store.get(id)?)
    }

    /// A question's history.
    pub fn history(&self, id: QuestionId) -> Result<Vec<Event>, ServiceError> {
        Ok(self.store.history(id)?)
    }

    /// Questions matching a filter, paged.
    pub fn list(
        &self,
        filter: &ListFilter,
        page: &PageRequest,
    ) -> Result<Page<Question>, ServiceError> {
        Ok(self.store.list(filter, page)?)
    }

    /// The triage queue, paged.
    pub fn queue(&self, page: &PageRequest) -> Result<Page<QueueEntry>, ServiceError> {
        Ok(self.store.triage_queue(page)?)
    }

    /// Applies a lifecycle action and announces it.
    pub fn act(
        &self,
        id: QuestionId,
        action: Lifecycle,
        request: Request,
    ) -> Result<Question, ServiceError> {
        let action = match action {
            Lifecycle::Route {
                category,
                provider,
                expert,
            } => {
                if provider.is_none() && expert.is_none() {
                    return Err(ServiceError::Invalid(
                        "routing needs a provider_id or an expert_id (or both)".into(),
                    ));
                }
                let index = self.engine.index();
                if let Some(p) = &provider {
                    if index.taxonomy().provider(p).is_none() {
                        return Err(not_found_provider(p.as_str()));
                    }
                }
                if let Some(e) = &expert {
                    if !index.experts().iter().any(|x| x.id() == e) {
                        return Err(not_found_expert(e.as_str()));
                    }
                }
                Action::Route {
                    category,
                    provider,
                    expert,
                }
            }
            Lifecycle::Reject => {
                require_reason(&request, ActionKind::Reject)?;
                Action::Reject
            }
            Lifecycle::Decline => {
                require_reason(&request, ActionKind::Decline)?;
                Action::Decline
            }
            Lifecycle::MarkDuplicate(original) => {
                if original == id {
                    return Err(ServiceError::Invalid(format!(
                        "{id} cannot be a duplicate of itself: give the id of the earlier question"
                    )));
                }
                self.store.get(original).map_err(|e| match e {
                    StoreError::NotFound(_) => ServiceError::NotFound {
                        what: "original question",
                        id: original.to_string(),
                        hint: "give the id of an earlier question (ids look like q42)",
                    },
                    other => other.into(),
                })?;
                Action::MarkDuplicate { original }
            }
            Lifecycle::Accept => Action::Accept,
            Lifecycle::WaitForAsker => Action::WaitForAsker,
            Lifecycle::Resume => Action::Resume,
            Lifecycle::Answer {
                text,
                sources,
                review_after_ms,
            } => Action::Answer {
                text: text.into_string(),
                sources,
                review_after_ms: match review_after_ms {
                    Some(at) => Some(at),
                    None => Some(self.default_review_after(&self.store.get(id)?)),
                },
            },
            Lifecycle::Close => Action::Close,
            Lifecycle::Reopen => Action::Reopen,
        };
        let is_route = matches!(action, Action::Route { .. });
        let is_reopen = matches!(action, Action::Reopen);
        let actor = request.actor.unwrap_or_else(|| ANONYMOUS.to_string());
        let reason = request.reason.map(Reason::into_string);
        // A change that gives a question to an expert holds the open-count
        // lock from the write until the count is updated, so an automatic
        // assignment in between cannot see the expert with a place that is
        // no longer free. (Only the core team's routes do this; they are
        // rare, and the wait is one commit.)
        let to_expert = matches!(
            &action,
            Action::Route {
                expert: Some(_),
                ..
            }
        );
        let load = to_expert.then(|| self.load.lock().unwrap_or_else(|p| p.into_inner()));
        let question = self.store.apply(
            id,
            Change {
                action,
                actor: actor.clone(),
                reason: reason.clone(),
                expected_version: request.expected_version,
            },
        )?;
        self.announce(&question, is_route, load);
        if !is_reopen {
            return Ok(question);
        }
        // A reopened question goes back to the core team's queue at once,
        // so it cannot be forgotten in REOPENED.
        let triaged = self.store.apply(
            id,
            Change {
                action: Action::Triage,
                actor,
                reason: Some(match reason {
                    Some(r) => format!("reopened: {r}"),
                    None => "reopened".to_string(),
                }),
                expected_version: Some(question.version),
            },
        )?;
        self.announce(&triaged, false, None);
        Ok(triaged)
    }

    /// Announces the last event of a changed question to watchers.
    /// Announces the last event of a changed question and keeps the
    /// open counts in step; `load` is the open-count lock when the caller
    /// already holds it.
    fn announce(
        &self,
        question: &Question,
        is_route: bool,
        load: Option<std::sync::MutexGuard<'_, std::collections::HashMap<ExpertId, u32>>>,
    ) {
        let id = question.id;
        // The event this change wrote is the question's last one as
        // returned (a concurrent change has a later number). Announcing it
        // is best effort: the change itself is stored.
        match self.store.event(id, question.events.saturating_sub(1)) {
            Ok(Some(event)) => {
                let mut load =
                    load.unwrap_or_else(|| self.load.lock().unwrap_or_else(|p| p.into_inner()));
                track_load(&mut load, question, &event);
                drop(load);
                self.publish(question, &event);
                // A route out of TRIAGE is the core team's decision.
                if is_route && event.from == Some(Status::Triage) {
                    self.learn_soon();
                }
            }
            Ok(None) => tracing::error!(question = %id, "the event of a stored change is missing"),
            Err(e) => tracing::error!(question = %id, "cannot read the event to announce: {e}"),
        }
    }

    // ---- knowledge gaps ----

    /// Clusters (main theme × category) of at least `min_questions`
    /// questions submitted in `[from_ms, to_ms)` that are still unanswered
    /// or had no confident provider, largest first: where the national
    /// level should plan workshops and new knowledge. Reads the questions
    /// of the period through the time index.
    pub fn knowledge_gaps(
        &self,
        from_ms: i64,
        to_ms: i64,
        min_questions: u32,
    ) -> Result<Vec<KnowledgeGap>, ServiceError> {
        type Key = (Option<crate::domain::ThemeId>, Option<Category>);
        let mut clusters: BTreeMap<Key, KnowledgeGap> = BTreeMap::new();
        let filter = ListFilter {
            submitted_from_ms: Some(from_ms),
            submitted_to_ms: Some(to_ms),
            ..ListFilter::default()
        };
        let mut page = PageRequest {
            size: crate::store::MAX_PAGE_SIZE,
            token: None,
        };
        loop {
            let got = self.store.list(&filter, &page)?;
            for q in got.items {
                if matches!(q.status, Status::Rejected | Status::Duplicate) {
                    continue;
                }
                let unanswered = q.answer.is_none();
                let unconfident = q.classification.category.is_none()
                    || q.classification.confidence < self.policy.min_confidence
                    || q.classification.providers.is_empty();
                if !unanswered && !unconfident {
                    continue;
                }
                let key = (q.classification.themes.first().cloned(), q.category);
                let gap = clusters.entry(key.clone()).or_insert_with(|| KnowledgeGap {
                    theme: key.0,
                    category: key.1,
                    questions: 0,
                    unanswered: 0,
                    unconfident: 0,
                    organization_types: Vec::new(),
                    examples: Vec::new(),
                });
                gap.questions += 1;
                gap.unanswered += u32::from(unanswered);
                gap.unconfident += u32::from(unconfident);
                match gap
                    .organization_types
                    .iter_mut()
                    .find(|(t, _)| *t == q.organization_type)
                {
                    Some((_, n)) => *n += 1,
                    None => gap.organization_types.push((q.organization_type, 1)),
                }
                if gap.examples.len() < 3 {
                    gap.examples.push(q);
                }
            }
            match got.next_token {
                Some(t) => page.token = Some(t),
                None => break,
            }
        }
        let mut gaps: Vec<KnowledgeGap> = clusters
            .into_values()
            .filter(|g| g.questions >= min_questions.max(1))
            .collect();
        for g in &mut gaps {
            g.organization_types
                .sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        }
        gaps.sort_by(|a, b| {
            b.questions
                .cmp(&a.questions)
                .then(b.unanswered.cmp(&a.unanswered))
        });
        Ok(gaps)
    }

    /// The start of a month (`yyyymm`) in Dutch time, in ms.
    pub fn month_start_ms(month: u32) -> Option<i64> {
        let date = jiff::civil::Date::new((month / 100) as i16, (month % 100) as i8, 1).ok()?;
        let tz = jiff::tz::TimeZone::get("Europe/Amsterdam").ok()?;
        tz.to_timestamp(date.to_datetime(jiff::civil::Time::midnight()))
            .ok()
            .map(|t| t.as_millisecond())
    }

    // ---- fair, capacity-aware assignment ----

    /// The expert a confidently routed question goes to: among the experts
    /// scoring within [`EQUALLY_GOOD`] of the best (and at least the
    /// policy's minimum), those available now (not marked unavailable, not
    /// in an absence) with room under their capacity; of these the one with
    /// the lowest share of its capacity in use, so equally good experts
    /// share the work. Reserves the place; `None` leaves the question with
    /// the provider.
    fn pick_expert(&self, c: &Classification) -> Option<ExpertId> {
        let best = c.experts.first()?.score;
        if best < self.policy.min_expert_score {
            return None;
        }
        let index = self.engine.index();
        let now = self.time.now_ms();
        let mut load = self.load.lock().unwrap_or_else(|p| p.into_inner());
        let mut choice: Option<(f32, ExpertId)> = None;
        for m in c
            .experts
            .iter()
            .filter(|m| m.score >= self.policy.min_expert_score && m.score >= best * EQUALLY_GOOD)
        {
            let Ok(id) = ExpertId::parse(&m.id) else {
                continue;
            };
            let experts = index.experts();
            let Ok(at) = experts.binary_search_by(|e| e.id().cmp(&id)) else {
                continue;
            };
            let expert = &experts[at];
            let open = load.get(&id).copied().unwrap_or(0);
            if !expert.available_at(now) || open >= expert.capacity() {
                continue;
            }
            let share = open as f32 / expert.capacity() as f32;
            // Ranked best first: a later one must be strictly less busy.
            if choice.as_ref().is_none_or(|(s, _)| share < *s) {
                choice = Some((share, id));
            }
        }
        let (_, id) = choice?;
        *load.entry(id.clone()).or_default() += 1;
        Some(id)
    }

    fn release(&self, expert: &ExpertId) {
        let mut load = self.load.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = load.get_mut(expert) {
            *n = n.saturating_sub(1);
        }
    }

    /// Open questions an expert holds now.
    pub fn open_for(&self, expert: &ExpertId) -> u32 {
        let load = self.load.lock().unwrap_or_else(|p| p.into_inner());
        load.get(expert).copied().unwrap_or(0)
    }

    // ---- learning ----

    /// Starts the background learner: after triage decisions it relearns
    /// from all feedback and rebuilds the index, off the request path. A
    /// burst of decisions gives one rebuild. The thread ends with the
    /// service.
    pub fn spawn_learner(self: &Arc<Self>) {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        // Learn once at start: the settings may have changed, and a decision
        // or a reset may not have been learned before the last stop.
        let _ = tx.send(());
        *self.learner.lock().unwrap_or_else(|p| p.into_inner()) = Some(tx);
        let service = Arc::downgrade(self);
        let spawned = std::thread::Builder::new()
            .name("kicer-learner".into())
            .spawn(move || {
                while rx.recv().is_ok() {
                    std::thread::sleep(std::time::Duration::from_millis(200));
                    while rx.try_recv().is_ok() {}
                    let Some(service) = service.upgrade() else {
                        break;
                    };
                    match service.relearn() {
                        Ok(version) => tracing::info!(
                            index_version = version,
                            "learned from the core team's decisions"
                        ),
                        Err(e) => tracing::error!("learning from feedback failed: {e}"),
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::error!(
                "cannot start the learner thread ({e}); routing will not learn until restart"
            );
        }
    }

    fn learn_soon(&self) {
        if let Some(tx) = self
            .learner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            let _ = tx.send(());
        }
    }

    /// Relearns from every triage decision and rebuilds the index; returns
    /// the new index version.
    pub fn relearn(&self) -> Result<u64, ServiceError> {
        let _guard = self.lock_directory();
        self.relearn_locked()
    }

    /// Relearns; the caller holds the directory lock.
    fn relearn_locked(&self) -> Result<u64, ServiceError> {
        let examples = self.examples()?;
        let resets = self.resets()?;
        let known = self.known_stems()?;
        let learned = learn::learn(
            &examples,
            &resets,
            self.engine.analyzer(),
            &self.learn_settings,
            &|stem| known.contains(stem),
        );
        self.store.put_meta(
            LEARNED,
            &serde_json::to_vec(&learned).map_err(|e| ServiceError::Invalid(e.to_string()))?,
        )?;
        *self.learned.lock().unwrap_or_else(|p| p.into_inner()) = Arc::new(learned);
        self.rebuild_locked()
    }

    /// The core team's decisions as examples: the latest decision per
    /// question only (a question routed, declined and routed again teaches
    /// once, the way it was finally routed), and none for a question whose
    /// last route was declined since (it is back in TRIAGE).
    fn examples(&self) -> Result<Vec<Example>, ServiceError> {
        let mut latest: BTreeMap<QuestionId, crate::store::Feedback> = BTreeMap::new();
        let mut page = PageRequest {
            size: crate::store::MAX_PAGE_SIZE,
            token: None,
        };
        loop {
            let got = self.store.feedback(&page)?;
            for f in got.items {
                // Feedback is listed oldest first: later decisions win.
                latest.insert(f.question, f);
            }
            match got.next_token {
                Some(t) => page.token = Some(t),
                None => break,
            }
        }
        let mut out = Vec::with_capacity(latest.len());
        for (id, f) in latest {
            let q = match self.store.get(id) {
                Ok(q) => q,
                Err(StoreError::NotFound(_)) => continue,
                Err(e) => return Err(e.into()),
            };
            if q.status == Status::Triage {
                continue;
            }
            out.push(Example {
                text: q.text,
                at_ms: f.at_ms,
                category: f.chosen_category,
                provider: f.chosen_provider,
                expert: f.chosen_expert,
                proposed: (f.proposed_category, f.proposed_provider, f.proposed_expert),
            });
        }
        Ok(out)
    }

    /// Stems of every term the taxonomy (with its provider changes) and
    /// the experts use, without anything learned.
    fn known_stems(&self) -> Result<std::collections::HashSet<String>, ServiceError> {
        let analyzer = self.engine.analyzer();
        let live = self
            .base
            .with_provider_changes(&self.store.provider_changes()?, analyzer)?;
        let experts = self.store.experts()?;
        let expert_terms: Vec<String> = experts
            .iter()
            .flat_map(|e| match &e.expertise {
                crate::domain::Expertise::List(l) => l.clone(),
                crate::domain::Expertise::Weighted(m) => m.keys().cloned().collect(),
            })
            .collect();
        let mut out = std::collections::HashSet::new();
        for term in live
            .all_terms()
            .chain(expert_terms.iter().map(String::as_str))
        {
            for word in analyzer.analyze_term(term) {
                out.extend(word.stems.into_iter().flatten());
            }
        }
        Ok(out)
    }

    fn resets(&self) -> Result<Resets, ServiceError> {
        Ok(match self.store.meta(RESETS)? {
            Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt {
                key: "learning resets".into(),
                reason: e.to_string(),
            })?,
            None => Resets::new(),
        })
    }

    /// The stems a word may be learned under (Dutch and English).
    fn stems_of(&self, word: &str) -> Vec<String> {
        let mut out: Vec<String> = self
            .engine
            .analyzer()
            .analyze_term(word)
            .into_iter()
            .flat_map(|w| w.stems.into_iter().flatten())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Learned terms, heaviest first; with `term`, only that one.
    pub fn learned_terms(&self, term: Option<&str>) -> Vec<LearnedTerm> {
        let learned = self
            .learned
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let mut out: Vec<LearnedTerm> = match term {
            Some(word) => self
                .stems_of(word)
                .iter()
                .filter_map(|stem| learned.terms.get(stem).cloned())
                .collect(),
            None => learned.terms.values().cloned().collect(),
        };
        out.sort_by(|a, b| {
            let top = |t: &LearnedTerm| t.weights.first().map_or(0.0, |w| w.weight);
            top(b).total_cmp(&top(a)).then(a.stem.cmp(&b.stem))
        });
        out
    }

    /// Forgets what was learned about a term (every term with `None`) up
    /// to now; later decisions teach again. Returns the new index version.
    pub fn reset_learned(&self, term: Option<&str>) -> Result<u64, ServiceError> {
        // Held from reading the resets to the rebuild: two resets at once
        // must not lose one.
        let _guard = self.lock_directory();
        let keys = match term {
            None => vec![learn::ALL_TERMS.to_string()],
            Some(word) => {
                let stems = self.stems_of(word);
                if stems.is_empty() {
                    return Err(ServiceError::Invalid(format!(
                        "`{word}` has no content word (only stop words or nothing): give the term as listed by `kicer learned`"
                    )));
                }
                stems
            }
        };
        let mut resets = self.resets()?;
        let now = self.time.now_ms();
        for key in keys {
            resets.insert(key, now);
        }
        self.store.put_meta(
            RESETS,
            &serde_json::to_vec(&resets).map_err(|e| ServiceError::Invalid(e.to_string()))?,
        )?;
        self.relearn_locked()
    }

    /// When an answer given now should be reviewed by default: after the
    /// shortest review period of the question's themes (regulation and
    /// funding change faster), or [`DEFAULT_REVIEW_MONTHS`].
    pub fn default_review_after(&self, question: &Question) -> i64 {
        let taxonomy = self.engine.taxonomy();
        let months = question
            .classification
            .themes
            .iter()
            .filter_map(|t| taxonomy.theme(t).map(|d| d.review_months()))
            .min()
            .unwrap_or(DEFAULT_REVIEW_MONTHS);
        add_months(self.time.now_ms(), months)
    }

    /// Confirms (`replace: None`) or replaces the answer of an answered
    /// question, with its next review date (the themes' default when not
    /// given); recorded in the history and announced.
    pub fn review_answer(
        &self,
        id: QuestionId,
        replace: Option<(AnswerText, Vec<String>)>,
        review_after_ms: Option<i64>,
        request: Request,
    ) -> Result<Question, ServiceError> {
        let review_after_ms = match review_after_ms {
            Some(at) => at,
            None => self.default_review_after(&self.store.get(id)?),
        };
        let question = self.store.review_answer(
            id,
            crate::store::AnswerReview {
                replace: replace.map(|(t, s)| (t.into_string(), s)),
                review_after_ms: Some(review_after_ms),
                actor: request.actor.unwrap_or_else(|| ANONYMOUS.to_string()),
                reason: request.reason.map(Reason::into_string),
                expected_version: request.expected_version,
            },
        )?;
        self.announce(&question, false, None);
        Ok(question)
    }

    /// Answered questions whose review date has passed (or passes before
    /// `at_ms`), earliest first, paged.
    pub fn due_for_review(
        &self,
        at_ms: Option<i64>,
        page: &PageRequest,
    ) -> Result<Page<Question>, ServiceError> {
        Ok(self
            .store
            .due_for_review(at_ms.unwrap_or_else(|| self.time.now_ms()), page)?)
    }

    /// Lead-time percentiles; `groups` keeps only the named groups.
    pub fn lead_times(
        &self,
        query: &LeadTimeQuery,
        groups: &[String],
    ) -> Result<Vec<LeadTimeGroup>, ServiceError> {
        if query.from_month > query.to_month {
            return Err(ServiceError::Invalid(format!(
                "from_month {} is after to_month {}: swap them",
                month_text(query.from_month),
                month_text(query.to_month)
            )));
        }
        let mut out = self.store.lead_times(query)?;
        if query.group_by == crate::store::Dimension::Month {
            // Stored as yyyymm; the API speaks YYYY-MM.
            for g in &mut out {
                if let Ok(m) = g.group.parse::<u32>() {
                    g.group = month_text(m);
                }
            }
        }
        if !groups.is_empty() {
            out.retain(|g| groups.iter().any(|w| w.eq_ignore_ascii_case(&g.group)));
        }
        Ok(out)
    }

    /// The month (`yyyymm`) of now and of eleven months before: the default
    /// lead-time range.
    pub fn last_twelve_months(&self) -> (u32, u32) {
        let to = crate::domain::worktime::month_of(self.time.now_ms());
        let (y, m) = (to / 100, to % 100);
        let from = if m == 12 {
            y * 100 + 1
        } else {
            (y - 1) * 100 + m + 1
        };
        (from, to)
    }

    /// Open questions per status (and category) with ages.
    pub fn queue_stats(&self) -> Result<Vec<OpenAge>, ServiceError> {
        Ok(self.store.open_ages()?)
    }

    /// A receiver of every status event from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<QuestionEvent> {
        self.events.subscribe()
    }

    fn publish(&self, question: &Question, event: &Event) {
        // No receivers is fine: nobody is watching.
        let _ = self.events.send(QuestionEvent::of(question, event));
    }

    // ---- directory ----

    /// Every provider routing uses now, as the taxonomy and the directory
    /// describe them (without learned weights, so a record read and written
    /// back does not turn learned weights into its own).
    pub fn providers(&self) -> Result<Vec<ProviderRecord>, ServiceError> {
        let live = self
            .base
            .with_provider_changes(&self.store.provider_changes()?, self.engine.analyzer())?;
        Ok(live.providers().iter().map(|p| p.to_record()).collect())
    }

    /// One provider.
    pub fn provider(&self, id: &str) -> Result<ProviderRecord, ServiceError> {
        self.providers()?
            .into_iter()
            .find(|p| p.id == id)
            .ok_or_else(|| not_found_provider(id))
    }

    /// Adds a provider (`create`) or replaces one (`!create`); the index is
    /// rebuilt before this returns.
    pub fn put_provider(
        &self,
        record: ProviderRecord,
        create: bool,
    ) -> Result<(ProviderRecord, u64), ServiceError> {
        let _guard = self.lock_directory();
        let exists = self
            .engine
            .taxonomy()
            .providers()
            .iter()
            .any(|p| p.id().as_str() == record.id);
        match (create, exists) {
            (true, true) => {
                return Err(ServiceError::AlreadyExists {
                    what: "provider",
                    id: record.id,
                })
            }
            (false, false) => return Err(not_found_provider(&record.id)),
            _ => {}
        }
        let def = self.base.check_provider(&record, self.engine.analyzer())?;
        let record = def.to_record();
        self.store
            .put_provider_change(&ProviderChange::Put(record.clone()))?;
        let version = self.rebuild_locked()?;
        Ok((record, version))
    }

    /// Removes a provider from routing; questions assigned to it keep it.
    pub fn delete_provider(&self, id: &str) -> Result<u64, ServiceError> {
        let _guard = self.lock_directory();
        let live = self.engine.taxonomy();
        if !live.providers().iter().any(|p| p.id().as_str() == id) {
            return Err(not_found_provider(id));
        }
        if live.providers().len() == 1 {
            return Err(ServiceError::Invalid(format!(
                "provider `{id}` is the last one: routing needs at least one provider, add another first"
            )));
        }
        self.store
            .put_provider_change(&ProviderChange::Removed(id.to_string()))?;
        self.rebuild_locked()
    }

    /// The expert directory, ordered by id, paged by the last id seen.
    pub fn experts(
        &self,
        after: Option<&str>,
        size: usize,
    ) -> Result<(Vec<ExpertRecord>, Option<String>), ServiceError> {
        let mut all = self.store.experts()?;
        all.sort_by(|a, b| a.id.cmp(&b.id));
        let start = match after {
            Some(last) => all.partition_point(|e| e.id.as_str() <= last),
            None => 0,
        };
        let page: Vec<ExpertRecord> = all.iter().skip(start).take(size).cloned().collect();
        let next = (start + page.len() < all.len())
            .then(|| page.last().map(|e| e.id.clone()))
            .flatten();
        Ok((page, next))
    }

    /// One expert.
    pub fn expert(&self, id: &str) -> Result<ExpertRecord, ServiceError> {
        self.store.expert(id)?.ok_or_else(|| not_found_expert(id))
    }

    /// Adds (`create`) or replaces an expert; the index is rebuilt before
    /// this returns.
    pub fn put_expert(
        &self,
        record: ExpertRecord,
        create: bool,
    ) -> Result<(ExpertRecord, u64), ServiceError> {
        let _guard = self.lock_directory();
        // One key read, not the whole directory.
        let exists = self.store.expert(&record.id)?.is_some();
        match (create, exists) {
            (true, true) => {
                return Err(ServiceError::AlreadyExists {
                    what: "expert",
                    id: record.id,
                })
            }
            (false, false) => return Err(not_found_expert(&record.id)),
            _ => {}
        }
        self.check_expert(&record)?;
        self.store.put_expert(&record)?;
        let version = self.rebuild_locked()?;
        Ok((record, version))
    }

    /// Adds or replaces many experts with one index rebuild. Every record
    /// is checked before any is stored, so a bad file changes nothing.
    /// Returns (created, updated, index version).
    pub fn import_experts(
        &self,
        records: Vec<ExpertRecord>,
    ) -> Result<(u64, u64, u64), ServiceError> {
        let _guard = self.lock_directory();
        let mut seen = BTreeMap::new();
        for (n, r) in records.iter().enumerate() {
            self.check_expert(r).map_err(|e| {
                ServiceError::Invalid(format!("expert {} of the import: {e}", n + 1))
            })?;
            if seen.insert(r.id.clone(), n).is_some() {
                return Err(ServiceError::Invalid(format!(
                    "expert `{}` appears twice in the import: ids must be unique",
                    r.id
                )));
            }
        }
        let existing: std::collections::HashSet<String> =
            self.store.experts()?.into_iter().map(|e| e.id).collect();
        let updated = records.iter().filter(|r| existing.contains(&r.id)).count() as u64;
        let created = records.len() as u64 - updated;
        self.store.put_experts(&records)?;
        let version = self.rebuild_locked()?;
        Ok((created, updated, version))
    }

    /// Removes an expert from the directory and from routing.
    pub fn delete_expert(&self, id: &str) -> Result<u64, ServiceError> {
        let _guard = self.lock_directory();
        let parsed = ExpertId::parse(id).map_err(|e| ServiceError::Invalid(e.to_string()))?;
        if !self.store.delete_expert(&parsed)? {
            return Err(not_found_expert(id));
        }
        self.rebuild_locked()
    }

    /// Whether an expert takes questions now.
    pub fn set_availability(
        &self,
        id: &str,
        available: bool,
    ) -> Result<(ExpertRecord, u64), ServiceError> {
        // Read and write under the directory lock, so a concurrent update
        // of the same expert is not overwritten with the old record.
        let _guard = self.lock_directory();
        let mut record = self.expert(id)?;
        record.available = available;
        self.store.put_expert(&record)?;
        let version = self.rebuild_locked()?;
        Ok((record, version))
    }

    fn check_expert(&self, record: &ExpertRecord) -> Result<(), ServiceError> {
        let expert =
            Expert::try_from(record.clone()).map_err(|e| ServiceError::Invalid(e.to_string()))?;
        let taxonomy = self.engine.taxonomy();
        if let Some(theme) = expert.themes().iter().find(|t| taxonomy.theme(t).is_none()) {
            let known: Vec<&str> = taxonomy.themes().iter().map(|t| t.id().as_str()).collect();
            return Err(ServiceError::Invalid(format!(
                "expert `{}` names theme `{theme}`, which the taxonomy does not define: use one of {}",
                record.id,
                known.join(", ")
            )));
        }
        Ok(())
    }

    fn lock_directory(&self) -> std::sync::MutexGuard<'_, ()> {
        // The guard protects no data, only ordering.
        self.directory.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Rebuilds the index from the stored directory; the caller holds the
    /// directory lock.
    fn rebuild_locked(&self) -> Result<u64, ServiceError> {
        let learned = self
            .learned
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let (live, experts) = directory_of(
            &self.base,
            self.store.as_ref(),
            &learned,
            self.engine.analyzer(),
        )?;
        Ok(self.engine.rebuild(Some(live), experts)?)
    }
}

/// The similarity index of every stored question, built at start-up
/// (progress is logged for large stores).
fn index_questions(
    engine: &Engine,
    store: &dyn Store,
) -> Result<crate::similar::SimilarIndex, ServiceError> {
    let index = crate::similar::SimilarIndex::new();
    let started = std::time::Instant::now();
    let mut page = PageRequest {
        size: crate::store::MAX_PAGE_SIZE,
        token: None,
    };
    loop {
        let got = store.list(&ListFilter::default(), &page)?;
        for q in &got.items {
            index.add(q.id.get(), &engine.features(&q.text));
        }
        if index.len() % 100_000 < got.items.len() && index.len() >= 100_000 {
            tracing::info!(
                questions = index.len(),
                "indexing stored questions for similarity"
            );
        }
        match got.next_token {
            Some(t) => page.token = Some(t),
            None => break,
        }
    }
    if !index.is_empty() {
        tracing::info!(
            questions = index.len(),
            seconds = started.elapsed().as_secs_f32(),
            "similar-question index built"
        );
    }
    Ok(index)
}

/// The taxonomy with the stored provider changes, and the stored experts,
/// both with the learned weights laid over them.
fn directory_of(
    base: &Taxonomy,
    store: &dyn Store,
    learned: &Learned,
    analyzer: &Analyzer,
) -> Result<(Taxonomy, Vec<Expert>), ServiceError> {
    let live = base
        .with_provider_changes(&store.provider_changes()?, analyzer)?
        .with_learned(learned, analyzer);
    let by_target = learned.by_target();
    let same = SameWord::new(analyzer);
    let experts = store
        .experts()?
        .into_iter()
        .map(|r| {
            Expert::try_from(r).map_err(|e| {
                ServiceError::Store(StoreError::Corrupt {
                    key: "expert directory".into(),
                    reason: e.to_string(),
                })
            })
        })
        .map(|e| {
            e.map(|e| match by_target.get(&Target::Expert(e.id().clone())) {
                Some(words) => e.with_learned(words, |a, b| same.same(a, b)),
                None => e,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((live, experts))
}

/// What the store keeps of a classification.
fn snapshot(c: &Classification) -> ClassificationSnapshot {
    ClassificationSnapshot {
        category: c.category,
        confidence: c.confidence,
        themes: c.themes.iter().map(|t| t.id.clone()).collect(),
        knowledge_kind: c.knowledge_kind,
        providers: c
            .providers
            .iter()
            .filter_map(|p| ProviderId::parse(&p.id).ok())
            .collect(),
        experts: c
            .experts
            .iter()
            .filter_map(|e| ExpertId::parse(&e.id).ok())
            .collect(),
        index_version: c.index_version,
        explanation: None,
    }
}

fn require_reason(request: &Request, action: ActionKind) -> Result<(), ServiceError> {
    if request.reason.is_none() {
        return Err(ServiceError::Invalid(format!(
            "{action} needs a reason: say why, the core team reads it in the history"
        )));
    }
    Ok(())
}

fn not_found_provider(id: &str) -> ServiceError {
    ServiceError::NotFound {
        what: "provider",
        id: id.to_string(),
        hint: "list the providers (`kicer providers`, ListProviders) for valid ids",
    }
}

fn not_found_expert(id: &str) -> ServiceError {
    ServiceError::NotFound {
        what: "expert",
        id: id.to_string(),
        hint: "list the experts (`kicer experts list`, ListExperts) for valid ids",
    }
}

/// Experts scoring at least this share of the best are equally good: the
/// work is spread among them.
pub const EQUALLY_GOOD: f32 = 0.9;

/// Keeps the open-question counts in step with one change.
fn track_load(
    load: &mut std::collections::HashMap<ExpertId, u32>,
    question: &Question,
    event: &Event,
) {
    let holds = |s: Status| matches!(s, Status::Routed | Status::InProgress | Status::Waiting);
    let current = question.expert.as_ref().map(ToString::to_string);
    let (before, after) = match event.changes.iter().find(|c| c.field == "expert") {
        Some(c) => (c.before.clone(), c.after.clone()),
        None => (current.clone(), current),
    };
    let was = event.from.filter(|s| holds(*s)).and(before);
    let is = holds(event.to).then_some(after).flatten();
    if was == is {
        return;
    }
    if let Some(e) = was.and_then(|e| ExpertId::parse(&e).ok()) {
        if let Some(n) = load.get_mut(&e) {
            *n = n.saturating_sub(1);
        }
    }
    if let Some(e) = is.and_then(|e| ExpertId::parse(&e).ok()) {
        *load.entry(e).or_default() += 1;
    }
}

/// Open questions per expert in the store.
fn count_load(store: &dyn Store) -> Result<std::collections::HashMap<ExpertId, u32>, ServiceError> {
    let mut load = std::collections::HashMap::new();
    for status in [Status::Routed, Status::InProgress, Status::Waiting] {
        let filter = ListFilter {
            status: Some(status),
            ..ListFilter::default()
        };
        let mut page = PageRequest {
            size: crate::store::MAX_PAGE_SIZE,
            token: None,
        };
        loop {
            let got = store.list(&filter, &page)?;
            for q in got.items {
                if let Some(e) = q.expert {
                    *load.entry(e).or_default() += 1;
                }
            }
            match got.next_token {
                Some(t) => page.token = Some(t),
                None => break,
            }
        }
    }
    Ok(load)
}

/// Review period of answers whose themes say nothing.
pub const DEFAULT_REVIEW_MONTHS: u32 = 24;

/// `ms` plus whole calendar months, in Dutch time (31 January + 1 month is
/// 28 or 29 February).
fn add_months(ms: i64, months: u32) -> i64 {
    let Ok(tz) = jiff::tz::TimeZone::get("Europe/Amsterdam") else {
        return ms + i64::from(months) * 30 * 86_400_000;
    };
    jiff::Timestamp::from_millisecond(ms)
        .ok()
        .map(|t| tz.to_datetime(t))
        .and_then(|dt| {
            dt.checked_add(jiff::Span::new().months(i64::from(months)))
                .ok()
        })
        .and_then(|dt| tz.to_timestamp(dt).ok())
        .map_or(ms + i64::from(months) * 30 * 86_400_000, |t| {
            t.as_millisecond()
        })
}

/// `yyyymm` as `YYYY-MM`.
pub fn month_text(month: u32) -> String {
    format!("{:04}-{:02}", month / 100, month % 100)
}

#[cfg(test)]
mod tests;
