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
//!
//! [`classify`] runs the phases in order, each in its own module, all
//! reading and adding to one [`Evidence`](evidence::Evidence) array of
//! target scores:
//!
//! 1. [`categories`]: the category and the confidence in it;
//! 2. [`themes`]: the themes, with the evidence of the categories that
//!    imply them;
//! 3. [`kind`]: the knowledge kind;
//! 4. [`rank`]: providers, then experts, by evidence × [`fit`].
//!
//! This file holds the public result types and [`classify`].

mod categories;
mod evidence;
mod fit;
mod kind;
mod rank;
mod themes;

pub use fit::FitReason;

use super::Query;
use crate::analysis::{Analyzer, Language};
use crate::domain::{Category, KnowledgeKind, ThemeId};
use crate::index::{Index, MatchKind};
use crate::taxonomy::ThemeDef;
use evidence::Evidence;
use fit::Asker;
use rank::Ranking;
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

impl Contribution {
    /// What a theme adds to a category, provider or expert.
    fn theme(def: &ThemeDef, contribution: f32) -> Contribution {
        Contribution {
            term: format!("theme:{}", def.id()).into(),
            matched: Arc::from(def.name()),
            via: Via::Theme,
            contribution,
        }
    }
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

/// Classifies a question against `index`: the phases in order.
pub(super) fn classify(index: &Index, analyzer: &Analyzer, query: &Query<'_>) -> Classification {
    let scoring = index.taxonomy().scoring();
    let analysis = analyzer.analyze(query.text, query.language);
    let matched = evidence::aggregate(index.find_terms(&analysis, analyzer), &analysis, scoring);
    let mut evidence = Evidence::of_terms(index, &matched);

    let categories = categories::score(index, &evidence, &matched);
    let themes = themes::score(index, &mut evidence);
    let knowledge_kind = kind::predict(index, &evidence, &matched);

    rank::add_theme_evidence(index, &themes.reported, &mut evidence);
    let best_category_score = categories.best.map_or(0.0, |c| categories.score(c));
    let dedicated = rank::add_dedicated(
        index,
        query.organization_type,
        best_category_score,
        &mut evidence,
    );
    let ranking = Ranking {
        index,
        matched: &matched,
        themes: &themes.reported,
        dedicated: &dedicated,
        evidence: &evidence,
        asker: Asker {
            scoring,
            category: categories.confident(),
            organization_type: query.organization_type,
            region: query.region,
        },
    };
    let providers = ranking.providers();
    let experts = ranking.experts();

    let themes = themes.explain(index, &matched);
    evidence.give_back(index.groups().providers.end as usize);

    Classification {
        category: categories.best,
        confidence: categories.confidence,
        category_scores: categories.category_scores,
        themes,
        knowledge_kind,
        providers,
        experts,
        index_version: index.version(),
        language: analysis.language,
    }
}
