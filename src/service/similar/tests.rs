//! Tests of the similar-question snapshot through the service: restarts
//! load it and catch up, and a snapshot of another store, a newer one or a
//! damaged one is not used.

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
