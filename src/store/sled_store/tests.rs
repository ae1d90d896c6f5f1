use super::*;
use crate::domain::{ActionKind, Category, Status};
use crate::store::fixtures::*;
use crate::store::leadtime::{Clock, Dimension, LeadTimeQuery, Metric};
use proptest::prelude::*;
use std::collections::BTreeMap;

const DAY: i64 = 24 * HOUR;

struct Fixture {
    _dir: tempfile::TempDir,
    time: Arc<ManualTime>,
    store: SledStore,
}

fn fixture_with(durable: bool) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let time = Arc::new(ManualTime::new(T0));
    let store = SledStore::open(
        dir.path(),
        StoreOptions {
            durable,
            cache_capacity_bytes: 8 << 20,
            ..StoreOptions::default()
        },
        time.clone(),
    )
    .unwrap();
    Fixture {
        _dir: dir,
        time,
        store,
    }
}

fn fixture() -> Fixture {
    fixture_with(false)
}

#[test]
fn a_submitted_question_is_stored_with_its_first_two_events() {
    let f = fixture_with(true);
    let s = f
        .store
        .submit(new_question("Hoe kopen we circulair in?", routed()))
        .unwrap();
    assert!(s.created);
    let q = f.store.get(s.question.id).unwrap();
    assert_eq!(q.status, Status::Routed);
    assert_eq!(q.provider, Some(pid("pianoo")));
    assert_eq!(q.version, 1);
    let h = f.store.history(q.id).unwrap();
    assert_eq!(
        h.iter().map(|e| e.to).collect::<Vec<_>>(),
        [Status::Received, Status::Routed]
    );
    assert_eq!(h[1].from, Some(Status::Received));
    assert_eq!(s.events, h, "a submit returns the events it wrote");
}

#[test]
fn concurrent_durable_writers_share_flushes() {
    let f = fixture_with(true);
    let writers = 16;
    let per_writer = 20;
    std::thread::scope(|scope| {
        for w in 0..writers {
            let store = &f.store;
            scope.spawn(move || {
                for n in 0..per_writer {
                    store
                        .submit(new_question(&format!("w{w} n{n}"), routed()))
                        .unwrap();
                }
            });
        }
    });
    let writes = (writers * per_writer) as u64;
    let all = f
        .store
        .list(
            &ListFilter::default(),
            &PageRequest {
                size: 500,
                token: None,
            },
        )
        .unwrap();
    assert_eq!(all.items.len() as u64, writes);
    let flushes = f.store.flush_count();
    assert!(
        flushes >= 1 && flushes < writes,
        "{flushes} flushes for {writes} writes"
    );
}

#[test]
fn refused_writes_in_a_shared_commit_change_nothing_and_do_not_stop_the_others() {
    let f = fixture_with(true);
    let ids: Vec<QuestionId> = (0..32)
        .map(|n| {
            f.store
                .submit(new_question(&format!("q{n}"), routed()))
                .unwrap()
                .question
                .id
        })
        .collect();
    std::thread::scope(|scope| {
        for (n, &id) in ids.iter().enumerate() {
            let store = &f.store;
            scope.spawn(move || {
                if n % 2 == 0 {
                    assert_eq!(
                        store.apply(id, act(Action::Accept)).unwrap().status,
                        Status::InProgress
                    );
                } else {
                    // Illegal from ROUTED: refused, nothing written.
                    assert!(store.apply(id, act(Action::Close)).is_err());
                }
            });
        }
    });
    for (n, &id) in ids.iter().enumerate() {
        let q = f.store.get(id).unwrap();
        let (status, version, events) = if n % 2 == 0 {
            (Status::InProgress, 2, 3)
        } else {
            (Status::Routed, 1, 2)
        };
        assert_eq!((q.status, q.version), (status, version), "{id}");
        assert_eq!(f.store.history(id).unwrap().len(), events, "{id}");
    }
}

#[test]
fn a_question_walks_through_every_legal_transition() {
    let f = fixture();
    let id = f
        .store
        .submit(new_question("q", triage()))
        .unwrap()
        .question
        .id;
    let other = f
        .store
        .submit(new_question("other", triage()))
        .unwrap()
        .question
        .id;
    let steps = [
        (
            Action::Route {
                category: None,
                provider: Some(pid("nvrd")),
                expert: None,
            },
            Status::Routed,
        ),
        (Action::Decline, Status::Triage),
        (
            Action::Route {
                category: Some(Category::Execution),
                provider: Some(pid("vng")),
                expert: None,
            },
            Status::Routed,
        ),
        (Action::Accept, Status::InProgress),
        (Action::WaitForAsker, Status::Waiting),
        (Action::Resume, Status::InProgress),
        (
            Action::Answer {
                text: "zo".into(),
                sources: vec!["https://example.org".into()],
                review_after_ms: None,
            },
            Status::Answered,
        ),
        (Action::Reopen, Status::Reopened),
        (Action::Triage, Status::Triage),
        (
            Action::Route {
                category: None,
                provider: Some(pid("vng")),
                expert: None,
            },
            Status::Routed,
        ),
        (Action::Accept, Status::InProgress),
        (
            Action::Answer {
                text: "beter".into(),
                sources: vec![],
                review_after_ms: None,
            },
            Status::Answered,
        ),
        (Action::Close, Status::Closed),
        (Action::Reopen, Status::Reopened),
        (
            Action::Route {
                category: None,
                provider: Some(pid("vng")),
                expert: None,
            },
            Status::Routed,
        ),
    ];
    for (action, expected) in steps {
        let q = f.store.apply(id, act(action)).unwrap();
        assert_eq!(q.status, expected);
    }
    assert_eq!(f.store.history(id).unwrap().len(), 2 + 15);
    assert_eq!(f.store.get(id).unwrap().category, Some(Category::Execution));
    // From TRIAGE: reject and duplicate.
    let dup = f
        .store
        .apply(other, act(Action::MarkDuplicate { original: id }))
        .unwrap();
    assert_eq!(
        (dup.status, dup.duplicate_of),
        (Status::Duplicate, Some(id))
    );
    let third = f
        .store
        .submit(new_question("third", triage()))
        .unwrap()
        .question
        .id;
    assert_eq!(
        f.store.apply(third, act(Action::Reject)).unwrap().status,
        Status::Rejected
    );
}

#[test]
fn an_illegal_transition_is_refused_with_the_current_status_and_changes_nothing() {
    let f = fixture();
    let id = f
        .store
        .submit(new_question("q", routed()))
        .unwrap()
        .question
        .id;
    for action in [
        Action::Close,
        Action::Resume,
        Action::Reject,
        Action::Reopen,
        Action::WaitForAsker,
    ] {
        let err = f.store.apply(id, act(action)).unwrap_err();
        assert_eq!(err.current_status(), Some(Status::Routed), "{err}");
        assert!(err.to_string().contains("ROUTED"), "{err}");
    }
    let q = f.store.get(id).unwrap();
    assert_eq!((q.status, q.version), (Status::Routed, 1));
    assert_eq!(f.store.history(id).unwrap().len(), 2);
}

#[test]
fn a_change_based_on_a_stale_version_is_refused() {
    let f = fixture();
    let id = f
        .store
        .submit(new_question("q", routed()))
        .unwrap()
        .question
        .id;
    let mut accept = act(Action::Accept);
    accept.expected_version = Some(1);
    assert_eq!(f.store.apply(id, accept.clone()).unwrap().version, 2);
    let mut wait = act(Action::WaitForAsker);
    wait.expected_version = Some(1);
    match f.store.apply(id, wait) {
        Err(StoreError::Stale {
            expected: 1,
            current: 2,
            ..
        }) => {}
        other => panic!("expected a stale-version error, got {other:?}"),
    }
}

#[test]
fn bad_requests_are_refused_before_anything_is_written() {
    let f = fixture();
    let id = f
        .store
        .submit(new_question("q", triage()))
        .unwrap()
        .question
        .id;
    let err = f
        .store
        .apply(
            id,
            act(Action::Route {
                category: None,
                provider: None,
                expert: None,
            }),
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)));
    let err = f
        .store
        .apply(
            id,
            act(Action::MarkDuplicate {
                original: QuestionId::new(999),
            }),
        )
        .unwrap_err();
    assert!(err.to_string().contains("q999"), "{err}");
    assert!(matches!(
        f.store.get(QuestionId::new(999)),
        Err(StoreError::NotFound(_))
    ));
    let mut bad = new_question("q", routed());
    bad.impact = 9;
    assert!(matches!(f.store.submit(bad), Err(StoreError::Invalid(_))));
}

#[test]
fn a_repeated_request_id_returns_the_original_also_after_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let time: Arc<dyn TimeSource> = Arc::new(ManualTime::new(T0));
    let first = {
        let store = SledStore::open(dir.path(), StoreOptions::default(), time.clone()).unwrap();
        let mut q = new_question("q", routed());
        q.request_id = Some("portal-1/req-7".into());
        let a = store.submit(q.clone()).unwrap();
        let b = store.submit(q).unwrap();
        assert!(a.created && !b.created);
        assert_eq!(a.question.id, b.question.id);
        a.question
    };
    let store = SledStore::open(dir.path(), StoreOptions::default(), time).unwrap();
    let mut q = new_question("different text, same request", routed());
    q.request_id = Some("portal-1/req-7".into());
    let again = store.submit(q).unwrap();
    assert!(!again.created);
    assert_eq!(again.question, first);
    let all = store
        .list(
            &ListFilter::default(),
            &PageRequest {
                size: 100,
                token: None,
            },
        )
        .unwrap();
    assert_eq!(all.items.len(), 1);
}

#[test]
fn a_data_directory_in_use_is_refused_clearly() {
    let f = fixture();
    let err = SledStore::open(
        f.store.path(),
        StoreOptions::default(),
        Arc::new(SystemTime),
    )
    .unwrap_err();
    assert!(matches!(err, StoreError::Locked { .. }), "{err}");
    assert!(err.to_string().contains("in use"), "{err}");
}

/// Opens the store in `dir` again after it was dropped. sled's flusher
/// thread lets go of the directory's lock a moment after the store is
/// dropped; wait for it (bounded) rather than race it.
fn reopen(dir: &std::path::Path, time: Arc<dyn TimeSource>) -> SledStore {
    for _ in 0..200 {
        match SledStore::open(dir, StoreOptions::default(), time.clone()) {
            Err(StoreError::Locked { .. }) => {
                std::thread::sleep(std::time::Duration::from_millis(25))
            }
            other => return other.unwrap(),
        }
    }
    panic!("the store stayed locked after it was dropped");
}

#[test]
fn question_ids_are_dense_across_restarts_and_continue_after_older_stores() {
    let dir = tempfile::tempdir().unwrap();
    let open = || reopen(dir.path(), Arc::new(SystemTime));
    let mut ids = Vec::new();
    for _ in 0..3 {
        let store = open();
        for _ in 0..2 {
            ids.push(
                store
                    .submit(new_question("Vraag", routed()))
                    .unwrap()
                    .question
                    .id
                    .get(),
            );
        }
        store.flush().unwrap();
    }
    assert_eq!(ids, [1, 2, 3, 4, 5, 6]);

    // A store whose counter is missing or behind (written by a build that
    // numbered otherwise) continues after its last question.
    {
        let store = open();
        store
            .db
            .insert(keys::QUESTION_COUNTER, &keys::number(2))
            .unwrap();
        store.db.flush().unwrap();
    }
    let store = open();
    let next = store
        .submit(new_question("Vraag", routed()))
        .unwrap()
        .question
        .id;
    assert_eq!(next, QuestionId::new(7));
}

#[test]
fn feedback_is_numbered_in_the_order_it_was_given() {
    let f = fixture();
    let mut routed_out = Vec::new();
    for _ in 0..3 {
        let q = f
            .store
            .submit(new_question("Vraag", triage()))
            .unwrap()
            .question;
        let change = act(Action::Route {
            category: None,
            provider: Some(pid("vng")),
            expert: None,
        });
        f.store.apply(q.id, change).unwrap();
        routed_out.push(q.id);
    }
    let page = f.store.feedback(&PageRequest::default()).unwrap();
    let order: Vec<QuestionId> = page.items.iter().map(|fb| fb.question).collect();
    assert_eq!(order, routed_out);
}

#[test]
fn a_directory_of_a_newer_format_is_refused_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = sled::open(dir.path()).unwrap();
        db.insert(keys::FORMAT, &9u32.to_be_bytes()).unwrap();
        db.flush().unwrap();
    }
    let err =
        SledStore::open(dir.path(), StoreOptions::default(), Arc::new(SystemTime)).unwrap_err();
    assert!(matches!(err, StoreError::Format { found: 9, .. }), "{err}");
    assert!(err.to_string().contains("newer"), "{err}");
}

/// Answers question `id` (in progress) with a one-letter answer.
fn answer(store: &SledStore, id: QuestionId) {
    store
        .apply(
            id,
            act(Action::Answer {
                text: "a".into(),
                sources: vec![],
                review_after_ms: None,
            }),
        )
        .unwrap();
}

fn collect_all(store: &SledStore, filter: &ListFilter, size: usize) -> Vec<QuestionId> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let page = store.list(filter, &PageRequest { size, token }).unwrap();
        assert!(page.items.len() <= size);
        out.extend(page.items.iter().map(|q| q.id));
        match page.next_token {
            Some(t) => token = Some(t),
            None => return out,
        }
    }
}

#[test]
fn paging_over_thousands_of_questions_has_no_duplicates_or_gaps() {
    let f = fixture();
    let mut triaged = Vec::new();
    let mut all = Vec::new();
    for n in 0..2_500 {
        f.time.advance(1_000 + (n % 7) as i64);
        let decision = if n % 3 == 0 { triage() } else { routed() };
        let id = f
            .store
            .submit(new_question(&format!("vraag {n}"), decision))
            .unwrap()
            .question
            .id;
        all.push(id);
        if n % 3 == 0 {
            triaged.push(id);
        }
    }
    assert_eq!(collect_all(&f.store, &ListFilter::default(), 97), all);
    let by_status = ListFilter {
        status: Some(Status::Triage),
        ..ListFilter::default()
    };
    assert_eq!(collect_all(&f.store, &by_status, 50), triaged);
    let by_provider = ListFilter {
        assignee: Some(Assignee::Provider(pid("pianoo"))),
        ..ListFilter::default()
    };
    assert_eq!(
        collect_all(&f.store, &by_provider, 500).len(),
        2_500 - triaged.len()
    );
    let by_org = ListFilter {
        organization: Some("GEMEENTE zwolle".into()),
        ..ListFilter::default()
    };
    assert_eq!(collect_all(&f.store, &by_org, 333).len(), 2_500);
    // A page token of one listing is refused by another.
    let page = f
        .store
        .list(
            &ListFilter::default(),
            &PageRequest {
                size: 10,
                token: None,
            },
        )
        .unwrap();
    let err = f
        .store
        .list(
            &by_status,
            &PageRequest {
                size: 10,
                token: page.next_token,
            },
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::BadPageToken));
    // A submitted-time range.
    let from = f.store.get(all[100]).unwrap().submitted_ms;
    let to = f.store.get(all[200]).unwrap().submitted_ms;
    let range = ListFilter {
        submitted_from_ms: Some(from),
        submitted_to_ms: Some(to),
        ..ListFilter::default()
    };
    assert_eq!(collect_all(&f.store, &range, 30), all[100..200].to_vec());
}

#[test]
fn the_triage_queue_puts_important_and_old_questions_first() {
    let f = fixture();
    let mut small = new_question("small", triage());
    small.impact = 1;
    let small = f.store.submit(small).unwrap().question.id;
    f.time.advance(DAY);
    let mut big = new_question("big", triage());
    big.impact = 5;
    let big = f.store.submit(big).unwrap().question.id;
    let mut newer_small = new_question("newer small", triage());
    newer_small.impact = 1;
    let newer_small = f.store.submit(newer_small).unwrap().question.id;
    let page = f.store.triage_queue(&PageRequest::default()).unwrap();
    let order: Vec<_> = page.items.iter().map(|e| e.question.id).collect();
    assert_eq!(order, [big, small, newer_small]);
    // Four weeks later an old small question has risen above a new big one.
    f.time.advance(28 * DAY);
    let mut fresh = new_question("fresh big", triage());
    fresh.impact = 5;
    let fresh = f.store.submit(fresh).unwrap().question.id;
    let page = f.store.triage_queue(&PageRequest::default()).unwrap();
    let order: Vec<_> = page.items.iter().map(|e| e.question.id).collect();
    assert_eq!(order, [big, small, newer_small, fresh]);
    assert!(page.items[0].priority > page.items[3].priority);
    // Routing takes a question out of the queue.
    f.store
        .apply(
            big,
            act(Action::Route {
                category: None,
                provider: Some(pid("vng")),
                expert: None,
            }),
        )
        .unwrap();
    assert_eq!(
        f.store
            .triage_queue(&PageRequest::default())
            .unwrap()
            .items
            .len(),
        3
    );
    // And records the core team's choice as feedback.
    let fb = f.store.feedback(&PageRequest::default()).unwrap();
    assert_eq!(fb.items.len(), 1);
    assert_eq!(fb.items[0].proposed_provider, Some(pid("pianoo")));
    assert_eq!(fb.items[0].chosen_provider, Some(pid("vng")));
}

#[test]
fn a_question_back_in_triage_ages_from_its_return_not_its_submit() {
    let f = fixture();
    let old = f
        .store
        .submit(new_question("old", routed()))
        .unwrap()
        .question
        .id;
    f.time.advance(52 * 7 * DAY);
    let fresh = f
        .store
        .submit(new_question("fresh", triage()))
        .unwrap()
        .question
        .id;
    f.time.advance(HOUR);
    f.store.apply(old, act(Action::Decline)).unwrap();
    let page = f.store.triage_queue(&PageRequest::default()).unwrap();
    let order: Vec<_> = page.items.iter().map(|e| e.question.id).collect();
    // Same category and impact, an hour less in triage: the declined
    // question does not jump the queue by a year of points.
    assert_eq!(order, [fresh, old]);
    assert!((page.items[0].priority - page.items[1].priority).abs() < 0.01);
}

#[test]
fn a_duplicate_or_rejected_question_cannot_be_the_original() {
    let f = fixture();
    let a = f
        .store
        .submit(new_question("a", triage()))
        .unwrap()
        .question
        .id;
    let b = f
        .store
        .submit(new_question("b", triage()))
        .unwrap()
        .question
        .id;
    f.store
        .apply(a, act(Action::MarkDuplicate { original: b }))
        .unwrap();
    let err = f
        .store
        .apply(b, act(Action::MarkDuplicate { original: a }))
        .unwrap_err();
    assert!(err.to_string().contains("DUPLICATE"), "{err}");
    assert_eq!(f.store.get(b).unwrap().status, Status::Triage);
}

#[test]
fn answers_due_for_review_are_listed_by_review_date() {
    let f = fixture();
    let mut ids = Vec::new();
    for (n, review) in [
        (0, Some(30 * DAY)),
        (1, None),
        (2, Some(10 * DAY)),
        (3, Some(400 * DAY)),
    ] {
        let id = f
            .store
            .submit(new_question(&format!("q{n}"), routed()))
            .unwrap()
            .question
            .id;
        f.store.apply(id, act(Action::Accept)).unwrap();
        let answer = Action::Answer {
            text: "a".into(),
            sources: vec![],
            review_after_ms: review.map(|r| T0 + r),
        };
        f.store.apply(id, act(answer)).unwrap();
        ids.push(id);
    }
    let due = |at| {
        f.store
            .due_for_review(at, &PageRequest::default())
            .unwrap()
            .items
            .into_iter()
            .map(|q| q.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(due(T0 + 5 * DAY), Vec::<QuestionId>::new());
    assert_eq!(due(T0 + 31 * DAY), [ids[2], ids[0]]);
    // Closing keeps it due; reopening takes it off the list.
    f.store.apply(ids[2], act(Action::Close)).unwrap();
    f.store.apply(ids[0], act(Action::Reopen)).unwrap();
    assert_eq!(due(T0 + 31 * DAY), [ids[2]]);
}

/// hdrhistogram's quantile: the smallest recorded value with at least
/// `q` of the count at or below it, reported as the top of its bucket; so
/// compare with the tolerance of two significant digits (0.8 %).
fn brute_percentile(sorted: &[i64], q: f64) -> i64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn close(a: u64, b: i64) -> bool {
    let b = b as f64;
    (a as f64 - b).abs() <= b * 0.008 + 1.0
}

#[test]
fn lead_time_percentiles_match_brute_force_and_a_rebuild_from_history() {
    let f = fixture();
    let mut rng = crate::synth::SplitMix::new(7);
    let mut answer_times: Vec<i64> = Vec::new();
    let mut per_provider: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for n in 0..300 {
        f.time.set(T0 + n * 3 * HOUR);
        let provider = ["pianoo", "nvrd", "cirkelstad"][n as usize % 3];
        let mut q = new_question(
            "q",
            Decision::Route {
                provider: Some(pid(provider)),
                expert: None,
            },
        );
        q.classification.category = Some(Category::ALL[n as usize % 4]);
        let id = f.store.submit(q).unwrap().question.id;
        let start = f.time.now_ms();
        f.time.advance(HOUR * (1 + rng.below(48) as i64));
        f.store.apply(id, act(Action::Accept)).unwrap();
        let mut waited = 0;
        if n % 4 == 0 {
            f.store.apply(id, act(Action::WaitForAsker)).unwrap();
            let w = HOUR * (1 + rng.below(100) as i64);
            f.time.advance(w);
            waited = w;
            f.store.apply(id, act(Action::Resume)).unwrap();
        }
        f.time.advance(60_000 * (1 + rng.below(5_000) as i64));
        answer(&f.store, id);
        let total = f.time.now_ms() - start - waited;
        answer_times.push(total);
        per_provider
            .entry(provider.to_string())
            .or_default()
            .push(total);
    }
    answer_times.sort_unstable();
    let query = |group_by| LeadTimeQuery {
        metric: Metric::TimeToAnswer,
        clock: Clock::Calendar,
        group_by,
        from_month: 202601,
        to_month: 202612,
    };
    let check = |store: &SledStore| {
        for group_by in [
            Dimension::All,
            Dimension::Month,
            Dimension::Category,
            Dimension::Provider,
            Dimension::Expert,
            Dimension::OrganizationType,
        ] {
            assert_eq!(
                store.lead_times(&query(group_by)).unwrap(),
                store.lead_time_groups(&query(group_by)).unwrap(),
                "the counters in memory answer as the stored ones, by {group_by:?}"
            );
        }
        let all = store.lead_times(&query(Dimension::All)).unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].count, 300);
        for (q, got) in [
            (0.5, all[0].p50_ms),
            (0.9, all[0].p90_ms),
            (0.99, all[0].p99_ms),
        ] {
            let want = brute_percentile(&answer_times, q);
            assert!(close(got, want), "p{q}: got {got}, brute force {want}");
        }
        let providers = store.lead_times(&query(Dimension::Provider)).unwrap();
        assert_eq!(providers.len(), 3);
        for g in providers {
            let mut v = per_provider[&g.group].clone();
            v.sort_unstable();
            assert_eq!(g.count as usize, v.len());
            assert!(
                close(g.p90_ms, brute_percentile(&v, 0.9)),
                "{}: {} vs {}",
                g.group,
                g.p90_ms,
                brute_percentile(&v, 0.9)
            );
        }
        let months: u64 = store
            .lead_times(&query(Dimension::Month))
            .unwrap()
            .iter()
            .map(|g| g.count)
            .sum();
        assert_eq!(months, 300);
    };
    check(&f.store);
    let before = f.store.lead_times(&query(Dimension::Category)).unwrap();
    assert_eq!(f.store.rebuild_lead_times().unwrap(), 300);
    check(&f.store);
    assert_eq!(
        f.store.lead_times(&query(Dimension::Category)).unwrap(),
        before
    );
    // Auto-routed at submit: time to route is zero for all 300.
    let route = f
        .store
        .lead_times(&LeadTimeQuery {
            metric: Metric::TimeToRoute,
            ..query(Dimension::All)
        })
        .unwrap();
    assert_eq!((route[0].count, route[0].p99_ms), (300, 0));
    // Working hours never exceed calendar time.
    let work = f
        .store
        .lead_times(&LeadTimeQuery {
            clock: Clock::WorkingHours,
            ..query(Dimension::All)
        })
        .unwrap();
    assert!(work[0].p50_ms <= f.store.lead_times(&query(Dimension::All)).unwrap()[0].p50_ms);
    // A month range outside the data has no groups.
    assert!(f
        .store
        .lead_times(&LeadTimeQuery {
            from_month: 202701,
            to_month: 202712,
            ..query(Dimension::All)
        })
        .unwrap()
        .is_empty());
}

#[test]
fn open_questions_are_counted_per_status_with_their_age() {
    let f = fixture();
    f.store.submit(new_question("a", triage())).unwrap();
    f.time.advance(2 * DAY);
    f.store.submit(new_question("b", triage())).unwrap();
    f.store.submit(new_question("c", routed())).unwrap();
    f.time.advance(DAY);
    let ages = f.store.open_ages().unwrap();
    let triage = ages.iter().find(|a| a.status == Status::Triage).unwrap();
    assert_eq!((triage.count, triage.oldest_ms), (2, 3 * DAY));
    assert_eq!(
        ages.iter()
            .find(|a| a.status == Status::Routed)
            .unwrap()
            .count,
        1
    );
}

#[test]
fn the_cheap_open_counts_agree_with_the_ages() {
    let f = fixture();
    let start = f.time.now_ms();
    f.store.submit(new_question("a", triage())).unwrap();
    f.time.advance(2 * DAY);
    f.store.submit(new_question("b", triage())).unwrap();
    f.store.submit(new_question("c", routed())).unwrap();
    f.time.advance(DAY);
    let now = f.time.now_ms();
    let counts = f.store.open_counts(now).unwrap();
    // What the trait's default derives from the ages, status by status.
    for age in f.store.open_ages().unwrap() {
        if age.category.is_some() {
            continue;
        }
        let c = counts.iter().find(|c| c.status == age.status).unwrap();
        assert_eq!(c.count, age.count);
        if age.count > 0 {
            assert_eq!(c.oldest_submitted_ms, Some(now - age.oldest_ms));
        }
    }
    let triage = counts.iter().find(|c| c.status == Status::Triage).unwrap();
    assert_eq!((triage.count, triage.oldest_submitted_ms), (2, Some(start)));
    let waiting = counts.iter().find(|c| c.status == Status::Waiting).unwrap();
    assert_eq!((waiting.count, waiting.oldest_submitted_ms), (0, None));
}

#[test]
fn experts_are_stored_validated_and_removed() {
    let f = fixture();
    let record: ExpertRecord =
        serde_json::from_str(r#"{"id":"anna","name":"Anna","themes":["waste"]}"#).unwrap();
    f.store.put_expert(&record).unwrap();
    assert_eq!(f.store.experts().unwrap().len(), 1);
    let bad: ExpertRecord =
        serde_json::from_str(r#"{"id":"Bad Id","name":"X","themes":["waste"]}"#).unwrap();
    assert!(matches!(
        f.store.put_expert(&bad),
        Err(StoreError::Invalid(_))
    ));
    assert!(f
        .store
        .delete_expert(&ExpertId::parse("anna").unwrap())
        .unwrap());
    assert!(f.store.experts().unwrap().is_empty());
}

// ---- The state machine against a model ------------------------------------

#[derive(Debug, Clone)]
enum Op {
    Submit {
        triage: bool,
    },
    Act {
        which: usize,
        action: usize,
        stale: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => any::<bool>().prop_map(|triage| Op::Submit { triage }),
        4 => (0usize..6, 0usize..11, proptest::bool::weighted(0.15))
            .prop_map(|(which, action, stale)| Op::Act { which, action, stale }),
    ]
}

fn action_of(n: usize, original: QuestionId) -> Action {
    match ActionKind::ALL[n] {
        ActionKind::Route => Action::Route {
            category: None,
            provider: Some(pid("nvrd")),
            expert: None,
        },
        ActionKind::Triage => Action::Triage,
        ActionKind::Reject => Action::Reject,
        ActionKind::MarkDuplicate => Action::MarkDuplicate { original },
        ActionKind::Accept => Action::Accept,
        ActionKind::Decline => Action::Decline,
        ActionKind::WaitForAsker => Action::WaitForAsker,
        ActionKind::Resume => Action::Resume,
        ActionKind::Answer => Action::Answer {
            text: "a".into(),
            sources: vec![],
            review_after_ms: None,
        },
        ActionKind::Close => Action::Close,
        ActionKind::Reopen => Action::Reopen,
        // Not generated (0..11 above): reviews go through review_answer.
        ActionKind::ReviewAnswer => unreachable!("a review is not a transition"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn random_operations_agree_with_a_simple_model(ops in proptest::collection::vec(op(), 1..60)) {
        let f = fixture();
        // The model: per question, its status, version and history length.
        let mut model: Vec<(QuestionId, Status, u64, usize)> = Vec::new();
        for o in ops {
            f.time.advance(60_000);
            match o {
                Op::Submit { triage: t } => {
                    let s = f.store.submit(new_question("q", if t { triage() } else { routed() })).unwrap();
                    let status = if t { Status::Triage } else { Status::Routed };
                    model.push((s.question.id, status, 1, 2));
                }
                Op::Act { which, action, stale } => {
                    if model.is_empty() { continue; }
                    let i = which % model.len();
                    let (id, status, version, events) = model[i];
                    let original = model[0].0;
                    let action = action_of(action, original);
                    let kind = action.kind();
                    let mut change = act(action);
                    change.expected_version = Some(if stale { version.saturating_sub(1) } else { version });
                    let result = f.store.apply(id, change);
                    let self_duplicate = kind == ActionKind::MarkDuplicate && original == id;
                    // A duplicate or rejected question cannot be an original.
                    let final_original = kind == ActionKind::MarkDuplicate
                        && matches!(model[0].1, Status::Duplicate | Status::Rejected);
                    match kind.target_from(status) {
                        _ if self_duplicate => prop_assert!(matches!(result, Err(StoreError::Invalid(_)))),
                        Some(_) if stale && version > 0 => {
                            prop_assert!(matches!(result, Err(StoreError::Stale { .. })), "{result:?}")
                        }
                        Some(_) if final_original => {
                            prop_assert!(matches!(result, Err(StoreError::Invalid(_))), "{result:?}")
                        }
                        Some(to) => {
                            let q = result.unwrap();
                            prop_assert_eq!(q.status, to);
                            prop_assert_eq!(q.version, version + 1);
                            model[i] = (id, to, version + 1, events + 1);
                        }
                        None if stale => prop_assert!(result.is_err()),
                        None => prop_assert_eq!(result.unwrap_err().current_status(), Some(status)),
                    }
                }
            }
        }
        for (id, status, version, events) in model {
            let q = f.store.get(id).unwrap();
            prop_assert_eq!((q.status, q.version), (status, version));
            let history = f.store.history(id).unwrap();
            prop_assert_eq!(history.len(), events);
            prop_assert_eq!(history.last().map(|e| e.to), Some(status));
            // Exactly the index entries of its state exist.
            let by_status = ListFilter { status: Some(status), ..ListFilter::default() };
            prop_assert!(collect_all(&f.store, &by_status, 100).contains(&id));
        }
    }
}

#[test]
fn request_ids_are_scoped_by_portal() {
    let f = fixture();
    let mut a = new_question("vraag van a", routed());
    a.portal = "portal-a".into();
    a.request_id = Some("req-1".into());
    let mut b = a.clone();
    b.portal = "portal-b".into();
    b.text = "vraag van b".into();
    let first = f.store.submit(a.clone()).unwrap();
    let other = f.store.submit(b).unwrap();
    assert!(
        first.created && other.created,
        "another portal's id is its own"
    );
    assert_ne!(first.question.id, other.question.id);
    let again = f.store.submit(a).unwrap();
    assert!(!again.created);
    assert_eq!(again.question.id, first.question.id);
}

#[test]
fn a_portal_lists_only_its_own_questions() {
    let f = fixture();
    for (portal, n) in [("portal-a", 3), ("portal-b", 2), ("", 1)] {
        for i in 0..n {
            let mut q = new_question(&format!("vraag {portal} {i}"), routed());
            q.portal = portal.into();
            f.store.submit(q).unwrap();
        }
    }
    let listed = |portal: &str| {
        f.store
            .list(
                &ListFilter {
                    portal: Some(portal.into()),
                    ..ListFilter::default()
                },
                &PageRequest::default(),
            )
            .unwrap()
            .items
    };
    assert_eq!(listed("portal-a").len(), 3);
    assert!(listed("portal-b").iter().all(|q| q.portal == "portal-b"));
    assert_eq!(listed("portal-b").len(), 2);
    assert!(listed("portal-c").is_empty());
}

#[test]
fn a_format_1_store_is_upgraded_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let time: Arc<dyn TimeSource> = Arc::new(ManualTime::new(T0));
    let id = {
        let store = SledStore::open(dir.path(), StoreOptions::default(), time.clone()).unwrap();
        let mut q = new_question("vraag", routed());
        q.portal = "portal-a".into();
        q.request_id = Some("req-1".into());
        let id = store.submit(q).unwrap().question.id;
        // Make it look as format 1 wrote it: format 3's layout without a
        // portal index, and an unscoped request id.
        let db = &store.db;
        make_format_3(db);
        let scoped = keys::request("portal-a", "req-1");
        let value = db.remove(&scoped).unwrap().unwrap();
        db.insert(keys::request("", "req-1"), value).unwrap();
        db.insert(keys::FORMAT, &1u32.to_be_bytes()).unwrap();
        db.flush().unwrap();
        id
    };
    let store = SledStore::open(dir.path(), StoreOptions::default(), time).unwrap();
    let listed = store
        .list(
            &ListFilter {
                portal: Some("portal-a".into()),
                ..ListFilter::default()
            },
            &PageRequest::default(),
        )
        .unwrap();
    assert_eq!(listed.items.len(), 1);
    let mut q = new_question("herhaald", routed());
    q.portal = "portal-a".into();
    q.request_id = Some("req-1".into());
    let again = store.submit(q).unwrap();
    assert!(!again.created, "the request id still finds its question");
    assert_eq!(again.question.id, id);
    assert_eq!(
        store.db.get(keys::FORMAT).unwrap().unwrap().as_ref(),
        &FORMAT.to_be_bytes()
    );
}

#[test]
fn a_format_2_store_gets_its_lead_time_counters_recomputed_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let time = Arc::new(ManualTime::new(T0));
    let query = LeadTimeQuery {
        metric: Metric::TimeToAnswer,
        clock: Clock::Calendar,
        group_by: Dimension::All,
        from_month: 202601,
        to_month: 202612,
    };
    let before = {
        let store = SledStore::open(dir.path(), StoreOptions::default(), time.clone()).unwrap();
        for n in 0..20 {
            let id = store
                .submit(new_question(&format!("vraag {n}"), routed()))
                .unwrap()
                .question
                .id;
            time.advance(HOUR * (1 + n));
            store.apply(id, act(Action::Accept)).unwrap();
            time.advance(HOUR * (3 + n * n));
            answer(&store, id);
        }
        let before = store.lead_times(&query).unwrap();
        // What format 2 left behind: counters at other buckets.
        let db = &store.db;
        let counters: Vec<_> = db
            .scan_prefix([keys::HISTOGRAM])
            .map(|e| e.unwrap().0)
            .collect();
        for k in counters {
            let mut moved = k.to_vec();
            *moved.last_mut().unwrap() ^= 1;
            db.remove(&k).unwrap();
            db.insert(moved, &keys::number(1)).unwrap();
        }
        make_format_3(db);
        db.insert(keys::FORMAT, &2u32.to_be_bytes()).unwrap();
        db.flush().unwrap();
        before
    };
    let store = reopen(dir.path(), time);
    assert_eq!(store.lead_times(&query).unwrap(), before);
    assert_eq!(
        store.db.get(keys::FORMAT).unwrap().unwrap().as_ref(),
        &FORMAT.to_be_bytes()
    );
}

/// Rewrites a store of this build into the layout of format 3: each
/// event under its own key, no catalog, and the old index keys (by status
/// and by time: enough to see the upgrade remove them).
fn make_format_3(db: &sled::Db) {
    let records: Vec<_> = db
        .scan_prefix([keys::QUESTION])
        .map(|e| e.unwrap())
        .collect();
    for (k, v) in records {
        let q: Question = serde_json::from_slice(record::head(&v)).unwrap();
        for e in record::events(&k, &v).unwrap() {
            let mut key = k.to_vec();
            key[0] = keys::LEGACY_EVENT;
            key.extend_from_slice(&e.seq.to_be_bytes());
            db.insert(key, serde_json::to_vec(&e).unwrap()).unwrap();
        }
        db.insert(&k, record::head(&v)).unwrap();
        for tag in [b's', b't'] {
            let mut key = vec![tag];
            key.extend_from_slice(&keys::time(q.submitted_ms));
            key.extend_from_slice(&q.id.get().to_be_bytes());
            db.insert(key, &[]).unwrap();
        }
    }
    // Neither the catalog nor its dictionary existed: the upgrade hands
    // out every code afresh.
    let mut format_4: Vec<_> = db
        .scan_prefix([keys::CATALOG])
        .chain(db.scan_prefix([keys::NAME]))
        .chain(db.scan_prefix(b"M#name-"))
        .map(|e| e.unwrap().0)
        .collect();
    assert!(!format_4.is_empty());
    for k in format_4.drain(..) {
        db.remove(k).unwrap();
    }
    db.insert(keys::FORMAT, &3u32.to_be_bytes()).unwrap();
}

/// Everything a client can read of a store, for comparing two.
fn everything(store: &SledStore) -> Vec<String> {
    let mut out = Vec::new();
    let filters = [
        ListFilter::default(),
        ListFilter {
            status: Some(Status::Triage),
            ..ListFilter::default()
        },
        ListFilter {
            status: Some(Status::Answered),
            category: Some(Category::Execution),
            ..ListFilter::default()
        },
        ListFilter {
            organization: Some("GEMEENTE UTRECHT".into()),
            ..ListFilter::default()
        },
    ];
    for filter in &filters {
        out.push(format!("{:?}", collect_all(store, filter, 7)));
    }
    for q in store
        .list(
            &ListFilter::default(),
            &PageRequest {
                size: 500,
                token: None,
            },
        )
        .unwrap()
        .items
    {
        out.push(format!("{q:?}"));
        out.push(format!("{:?}", store.history(q.id).unwrap()));
    }
    let queue = store
        .triage_queue(&PageRequest {
            size: 500,
            token: None,
        })
        .unwrap();
    out.push(format!("{:?}", queue.items));
    out.push(format!("{:?}", store.open_ages().unwrap()));
    out
}

#[test]
fn a_format_3_store_is_upgraded_to_records_with_their_events_and_a_catalog() {
    let dir = tempfile::tempdir().unwrap();
    let time = Arc::new(ManualTime::new(T0));
    let before = {
        let store = SledStore::open(dir.path(), StoreOptions::default(), time.clone()).unwrap();
        for n in 0..150_i64 {
            time.advance(HOUR);
            let decision = if n % 3 == 0 { triage() } else { routed() };
            let mut q = new_question(&format!("vraag {n}"), decision);
            if n % 4 == 0 {
                q.organization_name = "Gemeente Utrecht".into();
            }
            let id = store.submit(q).unwrap().question.id;
            if n % 3 == 1 {
                store.apply(id, act(Action::Accept)).unwrap();
                answer(&store, id);
            }
        }
        let before = everything(&store);
        make_format_3(&store.db);
        store.db.flush().unwrap();
        before
    };
    let store = reopen(dir.path(), time.clone());
    assert_eq!(everything(&store), before);
    assert_eq!(store.db.get(keys::UPGRADING).unwrap(), None);
    for prefix in keys::LEGACY_INDEXES.iter().chain([&keys::LEGACY_EVENT]) {
        assert_eq!(
            store.db.scan_prefix([*prefix]).count(),
            0,
            "keys left under {}",
            *prefix as char
        );
    }
    assert_eq!(
        store.db.get(keys::FORMAT).unwrap().unwrap().as_ref(),
        &FORMAT.to_be_bytes()
    );
    drop(store);
    let store = reopen(dir.path(), time);
    assert_eq!(everything(&store), before, "a second open changes nothing");
    // And it keeps working: a change after the upgrade appends its event
    // to the moved history, and the catalog follows.
    let routed = ListFilter {
        status: Some(Status::Routed),
        ..ListFilter::default()
    };
    let first = store.list(&routed, &PageRequest::default()).unwrap().items[0].clone();
    let n = store.history(first.id).unwrap().len();
    store.apply(first.id, act(Action::Accept)).unwrap();
    let history = store.history(first.id).unwrap();
    assert_eq!(history.len(), n + 1);
    assert_eq!(history.last().unwrap().to, Status::InProgress);
    assert_eq!(
        store.event(first.id, n as u32).unwrap().as_ref(),
        history.last()
    );
    assert!(!collect_all(&store, &routed, 50).contains(&first.id));
}

#[test]
fn an_upgrade_that_stopped_half_way_goes_on_and_is_refused_as_newer_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let time = Arc::new(ManualTime::new(T0));
    let before = {
        let store = SledStore::open(dir.path(), StoreOptions::default(), time.clone()).unwrap();
        for n in 0..40 {
            time.advance(HOUR);
            let id = store
                .submit(new_question(&format!("vraag {n}"), routed()))
                .unwrap()
                .question
                .id;
            store.apply(id, act(Action::Accept)).unwrap();
        }
        let before = everything(&store);
        make_format_3(&store.db);
        // What `begin` leaves, then half of the events moved (as if the
        // upgrade stopped there): records and event keys of a few questions
        // already in format 4, the rest still in format 3.
        let db = &store.db;
        db.insert(keys::UPGRADING, &3u32.to_be_bytes()).unwrap();
        db.insert(keys::FORMAT, &FORMAT.to_be_bytes()).unwrap();
        let first: Vec<_> = db
            .scan_prefix([keys::LEGACY_EVENT])
            .take(10)
            .map(|e| e.unwrap())
            .collect();
        let id = QuestionId::new(keys::record_number(&first[0].0).unwrap());
        let value = db.get(keys::question(id)).unwrap().unwrap();
        let q: Question = serde_json::from_slice(record::head(&value)).unwrap();
        let events: Vec<Event> = first
            .iter()
            .filter(|(k, _)| keys::record_number(k) == Some(id.get()))
            .map(|(_, v)| serde_json::from_slice(v).unwrap())
            .collect();
        db.insert(
            keys::question(id),
            record::encode(&q, &[], &events).unwrap(),
        )
        .unwrap();
        for (k, _) in first
            .iter()
            .filter(|(k, _)| keys::record_number(k) == Some(id.get()))
        {
            db.remove(k).unwrap();
        }
        db.flush().unwrap();
        before
    };
    // An older build reads the marker: this build's format, so newer.
    {
        let db = sled::open(dir.path()).unwrap();
        let format = db.get(keys::FORMAT).unwrap().unwrap();
        assert_eq!(format.as_ref(), &FORMAT.to_be_bytes());
    }
    let store = reopen(dir.path(), time);
    assert_eq!(everything(&store), before);
    assert_eq!(store.db.get(keys::UPGRADING).unwrap(), None);
    assert_eq!(store.db.scan_prefix([keys::LEGACY_EVENT]).count(), 0);
}

#[test]
fn a_brief_is_the_stored_question_without_its_classification() {
    let f = fixture();
    let mut q = new_question("Hoe kopen we circulair in?", routed());
    q.portal = "portal-a".into();
    let id = f.store.submit(q).unwrap().question.id;
    let full = f.store.get(id).unwrap();
    assert_eq!(f.store.brief(id).unwrap(), QuestionBrief::from(&full));
    assert!(matches!(
        f.store.brief(QuestionId::new(999)),
        Err(StoreError::NotFound(_))
    ));
}
