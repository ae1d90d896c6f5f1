//! Finding earlier questions that ask the same thing: 65 % of questions
//! recur across governments, so a new question should meet the earlier
//! ones (and their answers).
//!
//! Each question is a set of features the engine already produces: the
//! stems of its content words (`s:inzamel`) and the taxonomy terms found in
//! it (`t:circulair inkopen`), which the index matches in Dutch and English
//! alike, through compounds and typos. Similarity is the cosine of the
//! idf-weighted feature sets. An inverted index (feature → questions)
//! finds candidates; features in more than [`COMMON`] of the questions are
//! not walked (their posting lists are long and they tell little) but still
//! score the candidates the rarer features found, through the stored
//! feature set of each candidate.

use std::collections::HashMap;
use std::sync::RwLock;

/// Share of questions above which a feature's postings are not walked.
pub const COMMON: f64 = 0.02;
/// Posting lists shorter than this are always walked, however common.
const ALWAYS_WALK: usize = 2_000;

/// A match: the question's id (as the store numbers it) and the cosine.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    /// Question number.
    pub id: u64,
    /// Cosine similarity, 0..=1.
    pub score: f32,
}

#[derive(Default)]
struct Inner {
    features: HashMap<Box<str>, u32>,
    postings: Vec<Vec<u32>>,
    /// Per document: its question id and sorted feature numbers.
    docs: Vec<(u64, Box<[u32]>)>,
    by_id: HashMap<u64, u32>,
}

impl Inner {
    fn idf(&self, feature: u32) -> f32 {
        let df = self.postings[feature as usize].len().max(1) as f32;
        (1.0 + self.docs.len() as f32 / df).ln()
    }

    fn norm(&self, features: &[u32]) -> f32 {
        features
            .iter()
            .map(|&f| self.idf(f).powi(2))
            .sum::<f32>()
            .sqrt()
    }
}

/// The in-memory similarity index over stored questions.
#[derive(Default)]
pub struct SimilarIndex {
    inner: RwLock<Inner>,
}

impl std::fmt::Debug for SimilarIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimilarIndex")
            .field("questions", &self.len())
            .finish()
    }
}

impl SimilarIndex {
    /// An empty index.
    pub fn new() -> SimilarIndex {
        SimilarIndex::default()
    }

    /// Questions indexed.
    pub fn len(&self) -> usize {
        self.read().docs.len()
    }

    /// Whether no question is indexed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        // The index holds no invariant a panicking writer could break
        // half-way that a reader would trip over: postings only grow.
        self.inner.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a question's features; a question already present is ignored
    /// (questions do not change their text).
    pub fn add(&self, id: u64, features: &[String]) {
        let mut inner = self.inner.write().unwrap_or_else(|p| p.into_inner());
        if inner.by_id.contains_key(&id) {
            return;
        }
        let doc = inner.docs.len() as u32;
        let mut numbers: Vec<u32> = Vec::with_capacity(features.len());
        for f in features {
            let n = match inner.features.get(f.as_str()) {
                Some(&n) => n,
                None => {
                    let n = inner.postings.len() as u32;
                    inner.features.insert(f.as_str().into(), n);
                    inner.postings.push(Vec::new());
                    n
                }
            };
            numbers.push(n);
        }
        numbers.sort_unstable();
        numbers.dedup();
        for &n in &numbers {
            inner.postings[n as usize].push(doc);
        }
        inner.docs.push((id, numbers.into_boxed_slice()));
        inner.by_id.insert(id, doc);
    }

    /// The `limit` most similar questions to a feature set, best first,
    /// scoring at least `min_score`; `exclude` is left out (the question
    /// itself).
    pub fn search(
        &self,
        features: &[String],
        limit: usize,
        min_score: f32,
        exclude: Option<u64>,
    ) -> Vec<Hit> {
        let inner = self.read();
        let n = inner.docs.len();
        if n == 0 || limit == 0 {
            return Vec::new();
        }
        let mut query: Vec<u32> = features
            .iter()
            .filter_map(|f| inner.features.get(f.as_str()).copied())
            .collect();
        query.sort_unstable();
        query.dedup();
        // Features never seen before count in the query's norm too (the
        // query is that much less like anything stored).
        let unseen = features.len().saturating_sub(query.len()) as f32;
        let unseen_idf = (1.0 + n as f32).ln();
        let query_norm = (inner.norm(&query).powi(2) + unseen * unseen_idf.powi(2)).sqrt();
        if query.is_empty() || query_norm == 0.0 {
            return Vec::new();
        }
        let common = ((n as f64 * COMMON) as usize).max(ALWAYS_WALK);
        let (mut rare, mut frequent): (Vec<u32>, Vec<u32>) = query
            .iter()
            .partition(|&&f| inner.postings[f as usize].len() <= common);
        if rare.is_empty() {
            // Only common features: walk the least common one.
            frequent.sort_by_key(|&f| inner.postings[f as usize].len());
            rare.push(frequent.remove(0));
        }
        let mut scores: HashMap<u32, f32> = HashMap::new();
        for &f in &rare {
            let w = inner.idf(f).powi(2);
            for &doc in &inner.postings[f as usize] {
                *scores.entry(doc).or_default() += w;
            }
        }
        let mut hits: Vec<Hit> = scores
            .into_iter()
            .filter_map(|(doc, mut dot)| {
                let (id, doc_features) = &inner.docs[doc as usize];
                if Some(*id) == exclude {
                    return None;
                }
                for &f in &frequent {
                    if doc_features.binary_search(&f).is_ok() {
                        dot += inner.idf(f).powi(2);
                    }
                }
                let score = dot / (query_norm * inner.norm(doc_features));
                (score >= min_score).then_some(Hit { id: *id, score })
            })
            .collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
        hits.truncate(limit);
        hits
    }
}

#[cfg(test)]
mod tests {
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
}
