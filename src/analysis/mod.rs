//! Text analysis: from a question as a civil servant typed it to the terms
//! the index knows.
//!
//! The pipeline, in order:
//!
//! 1. **Tokenise** the original text, so that the case of a word is still
//!    visible: `CE`, `MPG`, `B&W` are abbreviations and are never stemmed.
//!    Hyphenated words become their parts (`circulaire-inkoopdoelstellingen`
//!    → `circulaire`, `inkoopdoelstellingen`); `collega's` loses its `'s`.
//!    Punctuation that ends a clause is remembered, so a multi-word term
//!    never spans two sentences.
//! 2. **Fold** each word: lower case, Unicode compatibility decomposition,
//!    diacritics dropped (`geïnventariseerd` = `geinventariseerd`,
//!    `Ideeën` → `ideeen`). See [`fold`].
//! 3. **Detect the language** (Dutch or English) by counting stop words of
//!    each, unless the caller says which. Dutch wins a tie: it is the
//!    service's main language.
//! 4. **Drop stop words** of that language.
//! 5. **Stem** with the Snowball stemmer of that language (`rust-stemmers`),
//!    except abbreviations, words with digits and words of three letters or
//!    fewer.
//!
//! Compound splitting and typo tolerance need the vocabulary, so they live in
//! [`crate::index`]; both work on the folded forms produced here.
//!
//! Taxonomy and expertise terms go through [`Analyzer::analyze_term`], which
//! runs the same steps for both languages, so a term and a question that
//! mean the same thing always meet on the same key.

mod fold;
mod tokenize;

pub use fold::fold;

use rust_stemmers::{Algorithm, Stemmer};
use rustc_hash::FxHashSet;
use std::borrow::Cow;
use std::sync::Arc;

/// Languages the analyser knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Dutch, the main language of the questions.
    Dutch,
    /// English.
    English,
}

impl Language {
    /// Both languages, Dutch first.
    pub const ALL: [Language; 2] = [Language::Dutch, Language::English];

    /// The ISO 639-1 code.
    pub fn code(self) -> &'static str {
        match self {
            Language::Dutch => "nl",
            Language::English => "en",
        }
    }

    /// Parses `nl`/`dutch`/`nederlands` and `en`/`english`/`engels`.
    pub fn parse(text: &str) -> Option<Language> {
        match text.trim().to_ascii_lowercase().as_str() {
            "nl" | "dutch" | "nederlands" => Some(Language::Dutch),
            "en" | "english" | "engels" => Some(Language::English),
            _ => None,
        }
    }
}

/// How many words' stems the analyser remembers, per language.
const STEM_CACHE_WORDS: usize = 100_000;
/// Longer words are stemmed every time (they are rare, and a hostile
/// text full of long garbage words must not fill the cache with them).
const MAX_CACHED_WORD: usize = 40;

/// Words that carry no topic in questions but are missing from NLTK's lists:
/// pronouns and auxiliaries that open almost every question.
const EXTRA_STOP_NL: &[&str] = &[
    "we",
    "wij",
    "onze",
    "jullie",
    "gaan",
    "gaat",
    "willen",
    "wilt",
    "mogen",
    "mag",
    "zullen",
    "kunt",
    "welke",
    "welk",
    "wel",
    "zon",
    "elke",
    "elk",
    "alle",
    "waar",
    "wanneer",
    "waarom",
    "via",
    "daarbij",
    "hierbij",
    "erbij",
    "daarin",
    "hierin",
    "erin",
    "ervan",
    "daarvan",
    "bv",
    "bijvoorbeeld",
    "etc",
    "nou",
    "even",
    "zoals",
    "steeds",
    "graag",
    "echt",
];
const EXTRA_STOP_EN: &[&str] = &[
    "us",
    "can",
    "could",
    "would",
    "may",
    "might",
    "must",
    "also",
    "get",
    "got",
    "like",
    "way",
    "e",
    "g",
    "eg",
    "etc",
    "anyone",
    "someone",
    "something",
    "within",
    "without",
    "whether",
];

/// One content word of an analysed text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The folded word as written (`inkoopdoelstellingen`).
    pub surface: String,
    /// The stemmed form (`inkoopdoelstell`), equal to `surface` for
    /// abbreviations and short words.
    pub stem: Arc<str>,
    /// Whether the word was written as an abbreviation (`CE`, `MPG`).
    pub abbreviation: bool,
    /// Whether a clause boundary (`.`, `?`, `,`, …) lies between this token
    /// and the previous one, or this is the first token. Multi-word terms do
    /// not match across clause boundaries; dropped stop words are no
    /// boundary, so `circulair te bouwen` still matches `circulair bouwen`.
    pub boundary_before: bool,
}

/// An analysed text: its language and its content words in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Analysis {
    /// The language used for stop words and stemming.
    pub language: Language,
    /// Content words, stop words removed.
    pub tokens: Vec<Token>,
}

/// One word of an analysed taxonomy or expertise term, in both languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermWord {
    /// The folded word.
    pub surface: String,
    /// Per language (indexed like [`Language::ALL`]): the stem, or `None`
    /// where the word is a stop word in that language.
    pub stems: [Option<String>; 2],
}

/// The analyser: stemmers and stop-word sets, built once and shared.
///
/// Building one costs a few microseconds; keep one per process (the engine
/// holds it) rather than one per request.
pub struct Analyzer {
    stemmers: [Stemmer; 2],
    /// Snowball stemming costs about a microsecond a word and questions
    /// reuse a small vocabulary, so stems are remembered per language.
    stem_cache: [quick_cache::sync::Cache<String, Arc<str>>; 2],
    /// Looked up for every word of every question: FxHash, not SipHash
    /// (the keys are our own constants, so hash flooding is no concern).
    stop: [FxHashSet<&'static str>; 2],
}

impl std::fmt::Debug for Analyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Analyzer").finish_non_exhaustive()
    }
}

impl Default for Analyzer {
    fn default() -> Self {
        Self::new()
    }
}

impl Analyzer {
    /// Builds the analyser with NLTK's Dutch and English stop words plus a
    /// few question words NLTK lacks.
    pub fn new() -> Self {
        let list = |code: &str, extra: &[&'static str]| -> FxHashSet<&'static str> {
            stop_words::lookup(code)
                .unwrap_or(&[])
                .iter()
                .copied()
                .chain(extra.iter().copied())
                .collect()
        };
        Analyzer {
            stemmers: [
                Stemmer::create(Algorithm::Dutch),
                Stemmer::create(Algorithm::English),
            ],
            stem_cache: [
                quick_cache::sync::Cache::new(STEM_CACHE_WORDS),
                quick_cache::sync::Cache::new(STEM_CACHE_WORDS),
            ],
            stop: [list("nl", EXTRA_STOP_NL), list("en", EXTRA_STOP_EN)],
        }
    }

    /// Forgets remembered stems (for benchmarks that measure the cold path).
    pub fn clear_caches(&self) {
        for cache in &self.stem_cache {
            cache.clear();
        }
    }

    /// Whether `folded` is a stop word in `language`.
    pub fn is_stop_word(&self, folded: &str, language: Language) -> bool {
        self.stop[language as usize].contains(folded)
    }

    /// Guesses the language of a text from its stop words; Dutch on a tie.
    pub fn detect_language(&self, text: &str) -> Language {
        let mut folded = Vec::new();
        tokenize::words(text, |w| folded.push(fold(w.text)));
        self.detect_from(folded.iter().map(String::as_str))
    }

    fn detect_from<'a>(&self, words: impl Iterator<Item = &'a str>) -> Language {
        let mut counts = [0usize; 2];
        for word in words {
            for lang in Language::ALL {
                if self.is_stop_word(word, lang) {
                    counts[lang as usize] += 1;
                }
            }
        }
        if counts[1] > counts[0] {
            Language::English
        } else {
            Language::Dutch
        }
    }

    /// Stems a folded word in `language`, leaving abbreviations, words with
    /// digits and words of three letters or fewer alone (stemmers mangle
    /// them: `ce` is not a Dutch word ending).
    pub fn stem<'a>(
        &self,
        folded: &'a str,
        language: Language,
        abbreviation: bool,
    ) -> Cow<'a, str> {
        if Self::keeps_form(folded, abbreviation) {
            return Cow::Borrowed(folded);
        }
        Cow::Owned(self.cached_stem(folded, language).to_string())
    }

    /// Abbreviations, words with digits and short words are not stemmed.
    fn keeps_form(folded: &str, abbreviation: bool) -> bool {
        abbreviation || folded.len() <= 3 || folded.bytes().any(|b| b.is_ascii_digit())
    }

    fn cached_stem(&self, folded: &str, language: Language) -> Arc<str> {
        let cache = &self.stem_cache[language as usize];
        if let Some(stem) = cache.get(folded) {
            return stem;
        }
        let stem: Arc<str> = Arc::from(self.stemmers[language as usize].stem(folded).as_ref());
        if folded.len() <= MAX_CACHED_WORD {
            cache.insert(folded.to_string(), stem.clone());
        }
        stem
    }

    /// Analyses a question. `language` overrides detection.
    pub fn analyze(&self, text: &str, language: Option<Language>) -> Analysis {
        // One pass over the text: every word is folded once, and language
        // detection reuses the folded words.
        let mut words: Vec<(String, bool, bool)> = Vec::new();
        tokenize::words(text, |w| {
            let surface = fold(w.text);
            if !surface.is_empty() {
                words.push((surface, w.abbreviation, w.boundary_before));
            }
        });
        let language =
            language.unwrap_or_else(|| self.detect_from(words.iter().map(|w| w.0.as_str())));
        let mut tokens = Vec::with_capacity(words.len());
        let mut boundary = true;
        for (surface, abbreviation, boundary_before) in words {
            boundary |= boundary_before;
            if self.is_stop_word(&surface, language) {
                continue;
            }
            let stem = if Self::keeps_form(&surface, abbreviation) {
                Arc::from(surface.as_str())
            } else {
                self.cached_stem(&surface, language)
            };
            tokens.push(Token {
                surface,
                stem,
                abbreviation,
                boundary_before: boundary,
            });
            boundary = false;
        }
        Analysis { language, tokens }
    }

    /// Analyses a taxonomy or expertise term for both languages.
    pub fn analyze_term(&self, term: &str) -> Vec<TermWord> {
        let mut out = Vec::new();
        tokenize::words(term, |w| {
            let surface = fold(w.text);
            if surface.is_empty() {
                return;
            }
            let stems = Language::ALL.map(|lang| {
                (!self.is_stop_word(&surface, lang))
                    .then(|| self.stem(&surface, lang, w.abbreviation).into_owned())
            });
            out.push(TermWord { surface, stems });
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn stems(a: &Analysis) -> Vec<&str> {
        a.tokens.iter().map(|t| &*t.stem).collect()
    }

    #[test]
    fn a_dutch_question_is_detected_stopped_and_stemmed() {
        let a = Analyzer::new().analyze("Hoe halen we onze circulaire-inkoopdoelstellingen?", None);
        assert_eq!(a.language, Language::Dutch);
        assert_eq!(stems(&a), ["hal", "circulair", "inkoopdoelstell"]);
    }

    #[test]
    fn an_english_question_is_detected_and_stemmed_in_english() {
        let a = Analyzer::new().analyze("How do we reach our procurement targets?", None);
        assert_eq!(a.language, Language::English);
        assert_eq!(stems(&a), ["reach", "procur", "target"]);
    }

    #[test]
    fn inflections_of_one_dutch_word_share_a_stem() {
        let an = Analyzer::new();
        let s = |w| an.stem(w, Language::Dutch, false).into_owned();
        assert_eq!(s("inkoop"), s("inkopen"));
        assert_eq!(s("gemeente"), s("gemeenten"));
        assert_eq!(s("bouwen"), s("bouw"));
        assert_eq!(s("doelstelling"), s("doelstellingen"));
    }

    #[test]
    fn diacritics_do_not_change_the_term() {
        let an = Analyzer::new();
        assert_eq!(
            stems(&an.analyze("geïnventariseerd", Some(Language::Dutch))),
            stems(&an.analyze("geinventariseerd", Some(Language::Dutch)))
        );
    }

    #[test]
    fn abbreviations_are_kept_whole_and_unstemmed() {
        let a = Analyzer::new().analyze("Wat vindt B&W van de MPG-eis en GPP?", None);
        let surfaces: Vec<_> = a
            .tokens
            .iter()
            .map(|t| (t.surface.as_str(), t.abbreviation))
            .collect();
        assert_eq!(
            surfaces,
            [
                ("vindt", false),
                ("b&w", true),
                ("mpg", true),
                ("eis", false),
                ("gpp", true)
            ]
        );
    }

    #[test]
    fn clause_punctuation_and_dropped_stop_words_mark_boundaries() {
        let a = Analyzer::new().analyze("afval. Inzameling van textiel", Some(Language::Dutch));
        let b: Vec<_> = a.tokens.iter().map(|t| t.boundary_before).collect();
        assert_eq!(b, [true, true, false]);
    }

    #[test]
    fn terms_are_analysed_for_both_languages() {
        let words = Analyzer::new().analyze_term("Circulair bouwen");
        assert_eq!(words.len(), 2);
        assert_eq!(words[1].surface, "bouwen");
        assert_eq!(words[1].stems[0].as_deref(), Some("bouw"));
        // "over" is a stop word in both languages, "door" only in Dutch.
        let words = Analyzer::new().analyze_term("door");
        assert_eq!(words[0].stems[0], None);
        assert!(words[0].stems[1].is_some());
    }

    #[test]
    fn a_megabyte_of_text_with_controls_emoji_and_mixed_scripts_is_analysed() {
        let chunk =
            "Circulaire inkoop\u{0}\u{7}\u{1b}[0m 🚮♻️ переработка 循环经济 عربي — B&W's 2050!\n";
        let text = chunk.repeat(1_000_000 / chunk.len() + 1);
        assert!(text.len() >= 1_000_000);
        let a = Analyzer::new().analyze(&text, None);
        assert!(a.tokens.iter().any(|t| &*t.stem == "inkop"));
    }

    proptest! {
        #[test]
        fn analysis_never_panics_and_yields_folded_non_empty_tokens(text in any::<String>()) {
            let an = Analyzer::new();
            for lang in [None, Some(Language::Dutch), Some(Language::English)] {
                let a = an.analyze(&text, lang);
                for t in &a.tokens {
                    prop_assert!(!t.surface.is_empty());
                    prop_assert!(!t.stem.is_empty());
                    prop_assert_eq!(fold(&t.surface), t.surface.clone());
                }
            }
        }

        #[test]
        fn analysing_is_deterministic_and_insensitive_to_case_of_long_words(
            words in proptest::collection::vec("[a-zA-Zàáâäèéêëïíóöüú]{7,12}", 1..8)
        ) {
            // Words of 7+ letters are never abbreviations, so upper-casing
            // the first letter (as at the start of a sentence) changes nothing.
            let an = Analyzer::new();
            let lower = words.join(" ").to_lowercase();
            let capitalised: Vec<String> = lower
                .split(' ')
                .map(|w| {
                    let mut c = w.chars();
                    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
                })
                .collect();
            let a = an.analyze(&lower, Some(Language::Dutch));
            let b = an.analyze(&capitalised.join(" "), Some(Language::Dutch));
            prop_assert_eq!(a, b);
        }

        #[test]
        fn term_analysis_never_panics(text in any::<String>()) {
            let words = Analyzer::new().analyze_term(&text);
            for w in words {
                prop_assert!(!w.surface.is_empty());
            }
        }
    }

    #[test]
    fn possessive_s_is_dropped() {
        let a = Analyzer::new().analyze("collega's", Some(Language::Dutch));
        assert_eq!(a.tokens[0].surface, "collega");
    }
}
