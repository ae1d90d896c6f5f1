//! Similar-question search (issue 11): at 10,000, 100,000 and 1,000,000
//! stored questions, `search` must stay ≤ 2 ms median and ≤ 10 ms p99, the
//! index small, and its snapshot quick to write and load.
//!
//! `scale`: feature sets like the engine's (15-25 features per question
//! from a 50,000-feature vocabulary with Zipf frequencies, plus 5-8
//! features of one of 20,000 recurring topics, so questions of one topic
//! are near-duplicates). For each size it prints the index's bytes, the
//! time per add, snapshot write and load times, search median and p99
//! over 2,000 paraphrases (another draw of the same topic and background)
//! and how many find a question of their topic first; criterion measures
//! `search` and `add`.
//!
//! `engine`: the earlier benchmark with texts featurised by the real
//! engine (three taxonomy terms with Zipf-like frequencies and a province
//! each, in one of 8 × 4 × 6 phrasings), printing how many of 1,000
//! paraphrases find their original in the top 3; it measures the engine's
//! features of the paraphrase plus the search.
//!
//! `vectors`: the semantic path's exhaustive search over 384-dimension
//! vectors (e5-small's size) of random directions, at 10,000 and 100,000
//! questions (`KICER_VECTOR_SIZES`), top 50 as FindSimilarQuestions
//! takes; it also prints the bytes the vectors take.
//!
//! Run: `cargo bench --bench similar` (`KICER_SIMILAR_SIZES=10000,100000`
//! to choose the scale sizes, `KICER_SIMILAR_N` for the engine bench's
//! size, default 100,000, 0 to skip it). Figures: docs/benchmarks.md.

use criterion::{criterion_group, criterion_main, Criterion};
use kicer::analysis::Analyzer;
use kicer::engine::Engine;
use kicer::similar::{SimilarIndex, Vector, VectorIndex};
use kicer::synth::{paraphrase, question, vocabulary, SplitMix, Topic};
use kicer::taxonomy::Taxonomy;
use std::hint::black_box;
use std::time::{Duration, Instant};

const VOCABULARY: usize = 50_000;
const TOPICS: usize = 20_000;

/// The features of a question of `topic`: 5-8 of the topic's 10 features
/// and background words with Zipf frequencies, 15-25 in all.
fn features(topic: usize, rng: &mut SplitMix) -> Vec<String> {
    let mut topic_rng = SplitMix::new(topic as u64 * 7919 + 1);
    // Topic features come from the rarer half of the vocabulary.
    let own: Vec<usize> = (0..10)
        .map(|_| VOCABULARY / 2 + topic_rng.below(VOCABULARY / 2))
        .collect();
    let total = 15 + rng.below(11);
    let mut out: Vec<String> = Vec::with_capacity(total);
    let shared = 5 + rng.below(4);
    for _ in 0..shared {
        out.push(format!("s:w{}", own[rng.below(own.len())]));
    }
    while out.len() < total {
        out.push(format!("s:w{}", rng.zipf(VOCABULARY)));
    }
    out.sort();
    out.dedup();
    out
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p) as usize]
}

fn scale(c: &mut Criterion) {
    let sizes: Vec<usize> = std::env::var("KICER_SIMILAR_SIZES")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![10_000, 100_000, 1_000_000]);
    let dir = tempfile::tempdir().expect("a temporary directory for the snapshot");
    for n in sizes {
        let index = SimilarIndex::new();
        let mut rng = SplitMix::new(11);
        let mut topics = Vec::with_capacity(n);
        let docs: Vec<Vec<String>> = (0..n)
            .map(|_| {
                let topic = rng.zipf(TOPICS);
                topics.push(topic);
                features(topic, &mut rng)
            })
            .collect();
        let started = Instant::now();
        for (id, f) in docs.iter().enumerate() {
            index.add(id as u64, f);
        }
        let add = started.elapsed() / n as u32;
        drop(docs);
        let path = dir.path().join("similar.idx");
        let started = Instant::now();
        index
            .snapshot()
            .write(&path, b"bench")
            .expect("snapshot written");
        let write = started.elapsed();
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let started = Instant::now();
        let (loaded, _) = SimilarIndex::load(&path).expect("snapshot loaded");
        let load = started.elapsed();
        drop(loaded);
        let queries: Vec<(usize, Vec<String>)> = (0..2_000)
            .map(|_| {
                let id = rng.below(n);
                (id, features(topics[id], &mut rng))
            })
            .collect();
        let mut times = Vec::with_capacity(queries.len());
        let mut same_topic = 0;
        for (id, q) in &queries {
            let started = Instant::now();
            let hits = index.search(q, 5, 0.3, None);
            times.push(started.elapsed());
            same_topic += usize::from(
                hits.first()
                    .is_some_and(|h| topics[h.id as usize] == topics[*id]),
            );
        }
        times.sort();
        eprintln!(
            "similar/scale {n}: index {:.1} MB ({:.0} bytes/question), add {add:.1?} each (incl. freezing and reweighing), \
             snapshot {:.1} MB written in {write:.0?}, loaded in {load:.0?}; \
             search median {:.2?}, p99 {:.2?}, max {:.2?}; {same_topic} of {} paraphrases find their topic first",
            index.heap_bytes() as f64 / 1e6,
            index.heap_bytes() as f64 / n as f64,
            size as f64 / 1e6,
            percentile(&times, 0.5),
            percentile(&times, 0.99),
            times[times.len() - 1],
            queries.len()
        );
        let mut next = 0;
        c.bench_function(&format!("similar/search_{n}"), |b| {
            b.iter(|| {
                let (_, q) = &queries[next % queries.len()];
                next += 1;
                black_box(index.search(q, 5, 0.3, None))
            })
        });
        let mut id = n as u64;
        c.bench_function(&format!("similar/add_{n}"), |b| {
            b.iter(|| {
                let (_, q) = &queries[id as usize % queries.len()];
                id += 1;
                index.add(id, q)
            })
        });
    }
}

fn engine(c: &mut Criterion) {
    let n: usize = std::env::var("KICER_SIMILAR_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    if n == 0 {
        return;
    }
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

/// A random direction in `dim` dimensions.
fn direction(rng: &mut SplitMix, dim: usize) -> Vector {
    let floats: Vec<f32> = (0..dim)
        .map(|_| (rng.next_u64() % 2001) as f32 / 1000.0 - 1.0)
        .collect();
    Vector::from_floats(&floats).expect("a usable vector")
}

fn vectors(c: &mut Criterion) {
    let sizes = std::env::var("KICER_VECTOR_SIZES").unwrap_or_else(|_| "10000,100000".into());
    for n in sizes
        .split(',')
        .filter_map(|s| s.trim().parse::<u64>().ok())
    {
        let mut rng = SplitMix::new(7);
        let index = VectorIndex::new();
        for id in 1..=n {
            index
                .insert(id, &direction(&mut rng, 384))
                .expect("one dimension");
        }
        println!(
            "vectors/{n}: {:.1} MB for {n} vectors of 384 dimensions",
            index.heap_bytes() as f64 / 1e6
        );
        let queries: Vec<Vector> = (0..64).map(|_| direction(&mut rng, 384)).collect();
        let mut next = 0;
        c.bench_function(&format!("similar/vectors_top50_{n}"), |b| {
            b.iter(|| {
                next += 1;
                black_box(index.search(&queries[next % queries.len()], 50, None))
            })
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(100);
    targets = scale, engine, vectors
}
criterion_main!(benches);
