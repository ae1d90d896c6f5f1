//! The question catalog: for every question the few fields that listings
//! filter on (status, category, organisation, portal, assignee, submit
//! time), in memory, 36 bytes a question, and on disk in blocks of
//! [`BLOCK`] questions.
//!
//! Why not secondary indexes in sled: sled 0.34 splits a leaf above 16
//! entries and keeps about 40 bytes of bookkeeping in memory for every key
//! it stores, whether or not the key is cached. Format 3's index and event
//! keys made sled alone hold 362 MiB after opening a store of a million
//! questions (`docs/benchmarks.md`). One block key for [`BLOCK`] questions
//! costs sled almost nothing, and a listing filters these entries in
//! memory (a full walk over a million reads 36 MB of memory and no disk)
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
/// (about 600 bytes at 32), and a million questions take 31,250 block keys.
pub const BLOCK: u64 = 32;

/// The block a question's catalog entry is stored in.
pub fn block_of(id: QuestionId) -> u64 {
    id.get() / BLOCK
}

/// The kinds of names a catalog entry holds. Each name is stored once, in
/// the store's dictionary (`N` + kind + name → code), and entries hold the
/// codes: a block of 32 questions is then about 600 bytes instead of 3
/// KiB, and sled (which keeps what a start reads in memory) holds a fifth
/// of it. Names rather than enum positions, so adding a status or
/// reordering an enum never misreads a stored block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The status.
    Status,
    /// The category in force.
    Category,
    /// The organisation type.
    OrganizationType,
    /// The organisation, case and accents folded (as filters compare it).
    Organization,
    /// The portal.
    Portal,
    /// The provider assigned.
    Provider,
    /// The expert assigned.
    Expert,
}

impl Kind {
    /// Every kind, in the order of an entry's codes.
    pub const ALL: [Kind; 7] = [
        Kind::Status,
        Kind::Category,
        Kind::OrganizationType,
        Kind::Organization,
        Kind::Portal,
        Kind::Provider,
        Kind::Expert,
    ];

    /// The byte that names the kind in dictionary keys.
    pub fn tag(self) -> u8 {
        b"sctopvx"[self as usize]
    }

    /// The kind of a dictionary key's tag.
    pub fn of_tag(tag: u8) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.tag() == tag)
    }
}

/// The listed fields of one question, by name.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    id: u64,
    submitted_ms: i64,
    /// By [`Kind`]; empty for none.
    names: [String; 7],
}

impl Record {
    /// The listed fields of `q`.
    pub fn of(q: &Question) -> Record {
        Record {
            id: q.id.get(),
            submitted_ms: q.submitted_ms,
            names: [
                q.status.as_str().to_owned(),
                q.category.map(Category::as_str).unwrap_or("").to_owned(),
                q.organization_type.as_str().to_owned(),
                crate::analysis::fold(&q.organization_name),
                q.portal.clone(),
                q.provider
                    .as_ref()
                    .map(|p| p.as_str().to_owned())
                    .unwrap_or_default(),
                q.expert
                    .as_ref()
                    .map(|e| e.as_str().to_owned())
                    .unwrap_or_default(),
            ],
        }
    }

    /// Its names with their kinds (the empty ones too).
    pub fn names(&self) -> impl Iterator<Item = (Kind, &str)> {
        Kind::ALL
            .into_iter()
            .zip(self.names.iter().map(String::as_str))
    }

    /// The entry with these names' codes.
    pub fn coded(&self, codes: [u32; 7]) -> Coded {
        Coded {
            id: self.id,
            submitted_ms: self.submitted_ms,
            codes,
        }
    }
}

/// The listed fields of one question, by code: what a block holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coded {
    id: u64,
    submitted_ms: i64,
    /// By [`Kind`]; 0 for none.
    codes: [u32; 7],
}

impl Coded {
    /// The question's id.
    pub fn id(&self) -> u64 {
        self.id
    }
}

/// A block's value with `entry` put in (replacing the entry of the same
/// question). `key` names the block in a damage report.
pub fn put_in_block(
    key: &[u8],
    existing: Option<&[u8]>,
    entry: Coded,
) -> Result<Vec<u8>, StoreError> {
    let mut entries = match existing {
        Some(bytes) => decode_block(key, bytes)?,
        None => Vec::new(),
    };
    match entries.binary_search_by_key(&entry.id, |e| e.id) {
        Ok(i) => entries[i] = entry,
        Err(i) => entries.insert(i, entry),
    }
    Ok(encode_block(&entries))
}

/// The version byte of the block encoding.
const BLOCK_VERSION: u8 = 1;

/// Encodes the entries of one block (sorted by id): a version byte, the
/// block number (8 bytes, big-endian), then per entry its slot in the
/// block (1 byte), the submit time (8 bytes, big-endian) and the seven
/// codes as LEB128 numbers.
pub fn encode_block(entries: &[Coded]) -> Vec<u8> {
    let mut out = Vec::with_capacity(9 + entries.len() * 20);
    out.push(BLOCK_VERSION);
    let block = entries.first().map_or(0, |e| e.id / BLOCK);
    out.extend_from_slice(&block.to_be_bytes());
    for e in entries {
        out.push((e.id % BLOCK) as u8);
        out.extend_from_slice(&e.submitted_ms.to_be_bytes());
        for mut code in e.codes {
            loop {
                let low = (code & 0x7f) as u8;
                code >>= 7;
                if code == 0 {
                    out.push(low);
                    break;
                }
                out.push(low | 0x80);
            }
        }
    }
    out
}

/// Decodes a block written by [`encode_block`].
pub fn decode_block(key: &[u8], bytes: &[u8]) -> Result<Vec<Coded>, StoreError> {
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
    fn leb128(rest: &mut &[u8]) -> Option<u32> {
        let mut value: u64 = 0;
        for shift in (0..35).step_by(7) {
            let [b] = take::<1>(rest)?;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return u32::try_from(value).ok();
            }
        }
        None
    }
    let cut = || damaged("cut off");
    let block = u64::from_be_bytes(take(&mut rest).ok_or_else(cut)?);
    // The number is in the key too: a value that names another block is
    // damage (and would place its questions at ids nobody was given).
    let keyed = key.get(1..9).and_then(|b| <[u8; 8]>::try_from(b).ok());
    if keyed.map(u64::from_be_bytes) != Some(block) {
        return Err(damaged(&format!("holds block {block}")));
    }
    let mut entries: Vec<Coded> = Vec::new();
    while !rest.is_empty() {
        let [slot] = take(&mut rest).ok_or_else(cut)?;
        if u64::from(slot) >= BLOCK {
            return Err(damaged(&format!("slot {slot}")));
        }
        let id = block
            .checked_mul(BLOCK)
            .and_then(|first| first.checked_add(u64::from(slot)))
            .filter(|&id| id != 0)
            .ok_or_else(|| damaged(&format!("no question id in block {block} slot {slot}")))?;
        if entries.last().is_some_and(|last| last.id >= id) {
            return Err(damaged("entries out of order"));
        }
        let submitted_ms = i64::from_be_bytes(take(&mut rest).ok_or_else(cut)?);
        let mut codes = [0; 7];
        for c in codes.iter_mut() {
            *c = leb128(&mut rest).ok_or_else(cut)?;
        }
        // Every question has a status (and code 0 marks "no question" in
        // memory).
        if codes[Kind::Status as usize] == 0 {
            return Err(damaged(&format!("q{id} without a status")));
        }
        entries.push(Coded {
            id,
            submitted_ms,
            codes,
        });
    }
    Ok(entries)
}

/// The dictionary: per kind, every name with its code (from 1; 0 is the
/// empty name). Codes are handed out by the store, in the transaction that
/// first writes a name, and never change.
#[derive(Debug, Default)]
pub struct Names {
    codes: [HashMap<Box<str>, u32>; 7],
}

impl Names {
    /// The code of `name`, if it has one (0 for the empty name).
    pub fn code(&self, kind: Kind, name: &str) -> Option<u32> {
        if name.is_empty() {
            return Some(0);
        }
        self.codes[kind as usize].get(name).copied()
    }

    /// Notes a name's code.
    pub fn insert(&mut self, kind: Kind, name: &str, code: u32) {
        self.codes[kind as usize].insert(name.into(), code);
    }

    /// The codes of every name of `record`; `None` if one has none yet.
    pub fn coded(&self, record: &Record) -> Option<Coded> {
        let mut codes = [0; 7];
        for (slot, (kind, name)) in codes.iter_mut().zip(record.names()) {
            *slot = self.code(kind, name)?;
        }
        Some(record.coded(codes))
    }

    /// Code → value of an enum kind, for reading entries back.
    fn table<T: Copy + std::str::FromStr>(&self, kind: Kind) -> Vec<Option<T>> {
        let map = &self.codes[kind as usize];
        let mut table = vec![None; map.values().max().map_or(1, |&m| m as usize + 1)];
        for (name, &code) in map {
            table[code as usize] = name.parse().ok();
        }
        table
    }
}

/// One question in memory: its submit time and codes (see [`Kind`]).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Entry {
    submitted_ms: i64,
    organization: u32,
    portal: u32,
    provider: u32,
    expert: u32,
    /// 0 marks an id without a question (every question has a status).
    status: u8,
    category: u8,
    organization_type: u8,
}

impl Entry {
    const ABSENT: Entry = Entry {
        submitted_ms: 0,
        organization: 0,
        portal: 0,
        provider: 0,
        expert: 0,
        status: 0,
        category: 0,
        organization_type: 0,
    };

    fn of(c: &Coded) -> Entry {
        let small = |code: u32| u8::try_from(code).unwrap_or(u8::MAX);
        Entry {
            submitted_ms: c.submitted_ms,
            status: small(c.codes[Kind::Status as usize]),
            category: small(c.codes[Kind::Category as usize]),
            organization_type: small(c.codes[Kind::OrganizationType as usize]),
            organization: c.codes[Kind::Organization as usize],
            portal: c.codes[Kind::Portal as usize],
            provider: c.codes[Kind::Provider as usize],
            expert: c.codes[Kind::Expert as usize],
        }
    }
}

/// What a listing asks for, in the catalog's terms: each `Some` must
/// match. Made by [`Catalog::filter`].
#[derive(Debug, Clone, Copy)]
pub struct Filter {
    status: Option<u8>,
    category: Option<u8>,
    organization_type: Option<u8>,
    organization: Option<u32>,
    portal: Option<u32>,
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
    names: Names,
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

    /// The code of a name that committed writes gave one.
    pub fn code(&self, kind: Kind, name: &str) -> Option<u32> {
        self.read().names.code(kind, name)
    }

    /// Notes a name's code once the write that handed it out committed
    /// (or as the store's dictionary holds it, at open).
    pub fn learn(&self, kind: Kind, name: &str, code: u32) {
        self.write().names.insert(kind, name, code);
    }

    /// Puts the current state of a question in (a new one or a change).
    pub fn put(&self, coded: &Coded) {
        let Ok(index) = u32::try_from(coded.id.saturating_sub(1)) else {
            return; // ids past four billion: never handed out
        };
        let entry = Entry::of(coded);
        let mut inner = self.write();
        let i = index as usize;
        if inner.entries.len() <= i {
            inner.entries.resize(i + 1, Entry::ABSENT);
        }
        let was = std::mem::replace(&mut inner.entries[i], entry);
        if was.status != 0 && was.submitted_ms == entry.submitted_ms {
            return; // already in order: the submit time never changes
        }
        if was.status != 0 {
            if let Some(at) = inner.order.iter().position(|&o| o == index) {
                inner.order.remove(at);
            }
        }
        let key = (entry.submitted_ms, coded.id);
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
        let names = &inner.names;
        let code = |kind: Kind, name: Option<&str>| -> Option<Option<u32>> {
            match name {
                None => Some(None),
                Some(n) => names.code(kind, n).map(Some),
            }
        };
        let small = |kind: Kind, name: Option<&str>| -> Option<Option<u8>> {
            match code(kind, name)? {
                Some(c) => Some(Some(u8::try_from(c).ok()?)),
                None => Some(None),
            }
        };
        Some(Filter {
            status: small(Kind::Status, wanted.status.map(Status::as_str))?,
            category: small(Kind::Category, wanted.category.map(Category::as_str))?,
            organization_type: small(
                Kind::OrganizationType,
                wanted.organization_type.map(OrganizationType::as_str),
            )?,
            organization: code(Kind::Organization, wanted.organization)?,
            portal: code(Kind::Portal, wanted.portal)?,
            provider: code(Kind::Provider, wanted.provider)?,
            expert: code(Kind::Expert, wanted.expert)?,
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
        let statuses: Vec<Option<Status>> = inner.names.table(Kind::Status);
        let categories: Vec<Option<Category>> = inner.names.table(Kind::Category);
        inner
            .order
            .iter()
            .filter_map(|&index| {
                let e = &inner.entries[index as usize];
                let status = (*statuses.get(usize::from(e.status))?)?;
                (status.is_open() && status != Status::Received).then(|| Open {
                    status,
                    category: categories.get(usize::from(e.category)).copied().flatten(),
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

    /// A catalog that knows every name of `records` (codes in order of
    /// first use, as the store hands them out).
    fn catalog_with(records: &[Record]) -> (Catalog, Vec<Coded>) {
        let catalog = Catalog::default();
        let mut coded = Vec::new();
        for r in records {
            for (kind, name) in r.names() {
                if catalog.code(kind, name).is_none() {
                    let next = catalog.read().names.codes[kind as usize].len() as u32 + 1;
                    catalog.learn(kind, name, next);
                }
            }
            let c = catalog.read().names.coded(r).unwrap();
            catalog.put(&c);
            coded.push(c);
        }
        (catalog, coded)
    }

    fn record(id: u64, submitted_ms: i64, status: Status, org: &str) -> Record {
        Record {
            id,
            submitted_ms,
            names: [
                status.as_str().into(),
                Category::ALL[(id % 4) as usize].as_str().into(),
                OrganizationType::ALL[0].as_str().into(),
                org.into(),
                if id.is_multiple_of(2) {
                    "portal-a".into()
                } else {
                    String::new()
                },
                "p-1".into(),
                String::new(),
            ],
        }
    }

    fn ids(found: &[((i64, u64), QuestionId)]) -> Vec<u64> {
        found.iter().map(|(_, id)| id.get()).collect()
    }

    #[test]
    fn a_block_round_trips_and_a_put_replaces_the_same_question() {
        let key = &super::super::keys::catalog_block(1);
        let entry = |id: u64, at: i64, code: u32| Coded {
            id,
            submitted_ms: at,
            codes: [code, 0, 3, 300, 70_000, 1, u32::MAX],
        };
        let one = put_in_block(key, None, entry(33, -5, 2)).unwrap();
        let two = put_in_block(key, Some(&one), entry(34, 6, 1)).unwrap();
        let three = put_in_block(key, Some(&two), entry(33, -5, 4)).unwrap();
        assert_eq!(
            decode_block(key, &three).unwrap(),
            vec![entry(33, -5, 4), entry(34, 6, 1)]
        );
    }

    #[test]
    fn a_damaged_block_is_refused_not_misread() {
        let key = &super::super::keys::catalog_block(1);
        let good = encode_block(&[Coded {
            id: 33,
            submitted_ms: 5,
            codes: [1, 2, 3, 200, 0, 1, 1],
        }]);
        // Every cut past the block number leaves a record half read.
        for cut in 1..good.len() {
            if cut == 9 {
                continue; // the block number alone: an empty block
            }
            assert!(decode_block(key, &good[..cut]).is_err(), "cut at {cut}");
        }
        let mut other = good.clone();
        other[0] = 9;
        assert!(decode_block(key, &other).is_err());
        let mut bad_slot = good.clone();
        bad_slot[9] = 40;
        assert!(decode_block(key, &bad_slot).is_err());
        let mut no_status = good.clone();
        no_status[1 + 8 + 1 + 8] = 0; // the status code, after slot and time
        assert!(decode_block(key, &no_status).is_err());
        let block_zero = encode_block(&[Coded {
            id: 1,
            submitted_ms: 5,
            codes: [1; 7],
        }]);
        let mut id_zero = block_zero.clone();
        id_zero[9] = 0; // slot 0 of block 0: id 0
        assert!(decode_block(&super::super::keys::catalog_block(0), &id_zero).is_err());
        let mut elsewhere = good.clone();
        elsewhere[1] = 7; // another block number than the key's
        assert!(decode_block(key, &elsewhere).is_err());
        assert!(decode_block(&super::super::keys::catalog_block(2), &good).is_err());
    }

    #[test]
    fn listings_come_in_submit_order_and_follow_changes() {
        // Submit times out of id order, to check the order is by time.
        let records: Vec<Record> = [(1, 30), (2, 10), (3, 20), (4, 40)]
            .into_iter()
            .map(|(id, at)| record(id, at, Status::Triage, "gemeente a"))
            .collect();
        let (catalog, _) = catalog_with(&records);
        let all = catalog.filter(&Wanted::default()).unwrap();
        assert_eq!(ids(&catalog.matching(&all, None, 10)), vec![2, 3, 1, 4]);
        // Paging continues after the position handed out.
        let first = catalog.matching(&all, None, 2);
        assert_eq!(
            ids(&catalog.matching(&all, Some(first[1].0), 10)),
            vec![1, 4]
        );

        let (_, routed) = catalog_with(&[record(3, 20, Status::Routed, "gemeente a")]);
        // The codes of a second catalog differ; give this one its own.
        catalog.learn(Kind::Status, Status::Routed.as_str(), 2);
        let moved = catalog
            .read()
            .names
            .coded(&record(3, 20, Status::Routed, "gemeente a"))
            .unwrap();
        assert_ne!(moved, routed[0]);
        catalog.put(&moved);
        let triage = catalog
            .filter(&Wanted {
                status: Some(Status::Triage),
                ..Wanted::default()
            })
            .unwrap();
        assert_eq!(ids(&catalog.matching(&triage, None, 10)), vec![2, 1, 4]);
        assert_eq!(catalog.len(), 4);
        let open = catalog.open();
        assert_eq!(open.len(), 4);
        assert_eq!(open[0].submitted_ms, 10);
        assert_eq!(open[1].status, Status::Routed);
    }

    #[test]
    fn a_name_no_question_has_matches_nothing_and_time_bounds_hold() {
        let records: Vec<Record> = (1..=10)
            .map(|id| record(id, id as i64 * 10, Status::Triage, "gemeente a"))
            .collect();
        let (catalog, _) = catalog_with(&records);
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
        assert_eq!(ids(&catalog.matching(&portal, None, 100)), vec![4, 6]);
    }
}
