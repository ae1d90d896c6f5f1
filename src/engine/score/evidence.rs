//! Evidence: the question's matched terms (aggregated and saturated), the
//! score array every phase adds to, and the explanation of a target's score
//! term by term.
//!
//! The score array is reused per thread and only the entries a question
//! wrote are zeroed afterwards: with a large expert directory, allocating
//! and zeroing it for every question costs more than the scoring itself.

use super::{Contribution, Via};
use crate::analysis::Analysis;
use crate::index::{Index, MatchKind, TermHit};
use crate::taxonomy::Scoring;
use std::sync::Arc;

/// A matched term after aggregation: how often (saturated) and how first seen.
pub(super) struct Matched {
    /// The term number in the index.
    pub(super) term: u32,
    /// `s = n·(1+k)/(n+k)` for the (factored) number of times it was found.
    pub(super) strength: f32,
    /// How it was first matched.
    pub(super) via: Via,
    /// What in the question matched it first (folded).
    pub(super) query: Arc<str>,
}

/// Folds the hits of one term into one [`Matched`] each, counting phrases,
/// compound parts and typos by their factors and saturating the count.
pub(super) fn aggregate(
    mut hits: Vec<TermHit>,
    analysis: &Analysis,
    scoring: &Scoring,
) -> Vec<Matched> {
    hits.sort_by_key(|h| (h.term, h.kind));
    let mut out: Vec<Matched> = Vec::new();
    let mut count = 0.0f32;
    for hit in hits {
        let factor = match hit.kind {
            MatchKind::Phrase => scoring.phrase_factor,
            MatchKind::Word => 1.0,
            MatchKind::CompoundPart => scoring.compound_factor,
            MatchKind::Typo => scoring.typo_factor,
        };
        match out.last_mut() {
            Some(last) if last.term == hit.term => count += factor,
            _ => {
                if let Some(last) = out.last_mut() {
                    last.strength = saturate(count, scoring.saturation_k);
                }
                count = factor;
                out.push(Matched {
                    term: hit.term,
                    strength: 0.0,
                    via: hit.kind.into(),
                    query: Arc::from(hit.text(analysis)),
                });
            }
        }
    }
    if let Some(last) = out.last_mut() {
        last.strength = saturate(count, scoring.saturation_k);
    }
    out
}

fn saturate(n: f32, k: f32) -> f32 {
    n * (1.0 + k) / (n + k)
}

/// The term contributions of one target, scaled by `fit`, largest first.
pub(super) fn explain(
    index: &Index,
    matched: &[Matched],
    target: u32,
    fit: f32,
) -> Vec<Contribution> {
    let mut out: Vec<Contribution> = matched
        .iter()
        .filter_map(|m| {
            index.posting_weight(m.term, target).map(|w| Contribution {
                term: index.term(m.term).display.clone(),
                matched: m.query.clone(),
                via: m.via,
                contribution: w * m.strength * fit,
            })
        })
        .collect();
    sort_contributions(&mut out);
    out
}

/// The contributions of a category or theme: its own terms' and those
/// other phases gave it (`given`, keyed by what they were given to), largest
/// first.
pub(super) fn explain_with<K: PartialEq>(
    index: &Index,
    matched: &[Matched],
    target: u32,
    given: &[(K, Contribution)],
    key: K,
) -> Vec<Contribution> {
    let mut out = explain(index, matched, target, 1.0);
    out.extend(
        given
            .iter()
            .filter(|(k, _)| *k == key)
            .map(|(_, c)| c.clone()),
    );
    sort_contributions(&mut out);
    out
}

/// Orders contributions largest first, equal ones by term, so explanations
/// are repeatable.
pub(super) fn sort_contributions(c: &mut [Contribution]) {
    c.sort_by(|a, b| {
        b.contribution
            .total_cmp(&a.contribution)
            .then_with(|| a.term.cmp(&b.term))
    });
}

/// The score of every target for one question, and which targets outside
/// the fixed groups (categories, themes, kinds, providers) received any.
pub(super) struct Evidence {
    /// One entry per target number; see [`Index::target_kind`].
    scores: Vec<f32>,
    /// Targets whose score became non-zero through [`Evidence::add`], so
    /// ranking never scans the whole expert directory.
    touched: Vec<u32>,
}

impl Evidence {
    /// The term evidence of a question: `Σ weight × idf × s` for every
    /// target over its matched terms.
    pub(super) fn of_terms(index: &Index, matched: &[Matched]) -> Evidence {
        let scores = take_scores(index.target_count());
        let reach: usize = matched
            .iter()
            .map(|m| index.postings(m.term).len())
            .sum::<usize>()
            + index.groups().providers.len();
        let touched = Vec::with_capacity(reach.min(index.target_count()));
        let mut evidence = Evidence { scores, touched };
        for m in matched {
            for p in index.postings(m.term) {
                evidence.add(p.target, p.weight * m.strength);
            }
        }
        evidence
    }

    /// The score of `target` so far.
    #[inline]
    pub(super) fn get(&self, target: u32) -> f32 {
        self.scores[target as usize]
    }

    /// Adds `amount` to the score of `target`, noting it as touched when it
    /// had none.
    #[inline]
    pub(super) fn add(&mut self, target: u32, amount: f32) {
        let slot = &mut self.scores[target as usize];
        if *slot == 0.0 {
            self.touched.push(target);
        }
        *slot += amount;
    }

    /// Adds `amount` to a target of the fixed groups (below the end of the
    /// providers), which are zeroed wholesale and so not noted as touched.
    #[inline]
    pub(super) fn add_fixed(&mut self, target: u32, amount: f32) {
        self.scores[target as usize] += amount;
    }

    /// Targets that received evidence through [`Evidence::add`], in the
    /// order they first did.
    pub(super) fn touched(&self) -> &[u32] {
        &self.touched
    }

    /// Zeroes what this question wrote (the touched targets and every
    /// target below `fixed`) and keeps the array for the thread's next
    /// question. An array that is never given back (a panic) is simply
    /// allocated anew.
    pub(super) fn give_back(self, fixed: usize) {
        let Evidence {
            mut scores,
            touched,
        } = self;
        for &t in &touched {
            scores[t as usize] = 0.0;
        }
        let fixed = fixed.min(scores.len());
        scores[..fixed].fill(0.0);
        SCORES.with(|s| *s.borrow_mut() = scores);
    }
}

thread_local! {
    /// One score array per thread, reused across requests. Between uses it
    /// is all zeros.
    static SCORES: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// This thread's zeroed score array, sized for `len` targets.
fn take_scores(len: usize) -> Vec<f32> {
    let mut scores = SCORES.with(|s| std::mem::take(&mut *s.borrow_mut()));
    if scores.len() != len {
        scores.clear();
        scores.resize(len, 0.0);
    }
    scores
}
