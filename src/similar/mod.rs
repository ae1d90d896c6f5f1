//! Finding earlier questions that ask the same thing: 65 % of questions
//! recur across governments, so a new question should meet the earlier
//! ones (and their answers). This file owns [`SimilarIndex`]: adding
//! questions, searching, and keeping the weights current.
//!
//! Each question is a set of features the engine already produces: the
//! stems of its content words (`s:inzamel`) and the taxonomy terms found in
//! it (`t:circulair inkopen`), which the index matches in Dutch and English
//! alike, through compounds and typos. Similarity is the cosine of the
//! idf-weighted feature sets. An inverted index (feature → questions)
//! finds candidates: the rarest query features are walked first, within
//! [`WALK_BUDGET`] postings, and never features in more than [`COMMON`] of
//! the questions; the features not walked still score the candidates the
//! walked ones found, through the stored feature set of each candidate.
//!
//! Storage (`segment`): questions sit in segments of 65,536; full segments
//! are frozen into compact posting lists and shared with searches through
//! an [`Arc`], so a search holds the lock only to map its features and to
//! search the small growing tail. Norms are computed once per weights
//! epoch (see `segment::Weights`), which is renewed when the index has
//! grown by a sixteenth. `snapshot` saves and loads the whole index.
//!
//! `vectors` holds the optional semantic side: an embedding per question
//! from an external service ([`VectorIndex`]), which the service blends
//! with the lexical cosine.

mod search;
mod segment;
mod snapshot;
mod vectors;

pub use search::WALK_BUDGET;
pub use snapshot::{Snapshot, SnapshotError};
pub use vectors::{Vector, VectorError, VectorIndex, MAX_DIMENSIONS};

use rustc_hash::{FxHashMap, FxHashSet};
use search::{Accumulator, Plan, QueryFeature, Top};

thread_local! {
    /// The score accumulator of this thread's searches.
    static ACCUMULATOR: std::cell::RefCell<Accumulator> = std::cell::RefCell::new(Accumulator::new());
}
use segment::{Tail, View, Weights};
use std::sync::{Arc, Mutex, RwLock};

/// Share of questions above which a feature's postings are not walked.
pub const COMMON: f64 = 0.02;
/// Posting lists shorter than this are always walked, however common
/// (within the budget).
const ALWAYS_WALK: usize = 2_000;
/// The weights are recomputed when the index has grown by this fraction
/// (1/16) since they were: idf moves little in between, and a repeat still
/// scores 1 because query and norms share the weights.
const REWEIGH_SHARE: usize = 16;
/// Ids below this are remembered in a bit set, larger ones in a hash set.
const DENSE_IDS: u64 = 1 << 28;

/// A match: the question's id (as the store numbers it) and the cosine.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    /// Question number.
    pub id: u64,
    /// Cosine similarity, 0..=1.
    pub score: f32,
}

/// What changes as questions are added, behind the lock.
#[derive(Default)]
struct Live {
    /// One copy of each feature string, shared with `names`.
    features: FxHashMap<Arc<str>, u32>,
    names: Vec<Arc<str>>,
    /// Questions per feature.
    df: Vec<u32>,
    /// Questions indexed.
    n: usize,
    /// Largest id indexed.
    max_id: Option<u64>,
    dense_ids: Vec<u64>,
    sparse_ids: FxHashSet<u64>,
    tail: Tail,
    /// Norms of the tail's documents under `view.weights`.
    tail_norms: Vec<f32>,
    view: Arc<View>,
}

impl Default for View {
    fn default() -> View {
        View {
            weights: Arc::new(Weights::new(&[], 0)),
            segments: Vec::new(),
        }
    }
}

impl Live {
    fn contains(&self, id: u64) -> bool {
        if id < DENSE_IDS {
            let (word, bit) = ((id / 64) as usize, id % 64);
            self.dense_ids.get(word).is_some_and(|w| w >> bit & 1 == 1)
        } else {
            self.sparse_ids.contains(&id)
        }
    }

    fn remember(&mut self, id: u64) {
        if id < DENSE_IDS {
            let (word, bit) = ((id / 64) as usize, id % 64);
            if self.dense_ids.len() <= word {
                self.dense_ids.resize(word + 1, 0);
            }
            self.dense_ids[word] |= 1 << bit;
        } else {
            self.sparse_ids.insert(id);
        }
        self.max_id = Some(self.max_id.map_or(id, |m| m.max(id)));
        self.n += 1;
    }

    /// The feature numbers of strings, adding the new ones.
    fn numbers(&mut self, features: &[String]) -> Vec<u32> {
        let mut numbers: Vec<u32> = Vec::with_capacity(features.len());
        for f in features {
            let n = match self.features.get(f.as_str()) {
                Some(&n) => n,
                None => {
                    let n = self.names.len() as u32;
                    let name: Arc<str> = f.as_str().into();
                    self.features.insert(name.clone(), n);
                    self.names.push(name);
                    self.df.push(0);
                    n
                }
            };
            numbers.push(n);
        }
        numbers.sort_unstable();
        numbers.dedup();
        numbers
    }

    /// Adds a document to the tail; its norm uses the current weights.
    fn push(&mut self, id: u64, numbers: &[u32]) {
        for &f in numbers {
            self.df[f as usize] += 1;
        }
        self.tail.push(id, numbers);
        let doc = self.tail.docs().len() - 1;
        let norm = self.view.weights.norm(self.tail.docs(), doc);
        self.tail_norms.push(norm);
        self.remember(id);
    }

    /// Whether the weights are a sixteenth behind the index.
    fn reweigh_due(&self) -> bool {
        let at = self.view.weights.n;
        self.n >= at + at.div_ceil(REWEIGH_SHARE).max(1)
    }
}

use segment::Segment as _;

/// The in-memory similarity index over stored questions.
#[derive(Default)]
pub struct SimilarIndex {
    live: RwLock<Live>,
    /// Serialises adds, so the slow parts of one (freezing a segment,
    /// recomputing norms) can run under the read lock: searches go on.
    adding: Mutex<()>,
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
        self.read().n
    }

    /// Whether no question is indexed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether question `id` is indexed.
    pub fn contains(&self, id: u64) -> bool {
        self.read().contains(id)
    }

    /// The largest question id indexed.
    pub fn max_id(&self) -> Option<u64> {
        self.read().max_id
    }

    /// Bytes the index's buffers take (capacity, not just length): what
    /// the benchmark reports and operators can expect per question.
    pub fn heap_bytes(&self) -> usize {
        let live = self.read();
        let names: usize = live.names.iter().map(|n| n.len() + 16).sum();
        names
            + live.features.capacity() * 20
            + live.df.capacity() * 4
            + live.dense_ids.capacity() * 8
            + live.sparse_ids.capacity() * 8
            + live.tail.heap_bytes()
            + live.tail_norms.capacity() * 4
            + live.view.weights.heap_bytes()
            + live
                .view
                .segments
                .iter()
                .map(|(s, norms)| s.heap_bytes() + norms.len() * 4)
                .sum::<usize>()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Live> {
        // Writers finish every change before they release the lock (they
        // only push and swap), so a poisoned lock holds a whole state.
        self.live.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Live> {
        self.live.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a question's features; a question already present is ignored
    /// (questions do not change their text).
    pub fn add(&self, id: u64, features: &[String]) {
        let _adding = self.adding.lock().unwrap_or_else(|p| p.into_inner());
        {
            let mut live = self.write();
            if live.contains(id) {
                return;
            }
            let numbers = live.numbers(features);
            live.push(id, &numbers);
        }
        self.settle();
    }

    /// Freezes a full tail and renews stale weights; the caller holds
    /// `adding`, so nothing changes between the read and the swap.
    fn settle(&self) {
        let frozen = {
            let live = self.read();
            live.tail
                .is_full()
                .then(|| live.tail.freeze(live.names.len()))
        };
        if let Some(frozen) = frozen {
            let mut live = self.write();
            let norms: Arc<[f32]> = std::mem::take(&mut live.tail_norms).into();
            let mut segments = live.view.segments.clone();
            segments.push((Arc::new(frozen), norms));
            live.view = Arc::new(View {
                weights: live.view.weights.clone(),
                segments,
            });
            live.tail = Tail::default();
        }
        if self.read().reweigh_due() {
            self.reweigh();
        }
    }

    /// Recomputes the weights and every norm under them.
    fn reweigh(&self) {
        let (view, tail_norms) = {
            let live = self.read();
            let weights = Arc::new(Weights::new(&live.df, live.n));
            let segments = live
                .view
                .segments
                .iter()
                .map(|(s, _)| (s.clone(), weights.norms(s.docs()).into()))
                .collect();
            let tail_norms = weights.norms(live.tail.docs());
            (View { weights, segments }, tail_norms)
        };
        let mut live = self.write();
        live.view = Arc::new(view);
        live.tail_norms = tail_norms;
    }

    /// The `limit` most similar questions to a feature set, best first,
    /// scoring at least `min_score`; `exclude` is left out (the question
    /// itself).
    ///
    /// Candidates come from the rarest query features within
    /// [`WALK_BUDGET`] postings, so a question that shares only
    /// medium-common features with the query (none of the walked ones) is
    /// not found; a question sharing the query's rarest feature always is.
    pub fn search(
        &self,
        features: &[String],
        limit: usize,
        min_score: f32,
        exclude: Option<u64>,
    ) -> Vec<Hit> {
        if limit == 0 {
            return Vec::new();
        }
        // A fresh accumulator is 256 KiB of zeroes: each thread keeps one
        // and clears only what a search touched.
        ACCUMULATOR.with_borrow_mut(|acc| {
            let mut top = Top::new(limit);
            let (mut plan, view) = {
                let live = self.read();
                if live.n == 0 {
                    return Vec::new();
                }
                let view = live.view.clone();
                let mut seen = FxHashSet::default();
                let mut unseen = 0;
                let mut query = Vec::with_capacity(features.len());
                for f in features {
                    if !seen.insert(f.as_str()) {
                        continue;
                    }
                    match live.features.get(f.as_str()) {
                        Some(&feature) => query.push(QueryFeature {
                            feature,
                            df: live.df[feature as usize] as usize,
                            weight: view.weights.idf(feature).powi(2),
                        }),
                        None => unseen += 1,
                    }
                }
                let common = ((live.n as f64 * COMMON) as usize).max(ALWAYS_WALK);
                let Some(mut plan) =
                    Plan::new(query, unseen, &view.weights, common, min_score, exclude)
                else {
                    return Vec::new();
                };
                plan.search(&live.tail, &live.tail_norms, acc, &mut top);
                (plan, view)
            };
            for (segment, norms) in view.segments.iter().rev() {
                plan.search(segment.as_ref(), norms, acc, &mut top);
            }
            top.into_hits()
        })
    }
}

#[cfg(test)]
mod tests;
