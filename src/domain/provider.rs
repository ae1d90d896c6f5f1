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
