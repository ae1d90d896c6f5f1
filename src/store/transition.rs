//! What a lifecycle change does to a question, as pure functions: the new
//! state, the events to append, the core team's feedback and the lead-time
//! measurements it completes, or the refusal. No storage in here.
//!
//! A backend reads the question (and, for a duplicate, its original), calls
//! [`submit`], [`apply`] or [`review`], and persists the [`Transition`] it
//! gets back in one atomic write. Every backend calls the same functions,
//! so a question moves the same way whatever it is stored in; the
//! lifecycle table itself is [`crate::domain::transition`].

use super::leadtime::{self, Measurement};
use super::model::*;
use super::StoreError;
use crate::domain::{transition, ActionKind, Status};

/// How the triage reason of a question its assignee gave back starts.
pub const DECLINED: &str = "declined";

/// What a change does: everything a backend writes for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    /// The question after the change.
    pub question: Question,
    /// The events to append to its history, in order (`seq` set).
    pub events: Vec<Event>,
    /// The core team's routing decision, when the change was one.
    pub feedback: Option<Feedback>,
    /// The lead times the change completes.
    pub measurements: Vec<Measurement>,
}

/// Refuses a new question that no backend may store: checked before any
/// write so that nothing is stored for it.
pub fn check_new(new: &NewQuestion) -> Result<(), StoreError> {
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
    Ok(())
}

/// A new question with id `id`, received at `now` and decided at once:
/// RECEIVED, then ROUTED or TRIAGE, as two events.
pub fn submit(new: &NewQuestion, id: QuestionId, now: i64) -> Transition {
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
        actor: new.actor.name.clone(),
        on_behalf_of: new.actor.on_behalf_of.clone(),
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
        actor: new.actor.name.clone(),
        on_behalf_of: new.actor.on_behalf_of.clone(),
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
    Transition {
        question: q,
        events: vec![received, decided],
        feedback: None,
        measurements,
    }
}

/// Refuses a change that is wrong whatever the question's state: checked
/// before any read or write.
pub fn check_change(id: QuestionId, change: &Change) -> Result<(), StoreError> {
    match &change.action {
        Action::Route {
            provider: None,
            expert: None,
            ..
        } => Err(StoreError::Invalid(
            "route to a provider or an expert: give at least one".into(),
        )),
        Action::Answer { text, .. } if text.trim().is_empty() => Err(StoreError::Invalid(
            "the answer is empty: give the answer text".into(),
        )),
        Action::MarkDuplicate { original } if *original == id => Err(StoreError::Invalid(
            "a question cannot be a duplicate of itself".into(),
        )),
        _ => Ok(()),
    }
}

/// The earlier question a change links to, which the backend must read
/// and hand to [`apply`].
pub fn original_of(change: &Change) -> Option<QuestionId> {
    match change.action {
        Action::MarkDuplicate { original } => Some(original),
        _ => None,
    }
}

/// Applies a lifecycle action to `old` at `now`. `original` is the
/// question [`original_of`] names, as stored (`None`: it does not exist).
///
/// Refused, in this order: a stale `expected_version`, an action the
/// lifecycle does not allow now, an original that does not exist or is
/// itself a duplicate or rejected.
pub fn apply(
    old: &Question,
    ch: &Change,
    now: i64,
    original: Option<&Question>,
) -> Result<Transition, StoreError> {
    let id = old.id;
    check_version(old, ch.expected_version)?;
    // Writes queue before they commit, so a later write may carry an
    // earlier reading of the clock: never let history run backwards.
    let now = now.max(old.updated_ms);
    let kind = ch.action.kind();
    let to = transition(old.status, kind)
        .map_err(|source| StoreError::IllegalTransition { id, source })?;
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
                    actor: ch.actor.name.clone(),
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
            // A declined question says so in its reason: the queue shows
            // why it waits (`service::TriageCause`).
            q.triage_reason = if kind == ActionKind::Decline {
                Some(match &ch.reason {
                    Some(r) => format!("{DECLINED}: {r}"),
                    None => DECLINED.to_string(),
                })
            } else {
                ch.reason.clone()
            };
            q.triage_since_ms = Some(now);
            if kind == ActionKind::Decline {
                q.provider = None;
                q.expert = None;
            }
        }
        Action::MarkDuplicate { original: wanted } => {
            match original {
                None => {
                    return Err(StoreError::Invalid(format!(
                        "the original question {wanted} does not exist"
                    )))
                }
                Some(o) if matches!(o.status, Status::Duplicate | Status::Rejected) => {
                    return Err(StoreError::Invalid(format!(
                        "{wanted} is {} and cannot be the original: link to the question it points to",
                        o.status
                    )))
                }
                Some(_) => {}
            }
            q.duplicate_of = Some(*wanted);
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
    let event = next_event(old, &mut q, now, &ch.actor, kind, ch.reason.clone());
    let measurements = leadtime::advance(&mut q.timeline, to, now);
    Ok(Transition {
        question: q,
        events: vec![event],
        feedback,
        measurements,
    })
}

/// Refuses a review that is wrong whatever the question's state.
pub fn check_review(review: &AnswerReview) -> Result<(), StoreError> {
    match &review.replace {
        Some((text, _)) if text.trim().is_empty() => Err(StoreError::Invalid(
            "the new answer is empty: give the answer text, or confirm the current one".into(),
        )),
        _ => Ok(()),
    }
}

/// Confirms or replaces the answer of an ANSWERED or CLOSED question at
/// `now`. The status stays; the review is an event of its own.
pub fn review(old: &Question, review: &AnswerReview, now: i64) -> Result<Transition, StoreError> {
    let id = old.id;
    check_version(old, review.expected_version)?;
    let (true, Some(answer)) = (
        matches!(old.status, Status::Answered | Status::Closed),
        old.answer.clone(),
    ) else {
        return Err(StoreError::NotAnswered {
            id,
            status: old.status,
        });
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
    let reason = match (&review.reason, confirmed) {
        (Some(r), true) => format!("answer confirmed: {r}"),
        (Some(r), false) => format!("answer replaced: {r}"),
        (None, true) => "answer confirmed".into(),
        (None, false) => "answer replaced".into(),
    };
    let event = next_event(
        old,
        &mut q,
        now,
        &review.actor,
        ActionKind::ReviewAnswer,
        Some(reason),
    );
    Ok(Transition {
        question: q,
        events: vec![event],
        feedback: None,
        measurements: Vec::new(),
    })
}

/// Refuses a change based on another version than the stored one.
fn check_version(old: &Question, expected: Option<u64>) -> Result<(), StoreError> {
    match expected {
        Some(expected) if expected != old.version => Err(StoreError::Stale {
            id: old.id,
            expected,
            current: old.version,
        }),
        _ => Ok(()),
    }
}

/// Raises the version of `q` (the changed `old`) and returns the event that
/// records the change, with the fields it changed.
fn next_event(
    old: &Question,
    q: &mut Question,
    now: i64,
    actor: &Actor,
    action: ActionKind,
    reason: Option<String>,
) -> Event {
    q.version += 1;
    q.updated_ms = now;
    let event = Event {
        seq: old.events,
        at_ms: now,
        actor: actor.name.clone(),
        on_behalf_of: actor.on_behalf_of.clone(),
        action: Some(action),
        from: Some(old.status),
        to: q.status,
        reason,
        changes: field_changes(old, q),
    };
    q.events += 1;
    event
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

#[cfg(test)]
mod tests;
