//! Synthetic data for benchmarks and load tests: experts drawn from the
//! taxonomy's own vocabulary, reproducible from a seed (question texts in
//! [`questions`]).
//!
//! Real expert directories are small and private; benchmarks need ten
//! thousand experts whose terms overlap the way real ones do (many people
//! know about `afval`, few about `rubbergranulaat`), so terms are drawn
//! from the taxonomy with a skew towards the first terms of each theme.

pub mod questions;

pub use questions::{GeneratedQuestion, Questions};

use crate::domain::{Category, Expert, ExpertRecord, Expertise, OrganizationType, Province};
use crate::taxonomy::Taxonomy;
use std::collections::BTreeMap;

/// A small, fast, reproducible pseudo-random generator (SplitMix64). Not
/// for anything but test data.
#[derive(Debug, Clone)]
pub struct SplitMix(u64);

impl SplitMix {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        SplitMix(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// A number in `0..n` with Zipf-like frequencies: `k` comes about
    /// `1/(k+1)` as often as 0, as words do in text.
    pub fn zipf(&mut self, n: usize) -> usize {
        let u = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        ((n as f64).powf(u) as usize).saturating_sub(1).min(n - 1)
    }

    /// A number in `0..n`, skewed towards 0 (the smaller of two draws).
    pub fn skewed(&mut self, n: usize) -> usize {
        self.below(n).min(self.below(n))
    }
}

/// `count` experts with 4-10 expertise terms from one to three themes of
/// the taxonomy, a random organisation type, region, capacity and
/// availability (90 % available).
pub fn experts(taxonomy: &Taxonomy, count: usize, seed: u64) -> Vec<Expert> {
    let mut rng = SplitMix::new(seed);
    let themes = taxonomy.themes();
    let mut out = Vec::with_capacity(count);
    for n in 0..count {
        let theme_count = 1 + rng.below(3);
        let mut chosen = Vec::new();
        let mut expertise = BTreeMap::new();
        for _ in 0..theme_count {
            let theme = &themes[rng.below(themes.len())];
            if !chosen.contains(&theme.id().to_string()) {
                chosen.push(theme.id().to_string());
            }
            let terms = &theme.terms;
            for _ in 0..(2 + rng.below(4)) {
                let (term, _) = &terms[rng.skewed(terms.len())];
                expertise.insert(term.clone(), 0.5 + rng.below(4) as f32 * 0.5);
            }
        }
        let record = ExpertRecord {
            id: format!("expert-{n:05}"),
            name: format!("Expert {n}"),
            organization: format!("Organisatie {}", rng.below(400)),
            organization_type: OrganizationType::ALL[rng.below(OrganizationType::ALL.len())]
                .to_string(),
            region: Some(Province::ALL[rng.below(Province::ALL.len())].to_string()),
            expertise: Expertise::Weighted(expertise),
            themes: chosen,
            categories: vec![Category::ALL[rng.below(4)].to_string()],
            capacity: 1 + rng.below(5) as u32,
            available: rng.below(10) != 0,
            absences: Vec::new(),
        };
        // Every field above is valid by construction.
        if let Ok(expert) = Expert::try_from(record) {
            out.push(expert);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::Analyzer;

    #[test]
    fn generated_experts_are_valid_reproducible_and_unique() {
        let t = Taxonomy::embedded(&Analyzer::new()).unwrap();
        let a = experts(&t, 500, 7);
        assert_eq!(a.len(), 500);
        assert_eq!(a, experts(&t, 500, 7));
        let ids: std::collections::BTreeSet<_> = a.iter().map(|e| e.id().clone()).collect();
        assert_eq!(ids.len(), 500);
    }
}

/// Openings and closings of generated questions: the words around the
/// topic that differ between phrasings of the same question.
const OPENINGS: [&str; 8] = [
    "Hoe pakken we",
    "Wie heeft ervaring met",
    "Welke aanpak werkt voor",
    "Wat weten andere overheden over",
    "Kan iemand ons helpen met",
    "Hoe organiseren we",
    "Wat zijn goede voorbeelden van",
    "Waar vinden we kennis over",
];
const LINKS: [&str; 4] = ["in combinatie met", "en", "samen met", "rond"];
const CLOSINGS: [&str; 6] = [
    "in onze regio?",
    "binnen de eigen organisatie?",
    "bij de uitvoering?",
    "voor de komende jaren?",
    "met beperkte middelen?",
    "zonder extra personeel?",
];

/// A generated question: three topic terms of the taxonomy drawn with
/// Zipf-like frequencies (a few terms are in a large share of the
/// questions, as `circulair` is), in one of many phrasings, from one of
/// the twelve provinces. Returns the text and its topic, from which
/// [`paraphrase`] writes the same question in other words.
pub fn question(vocabulary: &[String], rng: &mut SplitMix) -> (String, Topic) {
    let mut terms = [0; 3];
    for t in &mut terms {
        *t = rng.zipf(vocabulary.len());
    }
    terms.sort_unstable();
    let topic = Topic {
        terms,
        place: rng.below(PROVINCES.len()),
    };
    (phrase(vocabulary, &topic, rng), topic)
}

const PROVINCES: [&str; 12] = [
    "Groningen",
    "Fryslân",
    "Drenthe",
    "Overijssel",
    "Flevoland",
    "Gelderland",
    "Utrecht",
    "Noord-Holland",
    "Zuid-Holland",
    "Zeeland",
    "Noord-Brabant",
    "Limburg",
];

/// What a generated question is about: its three terms (sorted) and its
/// province.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Topic {
    terms: [usize; 3],
    place: usize,
}

impl Topic {
    /// Whether two questions ask the same: the same terms.
    pub fn same_terms(&self, other: &Topic) -> bool {
        self.terms == other.terms
    }
}

/// The same question in other words: another opening, link and closing,
/// the topic terms in another order.
pub fn paraphrase(vocabulary: &[String], topic: &Topic, rng: &mut SplitMix) -> String {
    let mut t = *topic;
    t.terms.swap(0, 1 + rng.below(2));
    phrase(vocabulary, &t, rng)
}

fn phrase(vocabulary: &[String], topic: &Topic, rng: &mut SplitMix) -> String {
    let [a, b, c] = topic.terms;
    format!(
        "{} {} {} {} bij een project over {} in {} {}",
        OPENINGS[rng.below(OPENINGS.len())],
        vocabulary[a],
        LINKS[rng.below(LINKS.len())],
        vocabulary[b],
        vocabulary[c],
        PROVINCES[topic.place],
        CLOSINGS[rng.below(CLOSINGS.len())],
    )
}

/// The one-word and two-word terms of a taxonomy: the vocabulary of
/// generated questions.
pub fn vocabulary(taxonomy: &Taxonomy) -> Vec<String> {
    let mut v: Vec<String> = taxonomy
        .all_terms()
        .filter(|t| t.split_whitespace().count() <= 2)
        .map(String::from)
        .collect();
    v.sort();
    v.dedup();
    v
}
