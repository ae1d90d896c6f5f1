//! Similar-question search (issue: learning router): a paraphrase of a
//! stored question among 1,000,000 stored generated questions must come
//! back in the top 3, in ≤ 20 ms median.
//!
//! Setup indexes 1,000,000 generated questions (three taxonomy terms drawn
//! with Zipf-like frequencies and a province each, in one of 8 × 4 × 6
//! phrasings; features from the real engine) and prints how many of 1,000
//! paraphrases find their original in the top 3 (and how many find it or a
//! question with the same three terms: with Zipf draws the common triples
//! are asked many times, and those twins are as good an answer). The measured step is what a request does: the engine's
//! features of the paraphrase, then the search.
//!
//! Run: `cargo bench --bench similar` (`KICER_SIMILAR_N` to change the
//! size). Figures: docs/benchmarks.md.

use criterion::{criterion_group, criterion_main, Criterion};
use kicer::analysis::Analyzer;
use kicer::engine::Engine;
use kicer::similar::SimilarIndex;
use kicer::synth::{paraphrase, question, vocabulary, SplitMix, Topic};
use kicer::taxonomy::Taxonomy;
use std::hint::black_box;
use std::time::Instant;

fn bench(c: &mut Criterion) {
    let n: usize = std::env::var("KICER_SIMILAR_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let engine = Engine::new(Taxonomy::embedded(&Analyzer::new()).unwrap(), Vec::new()).unwrap();
    let vocab = vocabulary(&engine.taxonomy());
    let index = SimilarIndex::new();
    let mut rng = SplitMix::new(7);
    let mut topics: Vec<Topic> = Vec::with_capacity(n);
    let start = Instant::now();
    for id in 0..n {
        let (text, topic) = question(&vocab, &mut rng);
        index.add(id as u64, &engine.features(&text));
        topics.push(topic);
        if (id + 1) % 200_000 == 0 {
            eprintln!("indexed {} questions in {:.0?}", id + 1, start.elapsed());
        }
    }
    let queries: Vec<(u64, String)> = (0..1_000)
        .map(|_| {
            let id = rng.below(n);
            (id as u64, paraphrase(&vocab, &topics[id], &mut rng))
        })
        .collect();
    let (mut original, mut same) = (0, 0);
    for (id, text) in &queries {
        let top = index.search(&engine.features(text), 3, 0.0, None);
        original += usize::from(top.iter().any(|h| h.id == *id));
        same += usize::from(
            top.iter()
                .any(|h| h.id == *id || topics[h.id as usize].same_terms(&topics[*id as usize])),
        );
    }
    let twins = queries
        .iter()
        .filter(|(id, _)| {
            topics
                .iter()
                .filter(|t| t.same_terms(&topics[*id as usize]))
                .count()
                > 3
        })
        .count();
    eprintln!(
        "{n} questions, vocabulary {} terms (Zipf-like): of {} paraphrases, {original} find their original in the top 3, \
         {same} the original or another question with the same three terms; {twins} have more than three such twins",
        vocab.len(),
        queries.len()
    );
    let mut next = 0;
    c.bench_function(&format!("similar/paraphrase_top3_{n}"), |b| {
        b.iter(|| {
            let (_, text) = &queries[next % queries.len()];
            next += 1;
            black_box(index.search(&engine.features(text), 3, 0.0, None))
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(200);
    targets = bench
}
criterion_main!(benches);
