//! From a parsed taxonomy file to a checked [`Taxonomy`]: every rule a file
//! must follow, each refusal with the place it points at and a sentence that
//! says what to change.

use super::raw::{RawEntry, RawTaxonomy};
use super::*;

/// Refuses scoring knobs that would break the arithmetic (division by
/// zero, negative scores, confidence above 1).
fn check_scoring(s: &Scoring) -> Result<(), Problem> {
    let positive = [
        ("saturation_k", s.saturation_k),
        ("phrase_factor", s.phrase_factor),
        ("compound_factor", s.compound_factor),
        ("typo_factor", s.typo_factor),
        ("serves_factor", s.serves_factor),
        ("not_served_factor", s.not_served_factor),
        ("other_region_factor", s.other_region_factor),
        ("unknown_region_factor", s.unknown_region_factor),
        ("same_region_factor", s.same_region_factor),
        ("same_org_type_factor", s.same_org_type_factor),
    ];
    let non_negative = [
        ("confidence_damping", s.confidence_damping),
        ("theme_min_score", s.theme_min_score),
        ("theme_weight", s.theme_weight),
        ("category_weight", s.category_weight),
        ("kind_prior_weight", s.kind_prior_weight),
        ("theme_category_weight", s.theme_category_weight),
        ("category_theme_weight", s.category_theme_weight),
        ("dedicated_share", s.dedicated_share),
    ];
    for (name, v) in positive {
        if !(v.is_finite() && v > 0.0) {
            return Err((
                0..0,
                format!("[scoring] {name} = {v} must be a number above 0"),
            ));
        }
    }
    for (name, v) in non_negative {
        if !(v.is_finite() && v >= 0.0) {
            return Err((
                0..0,
                format!("[scoring] {name} = {v} must be a number of at least 0"),
            ));
        }
    }
    if !(0.0..=1.0).contains(&s.theme_relative) {
        return Err((
            0..0,
            format!(
                "[scoring] theme_relative = {} must be between 0 and 1",
                s.theme_relative
            ),
        ));
    }
    if s.max_matches == 0 || s.max_matches > 100 {
        return Err((
            0..0,
            format!(
                "[scoring] max_matches = {} must be between 1 and 100",
                s.max_matches
            ),
        ));
    }
    Ok(())
}

pub(super) fn validate(
    file: RawTaxonomy,
    analyzer: &Analyzer,
    origin: &str,
) -> Result<Taxonomy, Problem> {
    let scoring = file.scoring.unwrap_or_default();
    check_scoring(&scoring)?;
    let mut categories: BTreeMap<Category, CategoryDef> = BTreeMap::new();
    let mut category_themes: Vec<(Category, Vec<raw::SpannedString>)> = Vec::new();
    for entry in file.category {
        only_fields(
            &entry,
            "category",
            &["name", "description", "themes", "terms"],
        )?;
        let category: Category = parse_id(&entry, |s| {
            s.parse()
                .map_err(|e: crate::domain::UnknownValue| e.to_string())
        })?;
        let terms = terms(&entry, analyzer)?;
        let name = entry
            .name
            .clone()
            .unwrap_or_else(|| category.as_str().to_string());
        category_themes.push((category, entry.themes.clone().unwrap_or_default()));
        if categories
            .insert(
                category,
                CategoryDef {
                    category,
                    name,
                    // Checked against the themes once they are parsed.
                    themes: Vec::new(),
                    terms,
                    learned: Vec::new(),
                },
            )
            .is_some()
        {
            return Err(duplicate("category", &entry));
        }
    }
    if let Some(missing) = Category::ALL.iter().find(|c| !categories.contains_key(c)) {
        return Err((0..0, format!("category {missing} is missing: every one of STRATEGY, COLLABORATION, EXECUTION, SPECIFIC needs a [[category]] entry")));
    }

    let mut kinds: BTreeMap<KnowledgeKind, KindDef> = BTreeMap::new();
    for entry in file.kind {
        only_fields(&entry, "kind", &["name", "description", "prior", "terms"])?;
        let kind: KnowledgeKind = parse_id(&entry, |s| {
            s.parse()
                .map_err(|e: crate::domain::UnknownValue| e.to_string())
        })?;
        let prior = entry.prior.as_ref().map(|p| *p.get_ref()).unwrap_or(0.0);
        if !(0.0..=1.0).contains(&prior) {
            let span = entry
                .prior
                .as_ref()
                .map(|p| p.span())
                .unwrap_or(entry.id.span());
            return Err((
                span,
                format!(
                    "prior {prior} of kind {kind} must be between 0 and 1 (its share of questions)"
                ),
            ));
        }
        let terms = terms(&entry, analyzer)?;
        if kinds.insert(kind, KindDef { kind, prior, terms }).is_some() {
            return Err(duplicate("kind", &entry));
        }
    }
    if let Some(missing) = KnowledgeKind::ALL.iter().find(|k| !kinds.contains_key(k)) {
        return Err((0..0, format!("knowledge kind {missing} is missing: EXISTING, TACIT and NEW each need a [[kind]] entry")));
    }

    let mut themes: Vec<ThemeDef> = Vec::new();
    for entry in file.theme {
        only_fields(
            &entry,
            "theme",
            &[
                "name",
                "description",
                "review_months",
                "categories",
                "terms",
            ],
        )?;
        let id = parse_id(&entry, |s| ThemeId::parse(s).map_err(|e| e.to_string()))?;
        if themes.iter().any(|t| t.id == id) {
            return Err(duplicate("theme", &entry));
        }
        let review_months = entry
            .review_months
            .as_ref()
            .map(|m| *m.get_ref())
            .unwrap_or(24);
        if !(1..=120).contains(&review_months) {
            let span = entry
                .review_months
                .as_ref()
                .map(|m| m.span())
                .unwrap_or(entry.id.span());
            return Err((
                span,
                format!("review_months {review_months} of theme `{id}` must be between 1 and 120"),
            ));
        }
        let categories = parse_categories(&entry)?;
        let terms = terms(&entry, analyzer)?;
        let name = entry
            .name
            .clone()
            .unwrap_or_else(|| id.as_str().to_string());
        themes.push(ThemeDef {
            id,
            name,
            review_months,
            categories,
            terms,
        });
    }
    if themes.is_empty() {
        return Err((
            0..0,
            "no [[theme]] entries: a taxonomy needs at least one theme".to_string(),
        ));
    }

    for (category, listed) in category_themes {
        let mut resolved = Vec::new();
        for t in listed {
            let theme = ThemeId::parse(t.get_ref()).map_err(|e| (t.span(), e.to_string()))?;
            if !themes.iter().any(|d| d.id == theme) {
                return Err((
                    t.span(),
                    format!("category {category} names theme `{theme}`, which no [[theme]] entry defines"),
                ));
            }
            resolved.push(theme);
        }
        if let Some(def) = categories.get_mut(&category) {
            def.themes = resolved;
        }
    }

    let mut providers: Vec<ProviderDef> = Vec::new();
    for entry in file.provider {
        let def = provider_def(&entry, &themes, analyzer)?;
        if providers.iter().any(|p| p.id == def.id) {
            return Err(duplicate("provider", &entry));
        }
        providers.push(def);
    }
    if providers.is_empty() {
        return Err((
            0..0,
            "no [[provider]] entries: a taxonomy needs at least one provider".to_string(),
        ));
    }

    Ok(Taxonomy {
        origin: origin.to_string(),
        categories: categories.into_values().collect(),
        themes,
        kinds: kinds.into_values().collect(),
        providers,
        scoring,
    })
}

/// Validates one `[[provider]]` entry against the themes.
pub(super) fn provider_def(
    entry: &RawEntry,
    themes: &[ThemeDef],
    analyzer: &Analyzer,
) -> Result<ProviderDef, Problem> {
    only_fields(
        entry,
        "provider",
        &[
            "name",
            "description",
            "themes",
            "categories",
            "serves",
            "regions",
            "terms",
        ],
    )?;
    let id = parse_id(entry, |s| ProviderId::parse(s).map_err(|e| e.to_string()))?;
    let Some(name) = entry.name.clone().filter(|n| !n.trim().is_empty()) else {
        return Err((
            entry.id.span(),
            format!("provider `{id}` has no name: add name = \"…\""),
        ));
    };
    let list = |field: &Option<Vec<raw::SpannedString>>| field.clone().unwrap_or_default();
    let mut provider_themes = Vec::new();
    for t in list(&entry.themes) {
        let theme = ThemeId::parse(t.get_ref()).map_err(|e| (t.span(), e.to_string()))?;
        if !themes.iter().any(|d| d.id == theme) {
            return Err((
                t.span(),
                format!("provider `{id}` names theme `{theme}`, which no [[theme]] entry defines"),
            ));
        }
        provider_themes.push(theme);
    }
    let categories = parse_categories(entry)?;
    let serves = list(&entry.serves)
        .iter()
        .map(|c| {
            c.get_ref()
                .parse::<OrganizationType>()
                .map_err(|e| (c.span(), e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let regions = list(&entry.regions)
        .iter()
        .map(|c| Province::parse_lenient(c.get_ref()).map_err(|e| (c.span(), e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    let terms = terms(entry, analyzer)?;
    if terms.is_empty() && provider_themes.is_empty() {
        return Err((
            entry.id.span(),
            format!("provider `{id}` has no terms and no themes, so it can never be matched: add either"),
        ));
    }
    Ok(ProviderDef {
        id,
        name,
        description: entry.description.clone().unwrap_or_default(),
        themes: provider_themes,
        categories,
        serves,
        regions,
        terms,
        learned: Vec::new(),
    })
}

/// A directory record as a raw entry, so it is validated exactly like a
/// `[[provider]]` of a taxonomy file.
pub(super) fn raw_provider(record: &ProviderRecord) -> RawEntry {
    let spanned = |v: &[String]| Some(v.iter().map(|s| Spanned::new(0..0, s.clone())).collect());
    RawEntry {
        id: Spanned::new(0..0, record.id.clone()),
        name: Some(record.name.clone()),
        description: Some(record.description.clone()),
        review_months: None,
        prior: None,
        themes: spanned(&record.themes),
        categories: spanned(&record.categories),
        serves: spanned(&record.serves),
        regions: spanned(&record.regions),
        terms: Some(
            record
                .terms
                .iter()
                .map(|(t, w)| (t.clone(), Spanned::new(0..0, *w)))
                .collect(),
        ),
    }
}

/// Refuses fields that mean nothing in a section (a `serves` list on a
/// theme, say): silently ignoring them would hide a misunderstanding.
fn only_fields(entry: &RawEntry, section: &str, allowed: &[&str]) -> Result<(), Problem> {
    let present = [
        ("name", entry.name.is_some()),
        ("description", entry.description.is_some()),
        ("review_months", entry.review_months.is_some()),
        ("prior", entry.prior.is_some()),
        ("themes", entry.themes.is_some()),
        ("categories", entry.categories.is_some()),
        ("serves", entry.serves.is_some()),
        ("regions", entry.regions.is_some()),
        ("terms", entry.terms.is_some()),
    ];
    match present.iter().find(|(field, set)| *set && !allowed.contains(field)) {
        None => Ok(()),
        Some((field, _)) => Err((
            entry.id.span(),
            format!(
                "[[{section}]] `{}` has a `{field}` field, which only applies to other sections; allowed here: {}",
                entry.id.get_ref(),
                allowed.join(", ")
            ),
        )),
    }
}

fn parse_categories(entry: &RawEntry) -> Result<Vec<Category>, Problem> {
    entry
        .categories
        .iter()
        .flatten()
        .map(|c| {
            c.get_ref()
                .parse::<Category>()
                .map_err(|e| (c.span(), e.to_string()))
        })
        .collect()
}

fn parse_id<T>(entry: &RawEntry, parse: impl Fn(&str) -> Result<T, String>) -> Result<T, Problem> {
    parse(entry.id.get_ref()).map_err(|e| (entry.id.span(), e))
}

fn duplicate(what: &str, entry: &RawEntry) -> Problem {
    (
        entry.id.span(),
        format!(
            "{what} `{}` is defined twice: merge the two entries",
            entry.id.get_ref()
        ),
    )
}

fn terms(entry: &RawEntry, analyzer: &Analyzer) -> Result<Terms, Problem> {
    let mut out = Vec::new();
    for (term, weight) in entry.terms.iter().flatten() {
        let w = *weight.get_ref();
        if w == 0.0 {
            // A zero weight removes a term when extending; it is simply
            // not indexed.
            continue;
        }
        if !(w.is_finite() && w > 0.0 && w <= MAX_WEIGHT) {
            return Err((
                weight.span(),
                format!("weight {w} of term `{term}` must be above 0 and at most {MAX_WEIGHT}"),
            ));
        }
        let words = analyzer.analyze_term(term);
        if words.iter().all(|w| w.stems.iter().all(Option::is_none)) {
            return Err((
                weight.span(),
                format!("term `{term}` has no word that is not a stop word, so it can never match: use a content word"),
            ));
        }
        out.push((term.clone(), w));
    }
    Ok(out)
}
