//! The first routing decision: assign at once when the engine is sure
//! enough, otherwise leave the question to the core team and say why.

use crate::domain::{ExpertId, ProviderId};
use crate::engine::Classification;
use crate::store::Decision;
use serde::Deserialize;

/// When a classification is confident enough to assign without the core
/// team. Set in the config file's `[routing]` table.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RoutingPolicy {
    /// Lowest category confidence (0..1) that is routed automatically.
    pub min_confidence: f32,
    /// Lowest score of the best provider that is routed automatically.
    pub min_provider_score: f32,
    /// Lowest score of the best expert that gets the question personally
    /// (otherwise it goes to the provider).
    pub min_expert_score: f32,
}

impl Default for RoutingPolicy {
    fn default() -> Self {
        // Measured on the independent hold-out set (docs/design.md,
        // "Routing policy"): at 0.4, 85 % of questions route themselves
        // with 88 % of their categories right; below it only a third are.
        RoutingPolicy {
            min_confidence: 0.4,
            min_provider_score: 1.0,
            min_expert_score: 1.0,
        }
    }
}

impl RoutingPolicy {
    /// Checks the knobs, saying which one is wrong.
    pub fn check(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.min_confidence) {
            return Err(format!(
                "routing.min_confidence = {} must be between 0 and 1",
                self.min_confidence
            ));
        }
        for (name, v) in [
            ("min_provider_score", self.min_provider_score),
            ("min_expert_score", self.min_expert_score),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(format!(
                    "routing.{name} = {v} must be a number of at least 0"
                ));
            }
        }
        Ok(())
    }

    /// Route or triage, with the reason a human reads in the queue (its
    /// kind is read back by [`TriageCause::of`]).
    pub fn decide(&self, c: &Classification) -> Decision {
        let triage = |reason: String| Decision::Triage { reason };
        let Some(category) = c.category else {
            return triage(format!(
                "{NO_CATEGORY}: none of the taxonomy's terms occur in the question"
            ));
        };
        if c.confidence < self.min_confidence {
            return triage(format!(
                "category {category} {UNCERTAIN}: confidence {:.2} is below {:.2}",
                c.confidence, self.min_confidence
            ));
        }
        let Some(best) = c.providers.first() else {
            return triage(format!("{NO_PROVIDER} this {category} question"));
        };
        if best.score < self.min_provider_score {
            return triage(format!(
                "{WEAK_PROVIDER} {} scores {:.2}, below {:.2}",
                best.id, best.score, self.min_provider_score
            ));
        }
        let Ok(provider) = ProviderId::parse(&best.id) else {
            return triage(format!("provider id `{}` is not valid", best.id));
        };
        let expert = c
            .experts
            .first()
            .filter(|e| e.score >= self.min_expert_score)
            .and_then(|e| ExpertId::parse(&e.id).ok());
        Decision::Route {
            provider: Some(provider),
            expert,
        }
    }
}

/// Words of the triage reasons, shared by the policy that writes them and
/// [`TriageCause::of`] that reads them back.
const NO_CATEGORY: &str = "no evidence for any category";
const UNCERTAIN: &str = "is uncertain";
const NO_PROVIDER: &str = "no provider matches";
const WEAK_PROVIDER: &str = "best provider";
/// The start of the reason of a question sent to triage as a possible
/// duplicate of an answered one.
pub(super) const ANSWERED_BEFORE: &str = "asked and answered before";
/// The start of the reason of a reopened question, back in triage.
pub(super) const REOPENED: &str = "reopened";

/// Why a question waits in triage, in few enough kinds to count (the
/// metrics' `cause` label) and to show (the queue's `cause`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TriageCause {
    /// No term of any category occurs in it.
    NoCategory,
    /// Its category's confidence is below `min_confidence`.
    LowConfidence,
    /// No provider matches, or the best is below `min_provider_score`.
    NoProvider,
    /// An answered earlier question is this similar.
    PossibleDuplicate,
    /// Its assignee gave it back.
    Declined,
    /// It was reopened after an answer.
    Reopened,
    /// Anything else (a provider id the directory cannot use).
    Other,
}

impl TriageCause {
    /// The kind of a triage reason the service wrote.
    pub fn of(reason: &str) -> TriageCause {
        if reason.starts_with(ANSWERED_BEFORE) {
            TriageCause::PossibleDuplicate
        } else if reason.starts_with(crate::store::transition::DECLINED) {
            TriageCause::Declined
        } else if reason.starts_with(REOPENED) {
            TriageCause::Reopened
        } else if reason.starts_with(NO_CATEGORY) {
            TriageCause::NoCategory
        } else if reason.starts_with("category ") && reason.contains(UNCERTAIN) {
            TriageCause::LowConfidence
        } else if reason.starts_with(NO_PROVIDER) || reason.starts_with(WEAK_PROVIDER) {
            TriageCause::NoProvider
        } else {
            TriageCause::Other
        }
    }

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            TriageCause::NoCategory => "no_category",
            TriageCause::LowConfidence => "low_confidence",
            TriageCause::NoProvider => "no_provider",
            TriageCause::PossibleDuplicate => "possible_duplicate",
            TriageCause::Declined => "declined",
            TriageCause::Reopened => "reopened",
            TriageCause::Other => "other",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::Analyzer;
    use crate::engine::{Engine, Query};
    use crate::taxonomy::Taxonomy;

    fn cause(policy: &RoutingPolicy, text: &str) -> Option<TriageCause> {
        let taxonomy = Taxonomy::embedded(&Analyzer::new()).unwrap();
        let engine = Engine::new(taxonomy, Vec::new()).unwrap();
        let c = engine.classify(&Query {
            text,
            organization_type: None,
            region: None,
            language: None,
        });
        match policy.decide(&c) {
            Decision::Triage { reason } => Some(TriageCause::of(&reason)),
            Decision::Route { .. } => None,
        }
    }

    const CLEAR: &str = "Welke criteria gebruiken we bij circulaire aanbestedingen?";

    #[test]
    fn each_reason_the_policy_writes_is_read_back_as_its_cause() {
        let default = RoutingPolicy::default();
        assert_eq!(
            cause(&default, "Wat is het eigenlijk?"),
            Some(TriageCause::NoCategory)
        );
        let unsure = RoutingPolicy {
            min_confidence: 1.01,
            ..default.clone()
        };
        assert_eq!(cause(&unsure, CLEAR), Some(TriageCause::LowConfidence));
        let picky = RoutingPolicy {
            min_confidence: 0.0,
            min_provider_score: 1e9,
            ..default.clone()
        };
        assert_eq!(cause(&picky, CLEAR), Some(TriageCause::NoProvider));
        assert_eq!(cause(&default, CLEAR), None);
        assert_eq!(
            TriageCause::of(&format!("{ANSWERED_BEFORE}: q7 (similarity 0.91)")),
            TriageCause::PossibleDuplicate
        );
        assert_eq!(
            TriageCause::of("reopened: new rules"),
            TriageCause::Reopened
        );
        assert_eq!(TriageCause::of("declined: not ours"), TriageCause::Declined);
        assert_eq!(
            TriageCause::of("provider id `x y` is not valid"),
            TriageCause::Other
        );
    }
}
