//! Learning from the core team, measured: questions of one labelled set go
//! through triage and are routed the way their labels say; on a separate
//! labelled set category accuracy and provider hit@1 must go up, and a
//! reset must bring the old behaviour back.
//!
//! Run with `--nocapture` to see the numbers (the closing note of issue 5
//! quotes them).

use kicer::analysis::Analyzer;
use kicer::domain::input::{OrganizationName, QuestionText};
use kicer::domain::{Category, OrganizationType, ProviderId};
use kicer::eval::{parse_labelled, Labelled};
use kicer::service::{Lifecycle, Request, RoutingPolicy, Service, Submission};
use kicer::store::{ManualTime, SledStore, StoreOptions};
use kicer::taxonomy::Taxonomy;
use std::path::Path;
use std::sync::Arc;

fn service(dir: &Path) -> Service {
    let time = Arc::new(ManualTime::new(1_772_438_400_000));
    let store = SledStore::open(
        dir,
        StoreOptions {
            durable: false,
            ..StoreOptions::default()
        },
        time.clone(),
    )
    .unwrap();
    // The team sees every question first, as in the first weeks of use.
    let policy = RoutingPolicy {
        min_confidence: 1.0,
        ..RoutingPolicy::default()
    };
    Service::open(
        Taxonomy::embedded(&Analyzer::new()).unwrap(),
        Arc::new(store),
        time,
        policy,
    )
    .unwrap()
}

fn load(path: &str) -> Vec<Labelled> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    parse_labelled(&std::fs::read_to_string(root.join(path)).unwrap()).unwrap()
}

/// (category accuracy, provider hit@1) of the service's current index.
fn measure(s: &Service, set: &[&Labelled]) -> (f64, f64) {
    let (mut right, mut hit) = (0, 0);
    for item in set {
        let c = s.classify(
            &QuestionText::parse(&item.text).unwrap(),
            item.org_type,
            None,
        );
        right += usize::from(c.category == Some(item.category));
        hit += usize::from(
            c.providers
                .first()
                .is_some_and(|p| item.providers.first() == Some(&p.id)),
        );
    }
    (
        right as f64 / set.len() as f64,
        hit as f64 / set.len() as f64,
    )
}

/// Submits each question and routes it from triage the way its label says.
fn teach(s: &Service, set: &[&Labelled]) {
    for item in set {
        let q = s
            .submit(Submission {
                text: QuestionText::parse(&item.text).unwrap(),
                organization_name: OrganizationName::parse("Gemeente Test").unwrap(),
                organization_type: item.org_type.unwrap_or(OrganizationType::Gemeente),
                region: None,
                portal: None,
                request_id: None,
                impact: 3,
                effort: 3,
                actor: Default::default(),
            })
            .unwrap()
            .question;
        assert_eq!(q.status, kicer::domain::Status::Triage);
        s.act(
            q.id,
            Lifecycle::Route {
                category: Some(item.category),
                provider: item
                    .providers
                    .first()
                    .map(|p| ProviderId::parse(p).unwrap()),
                expert: None,
            },
            Request::default(),
        )
        .unwrap();
    }
    s.relearn().unwrap();
}

fn halves(items: &[Labelled]) -> (Vec<&Labelled>, Vec<&Labelled>) {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for (i, item) in items.iter().enumerate() {
        if i % 2 == 0 {
            a.push(item)
        } else {
            b.push(item)
        }
    }
    (a, b)
}

#[test]
fn feedback_on_one_set_improves_routing_on_another_and_reset_undoes_it() {
    let dev = load("tests/data/dev.jsonl");
    let holdout = load("tests/data/holdout.jsonl");
    let (teach_h, measure_h) = halves(&holdout);
    let teach_set: Vec<&Labelled> = dev.iter().chain(teach_h.iter().copied()).collect();

    let dir = tempfile::tempdir().unwrap();
    let s = service(dir.path());
    let before = measure(&s, &measure_h);
    teach(&s, &teach_set);
    let after = measure(&s, &measure_h);
    println!(
        "hold-out half B ({} questions) after feedback on dev + hold-out half A ({}): category {:.3} -> {:.3}, provider hit@1 {:.3} -> {:.3}",
        measure_h.len(),
        teach_set.len(),
        before.0,
        after.0,
        before.1,
        after.1
    );
    assert!(
        after.0 > before.0,
        "category accuracy did not go up: {before:?} -> {after:?}"
    );
    assert!(
        after.1 > before.1,
        "provider hit@1 did not go up: {before:?} -> {after:?}"
    );

    s.reset_learned(None).unwrap();
    let reset = measure(&s, &measure_h);
    assert_eq!(reset, before, "reset brings the old behaviour back");
    assert!(s.learned_terms(None).is_empty());
}

#[test]
fn dev_set_halves_before_and_after_feedback() {
    let dev = load("tests/data/dev.jsonl");
    let (a, b) = halves(&dev);
    for (name, teach_set, measure_set) in [("A -> B", &a, &b), ("B -> A", &b, &a)] {
        let dir = tempfile::tempdir().unwrap();
        let s = service(dir.path());
        let before = measure(&s, measure_set);
        teach(&s, teach_set);
        let after = measure(&s, measure_set);
        println!(
            "dev halves {name} (feedback on {}, measured on {}): category {:.3} -> {:.3}, provider hit@1 {:.3} -> {:.3}",
            teach_set.len(),
            measure_set.len(),
            before.0,
            after.0,
            before.1,
            after.1
        );
        // The taxonomy was tuned on the dev set, so there is little left to
        // learn on it; categories must not get worse (provider hit@1 moves
        // by a question or two either way, see the closing note).
        assert!(after.0 >= before.0, "{name}: {before:?} -> {after:?}");
    }
}

#[test]
fn a_term_can_be_inspected_and_reset_alone() {
    let dir = tempfile::tempdir().unwrap();
    let s = service(dir.path());
    let item = |text: &str, category: Category, provider: &str| Labelled {
        id: "x".into(),
        text: text.into(),
        org_type: Some(OrganizationType::Gemeente),
        region: None,
        category,
        themes: vec![],
        providers: vec![provider.into()],
        kind: None,
    };
    let mattresses = item(
        "Wie helpt ons met het inzamelen van matrassen bij de milieustraat?",
        Category::Execution,
        "nvrd",
    );
    let wind = item(
        "Hoe betrekken we bewoners bij de plaatsing van windmolens?",
        Category::Strategy,
        "vng",
    );
    teach(&s, &[&mattresses, &wind, &mattresses, &wind]);
    let terms = s.learned_terms(Some("matrassen"));
    assert_eq!(terms.len(), 1, "{terms:?}");
    assert!(terms[0]
        .weights
        .iter()
        .any(|w| w.target.to_string() == "provider nvrd"));
    s.reset_learned(Some("matrassen")).unwrap();
    assert!(s.learned_terms(Some("matrassen")).is_empty());
    assert!(!s.learned_terms(Some("milieustraat")).is_empty());
}
