//! Building an [`Index`]: analyse every term of every target, group the
//! terms by their analysed key, weigh them by inverse target frequency and
//! compile the keys into an FST.

use super::{Groups, Index, Posting, Term};
use crate::analysis::{Analyzer, Language};
use crate::domain::{Category, Expert, KnowledgeKind, ThemeId};
use crate::taxonomy::Taxonomy;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

/// Everything an index is built from.
#[derive(Debug, Clone)]
pub struct IndexInput {
    /// The taxonomy: categories, themes, kinds, providers.
    pub taxonomy: Arc<Taxonomy>,
    /// The expert directory.
    pub experts: Arc<[Expert]>,
    /// Version number the index will carry.
    pub version: u64,
}

/// Why an index could not be built.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// An expert names a theme the taxonomy does not define.
    #[error("expert `{expert}` names theme `{theme}`, which the taxonomy does not define: use one of {known}")]
    UnknownTheme {
        /// The expert's id.
        expert: String,
        /// The unknown theme id.
        theme: String,
        /// The themes the taxonomy defines, comma separated.
        known: String,
    },
    /// Two experts share an id.
    #[error("expert id `{0}` appears twice: expert ids must be unique")]
    DuplicateExpert(String),
    /// More targets or postings than the index's 32-bit numbers can hold.
    #[error("too many targets or postings ({0}) for one index: at most 4 billion are supported")]
    TooLarge(usize),
    /// The FST builder failed. Keys are sorted and unique by construction,
    /// so this is a bug.
    #[error("compiling the term FST failed ({0}); this is a bug in kicer, please report it")]
    Fst(#[from] fst::Error),
}

/// A term's analysed keys.
#[derive(Clone)]
struct Keys {
    /// Dutch stems joined by spaces (or the English ones when every word is
    /// a Dutch stop word). Terms with the same canonical key are one term.
    canonical: String,
    /// Other keys that lead to the same term: surface, English stems,
    /// hyphen-joined surface.
    aliases: Vec<String>,
    /// The folded word of a single-word term, as written.
    surface: Option<String>,
    words: u8,
}

fn keys_of(term: &str, analyzer: &Analyzer) -> Option<Keys> {
    let words = analyzer.analyze_term(term);
    let per_language: Vec<Option<(String, usize)>> = Language::ALL
        .iter()
        .map(|&lang| {
            let stems: Vec<&str> = words
                .iter()
                .filter_map(|w| w.stems[lang as usize].as_deref())
                .collect();
            (!stems.is_empty()).then(|| (stems.join(" "), stems.len()))
        })
        .collect();
    let (canonical, words_in_key) = per_language.iter().flatten().next().cloned()?;
    let mut aliases: Vec<String> = per_language
        .iter()
        .flatten()
        .map(|(k, _)| k.clone())
        .collect();
    if words.len() == 1 {
        aliases.push(words[0].surface.clone());
    } else if term.contains('-') {
        aliases.push(words.iter().map(|w| w.surface.as_str()).collect());
    }
    aliases.retain(|a| *a != canonical);
    aliases.sort();
    aliases.dedup();
    let surface = (words.len() == 1).then(|| words[0].surface.clone());
    Some(Keys {
        canonical,
        aliases,
        surface,
        words: words_in_key.min(u8::MAX as usize) as u8,
    })
}

struct TermBuild {
    display: String,
    words: u8,
    surfaces: Vec<String>,
    aliases: Vec<String>,
    /// target → raw weight (the largest, when a target lists two spellings
    /// of one term).
    postings: BTreeMap<u32, f32>,
    /// Targets that have the term from the taxonomy or their expertise, not
    /// only from learning: the inverse target frequency counts these alone.
    prior: BTreeSet<u32>,
}

pub(super) fn build(input: IndexInput, analyzer: &Analyzer) -> Result<Index, IndexError> {
    // Experts are numbered in id order, so ranking can break ties by target
    // number and still list equal experts by id.
    let experts: Arc<[Expert]> = if input.experts.is_sorted_by(|a, b| a.id() <= b.id()) {
        input.experts.clone()
    } else {
        let mut sorted = input.experts.to_vec();
        sorted.sort_by(|a, b| a.id().cmp(b.id()));
        sorted.into()
    };
    if let Some(pair) = experts.windows(2).find(|w| w[0].id() == w[1].id()) {
        return Err(IndexError::DuplicateExpert(pair[0].id().to_string()));
    }
    let tax = &input.taxonomy;
    let mut next = 0u32;
    let mut range = |n: usize| -> Result<std::ops::Range<u32>, IndexError> {
        let n = u32::try_from(n).map_err(|_| IndexError::TooLarge(n))?;
        let start = next;
        next = next
            .checked_add(n)
            .ok_or(IndexError::TooLarge(n as usize))?;
        Ok(start..next)
    };
    let groups = Groups {
        categories: range(Category::ALL.len())?,
        themes: range(tax.themes.len())?,
        kinds: range(KnowledgeKind::ALL.len())?,
        providers: range(tax.providers.len())?,
        experts: range(experts.len())?,
    };

    let theme_number: HashMap<&ThemeId, usize> = tax
        .themes
        .iter()
        .enumerate()
        .map(|(i, t)| (&t.id, i))
        .collect();
    let mut theme_members: Vec<Vec<(u32, f32)>> = vec![Vec::new(); tax.themes.len()];
    let affinity = super::theme_affinity;

    // Every (term text, target, weight) of every target, and the learned
    // words the taxonomy does not have.
    let mut entries: Vec<(&str, u32, f32)> = Vec::new();
    let mut learned: Vec<(&str, u32, f32)> = Vec::new();
    for def in &tax.categories {
        let target = groups.categories.start + def.category.index() as u32;
        entries.extend(def.terms.iter().map(|(t, w)| (t.as_str(), target, *w)));
        learned.extend(def.learned.iter().map(|(t, w)| (t.as_str(), target, *w)));
    }
    for (i, def) in tax.themes.iter().enumerate() {
        let target = groups.themes.start + i as u32;
        entries.extend(def.terms.iter().map(|(t, w)| (t.as_str(), target, *w)));
    }
    for def in &tax.kinds {
        let target = groups.kinds.start + def.kind.index() as u32;
        entries.extend(def.terms.iter().map(|(t, w)| (t.as_str(), target, *w)));
    }
    for (i, def) in tax.providers.iter().enumerate() {
        let target = groups.providers.start + i as u32;
        entries.extend(def.terms.iter().map(|(t, w)| (t.as_str(), target, *w)));
        learned.extend(def.learned.iter().map(|(t, w)| (t.as_str(), target, *w)));
        for (pos, theme) in def.themes.iter().enumerate() {
            // Validated against the taxonomy when it was loaded.
            if let Some(&n) = theme_number.get(theme) {
                theme_members[n].push((target, affinity(pos)));
            }
        }
    }
    for (i, expert) in experts.iter().enumerate() {
        let target = groups.experts.start + i as u32;
        entries.extend(
            expert
                .expertise()
                .iter()
                .map(|(t, w)| (t.as_str(), target, *w)),
        );
        for (pos, theme) in expert.themes().iter().enumerate() {
            let Some(&n) = theme_number.get(theme) else {
                return Err(IndexError::UnknownTheme {
                    expert: expert.id().to_string(),
                    theme: theme.to_string(),
                    known: tax
                        .themes
                        .iter()
                        .map(|t| t.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            };
            theme_members[n].push((target, affinity(pos)));
        }
    }

    // Analyse each distinct term text once: experts repeat the same
    // vocabulary thousands of times.
    let mut analysed: HashMap<&str, Option<Keys>> = HashMap::new();
    let mut by_key: BTreeMap<String, TermBuild> = BTreeMap::new();
    let prior_entries = entries.len();
    entries.extend(learned);
    for (n, &(text, target, weight)) in entries.iter().enumerate() {
        let keys = analysed
            .entry(text)
            .or_insert_with(|| keys_of(text, analyzer));
        let Some(keys) = keys else { continue };
        let term = by_key
            .entry(keys.canonical.clone())
            .or_insert_with(|| TermBuild {
                display: text.to_string(),
                words: keys.words,
                surfaces: Vec::new(),
                aliases: Vec::new(),
                postings: BTreeMap::new(),
                prior: BTreeSet::new(),
            });
        if n < prior_entries {
            term.prior.insert(target);
        }
        if let Some(surface) = &keys.surface {
            if !term.surfaces.contains(surface) {
                term.surfaces.push(surface.clone());
            }
        }
        for alias in &keys.aliases {
            if !term.aliases.contains(alias) {
                term.aliases.push(alias.clone());
            }
        }
        let slot = term.postings.entry(target).or_insert(0.0);
        *slot = slot.max(weight);
    }

    // Group sizes for inverse target frequency.
    let group_of = |target: u32| -> (usize, usize) {
        for (n, r) in [
            &groups.categories,
            &groups.themes,
            &groups.kinds,
            &groups.providers,
            &groups.experts,
        ]
        .into_iter()
        .enumerate()
        {
            if r.contains(&target) {
                return (n, r.len());
            }
        }
        (0, 1)
    };

    let mut terms = Vec::with_capacity(by_key.len());
    let mut postings: Vec<Posting> = Vec::new();
    let mut keys: BTreeMap<String, u64> = BTreeMap::new();
    for (number, (canonical, tb)) in by_key.iter().enumerate() {
        // Learned words must not change what the taxonomy's own terms
        // weigh: a general word learned for a few providers would otherwise
        // lower its weight for every target that has it by nature, and
        // questions nobody taught anything about would route differently.
        // A word only learned counts its learned targets.
        let mut df = [0usize; 5];
        let mut df_learned = [0usize; 5];
        for &target in tb.postings.keys() {
            if tb.prior.contains(&target) {
                df[group_of(target).0] += 1;
            } else {
                df_learned[group_of(target).0] += 1;
            }
        }
        for (d, l) in df.iter_mut().zip(df_learned) {
            if *d == 0 {
                *d = l;
            }
        }
        let start =
            u32::try_from(postings.len()).map_err(|_| IndexError::TooLarge(postings.len()))?;
        for (&target, &weight) in &tb.postings {
            let (group, size) = group_of(target);
            let idf = (1.0 + size as f32 / df[group] as f32).ln();
            postings.push(Posting {
                target,
                weight: weight * idf,
            });
        }
        let end =
            u32::try_from(postings.len()).map_err(|_| IndexError::TooLarge(postings.len()))?;
        terms.push(Term {
            display: Arc::from(tb.display.as_str()),
            words: tb.words,
            postings: start..end,
        });
        keys.insert(canonical.clone(), number as u64);
    }
    // Aliases never take a key that is some other term's canonical key, and
    // the first term (in key order) to claim an alias keeps it.
    for (number, tb) in by_key.values().enumerate() {
        for alias in &tb.aliases {
            keys.entry(alias.clone()).or_insert(number as u64);
        }
    }
    // Mark the keys that are whole words as written (not stems), so the
    // compound splitter can trust them as a known modifier on their own.
    for (number, tb) in by_key.values().enumerate() {
        for surface in &tb.surfaces {
            if let Some(value) = keys.get_mut(surface) {
                if *value == number as u64 {
                    *value |= super::SURFACE_FLAG;
                }
            }
        }
    }
    let map = fst::Map::from_iter(keys)?;

    Ok(Index {
        version: input.version,
        map,
        terms,
        postings,
        groups,
        theme_members,
        taxonomy: input.taxonomy,
        expert_traits: experts.iter().map(super::ExpertTraits::of).collect(),
        experts,
        fallback_cache: quick_cache::sync::Cache::new(super::FALLBACK_CACHE_WORDS),
    })
}
