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
use crate::analysis::{Analysis, Analyzer, Language};
use crate::domain::{Category, KnowledgeKind, OrganizationType, Province, ThemeId};
use crate::index::{Index, MatchKind, TermHit};
use crate::taxonomy::Scoring;
use serde::{Serialize, Serializer};
use std::sync::Arc;

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
    /// Shared with the index (and between contributions), not copied.
    pub term: Arc<str>,
    /// What in the question matched it (folded).
    pub matched: Arc<str>,
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
    /// Why the fit factor is what it is; the factors multiply to `fit`.
    pub fit_reasons: Vec<FitReason>,
    /// Terms and themes that produced the score, largest first.
    pub matched_terms: Vec<Contribution>,
}

/// One factor of a provider's or expert's fit, with the reason for it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum FitReason {
    /// Handles the question's (predicted) category.
    HandlesCategory {
        /// The category.
        category: Category,
        /// The factor, growing with the category's confidence.
        factor: f32,
    },
    /// Serves the asker's type of organisation.
    Serves {
        /// The asker's type.
        organization_type: OrganizationType,
        /// The factor.
        factor: f32,
    },
    /// Serves other types of organisation only.
    DoesNotServe {
        /// The asker's type.
        organization_type: OrganizationType,
        /// The factor.
        factor: f32,
    },
    /// Works in the asker's province.
    InProvince {
        /// The province.
        province: Province,
        /// The factor.
        factor: f32,
    },
    /// A regional provider outside the asker's province.
    OutsideProvince {
        /// The asker's province.
        province: Province,
        /// The factor.
        factor: f32,
    },
    /// A regional provider while the asker's province is not known.
    ProvinceUnknown {
        /// The factor.
        factor: f32,
    },
    /// An expert working at the same type of organisation as the asker.
    SameOrganizationType {
        /// The shared type.
        organization_type: OrganizationType,
        /// The factor.
        factor: f32,
    },
}

impl std::fmt::Display for FitReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FitReason::HandlesCategory { category, factor } => {
                write!(f, "handles {category} ×{factor:.2}")
            }
            FitReason::Serves {
                organization_type,
                factor,
            } => write!(f, "serves {organization_type} ×{factor:.2}"),
            FitReason::DoesNotServe {
                organization_type,
                factor,
            } => {
                write!(f, "does not serve {organization_type} ×{factor:.2}")
            }
            FitReason::InProvince { province, factor } => {
                write!(f, "works in {province} ×{factor:.2}")
            }
            FitReason::OutsideProvince { province, factor } => {
                write!(f, "regional, not in {province} ×{factor:.2}")
            }
            FitReason::ProvinceUnknown { factor } => {
                write!(f, "regional, asker's province unknown ×{factor:.2}")
            }
            FitReason::SameOrganizationType {
                organization_type,
                factor,
            } => {
                write!(f, "also works at a {organization_type} ×{factor:.2}")
            }
        }
    }
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
    query: Arc<str>,
}

fn aggregate(mut hits: Vec<TermHit>, analysis: &Analysis, scoring: &Scoring) -> Vec<Matched> {
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
fn explain(index: &Index, matched: &[Matched], target: u32, fit: f32) -> Vec<Contribution> {
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
    let matched = aggregate(index.find_terms(&analysis, analyzer), &analysis, scoring);

    let groups = index.groups().clone();
    let mut scores = take_scores(index.target_count());
    // Targets that received any evidence, so ranking never scans the whole
    // expert directory.
    let reach: usize = matched
        .iter()
        .map(|m| index.postings(m.term).len())
        .sum::<usize>()
        + index.groups().providers.len();
    let mut touched: Vec<u32> = Vec::with_capacity(reach.min(index.target_count()));
    for m in &matched {
        for p in index.postings(m.term) {
            let slot = &mut scores[p.target as usize];
            if *slot == 0.0 {
                touched.push(p.target);
            }
            *slot += p.weight * m.strength;
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
                    term: format!("theme:{}", def.id()).into(),
                    matched: def.name().to_string().into(),
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
                        term: format!("category:{}", def.category).into(),
                        matched: tax.category_name(def.category).to_string().into(),
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
            let slot = &mut scores[target as usize];
            if *slot == 0.0 {
                touched.push(target);
            }
            *slot += score * scoring.theme_weight * affinity;
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
                    if scores[t as usize] == 0.0 {
                        touched.push(t);
                    }
                    scores[t as usize] += bonus;
                    dedicated.push((t, bonus));
                }
            }
        }
    }

    // Ranking streams over the targets that received evidence (thousands
    // of experts with a large directory) keeping only the best few: a
    // candidate whose evidence cannot beat the current last place even
    // with the best possible fit is skipped before its fit is computed,
    // and fit reasons are only written for the few that are listed.
    let rank = |group: Group<'_>| {
        let max = scoring.max_matches;
        let mut best: Vec<(u32, f32)> = Vec::with_capacity(max + 1);
        let better = |a: &(u32, f32), b: &(u32, f32)| {
            b.1.total_cmp(&a.1).then_with(|| (group.tie)(a.0, b.0))
        };
        for &t in touched.iter().filter(|t| group.range.contains(t)) {
            let raw = scores[t as usize];
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
                            term: format!("theme:{theme}").into(),
                            matched: tax.themes()[i].name().to_string().into(),
                            via: Via::Theme,
                            contribution: s * scoring.theme_weight * affinity * fit,
                        });
                    }
                }
                if let Some(&(_, bonus)) = dedicated.iter().find(|(d, _)| *d == t) {
                    let org = query.organization_type.map_or("", |o| o.as_str());
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
            })
            .collect::<Vec<_>>()
    };

    let confident_category = best.map(|c| (c, confidence));
    let provider_fit = |t: u32, explain: bool| {
        let p = index.provider(t);
        let mut fit = 1.0f32;
        let mut reasons = Vec::new();
        if let Some((c, conf)) = confident_category {
            if p.categories.contains(&c) {
                let f = 1.0 + scoring.category_weight * conf;
                fit *= f;
                note(&mut reasons, explain, || FitReason::HandlesCategory {
                    category: c,
                    factor: f,
                });
            }
        }
        if let Some(org) = query.organization_type {
            if p.serves.contains(&org) {
                fit *= scoring.serves_factor;
                note(&mut reasons, explain, || FitReason::Serves {
                    organization_type: org,
                    factor: scoring.serves_factor,
                });
            } else if !p.serves.is_empty() {
                fit *= scoring.not_served_factor;
                note(&mut reasons, explain, || FitReason::DoesNotServe {
                    organization_type: org,
                    factor: scoring.not_served_factor,
                });
            }
        }
        if !p.regions.is_empty() {
            match query.region {
                Some(r) if p.regions.contains(&r) => {
                    fit *= scoring.same_region_factor;
                    note(&mut reasons, explain, || FitReason::InProvince {
                        province: r,
                        factor: scoring.same_region_factor,
                    });
                }
                Some(r) => {
                    fit *= scoring.other_region_factor;
                    note(&mut reasons, explain, || FitReason::OutsideProvince {
                        province: r,
                        factor: scoring.other_region_factor,
                    });
                }
                None => {
                    fit *= scoring.unknown_region_factor;
                    note(&mut reasons, explain, || FitReason::ProvinceUnknown {
                        factor: scoring.unknown_region_factor,
                    });
                }
            }
        }
        Some((fit, reasons))
    };
    let expert_fit = |t: u32, explain: bool| {
        // The compact traits, not the `Expert` record: thousands of
        // candidates are weighed per question, and the records are large and
        // scattered in memory.
        let e = index.expert_traits(t);
        if !e.available {
            return None;
        }
        let mut fit = 1.0f32;
        let mut reasons = Vec::new();
        if let Some((c, conf)) = confident_category {
            if e.handles(c) {
                let f = 1.0 + scoring.category_weight * conf;
                fit *= f;
                note(&mut reasons, explain, || FitReason::HandlesCategory {
                    category: c,
                    factor: f,
                });
            }
        }
        if query.organization_type == Some(e.organization_type) {
            fit *= scoring.same_org_type_factor;
            note(&mut reasons, explain, || FitReason::SameOrganizationType {
                organization_type: e.organization_type,
                factor: scoring.same_org_type_factor,
            });
        }
        if let (Some(asker), Some(region)) = (query.region, e.region) {
            if asker == region {
                fit *= scoring.same_region_factor;
                note(&mut reasons, explain, || FitReason::InProvince {
                    province: region,
                    factor: scoring.same_region_factor,
                });
            }
        }
        Some((fit, reasons))
    };
    let all_experts_fit = scoring.same_org_type_factor.max(1.0)
        * scoring.same_region_factor.max(1.0)
        * (1.0 + scoring.category_weight.max(0.0));
    // Every factor a provider's fit can contain, at its largest.
    let provider_max_fit = (1.0 + scoring.category_weight.max(0.0))
        * scoring
            .serves_factor
            .max(scoring.not_served_factor)
            .max(1.0)
        * scoring
            .same_region_factor
            .max(scoring.other_region_factor)
            .max(scoring.unknown_region_factor)
            .max(1.0);
    let providers = rank(Group {
        range: groups.providers.clone(),
        fit: &provider_fit,
        max_fit: provider_max_fit,
        tie: &|a, b| index.provider(a).id().cmp(index.provider(b).id()),
    });
    let experts = rank(Group {
        range: groups.experts.clone(),
        fit: &expert_fit,
        max_fit: all_experts_fit,
        // Experts are numbered in id order.
        tie: &|a, b| a.cmp(&b),
    });

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

    give_back_scores(scores, &touched, groups.providers.end as usize);

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

thread_local! {
    /// One score array per thread, reused across requests: with a large
    /// expert directory, allocating and zeroing it for every question costs
    /// more than the scoring itself. Between uses it is all zeros.
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

/// Zeroes what a classification wrote (the `touched` targets and every
/// target below `fixed`) and keeps the array for the next one. An array
/// that is never given back (a panic) is simply allocated anew.
fn give_back_scores(mut scores: Vec<f32>, touched: &[u32], fixed: usize) {
    for &t in touched {
        scores[t as usize] = 0.0;
    }
    let fixed = fixed.min(scores.len());
    scores[..fixed].fill(0.0);
    SCORES.with(|s| *s.borrow_mut() = scores);
}

/// One group of targets to rank (providers or experts) and how.
struct Group<'a> {
    range: std::ops::Range<u32>,
    /// The fit factor (and, when asked, its reasons); `None`: not listed.
    fit: &'a dyn Fn(u32, bool) -> Option<(f32, Vec<FitReason>)>,
    /// The largest fit factor possible, for skipping hopeless candidates.
    max_fit: f32,
    /// Order of targets with equal scores.
    tie: &'a dyn Fn(u32, u32) -> std::cmp::Ordering,
}

/// Records a fit reason only when it will be shown: thousands of
/// candidates are weighed for every listed one.
fn note(reasons: &mut Vec<FitReason>, explain: bool, reason: impl FnOnce() -> FitReason) {
    if explain {
        reasons.push(reason());
    }
}
