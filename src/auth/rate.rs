//! How often each client may call: a rate per role, kept per client by
//! `governor` (GCRA, the algorithm behind `tower_governor`).
//!
//! `tower_governor` itself keys by peer address or header and answers
//! HTTP 429; kicer keys by the authenticated client and must answer a
//! gRPC status, so it uses the limiter directly after authentication.

use super::{Principal, Role};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use serde::Deserialize;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

/// Requests per second each client of a role may make; a burst of one
/// second's worth is allowed, so a page that loads five things at once is
/// not refused.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimits {
    /// Per portal. A portal forwards its users' questions and
    /// classification calls while they type; 50 a second is many busy
    /// users, and one misbehaving portal cannot starve the others.
    pub portal: u32,
    /// Per core-team client (the CLI, the triage page): 100 a second.
    pub triage: u32,
    /// Per dashboard: 20 a second, ample for panels refreshing.
    pub dashboard: u32,
    /// Per admin client (imports, scripts): 200 a second.
    pub admin: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            portal: 50,
            triage: 100,
            dashboard: 20,
            admin: 200,
        }
    }
}

impl RateLimits {
    /// Refuses a rate of 0 (a role that may not call at all is spelt by
    /// giving it no client).
    pub fn check(&self) -> Result<(), String> {
        for role in Role::ALL {
            if self.of(role) == 0 {
                return Err(format!(
                    "rate_limits.{role} must be at least 1 request per second per client"
                ));
            }
        }
        Ok(())
    }

    /// The rate of a role.
    pub fn of(&self, role: Role) -> u32 {
        match role {
            Role::Portal => self.portal,
            Role::Triage => self.triage,
            Role::Dashboard => self.dashboard,
            Role::Admin => self.admin,
        }
    }
}

/// A call refused for its rate: when the client may try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimited {
    /// The role's rate.
    pub per_second: u32,
    /// How long until the next call would pass.
    pub retry_after: Duration,
}

/// The per-client limiters of every role.
pub struct Limiter {
    limits: RateLimits,
    by_role: [DefaultKeyedRateLimiter<Arc<str>>; 4],
    clock: DefaultClock,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Limiter {
    /// Limiters for these rates (a rate of 0 counts as 1; the config
    /// refuses it before).
    pub fn new(limits: &RateLimits) -> Limiter {
        let quota = |role| {
            let n = NonZeroU32::new(limits.of(role)).unwrap_or(NonZeroU32::MIN);
            DefaultKeyedRateLimiter::keyed(Quota::per_second(n))
        };
        Limiter {
            limits: limits.clone(),
            by_role: Role::ALL.map(quota),
            clock: DefaultClock::default(),
        }
    }

    /// Counts a call of `who`; refused when it is over its role's rate.
    pub fn check(&self, who: &Principal) -> Result<(), RateLimited> {
        let index = Role::ALL.iter().position(|r| *r == who.role).unwrap_or(0);
        self.by_role[index]
            .check_key(&who.name)
            .map_err(|not_until| RateLimited {
                per_second: self.limits.of(who.role),
                retry_after: not_until.wait_time_from(self.clock.now()),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(name: &str, role: Role) -> Principal {
        Principal {
            name: Arc::from(name),
            role,
        }
    }

    #[test]
    fn a_client_past_its_rate_is_told_when_to_retry() {
        let limiter = Limiter::new(&RateLimits {
            portal: 3,
            ..RateLimits::default()
        });
        let a = principal("a", Role::Portal);
        for _ in 0..3 {
            limiter.check(&a).unwrap();
        }
        let refused = limiter.check(&a).unwrap_err();
        assert_eq!(refused.per_second, 3);
        assert!(refused.retry_after > Duration::ZERO);
        assert!(refused.retry_after <= Duration::from_millis(400));
    }

    #[test]
    fn each_client_has_its_own_allowance() {
        let limiter = Limiter::new(&RateLimits {
            portal: 1,
            ..RateLimits::default()
        });
        limiter.check(&principal("a", Role::Portal)).unwrap();
        assert!(limiter.check(&principal("a", Role::Portal)).is_err());
        limiter.check(&principal("b", Role::Portal)).unwrap();
        limiter.check(&principal("a", Role::Admin)).unwrap();
    }

    #[test]
    fn a_rate_of_zero_is_refused() {
        let err = RateLimits {
            dashboard: 0,
            ..RateLimits::default()
        }
        .check()
        .unwrap_err();
        assert!(err.contains("rate_limits.dashboard"), "{err}");
    }
}
