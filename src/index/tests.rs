use super::*;
use crate::analysis::Analyzer;
use crate::domain::{Expert, ExpertRecord};
use crate::taxonomy::Taxonomy;

const TAXONOMY: &str = r#"
version = 1
[[category]]
id = "STRATEGY"
terms = { visie = 2.0, doelstelling = 1.5 }
[[category]]
id = "COLLABORATION"
terms = { samenwerking = 2.0, "samen met" = 1.0 }
[[category]]
id = "EXECUTION"
terms = { uitvoering = 2.0 }
[[category]]
id = "SPECIFIC"
terms = { "circulair bouwen" = 2.0, "circulair inkopen" = 2.0 }
[[kind]]
id = "EXISTING"
[[kind]]
id = "TACIT"
[[kind]]
id = "NEW"
[[theme]]
id = "waste"
terms = { afval = 2.0, inzameling = 1.5, aansprakelijkheid = 1.0 }
[[theme]]
id = "procurement"
terms = { inkoop = 2.0, aanbesteding = 2.0 }
[[provider]]
id = "nvrd"
name = "NVRD"
themes = ["waste"]
terms = { afval = 1.0 }
[[provider]]
id = "pianoo"
name = "PIANOo"
themes = ["procurement"]
terms = { "bio-based" = 1.0 }
"#;

fn index_with(experts: Vec<Expert>) -> (Index, Analyzer) {
    let analyzer = Analyzer::new();
    let taxonomy = Arc::new(Taxonomy::parse(TAXONOMY, "test", &analyzer).unwrap());
    let index = Index::build(
        IndexInput {
            taxonomy,
            experts: experts.into(),
            version: 7,
        },
        &analyzer,
    )
    .unwrap();
    (index, analyzer)
}

fn found(index: &Index, analyzer: &Analyzer, text: &str) -> Vec<(String, MatchKind)> {
    let analysis = analyzer.analyze(text, Some(Language::Dutch));
    index
        .find_terms(&analysis, analyzer)
        .into_iter()
        .map(|h| (index.term(h.term).display.to_string(), h.kind))
        .collect()
}

fn expert(json: &str) -> Expert {
    Expert::try_from(serde_json::from_str::<ExpertRecord>(json).unwrap()).unwrap()
}

#[test]
fn inflected_words_find_their_term() {
    let (index, an) = index_with(vec![]);
    assert_eq!(
        found(&index, &an, "aanbestedingen"),
        [("aanbesteding".to_string(), MatchKind::Word)]
    );
}

#[test]
fn a_phrase_is_found_across_a_dropped_stop_word_but_not_across_a_sentence() {
    let (index, an) = index_with(vec![]);
    let hits = found(&index, &an, "hoe gaan we circulair te bouwen");
    assert!(
        hits.contains(&("circulair bouwen".to_string(), MatchKind::Phrase)),
        "{hits:?}"
    );
    let hits = found(&index, &an, "circulair. Bouwen");
    assert!(
        !hits.iter().any(|(_, k)| *k == MatchKind::Phrase),
        "{hits:?}"
    );
}

#[test]
fn compounds_split_into_known_terms_with_linking_morphemes() {
    let (index, an) = index_with(vec![]);
    assert_eq!(
        found(&index, &an, "inkoopdoelstellingen"),
        [
            ("inkoop".to_string(), MatchKind::CompoundPart),
            ("doelstelling".to_string(), MatchKind::CompoundPart)
        ]
    );
    assert_eq!(
        found(&index, &an, "afvalinzameling"),
        [
            ("afval".to_string(), MatchKind::CompoundPart),
            ("inzameling".to_string(), MatchKind::CompoundPart)
        ]
    );
    // Linking -s-: "aanbesteding" + "s" + "visie".
    let hits = found(&index, &an, "aanbestedingsvisie");
    assert_eq!(hits.len(), 2, "{hits:?}");
}

#[test]
fn a_compound_with_an_unknown_head_still_counts_its_known_modifier() {
    let (index, an) = index_with(vec![]);
    assert_eq!(
        found(&index, &an, "inkoopbureau"),
        [("inkoop".to_string(), MatchKind::CompoundPart)]
    );
    // A stem is no modifier: "aanbested" (stem of aanbesteding) + "ers".
    assert!(found(&index, &an, "samenwerkingen")
        .iter()
        .all(|(_, k)| *k == MatchKind::Word));
}

#[test]
fn a_word_with_one_typo_finds_its_term_weighted_as_a_typo() {
    let (index, an) = index_with(vec![]);
    assert_eq!(
        found(&index, &an, "aansprakelijkhied"),
        [("aansprakelijkheid".to_string(), MatchKind::Typo)]
    );
    assert_eq!(
        found(&index, &an, "samenwerkign"),
        [("samenwerking".to_string(), MatchKind::Typo)]
    );
}

#[test]
fn a_typo_in_the_first_letter_is_not_corrected() {
    let (index, an) = index_with(vec![]);
    assert!(found(&index, &an, "bansprakelijkheid").is_empty());
}

#[test]
fn short_words_are_not_typo_matched() {
    let (index, an) = index_with(vec![]);
    assert!(found(&index, &an, "afvl").is_empty());
    // "visies" is one edit from "visie" but too short to be corrected.
    assert!(found(&index, &an, "vissie").is_empty());
}

#[test]
fn hyphenated_terms_match_written_with_or_without_the_hyphen() {
    let (index, an) = index_with(vec![]);
    assert_eq!(found(&index, &an, "bio-based")[0].0, "bio-based");
    assert_eq!(found(&index, &an, "biobased")[0].0, "bio-based");
}

#[test]
fn postings_weigh_rare_terms_above_common_ones_within_a_group() {
    let (index, an) = index_with(vec![
        expert(r#"{"id":"a","name":"A","expertise":{"afval":1.0,"gft":1.0}}"#),
        expert(r#"{"id":"b","name":"B","expertise":{"afval":1.0}}"#),
    ]);
    let term = |w: &str| index.find_terms(&an.analyze(w, Some(Language::Dutch)), &an)[0].term;
    let a = index.groups().experts.start;
    let common = index.posting_weight(term("afval"), a).unwrap();
    let rare = index.posting_weight(term("gft"), a).unwrap();
    assert!(rare > common, "rare {rare} common {common}");
}

#[test]
fn experts_naming_an_unknown_theme_are_refused_with_the_known_ones() {
    let analyzer = Analyzer::new();
    let taxonomy = Arc::new(Taxonomy::parse(TAXONOMY, "test", &analyzer).unwrap());
    let e = expert(r#"{"id":"a","name":"A","themes":["wast"]}"#);
    let err = Index::build(
        IndexInput {
            taxonomy,
            experts: vec![e].into(),
            version: 1,
        },
        &analyzer,
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("`wast`") && msg.contains("waste, procurement"),
        "{msg}"
    );
}

#[test]
fn duplicate_expert_ids_are_refused() {
    let analyzer = Analyzer::new();
    let taxonomy = Arc::new(Taxonomy::parse(TAXONOMY, "test", &analyzer).unwrap());
    let e = expert(r#"{"id":"a","name":"A","themes":["waste"]}"#);
    let err = Index::build(
        IndexInput {
            taxonomy,
            experts: vec![e.clone(), e].into(),
            version: 1,
        },
        &analyzer,
    );
    assert!(matches!(err, Err(IndexError::DuplicateExpert(id)) if id == "a"));
}

#[test]
fn targets_are_numbered_in_groups() {
    let (index, _) = index_with(vec![expert(r#"{"id":"a","name":"A","themes":["waste"]}"#)]);
    let g = index.groups();
    assert_eq!(
        index.target_kind(g.categories.start),
        TargetKind::Category(Category::Strategy)
    );
    assert_eq!(
        index.target_kind(g.providers.start + 1),
        TargetKind::Provider(1)
    );
    assert_eq!(index.target_kind(g.experts.start), TargetKind::Expert(0));
    assert_eq!(index.version(), 7);
}

proptest::proptest! {
    #[test]
    fn finding_terms_never_panics_on_any_text(text in proptest::prelude::any::<String>()) {
        let (index, an) = index_with(vec![]);
        for lang in [Language::Dutch, Language::English] {
            for hit in index.find_terms(&an.analyze(&text, Some(lang)), &an) {
                proptest::prop_assert!((hit.term as usize) < index.terms.len());
            }
        }
    }

    #[test]
    fn any_compound_of_two_known_words_splits_back_into_them(
        a in proptest::sample::select(vec!["afval", "inkoop", "visie", "aanbesteding", "samenwerking"]),
        link in proptest::sample::select(vec!["", "s"]),
        b in proptest::sample::select(vec!["inzameling", "uitvoering", "visie", "afval"]),
    ) {
        let (index, an) = index_with(vec![]);
        let word = format!("{a}{link}{b}");
        let parts = index.split_compound(&word, &an, 0);
        proptest::prop_assert!(parts.is_some(), "{} did not split", word);
        let parts = parts.unwrap();
        proptest::prop_assert_eq!(parts.len(), 2);
        proptest::prop_assert_eq!(parts[0].1, a);
    }
}

/// The posting weights of the term found for `word`, by target number.
fn weights_of(index: &Index, analyzer: &Analyzer, word: &str) -> Vec<(u32, f32)> {
    let analysis = analyzer.analyze(word, Some(Language::Dutch));
    let hit = index.find_terms(&analysis, analyzer)[0].term;
    index
        .postings(hit)
        .iter()
        .map(|p| (p.target, p.weight))
        .collect()
}

#[test]
fn a_learned_word_does_not_change_what_the_taxonomys_own_term_weighs() {
    use crate::learn::{Learned, LearnedTerm, LearnedWeight, Target};
    let (plain, an) = index_with(vec![]);
    // `afval` is nvrd's own term; learning it for pianoo too must leave
    // nvrd's weight for it as it was (before this, a learned word lowered
    // the inverse target frequency of every target that had it by nature).
    let learned = Learned {
        examples: 4,
        terms: [(
            "afval".to_string(),
            LearnedTerm {
                stem: "afval".into(),
                word: "afval".into(),
                questions: 4,
                weights: vec![LearnedWeight {
                    target: Target::Provider(crate::domain::ProviderId::parse("pianoo").unwrap()),
                    weight: 1.0,
                    corrections: 4,
                }],
            },
        )]
        .into(),
    };
    let taxonomy = Taxonomy::parse(TAXONOMY, "test", &an)
        .unwrap()
        .with_learned(&learned, &an);
    let taught = Index::build(
        IndexInput {
            taxonomy: Arc::new(taxonomy),
            experts: Vec::new().into(),
            version: 8,
        },
        &an,
    )
    .unwrap();
    let before = weights_of(&plain, &an, "afval");
    let after = weights_of(&taught, &an, "afval");
    for (target, weight) in &before {
        assert!(
            after.contains(&(*target, *weight)),
            "target {target}: {before:?} -> {after:?}"
        );
    }
    assert_eq!(
        after.len(),
        before.len() + 1,
        "pianoo learned it: {after:?}"
    );
}
