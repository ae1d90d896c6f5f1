//! Wire values as people and scripts read them: enum values by their short
//! name, times as RFC 3339, durations in milliseconds or as `3d 4h`.
//!
//! Both the tables and the JSON of the remote commands use these, so a
//! value reads the same in either.

use crate::grpc::proto;

/// A wire enum's name without its prefix (`STATUS_TRIAGE` → `TRIAGE`).
fn short_name(full: &str, prefix: &str) -> String {
    full.strip_prefix(prefix).unwrap_or(full).to_string()
}

/// A status by name; a value this client does not know by its number.
pub(super) fn status_name(v: i32) -> String {
    proto::Status::try_from(v).map_or(v.to_string(), |s| short_name(s.as_str_name(), "STATUS_"))
}

/// A category by name; a value this client does not know by its number.
pub(super) fn category_name(v: i32) -> String {
    proto::Category::try_from(v).map_or(v.to_string(), |s| short_name(s.as_str_name(), "CATEGORY_"))
}

/// An organisation type by name; an unknown value by its number.
pub(super) fn org_type_name(v: i32) -> String {
    proto::OrganizationType::try_from(v).map_or(v.to_string(), |s| {
        short_name(s.as_str_name(), "ORGANIZATION_TYPE_")
    })
}

/// An action by name; an unknown value by its number.
pub(super) fn action_name(v: i32) -> String {
    proto::Action::try_from(v).map_or(v.to_string(), |s| short_name(s.as_str_name(), "ACTION_"))
}

/// A knowledge kind by name, or `None` when unspecified or unknown.
pub(super) fn knowledge_kind_name(v: i32) -> Option<String> {
    proto::KnowledgeKind::try_from(v)
        .ok()
        .filter(|k| *k != proto::KnowledgeKind::Unspecified)
        .map(|k| short_name(k.as_str_name(), "KNOWLEDGE_KIND_"))
}

/// A timestamp as RFC 3339 (UTC), or `-`.
pub(super) fn time_text(t: Option<&prost_types::Timestamp>) -> String {
    t.and_then(|t| jiff::Timestamp::new(t.seconds, t.nanos).ok())
        .map_or("-".to_string(), |t| {
            t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
        })
}

/// A duration in whole milliseconds; absent is 0.
pub(super) fn millis(d: Option<&prost_types::Duration>) -> i64 {
    d.map_or(0, |d| d.seconds * 1000 + i64::from(d.nanos / 1_000_000))
}

/// A duration for people: `3d 4h`, `2h 5m`, `40s`.
pub(super) fn duration_text(d: Option<&prost_types::Duration>) -> String {
    let s = millis(d) / 1000;
    match s {
        s if s >= 86_400 => format!("{}d {}h", s / 86_400, s % 86_400 / 3600),
        s if s >= 3600 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        s if s >= 60 => format!("{}m {}s", s / 60, s % 60),
        s => format!("{s}s"),
    }
}
