//! The question catalog: for every question the few fields that listings
//! filter on (status, category, organisation, portal, assignee, submit
//! time), in memory, 24 bytes a question, and on disk in blocks of
//! [`BLOCK`] questions.
//!
//! Why not secondary indexes in sled: sled 0.34 splits a leaf above 16
//! entries and keeps about 40 bytes of bookkeeping in memory for every key
//! it stores, whether or not the key is cached. Seven index keys for each
//! question made a store of a million questions hold 360 MB before kicer
//! did anything (`docs/benchmarks.md`). One block key for [`BLOCK`]
//! questions costs sled almost nothing, and a listing filters these
//! entries in memory (a full walk of a million is about a millisecond)
//! before it reads the few records it returns.
//!
//! The block of a question is rewritten in the same transaction as its
//! record, so disk and record never disagree; the memory copy is updated
//! right after each commit, in commit order, and a listing checks its
//! filter again on the records it reads, so a copy a moment behind never
//! lists a question that no longer matches.

use super::model::{Question, QuestionId};
use super::StoreError;
use crate::domain::{Category, OrganizationType, Status};
use std::collections::HashMap;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Questions per block on disk: a write rewrites its question's block
/// (about 2 KiB at 32), and a million questions take 31,250 block keys.
pub const BLOCK: u64 = 32;

/// The block a question's catalog entry is stored in.
pub fn block_of(id: QuestionId) -> u64 {
    id.get() / BLOCK
}

/// The listed fields of one question, as a block on disk holds them.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    id: u64,
    submitted_ms: i64,
    status: Status,
    category: Option<Category>,
    organization_type: OrganizationType,
    /// Case and accents folded, as the filter compares it.
    organization: String,
    portal: String,
    provider: String,
    expert: String,
}

impl Record {
    /// The listed fields of `q`.
    pub fn of(q: &Question) -> Record {
        Record {
            id: q.id.get(),
            submitted_ms: q.submitted_ms,
            status: q.status,
            category: q.category,
            organization_type: q.organization_type,
            organization: crate::analysis::fold(&q.organization_name),
            portal: q.portal.clone(),
            provider: q
                .provider
                .as_ref()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_default(),
            expert: q
                .expert
                .as_ref()
                .map(|e| e.as_str().to_owned())
                .unwrap_or_default(),
        }
    }
}

/// A block's value with `record` put in (replacing the record of the same
/// question). `key` names the block in a damage report.
pub fn put_in_block(
    key: &[u8],
    existing: Option<&[u8]>,
    record: Record,
) -> Result<Vec<u8>, StoreError> {
    let mut records = match existing {
        Some(bytes) => decode_block(key, bytes)?,
        None => Vec::new(),
    };
    match records.binary_search_by_key(&record.id, |r| r.id) {
        Ok(i) => records[i] = record,
        Err(i) => records.insert(i, record),
    }
    Ok(encode_block(&records))
}

/// The version byte of the block encoding.
const BLOCK_VERSION: u8 = 1;

/// Encodes records (sorted by id): a version byte, then per record the id
/// and submit time (8 bytes each, big-endian) and seven strings (status,
/// category, organisation type, organisation, portal, provider, expert)
/// each with a 2-byte length. Names rather than numbers, so that adding a
/// status or reordering an enum never misreads a stored block.
pub fn encode_block(records: &[Record]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + records.len() * 80);
    out.push(BLOCK_VERSION);
    for r in records {
        out.extend_from_slice(&r.id.to_be_bytes());
        out.extend_from_slice(&r.submitted_ms.to_be_bytes());
        for s in [
            r.status.as_str(),
            r.category.map(Category::as_str).unwrap_or(""),
            r.organization_type.as_str(),
            &r.organization,
            &r.portal,
            &r.provider,
            &r.expert,
        ] {
            // Every field is limited far below 64 KiB at the API; a longer
            // one (never written) is cut rather than corrupting the block.
            let bytes = &s.as_bytes()[..s.len().min(usize::from(u16::MAX))];
            out.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
            out.extend_from_slice(bytes);
        }
    }
    out
}

/// Decodes a block written by [`encode_block`].
pub fn decode_block(key: &[u8], bytes: &[u8]) -> Result<Vec<Record>, StoreError> {
    let damaged = |reason: &str| StoreError::Corrupt {
        key: String::from_utf8_lossy(key).escape_debug().to_string(),
        reason: format!("catalog block: {reason}"),
    };
    let mut rest = match bytes.split_first() {
        Some((&BLOCK_VERSION, rest)) => rest,
        Some((v, _)) => return Err(damaged(&format!("unknown version {v}"))),
        None => return Err(damaged("empty")),
    };
    fn take<const N: usize>(rest: &mut &[u8]) -> Option<[u8; N]> {
        let head: [u8; N] = rest.get(..N)?.try_into().ok()?;
        *rest = &rest[N..];
        Some(head)
    }
    let mut records = Vec::new();
    while !rest.is_empty() {
        let cut = || damaged("cut off");
        let id = u64::from_be_bytes(take(&mut rest).ok_or_else(cut)?);
        let submitted_ms = i64::from_be_bytes(take(&mut rest).ok_or_else(cut)?);
        let mut strings: [String; 7] = Default::default();
        for s in strings.iter_mut() {
            let len = usize::from(u16::from_be_bytes(take(&mut rest).ok_or_else(cut)?));
            let text = rest.get(..len).ok_or_else(cut)?;
            *s = std::str::from_utf8(text)
                .map_err(|_| damaged("text is not UTF-8"))?
                .to_owned();
            rest = &rest[len..];
        }
        let [status, category, organization_type, organization, portal, provider, expert] = strings;
        records.push(Record {
            id,
            submitted_ms,
            status: status
                .parse()
                .map_err(|_| damaged(&format!("unknown status {status:?}")))?,
            category: if category.is_empty() {
                None
            } else {
                Some(
                    category
                        .parse()
                        .map_err(|_| damaged(&format!("unknown category {category:?}")))?,
                )
            },
            organization_type: organization_type.parse().map_err(|_| {
                damaged(&format!("unknown organisation type {organization_type:?}"))
            })?,
            organization,
            portal,
            provider,
            expert,
        });
    }
    Ok(records)
}

/// Names given small numbers, so that an entry holds a number instead of
/// a string; a name is never forgotten (the set of organisations, portals
/// and assignees is small next to the questions).
#[derive(Debug, Default)]
struct Interner {
    numbers: HashMap<Box<str>, u32>,
}

impl Interner {
    /// The number of `name`; 0 is the empty name.
    fn intern(&mut self, name: &str) -> u32 {
        if name.is_empty() {
            return 0;
        }
        let next = self.numbers.len() as u32 + 1;
        *self.numbers.entry(name.into()).or_insert(next)
    }

    /// The number of `name`, if any question ever had it.
    fn find(&self, name: &str) -> Option<u32> {
        self.numbers.get(name).copied()
    }
}

/// One question in memory.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Entry {
    submitted_ms: i64,
    organization: u32,
    expert: u32,
    provider: u32,
    portal: u16,
    /// Position in `Status::ALL` + 1; 0 marks an id without a question.
    status: u8,
    /// Position in `Category::ALL` + 1; 0 is none.
    category: u8,
    organization_type: u8,
}

impl Entry {
    const ABSENT: Entry = Entry {
        submitted_ms: 0,
        organization: 0,
        expert: 0,
        provider: 0,
        portal: 0,
        status: 0,
        category: 0,
        organization_type: 0,
    };
}

fn position<T: PartialEq>(all: &[T], value: &T) -> u8 {
    all.iter()
        .position(|v| v == value)
        .map_or(0, |i| i as u8 + 1)
}

/// What a listing asks for, in the catalog's terms: each `Some` must
/// match. Made by [`Catalog::filter`].
#[derive(Debug, Clone, Copy)]
pub struct Filter {
    status: Option<u8>,
    category: Option<u8>,
    organization_type: Option<u8>,
    organization: Option<u32>,
    portal: Option<u16>,
    provider: Option<u32>,
    expert: Option<u32>,
    from_ms: i64,
    to_ms: i64,
}

impl Filter {
    fn matches(&self, e: &Entry) -> bool {
        e.status != 0
            && self.status.is_none_or(|s| s == e.status)
            && self.category.is_none_or(|c| c == e.category)
            && self
                .organization_type
                .is_none_or(|t| t == e.organization_type)
            && self.organization.is_none_or(|o| o == e.organization)
            && self.portal.is_none_or(|p| p == e.portal)
            && self.provider.is_none_or(|p| p == e.provider)
            && self.expert.is_none_or(|x| x == e.expert)
    }
}

/// What a listing filters on, by name (see [`super::ListFilter`]).
#[derive(Debug, Default, Clone)]
pub struct Wanted<'a> {
    /// Current status.
    pub status: Option<Status>,
    /// Category in force.
    pub category: Option<Category>,
    /// Organisation type.
    pub organization_type: Option<OrganizationType>,
    /// Organisation, folded.
    pub organization: Option<&'a str>,
    /// Portal.
    pub portal: Option<&'a str>,
    /// Provider id.
    pub provider: Option<&'a str>,
    /// Expert id.
    pub expert: Option<&'a str>,
    /// Submitted at or after (ms).
    pub from_ms: Option<i64>,
    /// Submitted before (ms).
    pub to_ms: Option<i64>,
}

#[derive(Debug, Default)]
struct Inner {
    /// By question id − 1: ids are dense.
    entries: Vec<Entry>,
    /// Ids − 1 sorted by (submit time, id), the order of every listing.
    order: Vec<u32>,
    organizations: Interner,
    portals: Interner,
    assignees: Interner,
}

impl Inner {
    fn key(&self, index: u32) -> (i64, u64) {
        (
            self.entries[index as usize].submitted_ms,
            u64::from(index) + 1,
        )
    }
}

/// The catalog in memory. See the module documentation.
#[derive(Debug, Default)]
pub struct Catalog {
    inner: RwLock<Inner>,
}

/// An open question's status, category and submit time, for the queue
/// statistics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Open {
    /// Its status.
    pub status: Status,
    /// Its category in force.
    pub category: Option<Category>,
    /// When it was submitted (ms).
    pub submitted_ms: i64,
}

impl Catalog {
    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        // Every update leaves the catalog consistent before it can panic.
        self.inner.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Puts the current state of a question in (a new one or a change).
    pub fn put(&self, record: &Record) {
        let Ok(index) = u32::try_from(record.id.saturating_sub(1)) else {
            return; // ids past four billion: never handed out
        };
        let mut inner = self.write();
        let inner = &mut *inner;
        let entry = Entry {
            submitted_ms: record.submitted_ms,
            organization: inner.organizations.intern(&record.organization),
            expert: inner.assignees.intern(&record.expert),
            provider: inner.assignees.intern(&record.provider),
            portal: u16::try_from(inner.portals.intern(&record.portal)).unwrap_or(u16::MAX),
            status: position(&Status::ALL, &record.status),
            category: record.category.map_or(0, |c| position(Category::ALL, &c)),
            organization_type: position(OrganizationType::ALL, &record.organization_type),
        };
        let i = index as usize;
        if inner.entries.len() <= i {
            inner.entries.resize(i + 1, Entry::ABSENT);
        }
        let was = inner.entries[i];
        inner.entries[i] = entry;
        if was.status != 0 && was.submitted_ms == entry.submitted_ms {
            return; // already in order: the submit time never changes
        }
        if was.status != 0 {
            if let Some(at) = inner.order.iter().position(|&o| o == index) {
                inner.order.remove(at);
            }
        }
        let key = (entry.submitted_ms, record.id);
        // New questions come last almost always: push without a search.
        let at = match inner.order.last() {
            Some(&last) if inner.key(last) > key => {
                inner.order.partition_point(|&o| inner.key(o) < key)
            }
            _ => inner.order.len(),
        };
        inner.order.insert(at, index);
    }

    /// The filter for `wanted`, or `None` when a name in it belongs to no
    /// question at all (so nothing can match).
    pub fn filter(&self, wanted: &Wanted<'_>) -> Option<Filter> {
        let inner = self.read();
        let find = |interner: &Interner, name: Option<&str>| -> Result<Option<u32>, ()> {
            match name {
                None => Ok(None),
                Some(n) => interner.find(n).map(Some).ok_or(()),
            }
        };
        Some(Filter {
            status: wanted.status.map(|s| position(&Status::ALL, &s)),
            category: wanted.category.map(|c| position(Category::ALL, &c)),
            organization_type: wanted
                .organization_type
                .map(|t| position(OrganizationType::ALL, &t)),
            organization: find(&inner.organizations, wanted.organization).ok()?,
            portal: match find(&inner.portals, wanted.portal).ok()? {
                Some(p) => Some(u16::try_from(p).ok()?),
                None => None,
            },
            provider: find(&inner.assignees, wanted.provider).ok()?,
            expert: find(&inner.assignees, wanted.expert).ok()?,
            from_ms: wanted.from_ms.unwrap_or(i64::MIN),
            to_ms: wanted.to_ms.unwrap_or(i64::MAX),
        })
    }

    /// Up to `limit` questions matching `filter` in listing order (submit
    /// time, then id), after the position `after`. Each comes with its
    /// position, for the next call.
    pub fn matching(
        &self,
        filter: &Filter,
        after: Option<(i64, u64)>,
        limit: usize,
    ) -> Vec<((i64, u64), QuestionId)> {
        let inner = self.read();
        let start = match after {
            Some(pos) => inner.order.partition_point(|&o| inner.key(o) <= pos),
            None => inner
                .order
                .partition_point(|&o| inner.entries[o as usize].submitted_ms < filter.from_ms),
        };
        let mut out = Vec::new();
        for &index in &inner.order[start..] {
            let e = &inner.entries[index as usize];
            if e.submitted_ms < filter.from_ms {
                continue;
            }
            if e.submitted_ms >= filter.to_ms {
                break;
            }
            if filter.matches(e) {
                let id = u64::from(index) + 1;
                out.push(((e.submitted_ms, id), QuestionId::new(id)));
                if out.len() == limit {
                    break;
                }
            }
        }
        out
    }

    /// Every question in an open status other than RECEIVED (the statuses
    /// the queue statistics count), oldest first.
    pub fn open(&self) -> Vec<Open> {
        let inner = self.read();
        inner
            .order
            .iter()
            .filter_map(|&index| {
                let e = &inner.entries[index as usize];
                let status = *Status::ALL.get(usize::from(e.status).checked_sub(1)?)?;
                (status.is_open() && status != Status::Received).then(|| Open {
                    status,
                    category: usize::from(e.category)
                        .checked_sub(1)
                        .and_then(|c| Category::ALL.get(c).copied()),
                    submitted_ms: e.submitted_ms,
                })
            })
            .collect()
    }

    /// How many questions it holds.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.read().order.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: u64, submitted_ms: i64, status: Status, org: &str) -> Record {
        Record {
            id,
            submitted_ms,
            status,
            category: Some(Category::ALL[(id % 4) as usize]),
            organization_type: OrganizationType::ALL[0],
            organization: org.into(),
            portal: if id.is_multiple_of(2) {
                "portal-a".into()
            } else {
                String::new()
            },
            provider: "p-1".into(),
            expert: String::new(),
        }
    }

    #[test]
    fn a_block_round_trips_and_a_put_replaces_the_same_question() {
        let key = b"C1";
        let one = put_in_block(key, None, record(33, 5, Status::Triage, "gemeente a")).unwrap();
        let two = put_in_block(key, Some(&one), record(34, 6, Status::Routed, "b")).unwrap();
        let three =
            put_in_block(key, Some(&two), record(33, 5, Status::Routed, "gemeente a")).unwrap();
        let records = decode_block(key, &three).unwrap();
        assert_eq!(
            records,
            vec![
                record(33, 5, Status::Routed, "gemeente a"),
                record(34, 6, Status::Routed, "b")
            ]
        );
    }

    #[test]
    fn a_damaged_block_is_refused_not_misread() {
        let key = b"C1";
        let good = encode_block(&[record(1, 5, Status::Triage, "x")]);
        for cut in 2..good.len() {
            assert!(decode_block(key, &good[..cut]).is_err(), "cut at {cut}");
        }
        let mut other = good.clone();
        other[0] = 9;
        assert!(decode_block(key, &other).is_err());
        let mut bad_status = good.clone();
        // The status text starts after version, id, time and its length.
        bad_status[1 + 16 + 2] = b'#';
        assert!(decode_block(key, &bad_status).is_err());
    }

    #[test]
    fn listings_come_in_submit_order_and_follow_changes() {
        let catalog = Catalog::default();
        // Submit times out of id order, to check the order is by time.
        for (id, at) in [(1, 30), (2, 10), (3, 20), (4, 40)] {
            catalog.put(&record(id, at, Status::Triage, "gemeente a"));
        }
        let all = catalog.filter(&Wanted::default()).unwrap();
        let ids: Vec<u64> = catalog
            .matching(&all, None, 10)
            .iter()
            .map(|(_, id)| id.get())
            .collect();
        assert_eq!(ids, vec![2, 3, 1, 4]);
        // Paging continues after the position handed out.
        let first = catalog.matching(&all, None, 2);
        let rest = catalog.matching(&all, Some(first[1].0), 10);
        assert_eq!(
            rest.iter().map(|r| r.1.get()).collect::<Vec<_>>(),
            vec![1, 4]
        );

        catalog.put(&record(3, 20, Status::Routed, "gemeente a"));
        let triage = catalog
            .filter(&Wanted {
                status: Some(Status::Triage),
                ..Wanted::default()
            })
            .unwrap();
        let ids: Vec<u64> = catalog
            .matching(&triage, None, 10)
            .iter()
            .map(|(_, id)| id.get())
            .collect();
        assert_eq!(ids, vec![2, 1, 4]);
        assert_eq!(catalog.len(), 4);
        assert_eq!(catalog.open().len(), 4);
    }

    #[test]
    fn a_name_no_question_has_matches_nothing_and_time_bounds_hold() {
        let catalog = Catalog::default();
        for id in 1..=10 {
            catalog.put(&record(id, id as i64 * 10, Status::Triage, "gemeente a"));
        }
        assert!(catalog
            .filter(&Wanted {
                organization: Some("nobody"),
                ..Wanted::default()
            })
            .is_none());
        let portal = catalog
            .filter(&Wanted {
                portal: Some("portal-a"),
                from_ms: Some(30),
                to_ms: Some(80),
                ..Wanted::default()
            })
            .unwrap();
        let ids: Vec<u64> = catalog
            .matching(&portal, None, 100)
            .iter()
            .map(|(_, id)| id.get())
            .collect();
        assert_eq!(ids, vec![4, 6]);
    }
}
