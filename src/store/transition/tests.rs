use super::*;
use crate::domain::{Category, ExpertId};
use crate::store::fixtures::*;

fn change(action: Action) -> Change {
    Change {
        reason: Some("omdat".into()),
        ..act(action)
    }
}

/// An action of `kind` with plausible data.
fn action_of(kind: ActionKind) -> Option<Action> {
    Some(match kind {
        ActionKind::Route => Action::Route {
            category: Some(Category::Execution),
            provider: Some(pid("rijkswaterstaat")),
            expert: None,
        },
        ActionKind::Triage => Action::Triage,
        ActionKind::Reject => Action::Reject,
        ActionKind::MarkDuplicate => Action::MarkDuplicate {
            original: QuestionId::new(99),
        },
        ActionKind::Accept => Action::Accept,
        ActionKind::Decline => Action::Decline,
        ActionKind::WaitForAsker => Action::WaitForAsker,
        ActionKind::Resume => Action::Resume,
        ActionKind::Answer => Action::Answer {
            text: "Zo.".into(),
            sources: vec!["https://example.org".into()],
            review_after_ms: Some(T0 + 1000 * HOUR),
        },
        ActionKind::Close => Action::Close,
        ActionKind::Reopen => Action::Reopen,
        ActionKind::ReviewAnswer => return None,
    })
}

/// A question in `status`, with an answer where the status implies one.
fn question_in(status: Status) -> Question {
    let mut q = submit(
        &new_question("Hoe kopen we circulair in?", triage()),
        QuestionId::new(7),
        T0,
    )
    .question;
    q.status = status;
    if matches!(status, Status::Answered | Status::Closed) {
        q.answer = Some(Answer {
            text: "Eerder antwoord".into(),
            sources: Vec::new(),
            review_after_ms: None,
            answered_at_ms: T0,
        });
    }
    q
}

fn original(status: Status) -> Question {
    let mut o = question_in(status);
    o.id = QuestionId::new(99);
    o
}

#[test]
fn a_submit_is_received_then_decided_in_two_events() {
    let t = submit(
        &new_question("Hoe kopen we circulair in?", routed()),
        QuestionId::new(1),
        T0,
    );
    let q = &t.question;
    assert_eq!(q.status, Status::Routed);
    assert_eq!(q.provider, Some(pid("pianoo")));
    assert_eq!((q.version, q.events, q.submitted_ms), (1, 2, T0));
    assert_eq!(t.events.len(), 2);
    assert_eq!(
        (t.events[0].seq, t.events[0].from, t.events[0].to),
        (0, None, Status::Received)
    );
    assert_eq!(t.events[0].changes[0].field, "category");
    assert_eq!(
        (
            t.events[1].seq,
            t.events[1].from,
            t.events[1].to,
            t.events[1].action
        ),
        (
            1,
            Some(Status::Received),
            Status::Routed,
            Some(ActionKind::Route)
        )
    );
    assert_eq!(t.events[1].changes[0].after.as_deref(), Some("pianoo"));
    // Routed at once: the time to route is complete, and zero.
    assert_eq!(t.measurements.len(), 1);
    assert_eq!(t.measurements[0].calendar_ms, 0);
    assert!(t.feedback.is_none());
}

#[test]
fn a_submit_to_triage_keeps_the_reason_and_starts_aging_now() {
    let t = submit(
        &new_question("Hoe kopen we circulair in?", triage()),
        QuestionId::new(1),
        T0,
    );
    assert_eq!(t.question.status, Status::Triage);
    assert_eq!(t.question.triage_reason.as_deref(), Some("low confidence"));
    assert_eq!(t.question.triage_since_ms, Some(T0));
    assert_eq!(t.events[1].reason.as_deref(), Some("low confidence"));
    assert!(t.measurements.is_empty());
}

#[test]
fn every_legal_transition_moves_the_question_and_every_illegal_one_is_refused() {
    let mut legal = 0;
    let mut illegal = 0;
    for from in Status::ALL {
        for kind in ActionKind::ALL {
            let Some(action) = action_of(kind) else {
                continue;
            };
            let old = question_in(from);
            let ch = change(action);
            let o = original(Status::Answered);
            let result = apply(&old, &ch, T0 + HOUR, Some(&o));
            match kind.target_from(from) {
                Some(to) => {
                    legal += 1;
                    let t = result.unwrap_or_else(|e| panic!("{kind} from {from}: {e}"));
                    assert_eq!(t.question.status, to, "{kind} from {from}");
                    assert_eq!(t.question.version, old.version + 1);
                    assert_eq!(t.question.events, old.events + 1);
                    assert_eq!(t.question.updated_ms, T0 + HOUR);
                    let [event] = t.events.as_slice() else {
                        panic!("{kind} from {from} gave {} events", t.events.len())
                    };
                    assert_eq!(
                        (event.seq, event.from, event.to, event.action),
                        (old.events, Some(from), to, Some(kind))
                    );
                    assert_eq!(event.actor, "kernteam");
                }
                None => {
                    illegal += 1;
                    match result {
                        Err(StoreError::IllegalTransition { id, source }) => {
                            assert_eq!(id, old.id);
                            assert_eq!(source.current, from, "{kind} from {from}");
                        }
                        other => panic!("{kind} from {from} should be refused, got {other:?}"),
                    }
                }
            }
        }
    }
    // The 15 legal pairs of domain.md: Received→Route/Triage,
    // Triage→Route/Reject/Duplicate, Routed→Accept/Decline,
    // InProgress→Wait/Answer, Waiting→Resume, Answered→Close/Reopen,
    // Closed→Reopen, Reopened→Route/Triage.
    assert_eq!(legal, 15);
    assert_eq!(legal + illegal, 10 * 11);
}

#[test]
fn a_route_out_of_triage_is_feedback_and_other_routes_are_not() {
    let old = question_in(Status::Triage);
    let ch = change(action_of(ActionKind::Route).unwrap());
    let t = apply(&old, &ch, T0 + HOUR, None).unwrap();
    let f = t.feedback.expect("feedback");
    assert_eq!(f.proposed_category, Some(Category::Specific));
    assert_eq!(f.proposed_provider, Some(pid("pianoo")));
    assert_eq!(f.chosen_category, Some(Category::Execution));
    assert_eq!(f.chosen_provider, Some(pid("rijkswaterstaat")));
    assert_eq!((f.index_version, f.at_ms), (3, T0 + HOUR));
    assert_eq!(t.question.category, Some(Category::Execution));
    assert_eq!(t.question.triage_reason, None);
    let fields: Vec<&str> = t.events[0]
        .changes
        .iter()
        .map(|c| c.field.as_str())
        .collect();
    assert_eq!(fields, ["category", "provider"]);

    let reopened = question_in(Status::Reopened);
    let t = apply(&reopened, &ch, T0 + HOUR, None).unwrap();
    assert!(t.feedback.is_none());
}

#[test]
fn a_decline_clears_the_assignee_and_ages_in_triage_from_now() {
    let mut old = question_in(Status::Routed);
    old.provider = Some(pid("pianoo"));
    old.expert = Some(ExpertId::parse("e-1").unwrap());
    let t = apply(&old, &change(Action::Decline), T0 + 2 * HOUR, None).unwrap();
    assert_eq!(
        (t.question.provider.clone(), t.question.expert.clone()),
        (None, None)
    );
    assert_eq!(t.question.triage_since_ms, Some(T0 + 2 * HOUR));
    assert_eq!(t.question.triage_reason.as_deref(), Some("declined: omdat"));
    assert_eq!(t.events[0].changes.len(), 2);
}

#[test]
fn a_stale_version_is_refused_before_the_lifecycle_is_asked() {
    let old = question_in(Status::Closed);
    let mut ch = change(Action::Accept);
    ch.expected_version = Some(old.version + 5);
    match apply(&old, &ch, T0, None) {
        Err(StoreError::Stale {
            expected, current, ..
        }) => assert_eq!((expected, current), (old.version + 5, old.version)),
        other => panic!("expected Stale, got {other:?}"),
    }
    ch.expected_version = Some(old.version);
    assert!(matches!(
        apply(&old, &ch, T0, None),
        Err(StoreError::IllegalTransition { .. })
    ));
}

#[test]
fn a_duplicate_needs_an_original_that_is_neither_missing_nor_itself_refused() {
    let old = question_in(Status::Triage);
    let ch = change(action_of(ActionKind::MarkDuplicate).unwrap());
    assert_eq!(original_of(&ch), Some(QuestionId::new(99)));
    assert!(
        matches!(apply(&old, &ch, T0, None), Err(StoreError::Invalid(m)) if m.contains("does not exist"))
    );
    for refused in [Status::Duplicate, Status::Rejected] {
        let o = original(refused);
        assert!(
            matches!(apply(&old, &ch, T0, Some(&o)), Err(StoreError::Invalid(m)) if m.contains("cannot be the original"))
        );
    }
    let t = apply(&old, &ch, T0, Some(&original(Status::Closed))).unwrap();
    assert_eq!(t.question.duplicate_of, Some(QuestionId::new(99)));
    assert_eq!(original_of(&change(Action::Reject)), None);
}

#[test]
fn history_never_runs_backwards_when_a_write_carries_an_older_clock() {
    let mut old = question_in(Status::Routed);
    old.updated_ms = T0 + 10 * HOUR;
    let t = apply(&old, &change(Action::Accept), T0, None).unwrap();
    assert_eq!(t.events[0].at_ms, T0 + 10 * HOUR);
    assert_eq!(t.question.updated_ms, T0 + 10 * HOUR);
}

#[test]
fn an_answer_records_its_text_and_review_date_and_completes_the_answer_time() {
    let mut old = question_in(Status::Routed);
    old = apply(&old, &change(Action::Accept), T0, None)
        .unwrap()
        .question;
    let t = apply(
        &old,
        &change(action_of(ActionKind::Answer).unwrap()),
        T0 + HOUR,
        None,
    )
    .unwrap();
    let answer = t.question.answer.clone().unwrap();
    assert_eq!(
        (answer.text.as_str(), answer.answered_at_ms),
        ("Zo.", T0 + HOUR)
    );
    let fields: Vec<&str> = t.events[0]
        .changes
        .iter()
        .map(|c| c.field.as_str())
        .collect();
    assert_eq!(fields, ["answer", "review_after"]);
    assert!(t
        .measurements
        .iter()
        .any(|m| m.metric == leadtime::Metric::TimeToAnswer));
}

#[test]
fn requests_wrong_in_any_state_are_refused_before_reading() {
    let mut bad = new_question("Hoe kopen we circulair in?", routed());
    bad.impact = 0;
    assert!(
        matches!(check_new(&bad), Err(StoreError::Invalid(m)) if m.contains("between 1 and 5"))
    );
    let nobody = new_question(
        "Hoe kopen we circulair in?",
        Decision::Route {
            provider: None,
            expert: None,
        },
    );
    assert!(matches!(check_new(&nobody), Err(StoreError::Invalid(_))));
    assert!(check_new(&new_question("Hoe kopen we circulair in?", triage())).is_ok());

    let id = QuestionId::new(7);
    let route_nowhere = change(Action::Route {
        category: None,
        provider: None,
        expert: None,
    });
    assert!(check_change(id, &route_nowhere).is_err());
    let empty = change(Action::Answer {
        text: "  ".into(),
        sources: Vec::new(),
        review_after_ms: None,
    });
    assert!(check_change(id, &empty).is_err());
    let itself = change(Action::MarkDuplicate { original: id });
    assert!(
        matches!(check_change(id, &itself), Err(StoreError::Invalid(m)) if m.contains("itself"))
    );
    assert!(check_change(id, &change(Action::Accept)).is_ok());
}

fn review_of(replace: Option<(&str, Vec<String>)>) -> AnswerReview {
    AnswerReview {
        replace: replace.map(|(t, s)| (t.to_string(), s)),
        review_after_ms: Some(T0 + 5000 * HOUR),
        actor: "kernteam".into(),
        reason: None,
        expected_version: None,
    }
}

#[test]
fn a_review_confirms_or_replaces_the_answer_without_moving_the_question() {
    for status in [Status::Answered, Status::Closed] {
        let old = question_in(status);
        let t = review(&old, &review_of(None), T0 + HOUR).unwrap();
        let a = t.question.answer.clone().unwrap();
        assert_eq!((a.text.as_str(), a.answered_at_ms), ("Eerder antwoord", T0));
        assert_eq!(a.review_after_ms, Some(T0 + 5000 * HOUR));
        assert_eq!(t.question.status, status);
        let e = &t.events[0];
        assert_eq!(
            (e.from, e.to, e.action),
            (Some(status), status, Some(ActionKind::ReviewAnswer))
        );
        assert_eq!(e.reason.as_deref(), Some("answer confirmed"));

        let t = review(&old, &review_of(Some(("Nieuw", vec![]))), T0 + HOUR).unwrap();
        let a = t.question.answer.clone().unwrap();
        assert_eq!((a.text.as_str(), a.answered_at_ms), ("Nieuw", T0 + HOUR));
        assert_eq!(t.events[0].reason.as_deref(), Some("answer replaced"));
        assert!(t.measurements.is_empty());
    }
    for status in Status::ALL
        .into_iter()
        .filter(|s| !matches!(s, Status::Answered | Status::Closed))
    {
        assert!(matches!(
            review(&question_in(status), &review_of(None), T0),
            Err(StoreError::NotAnswered { status: s, .. }) if s == status
        ));
    }
    assert!(check_review(&review_of(Some((" ", vec![])))).is_err());
    assert!(check_review(&review_of(None)).is_ok());
}
