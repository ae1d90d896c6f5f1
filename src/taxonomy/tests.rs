use super::*;

fn analyzer() -> Analyzer {
    Analyzer::new()
}

const MINIMAL: &str = r#"
version = 1
[[category]]
id = "STRATEGY"
terms = { visie = 2.0 }
[[category]]
id = "COLLABORATION"
terms = { samenwerking = 2.0 }
[[category]]
id = "EXECUTION"
terms = { uitvoering = 2.0 }
[[category]]
id = "SPECIFIC"
terms = { techniek = 1.0 }
[[kind]]
id = "EXISTING"
prior = 0.1
[[kind]]
id = "TACIT"
prior = 0.6
[[kind]]
id = "NEW"
prior = 0.3
[[theme]]
id = "waste"
terms = { afval = 2.0 }
[[provider]]
id = "nvrd"
name = "NVRD"
themes = ["waste"]
serves = ["GEMEENTE"]
"#;

fn error_of(src: &str) -> (usize, String) {
    match Taxonomy::parse(src, "my.toml", &analyzer()) {
        Err(TaxonomyError::Invalid {
            origin,
            line,
            message,
            ..
        }) => {
            assert_eq!(origin, "my.toml");
            (line, message)
        }
        other => panic!("expected an Invalid error, got {other:?}"),
    }
}

#[test]
fn the_embedded_default_is_valid_and_has_every_provider_of_the_domain() {
    let t = Taxonomy::embedded(&analyzer()).unwrap();
    for id in [
        "pianoo",
        "cirkelstad",
        "rivm",
        "nvrd",
        "platform31",
        "circo",
        "versnellingshuis-ce",
        "rijkswaterstaat",
        "lnv-duurzaam-door",
        "pbl",
        "dutch-circular-textile-valley",
        "circulair-friesland",
        "metropoolregio-amsterdam",
        "transitieteams",
        "ienw",
        "vng",
        "ipo",
        "uvw",
        "ce-consultants",
        "ontwikkelmaatschappijen",
    ] {
        assert!(
            t.providers().iter().any(|p| p.id().as_str() == id),
            "provider {id} missing"
        );
    }
    for id in [
        "procurement",
        "construction",
        "biomass_food",
        "waste",
        "water",
        "textiles",
        "plastics",
        "manufacturing",
        "consumer_goods",
        "monitoring",
        "regulation",
        "funding",
        "regional_economy",
        "citizens",
        "organization",
        "public_space",
        "substances",
    ] {
        assert!(
            t.themes().iter().any(|th| th.id().as_str() == id),
            "theme {id} missing"
        );
    }
}

#[test]
fn a_minimal_file_parses() {
    let t = Taxonomy::parse(MINIMAL, "my.toml", &analyzer()).unwrap();
    assert_eq!(t.providers().len(), 1);
    assert_eq!(t.themes()[0].review_months(), 24);
}

#[test]
fn a_syntax_error_names_the_line() {
    let src = MINIMAL.replace("terms = { afval = 2.0 }", "terms = { afval = }");
    let (line, message) = error_of(&src);
    assert_eq!(
        line,
        MINIMAL.lines().position(|l| l.contains("afval")).unwrap() + 1
    );
    assert!(!message.is_empty());
}

#[test]
fn an_unknown_theme_in_a_provider_names_the_line_and_the_theme() {
    let src = MINIMAL.replace(r#"themes = ["waste"]"#, r#"themes = ["wastes"]"#);
    let (line, message) = error_of(&src);
    assert_eq!(
        line,
        MINIMAL
            .lines()
            .position(|l| l.contains(r#"themes = ["waste"]"#))
            .unwrap()
            + 1
    );
    assert!(message.contains("`wastes`"), "{message}");
}

#[test]
fn a_missing_category_is_reported() {
    let src = MINIMAL.replace("id = \"SPECIFIC\"", "id = \"STRATEGY\"");
    let (_, message) = error_of(&src);
    assert!(message.contains("defined twice"), "{message}");
}

#[test]
fn a_negative_weight_is_refused() {
    let (_, message) = error_of(&MINIMAL.replace("afval = 2.0", "afval = -2.0"));
    assert!(message.contains("above 0"), "{message}");
}

#[test]
fn a_term_of_stop_words_only_is_refused() {
    let (_, message) = error_of(&MINIMAL.replace("afval = 2.0", "\"in is\" = 2.0"));
    assert!(message.contains("stop word"), "{message}");
}

#[test]
fn an_unsupported_version_is_refused_with_the_supported_one() {
    let (line, message) = error_of(&MINIMAL.replace("version = 1", "version = 7"));
    assert_eq!(line, 2);
    assert!(message.contains("version 1"), "{message}");
}

#[test]
fn an_unknown_field_is_refused() {
    let (_, message) = error_of(&MINIMAL.replace("prior = 0.1", "prior = 0.1\nprio = 3"));
    assert!(message.contains("prio"), "{message}");
}

#[test]
fn a_field_in_the_wrong_section_is_refused() {
    let (_, message) =
        error_of(&MINIMAL.replace("id = \"waste\"", "id = \"waste\"\nserves = [\"GEMEENTE\"]"));
    assert!(message.contains("serves"), "{message}");
}

#[test]
fn an_extending_file_adds_providers_and_overrides_terms() {
    let src = r#"
version = 1
extends = "default"
[[provider]]
id = "gemeente-zwolle-ce"
name = "Team CE gemeente Zwolle"
themes = ["waste"]
[[theme]]
id = "waste"
review_months = 6
terms = { gft = 3.0 }
"#;
    let t = Taxonomy::parse(src, "extra.toml", &analyzer()).unwrap();
    assert!(t
        .providers()
        .iter()
        .any(|p| p.id().as_str() == "gemeente-zwolle-ce"));
    assert!(t.providers().iter().any(|p| p.id().as_str() == "pianoo"));
    let waste = t
        .themes()
        .iter()
        .find(|th| th.id().as_str() == "waste")
        .unwrap();
    assert_eq!(waste.review_months(), 6);
    assert!(waste
        .terms
        .iter()
        .any(|(term, w)| term == "gft" && *w == 3.0));
    assert!(waste.terms.len() > 5, "default waste terms kept");
}

#[test]
fn a_missing_file_is_an_error_naming_the_path() {
    let err = Taxonomy::load(Path::new("/nonexistent/kicer.toml"), &analyzer()).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/kicer.toml"), "{err}");
}

#[test]
fn scoring_knobs_that_would_break_the_arithmetic_are_refused() {
    let (_, message) = error_of(&format!("{MINIMAL}\n[scoring]\nsaturation_k = -1.0\n"));
    assert!(message.contains("saturation_k"), "{message}");
    let (_, message) = error_of(&format!(
        "{MINIMAL}\n[scoring]\nconfidence_damping = -3.0\n"
    ));
    assert!(message.contains("confidence_damping"), "{message}");
}
