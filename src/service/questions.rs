//! Questions through their lifecycle: classify, submit (decide, assign,
//! store, announce), read, and act on them; and the status events watchers
//! receive.

use super::assignment::{track_load, LoadGuard};
use super::directory::{not_found_expert, not_found_provider};
use super::{QuestionEvent, Service, ServiceError, Similar};
use crate::domain::input::{AnswerText, OrganizationName, QuestionText, Reason, RequestId};
use crate::domain::{
    ActionKind, Category, ExpertId, OrganizationType, ProviderId, Province, Status,
};
use crate::engine::{Classification, Contribution, Query, RankedMatch};
use crate::store::{
    Action, Actor, Change, ClassificationSnapshot, Decision, Event, Explanation, ListFilter,
    NewQuestion, Page, PageRequest, Question, QuestionId, QueueEntry, Scored, ScoredTerm,
    StoreError,
};
use tokio::sync::broadcast;

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
    pub actor: Actor,
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
    pub actor: Actor,
    /// Why.
    pub reason: Option<Reason>,
    /// The version the caller read (from the etag).
    pub expected_version: Option<u64>,
}

/// What the store keeps of a classification: the decision and, so that a
/// triager reading the question later sees what the submit response
/// showed, every score with the terms and fit reasons behind it.
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
        explanation: Some(Explanation {
            language: c.language.code().to_string(),
            categories: c
                .category_scores
                .iter()
                .map(|s| Scored {
                    id: s.category.to_string(),
                    score: s.score,
                    terms: terms(&s.matched_terms),
                    ..Scored::default()
                })
                .collect(),
            themes: c
                .themes
                .iter()
                .map(|t| Scored {
                    id: t.id.to_string(),
                    score: t.score,
                    terms: terms(&t.matched_terms),
                    ..Scored::default()
                })
                .collect(),
            providers: c.providers.iter().map(ranked).collect(),
            experts: c.experts.iter().map(ranked).collect(),
        }),
    }
}

fn ranked(m: &RankedMatch) -> Scored {
    Scored {
        id: m.id.clone(),
        name: m.name.clone(),
        score: m.score,
        fit_reasons: m.fit_reasons.iter().map(ToString::to_string).collect(),
        terms: terms(&m.matched_terms),
    }
}

fn terms(contributions: &[Contribution]) -> Vec<ScoredTerm> {
    contributions
        .iter()
        .map(|c| ScoredTerm {
            term: c.term.to_string(),
            matched: c.matched.to_string(),
            via: c.via.as_str().to_string(),
            contribution: c.contribution,
        })
        .collect()
}

fn require_reason(request: &Request, action: ActionKind) -> Result<(), ServiceError> {
    if request.reason.is_none() {
        return Err(ServiceError::Invalid(format!(
            "{action} needs a reason: say why, the core team reads it in the history"
        )));
    }
    Ok(())
}

impl Service {
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
        let features = self.similar.features(s.text.as_str());
        let reuse = &self.similar.settings;
        let similar = self.similar_to(&features, None, reuse.similar_listed)?;
        let answered_before = similar.iter().find(|x| {
            x.score >= reuse.duplicate_threshold
                && matches!(x.question.status, Status::Answered | Status::Closed)
        });
        let decision = match answered_before {
            Some(x) => Decision::Triage {
                reason: format!(
                    "{}: {} (similarity {:.2}); mark it as a duplicate of {} to reuse that answer",
                    super::routing::ANSWERED_BEFORE,
                    x.question.id,
                    x.score,
                    x.question.id
                ),
            },
            None => self.policy.decide(&c),
        };
        let mut reserved = None;
        let decision = match decision {
            Decision::Route { provider, .. } => {
                reserved = self.pick_expert(&c);
                Decision::Route {
                    provider,
                    expert: reserved.clone(),
                }
            }
            triage => triage,
        };
        let actor = s.actor.clone();
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
                    self.load.release(e);
                }
                other?
            }
        };
        if submitted.created {
            self.similar
                .add(submitted.question.id, &features, &submitted.question.text);
            for event in &submitted.events {
                self.publish(&submitted.question, event);
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
        let action = self.check_action(id, action, &request)?;
        let is_route = matches!(action, Action::Route { .. });
        let is_reopen = matches!(action, Action::Reopen);
        let actor = request.actor;
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
        let load = to_expert.then(|| self.load.lock());
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
                    Some(r) => format!("{}: {r}", super::routing::REOPENED),
                    None => super::routing::REOPENED.to_string(),
                }),
                expected_version: Some(question.version),
            },
        )?;
        self.announce(&triaged, false, None);
        Ok(triaged)
    }

    /// The store action of a lifecycle request, after the checks the store
    /// cannot make: the named provider, expert and original exist, and a
    /// refusal says why.
    fn check_action(
        &self,
        id: QuestionId,
        action: Lifecycle,
        request: &Request,
    ) -> Result<Action, ServiceError> {
        Ok(match action {
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
                require_reason(request, ActionKind::Reject)?;
                Action::Reject
            }
            Lifecycle::Decline => {
                require_reason(request, ActionKind::Decline)?;
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
        })
    }

    /// Announces the last event of a changed question to watchers and
    /// keeps the open counts in step; `load` is the open-count lock when
    /// the caller already holds it.
    pub(super) fn announce(
        &self,
        question: &Question,
        is_route: bool,
        load: Option<LoadGuard<'_>>,
    ) {
        let id = question.id;
        // First, and whatever happens below: a listing must not show the
        // state before this change.
        self.similar.changed(question);
        // The event this change wrote is the question's last one as
        // returned (a concurrent change has a later number). Announcing it
        // is best effort: the change itself is stored.
        match self.store.event(id, question.events.saturating_sub(1)) {
            Ok(Some(event)) => {
                let mut load = load.unwrap_or_else(|| self.load.lock());
                track_load(&mut load, question, &event);
                drop(load);
                self.publish(question, &event);
                // A route out of TRIAGE is the core team's decision.
                if is_route && event.from == Some(Status::Triage) {
                    self.learning.wake();
                }
            }
            Ok(None) => tracing::error!(question = %id, "the event of a stored change is missing"),
            Err(e) => tracing::error!(question = %id, "cannot read the event to announce: {e}"),
        }
    }

    /// A receiver of every status event from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<QuestionEvent> {
        self.events.subscribe()
    }

    fn publish(&self, question: &Question, event: &Event) {
        // No receivers is fine: nobody is watching.
        let _ = self.events.send(QuestionEvent::of(question, event));
    }
}
