//! Status events for watchers (portals and dashboards updating live).

use crate::domain::{ActionKind, Category, ExpertId, ProviderId, Status};
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
    /// Who.
    pub actor: String,
    /// The question's version after the change.
    pub version: u64,
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
            version: question.version,
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
}

impl EventFilter {
    /// Whether an event passes.
    pub fn matches(&self, e: &QuestionEvent) -> bool {
        self.question.is_none_or(|q| q == e.question)
            && (self.statuses.is_empty() || self.statuses.contains(&e.to))
            && self.category.is_none_or(|c| e.category == Some(c))
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
            version: 1,
        }
    }

    #[test]
    fn an_empty_filter_lets_everything_through() {
        assert!(EventFilter::default().matches(&event(1, Status::Triage, None)));
    }

    #[test]
    fn every_given_field_must_match() {
        let f = EventFilter {
            question: Some(QuestionId::new(7)),
            statuses: vec![Status::Answered, Status::Closed],
            category: Some(Category::Execution),
        };
        assert!(f.matches(&event(7, Status::Closed, Some(Category::Execution))));
        assert!(!f.matches(&event(8, Status::Closed, Some(Category::Execution))));
        assert!(!f.matches(&event(7, Status::Routed, Some(Category::Execution))));
        assert!(!f.matches(&event(7, Status::Closed, Some(Category::Strategy))));
        assert!(!f.matches(&event(7, Status::Closed, None)));
    }
}
