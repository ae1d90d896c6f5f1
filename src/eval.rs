//! Measuring routing quality against a labelled set of questions (the format
//! of `shared/eval/dev.jsonl`): one JSON object per line with `id`, `text`,
//! `org_type`, `category`, `themes`, `providers` (best first) and `kind`.

use crate::domain::{Category, KnowledgeKind, OrganizationType, Province};
use crate::engine::{Classification, Engine, Query};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// One labelled question.
#[derive(Debug, Clone, Deserialize)]
pub struct Labelled {
    /// The item's id.
    pub id: String,
    /// The question.
    pub text: String,
    /// Asking organisation type.
    #[serde(default)]
    pub org_type: Option<OrganizationType>,
    /// Asker's province, when labelled.
    #[serde(default)]
    pub region: Option<String>,
    /// The right category.
    pub category: Category,
    /// The right themes.
    #[serde(default)]
    pub themes: Vec<String>,
    /// Providers that can answer it, best first.
    #[serde(default)]
    pub providers: Vec<String>,
    /// The right knowledge kind.
    #[serde(default)]
    pub kind: Option<KnowledgeKind>,
}

/// Why a labelled file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// A line is not a valid labelled question.
    #[error("line {line}: {message}: each line must be a JSON object with at least id, text and category")]
    Line {
        /// 1-based line number.
        line: usize,
        /// The parser's message.
        message: String,
    },
    /// The file has no labelled question at all.
    #[error("the file holds no labelled questions")]
    Empty,
}

/// Parses a JSON Lines file of labelled questions; blank lines are skipped.
pub fn parse_labelled(text: &str) -> Result<Vec<Labelled>, EvalError> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let item: Labelled = serde_json::from_str(line).map_err(|e| EvalError::Line {
            line: n + 1,
            message: e.to_string(),
        })?;
        out.push(item);
    }
    if out.is_empty() {
        return Err(EvalError::Empty);
    }
    Ok(out)
}

/// One question the engine got (partly) wrong.
#[derive(Debug, Clone, Serialize)]
pub struct Miss {
    /// The item's id.
    pub id: String,
    /// The question.
    pub text: String,
    /// Labelled category.
    pub expected_category: Category,
    /// Predicted category, `NONE` when nothing matched.
    pub got_category: String,
    /// Confidence of the prediction.
    pub confidence: f32,
    /// Labelled providers.
    pub expected_providers: Vec<String>,
    /// The engine's top three providers.
    pub got_providers: Vec<String>,
    /// Labelled themes.
    pub expected_themes: Vec<String>,
    /// Reported themes.
    pub got_themes: Vec<String>,
}

/// The metrics of one run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Number of questions.
    pub questions: usize,
    /// Share of questions whose category was right.
    pub category_accuracy: f64,
    /// Mean over the four categories of their F1.
    pub category_macro_f1: f64,
    /// Per category: precision, recall, F1, support.
    pub per_category: Vec<CategoryMetrics>,
    /// Rows: labelled category (Tabel 3.1 order); columns: predicted, the
    /// four categories then NONE.
    pub confusion: Vec<[usize; 5]>,
    /// Share of questions whose first labelled provider ranked first.
    pub provider_hit_at_1: f64,
    /// …ranked in the top three.
    pub provider_hit_at_3: f64,
    /// Mean reciprocal rank of the first labelled provider (0 when absent).
    pub provider_mrr: f64,
    /// Micro-averaged theme precision.
    pub theme_precision: f64,
    /// Micro-averaged theme recall.
    pub theme_recall: f64,
    /// Share of questions with the right knowledge kind (of those labelled).
    pub kind_accuracy: f64,
    /// Questions with a wrong category or the first labelled provider
    /// outside the top three.
    pub misses: Vec<Miss>,
}

/// Precision, recall and F1 of one category.
#[derive(Debug, Clone, Serialize)]
pub struct CategoryMetrics {
    /// The category.
    pub category: Category,
    /// Of the questions predicted so, the share that were.
    pub precision: f64,
    /// Of the questions labelled so, the share predicted so.
    pub recall: f64,
    /// Harmonic mean of the two.
    pub f1: f64,
    /// Questions labelled so.
    pub support: usize,
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// Classifies every item and computes the metrics. `progress` is called
/// after each item with (done, total).
pub fn evaluate(
    engine: &Engine,
    items: &[Labelled],
    mut progress: impl FnMut(usize, usize),
) -> Report {
    let mut confusion = vec![[0usize; 5]; 4];
    let (mut hit1, mut hit3, mut rr) = (0usize, 0usize, 0.0f64);
    let (mut theme_tp, mut theme_predicted, mut theme_labelled) = (0usize, 0usize, 0usize);
    let (mut kind_right, mut kind_labelled) = (0usize, 0usize);
    let mut misses = Vec::new();
    for (n, item) in items.iter().enumerate() {
        let region = item
            .region
            .as_deref()
            .and_then(|r| Province::parse_lenient(r).ok());
        let c: Classification = engine.classify(&Query {
            text: &item.text,
            organization_type: item.org_type,
            region,
            language: None,
        });
        let predicted = c.category.map_or(4, Category::index);
        confusion[item.category.index()][predicted] += 1;

        let ranked: Vec<&str> = c.providers.iter().map(|p| p.id.as_str()).collect();
        let rank = item
            .providers
            .first()
            .and_then(|first| ranked.iter().position(|p| p == first));
        if rank == Some(0) {
            hit1 += 1;
        }
        if rank.is_some_and(|r| r < 3) {
            hit3 += 1;
        }
        rr += rank.map_or(0.0, |r| 1.0 / (r as f64 + 1.0));

        let labelled: BTreeSet<&str> = item.themes.iter().map(String::as_str).collect();
        let got: BTreeSet<&str> = c.themes.iter().map(|t| t.id.as_str()).collect();
        theme_tp += labelled.intersection(&got).count();
        theme_predicted += got.len();
        theme_labelled += labelled.len();

        if let Some(kind) = item.kind {
            kind_labelled += 1;
            kind_right += usize::from(c.knowledge_kind == Some(kind));
        }

        if c.category != Some(item.category) || rank.is_none_or(|r| r >= 3) {
            misses.push(Miss {
                id: item.id.clone(),
                text: item.text.clone(),
                expected_category: item.category,
                got_category: c.category.map_or("NONE".to_string(), |c| c.to_string()),
                confidence: c.confidence,
                expected_providers: item.providers.clone(),
                got_providers: ranked.iter().take(3).map(|s| s.to_string()).collect(),
                expected_themes: item.themes.clone(),
                got_themes: got.iter().map(|s| s.to_string()).collect(),
            });
        }
        progress(n + 1, items.len());
    }

    let per_category: Vec<CategoryMetrics> = Category::ALL
        .iter()
        .map(|&cat| {
            let i = cat.index();
            let tp = confusion[i][i];
            let support: usize = confusion[i].iter().sum();
            let predicted: usize = confusion.iter().map(|row| row[i]).sum();
            let precision = ratio(tp, predicted);
            let recall = ratio(tp, support);
            let f1 = if precision + recall == 0.0 {
                0.0
            } else {
                2.0 * precision * recall / (precision + recall)
            };
            CategoryMetrics {
                category: cat,
                precision,
                recall,
                f1,
                support,
            }
        })
        .collect();
    let correct: usize = (0..4).map(|i| confusion[i][i]).sum();
    let n = items.len();
    Report {
        questions: n,
        category_accuracy: ratio(correct, n),
        category_macro_f1: per_category.iter().map(|m| m.f1).sum::<f64>() / 4.0,
        per_category,
        confusion,
        provider_hit_at_1: ratio(hit1, n),
        provider_hit_at_3: ratio(hit3, n),
        provider_mrr: if n == 0 { 0.0 } else { rr / n as f64 },
        theme_precision: ratio(theme_tp, theme_predicted),
        theme_recall: ratio(theme_tp, theme_labelled),
        kind_accuracy: ratio(kind_right, kind_labelled),
        misses,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_line_is_reported_with_its_number() {
        let err = parse_labelled(
            "\n{\"id\":\"a\",\"text\":\"x\",\"category\":\"STRATEGY\"}\n{\"id\":\"b\"}\n",
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("line 3"), "{err}");
    }

    #[test]
    fn an_empty_file_is_an_error() {
        assert!(matches!(parse_labelled("\n\n"), Err(EvalError::Empty)));
    }

    #[test]
    fn labelled_items_parse_with_optional_fields_missing() {
        let items =
            parse_labelled("{\"id\":\"a\",\"text\":\"x\",\"category\":\"SPECIFIC\"}").unwrap();
        assert_eq!(items[0].category, Category::Specific);
        assert!(items[0].providers.is_empty());
    }
}
