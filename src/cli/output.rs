//! Readable text for the terminal.

use crate::domain::Category;
use crate::engine::{Classification, Contribution, RankedMatch};
use crate::eval::Report;
use std::fmt::Write;

fn reasons(terms: &[Contribution], max: usize) -> String {
    let mut out: Vec<String> = terms
        .iter()
        .take(max)
        .map(|c| format!("{} +{:.2}", c.term, c.contribution))
        .collect();
    if terms.len() > max {
        out.push(format!("… {} more", terms.len() - max));
    }
    out.join(", ")
}

/// One proposed provider or expert: rank, id, score and name, then the
/// terms that earned it. The local and the remote `classify` both use it,
/// so the two read alike.
pub(super) fn ranked(
    out: &mut String,
    rank: usize,
    id: &str,
    score: f32,
    name: &str,
    because: &str,
) {
    let _ = writeln!(out, "  {rank:>2}. {id:<32} {score:>7.2}  {name}");
    let _ = writeln!(out, "      because {because}");
}

fn matches(out: &mut String, title: &str, list: &[RankedMatch]) {
    let _ = writeln!(out, "{title}");
    if list.is_empty() {
        let _ = writeln!(out, "  (none)");
    }
    for (i, m) in list.iter().enumerate() {
        ranked(
            out,
            i + 1,
            &m.id,
            m.score,
            &m.name,
            &reasons(&m.matched_terms, 5),
        );
        if !m.fit_reasons.is_empty() {
            let reasons: Vec<String> = m.fit_reasons.iter().map(ToString::to_string).collect();
            let _ = writeln!(out, "      fit ×{:.2}: {}", m.fit, reasons.join(", "));
        }
    }
}

/// A classification as a report.
pub fn classification(c: &Classification) -> String {
    let mut out = String::new();
    let category = c
        .category
        .map_or("NONE (no category term matched)".to_string(), |c| {
            c.to_string()
        });
    let _ = writeln!(
        out,
        "Category    {category}   confidence {:.2}   language {}   index v{}",
        c.confidence,
        c.language.code(),
        c.index_version
    );
    for s in &c.category_scores {
        let _ = writeln!(
            out,
            "  {:<14} {:>7.2}  {}",
            s.category.as_str(),
            s.score,
            reasons(&s.matched_terms, 4)
        );
    }
    let _ = writeln!(out, "Themes");
    if c.themes.is_empty() {
        let _ = writeln!(out, "  (none)");
    }
    for t in &c.themes {
        let _ = writeln!(
            out,
            "  {:<16} {:>7.2}  {}",
            t.id.as_str(),
            t.score,
            reasons(&t.matched_terms, 4)
        );
    }
    let kind = c
        .knowledge_kind
        .map_or("NONE".to_string(), |k| k.to_string());
    let _ = writeln!(out, "Knowledge   {kind}");
    matches(&mut out, "Providers", &c.providers);
    matches(&mut out, "Experts", &c.experts);
    out
}

/// Evaluation metrics as a report.
pub fn report(r: &Report, verbose: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "questions            {}", r.questions);
    let _ = writeln!(out, "category accuracy    {:.3}", r.category_accuracy);
    let _ = writeln!(out, "category macro-F1    {:.3}", r.category_macro_f1);
    let _ = writeln!(out, "provider hit@1       {:.3}", r.provider_hit_at_1);
    let _ = writeln!(out, "provider hit@3       {:.3}", r.provider_hit_at_3);
    let _ = writeln!(out, "provider MRR         {:.3}", r.provider_mrr);
    let _ = writeln!(out, "theme precision      {:.3}", r.theme_precision);
    let _ = writeln!(out, "theme recall         {:.3}", r.theme_recall);
    let _ = writeln!(out, "knowledge kind acc.  {:.3}", r.kind_accuracy);
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "per category         precision  recall     F1  support"
    );
    for m in &r.per_category {
        let _ = writeln!(
            out,
            "  {:<18} {:>9.3} {:>7.3} {:>6.3} {:>8}",
            m.category.as_str(),
            m.precision,
            m.recall,
            m.f1,
            m.support
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "confusion (rows: labelled, columns: predicted)");
    let _ = writeln!(
        out,
        "  {:<14} {:>5} {:>5} {:>5} {:>5} {:>5}",
        "", "STRA", "COLL", "EXEC", "SPEC", "NONE"
    );
    for (i, row) in r.confusion.iter().enumerate() {
        let _ = writeln!(
            out,
            "  {:<14} {:>5} {:>5} {:>5} {:>5} {:>5}",
            Category::ALL[i].as_str(),
            row[0],
            row[1],
            row[2],
            row[3],
            row[4]
        );
    }
    if verbose {
        let _ = writeln!(out);
        let _ = writeln!(out, "misses ({})", r.misses.len());
        for m in &r.misses {
            let _ = writeln!(out, "  {}  {}", m.id, m.text);
            let _ = writeln!(
                out,
                "      category {} → {} ({:.2})   providers {:?} → {:?}   themes {:?} → {:?}",
                m.expected_category,
                m.got_category,
                m.confidence,
                m.expected_providers,
                m.got_providers,
                m.expected_themes,
                m.got_themes
            );
        }
    }
    out
}

/// A progress bar on stderr (`len`: the total, or a spinner when it is
/// unknown), hidden when stderr is not a terminal or `quiet` (JSON
/// output), so that scripts and logs see only the result.
pub fn progress(len: Option<u64>, template: &str, quiet: bool) -> indicatif::ProgressBar {
    let bar = match len {
        Some(n) => indicatif::ProgressBar::new(n),
        None => indicatif::ProgressBar::new_spinner(),
    };
    if quiet || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar.set_style(
        indicatif::ProgressStyle::with_template(template)
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}
