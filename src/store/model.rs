//! The records the store keeps and the requests it takes.

use crate::domain::{
    ActionKind, Category, ExpertId, KnowledgeKind, OrganizationType, ProviderId, Province, Status,
    ThemeId,
};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};

/// A question's id: a number, shown as `q42`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct QuestionId(u64);

impl QuestionId {
    /// The id of number `n`.
    pub fn new(n: u64) -> Self {
        QuestionId(n)
    }
    /// The number.
    pub fn get(self) -> u64 {
        self.0
    }
    /// Parses `q42` or `42`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        let digits = t
            .strip_prefix('q')
            .or_else(|| t.strip_prefix('Q'))
            .unwrap_or(t);
        digits.parse::<u64>().map(QuestionId).map_err(|_| {
            format!(
                "`{}` is not a question id: ids look like q42",
                crate::domain::input::quoted(text)
            )
        })
    }
}

impl fmt::Display for QuestionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "q{}", self.0)
    }
}

/// Where time comes from: the system clock in production, a hand-set one in
/// tests (lead times are about time, and tests must control it).
pub trait TimeSource: Send + Sync {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemTime;

impl TimeSource for SystemTime {
    fn now_ms(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64)
    }
}

/// A clock set by hand.
#[derive(Debug, Default)]
pub struct ManualTime(AtomicI64);

impl ManualTime {
    /// A clock showing `ms`.
    pub fn new(ms: i64) -> Self {
        ManualTime(AtomicI64::new(ms))
    }
    /// Sets the time.
    pub fn set(&self, ms: i64) {
        self.0.store(ms, Ordering::SeqCst);
    }
    /// Moves the time forward.
    pub fn advance(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl TimeSource for ManualTime {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// What the engine said about a question when it was classified, kept with
/// the index version that produced it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ClassificationSnapshot {
    /// Predicted category (`None`: no category term matched).
    pub category: Option<Category>,
    /// Confidence in it.
    pub confidence: f32,
    /// Themes found, best first.
    pub themes: Vec<ThemeId>,
    /// Knowledge kind.
    pub knowledge_kind: Option<KnowledgeKind>,
    /// Proposed providers, best first.
    pub providers: Vec<ProviderId>,
    /// Proposed experts, best first.
    pub experts: Vec<ExpertId>,
    /// Version of the index that produced it.
    pub index_version: u64,
    /// The scores and the terms behind them, as the submit response showed
    /// them, so that a triager who reads the question later sees why it
    /// was routed as it was. `None` in questions stored before kicer kept
    /// them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<Explanation>,
}

/// The reasons of a stored classification: every scored category, theme,
/// provider and expert with the terms that produced its score.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Explanation {
    /// Language of the text as detected (`nl`, `en`).
    pub language: String,
    /// Category scores, best first; `id` is the category's name.
    pub categories: Vec<Scored>,
    /// Themes found, best first.
    pub themes: Vec<Scored>,
    /// Providers ranked, best first.
    pub providers: Vec<Scored>,
    /// Experts ranked, best first.
    pub experts: Vec<Scored>,
}

/// One scored target of a classification.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Scored {
    /// Category name, theme, provider or expert id.
    pub id: String,
    /// Display name, when the target has one.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Its score.
    pub score: f32,
    /// Why a provider's or expert's score was raised or lowered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fit_reasons: Vec<String>,
    /// The terms that produced the score, largest first.
    pub terms: Vec<ScoredTerm>,
}

/// A term of the question and how much it added to a score.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ScoredTerm {
    /// The taxonomy or expertise term.
    pub term: String,
    /// The word of the question that matched it.
    pub matched: String,
    /// How it matched (`PHRASE`, `WORD`, `COMPOUND_PART`, `TYPO`, `THEME`…).
    pub via: String,
    /// Points added.
    pub contribution: f32,
}

/// The first routing decision for a new question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Decision {
    /// Assign at once.
    Route {
        /// Provider assigned.
        provider: Option<ProviderId>,
        /// Expert assigned.
        expert: Option<ExpertId>,
    },
    /// Leave it to the core team, saying why.
    Triage {
        /// Why it was not assigned automatically.
        reason: String,
    },
}

/// A question to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewQuestion {
    /// The question text (already validated at the edge).
    pub text: String,
    /// Name of the asking organisation.
    pub organization_name: String,
    /// Its type.
    pub organization_type: OrganizationType,
    /// Its province, if known.
    pub region: Option<Province>,
    /// The portal it came through.
    pub portal: String,
    /// Client request id for idempotent submits.
    pub request_id: Option<String>,
    /// What the engine said.
    pub classification: ClassificationSnapshot,
    /// Where it goes first.
    pub decision: Decision,
    /// Impact, 1 (small) to 5 (large); drives triage priority.
    pub impact: u8,
    /// Expected effort, 1 to 5.
    pub effort: u8,
    /// Who submitted.
    pub actor: Actor,
}

/// An answer with its sources and review date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    /// The answer.
    pub text: String,
    /// Where it comes from.
    pub sources: Vec<String>,
    /// When it should be reviewed (ms since epoch).
    pub review_after_ms: Option<i64>,
    /// When it was given.
    pub answered_at_ms: i64,
}

/// Times the lead-time aggregates are derived from, kept on the record so a
/// transition can update them in the same write; all of it is derivable
/// from the event history, which stays the source of truth.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Timeline {
    /// Received.
    pub received_ms: i64,
    /// First routed.
    pub first_routed_ms: Option<i64>,
    /// First accepted.
    pub first_in_progress_ms: Option<i64>,
    /// First answered.
    pub first_answered_ms: Option<i64>,
    /// Start of the current wait for the asker.
    pub waiting_since_ms: Option<i64>,
    /// Calendar time spent waiting before the first answer.
    pub waited_ms: i64,
    /// Working time spent waiting before the first answer.
    pub waited_work_ms: i64,
}

/// A stored question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Question {
    /// Its id.
    pub id: QuestionId,
    /// The text.
    pub text: String,
    /// Asking organisation.
    pub organization_name: String,
    /// Its type.
    pub organization_type: OrganizationType,
    /// Its province.
    pub region: Option<Province>,
    /// Portal it came through.
    pub portal: String,
    /// Client request id.
    pub request_id: Option<String>,
    /// Submitted (ms since epoch).
    pub submitted_ms: i64,
    /// The engine's classification at submit time.
    pub classification: ClassificationSnapshot,
    /// The category in force: the engine's, or the core team's correction.
    pub category: Option<Category>,
    /// Current status.
    pub status: Status,
    /// Assigned provider.
    pub provider: Option<ProviderId>,
    /// Assigned expert.
    pub expert: Option<ExpertId>,
    /// Impact 1-5.
    pub impact: u8,
    /// Effort 1-5.
    pub effort: u8,
    /// Why it is in triage, when it is.
    pub triage_reason: Option<String>,
    /// When it last entered TRIAGE: its priority ages from then.
    #[serde(default)]
    pub triage_since_ms: Option<i64>,
    /// The answer, once answered.
    pub answer: Option<Answer>,
    /// The original, for a duplicate.
    pub duplicate_of: Option<QuestionId>,
    /// Version, raised by every change (the etag).
    pub version: u64,
    /// Last change (ms since epoch).
    pub updated_ms: i64,
    /// Lead-time bookkeeping.
    pub timeline: Timeline,
    /// Number of events in the history (the next event's `seq`).
    pub events: u32,
}

const DAY_MS: f64 = 86_400_000.0;

impl Question {
    /// The priority this question had in the triage queue at the epoch:
    /// importance of its category for the asker (Tabel 3.1) plus impact,
    /// minus one point per week since the epoch at the moment it entered
    /// TRIAGE. Adding one point per week of the current time
    /// ([`priority_now`]) gives today's priority; since that is the same
    /// for all entries, the stored value orders the queue at any moment and
    /// the queue never needs re-sorting as questions age.
    pub fn priority_at_epoch(&self) -> f64 {
        let importance = match self.category {
            Some(c) => f64::from(self.organization_type.category_importance(c)),
            None => 3.7,
        };
        let waiting_since = self.triage_since_ms.unwrap_or(self.submitted_ms);
        importance + f64::from(self.impact) - (waiting_since as f64 / DAY_MS) / 7.0
    }
}

/// Today's triage priority of an entry whose priority at the epoch is
/// `at_epoch` ([`Question::priority_at_epoch`]).
pub fn priority_now(at_epoch: f64, now_ms: i64) -> f64 {
    at_epoch + (now_ms as f64 / DAY_MS) / 7.0
}

/// Who makes a change: the client that authenticated and, beside it, whom
/// it says it acts for. A client cannot write another name into the
/// history: `name` comes from its token, only `on_behalf_of` from its
/// request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The authenticated client's name; on a server without clients
    /// (loopback only), the name the caller gave, or `api`.
    pub name: String,
    /// The person or system the client acts for, when it said so.
    pub on_behalf_of: Option<String>,
}

impl Actor {
    /// The actor of a call that gave no name on a server without clients.
    pub const ANONYMOUS: &'static str = "api";
}

impl Default for Actor {
    fn default() -> Self {
        Actor::from(Actor::ANONYMOUS)
    }
}

impl From<&str> for Actor {
    fn from(name: &str) -> Self {
        Actor {
            name: name.to_string(),
            on_behalf_of: None,
        }
    }
}

impl From<String> for Actor {
    fn from(name: String) -> Self {
        Actor {
            name,
            on_behalf_of: None,
        }
    }
}

/// One status change, as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Position in the question's history, from 0.
    pub seq: u32,
    /// When (ms since epoch).
    pub at_ms: i64,
    /// Who: the authenticated client (or, on a server without clients,
    /// what the caller said).
    pub actor: String,
    /// The person the client said it acts for (the CLI's `--actor`, a
    /// portal's user), kept beside `actor`, never instead of it. Absent in
    /// events stored before clients existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_behalf_of: Option<String>,
    /// What (`None` for the submit itself).
    pub action: Option<ActionKind>,
    /// Status before.
    pub from: Option<Status>,
    /// Status after.
    pub to: Status,
    /// Why, when given.
    pub reason: Option<String>,
    /// Category, provider and expert before and after, when they changed.
    pub changes: Vec<FieldChange>,
}

/// A field changed by an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    /// Field name (`category`, `provider`, `expert`, `answer`, …).
    pub field: String,
    /// Value before.
    pub before: Option<String>,
    /// Value after.
    pub after: Option<String>,
}

/// A lifecycle action with its data.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Assign; from TRIAGE this is the core team's decision and is
    /// recorded as feedback. `category` corrects the engine's category.
    Route {
        /// Corrected category, if any.
        category: Option<Category>,
        /// Provider to assign.
        provider: Option<ProviderId>,
        /// Expert to assign.
        expert: Option<ExpertId>,
    },
    /// Send to the core team.
    Triage,
    /// Refuse.
    Reject,
    /// Link to an earlier question.
    MarkDuplicate {
        /// The original question.
        original: QuestionId,
    },
    /// The assignee accepts.
    Accept,
    /// The assignee declines (back to triage).
    Decline,
    /// Wait for the asker.
    WaitForAsker,
    /// The asker replied.
    Resume,
    /// Answer.
    Answer {
        /// The answer.
        text: String,
        /// Sources.
        sources: Vec<String>,
        /// Review date (ms since epoch).
        review_after_ms: Option<i64>,
    },
    /// Close.
    Close,
    /// Reopen.
    Reopen,
}

impl Action {
    /// The kind of action.
    pub fn kind(&self) -> ActionKind {
        match self {
            Action::Route { .. } => ActionKind::Route,
            Action::Triage => ActionKind::Triage,
            Action::Reject => ActionKind::Reject,
            Action::MarkDuplicate { .. } => ActionKind::MarkDuplicate,
            Action::Accept => ActionKind::Accept,
            Action::Decline => ActionKind::Decline,
            Action::WaitForAsker => ActionKind::WaitForAsker,
            Action::Resume => ActionKind::Resume,
            Action::Answer { .. } => ActionKind::Answer,
            Action::Close => ActionKind::Close,
            Action::Reopen => ActionKind::Reopen,
        }
    }
}

/// A change request: the action, who, why, and the version it was based on.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// What to do.
    pub action: Action,
    /// Who does it.
    pub actor: Actor,
    /// Why (required for decline and reject by the service layer).
    pub reason: Option<String>,
    /// The version the caller read; `None` skips the check.
    pub expected_version: Option<u64>,
}

/// A review of an answer: confirm it (with a new review date) or replace
/// it. Not a status change: the question stays ANSWERED or CLOSED and the
/// review is an event in its history.
#[derive(Debug, Clone, PartialEq)]
pub struct AnswerReview {
    /// A new answer text and sources; `None` confirms the current answer.
    pub replace: Option<(String, Vec<String>)>,
    /// The next review date (ms); `None` for none.
    pub review_after_ms: Option<i64>,
    /// Who reviewed.
    pub actor: Actor,
    /// Why (for the history).
    pub reason: Option<String>,
    /// The version the caller read; `None` skips the check.
    pub expected_version: Option<u64>,
}

/// What similar-question listings need of a stored question: enough to
/// show it with its answer and to decide who may see it. Reading only this
/// skips the classification snapshot, most of a record's bytes: loading
/// whole records for the similar questions of a submit was a third of its
/// CPU.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct QuestionBrief {
    /// Its id.
    pub id: QuestionId,
    /// The text.
    pub text: String,
    /// Current status.
    pub status: Status,
    /// Portal it came through.
    pub portal: String,
    /// The answer, when answered.
    pub answer: Option<Answer>,
    /// Its version (the etag), so a cached brief can tell which of two is
    /// newer.
    #[serde(default)]
    pub version: u64,
}

impl From<&Question> for QuestionBrief {
    fn from(q: &Question) -> Self {
        QuestionBrief {
            id: q.id,
            text: q.text.clone(),
            status: q.status,
            portal: q.portal.clone(),
            answer: q.answer.clone(),
            version: q.version,
        }
    }
}

/// The result of a submit.
#[derive(Debug, Clone, PartialEq)]
pub struct Submitted {
    /// The stored question.
    pub question: Question,
    /// `false` when the request id was seen before and this is the
    /// original question.
    pub created: bool,
    /// The events this submit wrote (RECEIVED, then ROUTED or TRIAGE);
    /// empty when the question was stored before. Watchers are told of
    /// them without reading them back.
    pub events: Vec<Event>,
}

/// Who a question is assigned to, for listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assignee {
    /// A provider.
    Provider(ProviderId),
    /// An expert.
    Expert(ExpertId),
}

/// What to list. Empty fields do not filter.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ListFilter {
    /// Current status.
    pub status: Option<Status>,
    /// Category in force.
    pub category: Option<Category>,
    /// Assigned provider or expert.
    pub assignee: Option<Assignee>,
    /// Asking organisation's name (case and accents ignored).
    pub organization: Option<String>,
    /// Asking organisation's type.
    pub organization_type: Option<OrganizationType>,
    /// The portal that submitted it (exact): a portal client lists only
    /// its own questions.
    pub portal: Option<String>,
    /// Submitted at or after (ms).
    pub submitted_from_ms: Option<i64>,
    /// Submitted before (ms).
    pub submitted_to_ms: Option<i64>,
}

/// Default page size.
pub const DEFAULT_PAGE_SIZE: usize = 50;
/// Largest page size; larger requests are clamped.
pub const MAX_PAGE_SIZE: usize = 500;

/// A page request: size (0 = default, clamped to the maximum) and the token
/// of the previous page.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PageRequest {
    /// Items per page.
    pub size: usize,
    /// Token from the previous page's `next_token`.
    pub token: Option<String>,
}

impl PageRequest {
    /// The effective size.
    pub fn effective_size(&self) -> usize {
        match self.size {
            0 => DEFAULT_PAGE_SIZE,
            n => n.min(MAX_PAGE_SIZE),
        }
    }
}

/// One page of results.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Token for the next page; `None` at the end.
    pub next_token: Option<String>,
}

/// A question in the triage queue with its current priority.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueEntry {
    /// The question.
    pub question: Question,
    /// Priority now: category importance for the asker (Tabel 3.1) +
    /// impact + one point per week since it entered TRIAGE.
    pub priority: f64,
}

/// How many questions are in one open status, and when the oldest was
/// submitted: what metrics and alerts need, without the ages' medians.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenCount {
    /// The status.
    pub status: Status,
    /// How many.
    pub count: u64,
    /// When the oldest of them was submitted (ms); None when there are none.
    pub oldest_submitted_ms: Option<i64>,
}

/// Open questions in one status (and category).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpenAge {
    /// The status.
    pub status: Status,
    /// The category in force; `None` in the row that counts every question
    /// of the status.
    pub category: Option<Category>,
    /// How many.
    pub count: u64,
    /// Age of the oldest (ms).
    pub oldest_ms: i64,
    /// Median age (ms).
    pub median_ms: i64,
}

/// The core team's correction of a proposal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Feedback {
    /// The question.
    pub question: QuestionId,
    /// When.
    pub at_ms: i64,
    /// Who decided.
    pub actor: String,
    /// The engine's proposal.
    pub proposed_category: Option<Category>,
    /// Proposed provider.
    pub proposed_provider: Option<ProviderId>,
    /// Proposed expert.
    pub proposed_expert: Option<ExpertId>,
    /// What the team chose.
    pub chosen_category: Option<Category>,
    /// Chosen provider.
    pub chosen_provider: Option<ProviderId>,
    /// Chosen expert.
    pub chosen_expert: Option<ExpertId>,
    /// Index version of the proposal.
    pub index_version: u64,
}
