//! Tests of the similarity index: ranking, exclusion, common features,
//! the walk budget and snapshots.

use super::*;

fn f(words: &str) -> Vec<String> {
    words.split_whitespace().map(String::from).collect()
}

#[test]
fn the_same_question_scores_one_and_unrelated_ones_are_not_found() {
    let idx = SimilarIndex::new();
    idx.add(1, &f("s:matras s:inzamel t:inzamelen"));
    idx.add(2, &f("s:windmolen s:bewoner"));
    let hits = idx.search(&f("s:matras s:inzamel t:inzamelen"), 5, 0.0, None);
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].id, 1);
    assert!((hits[0].score - 1.0).abs() < 1e-5, "{hits:?}");
}

#[test]
fn more_shared_rare_features_rank_higher() {
    let idx = SimilarIndex::new();
    idx.add(1, &f("s:matras s:inzamel s:gemeent"));
    idx.add(2, &f("s:matras s:recycl s:gemeent"));
    for i in 10..40 {
        idx.add(i, &f("s:gemeent s:beleid"));
    }
    let hits = idx.search(&f("s:matras s:inzamel s:gemeent"), 3, 0.0, None);
    assert_eq!(hits[0].id, 1);
    assert_eq!(hits[1].id, 2);
    assert!(hits[0].score > hits[1].score);
}

#[test]
fn the_question_itself_can_be_left_out() {
    let idx = SimilarIndex::new();
    idx.add(7, &f("s:a s:b"));
    idx.add(8, &f("s:a s:b s:c"));
    let hits = idx.search(&f("s:a s:b"), 5, 0.0, Some(7));
    assert_eq!(hits.iter().map(|h| h.id).collect::<Vec<_>>(), vec![8]);
}

#[test]
fn common_features_are_not_walked_but_still_score_candidates() {
    let idx = SimilarIndex::new();
    for i in 0..5_000 {
        idx.add(i, &f("s:circulair s:gemeent"));
    }
    idx.add(9_999, &f("s:circulair s:matras"));
    let with_common = idx.search(&f("s:circulair s:matras"), 1, 0.0, None);
    assert_eq!(with_common[0].id, 9_999);
    assert!((with_common[0].score - 1.0).abs() < 1e-4, "{with_common:?}");
    // Only common features: the least common one is walked.
    assert_eq!(idx.search(&f("s:circulair"), 5, 0.0, None).len(), 5);
}

/// `n` unrelated questions: each has 20 of 400 medium-common features
/// (every one in about 5 % of the questions) and one feature of its own.
fn crowd(idx: &SimilarIndex, n: u64) {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for id in 0..n {
        let mut words: Vec<String> = (0..20)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                format!("s:m{}", x % 400)
            })
            .collect();
        words.push(format!("s:own{id}"));
        idx.add(id, &words);
    }
}

#[test]
fn an_exact_repeat_among_many_is_found_with_score_one() {
    let idx = SimilarIndex::new();
    crowd(&idx, 70_000);
    let q = f("s:m1 s:m2 s:m3 s:m4 s:m5 s:m6 s:m7 s:m8 s:m9 s:m10 s:matras s:inzamel");
    idx.add(1_000_000, &q);
    crowd_more(&idx);
    let hits = idx.search(&q, 3, 0.0, None);
    assert_eq!(hits[0].id, 1_000_000, "{hits:?}");
    assert!((hits[0].score - 1.0).abs() < 1e-4, "{hits:?}");
}

/// A few more crowd questions after the target, so it is in a frozen
/// segment and the weights have moved since its norm was taken.
fn crowd_more(idx: &SimilarIndex) {
    for id in 2_000_000..2_010_000u64 {
        idx.add(id, &[format!("s:m{}", id % 400), format!("s:own{id}")]);
    }
}

#[test]
fn a_paraphrase_sharing_a_few_rare_features_beats_the_crowd() {
    let idx = SimilarIndex::new();
    crowd(&idx, 70_000);
    idx.add(
        1_000_000,
        &f("s:m1 s:m2 s:m3 s:m4 s:m5 s:matras s:inzamel s:gemeent t:inzamelen"),
    );
    crowd_more(&idx);
    // Shares three rare features and two of the medium ones, with other
    // medium ones of its own: the medium ones (about 3,500 postings each)
    // do not all fit the walk budget, so some only score candidates.
    let q = f("s:m1 s:m2 s:m50 s:m60 s:m70 s:m80 s:m90 s:matras s:inzamel t:inzamelen s:nieuw");
    let hits = idx.search(&q, 3, 0.0, None);
    assert_eq!(hits[0].id, 1_000_000, "{hits:?}");
}

#[test]
fn medium_features_beyond_the_budget_still_score_the_candidates() {
    let idx = SimilarIndex::new();
    crowd(&idx, 20_000);
    // Same rare feature; the second shares all twenty medium features
    // (about 1,000 postings each, so not all are walked) too.
    let medium: String = (1..=20).map(|i| format!(" s:m{i}")).collect();
    idx.add(500_000, &f("s:matras s:m1"));
    idx.add(500_001, &f(&format!("s:matras{medium}")));
    let q = f(&format!("s:matras{medium}"));
    let hits = idx.search(&q, 2, 0.0, None);
    assert_eq!(hits[0].id, 500_001, "{hits:?}");
    assert!((hits[0].score - 1.0).abs() < 1e-4, "{hits:?}");
    assert_eq!(hits[1].id, 500_000, "{hits:?}");
}

#[test]
fn a_query_of_only_common_features_walks_a_bounded_part() {
    let idx = SimilarIndex::new();
    for i in 0..(WALK_BUDGET as u64 * 2) {
        idx.add(i, &f("s:gemeent s:beleid"));
    }
    let hits = idx.search(&f("s:gemeent"), 5, 0.0, None);
    assert_eq!(hits.len(), 5);
}

#[test]
fn searches_see_questions_in_frozen_segments_and_the_tail_alike() {
    let idx = SimilarIndex::new();
    for i in 0..(segment::SEGMENT as u64 + 10) {
        idx.add(i, &[format!("s:own{i}"), "s:gemeent".to_string()]);
    }
    for id in [3, 40_000, segment::SEGMENT as u64 + 5] {
        let hits = idx.search(&[format!("s:own{id}"), "s:gemeent".into()], 1, 0.0, None);
        assert_eq!(hits[0].id, id);
        assert!((hits[0].score - 1.0).abs() < 1e-4, "{hits:?}");
    }
    // Already present: ignored.
    idx.add(3, &f("s:other"));
    assert_eq!(idx.len(), segment::SEGMENT + 10);
}

#[test]
fn a_snapshot_loads_back_to_the_same_results() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("similar.idx");
    let idx = SimilarIndex::new();
    crowd(&idx, 70_000);
    idx.add(1_000_000, &f("s:matras s:inzamel t:inzamelen"));
    idx.snapshot().write(&path, b"meta").unwrap();
    let (back, meta) = SimilarIndex::load(&path).unwrap();
    assert_eq!(meta, b"meta");
    assert_eq!(back.len(), idx.len());
    assert_eq!(back.max_id(), Some(1_000_000));
    for q in [
        f("s:matras s:inzamel t:inzamelen"),
        f("s:m1 s:m7 s:own12"),
        f("s:m3 s:own69999 s:unknown"),
    ] {
        // The loaded index weighs by today's counts, the original by
        // those of its last epoch: the same best match, nearly the same
        // score.
        let (a, b) = (back.search(&q, 1, 0.0, None), idx.search(&q, 1, 0.0, None));
        assert_eq!(a[0].id, b[0].id, "{a:?} {b:?}");
        assert!((a[0].score - b[0].score).abs() < 0.02, "{a:?} {b:?}");
    }
    // It keeps growing like the original.
    back.add(1_000_001, &f("s:matras s:nieuw"));
    assert!(back.contains(1_000_001) && !back.contains(1_000_002));
}

#[test]
fn a_damaged_or_foreign_snapshot_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("similar.idx");
    let idx = SimilarIndex::new();
    idx.add(1, &f("s:matras s:inzamel"));
    idx.add(2, &f("s:windmolen"));
    idx.snapshot().write(&path, b"").unwrap();
    let good = std::fs::read(&path).unwrap();

    let mut flipped = good.clone();
    let at = flipped.len() / 2;
    flipped[at] ^= 1;
    std::fs::write(&path, &flipped).unwrap();
    assert!(matches!(
        SimilarIndex::load(&path),
        Err(SnapshotError::Damaged { .. })
    ));

    std::fs::write(&path, &good[..good.len() - 3]).unwrap();
    assert!(matches!(
        SimilarIndex::load(&path),
        Err(SnapshotError::Damaged { .. })
    ));

    let mut other = good.clone();
    other[8] = 99;
    std::fs::write(&path, &other).unwrap();
    assert!(matches!(
        SimilarIndex::load(&path),
        Err(SnapshotError::Version { found: 99, .. })
    ));

    std::fs::write(&path, b"not a snapshot at all").unwrap();
    assert!(SimilarIndex::load(&path).is_err());
    std::fs::remove_file(&path).unwrap();
    assert!(matches!(
        SimilarIndex::load(&path),
        Err(SnapshotError::Io { .. })
    ));
}

#[test]
fn adds_go_on_while_searches_run() {
    let idx = std::sync::Arc::new(SimilarIndex::new());
    crowd(&idx, 5_000);
    let searcher = {
        let idx = idx.clone();
        std::thread::spawn(move || {
            for i in 0..200 {
                let q = [format!("s:m{}", i % 400), format!("s:own{i}")];
                assert_eq!(idx.search(&q, 1, 0.0, None)[0].id, i);
            }
        })
    };
    for id in 10_000..20_000u64 {
        idx.add(id, &[format!("s:own{id}")]);
    }
    searcher.join().unwrap();
    assert_eq!(idx.len(), 15_000);
}

/// A small deterministic generator, so the comparison below is the same
/// on every run.
struct Lcg(u64, f64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A feature of a skewed vocabulary of `self.1` words: a few in a
    /// third of the questions, most in a handful.
    fn feature(&mut self) -> String {
        format!("s:w{}", (self.1 * self.next().powi(3)) as u32)
    }
}

#[test]
fn the_walk_finds_the_best_hits_of_a_full_comparison() {
    // A large vocabulary (rare features decide) and a small one (the
    // best hits share only common features).
    for vocabulary in [300.0, 30.0] {
        compare_with_a_full_comparison(Lcg(7, vocabulary));
    }
}

fn compare_with_a_full_comparison(mut rng: Lcg) {
    // Small enough that every query feature is walked within the budget,
    // so the best hits are the best of all questions by exact cosine.
    let idx = SimilarIndex::new();
    for id in 0..1_500 {
        let n = 2 + (rng.next() * 8.0) as usize;
        let features: Vec<String> = (0..n).map(|_| rng.feature()).collect();
        idx.add(id, &features);
    }
    for _ in 0..300 {
        let n = 1 + (rng.next() * 16.0) as usize;
        let query: Vec<String> = (0..n).map(|_| rng.feature()).collect();
        let limit = 1 + (rng.next() * 10.0) as usize;
        let found = idx.search(&query, limit, 0.0, None);

        let live = idx.read();
        let weights = &live.view.weights;
        let mut known: Vec<u32> = query
            .iter()
            .filter_map(|f| live.features.get(f.as_str()).copied())
            .collect();
        known.sort_unstable();
        known.dedup();
        let mut distinct = query.clone();
        distinct.sort();
        distinct.dedup();
        let unseen = (distinct.len() - known.len()) as f32;
        let query_norm = (known.iter().map(|&f| weights.idf(f).powi(2)).sum::<f32>()
            + unseen * weights.unseen().powi(2))
        .sqrt();
        let docs = live.tail.docs();
        let mut all: Vec<Hit> = (0..docs.len())
            .filter_map(|d| {
                let dot: f32 = docs
                    .features(d)
                    .filter(|f| known.binary_search(f).is_ok())
                    .map(|f| weights.idf(f).powi(2))
                    .sum();
                (dot > 0.0).then(|| Hit {
                    id: docs.id(d),
                    score: dot / (query_norm * live.tail_norms[d]),
                })
            })
            .collect();
        all.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
        all.truncate(limit);
        assert_eq!(found.len(), all.len(), "{query:?}");
        for (got, want) in found.iter().zip(&all) {
            assert!(
                (got.score - want.score).abs() < 1e-5,
                "{query:?}: got {found:?}, a full comparison gives {all:?}"
            );
        }
    }
}
