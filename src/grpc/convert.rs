//! Between the wire and the domain: requests are parsed into validated
//! domain values here (a failure names the field and what to send), and
//! domain values are written back as messages.

use super::proto;
use crate::domain::input::{optional_short, InputError, MAX_SOURCES};
use crate::domain::{
    ActionKind, Category, ExpertRecord, Expertise, KnowledgeKind, OrganizationType, ProviderRecord,
    Province, Status,
};
use crate::engine::{Classification, Contribution, RankedMatch};
use crate::store::{
    Answer, ClassificationSnapshot, Dimension, Event, Explanation, LeadClock, Metric, Question,
    QuestionId, Scored, ScoredTerm,
};
use crate::taxonomy::Taxonomy;
use std::collections::BTreeMap;

/// A request value that cannot be used. Becomes INVALID_ARGUMENT.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BadRequest {
    /// A text field.
    #[error(transparent)]
    Input(#[from] InputError),
    /// Any other field.
    #[error("{field}: {message}")]
    Field {
        /// The field, as named in the proto.
        field: &'static str,
        /// What is wrong and what to send instead.
        message: String,
    },
}

/// A field error.
pub fn bad(field: &'static str, message: impl Into<String>) -> BadRequest {
    BadRequest::Field {
        field,
        message: message.into(),
    }
}

/// Maps between a domain enum and its proto twin through the shared
/// `PREFIX_NAME` spelling, so the two can never drift apart silently.
macro_rules! enum_map {
    ($domain:ty, $proto:ty, $prefix:literal, $to_domain:ident, $to_proto:ident) => {
        /// The domain value of a wire enum; `None` for `_UNSPECIFIED`.
        #[allow(dead_code)] // not every enum is read from the wire
        pub fn $to_domain(field: &'static str, value: i32) -> Result<Option<$domain>, BadRequest> {
            let allowed = || {
                <$domain>::ALL
                    .iter()
                    .map(|v| format!("{}_{}", $prefix, v.as_str()))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let Ok(p) = <$proto>::try_from(value) else {
                return Err(bad(
                    field,
                    format!("unknown value {value}: use one of {}", allowed()),
                ));
            };
            if value == 0 {
                return Ok(None);
            }
            p.as_str_name().parse::<$domain>().map(Some).map_err(|_| {
                bad(
                    field,
                    format!("unknown value {value}: use one of {}", allowed()),
                )
            })
        }

        /// The wire value of a domain enum.
        pub fn $to_proto(value: $domain) -> i32 {
            <$proto>::from_str_name(&format!("{}_{}", $prefix, value.as_str()))
                .map_or(0, |p| p as i32)
        }
    };
}

enum_map!(
    Category,
    proto::Category,
    "CATEGORY",
    category,
    category_to_proto
);
enum_map!(
    OrganizationType,
    proto::OrganizationType,
    "ORGANIZATION_TYPE",
    organization_type,
    organization_type_to_proto
);
enum_map!(
    KnowledgeKind,
    proto::KnowledgeKind,
    "KNOWLEDGE_KIND",
    knowledge_kind,
    knowledge_kind_to_proto
);

/// The domain status of a wire status; `None` for `_UNSPECIFIED`.
pub fn status(field: &'static str, value: i32) -> Result<Option<Status>, BadRequest> {
    let p = proto::Status::try_from(value).map_err(|_| {
        bad(
            field,
            format!("unknown status {value}: use STATUS_TRIAGE, STATUS_ROUTED, …"),
        )
    })?;
    if value == 0 {
        return Ok(None);
    }
    let name = p.as_str_name().trim_start_matches("STATUS_");
    Status::ALL
        .into_iter()
        .find(|s| s.as_str() == name)
        .map(Some)
        .ok_or_else(|| bad(field, format!("unknown status {value}")))
}

/// The wire value of a status.
pub fn status_to_proto(s: Status) -> i32 {
    proto::Status::from_str_name(&format!("STATUS_{}", s.as_str())).map_or(0, |p| p as i32)
}

/// The wire value of an action.
pub fn action_to_proto(a: Option<ActionKind>) -> i32 {
    a.and_then(|a| proto::Action::from_str_name(&format!("ACTION_{}", a.as_str())))
        .map_or(0, |p| p as i32)
}

/// A required organisation type.
pub fn required_organization_type(value: i32) -> Result<OrganizationType, BadRequest> {
    organization_type("organization_type", value)?.ok_or_else(|| {
        bad(
            "organization_type",
            "is required: use ORGANIZATION_TYPE_GEMEENTE, _PROVINCIE, _WATERSCHAP, _RIJK or _OTHER",
        )
    })
}

/// An optional province, leniently spelled ("Noord-Holland", "fryslân").
pub fn region(text: &str) -> Result<Option<Province>, BadRequest> {
    match text.trim() {
        "" => Ok(None),
        t => Province::parse_lenient(t)
            .map(Some)
            .map_err(|e| bad("region", e.to_string())),
    }
}

/// Longest text that can be a question id: `q` and a 64-bit number.
const MAX_QUESTION_ID_LEN: usize = 21;

/// A question id (`q42`).
pub fn question_id(field: &'static str, text: &str) -> Result<QuestionId, BadRequest> {
    if text.trim().is_empty() {
        return Err(bad(field, "is required: give a question id such as q42"));
    }
    // Checked before parsing, whose message repeats the text.
    if text.trim().len() > MAX_QUESTION_ID_LEN {
        return Err(bad(
            field,
            format!(
                "is {} bytes long: question ids look like q42",
                text.trim().len()
            ),
        ));
    }
    QuestionId::parse(text.trim()).map_err(|e| bad(field, e))
}

/// The version an etag names; empty skips the check.
pub fn etag(text: &str) -> Result<Option<u64>, BadRequest> {
    match text.trim().trim_matches('"') {
        "" => Ok(None),
        t => t.parse().map(Some).map_err(|_| {
            bad(
                "etag",
                format!("`{}` is not an etag this server hands out: send the etag of the question as you read it, or leave it empty", crate::domain::input::quoted(text)),
            )
        }),
    }
}

/// The etag of a question version.
pub fn etag_of(version: u64) -> String {
    version.to_string()
}

/// A 1..=5 scale value; 0 means the default 3.
pub fn scale(field: &'static str, value: i32) -> Result<u8, BadRequest> {
    match value {
        0 => Ok(3),
        1..=5 => Ok(value as u8),
        _ => Err(bad(
            field,
            format!("{value} is out of range: use 1 (low) to 5 (high), or 0 for the default 3"),
        )),
    }
}

/// A page size from the wire (AIP-158): 0 means `default`, larger than
/// `max` is clamped, negative is refused.
pub fn page_size(value: i32, default: usize, max: usize) -> Result<usize, BadRequest> {
    match value {
        v if v < 0 => Err(bad(
            "page_size",
            format!("{v} is negative: use 0 for the default or a positive size"),
        )),
        0 => Ok(default),
        v => Ok((v as usize).min(max)),
    }
}

/// An optional short text.
pub fn short(field: &'static str, text: &str) -> Result<Option<String>, BadRequest> {
    Ok(optional_short(field, text)?)
}

/// Answer sources: at most [`MAX_SOURCES`], each a short text under the
/// input rules; blank ones are left out.
pub fn sources(list: &[String]) -> Result<Vec<String>, BadRequest> {
    if list.len() > MAX_SOURCES {
        return Err(bad(
            "sources",
            format!(
                "{} sources, more than the {MAX_SOURCES} allowed",
                list.len()
            ),
        ));
    }
    list.iter()
        .filter_map(|s| optional_short("sources", s).transpose())
        .collect::<Result<_, _>>()
        .map_err(BadRequest::from)
}

/// Milliseconds since the epoch of a timestamp.
pub fn millis(field: &'static str, t: &prost_types::Timestamp) -> Result<i64, BadRequest> {
    if !(0..1_000_000_000).contains(&t.nanos) {
        return Err(bad(field, "nanos must be between 0 and 999,999,999"));
    }
    t.seconds
        .checked_mul(1000)
        .and_then(|ms| ms.checked_add(i64::from(t.nanos / 1_000_000)))
        .ok_or_else(|| bad(field, "is out of range"))
}

/// A timestamp of milliseconds since the epoch.
pub fn timestamp(ms: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
    }
}

/// A duration of milliseconds.
pub fn duration(ms: u64) -> prost_types::Duration {
    prost_types::Duration {
        seconds: (ms / 1000) as i64,
        nanos: ((ms % 1000) * 1_000_000) as i32,
    }
}

/// A month `YYYY-MM` as `yyyymm`.
pub fn month(field: &'static str, text: &str) -> Result<Option<u32>, BadRequest> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let parsed = text
        .split_once('-')
        .and_then(|(y, m)| Some((y.parse::<u32>().ok()?, m.parse::<u32>().ok()?)))
        .filter(|(y, m)| (1970..=9999).contains(y) && (1..=12).contains(m) && text.len() == 7);
    match parsed {
        Some((y, m)) => Ok(Some(y * 100 + m)),
        None => Err(bad(
            field,
            format!(
                "`{}` is not a month: write YYYY-MM, e.g. 2026-03",
                crate::domain::input::quoted(text)
            ),
        )),
    }
}

/// The lead-time metric of a request (required).
pub fn metric(value: i32) -> Result<Metric, BadRequest> {
    match proto::LeadTimeMetric::try_from(value) {
        Ok(proto::LeadTimeMetric::TimeToRoute) => Ok(Metric::TimeToRoute),
        Ok(proto::LeadTimeMetric::TimeToFirstResponse) => Ok(Metric::TimeToFirstResponse),
        Ok(proto::LeadTimeMetric::TimeToAnswer) => Ok(Metric::TimeToAnswer),
        _ => Err(bad(
            "metric",
            "is required: use LEAD_TIME_METRIC_TIME_TO_ROUTE, _TIME_TO_FIRST_RESPONSE or _TIME_TO_ANSWER",
        )),
    }
}

/// The lead-time clock (calendar by default).
pub fn clock(value: i32) -> Result<LeadClock, BadRequest> {
    match proto::LeadTimeClock::try_from(value) {
        Ok(proto::LeadTimeClock::Unspecified | proto::LeadTimeClock::Calendar) => {
            Ok(LeadClock::Calendar)
        }
        Ok(proto::LeadTimeClock::WorkingHours) => Ok(LeadClock::WorkingHours),
        Err(_) => Err(bad(
            "clock",
            format!("unknown value {value}: use LEAD_TIME_CLOCK_CALENDAR or _WORKING_HOURS"),
        )),
    }
}

/// The lead-time grouping (everything in one group by default).
pub fn grouping(value: i32) -> Result<Dimension, BadRequest> {
    use proto::LeadTimeGrouping as G;
    match G::try_from(value) {
        Ok(G::Unspecified | G::All) => Ok(Dimension::All),
        Ok(G::Category) => Ok(Dimension::Category),
        Ok(G::Provider) => Ok(Dimension::Provider),
        Ok(G::Expert) => Ok(Dimension::Expert),
        Ok(G::OrganizationType) => Ok(Dimension::OrganizationType),
        Ok(G::Month) => Ok(Dimension::Month),
        Err(_) => Err(bad("group_by", format!("unknown value {value}: use LEAD_TIME_GROUPING_CATEGORY, _PROVIDER, _EXPERT, _ORGANIZATION_TYPE or _MONTH"))),
    }
}

fn matched(c: &Contribution) -> proto::MatchedTerm {
    proto::MatchedTerm {
        term: c.term.to_string(),
        matched: c.matched.to_string(),
        via: c.via.as_str().to_string(),
        contribution: c.contribution,
    }
}

fn ranked(m: &RankedMatch) -> proto::RankedMatch {
    proto::RankedMatch {
        id: m.id.clone(),
        name: m.name.clone(),
        score: m.score,
        matched_terms: m.matched_terms.iter().map(matched).collect(),
        fit_reasons: m.fit_reasons.iter().map(ToString::to_string).collect(),
    }
}

/// An earlier similar question.
pub fn similar(x: &crate::service::Similar) -> proto::SimilarQuestion {
    proto::SimilarQuestion {
        id: x.question.id.to_string(),
        score: x.score,
        lexical_score: x.lexical,
        semantic_score: x.semantic,
        text: x.question.text.clone(),
        status: status_to_proto(x.question.status),
        answer: x
            .question
            .answer
            .as_ref()
            .map(|a| a.text.clone())
            .unwrap_or_default(),
    }
}

/// The full classification of the engine.
pub fn classification(c: &Classification) -> proto::Classification {
    proto::Classification {
        category: c.category.map_or(0, category_to_proto),
        confidence: c.confidence,
        category_scores: c
            .category_scores
            .iter()
            .map(|s| proto::CategoryScore {
                category: category_to_proto(s.category),
                score: s.score,
                matched_terms: s.matched_terms.iter().map(matched).collect(),
            })
            .collect(),
        themes: c
            .themes
            .iter()
            .map(|t| proto::ThemeScore {
                id: t.id.to_string(),
                name: t.name.clone(),
                score: t.score,
                matched_terms: t.matched_terms.iter().map(matched).collect(),
            })
            .collect(),
        knowledge_kind: c.knowledge_kind.map_or(0, knowledge_kind_to_proto),
        providers: c.providers.iter().map(ranked).collect(),
        experts: c.experts.iter().map(ranked).collect(),
        index_version: c.index_version,
        language: c.language.code().to_string(),
        similar: Vec::new(),
    }
}

/// The kind of a question's triage reason, while it has one.
pub fn triage_cause_to_proto(q: &Question) -> i32 {
    use crate::service::TriageCause as C;
    use proto::TriageCause as P;
    let Some(reason) = q.triage_reason.as_deref() else {
        return 0;
    };
    (match C::of(reason) {
        C::NoCategory => P::NoCategory,
        C::LowConfidence => P::LowConfidence,
        C::NoProvider => P::NoProvider,
        C::PossibleDuplicate => P::PossibleDuplicate,
        C::Declined => P::Declined,
        C::Reopened => P::Reopened,
        C::Other => P::Other,
    }) as i32
}

/// What the store kept of a classification. Questions stored with their
/// explanation come back with the scores, matched terms and fit reasons the
/// submit response had; older ones with ids and names only (from the
/// current taxonomy).
pub fn snapshot(s: &ClassificationSnapshot, taxonomy: &Taxonomy) -> proto::Classification {
    let explained = s.explanation.as_ref();
    let scored = |of: fn(&Explanation) -> &Vec<Scored>, id: &str| {
        explained.and_then(|e| of(e).iter().find(|x| x.id == id))
    };
    let ranked = |id: String, name: String, found: Option<&Scored>| match found {
        Some(x) => proto::RankedMatch {
            id,
            name: if x.name.is_empty() {
                name
            } else {
                x.name.clone()
            },
            score: x.score,
            matched_terms: x.terms.iter().map(stored_term).collect(),
            fit_reasons: x.fit_reasons.clone(),
        },
        None => proto::RankedMatch {
            id,
            name,
            ..Default::default()
        },
    };
    proto::Classification {
        category: s.category.map_or(0, category_to_proto),
        confidence: s.confidence,
        category_scores: explained
            .map(|e| {
                e.categories
                    .iter()
                    .filter_map(|c| {
                        let category = c.id.parse::<crate::domain::Category>().ok()?;
                        Some(proto::CategoryScore {
                            category: category_to_proto(category),
                            score: c.score,
                            matched_terms: c.terms.iter().map(stored_term).collect(),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default(),
        themes: s
            .themes
            .iter()
            .map(|t| {
                let name = taxonomy
                    .theme(t)
                    .map(|d| d.name().to_string())
                    .unwrap_or_default();
                let found = scored(|e| &e.themes, t.as_str());
                proto::ThemeScore {
                    id: t.to_string(),
                    name,
                    score: found.map_or(0.0, |x| x.score),
                    matched_terms: found
                        .map(|x| x.terms.iter().map(stored_term).collect())
                        .unwrap_or_default(),
                }
            })
            .collect(),
        knowledge_kind: s.knowledge_kind.map_or(0, knowledge_kind_to_proto),
        providers: s
            .providers
            .iter()
            .map(|p| {
                let name = taxonomy
                    .provider(p)
                    .map(|d| d.name().to_string())
                    .unwrap_or_default();
                ranked(p.to_string(), name, scored(|e| &e.providers, p.as_str()))
            })
            .collect(),
        experts: s
            .experts
            .iter()
            .map(|e| {
                ranked(
                    e.to_string(),
                    String::new(),
                    scored(|x| &x.experts, e.as_str()),
                )
            })
            .collect(),
        index_version: s.index_version,
        language: explained.map(|e| e.language.clone()).unwrap_or_default(),
        similar: Vec::new(),
    }
}

fn stored_term(t: &ScoredTerm) -> proto::MatchedTerm {
    proto::MatchedTerm {
        term: t.term.clone(),
        matched: t.matched.clone(),
        via: t.via.clone(),
        contribution: t.contribution,
    }
}

fn answer(a: &Answer) -> proto::Answer {
    proto::Answer {
        text: a.text.clone(),
        sources: a.sources.clone(),
        review_after: a.review_after_ms.map(timestamp),
        answered_at: Some(timestamp(a.answered_at_ms)),
    }
}

/// A stored question; `full` replaces the stored classification snapshot
/// with the engine's full answer when there is one.
pub fn question(
    q: &Question,
    full: Option<&Classification>,
    taxonomy: &Taxonomy,
) -> proto::Question {
    proto::Question {
        id: q.id.to_string(),
        text: q.text.clone(),
        status: status_to_proto(q.status),
        classification: Some(match full {
            Some(c) => classification(c),
            None => snapshot(&q.classification, taxonomy),
        }),
        provider_id: q
            .provider
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        expert_id: q
            .expert
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        etag: etag_of(q.version),
        submitted_at: Some(timestamp(q.submitted_ms)),
        organization_name: q.organization_name.clone(),
        organization_type: organization_type_to_proto(q.organization_type),
        region: q.region.map(|r| r.to_string()).unwrap_or_default(),
        portal: q.portal.clone(),
        request_id: q.request_id.clone().unwrap_or_default(),
        category: q.category.map_or(0, category_to_proto),
        impact: i32::from(q.impact),
        effort: i32::from(q.effort),
        triage_reason: q.triage_reason.clone().unwrap_or_default(),
        answer: q.answer.as_ref().map(answer),
        duplicate_of: q.duplicate_of.map(|d| d.to_string()).unwrap_or_default(),
        update_time: Some(timestamp(q.updated_ms)),
        similar: Vec::new(),
        triage_cause: triage_cause_to_proto(q),
    }
}

/// One history entry.
pub fn history_event(e: &Event) -> proto::HistoryEvent {
    proto::HistoryEvent {
        seq: e.seq,
        time: Some(timestamp(e.at_ms)),
        actor: e.actor.clone(),
        action: action_to_proto(e.action),
        from_status: e.from.map_or(0, status_to_proto),
        to_status: status_to_proto(e.to),
        reason: e.reason.clone().unwrap_or_default(),
        changes: e
            .changes
            .iter()
            .map(|c| proto::FieldChange {
                field: c.field.clone(),
                before: c.before.clone().unwrap_or_default(),
                after: c.after.clone().unwrap_or_default(),
            })
            .collect(),
        on_behalf_of: e.on_behalf_of.clone().unwrap_or_default(),
    }
}

fn terms_from(list: &[proto::WeightedTerm]) -> BTreeMap<String, f32> {
    list.iter().map(|t| (t.term.clone(), t.weight)).collect()
}

fn terms_to(map: &BTreeMap<String, f32>) -> Vec<proto::WeightedTerm> {
    map.iter()
        .map(|(term, weight)| proto::WeightedTerm {
            term: term.clone(),
            weight: *weight,
        })
        .collect()
}

fn names<T>(
    field: &'static str,
    values: &[i32],
    parse: fn(&'static str, i32) -> Result<Option<T>, BadRequest>,
) -> Result<Vec<T>, BadRequest> {
    values
        .iter()
        .map(|v| {
            parse(field, *v)?
                .ok_or_else(|| bad(field, "contains an _UNSPECIFIED value: leave it out"))
        })
        .collect()
}

/// A provider message as a directory record (validated by the service
/// against the taxonomy).
pub fn provider_record(p: Option<proto::Provider>) -> Result<ProviderRecord, BadRequest> {
    let p = p.ok_or_else(|| bad("provider", "is required"))?;
    let record = ProviderRecord {
        id: p.id.trim().to_string(),
        name: p.name.trim().to_string(),
        description: p.description.trim().to_string(),
        themes: p.themes,
        categories: names("provider.categories", &p.categories, category)?
            .into_iter()
            .map(|c| c.to_string())
            .collect(),
        serves: names("provider.serves", &p.serves, organization_type)?
            .into_iter()
            .map(|c| c.to_string())
            .collect(),
        regions: p.regions,
        terms: terms_from(&p.terms),
    };
    record.check_text()?;
    Ok(record)
}

/// A directory record as a provider message.
pub fn provider(r: &ProviderRecord) -> proto::Provider {
    proto::Provider {
        id: r.id.clone(),
        name: r.name.clone(),
        description: r.description.clone(),
        themes: r.themes.clone(),
        categories: r
            .categories
            .iter()
            .filter_map(|c| c.parse().ok().map(category_to_proto))
            .collect(),
        serves: r
            .serves
            .iter()
            .filter_map(|c| c.parse().ok().map(organization_type_to_proto))
            .collect(),
        regions: r.regions.clone(),
        terms: terms_to(&r.terms),
    }
}

/// An expert message as a directory record (validated by the service).
pub fn expert_record(e: proto::Expert) -> Result<ExpertRecord, BadRequest> {
    let record = ExpertRecord {
        id: e.id.trim().to_string(),
        name: e.name.trim().to_string(),
        organization: e.organization.trim().to_string(),
        organization_type: organization_type("expert.organization_type", e.organization_type)?
            .unwrap_or(OrganizationType::Other)
            .to_string(),
        region: region(&e.region)?.map(|r| r.to_string()),
        expertise: Expertise::Weighted(terms_from(&e.expertise)),
        themes: e.themes,
        categories: names("expert.categories", &e.categories, category)?
            .into_iter()
            .map(|c| c.to_string())
            .collect(),
        capacity: if e.capacity == 0 { 3 } else { e.capacity },
        available: e.available.unwrap_or(true),
        absences: e
            .absences
            .into_iter()
            .map(|a| crate::domain::AbsenceRecord {
                from: a.from,
                to: a.to,
                reason: a.reason,
            })
            .collect(),
    };
    record.check_text()?;
    Ok(record)
}

/// A directory record as an expert message.
pub fn expert(r: &ExpertRecord) -> proto::Expert {
    let expertise = match &r.expertise {
        Expertise::List(terms) => terms.iter().map(|t| (t.clone(), 1.0)).collect(),
        Expertise::Weighted(map) => map.clone(),
    };
    proto::Expert {
        id: r.id.clone(),
        name: r.name.clone(),
        organization: r.organization.clone(),
        organization_type: r
            .organization_type
            .parse()
            .map_or(0, organization_type_to_proto),
        region: r.region.clone().unwrap_or_default(),
        expertise: terms_to(&expertise),
        themes: r.themes.clone(),
        categories: r
            .categories
            .iter()
            .filter_map(|c| c.parse().ok().map(category_to_proto))
            .collect(),
        capacity: r.capacity,
        available: Some(r.available),
        absences: r
            .absences
            .iter()
            .map(|a| proto::Absence {
                from: a.from.clone(),
                to: a.to.clone(),
                reason: a.reason.clone(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_domain_value_has_a_wire_twin_and_back() {
        for c in Category::ALL {
            assert_eq!(category("c", category_to_proto(*c)), Ok(Some(*c)));
        }
        for t in OrganizationType::ALL {
            assert_eq!(
                organization_type("t", organization_type_to_proto(*t)),
                Ok(Some(*t))
            );
        }
        for k in KnowledgeKind::ALL {
            assert_eq!(
                knowledge_kind("k", knowledge_kind_to_proto(*k)),
                Ok(Some(*k))
            );
        }
        for s in Status::ALL {
            assert_eq!(status("s", status_to_proto(s)), Ok(Some(s)));
        }
        for a in ActionKind::ALL {
            assert_ne!(action_to_proto(Some(a)), 0, "{a}");
        }
    }

    #[test]
    fn unspecified_is_absent_and_unknown_values_list_the_allowed_ones() {
        assert_eq!(category("category", 0), Ok(None));
        let err = category("category", 42).unwrap_err().to_string();
        assert!(err.contains("category: unknown value 42"), "{err}");
        assert!(err.contains("CATEGORY_STRATEGY"), "{err}");
    }

    #[test]
    fn etags_round_trip_and_garbage_is_refused() {
        assert_eq!(etag(&etag_of(7)), Ok(Some(7)));
        assert_eq!(etag(""), Ok(None));
        assert!(etag("abc").is_err());
    }

    #[test]
    fn months_must_be_written_as_year_dash_month() {
        assert_eq!(month("m", "2026-03"), Ok(Some(202603)));
        assert_eq!(month("m", ""), Ok(None));
        for wrong in ["2026-13", "2026-3", "26-03", "march"] {
            assert!(month("m", wrong).is_err(), "{wrong}");
        }
    }

    #[test]
    fn timestamps_and_millis_round_trip() {
        for ms in [0, 1, 999, 1_700_000_000_123, -1] {
            assert_eq!(millis("t", &timestamp(ms)), Ok(ms));
        }
    }
}
