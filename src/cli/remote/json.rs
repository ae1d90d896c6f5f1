//! The API's messages as JSON for `--json`: enum values by name, times as
//! RFC 3339, durations in milliseconds (see `wire`), so scripts
//! need no proto files.

use super::wire::{
    action_name, category_name, knowledge_kind_name, millis, org_type_name, status_name, time_text,
};
use crate::grpc::proto;
use serde_json::{json, Value};

fn enum_or_null(v: i32, name: fn(i32) -> String) -> Value {
    if v == 0 {
        Value::Null
    } else {
        Value::String(name(v))
    }
}

fn matched(t: &proto::MatchedTerm) -> Value {
    json!({"term": t.term, "matched": t.matched, "via": t.via, "contribution": t.contribution})
}

fn ranked(m: &proto::RankedMatch) -> Value {
    json!({
        "id": m.id, "name": m.name, "score": m.score,
        "matched_terms": m.matched_terms.iter().map(matched).collect::<Vec<_>>(),
        "fit_reasons": m.fit_reasons,
    })
}

/// A classification.
pub fn classification(c: &proto::Classification) -> Value {
    json!({
        "category": enum_or_null(c.category, category_name),
        "confidence": c.confidence,
        "category_scores": c.category_scores.iter().map(|s| json!({
            "category": category_name(s.category), "score": s.score,
            "matched_terms": s.matched_terms.iter().map(matched).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "themes": c.themes.iter().map(|t| json!({
            "id": t.id, "name": t.name, "score": t.score,
            "matched_terms": t.matched_terms.iter().map(matched).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "knowledge_kind": knowledge_kind_name(c.knowledge_kind),
        "providers": c.providers.iter().map(ranked).collect::<Vec<_>>(),
        "experts": c.experts.iter().map(ranked).collect::<Vec<_>>(),
        "index_version": c.index_version,
        "language": c.language,
        "similar": c.similar.iter().map(similar).collect::<Vec<_>>(),
    })
}

/// A question.
pub fn question(q: &proto::Question) -> Value {
    json!({
        "id": q.id,
        "status": status_name(q.status),
        "etag": q.etag,
        "text": q.text,
        "organization_name": q.organization_name,
        "organization_type": org_type_name(q.organization_type),
        "region": q.region,
        "portal": q.portal,
        "request_id": q.request_id,
        "submitted_at": time_text(q.submitted_at.as_ref()),
        "update_time": time_text(q.update_time.as_ref()),
        "category": enum_or_null(q.category, category_name),
        "provider_id": q.provider_id,
        "expert_id": q.expert_id,
        "impact": q.impact,
        "effort": q.effort,
        "triage_reason": q.triage_reason,
        "duplicate_of": q.duplicate_of,
        "classification": q.classification.as_ref().map(classification),
        "similar": q.similar.iter().map(similar).collect::<Vec<_>>(),
        "answer": q.answer.as_ref().map(|a| json!({
            "text": a.text, "sources": a.sources,
            "review_after": a.review_after.as_ref().map(|t| time_text(Some(t))),
            "answered_at": time_text(a.answered_at.as_ref()),
        })),
    })
}

/// A history entry.
pub fn history_event(e: &proto::HistoryEvent) -> Value {
    json!({
        "seq": e.seq,
        "time": time_text(e.time.as_ref()),
        "actor": e.actor,
        "on_behalf_of": e.on_behalf_of,
        "action": enum_or_null(e.action, action_name),
        "from": enum_or_null(e.from_status, status_name),
        "to": status_name(e.to_status),
        "reason": e.reason,
        "changes": e.changes.iter().map(|c| json!({"field": c.field, "before": c.before, "after": c.after})).collect::<Vec<_>>(),
    })
}

/// A triage queue entry.
pub fn queue_entry(e: &proto::QueueEntry) -> Value {
    json!({
        "priority": e.priority,
        "reason": e.reason,
        "question": e.question.as_ref().map(question),
    })
}

/// A provider.
pub fn provider(p: &proto::Provider) -> Value {
    json!({
        "id": p.id, "name": p.name, "description": p.description, "themes": p.themes,
        "categories": p.categories.iter().map(|c| category_name(*c)).collect::<Vec<_>>(),
        "serves": p.serves.iter().map(|t| org_type_name(*t)).collect::<Vec<_>>(),
        "regions": p.regions,
        "terms": p.terms.iter().map(|t| (t.term.clone(), json!(t.weight))).collect::<serde_json::Map<_, _>>(),
    })
}

/// An expert.
pub fn expert(e: &proto::Expert) -> Value {
    json!({
        "id": e.id, "name": e.name, "organization": e.organization,
        "organization_type": org_type_name(e.organization_type),
        "region": e.region,
        "expertise": e.expertise.iter().map(|t| (t.term.clone(), json!(t.weight))).collect::<serde_json::Map<_, _>>(),
        "themes": e.themes,
        "categories": e.categories.iter().map(|c| category_name(*c)).collect::<Vec<_>>(),
        "capacity": e.capacity,
        "available": e.available.unwrap_or(true),
    })
}

/// A lead-time group (durations in milliseconds).
pub fn lead_time_group(g: &proto::LeadTimeGroup) -> Value {
    json!({
        "group": g.group, "count": g.count,
        "mean_ms": millis(g.mean.as_ref()), "p50_ms": millis(g.p50.as_ref()),
        "p90_ms": millis(g.p90.as_ref()), "p99_ms": millis(g.p99.as_ref()),
        "max_ms": millis(g.max.as_ref()),
    })
}

/// A queue statistic (ages in milliseconds).
pub fn queue_stat(s: &proto::QueueStat) -> Value {
    json!({
        "status": status_name(s.status),
        "category": enum_or_null(s.category, category_name),
        "count": s.count,
        "median_age_ms": millis(s.median_age.as_ref()),
        "oldest_age_ms": millis(s.oldest_age.as_ref()),
    })
}

/// A status event.
pub fn question_event(e: &proto::QuestionEvent) -> Value {
    json!({
        "question_id": e.question_id,
        "time": time_text(e.time.as_ref()),
        "action": enum_or_null(e.action, action_name),
        "from": enum_or_null(e.from_status, status_name),
        "to": status_name(e.to_status),
        "category": enum_or_null(e.category, category_name),
        "provider_id": e.provider_id,
        "expert_id": e.expert_id,
        "actor": e.actor,
        "on_behalf_of": e.on_behalf_of,
        "etag": e.etag,
    })
}

/// A learned term.
pub fn learned_term(t: &proto::LearnedTerm) -> Value {
    json!({
        "stem": t.stem, "word": t.word, "questions": t.questions,
        "weights": t.weights.iter().map(|w| json!({
            "target_kind": w.target_kind, "target_id": w.target_id,
            "weight": w.weight, "decisions": w.decisions,
        })).collect::<Vec<_>>(),
    })
}

/// An earlier similar question.
pub fn similar(x: &proto::SimilarQuestion) -> Value {
    json!({
        "id": x.id, "score": x.score, "lexical_score": x.lexical_score,
        "semantic_score": x.semantic_score, "text": x.text,
        "status": status_name(x.status), "answer": x.answer,
    })
}

/// A knowledge gap.
pub fn gap(g: &proto::KnowledgeGap) -> Value {
    json!({
        "theme": g.theme, "theme_name": g.theme_name,
        "category": enum_or_null(g.category, category_name),
        "questions": g.questions, "unanswered": g.unanswered, "unconfident": g.unconfident,
        "organization_types": g.organization_types.iter().map(|t| json!({
            "organization_type": org_type_name(t.organization_type), "questions": t.questions,
        })).collect::<Vec<_>>(),
        "examples": g.examples.iter().map(question).collect::<Vec<_>>(),
    })
}
