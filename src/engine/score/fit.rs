//! Fit: the factors a provider's or expert's evidence is multiplied by
//! (handles the predicted category, serves the asker's organisation type,
//! region, same organisation type), each rule written beside the largest
//! factor it can give.
//!
//! Ranking skips a candidate whose evidence cannot reach the last listed
//! place even with the largest possible fit, so that bound must cover every
//! rule. Keeping each rule and its bound in one table entry, and computing
//! fits and bounds from the same table in the same order, keeps them in
//! step; a test checks every rule against its bound.

use crate::domain::{Category, OrganizationType, Province};
use crate::index::ExpertTraits;
use crate::taxonomy::{ProviderDef, Scoring};
use serde::Serialize;

/// One factor of a provider's or expert's fit, with the reason for it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum FitReason {
    /// Handles the question's (predicted) category.
    HandlesCategory {
        /// The category.
        category: Category,
        /// The factor, growing with the category's confidence.
        factor: f32,
    },
    /// Serves the asker's type of organisation.
    Serves {
        /// The asker's type.
        organization_type: OrganizationType,
        /// The factor.
        factor: f32,
    },
    /// Serves other types of organisation only.
    DoesNotServe {
        /// The asker's type.
        organization_type: OrganizationType,
        /// The factor.
        factor: f32,
    },
    /// Works in the asker's province.
    InProvince {
        /// The province.
        province: Province,
        /// The factor.
        factor: f32,
    },
    /// A regional provider outside the asker's province.
    OutsideProvince {
        /// The asker's province.
        province: Province,
        /// The factor.
        factor: f32,
    },
    /// A regional provider while the asker's province is not known.
    ProvinceUnknown {
        /// The factor.
        factor: f32,
    },
    /// An expert working at the same type of organisation as the asker.
    SameOrganizationType {
        /// The shared type.
        organization_type: OrganizationType,
        /// The factor.
        factor: f32,
    },
}

impl FitReason {
    /// The factor this reason multiplies the fit by.
    #[inline]
    pub(super) fn factor(&self) -> f32 {
        match *self {
            FitReason::HandlesCategory { factor, .. }
            | FitReason::Serves { factor, .. }
            | FitReason::DoesNotServe { factor, .. }
            | FitReason::InProvince { factor, .. }
            | FitReason::OutsideProvince { factor, .. }
            | FitReason::ProvinceUnknown { factor }
            | FitReason::SameOrganizationType { factor, .. } => factor,
        }
    }
}

impl std::fmt::Display for FitReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FitReason::HandlesCategory { category, factor } => {
                write!(f, "handles {category} ×{factor:.2}")
            }
            FitReason::Serves {
                organization_type,
                factor,
            } => write!(f, "serves {organization_type} ×{factor:.2}"),
            FitReason::DoesNotServe {
                organization_type,
                factor,
            } => {
                write!(f, "does not serve {organization_type} ×{factor:.2}")
            }
            FitReason::InProvince { province, factor } => {
                write!(f, "works in {province} ×{factor:.2}")
            }
            FitReason::OutsideProvince { province, factor } => {
                write!(f, "regional, not in {province} ×{factor:.2}")
            }
            FitReason::ProvinceUnknown { factor } => {
                write!(f, "regional, asker's province unknown ×{factor:.2}")
            }
            FitReason::SameOrganizationType {
                organization_type,
                factor,
            } => {
                write!(f, "also works at a {organization_type} ×{factor:.2}")
            }
        }
    }
}

/// What a fit depends on besides the candidate: the scoring knobs, the
/// predicted category and what is known about the asker.
#[derive(Debug, Clone, Copy)]
pub(super) struct Asker<'a> {
    /// The taxonomy's scoring knobs.
    pub(super) scoring: &'a Scoring,
    /// The predicted category with its confidence (0 to 1).
    pub(super) category: Option<(Category, f32)>,
    /// The asker's type of organisation, if known.
    pub(super) organization_type: Option<OrganizationType>,
    /// The asker's province, if known.
    pub(super) region: Option<Province>,
}

/// One rule of a fit, beside the largest factor it can give.
struct Rule<C> {
    /// The factor with its reason; `None` when the rule does not apply,
    /// which leaves the fit as it is (factor 1).
    factor: fn(&Asker<'_>, &C) -> Option<FitReason>,
    /// The largest factor `factor` can give under these knobs, and at
    /// least 1 (the rule not applying).
    bound: fn(&Scoring) -> f32,
}

/// The rules of a provider's fit, in the order their factors multiply.
const PROVIDER_RULES: [Rule<ProviderDef>; 3] = [
    Rule {
        factor: |a, p| handles_category(a, |c| p.categories.contains(&c)),
        bound: category_bound,
    },
    // A provider that lists whom it serves either serves the asker or
    // does not; one that lists nobody serves everybody alike.
    Rule {
        factor: |a, p| {
            let org = a.organization_type?;
            if p.serves.contains(&org) {
                Some(FitReason::Serves {
                    organization_type: org,
                    factor: a.scoring.serves_factor,
                })
            } else if !p.serves.is_empty() {
                Some(FitReason::DoesNotServe {
                    organization_type: org,
                    factor: a.scoring.not_served_factor,
                })
            } else {
                None
            }
        },
        bound: |s| s.serves_factor.max(s.not_served_factor).max(1.0),
    },
    // Only regional providers (those listing provinces) are steered by
    // the asker's province.
    Rule {
        factor: |a, p| {
            if p.regions.is_empty() {
                return None;
            }
            Some(match a.region {
                Some(r) if p.regions.contains(&r) => FitReason::InProvince {
                    province: r,
                    factor: a.scoring.same_region_factor,
                },
                Some(r) => FitReason::OutsideProvince {
                    province: r,
                    factor: a.scoring.other_region_factor,
                },
                None => FitReason::ProvinceUnknown {
                    factor: a.scoring.unknown_region_factor,
                },
            })
        },
        bound: |s| {
            s.same_region_factor
                .max(s.other_region_factor)
                .max(s.unknown_region_factor)
                .max(1.0)
        },
    },
];

/// The rules of an (available) expert's fit, in the order their factors
/// multiply. The compact traits, not the `Expert` record: thousands of
/// candidates are weighed per question, and the records are large and
/// scattered in memory.
const EXPERT_RULES: [Rule<ExpertTraits>; 3] = [
    Rule {
        factor: |a, e| handles_category(a, |c| e.handles(c)),
        bound: category_bound,
    },
    Rule {
        factor: |a, e| {
            if a.organization_type != Some(e.organization_type) {
                return None;
            }
            Some(FitReason::SameOrganizationType {
                organization_type: e.organization_type,
                factor: a.scoring.same_org_type_factor,
            })
        },
        bound: |s| s.same_org_type_factor.max(1.0),
    },
    // Experts are only favoured inside the asker's province, never
    // penalised outside it.
    Rule {
        factor: |a, e| match (a.region, e.region) {
            (Some(asker), Some(region)) if asker == region => Some(FitReason::InProvince {
                province: region,
                factor: a.scoring.same_region_factor,
            }),
            _ => None,
        },
        bound: |s| s.same_region_factor.max(1.0),
    },
];

/// The category rule shared by providers and experts: handling the
/// predicted category counts more the more confident the prediction.
fn handles_category(a: &Asker<'_>, handles: impl FnOnce(Category) -> bool) -> Option<FitReason> {
    let (category, confidence) = a.category?;
    if !handles(category) {
        return None;
    }
    Some(FitReason::HandlesCategory {
        category,
        factor: 1.0 + a.scoring.category_weight * confidence,
    })
}

/// The category rule's bound: confidence is at most 1.
fn category_bound(s: &Scoring) -> f32 {
    1.0 + s.category_weight.max(0.0)
}

/// The product of the rules' factors, with their reasons when `explain`:
/// thousands of candidates are weighed for every listed one, so reasons are
/// only written for those.
#[inline]
fn fit<C>(
    rules: &[Rule<C>],
    asker: &Asker<'_>,
    candidate: &C,
    explain: bool,
) -> (f32, Vec<FitReason>) {
    let mut fit = 1.0f32;
    let mut reasons = Vec::new();
    for rule in rules {
        if let Some(reason) = (rule.factor)(asker, candidate) {
            fit *= reason.factor();
            if explain {
                reasons.push(reason);
            }
        }
    }
    (fit, reasons)
}

/// The largest fit the rules can give: the product of their bounds, in the
/// order [`fit`] multiplies, so that no fit can round above it.
fn max_fit<C>(rules: &[Rule<C>], scoring: &Scoring) -> f32 {
    rules
        .iter()
        .fold(1.0, |max, rule| max * (rule.bound)(scoring))
}

/// A provider's fit and, when `explain`, its reasons.
pub(super) fn provider(
    asker: &Asker<'_>,
    p: &ProviderDef,
    explain: bool,
) -> Option<(f32, Vec<FitReason>)> {
    Some(fit(&PROVIDER_RULES, asker, p, explain))
}

/// An expert's fit and, when `explain`, its reasons; `None` for an expert
/// who takes no questions now.
pub(super) fn expert(
    asker: &Asker<'_>,
    e: &ExpertTraits,
    explain: bool,
) -> Option<(f32, Vec<FitReason>)> {
    if !e.available {
        return None;
    }
    Some(fit(&EXPERT_RULES, asker, e, explain))
}

/// The largest fit any provider can have.
pub(super) fn provider_max(scoring: &Scoring) -> f32 {
    max_fit(&PROVIDER_RULES, scoring)
}

/// The largest fit any expert can have.
pub(super) fn expert_max(scoring: &Scoring) -> f32 {
    max_fit(&EXPERT_RULES, scoring)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::Analyzer;
    use crate::taxonomy::Taxonomy;

    /// The default knobs and two extremes: every factor a penalty, and
    /// every factor a bonus (with a category weight that lowers the fit).
    fn scorings() -> Vec<Scoring> {
        let low = Scoring {
            category_weight: 0.5,
            serves_factor: 0.4,
            not_served_factor: 0.2,
            other_region_factor: 0.1,
            unknown_region_factor: 0.3,
            same_region_factor: 0.7,
            same_org_type_factor: 0.8,
            ..Scoring::default()
        };
        let high = Scoring {
            category_weight: -0.5,
            serves_factor: 2.0,
            not_served_factor: 3.0,
            other_region_factor: 1.5,
            unknown_region_factor: 4.0,
            same_region_factor: 2.5,
            same_org_type_factor: 3.5,
            ..Scoring::default()
        };
        vec![Scoring::default(), low, high]
    }

    /// Every combination of what can be known about an asker.
    fn askers(scoring: &Scoring) -> Vec<Asker<'_>> {
        let mut categories = vec![None];
        for &c in Category::ALL {
            for confidence in [0.0, 0.3, 1.0] {
                categories.push(Some((c, confidence)));
            }
        }
        let orgs = std::iter::once(None).chain(OrganizationType::ALL.iter().copied().map(Some));
        let mut out = Vec::new();
        for org in orgs {
            for region in std::iter::once(None).chain(Province::ALL.iter().copied().map(Some)) {
                for &category in &categories {
                    out.push(Asker {
                        scoring,
                        category,
                        organization_type: org,
                        region,
                    });
                }
            }
        }
        out
    }

    /// Checks every rule against its bound, and the whole fit against the
    /// product of the bounds, for one candidate.
    fn check<C: std::fmt::Debug>(rules: &[Rule<C>], asker: &Asker<'_>, candidate: &C) {
        for (n, rule) in rules.iter().enumerate() {
            let bound = (rule.bound)(asker.scoring);
            assert!(bound >= 1.0, "rule {n}'s bound {bound} is below 1");
            if let Some(reason) = (rule.factor)(asker, candidate) {
                assert!(
                    reason.factor() <= bound,
                    "rule {n} gave {reason} above its bound {bound} for {candidate:?}, {asker:?}"
                );
            }
        }
        let (fit, reasons) = fit(rules, asker, candidate, true);
        let max = max_fit(rules, asker.scoring);
        assert!(fit <= max, "fit {fit} above {max}: {reasons:?}");
        let product = reasons.iter().fold(1.0, |p, r| p * r.factor());
        assert_eq!(fit, product, "the reasons multiply to the fit");
    }

    #[test]
    fn every_fit_rule_stays_within_its_bound() {
        let analyzer = Analyzer::new();
        let taxonomy = Taxonomy::embedded(&analyzer).unwrap();
        let experts: Vec<ExpertTraits> = crate::synth::experts(&taxonomy, 60, 7)
            .iter()
            .map(ExpertTraits::of)
            .collect();
        assert!(!taxonomy.providers().is_empty());
        for scoring in scorings() {
            for asker in askers(&scoring) {
                for p in taxonomy.providers() {
                    check(&PROVIDER_RULES, &asker, p);
                }
                for e in &experts {
                    check(&EXPERT_RULES, &asker, e);
                }
            }
        }
    }

    #[test]
    fn without_explanation_the_fit_is_the_same_and_has_no_reasons() {
        let analyzer = Analyzer::new();
        let taxonomy = Taxonomy::embedded(&analyzer).unwrap();
        let scoring = Scoring::default();
        for asker in askers(&scoring) {
            for p in taxonomy.providers() {
                let (quiet, none) = provider(&asker, p, false).unwrap();
                let (explained, _) = provider(&asker, p, true).unwrap();
                assert_eq!(quiet, explained);
                assert!(none.is_empty());
            }
        }
    }
}
