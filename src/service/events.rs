//! Status events for watchers (portals and dashboards updating live).

use super::routing::TriageCause;
use crate::domain::{ActionKind, Category, ExpertId, OrganizationType, ProviderId, Status};
use crate::store::leadtime::{self, Measurement};
use crate::store::{Event, Question, QuestionId};

/// One status change of a question, as announced to watchers.
#[derive(Debug, Clone, PartialEq)]
pub struct QuestionEvent {
    /// The question.
    pub question: QuestionId,
    /// When (ms since the epoch).
    pub at_ms: i64,
    /// The action; `None` for the submit itself (RECEIVED).
    pub action: Option<ActionKind>,
    /// Status before; `None` for the submit.
    pub from: Option<Status>,
    /// Status after.
    pub to: Status,
    /// Category in force after the change.
    pub category: Option<Category>,
    /// Assigned provider after the change.
    pub provider: Option<ProviderId>,
    /// Assigned expert after the change.
    pub expert: Option<ExpertId>,
    /// Who (the authenticated client).
    pub actor: String,
    /// Whom the client acted for, when it said so.
    pub on_behalf_of: Option<String>,
    /// The portal that submitted the question: a portal watches only its
    /// own questions.
    pub portal: String,
    /// The question's version after the change.
    pub version: u64,
    /// The asking organisation's type (for counts by type).
    pub organization_type: OrganizationType,
    /// Why it is in triage, as a kind, when the change put it there.
    pub triage_cause: Option<TriageCause>,
    /// When this change is the first answer: the time to answer it
    /// completes (calendar and working-hours ms, as the lead times count
    /// it).
    pub answer_time: Option<Measurement>,
}

impl QuestionEvent {
    /// The announcement of a stored event of a question (in its state after
    /// the event).
    pub fn of(question: &Question, event: &Event) -> QuestionEvent {
        QuestionEvent {
            question: question.id,
            at_ms: event.at_ms,
            action: event.action,
            from: event.from,
            to: event.to,
            category: question.category,
            provider: question.provider.clone(),
            expert: question.expert.clone(),
            actor: event.actor.clone(),
            on_behalf_of: event.on_behalf_of.clone(),
            portal: question.portal.clone(),
            version: question.version,
            organization_type: question.organization_type,
            triage_cause: (event.to == Status::Triage)
                .then(|| TriageCause::of(question.triage_reason.as_deref().unwrap_or_default())),
            answer_time: (event.to == Status::Answered
                && question.timeline.first_answered_ms == Some(event.at_ms))
            .then(|| leadtime::answer_time(&question.timeline))
            .flatten(),
        }
    }
}

/// Which events a watcher wants; empty fields let everything through.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventFilter {
    /// Only this question.
    pub question: Option<QuestionId>,
    /// Only events ending in one of these statuses.
    pub statuses: Vec<Status>,
    /// Only questions of this category.
    pub category: Option<Category>,
    /// Only questions this portal submitted.
    pub portal: Option<String>,
}

impl EventFilter {
    /// Whether an event passes.
    pub fn matches(&self, e: &QuestionEvent) -> bool {
        self.question.is_none_or(|q| q == e.question)
            && (self.statuses.is_empty() || self.statuses.contains(&e.to))
            && self.category.is_none_or(|c| e.category == Some(c))
            && self.portal.as_ref().is_none_or(|p| *p == e.portal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: u64, to: Status, category: Option<Category>) -> QuestionEvent {
        QuestionEvent {
            question: QuestionId::new(id),
            at_ms: 0,
            action: None,
            from: None,
            to,
            category,
            provider: None,
            expert: None,
            actor: "t".into(),
            on_behalf_of: None,
            portal: String::new(),
            version: 1,
            organization_type: OrganizationType::Gemeente,
            triage_cause: None,
            answer_time: None,
        }
    }

    #[test]
    fn an_empty_filter_lets_everything_through() {
        assert!(EventFilter::default().matches(&event(1, Status::Triage, None)));
    }

    #[test]
    fn a_portal_watches_only_its_own_questions() {
        let f = EventFilter {
            portal: Some("portal-a".into()),
            ..EventFilter::default()
        };
        let mut e = event(7, Status::Routed, None);
        assert!(
            !f.matches(&e),
            "a question without a portal is not a portal's"
        );
        e.portal = "portal-b".into();
        assert!(!f.matches(&e));
        e.portal = "portal-a".into();
        assert!(f.matches(&e));
    }

    #[test]
    fn every_given_field_must_match() {
        let f = EventFilter {
            question: Some(QuestionId::new(7)),
            statuses: vec![Status::Answered, Status::Closed],
            category: Some(Category::Execution),
            portal: None,
        };
        assert!(f.matches(&event(7, Status::Closed, Some(Category::Execution))));
        assert!(!f.matches(&event(8, Status::Closed, Some(Category::Execution))));
        assert!(!f.matches(&event(7, Status::Routed, Some(Category::Execution))));
        assert!(!f.matches(&event(7, Status::Closed, Some(Category::Strategy))));
        assert!(!f.matches(&event(7, Status::Closed, None)));
    }
}
