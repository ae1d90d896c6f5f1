//! Generated question texts for load tests: Dutch and English phrasings
//! around the taxonomy's own vocabulary, asked by varied organisations,
//! reproducible from a seed.
//!
//! Load through the API and a filled store should see what a real portal
//! sends: questions of one to three sentences about a few topics that
//! recur (65 % of real questions recur across governments, domain.md) and
//! a long tail of rare ones. So theme terms are drawn with Zipf-like
//! frequencies, themes skewed towards the first ones, and each question
//! picks a phrasing, an asker and optional context and closing sentences.

use super::{SplitMix, PROVINCES};
use crate::domain::{Category, OrganizationType, Province};
use crate::taxonomy::Taxonomy;
use std::sync::Arc;

/// A generated question with its asker, ready for a submit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedQuestion {
    /// One to three sentences, 5 to 60 words, ending the question with `?`.
    pub text: String,
    /// "Gemeente Zwolle", "Provincie Drenthe", "Waterschap Vechtstromen"…
    pub organization_name: String,
    /// The asker's type, consistent with the name.
    pub organization_type: OrganizationType,
    /// The asker's province; `None` for national bodies.
    pub region: Option<Province>,
    /// The category whose cue phrase the text may carry (a fill stores it
    /// as the classification, so lead times per category have groups).
    pub category: Category,
    /// Whether the phrasing is English (else Dutch).
    pub english: bool,
}

/// What questions are made of: the taxonomy's terms per theme, its
/// categories' cue phrases and its providers' short names. Built once and
/// shared by every generator (one per load client).
#[derive(Debug)]
pub struct QuestionVocabulary {
    /// Per theme, its usable terms in the taxonomy's order (the first are
    /// its core words, so Zipf draws favour them).
    themes: Vec<Vec<String>>,
    /// Per category, in [`Category::ALL`] order, its cue phrases.
    cues: Vec<(Category, Vec<String>)>,
    providers: Vec<String>,
}

impl QuestionVocabulary {
    /// The vocabulary of a taxonomy: terms of at most three words made of
    /// letters (no abbreviations with dots, no single letters).
    pub fn from_taxonomy(taxonomy: &Taxonomy) -> QuestionVocabulary {
        let usable = |terms: &crate::taxonomy::Terms, max_words: usize| -> Vec<String> {
            terms
                .iter()
                .map(|(t, _)| t.as_str())
                .filter(|t| {
                    t.chars().count() >= 3
                        && t.split_whitespace().count() <= max_words
                        && t.chars()
                            .all(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '\''))
                })
                .map(String::from)
                .collect()
        };
        let themes = taxonomy
            .themes
            .iter()
            .map(|t| usable(&t.terms, 3))
            .filter(|t| !t.is_empty())
            .collect();
        let cues = taxonomy
            .categories
            .iter()
            .map(|c| (c.category, usable(&c.terms, 4)))
            .filter(|(_, t)| !t.is_empty())
            .collect();
        let providers = taxonomy
            .providers
            .iter()
            .map(|p| short_name(p.name()))
            .collect();
        QuestionVocabulary {
            themes,
            cues,
            providers,
        }
    }
}

/// "PIANOo, Expertisecentrum Aanbesteden" → "PIANOo": how askers name a
/// provider in a question.
fn short_name(name: &str) -> String {
    let cut = name.find([',', '(', '/']).unwrap_or(name.len());
    name[..cut].trim().to_string()
}

/// An endless, reproducible sequence of [`GeneratedQuestion`]s.
#[derive(Debug, Clone)]
pub struct Questions {
    vocabulary: Arc<QuestionVocabulary>,
    rng: SplitMix,
}

impl Questions {
    /// Questions from a taxonomy's vocabulary; the same seed gives the same
    /// sequence.
    pub fn new(taxonomy: &Taxonomy, seed: u64) -> Questions {
        Questions::with_vocabulary(Arc::new(QuestionVocabulary::from_taxonomy(taxonomy)), seed)
    }

    /// Questions from a shared vocabulary (many generators, one taxonomy).
    pub fn with_vocabulary(vocabulary: Arc<QuestionVocabulary>, seed: u64) -> Questions {
        Questions {
            vocabulary,
            // Mixed so that seeds 1, 2, 3… start far apart.
            rng: SplitMix::new(seed.wrapping_mul(0xD129_0C3F_A6B3_49E5) ^ 0x5EED),
        }
    }

    /// Another sequence over the same vocabulary.
    pub fn reseeded(&self, seed: u64) -> Questions {
        Questions::with_vocabulary(self.vocabulary.clone(), seed)
    }

    /// The next question.
    pub fn next_question(&mut self) -> GeneratedQuestion {
        let v = &*self.vocabulary;
        let rng = &mut self.rng;
        let theme = &v.themes[rng.skewed(v.themes.len())];
        let a = theme[rng.zipf(theme.len())].as_str();
        // Most questions stay within one theme; some combine two.
        let other = if rng.below(10) < 7 {
            theme
        } else {
            &v.themes[rng.below(v.themes.len())]
        };
        let mut b = other[rng.zipf(other.len())].as_str();
        if b == a {
            b = other[rng.below(other.len())].as_str();
        }
        let (category, cues) = &v.cues[rng.below(v.cues.len())];
        let cue = cues[rng.zipf(cues.len())].as_str();
        let provider = v.providers[rng.skewed(v.providers.len())].as_str();
        let asker = asker(rng);
        let english = rng.below(4) == 0;
        let phrasing = if english { &ENGLISH } else { &DUTCH };
        let words = Words {
            a,
            b,
            cue,
            provider,
            org: &asker.name,
            kind: asker.kind(english, false),
            kinds: asker.kind(english, true),
            region: asker.region.map_or(
                if english {
                    "the Netherlands"
                } else {
                    "Nederland"
                },
                |r| PROVINCES[r],
            ),
        };
        let mut text = String::with_capacity(160);
        if rng.below(10) < 6 {
            words.fill(
                &mut text,
                phrasing.context[rng.below(phrasing.context.len())],
            );
            text.push(' ');
        }
        words.fill(&mut text, phrasing.main[rng.below(phrasing.main.len())]);
        if rng.below(10) < 4 {
            text.push(' ');
            words.fill(
                &mut text,
                phrasing.closing[rng.below(phrasing.closing.len())],
            );
        }
        GeneratedQuestion {
            text,
            organization_name: asker.name,
            organization_type: asker.organization_type,
            region: asker.region.map(|r| Province::ALL[r]),
            category: *category,
            english,
        }
    }
}

impl Iterator for Questions {
    type Item = GeneratedQuestion;
    fn next(&mut self) -> Option<GeneratedQuestion> {
        Some(self.next_question())
    }
}

/// The words a phrasing's `{slots}` are filled with.
struct Words<'a> {
    a: &'a str,
    b: &'a str,
    cue: &'a str,
    provider: &'a str,
    org: &'a str,
    kind: &'a str,
    kinds: &'a str,
    region: &'a str,
}

impl Words<'_> {
    /// Appends `template` with every `{slot}` replaced.
    fn fill(&self, out: &mut String, template: &str) {
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let close = rest[open..].find('}').map_or(rest.len(), |c| open + c);
            out.push_str(match &rest[open + 1..close] {
                "a" => self.a,
                "b" => self.b,
                "cue" => self.cue,
                "provider" => self.provider,
                "org" => self.org,
                "kind" => self.kind,
                "kinds" => self.kinds,
                "region" => self.region,
                _ => "",
            });
            rest = rest.get(close + 1..).unwrap_or("");
        }
        out.push_str(rest);
    }
}

/// The sentences of one language: an optional context, the question, an
/// optional closing.
struct Phrasing {
    context: &'static [&'static str],
    main: &'static [&'static str],
    closing: &'static [&'static str],
}

const DUTCH: Phrasing = Phrasing {
    context: &[
        "Wij zijn {org}.",
        "Bij {org} werken we sinds kort aan {b}.",
        "Onze {kind} wil de komende jaren meer doen met {a}.",
        "In {region} lopen we tegen {b} aan.",
        "Het college heeft ons gevraagd {a} uit te werken.",
        "Namens {org} een vraag over {a}.",
    ],
    main: &[
        "Hoe kunnen wij als {kind} {a} aanpakken?",
        "Welke subsidies zijn er voor {a}?",
        "Welke subsidies zijn er voor {a} en {b} in {region}?",
        "Hoe organiseren andere {kinds} {a}?",
        "Wie heeft ervaring met {a} in combinatie met {b}?",
        "Welke aanpak werkt voor {a} bij een project over {b}?",
        "Wat weten andere overheden over {a}?",
        "Kan {provider} ons helpen met {a}?",
        "Wat zijn goede voorbeelden van {a} in {region}?",
        "Waar vinden we kennis over {a} en {b}?",
        "Hoe nemen wij als {kind} {a} mee in ons beleid voor {b}?",
        "Is er een handreiking voor {a} die past bij een {kind} als de onze?",
        "Welke regels gelden er voor {a}?",
        "Hoe meten we de voortgang van {a}?",
        "Met wie kunnen we samenwerken op het gebied van {a}?",
    ],
    closing: &[
        "Het gaat ons vooral om {cue}.",
        "We horen graag van andere overheden.",
        "Graag een contactpersoon bij {provider}.",
        "Het liefst nog dit jaar, met beperkte middelen.",
        "Is hier al iets over bekend?",
    ],
};

const ENGLISH: Phrasing = Phrasing {
    context: &[
        "We are {org}.",
        "Our {kind} wants to do more with {a} in the coming years.",
        "In {region} we are struggling with {b}.",
        "At {org} we recently started working on {b}.",
    ],
    main: &[
        "How do other {kinds} organise {a}?",
        "Which subsidies are available for {a}?",
        "How can we as a {kind} tackle {a} together with {b}?",
        "Who has experience with {a} in {region}?",
        "Is there guidance on {a} for a {kind} like ours?",
        "Can {provider} help us with {a}?",
        "What are good examples of {a} and {b}?",
        "Which rules apply to {a}?",
    ],
    closing: &[
        "Our main concern is {cue}.",
        "We would like to hear from other governments.",
        "A contact person at {provider} would help.",
    ],
};

/// Who asks.
struct Asker {
    name: String,
    organization_type: OrganizationType,
    /// Index into [`Province::ALL`] and [`PROVINCES`].
    region: Option<usize>,
}

impl Asker {
    /// The type as a word in the question ("gemeente", "water boards").
    fn kind(&self, english: bool, plural: bool) -> &'static str {
        use OrganizationType as T;
        match (self.organization_type, english, plural) {
            (T::Gemeente, false, false) => "gemeente",
            (T::Gemeente, false, true) => "gemeenten",
            (T::Gemeente, true, false) => "municipality",
            (T::Gemeente, true, true) => "municipalities",
            (T::Provincie, false, false) => "provincie",
            (T::Provincie, false, true) => "provincies",
            (T::Provincie, true, false) => "province",
            (T::Provincie, true, true) => "provinces",
            (T::Waterschap, false, false) => "waterschap",
            (T::Waterschap, false, true) => "waterschappen",
            (T::Waterschap, true, false) => "water board",
            (T::Waterschap, true, true) => "water boards",
            (T::Rijk, false, false) => "rijksoverheid",
            (T::Rijk, false, true) => "ministeries",
            (T::Rijk, true, false) => "ministry",
            (T::Rijk, true, true) => "ministries",
            (_, false, false) => "overheidsorganisatie",
            (_, false, true) => "overheden",
            (_, true, false) => "public body",
            (_, true, true) => "public bodies",
        }
    }
}

/// Municipalities with their province (index into [`PROVINCES`]), the
/// large ones first so Zipf draws make them ask most.
const MUNICIPALITIES: [(&str, usize); 36] = [
    ("Amsterdam", 7),
    ("Rotterdam", 8),
    ("Den Haag", 8),
    ("Utrecht", 6),
    ("Eindhoven", 10),
    ("Groningen", 0),
    ("Tilburg", 10),
    ("Almere", 4),
    ("Breda", 10),
    ("Nijmegen", 5),
    ("Apeldoorn", 5),
    ("Arnhem", 5),
    ("Haarlem", 7),
    ("Enschede", 3),
    ("Amersfoort", 6),
    ("Zaanstad", 7),
    ("Zwolle", 3),
    ("Leeuwarden", 1),
    ("Maastricht", 11),
    ("Dordrecht", 8),
    ("Leiden", 8),
    ("Emmen", 2),
    ("Venlo", 11),
    ("Deventer", 3),
    ("Delft", 8),
    ("Assen", 2),
    ("Middelburg", 9),
    ("Lelystad", 4),
    ("Heerenveen", 1),
    ("Vlissingen", 9),
    ("Súdwest-Fryslân", 1),
    ("Hoogeveen", 2),
    ("Terneuzen", 9),
    ("Roermond", 11),
    ("Oss", 10),
    ("Wageningen", 5),
];

const WATER_BOARDS: [(&str, usize); 10] = [
    ("Vechtstromen", 3),
    ("Rijn en IJssel", 5),
    ("Hollandse Delta", 8),
    ("Aa en Maas", 10),
    ("Noorderzijlvest", 0),
    ("Wetterskip Fryslân", 1),
    ("Drents Overijsselse Delta", 2),
    ("Scheldestromen", 9),
    ("Limburg", 11),
    ("Zuiderzeeland", 4),
];

const NATIONAL: [&str; 5] = [
    "Ministerie van Infrastructuur en Waterstaat",
    "Ministerie van Economische Zaken",
    "Ministerie van Landbouw, Natuur en Voedselkwaliteit",
    "Rijksvastgoedbedrijf",
    "Rijkswaterstaat",
];

const OTHER: [&str; 3] = ["Omgevingsdienst", "Veiligheidsregio", "Regio"];

/// An asker: mostly municipalities (as the portals' traffic is), then
/// provinces, water boards, national and other bodies.
fn asker(rng: &mut SplitMix) -> Asker {
    let roll = rng.below(100);
    if roll < 62 {
        let (city, province) = MUNICIPALITIES[rng.zipf(MUNICIPALITIES.len())];
        Asker {
            name: format!("Gemeente {city}"),
            organization_type: OrganizationType::Gemeente,
            region: Some(province),
        }
    } else if roll < 77 {
        let province = rng.below(PROVINCES.len());
        Asker {
            name: format!("Provincie {}", PROVINCES[province]),
            organization_type: OrganizationType::Provincie,
            region: Some(province),
        }
    } else if roll < 87 {
        let (board, province) = WATER_BOARDS[rng.below(WATER_BOARDS.len())];
        Asker {
            name: format!("Waterschap {board}"),
            organization_type: OrganizationType::Waterschap,
            region: Some(province),
        }
    } else if roll < 94 {
        Asker {
            name: NATIONAL[rng.below(NATIONAL.len())].to_string(),
            organization_type: OrganizationType::Rijk,
            region: None,
        }
    } else {
        let province = rng.below(PROVINCES.len());
        Asker {
            name: format!("{} {}", OTHER[rng.below(OTHER.len())], PROVINCES[province]),
            organization_type: OrganizationType::Other,
            region: Some(province),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::Analyzer;
    use crate::domain::input::QuestionText;
    use std::collections::{BTreeMap, BTreeSet};

    fn generator(seed: u64) -> Questions {
        Questions::new(&Taxonomy::embedded(&Analyzer::new()).unwrap(), seed)
    }

    #[test]
    fn the_same_seed_gives_the_same_questions_and_another_seed_others() {
        let a: Vec<_> = generator(7).take(200).collect();
        let b: Vec<_> = generator(7).take(200).collect();
        let c: Vec<_> = generator(8).take(200).collect();
        assert_eq!(a, b);
        let same = a.iter().zip(&c).filter(|(x, y)| x.text == y.text).count();
        assert!(same < 10, "{same} of 200 texts alike across seeds");
        let reseeded: Vec<_> = generator(1).reseeded(7).take(200).collect();
        assert_eq!(a, reseeded);
    }

    #[test]
    fn ten_thousand_questions_are_varied_valid_and_share_terms() {
        let questions: Vec<_> = generator(42).take(10_000).collect();
        let distinct: BTreeSet<_> = questions.iter().map(|q| q.text.as_str()).collect();
        assert!(distinct.len() >= 8_000, "{} distinct", distinct.len());
        let mut words: BTreeMap<&str, usize> = BTreeMap::new();
        for q in &questions {
            assert!(QuestionText::parse(&q.text).is_ok(), "{:?}", q.text);
            let n = q.text.split_whitespace().count();
            assert!((5..=60).contains(&n), "{n} words: {:?}", q.text);
            let sentences = q.text.matches(['.', '?']).count();
            assert!((1..=3).contains(&sentences), "{:?}", q.text);
            assert!(
                q.text.ends_with('?') || q.text.ends_with('.'),
                "{:?}",
                q.text
            );
            let unique: BTreeSet<_> = q.text.split_whitespace().collect();
            for w in unique {
                *words.entry(w).or_default() += 1;
            }
        }
        // Recurring topics: some words are in a large share of the
        // questions, many are in only a few.
        let frequent = words.values().filter(|&&n| n >= 500).count();
        let rare = words.values().filter(|&&n| n <= 5).count();
        assert!(frequent >= 10, "{frequent} words in 500+ questions");
        assert!(rare >= 200, "{rare} words in 5 or fewer questions");
        let english = questions.iter().filter(|q| q.english).count();
        assert!((1_500..3_500).contains(&english), "{english} English");
        let types: BTreeSet<_> = questions.iter().map(|q| q.organization_type).collect();
        assert_eq!(types.len(), OrganizationType::ALL.len());
        let askers: BTreeSet<_> = questions.iter().map(|q| &q.organization_name).collect();
        assert!(askers.len() >= 60, "{} askers", askers.len());
    }

    #[test]
    fn provider_names_are_cut_to_what_askers_write() {
        assert_eq!(short_name("PIANOo, Expertisecentrum Aanbesteden"), "PIANOo");
        assert_eq!(short_name("Platform31 (Kennisnetwerk)"), "Platform31");
        assert_eq!(short_name("CIRCO"), "CIRCO");
    }
}
