//! The routing engine: classification and matching over an [`Index`], and
//! the atomic swap that lets the index be rebuilt while requests are served.
//!
//! Everything here is pure computation over an immutable index: no I/O, no
//! locks on the request path. [`Engine::classify`] loads the current index
//! (one atomic pointer read), analyses the text, finds the terms and scores
//! every target; [`Engine::replace_experts`] builds a new index beside the
//! old one and swaps it in, so no request ever sees half an index.

mod score;

pub use score::{
    CategoryScore, Classification, Contribution, FitReason, RankedMatch, ThemeScore, Via,
};

use crate::analysis::{Analyzer, Language};
use crate::domain::{Expert, OrganizationType, Province};
use crate::index::{Index, IndexError, IndexInput};
use crate::taxonomy::Taxonomy;
use arc_swap::ArcSwap;
use std::sync::{Arc, Mutex};

/// A question to classify, with what is known about the asker.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<'a> {
    /// The question text.
    pub text: &'a str,
    /// Type of the asking organisation, if known: steers provider fit.
    pub organization_type: Option<OrganizationType>,
    /// Province of the asker, if known: steers regional providers and
    /// experts.
    pub region: Option<Province>,
    /// Language of the text; detected when `None`.
    pub language: Option<Language>,
}

impl<'a> Query<'a> {
    /// A query with only a text.
    pub fn text(text: &'a str) -> Self {
        Query {
            text,
            ..Query::default()
        }
    }
}

/// The engine: an analyser, a taxonomy and the current index.
pub struct Engine {
    analyzer: Analyzer,
    current: ArcSwap<Index>,
    /// Serialises rebuilds so versions increase in the order indexes are
    /// swapped in. Readers never take it.
    rebuild: Mutex<u64>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("index", &*self.current.load())
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Builds the engine and its first index (version 1).
    pub fn new(taxonomy: Taxonomy, experts: Vec<Expert>) -> Result<Engine, IndexError> {
        Engine::starting_at(taxonomy, experts, 1)
    }

    /// Builds the engine with its first index at `version`: a service that
    /// restarts continues its versions, so a version names one index.
    pub fn starting_at(
        taxonomy: Taxonomy,
        experts: Vec<Expert>,
        version: u64,
    ) -> Result<Engine, IndexError> {
        let analyzer = Analyzer::new();
        let taxonomy = Arc::new(taxonomy);
        let index = Index::build(
            IndexInput {
                taxonomy: taxonomy.clone(),
                experts: experts.into(),
                version,
            },
            &analyzer,
        )?;
        Ok(Engine {
            analyzer,
            current: ArcSwap::from_pointee(index),
            rebuild: Mutex::new(version),
        })
    }

    /// The analyser the engine uses (also for taxonomy validation).
    pub fn analyzer(&self) -> &Analyzer {
        &self.analyzer
    }

    /// The taxonomy of the current index (with the directory's provider
    /// changes laid over it).
    pub fn taxonomy(&self) -> Arc<Taxonomy> {
        self.current.load().taxonomy().clone()
    }

    /// The current index. Holding the `Arc` keeps that version alive even
    /// if a rebuild swaps in a newer one meanwhile.
    pub fn index(&self) -> Arc<Index> {
        self.current.load_full()
    }

    /// Classifies a question and ranks providers and experts.
    pub fn classify(&self, query: &Query<'_>) -> Classification {
        let index = self.current.load();
        score::classify(&index, &self.analyzer, query)
    }

    /// The features a text is compared by for similar questions: the
    /// stems of its content words (`s:…`) and the taxonomy terms found in
    /// it (`t:…`), which are the same for Dutch and English and survive
    /// compounds and typos.
    pub fn features(&self, text: &str) -> Vec<String> {
        let index = self.current.load();
        let analysis = self.analyzer.analyze(text, None);
        let mut out: Vec<String> = analysis
            .tokens
            .iter()
            .map(|t| format!("s:{}", t.stem))
            .collect();
        out.extend(
            index
                .find_terms(&analysis, &self.analyzer)
                .iter()
                .map(|hit| format!("t:{}", index.term(hit.term).display)),
        );
        out.sort();
        out.dedup();
        out
    }

    /// Rebuilds the index with a new expert directory and swaps it in.
    /// Returns the new index version. Requests keep being answered from the
    /// old index until the swap; a failed build leaves it in place.
    pub fn replace_experts(&self, experts: Vec<Expert>) -> Result<u64, IndexError> {
        self.rebuild(None, experts)
    }

    /// Rebuilds the index with a new taxonomy (when given; the current one
    /// otherwise) and expert directory, and swaps it in. Returns the new
    /// index version.
    pub fn rebuild(
        &self,
        taxonomy: Option<Taxonomy>,
        experts: Vec<Expert>,
    ) -> Result<u64, IndexError> {
        // A poisoned lock only means an earlier rebuild panicked; the
        // version counter inside is still valid.
        let mut version = self.rebuild.lock().unwrap_or_else(|p| p.into_inner());
        let next = *version + 1;
        let taxonomy = match taxonomy {
            Some(t) => Arc::new(t),
            None => self.taxonomy(),
        };
        let index = Index::build(
            IndexInput {
                taxonomy,
                experts: experts.into(),
                version: next,
            },
            &self.analyzer,
        )?;
        self.current.store(Arc::new(index));
        *version = next;
        Ok(next)
    }
}

impl Via {
    /// The name clients see (`PHRASE`, `WORD`, `COMPOUND_PART`, `TYPO`,
    /// `THEME`, `DEDICATED`, `CATEGORY`): the serde name, upper-cased.
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Phrase => "PHRASE",
            Via::Word => "WORD",
            Via::CompoundPart => "COMPOUND_PART",
            Via::Typo => "TYPO",
            Via::Theme => "THEME",
            Via::Dedicated => "DEDICATED",
            Via::Category => "CATEGORY",
        }
    }
}

#[cfg(test)]
mod tests;
