//! Fair, capacity-aware assignment: the open questions each expert holds
//! and the choice of the expert a confidently routed question goes to.

use super::paging::for_each_page;
use super::sync::LockExt;
use super::{Service, ServiceError};
use crate::domain::{ExpertId, Status};
use crate::engine::Classification;
use crate::store::{Event, ListFilter, Question, Store};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

/// Experts scoring at least this share of the best are equally good: the
/// work is spread among them.
pub const EQUALLY_GOOD: f32 = 0.9;

/// Open questions per expert, locked.
pub(super) type LoadGuard<'a> = MutexGuard<'a, HashMap<ExpertId, u32>>;

/// Open questions (ROUTED, IN_PROGRESS, WAITING) per expert: what automatic
/// assignment checks against capacity. Counted from the store at start,
/// then kept by every change; an automatic assignment reserves its place
/// here before the question is stored, so concurrent submits cannot
/// overfill an expert.
#[derive(Debug)]
pub(super) struct Load {
    open: Mutex<HashMap<ExpertId, u32>>,
}

/// The statuses in which a question takes a place of its expert.
fn holds_place(s: Status) -> bool {
    matches!(s, Status::Routed | Status::InProgress | Status::Waiting)
}

impl Load {
    /// Open questions per expert in the store.
    pub(super) fn count(store: &dyn Store) -> Result<Load, ServiceError> {
        let mut open = HashMap::new();
        for status in [Status::Routed, Status::InProgress, Status::Waiting] {
            let filter = ListFilter {
                status: Some(status),
                ..ListFilter::default()
            };
            for_each_page(
                |page| store.list(&filter, page),
                |items| {
                    for e in items.into_iter().filter_map(|q| q.expert) {
                        *open.entry(e).or_default() += 1;
                    }
                },
            )?;
        }
        Ok(Load {
            open: Mutex::new(open),
        })
    }

    /// The counts, locked: held across a store write that gives a question
    /// to an expert, so nobody assigns the place in between.
    pub(super) fn lock(&self) -> LoadGuard<'_> {
        self.open.lock_or_recover()
    }

    /// Gives back a place reserved for a question that was not stored.
    pub(super) fn release(&self, expert: &ExpertId) {
        if let Some(n) = self.lock().get_mut(expert) {
            *n = n.saturating_sub(1);
        }
    }

    /// Open questions an expert holds now.
    pub(super) fn open_for(&self, expert: &ExpertId) -> u32 {
        self.lock().get(expert).copied().unwrap_or(0)
    }
}

/// Keeps the open-question counts in step with one change.
pub(super) fn track_load(load: &mut HashMap<ExpertId, u32>, question: &Question, event: &Event) {
    let current = question.expert.as_ref().map(ToString::to_string);
    let (before, after) = match event.changes.iter().find(|c| c.field == "expert") {
        Some(c) => (c.before.clone(), c.after.clone()),
        None => (current.clone(), current),
    };
    let was = event.from.filter(|s| holds_place(*s)).and(before);
    let is = holds_place(event.to).then_some(after).flatten();
    if was == is {
        return;
    }
    if let Some(e) = was.and_then(|e| ExpertId::parse(&e).ok()) {
        if let Some(n) = load.get_mut(&e) {
            *n = n.saturating_sub(1);
        }
    }
    if let Some(e) = is.and_then(|e| ExpertId::parse(&e).ok()) {
        *load.entry(e).or_default() += 1;
    }
}

impl Service {
    /// The expert a confidently routed question goes to: among the experts
    /// scoring within [`EQUALLY_GOOD`] of the best (and at least the
    /// policy's minimum), those available now (not marked unavailable, not
    /// in an absence) with room under their capacity; of these the one with
    /// the lowest share of its capacity in use, so equally good experts
    /// share the work. Reserves the place; `None` leaves the question with
    /// the provider.
    pub(super) fn pick_expert(&self, c: &Classification) -> Option<ExpertId> {
        let best = c.experts.first()?.score;
        if best < self.policy.min_expert_score {
            return None;
        }
        let index = self.engine.index();
        let now = self.time.now_ms();
        let mut load = self.load.lock();
        let mut choice: Option<(f32, ExpertId)> = None;
        for m in c
            .experts
            .iter()
            .filter(|m| m.score >= self.policy.min_expert_score && m.score >= best * EQUALLY_GOOD)
        {
            let Ok(id) = ExpertId::parse(&m.id) else {
                continue;
            };
            let experts = index.experts();
            let Ok(at) = experts.binary_search_by(|e| e.id().cmp(&id)) else {
                continue;
            };
            let expert = &experts[at];
            let open = load.get(&id).copied().unwrap_or(0);
            if !expert.available_at(now) || open >= expert.capacity() {
                continue;
            }
            let share = open as f32 / expert.capacity() as f32;
            // Ranked best first: a later one must be strictly less busy.
            if choice.as_ref().is_none_or(|(s, _)| share < *s) {
                choice = Some((share, id));
            }
        }
        let (_, id) = choice?;
        *load.entry(id.clone()).or_default() += 1;
        Some(id)
    }

    /// Open questions an expert holds now.
    pub fn open_for(&self, expert: &ExpertId) -> u32 {
        self.load.open_for(expert)
    }
}
