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

    /// Route or triage, with the reason a human reads in the queue.
    pub fn decide(&self, c: &Classification) -> Decision {
        let triage = |reason: String| Decision::Triage { reason };
        let Some(category) = c.category else {
            return triage(
                "no evidence for any category: none of the taxonomy's terms occur in the question"
                    .into(),
            );
        };
        if c.confidence < self.min_confidence {
            return triage(format!(
                "category {category} is uncertain: confidence {:.2} is below {:.2}",
                c.confidence, self.min_confidence
            ));
        }
        let Some(best) = c.providers.first() else {
            return triage(format!("no provider matches this {category} question"));
        };
        if best.score < self.min_provider_score {
            return triage(format!(
                "best provider {} scores {:.2}, below {:.2}",
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
