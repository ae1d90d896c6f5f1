use super::*;
use crate::domain::{Category, ExpertRecord, KnowledgeKind};

const TAXONOMY: &str = r#"
version = 1
[[category]]
id = "STRATEGY"
terms = { visie = 2.0, ambitie = 2.0, rol = 1.0 }
[[category]]
id = "COLLABORATION"
terms = { samenwerking = 2.0, samenwerken = 2.0, inwoners = 1.0 }
[[category]]
id = "EXECUTION"
terms = { collega = 2.0, uitvoering = 2.0 }
[[category]]
id = "SPECIFIC"
terms = { recycling = 1.0, "circulair inkopen" = 2.0 }
[[kind]]
id = "EXISTING"
prior = 0.09
terms = { regeling = 2.0 }
[[kind]]
id = "TACIT"
prior = 0.67
terms = { ervaring = 2.0 }
[[kind]]
id = "NEW"
prior = 0.25
terms = { "2050" = 3.0 }
[[theme]]
id = "waste"
terms = { afval = 2.0, inzameling = 1.5, recycling = 1.0 }
[[theme]]
id = "procurement"
terms = { inkoop = 2.0, aanbesteding = 2.0, "circulair inkopen" = 3.0 }
[[provider]]
id = "nvrd"
name = "NVRD"
themes = ["waste"]
serves = ["GEMEENTE"]
terms = { afval = 1.0 }
[[provider]]
id = "pianoo"
name = "PIANOo"
themes = ["procurement"]
categories = ["SPECIFIC"]
terms = { pianoo = 3.0 }
[[provider]]
id = "circulair-friesland"
name = "Circulair Friesland"
themes = ["waste", "procurement"]
regions = ["Fryslân"]
"#;

fn engine(experts: &[&str]) -> Engine {
    let analyzer = crate::analysis::Analyzer::new();
    let taxonomy = Taxonomy::parse(TAXONOMY, "test", &analyzer).unwrap();
    let experts = experts
        .iter()
        .map(|j| Expert::try_from(serde_json::from_str::<ExpertRecord>(j).unwrap()).unwrap())
        .collect();
    Engine::new(taxonomy, experts).unwrap()
}

#[test]
fn a_question_without_any_known_term_gets_no_category_rather_than_a_guess() {
    let c = engine(&[]).classify(&Query::text("Lorem ipsum dolor sit amet"));
    assert_eq!(c.category, None);
    assert_eq!(c.confidence, 0.0);
    assert!(c.providers.is_empty() && c.themes.is_empty());
    assert_eq!(c.knowledge_kind, None);
    let json = serde_json::to_value(&c).unwrap();
    assert_eq!(json["category"], "NONE");
}

#[test]
fn empty_text_gets_no_category() {
    assert_eq!(engine(&[]).classify(&Query::text("")).category, None);
}

#[test]
fn category_scores_carry_the_terms_that_made_them() {
    let c = engine(&[]).classify(&Query::text("Hoe kunnen we circulair inkopen?"));
    assert_eq!(c.category, Some(Category::Specific));
    let specific = &c.category_scores[Category::Specific.index()];
    assert_eq!(&*specific.matched_terms[0].term, "circulair inkopen");
    assert_eq!(specific.matched_terms[0].via, Via::Phrase);
    let sum: f32 = specific.matched_terms.iter().map(|t| t.contribution).sum();
    assert!(
        (sum - specific.score).abs() < 1e-4,
        "{sum} vs {}",
        specific.score
    );
}

#[test]
fn the_best_provider_comes_first_and_its_score_is_the_sum_of_its_reasons() {
    let c = engine(&[]).classify(&Query {
        organization_type: Some(OrganizationType::Gemeente),
        ..Query::text("Hoe organiseren we de inzameling van afval?")
    });
    assert_eq!(c.providers[0].id, "nvrd");
    let p = &c.providers[0];
    let sum: f32 = p.matched_terms.iter().map(|t| t.contribution).sum();
    assert!((sum - p.score).abs() < 1e-3, "{sum} vs {}", p.score);
    assert!(
        p.fit_reasons
            .iter()
            .any(|r| r.to_string().contains("serves GEMEENTE")),
        "{:?}",
        p.fit_reasons
    );
}

#[test]
fn a_regional_provider_ranks_higher_inside_its_region_than_outside() {
    let e = engine(&[]);
    let q = "afval en inzameling";
    let score_in = |region| {
        e.classify(&Query {
            region,
            ..Query::text(q)
        })
        .providers
        .into_iter()
        .find(|p| p.id == "circulair-friesland")
        .map_or(0.0, |p| p.score)
    };
    assert!(score_in(Some(Province::Fryslan)) > score_in(Some(Province::Limburg)));
}

#[test]
fn repeating_a_word_helps_less_than_linearly() {
    let e = engine(&[]);
    let once = e.classify(&Query::text("visie")).category_scores[0].score;
    let thrice = e
        .classify(&Query::text("visie, visie, visie"))
        .category_scores[0]
        .score;
    assert!(
        thrice > once && thrice < 2.0 * once,
        "once {once} thrice {thrice}"
    );
}

#[test]
fn knowledge_kind_follows_its_terms_and_defaults_to_the_studys_most_common() {
    let e = engine(&[]);
    assert_eq!(
        e.classify(&Query::text("afval in 2050")).knowledge_kind,
        Some(KnowledgeKind::New)
    );
    assert_eq!(
        e.classify(&Query::text("afval")).knowledge_kind,
        Some(KnowledgeKind::Tacit)
    );
}

#[test]
fn unavailable_experts_are_not_proposed() {
    let e = engine(&[
        r#"{"id":"away","name":"Away","expertise":["afval"],"available":false}"#,
        r#"{"id":"here","name":"Here","expertise":["afval"]}"#,
    ]);
    let c = e.classify(&Query::text("afval"));
    let ids: Vec<_> = c.experts.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["here"]);
}

#[test]
fn experts_from_the_askers_region_and_organisation_type_rank_first() {
    let e = engine(&[
        r#"{"id":"a-elsewhere","name":"A","organization_type":"PROVINCIE","region":"Limburg","expertise":["afval"]}"#,
        r#"{"id":"b-local","name":"B","organization_type":"GEMEENTE","region":"Overijssel","expertise":["afval"]}"#,
    ]);
    let c = e.classify(&Query {
        organization_type: Some(OrganizationType::Gemeente),
        region: Some(Province::Overijssel),
        ..Query::text("afval")
    });
    assert_eq!(c.experts[0].id, "b-local");
}

#[test]
fn equal_experts_are_ranked_by_id_so_results_are_repeatable() {
    let e = engine(&[
        r#"{"id":"zz","name":"Z","expertise":["afval"]}"#,
        r#"{"id":"aa","name":"A","expertise":["afval"]}"#,
    ]);
    let ids: Vec<_> = e
        .classify(&Query::text("afval"))
        .experts
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(ids, ["aa", "zz"]);
}

#[test]
fn replacing_experts_swaps_in_a_new_index_version_and_changes_routing() {
    let e = engine(&[]);
    assert!(e.classify(&Query::text("afval")).experts.is_empty());
    let held = e.index();
    let expert = Expert::try_from(
        serde_json::from_str::<ExpertRecord>(r#"{"id":"new","name":"New","expertise":["afval"]}"#)
            .unwrap(),
    )
    .unwrap();
    let version = e.replace_experts(vec![expert]).unwrap();
    assert_eq!(version, 2);
    let c = e.classify(&Query::text("afval"));
    assert_eq!(c.index_version, 2);
    assert_eq!(c.experts[0].id, "new");
    // A reader holding the old index still sees the old version.
    assert_eq!(held.version(), 1);
}

#[test]
fn a_failed_rebuild_keeps_the_old_index() {
    let e = engine(&[]);
    let bad = Expert::try_from(
        serde_json::from_str::<ExpertRecord>(r#"{"id":"x","name":"X","themes":["nope"]}"#).unwrap(),
    )
    .unwrap();
    assert!(e.replace_experts(vec![bad]).is_err());
    assert_eq!(e.index().version(), 1);
}

#[test]
fn classifying_the_same_question_twice_gives_the_same_answer() {
    // Score arrays are reused per thread; nothing may leak between calls,
    // also not between engines of different sizes on one thread.
    let big = engine(&[
        r#"{"id":"a","name":"A","expertise":["afval"]}"#,
        r#"{"id":"b","name":"B","expertise":["inzameling"],"themes":["waste"]}"#,
    ]);
    let small = engine(&[]);
    let q = Query::text("Hoe organiseren we de inzameling van afval samen met inwoners?");
    let first = big.classify(&q);
    let other = small.classify(&Query::text("visie en ambitie"));
    let second = big.classify(&q);
    assert_eq!(first, second);
    assert_eq!(other, small.classify(&Query::text("visie en ambitie")));
}

#[test]
fn a_provider_for_exactly_the_askers_type_of_government_is_proposed() {
    let taxonomy = TAXONOMY.replace(
        "[[provider]]\nid = \"nvrd\"",
        "[[provider]]\nid = \"vng\"\nname = \"VNG\"\nserves = [\"GEMEENTE\"]\nterms = { gemeenteraad = 1.0 }\n\n[[provider]]\nid = \"nvrd\"",
    );
    let analyzer = crate::analysis::Analyzer::new();
    let e = Engine::new(
        Taxonomy::parse(&taxonomy, "test", &analyzer).unwrap(),
        vec![],
    )
    .unwrap();
    let c = e.classify(&Query {
        organization_type: Some(OrganizationType::Gemeente),
        ..Query::text("Wat is onze visie en ambitie?")
    });
    let vng = c
        .providers
        .iter()
        .find(|p| p.id == "vng")
        .expect("vng proposed");
    assert!(
        vng.matched_terms.iter().any(|t| t.via == Via::Dedicated),
        "{vng:?}"
    );
    // A province asking the same gets no municipal association.
    let c = e.classify(&Query {
        organization_type: Some(OrganizationType::Provincie),
        ..Query::text("Wat is onze visie en ambitie?")
    });
    assert!(c.providers.iter().all(|p| p.id != "vng"));
}

#[test]
fn a_theme_counts_towards_the_categories_it_lists() {
    let taxonomy = TAXONOMY.replace(
        "id = \"waste\"",
        "id = \"waste\"\ncategories = [\"SPECIFIC\"]",
    );
    let analyzer = crate::analysis::Analyzer::new();
    let e = Engine::new(
        Taxonomy::parse(&taxonomy, "test", &analyzer).unwrap(),
        vec![],
    )
    .unwrap();
    let c = e.classify(&Query::text("afval en inzameling"));
    assert_eq!(c.category, Some(Category::Specific));
    let specific = &c.category_scores[Category::Specific.index()];
    assert_eq!(&*specific.matched_terms[0].term, "theme:waste");
}
