//! Routing quality on the project's own labelled hold-out set
//! (`tests/data/holdout.jsonl`, written from the domain description without
//! seeing the engine's vocabulary or the development set). A floor, not a
//! target: it catches a taxonomy or scoring change that makes routing
//! clearly worse. The development set's numbers are checked by `.ci/run`.

use kicer::analysis::Analyzer;
use kicer::engine::Engine;
use kicer::eval::{evaluate, parse_labelled};
use kicer::taxonomy::Taxonomy;

#[test]
fn the_holdout_set_is_routed_well_enough() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/holdout.jsonl"
    ))
    .expect("holdout set present");
    let items = parse_labelled(&text).expect("holdout set parses");
    let taxonomy = Taxonomy::embedded(&Analyzer::new()).expect("default taxonomy");
    let engine = Engine::new(taxonomy, Vec::new()).expect("index builds");
    let report = evaluate(&engine, &items, |_, _| {});
    assert_eq!(report.questions, 60);
    assert!(
        report.category_accuracy >= 0.75,
        "category accuracy {:.3}",
        report.category_accuracy
    );
    assert!(
        report.provider_hit_at_3 >= 0.85,
        "provider hit@3 {:.3}",
        report.provider_hit_at_3
    );
}
