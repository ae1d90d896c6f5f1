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

/// (before, after) of a fresh service taught `teach_set`, measured on
/// `measure_set`.
fn before_and_after(
    teach_set: &[&Labelled],
    measure_set: &[&Labelled],
) -> ((f64, f64), (f64, f64)) {
    let dir = tempfile::tempdir().unwrap();
    let s = service(dir.path());
    let before = measure(&s, measure_set);
    teach(&s, teach_set);
    (before, measure(&s, measure_set))
}

/// Whether neither share fell by more than one question of `n` (a share
/// of n questions moves in steps of 1/n; one step is noise).
fn lost_at_most_one_question(n: usize, before: (f64, f64), after: (f64, f64)) -> bool {
    let step = 1.0 / n as f64 + 1e-9;
    after.0 >= before.0 - step && after.1 >= before.1 - step
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
    // Learning must not cost more than one question; issue 12's table
    // below measures the gains.
    assert!(
        lost_at_most_one_question(measure_h.len(), before, after),
        "learning lost more than one question: {before:?} -> {after:?}"
    );
    assert!(!s.learned_terms(None).is_empty(), "nothing was learned");

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
        let (before, after) = before_and_after(teach_set, measure_set);
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
    // Other decisions beside them, so that nvrd is not half of everything
    // routed (a word can only be telling against a base rate).
    let others = [
        item(
            "Welke circulaire eisen stellen we bij de aanbesteding van bedrijfskleding?",
            Category::Specific,
            "pianoo",
        ),
        item(
            "Hoe krijgen we de provincie mee in een regionale grondstoffenstrategie?",
            Category::Collaboration,
            "ipo",
        ),
        item(
            "Wat doen waterschappen met zuiveringsslib en struviet?",
            Category::Specific,
            "uvw",
        ),
    ];
    teach(
        &s,
        &[
            &mattresses,
            &wind,
            &mattresses,
            &wind,
            &others[0],
            &others[1],
            &others[2],
        ],
    );
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

/// One row of the learning table: a set's half taught, the other measured.
struct Row {
    name: String,
    questions: usize,
    before: (f64, f64),
    after: (f64, f64),
}

/// Issue 12's measure: on every independent set, feedback on one half
/// (routed the way the labels say) measured on the other half, in both
/// directions. Neither category accuracy nor provider hit@1 may drop by
/// more than one question anywhere.
#[test]
fn learning_on_each_independent_set_in_both_directions() {
    let mut rows = Vec::new();
    for file in ["holdout", "independent", "independent2"] {
        let set = load(&format!("tests/data/{file}.jsonl"));
        let (a, b) = halves(&set);
        for (dir, teach_set, measure_set) in [("A->B", &a, &b), ("B->A", &b, &a)] {
            let (before, after) = before_and_after(teach_set, measure_set);
            rows.push(Row {
                name: format!("{file} {dir}"),
                questions: measure_set.len(),
                before,
                after,
            });
        }
    }
    println!("| set, taught half -> measured half | n | category | provider hit@1 |");
    println!("|---|---|---|---|");
    for r in &rows {
        println!(
            "| {} | {} | {:.3} -> {:.3} | {:.3} -> {:.3} |",
            r.name, r.questions, r.before.0, r.after.0, r.before.1, r.after.1
        );
    }
    let n = rows.len() as f64;
    let mean = |f: fn(&Row) -> f64| rows.iter().map(f).sum::<f64>() / n;
    println!(
        "mean change: category {:+.3}, provider hit@1 {:+.3}",
        mean(|r| r.after.0 - r.before.0),
        mean(|r| r.after.1 - r.before.1)
    );
    for r in &rows {
        assert!(
            lost_at_most_one_question(r.questions, r.before, r.after),
            "{}: learning lost more than one question: category {:.3} -> {:.3}, provider hit@1 {:.3} -> {:.3}",
            r.name,
            r.before.0,
            r.after.0,
            r.before.1,
            r.after.1
        );
    }
}
