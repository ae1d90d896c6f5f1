//! Providers as the directory stores them: organisations that answer
//! questions. The taxonomy file describes the initial set; the directory
//! API adds, replaces and removes providers at run time, and those changes
//! are kept in the store and laid over the taxonomy on every index build.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A provider as written by the directory API or read back from the store,
/// before validation against the taxonomy's themes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderRecord {
    /// Stable id, a slug such as `vng`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// What the provider covers, in a sentence.
    #[serde(default)]
    pub description: String,
    /// Theme ids covered, most central first.
    #[serde(default)]
    pub themes: Vec<String>,
    /// Categories of questions it answers well.
    #[serde(default)]
    pub categories: Vec<String>,
    /// Organisation types it serves; empty means all.
    #[serde(default)]
    pub serves: Vec<String>,
    /// Provinces of a regional provider; empty for national ones.
    #[serde(default)]
    pub regions: Vec<String>,
    /// Terms with their weights.
    #[serde(default)]
    pub terms: BTreeMap<String, f32>,
}

impl ProviderRecord {
    /// Checks the record's texts under the input rules of
    /// [`super::input`]: a visible name, and no control character or bidi
    /// override in any text (name, description, themes, regions, terms).
    /// The edge calls it for every record a client sends; records read back
    /// from the store are not checked again, so those stored before these
    /// rules still load.
    pub fn check_text(&self) -> Result<(), super::input::InputError> {
        let others = [
            ("provider.id", self.id.as_str()),
            ("provider.description", self.description.as_str()),
        ]
        .into_iter()
        .chain(super::input::each("provider.themes", &self.themes))
        .chain(super::input::each("provider.categories", &self.categories))
        .chain(super::input::each("provider.serves", &self.serves))
        .chain(super::input::each("provider.regions", &self.regions))
        .chain(self.terms.keys().map(|t| ("provider.terms", t.as_str())));
        super::input::check_record(("provider.name", &self.name), others)
    }
}

/// A change of the provider directory relative to the taxonomy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ProviderChange {
    /// Added, or replacing the taxonomy's provider of the same id.
    Put(ProviderRecord),
    /// The taxonomy's provider of this id is removed.
    Removed(String),
}

impl ProviderChange {
    /// The provider id the change is about.
    pub fn id(&self) -> &str {
        match self {
            ProviderChange::Put(r) => &r.id,
            ProviderChange::Removed(id) => id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::input::InputError;

    fn provider(name: &str, description: &str) -> ProviderRecord {
        ProviderRecord {
            id: "vng".into(),
            name: name.into(),
            description: description.into(),
            themes: vec!["waste".into()],
            categories: Vec::new(),
            serves: Vec::new(),
            regions: Vec::new(),
            terms: BTreeMap::from([("afval".to_string(), 1.0)]),
        }
    }

    #[test]
    fn a_provider_with_control_characters_or_an_invisible_name_is_refused() {
        assert_eq!(provider("VNG", "Gemeenten samen").check_text(), Ok(()));
        assert_eq!(
            provider("VNG\u{1b}]0;pwned\u{7}", "").check_text(),
            Err(InputError::Control {
                field: "provider.name"
            })
        );
        assert_eq!(
            provider("\u{FEFF}", "").check_text(),
            Err(InputError::Empty {
                field: "provider.name"
            })
        );
        assert_eq!(
            provider("VNG", "klik \u{1b}]8;;http://evil\u{1b}\\hier").check_text(),
            Err(InputError::Control {
                field: "provider.description"
            })
        );
        let mut term = provider("VNG", "");
        term.terms.insert("af\u{0}val".into(), 1.0);
        assert_eq!(
            term.check_text(),
            Err(InputError::Control {
                field: "provider.terms"
            })
        );
    }
}
