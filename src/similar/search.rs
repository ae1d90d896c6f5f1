//! One search over the segments: which query features are walked (the
//! rarest first, within a budget of postings), the candidates they find
//! in each segment, the bound that skips candidates which cannot make the
//! top, and the exact cosine of the rest.

use super::segment::{Segment, Weights, SEGMENT};
use super::Hit;

/// Postings a search walks at most (summed over its walked features). The
/// rarest features are walked first; features beyond the budget only
/// score the candidates the walked ones found, like common features.
pub const WALK_BUDGET: usize = 16_384;

/// A query feature: its number, how many questions have it, its weight.
#[derive(Clone, Copy)]
pub(super) struct QueryFeature {
    pub(super) feature: u32,
    pub(super) df: usize,
    /// idf² under the view's weights.
    pub(super) weight: f32,
}

/// What to walk and what to check, worked out once per search.
pub(super) struct Plan {
    /// Walked features with how many postings each may still walk.
    walked: Vec<(u32, f32, usize)>,
    /// Checked features, by feature number, with their weights.
    checked: Vec<(u32, f32)>,
    /// Sum of the checked weights: what a candidate could still gain.
    checked_total: f32,
    query_norm: f32,
    min_score: f32,
    exclude: Option<u64>,
}

impl Plan {
    /// Splits the query: walk the rarest features while their postings
    /// fit the budget and they are rarer than `common`; always walk the
    /// rarest one (at most [`WALK_BUDGET`] of its newest postings, so a
    /// query of only common words stays bounded too).
    pub(super) fn new(
        mut query: Vec<QueryFeature>,
        unseen: usize,
        weights: &Weights,
        common: usize,
        min_score: f32,
        exclude: Option<u64>,
    ) -> Option<Plan> {
        let norm2 =
            query.iter().map(|q| q.weight).sum::<f32>() + unseen as f32 * weights.unseen().powi(2);
        let query_norm = norm2.sqrt();
        if query.is_empty() || query_norm == 0.0 {
            return None;
        }
        query.sort_by_key(|q| (q.df, q.feature));
        let mut walked = Vec::new();
        let mut spent = 0usize;
        let mut checked = Vec::new();
        for (i, q) in query.iter().enumerate() {
            if i == 0 {
                spent = q.df.min(WALK_BUDGET);
                walked.push((q.feature, q.weight, WALK_BUDGET));
            } else if q.df <= common && spent + q.df <= WALK_BUDGET {
                spent += q.df;
                walked.push((q.feature, q.weight, usize::MAX));
            } else {
                checked.push((q.feature, q.weight));
            }
        }
        checked.sort_by_key(|c| c.0);
        let checked_total = checked.iter().map(|c| c.1).sum();
        Some(Plan {
            walked,
            checked,
            checked_total,
            query_norm,
            min_score,
            exclude,
        })
    }

    /// Scores the candidates of one segment into `top`. Segments are
    /// searched newest first, which is where a capped walk spends its
    /// postings.
    pub(super) fn search(
        &mut self,
        segment: &dyn Segment,
        norms: &[f32],
        acc: &mut Accumulator,
        top: &mut Top,
    ) {
        acc.clear();
        for (f, w, left) in &mut self.walked {
            if *left == 0 {
                continue;
            }
            let list = segment.postings(*f);
            let take = list.len().min(*left);
            *left -= take;
            for &doc in &list[list.len() - take..] {
                acc.add(doc, *w);
            }
        }
        let mut candidates: Vec<Candidate> = Vec::new();
        for &doc in &acc.touched {
            let dot = acc.scores[doc as usize];
            let bound = (dot + self.checked_total) / (self.query_norm * norms[doc as usize]);
            if bound >= self.min_score && top.wants(bound) {
                candidates.push(Candidate { bound, doc, dot });
            }
        }
        // Best bound first, and only as far as the top still wants: a heap
        // (built in linear time) pops the few that get scored instead of
        // sorting every candidate; sorting was a tenth of a submit's CPU.
        let mut candidates = std::collections::BinaryHeap::from(candidates);
        let docs = segment.docs();
        while let Some(Candidate {
            bound,
            doc,
            mut dot,
        }) = candidates.pop()
        {
            if !top.wants(bound) {
                break;
            }
            let id = docs.id(doc as usize);
            if Some(id) == self.exclude {
                continue;
            }
            if !self.checked.is_empty() {
                dot += shared(docs.features(doc as usize), &self.checked);
            }
            let score = dot / (self.query_norm * norms[doc as usize]);
            if score >= self.min_score {
                top.push(Hit { id, score });
            }
        }
    }
}

/// A document a walk found, by the highest score it could still reach.
struct Candidate {
    bound: f32,
    doc: u16,
    dot: f32,
}

impl PartialEq for Candidate {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Candidate {}

impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.bound.total_cmp(&other.bound)
    }
}

/// The summed weights of the `checked` features (sorted) that a document's
/// sorted features contain.
fn shared(features: impl Iterator<Item = u32>, checked: &[(u32, f32)]) -> f32 {
    let mut sum = 0.0;
    let mut i = 0;
    for f in features {
        while i < checked.len() && checked[i].0 < f {
            i += 1;
        }
        if i == checked.len() {
            break;
        }
        if checked[i].0 == f {
            sum += checked[i].1;
            i += 1;
        }
    }
    sum
}

/// Dense per-segment score accumulator, reset through the documents it
/// touched.
pub(super) struct Accumulator {
    scores: Vec<f32>,
    touched: Vec<u16>,
}

impl Accumulator {
    /// One for segments of [`SEGMENT`] documents.
    pub(super) fn new() -> Accumulator {
        Accumulator {
            scores: vec![0.0; SEGMENT],
            touched: Vec::new(),
        }
    }

    fn clear(&mut self) {
        for &d in &self.touched {
            self.scores[d as usize] = 0.0;
        }
        self.touched.clear();
    }

    fn add(&mut self, doc: u16, w: f32) {
        let s = &mut self.scores[doc as usize];
        // Weights are positive, so zero means untouched.
        if *s == 0.0 {
            self.touched.push(doc);
        }
        *s += w;
    }
}

/// The best hits so far, best first (ties by lower id).
pub(super) struct Top {
    limit: usize,
    hits: Vec<Hit>,
}

impl Top {
    /// Room for `limit` hits.
    pub(super) fn new(limit: usize) -> Top {
        Top {
            limit,
            hits: Vec::new(),
        }
    }

    /// Whether a hit scoring `bound` could still enter (a tie could, by a
    /// lower id).
    fn wants(&self, bound: f32) -> bool {
        self.hits.len() < self.limit || self.hits.last().is_some_and(|h| bound >= h.score)
    }

    /// Keeps `hit` if it is among the best `limit` so far.
    pub(super) fn push(&mut self, hit: Hit) {
        let at = self
            .hits
            .partition_point(|h| h.score > hit.score || (h.score == hit.score && h.id < hit.id));
        if at < self.limit {
            self.hits.insert(at, hit);
            self.hits.truncate(self.limit);
        }
    }

    /// The hits, best first.
    pub(super) fn into_hits(self) -> Vec<Hit> {
        self.hits
    }
}
