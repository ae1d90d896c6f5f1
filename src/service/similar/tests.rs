//! Tests of the similar-question snapshot through the service: restarts
//! load it and catch up, and a snapshot of another store, a newer one or a
//! damaged one is not used; and the blend of the lexical and the semantic
//! path.

use super::super::*;
use crate::domain::input::QuestionText;
use crate::store::{ManualTime, SledStore, StoreOptions};
use std::path::Path;

const START: i64 = 1_772_438_400_000;
const MATRAS: &str = "Hoe zamelen we oude matrassen gescheiden in?";
const WIND: &str = "Welke regels gelden voor windmolens bij woonwijken?";

fn open(dir: &Path) -> Service {
    let time = Arc::new(ManualTime::new(START));
    let store = SledStore::open(&dir.join("db"), StoreOptions::default(), time.clone()).unwrap();
    let taxonomy = Taxonomy::embedded(&Analyzer::new()).unwrap();
    Service::open_with_snapshot(
        taxonomy,
        Arc::new(store),
        time,
        RoutingPolicy::default(),
        Some(dir.join("similar.idx")),
    )
    .unwrap()
}

fn submit(s: &Service, text: &str) -> u64 {
    s.submit(crate::service::tests::submission(text))
        .unwrap()
        .question
        .id
        .get()
}

/// The id of the best match for a text, if any.
fn best(s: &Service, text: &str) -> Option<u64> {
    let text = QuestionText::parse(text).unwrap();
    let found = s.find_similar(Some(&text), None, 1).unwrap();
    found.first().map(|x| x.question.id.get())
}

#[test]
fn a_restart_loads_the_snapshot_and_catches_up_with_later_questions() {
    let dir = tempfile::tempdir().unwrap();
    let matras = {
        let s = open(dir.path());
        let id = submit(&s, MATRAS);
        s.flush().unwrap();
        id
    };
    assert!(dir.path().join("similar.idx").exists());
    let wind = {
        let s = open(dir.path());
        assert_eq!(
            best(&s, "Matrassen gescheiden inzamelen: hoe?"),
            Some(matras)
        );
        // Stopped without a flush: the snapshot lacks this one.
        submit(&s, WIND)
    };
    let s = open(dir.path());
    assert_eq!(
        best(&s, "Windmolens bij woonwijken: welke regels?"),
        Some(wind)
    );
    assert_eq!(
        best(&s, "Matrassen gescheiden inzamelen: hoe?"),
        Some(matras)
    );
}

#[test]
fn a_snapshot_of_another_store_or_a_newer_one_is_not_used() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    {
        let s = open(a.path());
        submit(&s, MATRAS);
        submit(&s, "Hoe kopen we circulair meubilair in?");
        s.flush().unwrap();
    }
    {
        let s = open(b.path());
        submit(&s, WIND);
        s.flush().unwrap();
    }
    let snapshot = a.path().join("similar.idx");
    // Another store: the same largest id would not be the same question.
    let b_two = tempfile::tempdir().unwrap();
    {
        let s = open(b_two.path());
        submit(&s, WIND);
        submit(&s, "Wat doen we met oud textiel?");
        s.flush().unwrap();
    }
    std::fs::copy(&snapshot, b_two.path().join("similar.idx")).unwrap();
    let s = open(b_two.path());
    assert_eq!(
        best(&s, "Windmolens bij woonwijken: welke regels?"),
        Some(1)
    );
    assert_ne!(best(&s, "Matrassen gescheiden inzamelen: hoe?"), Some(1));
    drop(s);
    // A snapshot with more questions than the store (a restored backup).
    std::fs::copy(&snapshot, b.path().join("similar.idx")).unwrap();
    let s = open(b.path());
    assert_eq!(
        best(&s, "Windmolens bij woonwijken: welke regels?"),
        Some(1)
    );
    assert_ne!(best(&s, "Matrassen gescheiden inzamelen: hoe?"), Some(1));
}

#[test]
fn a_damaged_snapshot_is_rebuilt_from_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let id = {
        let s = open(dir.path());
        let id = submit(&s, MATRAS);
        s.flush().unwrap();
        id
    };
    let path = dir.path().join("similar.idx");
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.len() - 12;
    bytes[at] ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();
    let s = open(dir.path());
    assert_eq!(best(&s, "Matrassen gescheiden inzamelen: hoe?"), Some(id));
    // The rebuilt index is written again.
    s.flush().unwrap();
    drop(s);
    assert!(crate::similar::SimilarIndex::load(&path).is_ok());
}

/// A service with the semantic path on, pointed at a port where nothing
/// listens: these tests set the vectors themselves.
fn open_semantic(dir: &Path) -> Service {
    open(dir)
        .with_semantic_settings(crate::embedding::SemanticSettings {
            embeddings_url: Some("http://127.0.0.1:9/v1/embeddings".into()),
            ..Default::default()
        })
        .unwrap()
}

fn vector(values: &[f32]) -> crate::similar::Vector {
    crate::similar::Vector::from_floats(values).unwrap()
}

fn set_vector(s: &Service, id: u64, values: &[f32]) {
    let semantic = s.similar.semantic.as_ref().unwrap();
    semantic.vectors.insert(id, &vector(values)).unwrap();
}

/// A search for `text` with the query vector `values`.
fn blended(s: &Service, text: &str, values: &[f32]) -> Vec<Similar> {
    let text = QuestionText::parse(text).unwrap();
    let mut query = s.similar_query(Some(&text), None).unwrap();
    query.vector = Some(vector(values));
    s.find_similar_by(&query, 5).unwrap()
}

#[test]
fn a_blend_ranks_a_paraphrase_that_shares_no_word_first_and_reports_both_parts() {
    let dir = tempfile::tempdir().unwrap();
    let s = open_semantic(dir.path());
    let matras = submit(&s, MATRAS);
    let wind = submit(&s, WIND);
    set_vector(&s, matras, &[1.0, 0.1, 0.0]);
    set_vector(&s, wind, &[0.0, 0.1, 1.0]);
    let found = blended(
        &s,
        "How do we collect used bedding apart?",
        &[0.98, 0.12, 0.02],
    );
    let first = &found[0];
    assert_eq!(first.question.id.get(), matras);
    let cosine = first.semantic.unwrap();
    assert!(cosine > 0.99, "{cosine}");
    let settings = &s.similar.semantic.as_ref().unwrap().settings;
    let expected = (1.0 - settings.semantic_weight) * first.lexical
        + settings.semantic_weight * settings.rescale(cosine);
    assert!((first.score - expected).abs() < 1e-6);
    // The other question's embedding is far from the query's: below the
    // floor it adds nothing, and it is not listed on a blend of zero.
    assert!(found
        .iter()
        .all(|x| x.question.id.get() != wind || x.score == x.lexical * 0.5));
}

#[test]
fn in_a_blend_a_question_without_a_vector_keeps_its_lexical_score() {
    let dir = tempfile::tempdir().unwrap();
    let s = open_semantic(dir.path());
    let matras = submit(&s, MATRAS);
    let found = blended(&s, MATRAS, &[1.0, 0.0]);
    assert_eq!(found[0].question.id.get(), matras);
    assert_eq!(found[0].semantic, None);
    assert_eq!(found[0].score, found[0].lexical);
}

#[test]
fn without_a_query_vector_the_search_is_the_lexical_one() {
    let dir = tempfile::tempdir().unwrap();
    let s = open_semantic(dir.path());
    let matras = submit(&s, MATRAS);
    submit(&s, WIND);
    set_vector(&s, matras, &[1.0, 0.0]);
    let text = QuestionText::parse("Matrassen gescheiden inzamelen: hoe?").unwrap();
    let query = s.similar_query(Some(&text), None).unwrap();
    assert!(query.vector.is_none());
    let found = s.find_similar_by(&query, 5).unwrap();
    let lexical = s
        .similar_to(&s.similar.features(text.as_str()), None, 5)
        .unwrap();
    let ids = |v: &[Similar]| {
        v.iter()
            .map(|x| (x.question.id, x.score))
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&found), ids(&lexical));
    assert!(found.iter().all(|x| x.semantic.is_none()));
}
