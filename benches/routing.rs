//! Routing engine benchmarks (issue: routing engine):
//!
//! * `classify/120_words_10k_experts`: analysis + classification + matching
//!   of a 120-word Dutch question against the default taxonomy plus 10,000
//!   generated experts. Target: median ≤ 50 µs on one core.
//! * `rebuild/10k_experts`: rebuilding the index for 10,000 experts.
//!   Target: ≤ 200 ms.
//!   `_cold` empties the stem and compound/typo caches before every run,
//!   as for a question whose words were never seen before.
//! * `classify/phase_*`: analysis alone, and finding the terms alone.
//! * `typo/*`: one typo lookup with kicer's `OneEdit` automaton (as used:
//!   first letter kept; and over every first letter) against
//!   `fst::automaton::Levenshtein` (distance 1), on the same FST, to show
//!   why the project has its own automaton.
//!
//! Run: `cargo bench --bench routing`. Figures: docs/benchmarks.md.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use fst::{IntoStreamer, Streamer};
use kicer::analysis::Analyzer;
use kicer::domain::OrganizationType;
use kicer::engine::{Engine, Query};
use kicer::index::typo::OneEdit;
use kicer::taxonomy::Taxonomy;
use std::hint::black_box;

/// A realistic 120-word question of a municipality, written for this
/// benchmark (not taken from any evaluation set).
const QUESTION: &str = "Onze gemeente heeft in het collegeprogramma afgesproken dat we in 2030 \
de helft minder primaire grondstoffen gebruiken. De afdeling inkoop heeft een \
handreiking, maar in de praktijk vragen projectleiders bij de \
aanbesteding van nieuwe schoolgebouwen en de renovatie van het gemeentehuis nog steeds \
vooral naar de laagste prijs. Hoe zorgen we dat circulaire eisen, zoals een \
materialenpaspoort, hergebruik van bouwmaterialen uit sloopprojecten en een lage \
milieukostenindicator, standaard in onze bestekken terechtkomen? Welke andere gemeenten \
hebben hier ervaring mee, en hoe hebben zij de interne organisatie en het bestuur \
meegekregen? We willen ook weten hoe we de voortgang \
monitoren, en of er subsidie of ondersteuning \
beschikbaar is voor de extra capaciteit die dit vraagt van ons team.";

fn setup() -> (Engine, Vec<kicer::domain::Expert>) {
    let analyzer = Analyzer::new();
    let taxonomy = Taxonomy::embedded(&analyzer).expect("embedded taxonomy is valid");
    let experts = kicer::synth::experts(&taxonomy, 10_000, 42);
    let engine = Engine::new(taxonomy, experts.clone()).expect("index builds");
    (engine, experts)
}

fn classify(c: &mut Criterion) {
    let words = QUESTION.split_whitespace().count();
    assert!((115..=125).contains(&words), "question has {words} words");
    let (engine, _) = setup();
    let query = Query {
        organization_type: Some(OrganizationType::Gemeente),
        ..Query::text(QUESTION)
    };
    let sample = engine.classify(&query);
    eprintln!(
        "sample: {} words, category {:?} ({:.2}), {} themes, {} providers, {} experts",
        words,
        sample.category,
        sample.confidence,
        sample.themes.len(),
        sample.providers.len(),
        sample.experts.len()
    );
    c.bench_function("classify/120_words_10k_experts", |b| {
        b.iter(|| black_box(engine.classify(black_box(&query))))
    });
    // Cold: no word of the question has been seen before (stem and
    // compound/typo caches emptied before every run, outside the timing).
    c.bench_function("classify/120_words_10k_experts_cold", |b| {
        b.iter_batched(
            || {
                engine.analyzer().clear_caches();
                engine.index().clear_caches();
            },
            |()| black_box(engine.classify(black_box(&query))),
            BatchSize::PerIteration,
        )
    });
    // The phases, to see where the time goes.
    let analyzer = engine.analyzer();
    c.bench_function("classify/phase_analysis", |b| {
        b.iter(|| black_box(analyzer.analyze(black_box(QUESTION), None)))
    });
    let index = engine.index();
    let analysis = analyzer.analyze(QUESTION, None);
    c.bench_function("classify/phase_find_terms", |b| {
        b.iter(|| black_box(index.find_terms(black_box(&analysis), analyzer)))
    });
}

fn rebuild(c: &mut Criterion) {
    let (engine, experts) = setup();
    let mut group = c.benchmark_group("rebuild");
    group.sample_size(20);
    group.bench_function("10k_experts", |b| {
        b.iter_batched(
            || experts.clone(),
            |experts| black_box(engine.replace_experts(experts).expect("rebuild")),
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

fn typo(c: &mut Criterion) {
    let (engine, _) = setup();
    let index = engine.index();
    let map = index.fst();
    let word = "aansprakelijkhied";
    let mut group = c.benchmark_group("typo");
    group.bench_function("kicer_one_edit", |b| {
        b.iter(|| {
            let automaton = OneEdit::new(black_box(word))
                .expect("short word")
                .keeping_first_letter();
            let mut stream = map.search(automaton).into_stream();
            let mut n = 0;
            while stream.next().is_some() {
                n += 1;
            }
            n
        })
    });
    group.bench_function("kicer_one_edit_any_first_letter", |b| {
        b.iter(|| {
            let automaton = OneEdit::new(black_box(word)).expect("short word");
            let mut stream = map.search(automaton).into_stream();
            let mut n = 0;
            while stream.next().is_some() {
                n += 1;
            }
            n
        })
    });
    group.bench_function("fst_levenshtein_1", |b| {
        b.iter(|| {
            let automaton = fst::automaton::Levenshtein::new(black_box(word), 1).expect("dfa");
            let mut stream = map.search(automaton).into_stream();
            let mut n = 0;
            while stream.next().is_some() {
                n += 1;
            }
            n
        })
    });
    group.finish();
}

criterion_group!(benches, classify, rebuild, typo);
criterion_main!(benches);
