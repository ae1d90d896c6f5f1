use super::*;
use crate::domain::input::{AnswerText, OrganizationName, QuestionText};
use crate::domain::{
    Category, ExpertId, ExpertRecord, OrganizationType, ProviderId, ProviderRecord, Province,
    Status,
};
use crate::store::{ManualTime, PageRequest, Question, QuestionId, SledStore, StoreOptions};

/// Monday 2 March 2026, 09:00 in Amsterdam.
const START: i64 = 1_772_438_400_000;

struct Fixture {
    service: Service,
    time: Arc<ManualTime>,
    _dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let time = Arc::new(ManualTime::new(START));
    let store = SledStore::open(
        dir.path(),
        StoreOptions {
            durable: false,
            ..StoreOptions::default()
        },
        time.clone(),
    )
    .unwrap();
    let taxonomy = Taxonomy::embedded(&Analyzer::new()).unwrap();
    let service = Service::open(
        taxonomy,
        Arc::new(store),
        time.clone(),
        RoutingPolicy::default(),
    )
    .unwrap();
    Fixture {
        service,
        time,
        _dir: dir,
    }
}

pub(super) fn submission(text: &str) -> Submission {
    Submission {
        text: QuestionText::parse(text).unwrap(),
        organization_name: OrganizationName::parse("Gemeente Zwolle").unwrap(),
        organization_type: OrganizationType::Gemeente,
        region: Some(Province::Overijssel),
        portal: None,
        request_id: None,
        impact: 3,
        effort: 3,
        actor: Default::default(),
    }
}

fn expert(id: &str, terms: &[&str]) -> ExpertRecord {
    serde_json::from_value(serde_json::json!({
        "id": id, "name": id, "expertise": terms,
    }))
    .unwrap()
}

const CLEAR: &str = "Hoe halen we onze circulaire-inkoopdoelstellingen? Welke criteria gebruiken we bij aanbestedingen?";

#[test]
fn a_confident_question_is_routed_and_a_vague_one_waits_in_triage_with_a_reason() {
    let f = fixture();
    let routed = f.service.submit(submission(CLEAR)).unwrap();
    assert_eq!(routed.question.status, Status::Routed);
    assert!(routed.question.provider.is_some());
    assert!(routed.classification.is_some());
    let vague = f
        .service
        .submit(submission("Wat is het eigenlijk?"))
        .unwrap();
    assert_eq!(vague.question.status, Status::Triage);
    assert!(vague
        .question
        .triage_reason
        .unwrap()
        .contains("no evidence"));
}

#[test]
fn the_policy_sends_uncertain_categories_to_triage() {
    let f = fixture();
    let text = QuestionText::parse(CLEAR).unwrap();
    let mut c = f
        .service
        .classify(&text, Some(OrganizationType::Gemeente), None);
    let strict = RoutingPolicy {
        min_confidence: 1.0,
        ..RoutingPolicy::default()
    };
    match strict.decide(&c) {
        crate::store::Decision::Triage { reason } => {
            assert!(reason.contains("uncertain"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    c.providers.clear();
    match RoutingPolicy::default().decide(&c) {
        crate::store::Decision::Triage { reason } => {
            assert!(reason.contains("no provider"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    assert!(RoutingPolicy {
        min_confidence: 1.5,
        ..RoutingPolicy::default()
    }
    .check()
    .is_err());
}

#[test]
fn submits_and_changes_are_announced_to_subscribers_in_order() {
    let f = fixture();
    let mut rx = f.service.subscribe();
    let q = f.service.submit(submission(CLEAR)).unwrap().question;
    f.service
        .act(q.id, Lifecycle::Accept, Request::default())
        .unwrap();
    let statuses: Vec<Status> = (0..3).map(|_| rx.try_recv().unwrap().to).collect();
    assert_eq!(
        statuses,
        [Status::Received, Status::Routed, Status::InProgress]
    );
    assert!(rx.try_recv().is_err());
}

#[test]
fn reject_and_decline_need_a_reason_and_nothing_is_written_without_one() {
    let f = fixture();
    let q = f.service.submit(submission(CLEAR)).unwrap().question;
    let err = f
        .service
        .act(q.id, Lifecycle::Decline, Request::default())
        .unwrap_err();
    assert!(matches!(err, ServiceError::Invalid(_)), "{err}");
    assert_eq!(f.service.get(q.id).unwrap().version, q.version);
}

#[test]
fn a_question_cannot_duplicate_itself_or_a_missing_one() {
    let f = fixture();
    let q = f
        .service
        .submit(submission("Wat is het eigenlijk?"))
        .unwrap()
        .question;
    assert!(matches!(
        f.service
            .act(q.id, Lifecycle::MarkDuplicate(q.id), Request::default()),
        Err(ServiceError::Invalid(_))
    ));
    assert!(matches!(
        f.service.act(
            q.id,
            Lifecycle::MarkDuplicate(QuestionId::new(99)),
            Request::default()
        ),
        Err(ServiceError::NotFound { .. })
    ));
}

#[test]
fn experts_are_created_once_updated_when_present_and_paged_by_id() {
    let f = fixture();
    for id in ["b", "a", "c"] {
        f.service
            .put_expert(expert(id, &["textiel"]), true)
            .unwrap();
    }
    assert!(matches!(
        f.service.put_expert(expert("a", &["hout"]), true),
        Err(ServiceError::AlreadyExists { .. })
    ));
    assert!(matches!(
        f.service.put_expert(expert("zz", &["hout"]), false),
        Err(ServiceError::NotFound { .. })
    ));
    let (page, next) = f.service.experts(None, 2).unwrap();
    assert_eq!(
        page.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
        ["a", "b"]
    );
    let (rest, end) = f.service.experts(next.as_deref(), 2).unwrap();
    assert_eq!(
        rest.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
        ["c"]
    );
    assert_eq!(end, None);
}

#[test]
fn an_import_with_one_bad_record_stores_none_of_them() {
    let f = fixture();
    let mut bad = expert("bad", &["hout"]);
    bad.themes = vec!["no-such-theme".into()];
    let err = f
        .service
        .import_experts(vec![expert("good", &["hout"]), bad])
        .unwrap_err();
    assert!(err.to_string().contains("expert 2 of the import"), "{err}");
    assert!(f.service.experts(None, 10).unwrap().0.is_empty());
    let (created, updated, _) = f
        .service
        .import_experts(vec![expert("good", &["hout"])])
        .unwrap();
    assert_eq!((created, updated), (1, 0));
    let (created, updated, _) = f
        .service
        .import_experts(vec![expert("good", &["hout"]), expert("new", &["glas"])])
        .unwrap();
    assert_eq!((created, updated), (1, 1));
}

#[test]
fn provider_changes_survive_a_restart_of_the_service() {
    let dir = tempfile::tempdir().unwrap();
    let time = Arc::new(ManualTime::new(START));
    let open = || {
        let store = SledStore::open(dir.path(), StoreOptions::default(), time.clone()).unwrap();
        let taxonomy = Taxonomy::embedded(&Analyzer::new()).unwrap();
        Service::open(
            taxonomy,
            Arc::new(store),
            time.clone(),
            RoutingPolicy::default(),
        )
        .unwrap()
    };
    let record = ProviderRecord {
        id: "matras-collectief".into(),
        name: "Matras Collectief".into(),
        description: String::new(),
        themes: vec![],
        categories: vec![],
        serves: vec![],
        regions: vec![],
        terms: [("matrassen".to_string(), 3.0)].into_iter().collect(),
    };
    {
        let s = open();
        s.put_provider(record, true).unwrap();
        s.delete_provider("vng").unwrap();
    }
    let s = open();
    assert!(s.provider("matras-collectief").is_ok());
    assert!(matches!(
        s.provider("vng"),
        Err(ServiceError::NotFound { .. })
    ));
}

#[test]
fn the_default_lead_time_range_is_the_last_twelve_months() {
    let f = fixture();
    assert_eq!(f.service.last_twelve_months(), (202504, 202603));
    f.time.set(1_798_761_600_000); // 2027-01-01 01:00 Amsterdam
    assert_eq!(f.service.last_twelve_months(), (202602, 202701));
}

#[test]
fn similar_questions_are_found_again_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let time = Arc::new(ManualTime::new(START));
    let open = || {
        let store = SledStore::open(dir.path(), StoreOptions::default(), time.clone()).unwrap();
        let taxonomy = Taxonomy::embedded(&Analyzer::new()).unwrap();
        Service::open(
            taxonomy,
            Arc::new(store),
            time.clone(),
            RoutingPolicy::default(),
        )
        .unwrap()
    };
    let id = {
        let s = open();
        s.submit(submission("Hoe zamelen we oude matrassen gescheiden in?"))
            .unwrap()
            .question
            .id
    };
    let s = open();
    let found = s
        .find_similar(
            Some(&QuestionText::parse("Matrassen gescheiden inzamelen: hoe?").unwrap()),
            None,
            3,
        )
        .unwrap();
    assert_eq!(found.first().map(|x| x.question.id), Some(id));
    assert!(matches!(
        s.find_similar(None, None, 3),
        Err(ServiceError::Invalid(_))
    ));
}

fn answered(f: &Fixture, text: &str) -> Question {
    let q = f.service.submit(submission(text)).unwrap().question;
    let q = if q.status == Status::Triage {
        f.service
            .act(
                q.id,
                Lifecycle::Route {
                    category: None,
                    provider: Some(ProviderId::parse("vng").unwrap()),
                    expert: None,
                },
                Request::default(),
            )
            .unwrap()
    } else {
        q
    };
    f.service
        .act(q.id, Lifecycle::Accept, Request::default())
        .unwrap();
    f.service
        .act(
            q.id,
            Lifecycle::Answer {
                text: AnswerText::parse("Zo doe je dat.").unwrap(),
                sources: vec![],
                review_after_ms: None,
            },
            Request::default(),
        )
        .unwrap()
}

const MONTH: i64 = 30 * 86_400_000;

#[test]
fn answers_get_the_review_period_of_their_fastest_changing_theme() {
    let f = fixture();
    // Funding (12 months) ages faster than the 24 months of most themes.
    let funding = answered(
        &f,
        "Welke subsidie of financiering is er voor circulaire projecten van de gemeente?",
    );
    let review = funding.answer.unwrap().review_after_ms.unwrap();
    assert!(
        funding
            .classification
            .themes
            .iter()
            .any(|t| t.as_str() == "funding"),
        "{:?}",
        funding.classification.themes
    );
    assert!(
        (review - START - 12 * MONTH).abs() < 6 * 86_400_000,
        "{}",
        (review - START) / 86_400_000
    );
    let vague = answered(&f, "Wat is het eigenlijk?");
    let review = vague.answer.unwrap().review_after_ms.unwrap();
    assert!((review - START - i64::from(DEFAULT_REVIEW_MONTHS) * MONTH).abs() < 15 * 86_400_000);
}

#[test]
fn due_answers_are_listed_and_confirming_or_replacing_them_is_history() {
    let f = fixture();
    let q = answered(
        &f,
        "Welke subsidie of financiering is er voor circulaire projecten van de gemeente?",
    );
    assert!(f
        .service
        .due_for_review(None, &PageRequest::default())
        .unwrap()
        .items
        .is_empty());
    f.time.advance(13 * MONTH);
    let due = f
        .service
        .due_for_review(None, &PageRequest::default())
        .unwrap()
        .items;
    assert_eq!(due.iter().map(|d| d.id).collect::<Vec<_>>(), vec![q.id]);

    let confirmed = f
        .service
        .review_answer(q.id, None, None, Request::default())
        .unwrap();
    assert_eq!(confirmed.status, Status::Answered);
    assert_eq!(confirmed.answer.as_ref().unwrap().text, "Zo doe je dat.");
    assert!(f
        .service
        .due_for_review(None, &PageRequest::default())
        .unwrap()
        .items
        .is_empty());

    let replaced = f
        .service
        .review_answer(
            q.id,
            Some((
                AnswerText::parse("Nieuwe regeling sinds 2027.").unwrap(),
                vec![],
            )),
            None,
            Request::default(),
        )
        .unwrap();
    assert_eq!(
        replaced.answer.as_ref().unwrap().text,
        "Nieuwe regeling sinds 2027."
    );
    let history = f.service.history(q.id).unwrap();
    let reasons: Vec<String> = history
        .iter()
        .rev()
        .take(2)
        .filter_map(|e| e.reason.clone())
        .collect();
    assert_eq!(reasons, ["answer replaced", "answer confirmed"]);
    assert!(history
        .last()
        .unwrap()
        .changes
        .iter()
        .any(|c| c.field == "answer"));

    let open = f
        .service
        .submit(submission("Wat is het eigenlijk?"))
        .unwrap()
        .question;
    assert!(matches!(
        f.service
            .review_answer(open.id, None, None, Request::default()),
        Err(ServiceError::Store(StoreError::NotAnswered { .. }))
    ));
}

fn matras_expert(id: &str, capacity: u32, absences: serde_json::Value) -> ExpertRecord {
    serde_json::from_value(serde_json::json!({
        "id": id, "name": id, "capacity": capacity,
        "expertise": {"matrassen": 5.0, "matrasrecycling": 5.0},
        "absences": absences,
    }))
    .unwrap()
}

const MATRAS: &str =
    "Wie weet hoe we matrassen inzamelen en matrasrecycling regelen voor de gemeente?";

#[test]
fn concurrent_submits_never_fill_an_expert_beyond_capacity_and_spread_the_work() {
    let f = Arc::new(fixture());
    f.service
        .put_expert(matras_expert("mira", 3, serde_json::json!([])), true)
        .unwrap();
    f.service
        .put_expert(matras_expert("jan", 3, serde_json::json!([])), true)
        .unwrap();
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let f = f.clone();
            std::thread::spawn(move || {
                (0..4)
                    .map(|_| f.service.submit(submission(MATRAS)).unwrap().question)
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let all: Vec<Question> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    assert!(
        all.iter().all(|q| q.status == Status::Routed),
        "{:?}",
        all.iter().map(|q| &q.triage_reason).collect::<Vec<_>>()
    );
    let to = |e: &str| {
        all.iter()
            .filter(|q| q.expert.as_ref().is_some_and(|x| x.as_str() == e))
            .count()
    };
    assert_eq!(
        (to("mira"), to("jan")),
        (3, 3),
        "both filled to capacity, no further"
    );
    assert!(
        all.iter()
            .filter(|q| q.expert.is_none())
            .all(|q| q.provider.is_some()),
        "the rest went to the provider"
    );
    let mira = ExpertId::parse("mira").unwrap();
    assert_eq!(f.service.open_for(&mira), 3);

    // Giving one back frees a place; the next question takes it.
    let held = all
        .iter()
        .find(|q| q.expert.as_ref() == Some(&mira))
        .unwrap();
    f.service
        .act(held.id, Lifecycle::Accept, Request::default())
        .unwrap();
    assert_eq!(f.service.open_for(&mira), 3, "accepting keeps it open");
    f.service
        .act(
            held.id,
            Lifecycle::Decline,
            Request {
                reason: Some(crate::domain::input::Reason::parse("te druk").unwrap()),
                ..Request::default()
            },
        )
        .unwrap_err(); // IN_PROGRESS cannot be declined: the place stays taken
    f.service
        .act(held.id, Lifecycle::WaitForAsker, Request::default())
        .unwrap();
    assert_eq!(f.service.open_for(&mira), 3, "waiting keeps it open");
    let other = all
        .iter()
        .filter(|q| q.expert.as_ref() == Some(&mira))
        .nth(1)
        .unwrap();
    f.service
        .act(
            other.id,
            Lifecycle::Decline,
            Request {
                reason: Some(crate::domain::input::Reason::parse("te druk").unwrap()),
                ..Request::default()
            },
        )
        .unwrap();
    assert_eq!(f.service.open_for(&mira), 2);
    let next = f.service.submit(submission(MATRAS)).unwrap().question;
    assert_eq!(next.expert, Some(mira.clone()));
    assert_eq!(f.service.open_for(&mira), 3);
}

#[test]
fn equally_good_experts_take_turns() {
    let f = fixture();
    f.service
        .put_expert(matras_expert("mira", 5, serde_json::json!([])), true)
        .unwrap();
    f.service
        .put_expert(matras_expert("jan", 5, serde_json::json!([])), true)
        .unwrap();
    let experts: Vec<String> = (0..4)
        .map(|_| {
            f.service
                .submit(submission(MATRAS))
                .unwrap()
                .question
                .expert
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        experts.iter().filter(|e| *e == "mira").count(),
        2,
        "{experts:?}"
    );
}

#[test]
fn an_absent_expert_gets_nothing_until_the_absence_ends() {
    let f = fixture();
    // 2 March 2026 is inside 1-6 March.
    f.service
        .put_expert(matras_expert("mira", 5, serde_json::json!([{"from": "2026-03-01", "to": "2026-03-06", "reason": "vakantie"}])), true)
        .unwrap();
    let q = f.service.submit(submission(MATRAS)).unwrap().question;
    assert_eq!(q.expert, None);
    assert!(q.provider.is_some() || q.status == Status::Triage);
    f.time.advance(5 * 86_400_000); // 7 March
    let q = f.service.submit(submission(MATRAS)).unwrap().question;
    assert_eq!(q.expert.map(|e| e.to_string()), Some("mira".into()));
    assert!(f
        .service
        .put_expert(
            matras_expert(
                "bad",
                1,
                serde_json::json!([{"from": "2026-03-09", "to": "2026-03-01"}])
            ),
            true
        )
        .is_err());
}

#[test]
fn the_gaps_report_clusters_recurring_unserved_questions_by_theme_and_category() {
    let f = fixture();
    // Three vague questions nobody can route, from two kinds of asker.
    for (text, org) in [
        ("Wat is het eigenlijk?", OrganizationType::Gemeente),
        ("Wat betekent dit nu?", OrganizationType::Gemeente),
        ("Hoe zit dat precies?", OrganizationType::Waterschap),
    ] {
        let mut s = submission(text);
        s.organization_type = org;
        f.service.submit(s).unwrap();
    }
    // Two clear procurement questions, one answered: below the minimum.
    answered(&f, CLEAR);
    f.service.submit(submission(CLEAR)).unwrap();
    let gaps = f.service.knowledge_gaps(START - 1, START + 1, 3).unwrap();
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    let g = &gaps[0];
    assert_eq!((g.theme.as_ref(), g.category), (None, None));
    assert_eq!((g.questions, g.unanswered, g.unconfident), (3, 3, 3));
    assert_eq!(
        g.organization_types,
        vec![
            (OrganizationType::Gemeente, 2),
            (OrganizationType::Waterschap, 1)
        ]
    );
    assert_eq!(g.examples.len(), 3);
    // With a lower minimum the single unanswered procurement question shows too.
    let all = f.service.knowledge_gaps(START - 1, START + 1, 1).unwrap();
    assert!(
        all.iter()
            .any(|g| g.category == Some(Category::Execution) && g.unanswered >= 1),
        "{all:?}"
    );
    // Outside the period: nothing.
    assert!(f
        .service
        .knowledge_gaps(START + 1, START + 2, 1)
        .unwrap()
        .is_empty());
}

#[test]
fn a_repeated_submit_does_not_list_itself_as_similar() {
    let f = fixture();
    let mut s = submission(CLEAR);
    s.request_id = Some(crate::domain::input::RequestId::parse("portal/1").unwrap());
    let first = f.service.submit(s.clone()).unwrap();
    let again = f.service.submit(s).unwrap();
    assert!(!again.created);
    assert_eq!(again.question.id, first.question.id);
    assert!(
        again
            .similar
            .iter()
            .all(|x| x.question.id != first.question.id),
        "{:?}",
        again.similar
    );
}

#[test]
fn a_question_rerouted_after_a_decline_teaches_only_its_final_route() {
    let f = fixture();
    let route = |id: QuestionId, provider: &str| {
        f.service
            .act(
                id,
                Lifecycle::Route {
                    category: None,
                    provider: Some(ProviderId::parse(provider).unwrap()),
                    expert: None,
                },
                Request::default(),
            )
            .unwrap()
    };
    let reason = || Request {
        reason: Some(crate::domain::input::Reason::parse("niet ons vak").unwrap()),
        ..Request::default()
    };
    let q = f
        .service
        .submit(submission(
            "Wie weet raad met oude matrassen uit de milieustraat?",
        ))
        .unwrap()
        .question;
    if q.status == Status::Routed {
        f.service.act(q.id, Lifecycle::Decline, reason()).unwrap();
    }
    route(q.id, "vng");
    f.service.act(q.id, Lifecycle::Decline, reason()).unwrap();
    route(q.id, "nvrd");
    let other = f
        .service
        .submit(submission("Wat is het eigenlijk?"))
        .unwrap()
        .question;
    route(other.id, "ipo");
    // More decisions elsewhere, so that nvrd is not half of everything
    // routed: a word is only telling against a base rate.
    for (text, provider) in [
        ("Welke eisen stellen we aan bedrijfskleding?", "pianoo"),
        ("Wat doen we met zuiveringsslib?", "uvw"),
        ("Welke indicatoren meten de voortgang?", "pbl"),
    ] {
        let q = f.service.submit(submission(text)).unwrap().question;
        if q.status == Status::Routed {
            f.service.act(q.id, Lifecycle::Decline, reason()).unwrap();
        }
        route(q.id, provider);
    }
    f.service.relearn().unwrap();
    let learned = f.service.learned_terms(Some("milieustraat"));
    let targets: Vec<String> = learned
        .iter()
        .flat_map(|t| t.weights.iter().map(|w| w.target.to_string()))
        .collect();
    assert!(
        targets.contains(&"provider nvrd".to_string()),
        "{targets:?}"
    );
    assert!(
        !targets.contains(&"provider vng".to_string()),
        "{targets:?}"
    );
    // Declined again: it teaches nothing until routed anew.
    f.service.act(q.id, Lifecycle::Decline, reason()).unwrap();
    f.service.relearn().unwrap();
    assert!(f.service.learned_terms(Some("milieustraat")).is_empty());
}
