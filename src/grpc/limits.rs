//! Size limits of directory records (experts, providers), checked on the
//! wire message before anything else is done with it.
//!
//! Without them one expert with 100,000 terms made every later directory
//! write take half a second (each rebuilds the index) and a few large
//! providers pushed ListProviders over the 4 MiB clients accept. The
//! limits are checked here, when a record is written, and not when a
//! stored record is read back, so a directory written before them still
//! loads. Each is several times what the largest real record needs (the
//! embedded taxonomy's largest provider has 55 terms of at most 45
//! characters, 4 themes, 2 regions, a 215-character description).

use super::convert::{bad, BadRequest};
use super::proto;
use crate::domain::MAX_ID_LEN;
use prost::Message;

/// Most terms of one expert or provider (5× the largest real provider).
pub const MAX_TERMS: usize = 300;
/// Longest term, in characters (the longest real one has 45).
pub const MAX_TERM_CHARS: usize = 80;
/// Most entries of every other list of a record: themes, categories,
/// organisation types served, regions (the taxonomy has 17 themes,
/// 4 categories and 12 provinces), and absences of an expert.
pub const MAX_LIST: usize = 50;
/// Longest region name, absence date, name or organisation, in
/// characters (theme ids are slugs of at most [`MAX_ID_LEN`] bytes).
pub const MAX_ITEM_CHARS: usize = 200;
/// Longest provider description or absence reason, in characters (the
/// longest real description has 215).
pub const MAX_DESCRIPTION_CHARS: usize = 2_000;
/// Largest record, encoded: 100 providers ([`MAX_PROVIDERS`]) then fit in
/// one ListProviders answer under the 4 MiB a client accepts.
pub const MAX_RECORD_BYTES: usize = 32 * 1024;
/// Most providers the directory holds (the embedded taxonomy has 20).
pub const MAX_PROVIDERS: usize = 100;

/// Refuses a `value` over `max` (of `unit`), naming both.
fn at_most(field: &'static str, value: usize, max: usize, unit: &str) -> Result<(), BadRequest> {
    if value > max {
        return Err(bad(
            field,
            format!("has {value} {unit}, more than the {max} allowed"),
        ));
    }
    Ok(())
}

/// Refuses an id longer than [`MAX_ID_LEN`] without echoing it: the
/// answer to a 100 KB id must not be 100 KB of metadata.
pub fn id(field: &'static str, id: &str) -> Result<(), BadRequest> {
    at_most(field, id.trim().len(), MAX_ID_LEN, "bytes")
}

/// Refuses more than `max` entries.
fn count(field: &'static str, count: usize, max: usize) -> Result<(), BadRequest> {
    at_most(field, count, max, "entries")
}

/// Refuses a text longer than `max_chars` characters.
fn text(field: &'static str, text: &str, max_chars: usize) -> Result<(), BadRequest> {
    at_most(field, text.chars().count(), max_chars, "characters")
}

/// Refuses a list with more than `max` entries or an entry longer than
/// `max_chars` characters.
fn list<'a>(
    field: &'static str,
    items: impl ExactSizeIterator<Item = &'a str>,
    max: usize,
    max_chars: usize,
) -> Result<(), BadRequest> {
    count(field, items.len(), max)?;
    items
        .into_iter()
        .try_for_each(|item| text(field, item, max_chars))
}

fn terms(field: &'static str, terms: &[proto::WeightedTerm]) -> Result<(), BadRequest> {
    list(
        field,
        terms.iter().map(|t| t.term.as_str()),
        MAX_TERMS,
        MAX_TERM_CHARS,
    )
}

fn themes(field: &'static str, themes: &[String]) -> Result<(), BadRequest> {
    list(
        field,
        themes.iter().map(String::as_str),
        MAX_LIST,
        MAX_ID_LEN,
    )
}

fn encoded(field: &'static str, message: &impl Message) -> Result<(), BadRequest> {
    at_most(
        field,
        message.encoded_len(),
        MAX_RECORD_BYTES,
        "bytes encoded (shorten its terms or description)",
    )
}

/// Checks an expert message against the limits.
pub fn expert(e: &proto::Expert) -> Result<(), BadRequest> {
    id("expert.id", &e.id)?;
    text("expert.name", &e.name, MAX_ITEM_CHARS)?;
    text("expert.organization", &e.organization, MAX_ITEM_CHARS)?;
    text("expert.region", &e.region, MAX_ITEM_CHARS)?;
    terms("expert.expertise", &e.expertise)?;
    themes("expert.themes", &e.themes)?;
    count("expert.categories", e.categories.len(), MAX_LIST)?;
    count("expert.absences", e.absences.len(), MAX_LIST)?;
    e.absences.iter().try_for_each(|a| {
        text("expert.absences.from", &a.from, MAX_ITEM_CHARS)?;
        text("expert.absences.to", &a.to, MAX_ITEM_CHARS)?;
        text("expert.absences.reason", &a.reason, MAX_DESCRIPTION_CHARS)
    })?;
    encoded("expert", e)
}

/// Checks a provider message against the limits.
pub fn provider(p: &proto::Provider) -> Result<(), BadRequest> {
    id("provider.id", &p.id)?;
    text("provider.name", &p.name, MAX_ITEM_CHARS)?;
    text(
        "provider.description",
        &p.description,
        MAX_DESCRIPTION_CHARS,
    )?;
    terms("provider.terms", &p.terms)?;
    themes("provider.themes", &p.themes)?;
    list(
        "provider.regions",
        p.regions.iter().map(String::as_str),
        MAX_LIST,
        MAX_ITEM_CHARS,
    )?;
    count("provider.categories", p.categories.len(), MAX_LIST)?;
    count("provider.serves", p.serves.len(), MAX_LIST)?;
    encoded("provider", p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expert_with_terms(n: usize) -> proto::Expert {
        proto::Expert {
            id: "anna".into(),
            name: "Anna".into(),
            expertise: (0..n)
                .map(|i| proto::WeightedTerm {
                    term: format!("term{i}"),
                    weight: 1.0,
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn a_record_at_the_limits_passes_and_one_over_is_refused_naming_the_limit() {
        assert_eq!(expert(&expert_with_terms(MAX_TERMS)), Ok(()));
        let err = expert(&expert_with_terms(MAX_TERMS + 1)).unwrap_err();
        assert!(err.to_string().contains("expert.expertise"), "{err}");
        assert!(err.to_string().contains(&MAX_TERMS.to_string()), "{err}");
    }

    #[test]
    fn a_long_id_is_refused_without_being_echoed() {
        let long = "a".repeat(100_000);
        let err = id("id", &long).unwrap_err().to_string();
        assert!(err.len() < 100, "{err}");
        assert_eq!(id("id", &"a".repeat(MAX_ID_LEN)), Ok(()));
    }

    #[test]
    fn every_list_of_a_provider_is_bounded() {
        let many = || vec!["x".to_string(); MAX_LIST + 1];
        let cases = [
            proto::Provider {
                themes: many(),
                ..Default::default()
            },
            proto::Provider {
                regions: many(),
                ..Default::default()
            },
            proto::Provider {
                categories: vec![1; MAX_LIST + 1],
                ..Default::default()
            },
            proto::Provider {
                serves: vec![1; MAX_LIST + 1],
                ..Default::default()
            },
            proto::Provider {
                description: "x".repeat(MAX_DESCRIPTION_CHARS + 1),
                ..Default::default()
            },
        ];
        for p in cases {
            assert!(provider(&p).is_err(), "{p:?}");
        }
    }
}
