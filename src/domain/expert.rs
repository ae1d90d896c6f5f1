//! Experts: the people who answer questions. They come from the store or an
//! import file, never from the taxonomy, because the expert directory changes
//! daily while the taxonomy changes a few times a year.

use super::{Category, ExpertId, IdError, OrganizationType, Province, ThemeId, UnknownValue};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Largest weight an expertise term may carry; keeps one over-eager import
/// from drowning every other signal.
pub const MAX_TERM_WEIGHT: f32 = 10.0;

/// An expert as written in an import file (JSON) before validation.
///
/// `expertise` is either a list of terms (each weighted 1) or a map from term
/// to weight.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpertRecord {
    /// Stable id, a slug such as `anna-jansen-zwolle`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Name of the organisation the expert works for.
    #[serde(default)]
    pub organization: String,
    /// Type of that organisation (`GEMEENTE`, `PROVINCIE`, …).
    #[serde(default = "default_org_type")]
    pub organization_type: String,
    /// Province the expert works in, if regional.
    #[serde(default)]
    pub region: Option<String>,
    /// Terms the expert knows about, with weights.
    #[serde(default)]
    pub expertise: Expertise,
    /// Theme ids of the taxonomy the expert covers.
    #[serde(default)]
    pub themes: Vec<String>,
    /// Question categories the expert handles well.
    #[serde(default)]
    pub categories: Vec<String>,
    /// Open questions the expert can hold at once.
    #[serde(default = "default_capacity")]
    pub capacity: u32,
    /// Whether the expert takes questions at the moment.
    #[serde(default = "default_available")]
    pub available: bool,
    /// Periods the expert is away (holiday, leave): no questions then.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub absences: Vec<AbsenceRecord>,
}

/// A period an expert is away, as written: dates `YYYY-MM-DD`, both days
/// included, Dutch time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AbsenceRecord {
    /// First day away.
    pub from: String,
    /// Last day away.
    pub to: String,
    /// Why (holiday, leave…), for people reading the directory.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
}

fn default_org_type() -> String {
    "OTHER".to_string()
}
fn default_capacity() -> u32 {
    3
}
fn default_available() -> bool {
    true
}

/// Expertise terms in an import file: a plain list or a weighted map.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Expertise {
    /// Terms, each with weight 1.
    List(Vec<String>),
    /// Term → weight.
    Weighted(BTreeMap<String, f32>),
}

impl Default for Expertise {
    fn default() -> Self {
        Expertise::List(Vec::new())
    }
}

impl ExpertRecord {
    /// Checks the record's texts under the input rules of
    /// [`super::input`]: a visible name, and no control character or bidi
    /// override in any text (name, organisation, terms, themes, absences…).
    /// The edge calls it for every record a client sends; validation into
    /// an [`Expert`] does not, so records stored before these rules still
    /// load.
    pub fn check_text(&self) -> Result<(), super::input::InputError> {
        let terms: Vec<&str> = match &self.expertise {
            Expertise::List(terms) => terms.iter().map(String::as_str).collect(),
            Expertise::Weighted(map) => map.keys().map(String::as_str).collect(),
        };
        let others = [
            ("expert.id", self.id.as_str()),
            ("expert.organization", self.organization.as_str()),
            ("expert.organization_type", self.organization_type.as_str()),
            ("expert.region", self.region.as_deref().unwrap_or_default()),
        ]
        .into_iter()
        .chain(terms.into_iter().map(|t| ("expert.expertise", t)))
        .chain(super::input::each("expert.themes", &self.themes))
        .chain(super::input::each("expert.categories", &self.categories))
        .chain(self.absences.iter().flat_map(|a| {
            [
                ("expert.absences.from", a.from.as_str()),
                ("expert.absences.to", a.to.as_str()),
                ("expert.absences.reason", a.reason.as_str()),
            ]
        }));
        super::input::check_record(("expert.name", &self.name), others)
    }
}

/// Why an expert record was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExpertError {
    /// The id is not a valid slug.
    #[error(transparent)]
    Id(#[from] IdError),
    /// A category, organisation type or province is not a known value.
    #[error("expert `{expert}`: {source}")]
    Value {
        /// The expert's id as given.
        expert: String,
        /// What did not parse.
        source: UnknownValue,
    },
    /// A theme id is not a valid slug.
    #[error("expert `{expert}`: {source}")]
    Theme {
        /// The expert's id as given.
        expert: String,
        /// What was wrong with the theme id.
        source: IdError,
    },
    /// The name is empty.
    #[error("expert `{expert}` has no name: give the person's display name")]
    NoName {
        /// The expert's id.
        expert: String,
    },
    /// The expert lists no expertise term and no theme, so it could never be matched.
    #[error("expert `{expert}` has no expertise terms and no themes: give at least one, or the expert can never be matched")]
    NothingToMatch {
        /// The expert's id.
        expert: String,
    },
    /// An absence date is not `YYYY-MM-DD`, or ends before it starts.
    #[error("expert `{expert}`: absence {from} to {to} is not a period: write dates as YYYY-MM-DD, the first not after the last")]
    BadAbsence {
        /// The expert's id.
        expert: String,
        /// First day as given.
        from: String,
        /// Last day as given.
        to: String,
    },
    /// A weight is not a finite number in (0, MAX_TERM_WEIGHT].
    #[error("expert `{expert}`: weight {weight} of term `{term}` must be a number above 0 and at most {MAX_TERM_WEIGHT}")]
    BadWeight {
        /// The expert's id.
        expert: String,
        /// The term.
        term: String,
        /// The weight given.
        weight: f32,
    },
}

/// A validated expert, ready to be indexed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Expert {
    id: ExpertId,
    name: String,
    organization: String,
    organization_type: OrganizationType,
    region: Option<Province>,
    expertise: Vec<(String, f32)>,
    themes: Vec<ThemeId>,
    categories: Vec<Category>,
    capacity: u32,
    available: bool,
    /// Away from the first to the end of the last day: `[from, to)` in ms.
    absences: Vec<(i64, i64)>,
}

/// Midnight at the start of a day in Amsterdam, in ms since the epoch.
fn day_start_ms(date: &str) -> Option<i64> {
    super::worktime::day_start_ms(date.trim().parse().ok()?)
}

impl TryFrom<ExpertRecord> for Expert {
    type Error = ExpertError;

    fn try_from(r: ExpertRecord) -> Result<Self, ExpertError> {
        let id = ExpertId::parse(&r.id)?;
        let who = || id.as_str().to_string();
        let value = |source| ExpertError::Value {
            expert: who(),
            source,
        };
        let name = r.name.trim().to_string();
        if name.is_empty() {
            return Err(ExpertError::NoName { expert: who() });
        }
        let organization_type = r.organization_type.parse().map_err(value)?;
        let region = match r.region.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(Province::parse_lenient(text).map_err(value)?),
        };
        let expertise: Vec<(String, f32)> = match r.expertise {
            Expertise::List(terms) => terms.into_iter().map(|t| (t, 1.0)).collect(),
            Expertise::Weighted(map) => map.into_iter().collect(),
        };
        let mut checked = Vec::with_capacity(expertise.len());
        for (term, weight) in expertise {
            if !(weight.is_finite() && weight > 0.0 && weight <= MAX_TERM_WEIGHT) {
                return Err(ExpertError::BadWeight {
                    expert: who(),
                    term,
                    weight,
                });
            }
            let term = term.trim().to_string();
            if !term.is_empty() {
                checked.push((term, weight));
            }
        }
        let themes = r
            .themes
            .iter()
            .map(|t| {
                ThemeId::parse(t).map_err(|source| ExpertError::Theme {
                    expert: who(),
                    source,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let categories = r
            .categories
            .iter()
            .map(|c| c.parse().map_err(value))
            .collect::<Result<Vec<_>, _>>()?;
        if checked.is_empty() && themes.is_empty() {
            return Err(ExpertError::NothingToMatch { expert: who() });
        }
        let absences = r
            .absences
            .iter()
            .map(|a| {
                let bad = || ExpertError::BadAbsence {
                    expert: who(),
                    from: a.from.clone(),
                    to: a.to.clone(),
                };
                let from = day_start_ms(&a.from).ok_or_else(bad)?;
                let last = day_start_ms(&a.to).ok_or_else(bad)?;
                if last < from {
                    return Err(bad());
                }
                // The end of the last day: the next midnight (25 or 23
                // hours later on clock changes is close enough for leave).
                Ok((from, last + 86_400_000))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Expert {
            id,
            name,
            organization: r.organization.trim().to_string(),
            organization_type,
            region,
            expertise: checked,
            themes,
            categories,
            capacity: r.capacity,
            available: r.available,
            absences,
        })
    }
}

impl Expert {
    /// The expert with learned terms laid over its expertise: a learned
    /// term the expert already has adds to its weight (capped at
    /// [`MAX_TERM_WEIGHT`]); others are added. `same` says whether an
    /// expertise term is the learned one (they are compared by stem).
    pub fn with_learned(
        &self,
        learned: &[(String, f32)],
        same: impl Fn(&str, &str) -> bool,
    ) -> Expert {
        let mut out = self.clone();
        for (word, weight) in learned {
            match out.expertise.iter_mut().find(|(t, _)| same(t, word)) {
                Some((_, w)) => *w = (*w + weight).min(MAX_TERM_WEIGHT),
                None => out
                    .expertise
                    .push((word.clone(), weight.min(MAX_TERM_WEIGHT))),
            }
        }
        out
    }

    /// The expert's stable id.
    pub fn id(&self) -> &ExpertId {
        &self.id
    }
    /// Display name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Organisation the expert works for (may be empty).
    pub fn organization(&self) -> &str {
        &self.organization
    }
    /// Type of the expert's organisation.
    pub fn organization_type(&self) -> OrganizationType {
        self.organization_type
    }
    /// Province the expert works in, if any.
    pub fn region(&self) -> Option<Province> {
        self.region
    }
    /// Expertise terms with their weights.
    pub fn expertise(&self) -> &[(String, f32)] {
        &self.expertise
    }
    /// Themes covered.
    pub fn themes(&self) -> &[ThemeId] {
        &self.themes
    }
    /// Categories handled well.
    pub fn categories(&self) -> &[Category] {
        &self.categories
    }
    /// Open questions the expert can hold at once.
    pub fn capacity(&self) -> u32 {
        self.capacity
    }
    /// Whether the expert takes questions now.
    pub fn available(&self) -> bool {
        self.available
    }
    /// Whether the expert takes questions at a moment: available and not
    /// in an absence.
    pub fn available_at(&self, ms: i64) -> bool {
        self.available
            && !self
                .absences
                .iter()
                .any(|&(from, to)| (from..to).contains(&ms))
    }
}

/// Parses an expert import file: a JSON array of [`ExpertRecord`]s, or one
/// record per line (JSON Lines), and validates every record. Errors name
/// the record's position.
pub fn parse_experts_json(text: &str) -> Result<Vec<Expert>, String> {
    parse_expert_records(text)?
        .into_iter()
        .enumerate()
        .map(|(n, r)| Expert::try_from(r).map_err(|e| format!("record {}: {e}", n + 1)))
        .collect()
}

/// Reads the records of an expert import file (JSON array or JSON Lines)
/// without validating them; errors name the line or position.
pub fn parse_expert_records(text: &str) -> Result<Vec<ExpertRecord>, String> {
    if text.trim_start().starts_with('[') {
        return serde_json::from_str(text).map_err(|e| format!("not a JSON array of experts: {e}"));
    }
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        out.push(serde_json::from_str(line).map_err(|e| format!("line {}: {e}", n + 1))?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(json: &str) -> ExpertRecord {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn an_expert_with_a_term_list_gets_weight_one_per_term() {
        let e = Expert::try_from(record(
            r#"{"id":"anna","name":"Anna","organization_type":"gemeente","region":"Overijssel","expertise":["circulair inkopen"]}"#,
        ))
        .unwrap();
        assert_eq!(e.expertise(), &[("circulair inkopen".to_string(), 1.0)]);
        assert_eq!(e.organization_type(), OrganizationType::Gemeente);
        assert_eq!(e.region(), Some(Province::Overijssel));
    }

    #[test]
    fn an_expert_without_anything_to_match_is_refused() {
        let err = Expert::try_from(record(r#"{"id":"bob","name":"Bob"}"#)).unwrap_err();
        assert!(matches!(err, ExpertError::NothingToMatch { .. }));
    }

    #[test]
    fn a_negative_weight_is_refused_with_the_term_named() {
        let err = Expert::try_from(record(
            r#"{"id":"bob","name":"Bob","expertise":{"afval":-1}}"#,
        ))
        .unwrap_err();
        assert!(err.to_string().contains("`afval`"), "{err}");
    }

    #[test]
    fn json_lines_errors_name_the_line() {
        let err =
            parse_experts_json("{\"id\":\"a\",\"name\":\"A\",\"themes\":[\"waste\"]}\n{oops}\n")
                .unwrap_err();
        assert!(err.starts_with("line 2"), "{err}");
    }

    #[test]
    fn an_expert_named_with_an_escape_sequence_is_refused_at_the_edge() {
        use crate::domain::input::InputError;
        let evil = record(r#"{"id":"eve","name":"Eve\u001b]0;pwned\u0007","expertise":["afval"]}"#);
        assert_eq!(
            evil.check_text(),
            Err(InputError::Control {
                field: "expert.name"
            })
        );
        let hidden = record(r#"{"id":"eve","name":"\u200b\u200d","expertise":["afval"]}"#);
        assert_eq!(
            hidden.check_text(),
            Err(InputError::Empty {
                field: "expert.name"
            })
        );
        let term = record(r#"{"id":"eve","name":"Eve","expertise":{"af\u202eval":1}}"#);
        assert_eq!(
            term.check_text(),
            Err(InputError::Control {
                field: "expert.expertise"
            })
        );
        let absence = record(
            r#"{"id":"eve","name":"Eve","themes":["waste"],"absences":[{"from":"2026-01-01","to":"2026-01-02","reason":"\u001b[2J"}]}"#,
        );
        assert_eq!(
            absence.check_text(),
            Err(InputError::Control {
                field: "expert.absences.reason"
            })
        );
    }

    #[test]
    fn an_expert_stored_before_the_input_rules_still_loads() {
        let old = record(r#"{"id":"eve","name":"Eve\u001b[2J","expertise":["afval"]}"#);
        assert!(old.check_text().is_err());
        assert!(Expert::try_from(old).is_ok());
        let plain = record(
            r#"{"id":"anna","name":"Anna de Vries","organization":"Gemeente Zwolle","expertise":["afval"]}"#,
        );
        assert_eq!(plain.check_text(), Ok(()));
    }
}
