//! Scoring: matched terms → category, themes, knowledge kind, ranked
//! providers and experts, each with the terms that produced it.
//!
//! The arithmetic, in one place so that it can be explained to a user:
//!
//! * A term found `n` times (phrases counting `phrase_factor` each, compound
//!   parts `compound_factor`, typos `typo_factor`) counts
//!   `s = n·(1+k)/(n+k)` times (saturation).
//! * A target's term score is `Σ weight × idf × s` over its matched terms
//!   (`weight × idf` is precomputed in the postings).
//! * Category: the highest term score; confidence `best / (total + damping)`.
//!   All zero: no category (`NONE`), never a guess. Ties go to the category
//!   listed first in Tabel 3.1 order.
//! * Themes: every theme scoring at least `theme_min_score` and
//!   `theme_relative` × the best theme.
//! * Knowledge kind: term score + `kind_prior_weight` × the kind's share in
//!   the study.
//! * Providers and experts: evidence = own term score + Σ over reported
//!   themes of `theme score × theme_weight × affinity`; then multiplied by a
//!   fit factor (handles the predicted category, serves the asker's
//!   organisation type, region, same organisation type). Without evidence a
//!   provider is not listed, whatever its fit.

use super::Query;
use crate::analysis::{Analyzer, Language};
use crate::domain::{Category, KnowledgeKind, ThemeId};
use crate::index::{Index, MatchKind, TermHit};
use crate::taxonomy::Scoring;
use serde::{Serialize, Serializer};

/// How a contribution came about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// A multi-word term matched as a phrase.
    Phrase,
    /// A word or its stem.
    Word,
    /// A part of a compound word.
    CompoundPart,
    /// A word with one typo.
    Typo,
    /// A theme the target covers.
    Theme,
    /// The provider exists for the asker's type of organisation.
    Dedicated,
    /// A category whose questions are about this theme by nature.
    Category,
}

impl From<MatchKind> for Via {
    fn from(kind: MatchKind) -> Self {
        match kind {
            MatchKind::Phrase => Via::Phrase,
            MatchKind::Word => Via::Word,
            MatchKind::CompoundPart => Via::CompoundPart,
            MatchKind::Typo => Via::Typo,
        }
    }
}

/// One reason a target scored: a term (or theme) and how much it added.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contribution {
    /// The taxonomy or expertise term, or `theme:<id>` for a theme.
    pub term: String,
    /// What in the question matched it (folded).
    pub matched: String,
    /// How it matched.
    pub via: Via,
    /// Points added to the target's score.
    pub contribution: f32,
}

/// A category with its score and reasons.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CategoryScore {
    /// The category.
    pub category: Category,
    /// Its term score.
    pub score: f32,
    /// The terms that produced it, largest first.
    pub matched_terms: Vec<Contribution>,
}

/// A theme found in the question.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThemeScore {
    /// The theme's id.
    pub id: ThemeId,
    /// Its display name.
    pub name: String,
    /// Its term score.
    pub score: f32,
    /// The terms that produced it, largest first.
    pub matched_terms: Vec<Contribution>,
}

/// A provider or expert proposed for the question.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RankedMatch {
    /// Provider or expert id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Final score: the sum of the contributions.
    pub score: f32,
    /// The fit factor already applied to every contribution (1 = neutral).
    pub fit: f32,
    /// Why the fit factor is what it is, e.g. `serves GEMEENTE ×1.2`.
    pub fit_reasons: Vec<String>,
    /// Terms and themes that produced the score, largest first.
    pub matched_terms: Vec<Contribution>,
}

/// The engine's answer for one question.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Classification {
    /// The best category; `None` (serialised as `NONE`) when no category
    /// term matched at all.
    #[serde(serialize_with = "category_or_none")]
    pub category: Option<Category>,
    /// Confidence in `category`, 0 to 1.
    pub confidence: f32,
    /// All four categories with their scores, in Tabel 3.1 order.
    pub category_scores: Vec<CategoryScore>,
    /// Themes found, best first.
    pub themes: Vec<ThemeScore>,
    /// Where the knowledge probably lives; `None` when nothing matched.
    pub knowledge_kind: Option<KnowledgeKind>,
    /// Providers, best first.
    pub providers: Vec<RankedMatch>,
    /// Available experts, best first.
    pub experts: Vec<RankedMatch>,
    /// Version of the index that produced this classification.
    pub index_version: u64,
    /// The language the text was analysed in.
    pub language: Language,
}

fn category_or_none<S: Serializer>(c: &Option<Category>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(c.map_or("NONE", Category::as_str))
}

/// A matched term after aggregation: how often (saturated) and how first seen.
struct Matched {
    term: u32,
    strength: f32,
    via: Via,
    query: String,
}

fn aggregate(mut hits: Vec<TermHit>, scoring: &Scoring) -> Vec<Matched> {
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
                    query: hit.query,
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
fn explain(index: &Index, matched: &[Matched], target: u32, fit: f32) -> Vec<Contribution> {
    let mut out: Vec<Contribution> = matched
        .iter()
        .filter_map(|m| {
            index.posting_weight(m.term, target).map(|w| Contribution {
                term: index.term(m.term).display.to_string(),
                matched: m.query.clone(),
                via: m.via,
                contribution: w * m.strength * fit,
            })
        })
        .collect();
    sort_contributions(&mut out);
    out
}

fn sort_contributions(c: &mut [Contribution]) {
    c.sort_by(|a, b| {
        b.contribution
            .total_cmp(&a.contribution)
            .then_with(|| a.term.cmp(&b.term))
    });
}

pub(super) fn classify(index: &Index, analyzer: &Analyzer, query: &Query<'_>) -> Classification {
    let tax = index.taxonomy();
    let scoring = tax.scoring();
    let analysis = analyzer.analyze(query.text, query.language);
    let matched = aggregate(index.find_terms(&analysis, analyzer), scoring);

    let groups = index.groups().clone();
    let mut scores = vec![0.0f32; index.target_count()];
    for m in &matched {
        for p in index.postings(m.term) {
            scores[p.target as usize] += p.weight * m.strength;
        }
    }

    // Categories: their own terms plus the evidence of themes that count
    // towards them.
    let theme_score = |i: usize| scores[groups.themes.start as usize + i];
    let mut cat_scores = [0.0f32; 4];
    for c in Category::ALL {
        cat_scores[c.index()] = scores[groups.categories.start as usize + c.index()];
    }
    let mut via_themes: Vec<(Category, Contribution)> = Vec::new();
    for (i, def) in tax.themes().iter().enumerate() {
        let s = theme_score(i);
        if s <= 0.0 || def.categories.is_empty() {
            continue;
        }
        // Logarithmic: a question that repeats a theme's words ten times
        // is not ten times more SPECIFIC.
        let share = scoring.theme_category_weight * s.ln_1p() / def.categories.len() as f32;
        for &c in &def.categories {
            cat_scores[c.index()] += share;
            via_themes.push((
                c,
                Contribution {
                    term: format!("theme:{}", def.id()),
                    matched: def.name().to_string(),
                    via: Via::Theme,
                    contribution: share,
                },
            ));
        }
    }
    let cat = |c: Category| cat_scores[c.index()];
    let total: f32 = cat_scores.iter().sum();
    let best = Category::ALL
        .iter()
        .copied()
        .fold(None, |best: Option<Category>, c| match best {
            Some(b) if cat(b) >= cat(c) => Some(b),
            _ => Some(c),
        })
        .filter(|_| total > 0.0);
    let confidence = best.map_or(0.0, |c| cat(c) / (total + scoring.confidence_damping));
    let category_scores = Category::ALL
        .iter()
        .map(|&c| {
            let mut matched_terms = explain(
                index,
                &matched,
                groups.categories.start + c.index() as u32,
                1.0,
            );
            matched_terms.extend(
                via_themes
                    .iter()
                    .filter(|(vc, _)| *vc == c)
                    .map(|(_, t)| t.clone()),
            );
            sort_contributions(&mut matched_terms);
            CategoryScore {
                category: c,
                score: cat(c),
                matched_terms,
            }
        })
        .collect();

    // Themes, with the evidence of categories that imply them.
    let mut theme_scores: Vec<f32> = (0..tax.themes().len()).map(theme_score).collect();
    let mut theme_via_category: Vec<(usize, Contribution)> = Vec::new();
    for def in &tax.categories {
        let own = scores[groups.categories.start as usize + def.category.index()];
        if own <= 0.0 {
            continue;
        }
        for theme in &def.themes {
            if let Some(i) = tax.themes().iter().position(|t| t.id() == theme) {
                let add = own * scoring.category_theme_weight;
                theme_scores[i] += add;
                scores[groups.themes.start as usize + i] += add;
                theme_via_category.push((
                    i,
                    Contribution {
                        term: format!("category:{}", def.category),
                        matched: tax.category_name(def.category).to_string(),
                        via: Via::Category,
                        contribution: add,
                    },
                ));
            }
        }
    }
    let theme_score = |i: usize| theme_scores[i];
    let top_theme = (0..tax.themes().len())
        .map(theme_score)
        .fold(0.0f32, f32::max);
    let mut themes: Vec<(usize, f32)> = (0..tax.themes().len())
        .map(|i| (i, theme_score(i)))
        .filter(|&(_, s)| {
            s > 0.0 && s >= scoring.theme_min_score && s >= scoring.theme_relative * top_theme
        })
        .collect();
    themes.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));

    // Knowledge kind.
    let knowledge_kind = (!matched.is_empty()).then(|| {
        let kind_score = |k: KnowledgeKind| {
            let prior = tax
                .kinds
                .iter()
                .find(|d| d.kind == k)
                .map_or(0.0, |d| d.prior);
            scores[groups.kinds.start as usize + k.index()] + scoring.kind_prior_weight * prior
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
    });

    // Theme evidence for providers and experts.
    for &(theme, score) in &themes {
        for &(target, affinity) in index.theme_members(theme) {
            scores[target as usize] += score * scoring.theme_weight * affinity;
        }
    }

    // Providers dedicated to the asker's type of organisation.
    let mut dedicated: Vec<(u32, f32)> = Vec::new();
    if let Some(org) = query.organization_type {
        // Even a question that names no provider's topic is about the
        // member's own organisation when it has category evidence.
        let best_evidence = groups
            .providers
            .clone()
            .map(|t| scores[t as usize])
            .fold(best.map_or(0.0, cat), f32::max);
        if best_evidence > 0.0 {
            for t in groups.providers.clone() {
                if index.provider(t).serves == [org] {
                    let bonus = scoring.dedicated_share * best_evidence;
                    scores[t as usize] += bonus;
                    dedicated.push((t, bonus));
                }
            }
        }
    }

    let rank = |range: std::ops::Range<u32>, fit: &dyn Fn(u32) -> Option<(f32, Vec<String>)>| {
        let mut candidates: Vec<(u32, f32, f32, Vec<String>)> = range
            .filter(|&t| scores[t as usize] > 0.0)
            .filter_map(|t| fit(t).map(|(f, reasons)| (t, scores[t as usize] * f, f, reasons)))
            .collect();
        let key = |t: u32| match index.target_kind(t) {
            crate::index::TargetKind::Provider(_) => index.provider(t).id().as_str(),
            _ => index.expert(t).id().as_str(),
        };
        candidates.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| key(a.0).cmp(key(b.0))));
        candidates.truncate(scoring.max_matches);
        candidates
            .into_iter()
            .map(|(t, score, fit, fit_reasons)| {
                let (id, name, theme_ids): (String, String, &[ThemeId]) = match index.target_kind(t)
                {
                    crate::index::TargetKind::Provider(_) => {
                        let p = index.provider(t);
                        (p.id().to_string(), p.name().to_string(), p.themes())
                    }
                    _ => {
                        let e = index.expert(t);
                        (e.id().to_string(), e.name().to_string(), e.themes())
                    }
                };
                let mut matched_terms = explain(index, &matched, t, fit);
                for (pos, theme) in theme_ids.iter().enumerate() {
                    if let Some(&(i, s)) =
                        themes.iter().find(|(i, _)| tax.themes()[*i].id() == theme)
                    {
                        let affinity = crate::index::theme_affinity(pos);
                        matched_terms.push(Contribution {
                            term: format!("theme:{theme}"),
                            matched: tax.themes()[i].name().to_string(),
                            via: Via::Theme,
                            contribution: s * scoring.theme_weight * affinity * fit,
                        });
                    }
                }
                if let Some(&(_, bonus)) = dedicated.iter().find(|(d, _)| *d == t) {
                    let org = query.organization_type.map_or("", |o| o.as_str());
                    matched_terms.push(Contribution {
                        term: format!("serves:{org}"),
                        matched: format!("exists for {org} members"),
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
            })
            .collect::<Vec<_>>()
    };

    let confident_category = best.map(|c| (c, confidence));
    let provider_fit = |t: u32| {
        let p = index.provider(t);
        let mut fit = 1.0f32;
        let mut reasons = Vec::new();
        if let Some((c, conf)) = confident_category {
            if p.categories.contains(&c) {
                let f = 1.0 + scoring.category_weight * conf;
                fit *= f;
                reasons.push(format!("handles {c} ×{f:.2}"));
            }
        }
        if let Some(org) = query.organization_type {
            if p.serves.contains(&org) {
                fit *= scoring.serves_factor;
                reasons.push(format!("serves {org} ×{:.2}", scoring.serves_factor));
            } else if !p.serves.is_empty() {
                fit *= scoring.not_served_factor;
                reasons.push(format!(
                    "does not serve {org} ×{:.2}",
                    scoring.not_served_factor
                ));
            }
        }
        if !p.regions.is_empty() {
            match query.region {
                Some(r) if p.regions.contains(&r) => {
                    fit *= scoring.same_region_factor;
                    reasons.push(format!("works in {r} ×{:.2}", scoring.same_region_factor));
                }
                Some(r) => {
                    fit *= scoring.other_region_factor;
                    reasons.push(format!(
                        "regional, not in {r} ×{:.2}",
                        scoring.other_region_factor
                    ));
                }
                None => {
                    fit *= scoring.unknown_region_factor;
                    reasons.push(format!(
                        "regional, asker's province unknown ×{:.2}",
                        scoring.unknown_region_factor
                    ));
                }
            }
        }
        Some((fit, reasons))
    };
    let expert_fit = |t: u32| {
        let e = index.expert(t);
        if !e.available() {
            return None;
        }
        let mut fit = 1.0f32;
        let mut reasons = Vec::new();
        if let Some((c, conf)) = confident_category {
            if e.categories().contains(&c) {
                let f = 1.0 + scoring.category_weight * conf;
                fit *= f;
                reasons.push(format!("handles {c} ×{f:.2}"));
            }
        }
        if query.organization_type == Some(e.organization_type()) {
            fit *= scoring.same_org_type_factor;
            reasons.push(format!(
                "also works at a {} ×{:.2}",
                e.organization_type(),
                scoring.same_org_type_factor
            ));
        }
        if let (Some(asker), Some(region)) = (query.region, e.region()) {
            if asker == region {
                fit *= scoring.same_region_factor;
                reasons.push(format!(
                    "works in {region} ×{:.2}",
                    scoring.same_region_factor
                ));
            }
        }
        Some((fit, reasons))
    };
    let providers = rank(groups.providers.clone(), &provider_fit);
    let experts = rank(groups.experts.clone(), &expert_fit);

    let themes = themes
        .into_iter()
        .map(|(i, score)| ThemeScore {
            id: tax.themes()[i].id().clone(),
            name: tax.themes()[i].name().to_string(),
            score,
            matched_terms: {
                let mut terms = explain(index, &matched, groups.themes.start + i as u32, 1.0);
                terms.extend(
                    theme_via_category
                        .iter()
                        .filter(|(t, _)| *t == i)
                        .map(|(_, c)| c.clone()),
                );
                sort_contributions(&mut terms);
                terms
            },
        })
        .collect();

    Classification {
        category: best,
        confidence,
        category_scores,
        themes,
        knowledge_kind,
        providers,
        experts,
        index_version: index.version(),
        language: analysis.language,
    }
}
