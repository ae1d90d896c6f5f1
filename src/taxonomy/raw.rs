//! The taxonomy file as written, before validation, with source spans so
//! that every problem can be reported with its line and column.

use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

/// A byte range in the source text.
pub(super) type Span = std::ops::Range<usize>;
/// A string with its position in the file.
pub(super) type SpannedString = Spanned<String>;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTaxonomy {
    pub version: Spanned<u32>,
    #[serde(default)]
    pub extends: Option<SpannedString>,
    #[serde(default)]
    pub scoring: Option<super::Scoring>,
    #[serde(default)]
    pub category: Vec<RawEntry>,
    #[serde(default)]
    pub theme: Vec<RawEntry>,
    #[serde(default)]
    pub kind: Vec<RawEntry>,
    #[serde(default)]
    pub provider: Vec<RawEntry>,
}

/// One `[[category]]`, `[[theme]]`, `[[kind]]` or `[[provider]]` entry.
/// They share one shape so that merging works the same for all; validation
/// refuses fields that do not apply to the entry's section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEntry {
    pub id: SpannedString,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub review_months: Option<Spanned<u32>>,
    #[serde(default)]
    pub prior: Option<Spanned<f32>>,
    #[serde(default)]
    pub themes: Option<Vec<SpannedString>>,
    #[serde(default)]
    pub categories: Option<Vec<SpannedString>>,
    #[serde(default)]
    pub serves: Option<Vec<SpannedString>>,
    #[serde(default)]
    pub regions: Option<Vec<SpannedString>>,
    #[serde(default)]
    pub terms: Option<BTreeMap<String, Spanned<f32>>>,
}

/// 1-based line and column of a byte offset.
pub(super) fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = &source.as_bytes()[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (line, column)
}

/// Merges a user's extending file into the default: entries with a known id
/// are merged field by field, new ids are appended.
pub(super) fn merge(
    mut base: RawTaxonomy,
    user: RawTaxonomy,
) -> Result<RawTaxonomy, (Span, String)> {
    if user.scoring.is_some() {
        base.scoring = user.scoring;
    }
    merge_section(&mut base.category, user.category);
    merge_section(&mut base.theme, user.theme);
    merge_section(&mut base.kind, user.kind);
    merge_section(&mut base.provider, user.provider);
    base.version = user.version;
    base.extends = None;
    Ok(base)
}

fn merge_section(base: &mut Vec<RawEntry>, user: Vec<RawEntry>) {
    for entry in user {
        match base
            .iter_mut()
            .find(|b| b.id.get_ref() == entry.id.get_ref())
        {
            None => base.push(entry),
            Some(b) => {
                b.id = entry.id;
                macro_rules! take {
                    ($($field:ident),*) => { $( if entry.$field.is_some() { b.$field = entry.$field; } )* };
                }
                take!(
                    name,
                    description,
                    review_months,
                    prior,
                    themes,
                    categories,
                    serves,
                    regions
                );
                if let Some(terms) = entry.terms {
                    b.terms.get_or_insert_with(BTreeMap::new).extend(terms);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based_and_count_characters() {
        let src = "a = 1\nbé = x";
        assert_eq!(line_column(src, 0), (1, 1));
        assert_eq!(line_column(src, src.find('x').unwrap()), (2, 6));
    }
}
