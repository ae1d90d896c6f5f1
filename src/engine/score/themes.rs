//! Phase 2, the themes: each theme's term score plus the evidence of the
//! categories that imply it; which themes are reported, and their
//! explanations.

use super::evidence::{explain_with, Evidence, Matched};
use super::{Contribution, ThemeScore, Via};
use crate::index::Index;
use std::sync::Arc;

/// The outcome of the theme phase.
pub(super) struct Themes {
    /// The reported themes: (position in the taxonomy, score), best first.
    pub(super) reported: Vec<(usize, f32)>,
    /// The evidence categories gave to themes, by theme position, to show
    /// with the theme.
    via_category: Vec<(usize, Contribution)>,
}

/// Adds the categories' evidence to the themes they imply and picks the
/// themes to report. Reads the categories' own term scores, not the theme
/// shares the category phase added to them: evidence does not go round in
/// circles.
pub(super) fn score(index: &Index, evidence: &mut Evidence) -> Themes {
    let tax = index.taxonomy();
    let scoring = tax.scoring();
    let groups = index.groups();
    let mut via_category: Vec<(usize, Contribution)> = Vec::new();
    for def in &tax.categories {
        let own = evidence.get(groups.categories.start + def.category.index() as u32);
        if own <= 0.0 {
            continue;
        }
        for theme in &def.themes {
            if let Some(i) = tax.themes().iter().position(|t| t.id() == theme) {
                let add = own * scoring.category_theme_weight;
                evidence.add_fixed(groups.themes.start + i as u32, add);
                via_category.push((
                    i,
                    Contribution {
                        term: format!("category:{}", def.category).into(),
                        matched: Arc::from(tax.category_name(def.category)),
                        via: Via::Category,
                        contribution: add,
                    },
                ));
            }
        }
    }
    let theme_score = |i: usize| evidence.get(groups.themes.start + i as u32);
    let top_theme = (0..tax.themes().len())
        .map(theme_score)
        .fold(0.0f32, f32::max);
    let mut reported: Vec<(usize, f32)> = (0..tax.themes().len())
        .map(|i| (i, theme_score(i)))
        .filter(|&(_, s)| {
            s > 0.0 && s >= scoring.theme_min_score && s >= scoring.theme_relative * top_theme
        })
        .collect();
    reported.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    Themes {
        reported,
        via_category,
    }
}

impl Themes {
    /// The reported themes with their reasons, best first.
    pub(super) fn explain(self, index: &Index, matched: &[Matched]) -> Vec<ThemeScore> {
        let tax = index.taxonomy();
        let start = index.groups().themes.start;
        self.reported
            .into_iter()
            .map(|(i, score)| ThemeScore {
                id: tax.themes()[i].id().clone(),
                name: tax.themes()[i].name().to_string(),
                score,
                matched_terms: explain_with(
                    index,
                    matched,
                    start + i as u32,
                    &self.via_category,
                    i,
                ),
            })
            .collect()
    }
}
