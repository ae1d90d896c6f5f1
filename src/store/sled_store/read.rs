//! The queries of the sled store: paged listings over the secondary
//! indexes, the triage queue, answers due for review, lead-time
//! percentiles from the bucket counters, open-question ages, and the
//! rebuild of the counters from the event history.

use super::{from_json, io, record, SledStore};
use crate::domain::{Category, ExpertId, ProviderId, Status};
use crate::store::catalog;
use crate::store::keys;
use crate::store::leadtime;
#[cfg(test)]
use crate::store::leadtime::{Dimension, LeadTimeGroup, LeadTimeQuery};
use crate::store::model::*;
use crate::store::StoreError;
use std::collections::BTreeMap;

impl SledStore {
    /// One page of the keys in `[start, end)`: after the key in the page
    /// token (which must have been made for `listing` and lie in the
    /// range), up to the page size of items for which `keep` returns one.
    fn page<T>(
        &self,
        listing: &[u8],
        (start, end): (&[u8], &[u8]),
        page: &PageRequest,
        mut keep: impl FnMut(&[u8], &[u8]) -> Result<Option<T>, StoreError>,
    ) -> Result<Page<T>, StoreError> {
        let from = match page.token.as_deref() {
            Some(token) => {
                let mut last = keys::parse_page_token(listing, token)?;
                if last.as_slice() < start || last.as_slice() >= end {
                    return Err(StoreError::BadPageToken);
                }
                last.push(0); // just after the previous page's last key
                last
            }
            None => start.to_vec(),
        };
        let limit = page.effective_size();
        let mut items = Vec::new();
        for entry in self.db.range(from..end.to_vec()) {
            let (k, v) = entry.map_err(io("reading a listing"))?;
            if let Some(item) = keep(&k, &v)? {
                items.push(item);
                if items.len() == limit {
                    return Ok(Page {
                        items,
                        next_token: Some(keys::page_token(listing, &k)),
                    });
                }
            }
        }
        Ok(Page {
            items,
            next_token: None,
        })
    }

    /// Questions matching a filter, in submit order: the catalog names the
    /// candidates, and the filter is checked again on each record read,
    /// so a catalog a moment behind a write never lists a question that
    /// no longer matches.
    pub(super) fn list_questions(
        &self,
        filter: &ListFilter,
        page: &PageRequest,
    ) -> Result<Page<Question>, StoreError> {
        let mut listing = vec![b'l'];
        listing.extend_from_slice(&keys::fnv(format!("{filter:?}").as_bytes()));
        let mut after = match page.token.as_deref() {
            Some(token) => Some(
                keys::list_position_of(&keys::parse_page_token(&listing, token)?)
                    .ok_or(StoreError::BadPageToken)?,
            ),
            None => None,
        };
        let organization = filter.organization.as_deref().map(crate::analysis::fold);
        let (provider, expert) = match &filter.assignee {
            Some(Assignee::Provider(p)) => (Some(p.as_str()), None),
            Some(Assignee::Expert(e)) => (None, Some(e.as_str())),
            None => (None, None),
        };
        let wanted = catalog::Wanted {
            status: filter.status,
            category: filter.category,
            organization_type: filter.organization_type,
            organization: organization.as_deref(),
            portal: filter.portal.as_deref(),
            provider,
            expert,
            from_ms: filter.submitted_from_ms,
            to_ms: filter.submitted_to_ms,
        };
        let limit = page.effective_size();
        let mut items = Vec::new();
        // Questions without a portal have none to match (as the portal
        // index of format 3 held none of them).
        let no_portal = filter.portal.as_deref() == Some("");
        let Some(candidates) = self.catalog.filter(&wanted).filter(|_| !no_portal) else {
            return Ok(Page {
                items,
                next_token: None,
            });
        };
        loop {
            let found = self
                .catalog
                .matching(&candidates, after, limit - items.len());
            if found.is_empty() {
                return Ok(Page {
                    items,
                    next_token: None,
                });
            }
            for ((submitted_ms, id), qid) in found {
                after = Some((submitted_ms, id));
                let q = match self.load(qid) {
                    Ok(q) => q,
                    Err(StoreError::NotFound(_)) => continue,
                    Err(e) => return Err(e),
                };
                let matches = filter.status.is_none_or(|s| q.status == s)
                    && filter.category.is_none_or(|c| q.category == Some(c))
                    && filter
                        .organization_type
                        .is_none_or(|t| q.organization_type == t)
                    && organization
                        .as_ref()
                        .is_none_or(|o| *o == crate::analysis::fold(&q.organization_name))
                    && filter.portal.as_ref().is_none_or(|p| *p == q.portal)
                    && filter.assignee.as_ref().is_none_or(|a| match a {
                        Assignee::Provider(p) => q.provider.as_ref() == Some(p),
                        Assignee::Expert(e) => q.expert.as_ref() == Some(e),
                    });
                if matches {
                    items.push(q);
                    if items.len() == limit {
                        return Ok(Page {
                            items,
                            next_token: Some(keys::page_token(
                                &listing,
                                &keys::list_position(submitted_ms, id),
                            )),
                        });
                    }
                }
            }
        }
    }

    /// The triage queue, highest priority first.
    pub(super) fn queue_page(&self, page: &PageRequest) -> Result<Page<QueueEntry>, StoreError> {
        let prefix = [keys::QUEUE];
        let now = self.time.now_ms();
        self.page(&prefix, (&prefix, &keys::end_of(&prefix)), page, |k, _| {
            let (Some(id), Some(p)) = (keys::id_at_end(k), keys::queue_priority(k)) else {
                return Ok(None);
            };
            Ok(Some(QueueEntry {
                question: self.load(id)?,
                priority: priority_now(p, now),
            }))
        })
    }

    /// Answers due for review at `at_ms`, earliest first.
    pub(super) fn review_page(
        &self,
        at_ms: i64,
        page: &PageRequest,
    ) -> Result<Page<Question>, StoreError> {
        let prefix = [keys::REVIEW];
        let mut end = vec![keys::REVIEW];
        end.extend_from_slice(&keys::time(at_ms.saturating_add(1)));
        self.page(&prefix, (&prefix, &end), page, |k, _| {
            keys::id_at_end(k).map(|id| self.load(id)).transpose()
        })
    }

    /// The core team's feedback, oldest first.
    pub(super) fn feedback_page(&self, page: &PageRequest) -> Result<Page<Feedback>, StoreError> {
        let prefix = [keys::FEEDBACK];
        self.page(&prefix, (&prefix, &keys::end_of(&prefix)), page, |k, v| {
            from_json(k, v).map(Some)
        })
    }

    /// Lead-time percentiles per group, from the bucket counters of one
    /// metric, clock and grouping (per month: the counters of all
    /// questions) as sled holds them: the reference the in-memory copy
    /// (`counters`) is tested against.
    #[cfg(test)]
    pub(super) fn lead_time_groups(
        &self,
        query: &LeadTimeQuery,
    ) -> Result<Vec<LeadTimeGroup>, StoreError> {
        let dim = if query.group_by == Dimension::Month {
            Dimension::All
        } else {
            query.group_by
        };
        let prefix = keys::histograms(query.metric, query.clock, dim);
        // Counters are sorted by group, then month, then bucket: the
        // group's name is made once per group, not once per counter.
        let mut groups: BTreeMap<String, leadtime::SparseCounts> = BTreeMap::new();
        let mut current: Option<(Vec<u8>, String)> = None;
        for entry in self.db.scan_prefix(prefix) {
            let (k, v) = entry.map_err(io("reading lead-time counters"))?;
            let Some(b) = keys::bucket_of(&k) else {
                continue;
            };
            if b.month < query.from_month || b.month > query.to_month {
                continue;
            }
            let count = keys::number_of(&v).unwrap_or(0);
            if query.group_by == Dimension::Month {
                groups
                    .entry(b.month.to_string())
                    .or_default()
                    .add(b.bucket, count);
                continue;
            }
            if current
                .as_ref()
                .is_none_or(|(raw, _)| raw.as_slice() != b.group)
            {
                current = Some((
                    b.group.to_vec(),
                    String::from_utf8_lossy(b.group).into_owned(),
                ));
            }
            if let Some((_, name)) = &current {
                match groups.get_mut(name) {
                    Some(slot) => slot.add(b.bucket, count),
                    None => {
                        let mut slot = leadtime::SparseCounts::default();
                        slot.add(b.bucket, count);
                        groups.insert(name.clone(), slot);
                    }
                }
            }
        }
        Ok(groups
            .into_iter()
            .map(|(name, counts)| counts.summary(name))
            .collect())
    }

    /// Open questions per status, with the submit time of the oldest:
    /// from the catalog, so no question is read.
    pub(super) fn open_question_counts(&self) -> Result<Vec<OpenCount>, StoreError> {
        let open = self.catalog.open();
        Ok(open_statuses()
            .map(|status| {
                let mut of = open.iter().filter(|o| o.status == status);
                let oldest = of.next().map(|o| o.submitted_ms);
                OpenCount {
                    status,
                    count: u64::from(oldest.is_some()) + of.count() as u64,
                    oldest_submitted_ms: oldest,
                }
            })
            .collect())
    }

    /// Open questions per status, and per status and category, with their
    /// ages: from the catalog, so no question is read.
    pub(super) fn open_question_ages(&self) -> Result<Vec<OpenAge>, StoreError> {
        let now = self.time.now_ms();
        let open = self.catalog.open();
        let mut out = Vec::new();
        for status in open_statuses() {
            let ages: Vec<(Option<Category>, i64)> = open
                .iter()
                .filter(|o| o.status == status)
                .map(|o| (o.category, (now - o.submitted_ms).max(0)))
                .collect();
            out.push(open_age(status, None, ages.iter().map(|a| a.1).collect()));
            for category in Category::ALL.iter().copied() {
                let of: Vec<i64> = ages
                    .iter()
                    .filter(|a| a.0 == Some(category))
                    .map(|a| a.1)
                    .collect();
                if !of.is_empty() {
                    out.push(open_age(status, Some(category), of));
                }
            }
        }
        Ok(out)
    }

    /// Recomputes the lead-time counters from the event history. The
    /// caller holds the write queue.
    pub(super) fn rebuild_counters(&self) -> Result<u64, StoreError> {
        let mut counters: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
        let mut replayed = 0u64;
        for entry in self.db.scan_prefix([keys::QUESTION]) {
            let (k, v) = entry.map_err(io("reading questions"))?;
            let q: Question = from_json(&k, record::head(&v))?;
            let events = record::events(&k, &v)?;
            // The groups of a measurement are the question's assignments
            // at the moment it completed, replayed from the field changes.
            let mut state = q.clone();
            state.category = None;
            state.provider = None;
            state.expert = None;
            let mut timeline = Timeline {
                received_ms: q.submitted_ms,
                ..Timeline::default()
            };
            for e in &events {
                for c in &e.changes {
                    match c.field.as_str() {
                        "category" => {
                            state.category =
                                c.after.as_deref().and_then(|s| s.parse::<Category>().ok())
                        }
                        "provider" => {
                            state.provider =
                                c.after.as_deref().and_then(|s| ProviderId::parse(s).ok())
                        }
                        "expert" => {
                            state.expert = c.after.as_deref().and_then(|s| ExpertId::parse(s).ok())
                        }
                        _ => {}
                    }
                }
                if e.from.is_none() {
                    continue;
                }
                let groups = leadtime::groups_of(&state);
                for m in leadtime::advance(&mut timeline, e.to, e.at_ms) {
                    for key in keys::measurement(&m, &groups) {
                        *counters.entry(key).or_default() += 1;
                    }
                }
            }
            replayed += 1;
        }
        let mut batch = sled::Batch::default();
        for entry in self.db.scan_prefix([keys::HISTOGRAM]) {
            let (k, _) = entry.map_err(io("reading lead-time counters"))?;
            if !counters.contains_key(k.as_ref()) {
                batch.remove(k);
            }
        }
        for (k, count) in &counters {
            batch.insert(k.as_slice(), &keys::number(*count));
        }
        self.db
            .apply_batch(batch)
            .map_err(io("replacing lead-time counters"))?;
        self.commit.wait_durable()?;
        self.counters.reload(&self.db)?;
        Ok(replayed)
    }
}

/// The statuses the queue statistics count: open, past RECEIVED.
fn open_statuses() -> impl Iterator<Item = Status> {
    Status::ALL
        .into_iter()
        .filter(|s| s.is_open() && *s != Status::Received)
}

fn open_age(status: Status, category: Option<Category>, mut ages: Vec<i64>) -> OpenAge {
    ages.sort_unstable();
    OpenAge {
        status,
        category,
        count: ages.len() as u64,
        oldest_ms: ages.last().copied().unwrap_or(0),
        median_ms: ages.get(ages.len() / 2).copied().unwrap_or(0),
    }
}
