//! Phase 1, the category: each category's own term score plus the evidence
//! of the themes that count towards it; the best one and the confidence in
//! it.

use super::evidence::{explain_with, Evidence, Matched};
use super::{CategoryScore, Contribution};
use crate::domain::Category;
use crate::index::Index;

/// The outcome of the category phase.
pub(super) struct Categories {
    /// Final score of each category, in [`Category::ALL`] order.
    scores: [f32; 4],
    /// The best category; `None` when no category has any evidence.
    pub(super) best: Option<Category>,
    /// Confidence in `best`: `best / (total + damping)`, 0 without one.
    pub(super) confidence: f32,
    /// Every category with its score and reasons, in Tabel 3.1 order.
    pub(super) category_scores: Vec<CategoryScore>,
}

impl Categories {
    /// The final score of `category`.
    pub(super) fn score(&self, category: Category) -> f32 {
        self.scores[category.index()]
    }

    /// The best category with the confidence in it.
    pub(super) fn confident(&self) -> Option<(Category, f32)> {
        self.best.map(|c| (c, self.confidence))
    }
}

/// Scores the categories. Reads the term evidence of categories and themes;
/// must run before the theme phase adds category evidence to the themes.
pub(super) fn score(index: &Index, evidence: &Evidence, matched: &[Matched]) -> Categories {
    let tax = index.taxonomy();
    let scoring = tax.scoring();
    let groups = index.groups();
    let theme_score = |i: usize| evidence.get(groups.themes.start + i as u32);
    let mut cat_scores = [0.0f32; 4];
    for c in Category::ALL {
        cat_scores[c.index()] = evidence.get(groups.categories.start + c.index() as u32);
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
            via_themes.push((c, Contribution::theme(def, share)));
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
        .map(|&c| CategoryScore {
            category: c,
            score: cat(c),
            matched_terms: explain_with(
                index,
                matched,
                groups.categories.start + c.index() as u32,
                &via_themes,
                c,
            ),
        })
        .collect();
    Categories {
        scores: cat_scores,
        best,
        confidence,
        category_scores,
    }
}
