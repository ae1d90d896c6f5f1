//! The compiled keyword index: every term of every target (categories,
//! themes, knowledge kinds, providers, experts) in one [`fst::Map`] from key
//! to term, with a postings list per term saying which targets carry it and
//! how much.
//!
//! Keys are the analysed forms of the terms: for a single word its folded
//! surface (`inkoopdoelstelling`) and its Dutch and English stems
//! (`inkoopdoelstell`); for a multi-word term the stems joined by one space
//! (`circulair bouw`). Query words are looked up the same way, in this order:
//!
//! 1. **phrases and stems**, in one walk over the FST per position: the stem
//!    of the word, then a space and the stem of the next word, as long as the
//!    FST has a path (no separate lookup per n-gram);
//! 2. the **folded surface** of the word;
//! 3. for words of six letters or more, a **compound split** against the
//!    vocabulary with the FST's longest-prefix walk, allowing the Dutch
//!    linking morphemes `s`, `e` and `en` (`afvalinzameling` → `afval` +
//!    `inzameling`);
//! 4. for words of seven letters or more, **one typo** through the
//!    [`typo::OneEdit`] automaton, keeping the first letter (people rarely
//!    mistype it, and a different first letter is usually another word).
//!
//! Postings carry weights already multiplied by the term's inverse target
//! frequency within its group (a term every provider has says little about
//! which provider), so scoring is a sum of products.
//!
//! An [`Index`] is immutable; the engine swaps in a new one when the
//! taxonomy or the experts change.

mod build;
pub mod typo;

pub use build::{IndexError, IndexInput};

use crate::analysis::{Analysis, Analyzer, Language};
use crate::domain::{Category, Expert, KnowledgeKind};
use crate::taxonomy::{ProviderDef, Taxonomy};
use fst::raw::Output;
use fst::{IntoStreamer, Streamer};
use std::ops::Range;
use std::sync::Arc;

/// Shortest word that is tried as a compound.
const MIN_COMPOUND_LEN: usize = 6;
/// Shortest part of a compound.
const MIN_PART_LEN: usize = 3;
/// Shortest word that is tried with a typo. Short Dutch words have many
/// real-word neighbours one edit away (`moeten` → `meten`, `zorgen` →
/// `borgen`), so correcting them does more harm than good.
const MIN_TYPO_LEN: usize = 7;
/// Longest phrase, in words.
const MAX_PHRASE_WORDS: usize = 4;
/// Longest word whose compound split or typo correction is cached.
const MAX_CACHED_WORD: usize = 64;
/// How many words' compound splits and typo corrections an index remembers.
const FALLBACK_CACHE_WORDS: usize = 50_000;

/// Compound parts or typo correction of one unknown word.
type Fallback = Arc<[(u32, MatchKind, u16, u16)]>;

/// How many typo candidates are considered for one word.
const MAX_TYPO_CANDIDATES: usize = 8;

/// Bit set in a key's FST value when the key is a whole word as written
/// rather than a stem; the low 32 bits are the term number.
const SURFACE_FLAG: u64 = 1 << 32;

/// Shortest known modifier that counts on its own when the rest of a
/// compound is unknown (`kunstgras` in `kunstgrasmatten`).
const MIN_MODIFIER_LEN: usize = 5;

/// How strongly a provider or expert is tied to the theme at `position` in
/// its list of themes: the first is the most central.
pub fn theme_affinity(position: usize) -> f32 {
    1.0 / (1.0 + 0.35 * position as f32)
}

/// One entry of a term's postings list.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Posting {
    /// The target number (see [`Index::target_kind`]).
    pub target: u32,
    /// Term weight × inverse target frequency within the target's group.
    pub weight: f32,
}

/// A term of the index: how it is shown and where its postings are.
#[derive(Debug, Clone)]
pub struct Term {
    /// The term as written in the taxonomy or expert record.
    pub display: Arc<str>,
    /// Words in the term; more than one means a phrase.
    pub words: u8,
    postings: Range<u32>,
}

/// What a target is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    /// One of the four categories.
    Category(Category),
    /// A theme, by position in the taxonomy.
    Theme(usize),
    /// A knowledge kind.
    Kind(KnowledgeKind),
    /// A provider, by position in the taxonomy.
    Provider(usize),
    /// An expert, by position in [`Index::experts`].
    Expert(usize),
}

/// The targets of one kind occupy one contiguous range of target numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Groups {
    /// The four categories, in [`Category::ALL`] order.
    pub categories: Range<u32>,
    /// Themes, in taxonomy order.
    pub themes: Range<u32>,
    /// Knowledge kinds, in [`KnowledgeKind::ALL`] order.
    pub kinds: Range<u32>,
    /// Providers, in taxonomy order.
    pub providers: Range<u32>,
    /// Experts, in the order given.
    pub experts: Range<u32>,
}

/// How a query word met a term.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchKind {
    /// Several consecutive words matched a multi-word term.
    Phrase,
    /// The word (or its stem) is the term.
    Word,
    /// The term is a part of a compound word.
    CompoundPart,
    /// The word is one edit away from the term.
    Typo,
}

/// One term found in a query.
#[derive(Debug, Clone, PartialEq)]
pub struct TermHit {
    /// The term number (see [`Index::term`]).
    pub term: u32,
    /// How it matched.
    pub kind: MatchKind,
    /// Which part of the analysed text matched: tokens `first..=last`, and
    /// for a compound part or typo the byte range `start..end` of that one
    /// token. Text is only built for explanations ([`TermHit::text`]).
    pub span: Span,
}

/// A stretch of an analysed text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// First token.
    pub first: u32,
    /// Last token (equal to `first` for a single word).
    pub last: u32,
    /// For a part of one token: its byte range; `None` for whole tokens.
    pub part: Option<(u16, u16)>,
}

impl TermHit {
    /// The folded text of the question that matched.
    pub fn text(&self, analysis: &Analysis) -> String {
        let tokens = &analysis.tokens;
        let (first, last) = (self.span.first as usize, self.span.last as usize);
        match self.span.part {
            Some((start, end)) => tokens
                .get(first)
                .and_then(|t| t.surface.get(usize::from(start)..usize::from(end)))
                .unwrap_or_default()
                .to_string(),
            None => tokens
                .get(first..=last)
                .map(|ts| {
                    ts.iter()
                        .map(|t| t.surface.as_str())
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default(),
        }
    }
}

/// What ranking needs to know of an expert, packed densely: thousands of
/// experts are weighed for every question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpertTraits {
    /// Bit `c.index()` set for every category the expert handles.
    categories: u8,
    /// The expert's type of organisation.
    pub organization_type: crate::domain::OrganizationType,
    /// The expert's province.
    pub region: Option<crate::domain::Province>,
    /// Whether the expert takes questions now.
    pub available: bool,
}

impl ExpertTraits {
    /// The traits of one expert.
    pub fn of(expert: &Expert) -> Self {
        ExpertTraits {
            categories: expert
                .categories()
                .iter()
                .fold(0, |bits, c| bits | 1 << c.index()),
            organization_type: expert.organization_type(),
            region: expert.region(),
            available: expert.available(),
        }
    }

    /// Whether the expert handles `category`.
    pub fn handles(&self, category: Category) -> bool {
        self.categories & (1 << category.index()) != 0
    }
}

/// The compiled index. Cheap to share (`Arc`), never mutated.
pub struct Index {
    version: u64,
    map: fst::Map<Vec<u8>>,
    terms: Vec<Term>,
    postings: Vec<Posting>,
    groups: Groups,
    /// Per theme: the providers and experts covering it, with an affinity
    /// that decreases with the theme's position in their list.
    theme_members: Vec<Vec<(u32, f32)>>,
    taxonomy: Arc<Taxonomy>,
    experts: Arc<[Expert]>,
    expert_traits: Vec<ExpertTraits>,
    /// Compound splits and typo corrections of words not in the
    /// vocabulary. They cost microseconds each and questions repeat their
    /// words, so the answers are remembered; the cache belongs to this
    /// index and disappears with it when a rebuild swaps in a new one.
    fallback_cache: quick_cache::sync::Cache<String, Fallback>,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index")
            .field("version", &self.version)
            .field("keys", &self.map.len())
            .field("terms", &self.terms.len())
            .field("postings", &self.postings.len())
            .field("groups", &self.groups)
            .finish_non_exhaustive()
    }
}

impl Index {
    /// Builds an index from a taxonomy and experts. See [`IndexInput`].
    pub fn build(input: IndexInput, analyzer: &Analyzer) -> Result<Index, IndexError> {
        build::build(input, analyzer)
    }

    /// The version number given at build time; every classification names it.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The taxonomy this index was built from.
    pub fn taxonomy(&self) -> &Arc<Taxonomy> {
        &self.taxonomy
    }

    /// The experts this index was built from.
    pub fn experts(&self) -> &[Expert] {
        &self.experts
    }

    /// The target ranges.
    pub fn groups(&self) -> &Groups {
        &self.groups
    }

    /// Number of targets.
    pub fn target_count(&self) -> usize {
        self.groups.experts.end as usize
    }

    /// Forgets remembered compound splits and typo corrections (for
    /// benchmarks that measure the cold path).
    pub fn clear_caches(&self) {
        self.fallback_cache.clear();
    }

    /// The FST of all keys (read-only), for tools and benchmarks.
    pub fn fst(&self) -> &fst::Map<Vec<u8>> {
        &self.map
    }

    /// Number of keys in the FST.
    pub fn key_count(&self) -> usize {
        self.map.len()
    }

    /// A term by number.
    pub fn term(&self, term: u32) -> &Term {
        &self.terms[term as usize]
    }

    /// The postings of a term, sorted by target.
    pub fn postings(&self, term: u32) -> &[Posting] {
        let r = &self.terms[term as usize].postings;
        &self.postings[r.start as usize..r.end as usize]
    }

    /// The weight of `term` for `target`, if the target carries the term.
    pub fn posting_weight(&self, term: u32, target: u32) -> Option<f32> {
        let postings = self.postings(term);
        postings
            .binary_search_by_key(&target, |p| p.target)
            .ok()
            .map(|i| postings[i].weight)
    }

    /// Providers and experts covering theme number `theme`, with affinity.
    pub fn theme_members(&self, theme: usize) -> &[(u32, f32)] {
        &self.theme_members[theme]
    }

    /// What a target number stands for.
    pub fn target_kind(&self, target: u32) -> TargetKind {
        let g = &self.groups;
        let offset = |r: &Range<u32>| (target - r.start) as usize;
        if g.categories.contains(&target) {
            TargetKind::Category(Category::ALL[offset(&g.categories)])
        } else if g.themes.contains(&target) {
            TargetKind::Theme(offset(&g.themes))
        } else if g.kinds.contains(&target) {
            TargetKind::Kind(KnowledgeKind::ALL[offset(&g.kinds)])
        } else if g.providers.contains(&target) {
            TargetKind::Provider(offset(&g.providers))
        } else {
            TargetKind::Expert(offset(&g.experts))
        }
    }

    /// The provider behind a target number in the provider range.
    pub fn provider(&self, target: u32) -> &ProviderDef {
        &self.taxonomy.providers[(target - self.groups.providers.start) as usize]
    }

    /// The ranking traits of the expert behind a target number.
    pub fn expert_traits(&self, target: u32) -> ExpertTraits {
        self.expert_traits[(target - self.groups.experts.start) as usize]
    }

    /// The expert behind a target number in the expert range.
    pub fn expert(&self, target: u32) -> &Expert {
        &self.experts[(target - self.groups.experts.start) as usize]
    }

    /// Finds every term of the index in an analysed text.
    pub fn find_terms(&self, analysis: &Analysis, analyzer: &Analyzer) -> Vec<TermHit> {
        let tokens = &analysis.tokens;
        let mut hits = Vec::new();
        for (i, token) in tokens.iter().enumerate() {
            let found_word = self.walk_phrases(analysis, i, &mut hits);
            if found_word {
                continue;
            }
            if let Some(term) = self.map.get(token.surface.as_bytes()) {
                hits.push(TermHit {
                    term: term as u32,
                    kind: MatchKind::Word,
                    span: Span {
                        first: i as u32,
                        last: i as u32,
                        part: None,
                    },
                });
                continue;
            }
            if token.abbreviation || !token.surface.bytes().all(|b| b.is_ascii_alphabetic()) {
                continue;
            }
            if token.surface.len() < MIN_COMPOUND_LEN.min(MIN_TYPO_LEN) {
                continue;
            }
            let fallback = match self.fallback_cache.get(token.surface.as_str()) {
                Some(found) => found,
                None => {
                    let found = self.fallback(&token.surface, analyzer);
                    if token.surface.len() <= MAX_CACHED_WORD {
                        self.fallback_cache
                            .insert(token.surface.clone(), found.clone());
                    }
                    found
                }
            };
            hits.extend(fallback.iter().map(|&(term, kind, start, end)| TermHit {
                term,
                kind,
                span: Span {
                    first: i as u32,
                    last: i as u32,
                    part: Some((start, end)),
                },
            }));
        }
        hits
    }

    /// What an unknown word still yields: its compound parts, or else the
    /// term one typo away. The parts are `(term, kind, start, end)` with the
    /// byte range of the word that matched.
    fn fallback(&self, word: &str, analyzer: &Analyzer) -> Fallback {
        if word.len() >= MIN_COMPOUND_LEN {
            let parts = self
                .split_compound(word, analyzer, 0)
                .or_else(|| self.known_modifier(word));
            if let Some(parts) = parts {
                return parts
                    .into_iter()
                    .map(|(term, part)| {
                        // Parts are subslices of `word`; a word longer than
                        // 64 KiB is clamped, which only shortens the
                        // `matched` text of an explanation.
                        let start = part.as_ptr() as usize - word.as_ptr() as usize;
                        let clamp = |n: usize| u16::try_from(n).unwrap_or(u16::MAX);
                        (
                            term,
                            MatchKind::CompoundPart,
                            clamp(start),
                            clamp(start + part.len()),
                        )
                    })
                    .collect();
            }
        }
        if word.len() >= MIN_TYPO_LEN {
            if let Some(term) = self.typo(word) {
                let end = u16::try_from(word.len()).unwrap_or(u16::MAX);
                return Arc::from([(term, MatchKind::Typo, 0, end)]);
            }
        }
        Arc::from([])
    }

    /// Walks the FST from position `start`: the stem of that token (a word
    /// match when final), then space + next stem for phrases, as far as the
    /// FST has a path. Returns whether the single word matched.
    fn walk_phrases(&self, analysis: &Analysis, start: usize, hits: &mut Vec<TermHit>) -> bool {
        let tokens = &analysis.tokens;
        let fst = self.map.as_fst();
        let mut node = fst.root();
        let mut out = Output::zero();
        let mut word_found = false;
        for (n, token) in tokens[start..].iter().enumerate().take(MAX_PHRASE_WORDS) {
            if n > 0 {
                if token.boundary_before {
                    break;
                }
                match node.find_input(b' ') {
                    Some(t) => {
                        let t = node.transition(t);
                        out = out.cat(t.out);
                        node = fst.node(t.addr);
                    }
                    None => break,
                }
            }
            let mut complete = true;
            for &b in token.stem.as_bytes() {
                match node.find_input(b) {
                    Some(t) => {
                        let t = node.transition(t);
                        out = out.cat(t.out);
                        node = fst.node(t.addr);
                    }
                    None => {
                        complete = false;
                        break;
                    }
                }
            }
            if !complete {
                break;
            }
            if node.is_final() {
                let term = out.cat(node.final_output()).value() as u32;
                let span = Span {
                    first: start as u32,
                    last: (start + n) as u32,
                    part: None,
                };
                hits.push(TermHit {
                    term,
                    kind: if n == 0 {
                        MatchKind::Word
                    } else {
                        MatchKind::Phrase
                    },
                    span,
                });
                word_found |= n == 0;
            }
        }
        word_found
    }

    /// Every key that is a prefix of `word`, longest first, as (length, term).
    fn prefixes(&self, word: &str) -> Vec<(usize, u64)> {
        let fst = self.map.as_fst();
        let mut node = fst.root();
        let mut out = Output::zero();
        let mut found = Vec::new();
        for (i, &b) in word.as_bytes().iter().enumerate() {
            let Some(t) = node.find_input(b) else { break };
            let t = node.transition(t);
            out = out.cat(t.out);
            node = fst.node(t.addr);
            if node.is_final() && i + 1 >= MIN_PART_LEN {
                found.push((i + 1, out.cat(node.final_output()).value()));
            }
        }
        found.reverse();
        found
    }

    /// A whole word as a term: its surface or its Dutch stem.
    fn whole_word(&self, word: &str, analyzer: &Analyzer) -> Option<u32> {
        self.map
            .get(word)
            .or_else(|| {
                self.map
                    .get(analyzer.stem(word, Language::Dutch, false).as_bytes())
            })
            .map(|t| t as u32)
    }

    /// Splits a Dutch compound into known terms: the longest known prefix,
    /// then optionally a linking `s`, `e` or `en`, then a known word or
    /// (recursively, up to three parts) another compound.
    pub fn split_compound<'w>(
        &self,
        word: &'w str,
        analyzer: &Analyzer,
        depth: usize,
    ) -> Option<Vec<(u32, &'w str)>> {
        for (len, head) in self.prefixes(word) {
            let head = head as u32;
            if word.len() - len < MIN_PART_LEN {
                continue;
            }
            let rest = &word[len..];
            for link in ["", "s", "e", "en"] {
                let Some(tail) = rest.strip_prefix(link) else {
                    continue;
                };
                if tail.len() < MIN_PART_LEN {
                    continue;
                }
                if let Some(term) = self.whole_word(tail, analyzer) {
                    return Some(vec![(head, &word[..len]), (term, tail)]);
                }
                if depth < 1 {
                    if let Some(mut more) = self.split_compound(tail, analyzer, depth + 1) {
                        more.insert(0, (head, &word[..len]));
                        return Some(more);
                    }
                }
            }
        }
        None
    }

    /// When a compound does not split into known words, its longest known
    /// modifier still says what it is about (`kunstgras` + `matten`,
    /// `inkoop` + `bureau`): a whole word as written, of at least
    /// [`MIN_MODIFIER_LEN`] letters and half the compound.
    fn known_modifier<'w>(&self, word: &'w str) -> Option<Vec<(u32, &'w str)>> {
        self.prefixes(word)
            .into_iter()
            .find(|&(len, value)| {
                value & SURFACE_FLAG != 0
                    && len >= MIN_MODIFIER_LEN
                    && 2 * len >= word.len()
                    && word.len() - len >= MIN_PART_LEN
            })
            .map(|(len, value)| vec![(value as u32, &word[..len])])
    }

    /// The best single-word key within one edit of `word`: the candidate
    /// sharing the longest prefix with the word, then the smallest key.
    fn typo(&self, word: &str) -> Option<u32> {
        let automaton = typo::OneEdit::new(word)?.keeping_first_letter();
        let mut stream = self.map.search(automaton).into_stream();
        let mut best: Option<(usize, Vec<u8>, u64)> = None;
        let mut seen = 0;
        while let Some((key, term)) = stream.next() {
            if key.contains(&b' ') || key.len() < MIN_TYPO_LEN - 1 {
                continue;
            }
            let common = key
                .iter()
                .zip(word.as_bytes())
                .take_while(|(a, b)| a == b)
                .count();
            if best.as_ref().is_none_or(|(c, _, _)| common > *c) {
                best = Some((common, key.to_vec(), term));
            }
            seen += 1;
            if seen >= MAX_TYPO_CANDIDATES {
                break;
            }
        }
        best.map(|(_, _, term)| term as u32)
    }
}

#[cfg(test)]
mod tests;
