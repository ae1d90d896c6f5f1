//! Phase 4, providers and experts: the evidence they get beyond
//! their own terms (the reported themes they cover; dedication to the
//! asker's type of organisation), and their ranking by evidence × fit.

use super::evidence::{explain, sort_contributions, Evidence, Matched};
use super::fit::{self, Asker, FitReason};
use super::{Contribution, RankedMatch, Via};
use crate::domain::{OrganizationType, ThemeId};
use crate::index::{Index, TargetKind};
use std::ops::Range;

/// Adds the evidence of the reported themes to the providers and experts
/// covering them: `theme score × theme_weight × affinity`.
pub(super) fn add_theme_evidence(index: &Index, themes: &[(usize, f32)], evidence: &mut Evidence) {
    let theme_weight = index.taxonomy().scoring().theme_weight;
    for &(theme, score) in themes {
        for &(target, affinity) in index.theme_members(theme) {
            evidence.add(target, score * theme_weight * affinity);
        }
    }
}

/// Adds evidence to the providers dedicated to the asker's type of
/// organisation (their `serves` lists only that type): a share of the best
/// provider's or category's evidence. Returns them with what they got.
pub(super) fn add_dedicated(
    index: &Index,
    organization_type: Option<OrganizationType>,
    best_category_score: f32,
    evidence: &mut Evidence,
) -> Vec<(u32, f32)> {
    let mut dedicated: Vec<(u32, f32)> = Vec::new();
    let Some(org) = organization_type else {
        return dedicated;
    };
    let providers = index.groups().providers.clone();
    // Even a question that names no provider's topic is about the member's
    // own organisation when it has category evidence.
    let best_evidence = providers
        .clone()
        .map(|t| evidence.get(t))
        .fold(best_category_score, f32::max);
    if best_evidence > 0.0 {
        for t in providers {
            if index.provider(t).serves == [org] {
                let bonus = index.taxonomy().scoring().dedicated_share * best_evidence;
                evidence.add(t, bonus);
                dedicated.push((t, bonus));
            }
        }
    }
    dedicated
}

/// What ranking reads: the question's evidence and what explains it.
pub(super) struct Ranking<'a> {
    /// The index the question is scored against.
    pub(super) index: &'a Index,
    /// The question's matched terms.
    pub(super) matched: &'a [Matched],
    /// The reported themes: (position in the taxonomy, score).
    pub(super) themes: &'a [(usize, f32)],
    /// The providers dedicated to the asker's type, with their bonus.
    pub(super) dedicated: &'a [(u32, f32)],
    /// The evidence of every target.
    pub(super) evidence: &'a Evidence,
    /// The asker and the predicted category, for the fit.
    pub(super) asker: Asker<'a>,
}

/// One group of targets to rank (providers or experts) and how.
struct Group<'a> {
    range: Range<u32>,
    /// The fit factor (and, when asked, its reasons); `None`: not listed.
    fit: &'a dyn Fn(u32, bool) -> Option<(f32, Vec<FitReason>)>,
    /// The largest fit factor possible, for skipping hopeless candidates.
    max_fit: f32,
    /// Order of targets with equal scores.
    tie: &'a dyn Fn(u32, u32) -> std::cmp::Ordering,
}

impl Ranking<'_> {
    /// The best providers, best first.
    pub(super) fn providers(&self) -> Vec<RankedMatch> {
        let index = self.index;
        let asker = &self.asker;
        self.rank(Group {
            range: index.groups().providers.clone(),
            fit: &|t, explain| fit::provider(asker, index.provider(t), explain),
            max_fit: fit::provider_max(asker.scoring),
            tie: &|a, b| index.provider(a).id().cmp(index.provider(b).id()),
        })
    }

    /// The best available experts, best first.
    pub(super) fn experts(&self) -> Vec<RankedMatch> {
        let index = self.index;
        let asker = &self.asker;
        self.rank(Group {
            range: index.groups().experts.clone(),
            fit: &|t, explain| fit::expert(asker, &index.expert_traits(t), explain),
            max_fit: fit::expert_max(asker.scoring),
            // Experts are numbered in id order.
            tie: &|a, b| a.cmp(&b),
        })
    }

    /// Streams over the targets that received evidence (thousands of
    /// experts with a large directory) keeping only the best few: a
    /// candidate whose evidence cannot beat the current last place even
    /// with the best possible fit is skipped before its fit is computed,
    /// and fit reasons are only written for the few that are listed.
    fn rank(&self, group: Group<'_>) -> Vec<RankedMatch> {
        let max = self.asker.scoring.max_matches;
        let mut best: Vec<(u32, f32)> = Vec::with_capacity(max + 1);
        let better = |a: &(u32, f32), b: &(u32, f32)| {
            b.1.total_cmp(&a.1).then_with(|| (group.tie)(a.0, b.0))
        };
        for &t in self
            .evidence
            .touched()
            .iter()
            .filter(|t| group.range.contains(t))
        {
            let raw = self.evidence.get(t);
            if best.len() == max {
                match best.last() {
                    Some(last) if raw * group.max_fit < last.1 => continue,
                    None => break,
                    _ => {}
                }
            }
            let Some((f, _)) = (group.fit)(t, false) else {
                continue;
            };
            let candidate = (t, raw * f);
            let at = best.partition_point(|b| better(b, &candidate).is_lt());
            if at < max {
                best.insert(at, candidate);
                best.truncate(max);
            }
        }
        let fit = group.fit;
        best.into_iter()
            .filter_map(|(t, score)| fit(t, true).map(|(fit, reasons)| (t, score, fit, reasons)))
            .map(|(t, score, fit, fit_reasons)| self.listed(t, score, fit, fit_reasons))
            .collect()
    }

    /// A listed provider or expert with the contributions that make its
    /// score, each scaled by its fit.
    fn listed(&self, t: u32, score: f32, fit: f32, fit_reasons: Vec<FitReason>) -> RankedMatch {
        let index = self.index;
        let tax = index.taxonomy();
        let theme_weight = tax.scoring().theme_weight;
        let (id, name, theme_ids): (String, String, &[ThemeId]) = match index.target_kind(t) {
            TargetKind::Provider(_) => {
                let p = index.provider(t);
                (p.id().to_string(), p.name().to_string(), p.themes())
            }
            _ => {
                let e = index.expert(t);
                (e.id().to_string(), e.name().to_string(), e.themes())
            }
        };
        let mut matched_terms = explain(index, self.matched, t, fit);
        for (pos, theme) in theme_ids.iter().enumerate() {
            if let Some(&(i, s)) = self
                .themes
                .iter()
                .find(|(i, _)| tax.themes()[*i].id() == theme)
            {
                let affinity = crate::index::theme_affinity(pos);
                matched_terms.push(Contribution::theme(
                    &tax.themes()[i],
                    s * theme_weight * affinity * fit,
                ));
            }
        }
        if let Some(&(_, bonus)) = self.dedicated.iter().find(|(d, _)| *d == t) {
            let org = self.asker.organization_type.map_or("", |o| o.as_str());
            matched_terms.push(Contribution {
                term: format!("serves:{org}").into(),
                matched: format!("exists for {org} members").into(),
                via: Via::Dedicated,
                contribution: bonus * fit,
            });
        }
        sort_contributions(&mut matched_terms);
        RankedMatch {
            id,
            name,
            score,
            fit,
            fit_reasons,
            matched_terms,
        }
    }
}
