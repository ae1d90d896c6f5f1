//! Phase 3, the knowledge kind: where the knowledge probably lives, from
//! the kinds' term scores and their shares in the study.

use super::evidence::{Evidence, Matched};
use crate::domain::KnowledgeKind;
use crate::index::Index;

/// The most likely knowledge kind: term score + `kind_prior_weight` × the
/// kind's share in the study. `None` when nothing in the question matched;
/// with matches but no kind terms, the prior decides. A tie with
/// [`KnowledgeKind::Tacit`], the study's most common kind, goes to it.
pub(super) fn predict(
    index: &Index,
    evidence: &Evidence,
    matched: &[Matched],
) -> Option<KnowledgeKind> {
    let tax = index.taxonomy();
    let scoring = tax.scoring();
    let kinds = index.groups().kinds.start;
    (!matched.is_empty()).then(|| {
        let kind_score = |k: KnowledgeKind| {
            let prior = tax
                .kinds
                .iter()
                .find(|d| d.kind == k)
                .map_or(0.0, |d| d.prior);
            evidence.get(kinds + k.index() as u32) + scoring.kind_prior_weight * prior
        };
        KnowledgeKind::ALL
            .iter()
            .copied()
            .fold(KnowledgeKind::Tacit, |best, k| {
                if kind_score(k) > kind_score(best) {
                    k
                } else {
                    best
                }
            })
    })
}
