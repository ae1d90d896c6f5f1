//! Test fixtures shared by the store's unit tests: a new question, the
//! two first decisions and a change by the core team.

use super::model::*;
use crate::domain::{Category, OrganizationType, ProviderId, Province};

/// Monday 2 March 2026, 10:00 Amsterdam (09:00 UTC).
pub const T0: i64 = 1_772_442_000_000;
/// An hour in milliseconds.
pub const HOUR: i64 = 3_600_000;

pub fn pid(s: &str) -> ProviderId {
    ProviderId::parse(s).unwrap()
}

pub fn new_question(text: &str, decision: Decision) -> NewQuestion {
    NewQuestion {
        text: text.to_string(),
        organization_name: "Gemeente Zwolle".into(),
        organization_type: OrganizationType::Gemeente,
        region: Some(Province::Overijssel),
        portal: "test".into(),
        request_id: None,
        classification: ClassificationSnapshot {
            category: Some(Category::Specific),
            confidence: 0.8,
            providers: vec![pid("pianoo")],
            index_version: 3,
            ..ClassificationSnapshot::default()
        },
        decision,
        impact: 3,
        effort: 3,
        actor: "portal".into(),
    }
}

pub fn routed() -> Decision {
    Decision::Route {
        provider: Some(pid("pianoo")),
        expert: None,
    }
}

pub fn triage() -> Decision {
    Decision::Triage {
        reason: "low confidence".into(),
    }
}

pub fn act(action: Action) -> Change {
    Change {
        action,
        actor: "kernteam".into(),
        reason: None,
        expected_version: None,
    }
}
