//! The taxonomy: categories, themes, knowledge kinds and providers described
//! as weighted terms, plus the knobs that turn matched terms into scores.
//!
//! A real default ([`DEFAULT_TOML`]) is compiled into the binary, so the
//! service runs with nothing on disk. Operators replace it with their own file
//! or, with `extends = "default"` at the top of their file, add to it: entries
//! with a known id merge into the default one (a term's weight is replaced; a
//! weight of 0 removes the term; other fields given replace the default's),
//! new ids are added.
//!
//! Every problem in a file is reported with the file name, line and column
//! and a sentence that says what to change.

mod raw;
mod validate;

use crate::analysis::Analyzer;
use crate::domain::{
    Category, KnowledgeKind, OrganizationType, ProviderChange, ProviderId, ProviderRecord,
    Province, ThemeId,
};
use raw::{RawTaxonomy, Span};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use toml::Spanned;
use validate::{provider_def, raw_provider, validate};

/// The default taxonomy, built from the study in `shared/seed` and the
/// provider table of the domain description. Compiled into the binary.
pub const DEFAULT_TOML: &str = include_str!("default.toml");

/// Name under which the embedded default is reported in messages.
pub const DEFAULT_ORIGIN: &str = "<embedded default taxonomy>";

/// The only file format version this build reads.
pub const FORMAT_VERSION: u32 = 1;

/// Largest weight a term may have.
pub const MAX_WEIGHT: f32 = 10.0;

/// A provider record of the directory that cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("provider `{id}`: {message}")]
pub struct ProviderError {
    /// The provider id as given.
    pub id: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

/// Why a taxonomy could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TaxonomyError {
    /// The file could not be read.
    #[error("cannot read taxonomy file {}: {source}", path.display())]
    Read {
        /// The path that was tried.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file was read but is not a valid taxonomy.
    #[error("{origin}:{line}:{column}: {message}")]
    Invalid {
        /// File name (or the embedded default's name).
        origin: String,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What is wrong and how to fix it.
        message: String,
    },
}

/// A list of terms with their weights, as written in the file.
pub type Terms = Vec<(String, f32)>;

/// One category's description.
#[derive(Debug, Clone)]
pub struct CategoryDef {
    pub(crate) category: Category,
    pub(crate) name: String,
    /// Themes that questions of this category are about by their nature
    /// (every STRATEGY question concerns the asker's organisation).
    pub(crate) themes: Vec<ThemeId>,
    pub(crate) terms: Terms,
    /// Words learned from the core team that the category's terms do not
    /// have (see [`Taxonomy::with_learned`]).
    pub(crate) learned: Terms,
}

/// One theme.
#[derive(Debug, Clone)]
pub struct ThemeDef {
    pub(crate) id: ThemeId,
    pub(crate) name: String,
    pub(crate) review_months: u32,
    /// Categories this theme's evidence counts towards: a question full of
    /// one core task's content words is a SPECIFIC question even when it
    /// has no framing words.
    pub(crate) categories: Vec<Category>,
    pub(crate) terms: Terms,
}

impl ThemeDef {
    /// The theme's id.
    pub fn id(&self) -> &ThemeId {
        &self.id
    }
    /// Display name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// How many months an answer on this theme stays valid before review.
    pub fn review_months(&self) -> u32 {
        self.review_months
    }
}

/// One knowledge kind.
#[derive(Debug, Clone)]
pub struct KindDef {
    pub(crate) kind: KnowledgeKind,
    pub(crate) prior: f32,
    pub(crate) terms: Terms,
}

/// One knowledge provider (an organisation).
#[derive(Debug, Clone)]
pub struct ProviderDef {
    pub(crate) id: ProviderId,
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) themes: Vec<ThemeId>,
    pub(crate) categories: Vec<Category>,
    pub(crate) serves: Vec<OrganizationType>,
    pub(crate) regions: Vec<Province>,
    pub(crate) terms: Terms,
    /// Words learned from the core team that the provider's terms do not
    /// have (see [`Taxonomy::with_learned`]).
    pub(crate) learned: Terms,
}

impl ProviderDef {
    /// The provider as a directory record.
    pub fn to_record(&self) -> ProviderRecord {
        ProviderRecord {
            id: self.id.to_string(),
            name: self.name.clone(),
            description: self.description.clone(),
            themes: self.themes.iter().map(ToString::to_string).collect(),
            categories: self.categories.iter().map(ToString::to_string).collect(),
            serves: self.serves.iter().map(ToString::to_string).collect(),
            regions: self.regions.iter().map(ToString::to_string).collect(),
            terms: self.terms.iter().cloned().collect(),
        }
    }

    /// The provider's stable id.
    pub fn id(&self) -> &ProviderId {
        &self.id
    }
    /// Display name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// What the provider covers, in a sentence.
    pub fn description(&self) -> &str {
        &self.description
    }
    /// Themes covered, most central first.
    pub fn themes(&self) -> &[ThemeId] {
        &self.themes
    }
    /// Organisation types served.
    pub fn serves(&self) -> &[OrganizationType] {
        &self.serves
    }
    /// Provinces of a regional provider; empty for national ones.
    pub fn regions(&self) -> &[Province] {
        &self.regions
    }
}

/// The knobs that turn matched terms into scores. Every field has a default
/// (see [`Scoring::default`]); a taxonomy file's `[scoring]` table overrides
/// any of them.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scoring {
    /// BM25-style saturation: a term seen `n` times counts
    /// `n·(1+k)/(n+k)` times, so repeating a word helps a little, not
    /// linearly.
    pub saturation_k: f32,
    /// Factor for a multi-word term matched as a phrase.
    pub phrase_factor: f32,
    /// Factor for a term matched as a part of a compound word.
    pub compound_factor: f32,
    /// Factor for a term matched with one typo.
    pub typo_factor: f32,
    /// Confidence of the best category is `best / (total + damping)`: its
    /// share of all category evidence, damped when there is little evidence
    /// at all, so one weak word never gives a confident answer.
    pub confidence_damping: f32,
    /// A theme is reported when its score reaches this…
    pub theme_min_score: f32,
    /// …and this fraction of the best theme's score.
    pub theme_relative: f32,
    /// How much a theme match counts towards a provider or expert covering
    /// that theme (first-listed theme; later ones count less).
    pub theme_weight: f32,
    /// How much the predicted category counts towards a provider or expert
    /// that handles it, times the category confidence.
    pub category_weight: f32,
    /// Multiplier for a provider that serves the asker's organisation type.
    pub serves_factor: f32,
    /// Multiplier for a provider that does not serve the asker's type.
    pub not_served_factor: f32,
    /// Multiplier for a regional provider or expert outside the asker's
    /// province (when the asker's province is known).
    pub other_region_factor: f32,
    /// Multiplier for a regional provider when the asker's province is not
    /// known.
    pub unknown_region_factor: f32,
    /// Multiplier for an expert in the asker's province.
    pub same_region_factor: f32,
    /// Multiplier for an expert from the same type of organisation as the
    /// asker (they know its context).
    pub same_org_type_factor: f32,
    /// How much a theme counts towards the categories it lists
    /// (`categories = [...]` on a `[[theme]]`): this × ln(1 + theme score),
    /// shared among the listed categories.
    pub theme_category_weight: f32,
    /// How much a category's own term score counts towards the themes it
    /// lists (`themes = [...]` on a `[[category]]`).
    pub category_theme_weight: f32,
    /// A provider that exists for exactly the asker's type of organisation
    /// (its `serves` lists only that type: VNG for municipalities, IPO for
    /// provinces, UvW for water boards) knows the asker's context whatever
    /// the topic: it gets this share of the best provider's evidence.
    pub dedicated_share: f32,
    /// How many providers and experts a classification lists.
    pub max_matches: usize,
    /// Weight of a knowledge kind's prior (its share in the study) against
    /// its term score.
    pub kind_prior_weight: f32,
}

impl Default for Scoring {
    fn default() -> Self {
        Scoring {
            saturation_k: 1.2,
            phrase_factor: 1.3,
            compound_factor: 0.6,
            typo_factor: 0.5,
            confidence_damping: 2.0,
            theme_min_score: 1.0,
            theme_relative: 0.35,
            theme_weight: 0.3,
            category_weight: 0.25,
            serves_factor: 1.2,
            not_served_factor: 0.6,
            other_region_factor: 0.3,
            unknown_region_factor: 0.6,
            same_region_factor: 1.3,
            same_org_type_factor: 1.2,
            theme_category_weight: 0.25,
            category_theme_weight: 1.0,
            dedicated_share: 0.5,
            max_matches: 10,
            kind_prior_weight: 1.0,
        }
    }
}

/// A validated taxonomy.
#[derive(Debug, Clone)]
pub struct Taxonomy {
    pub(crate) origin: String,
    pub(crate) categories: Vec<CategoryDef>,
    pub(crate) themes: Vec<ThemeDef>,
    pub(crate) kinds: Vec<KindDef>,
    pub(crate) providers: Vec<ProviderDef>,
    pub(crate) scoring: Scoring,
}

impl Taxonomy {
    /// The taxonomy compiled into the binary.
    pub fn embedded(analyzer: &Analyzer) -> Result<Taxonomy, TaxonomyError> {
        Self::parse(DEFAULT_TOML, DEFAULT_ORIGIN, analyzer)
    }

    /// Loads a taxonomy file. A file that starts with `extends = "default"`
    /// is merged into the embedded default; any other file replaces it.
    pub fn load(path: &Path, analyzer: &Analyzer) -> Result<Taxonomy, TaxonomyError> {
        let source = std::fs::read_to_string(path).map_err(|source| TaxonomyError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&source, &path.display().to_string(), analyzer)
    }

    /// Parses and validates taxonomy text; `origin` names it in errors.
    pub fn parse(
        source: &str,
        origin: &str,
        analyzer: &Analyzer,
    ) -> Result<Taxonomy, TaxonomyError> {
        let invalid = |span: Span, message: String| {
            let (line, column) = raw::line_column(source, span.start);
            TaxonomyError::Invalid {
                origin: origin.to_string(),
                line,
                column,
                message,
            }
        };
        let file: RawTaxonomy = toml::from_str(source)
            .map_err(|e| invalid(e.span().unwrap_or(0..0), e.message().trim().to_string()))?;
        if *file.version.get_ref() != FORMAT_VERSION {
            return Err(invalid(
                file.version.span(),
                format!(
                    "unsupported taxonomy version {}: this build reads version {FORMAT_VERSION}",
                    file.version.get_ref()
                ),
            ));
        }
        let file = match file.extends.as_ref().map(|e| (e.get_ref().as_str(), e.span())) {
            None => file,
            Some(("default", _)) => {
                let base: RawTaxonomy = toml::from_str(DEFAULT_TOML).map_err(|e| {
                    invalid(0..0, format!("the embedded default does not parse: {}", e.message()))
                })?;
                // Problems found after merging point into the user's file
                // when they come from it, so validate the merge against it.
                raw::merge(base, file).map_err(|(span, msg)| invalid(span, msg))?
            }
            Some((other, span)) => {
                return Err(invalid(
                    span,
                    format!("cannot extend `{other}`: the only taxonomy that can be extended is \"default\""),
                ))
            }
        };
        // Spans of merged-in default entries point into the default's text;
        // only report spans that are inside this source.
        let within = |span: Span| if span.end <= source.len() { span } else { 0..0 };
        validate(file, analyzer, origin).map_err(|(span, msg)| invalid(within(span), msg))
    }

    /// Where this taxonomy came from (a path or the embedded default).
    pub fn origin(&self) -> &str {
        &self.origin
    }
    /// The themes, in file order.
    pub fn themes(&self) -> &[ThemeDef] {
        &self.themes
    }
    /// The providers, in file order.
    pub fn providers(&self) -> &[ProviderDef] {
        &self.providers
    }
    /// The provider of an id.
    pub fn provider(&self, id: &ProviderId) -> Option<&ProviderDef> {
        self.providers.iter().find(|p| &p.id == id)
    }

    /// Validates one provider record against this taxonomy's themes.
    pub fn check_provider(
        &self,
        record: &ProviderRecord,
        analyzer: &Analyzer,
    ) -> Result<ProviderDef, ProviderError> {
        provider_def(&raw_provider(record), &self.themes, analyzer).map_err(|(_, message)| {
            ProviderError {
                id: record.id.clone(),
                message,
            }
        })
    }

    /// This taxonomy with the directory's provider changes laid over it:
    /// records replace or add providers, removals drop them.
    pub fn with_provider_changes(
        &self,
        changes: &[ProviderChange],
        analyzer: &Analyzer,
    ) -> Result<Taxonomy, ProviderError> {
        let mut out = self.clone();
        for change in changes {
            match change {
                ProviderChange::Put(record) => {
                    let def = self.check_provider(record, analyzer)?;
                    match out.providers.iter_mut().find(|p| p.id == def.id) {
                        Some(slot) => *slot = def,
                        None => out.providers.push(def),
                    }
                }
                ProviderChange::Removed(id) => out.providers.retain(|p| p.id.as_str() != id),
            }
        }
        Ok(out)
    }

    /// This taxonomy with learned term weights laid over the categories'
    /// and providers' prior weights: a learned term the target already has
    /// adds to its weight (capped at [`MAX_WEIGHT`]); others are kept
    /// apart as the target's learned words, which the index weighs without
    /// letting them change the taxonomy's own terms' inverse target
    /// frequency. Weights towards experts are applied to the experts by the
    /// caller.
    pub fn with_learned(&self, learned: &crate::learn::Learned, analyzer: &Analyzer) -> Taxonomy {
        use crate::learn::Target;
        let same = SameWord::new(analyzer);
        let mut out = self.clone();
        for (target, words) in learned.by_target() {
            let lists = match &target {
                Target::Category(c) => out
                    .categories
                    .iter_mut()
                    .find(|d| d.category == *c)
                    .map(|d| (&mut d.terms, &mut d.learned)),
                Target::Provider(p) => out
                    .providers
                    .iter_mut()
                    .find(|d| &d.id == p)
                    .map(|d| (&mut d.terms, &mut d.learned)),
                Target::Expert(_) => None,
            };
            let Some((terms, new_words)) = lists else {
                continue;
            };
            for (word, weight) in words {
                match terms.iter_mut().find(|(t, _)| same.same(t, &word)) {
                    Some((_, w)) => *w = (*w + weight).min(MAX_WEIGHT),
                    None => new_words.push((word, weight.min(MAX_WEIGHT))),
                }
            }
        }
        out
    }

    /// Every term of every category, theme, kind and provider, as written.
    pub fn all_terms(&self) -> impl Iterator<Item = &str> {
        let categories = self.categories.iter().flat_map(|d| &d.terms);
        let themes = self.themes.iter().flat_map(|d| &d.terms);
        let kinds = self.kinds.iter().flat_map(|d| &d.terms);
        let providers = self.providers.iter().flat_map(|d| &d.terms);
        categories
            .chain(themes)
            .chain(kinds)
            .chain(providers)
            .map(|(t, _)| t.as_str())
    }

    /// The scoring knobs.
    pub fn scoring(&self) -> &Scoring {
        &self.scoring
    }
    /// The display name of a category (e.g. `Strategie`).
    pub fn category_name(&self, category: Category) -> &str {
        self.categories
            .iter()
            .find(|d| d.category == category)
            .map_or(category.as_str(), |d| d.name.as_str())
    }
    /// Looks a theme up by id.
    pub fn theme(&self, id: &ThemeId) -> Option<&ThemeDef> {
        self.themes.iter().find(|t| &t.id == id)
    }
}

type Problem = (Span, String);

/// Tells whether a term is a one-word term, compared by stem in either
/// language (`matrassen` and `matras` are the same term). Each text is
/// analysed once, however often it is compared: index builds compare every
/// learned word with every term of its target.
pub struct SameWord<'a> {
    analyzer: &'a Analyzer,
    keys: std::cell::RefCell<std::collections::HashMap<String, Option<Vec<String>>>>,
}

impl<'a> SameWord<'a> {
    /// A matcher using `analyzer`.
    pub fn new(analyzer: &'a Analyzer) -> SameWord<'a> {
        SameWord {
            analyzer,
            keys: Default::default(),
        }
    }

    /// The surface and stems of a one-word text; `None` for phrases.
    fn keys(&self, text: &str) -> Option<Vec<String>> {
        if let Some(k) = self.keys.borrow().get(text) {
            return k.clone();
        }
        let words = self.analyzer.analyze_term(text);
        let k = match words.as_slice() {
            [w] => {
                let mut k: Vec<String> = w.stems.iter().flatten().cloned().collect();
                k.push(w.surface.clone());
                Some(k)
            }
            _ => None,
        };
        self.keys.borrow_mut().insert(text.to_string(), k.clone());
        k
    }

    /// Whether `term` and `word` are the same one-word term.
    pub fn same(&self, term: &str, word: &str) -> bool {
        match (self.keys(term), self.keys(word)) {
            (Some(a), Some(b)) => a.iter().any(|x| b.contains(x)),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests;
