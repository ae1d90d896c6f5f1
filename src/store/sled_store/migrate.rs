//! Upgrades of a store written by an older kicer, run at open before
//! anything else reads it.
//!
//! Before the first step the format marker is set to this build's
//! format and the format the upgrade starts from is noted beside it
//! (`Mupgrading`), which is removed after the last step. So an older kicer
//! refuses a store from its first changed key on (rather than misreading
//! moved records), and an upgrade that stops half-way (a crash, a full
//! disk, damage it refuses) goes on at the next start; every step is
//! idempotent.

use super::super::catalog;
use super::super::keys;
use super::super::model::{Event, Question, QuestionId};
use super::super::StoreError;
use super::{from_json, io, record, stored_number, SledStore};
use std::collections::BTreeMap;

/// Entries written per sled batch: large enough that an upgrade of a
/// million questions takes seconds, small enough to bound its memory.
const BATCH: usize = 10_000;

/// The format an upgrade under way started from; `None` when none is.
pub(super) fn upgrading_from(db: &sled::Db) -> Result<Option<u32>, StoreError> {
    let Some(v) = db
        .get(keys::UPGRADING)
        .map_err(io("reading the upgrade marker"))?
    else {
        return Ok(None);
    };
    let bytes: [u8; 4] = v.as_ref().try_into().map_err(|_| StoreError::Corrupt {
        key: String::from_utf8_lossy(keys::UPGRADING).into_owned(),
        reason: format!("{} bytes where a format number of 4 was expected", v.len()),
    })?;
    Ok(Some(u32::from_be_bytes(bytes)))
}

/// Whether a store of format `from` can be upgraded by this build.
pub(super) fn can_upgrade(from: u32) -> bool {
    (1..super::FORMAT).contains(&from)
}

/// Marks an upgrade from `from` as begun (once): the format marker says
/// this build's format from now on.
pub(super) fn begin(db: &sled::Db, from: u32) -> Result<(), StoreError> {
    if upgrading_from(db)?.is_some() {
        return Ok(());
    }
    let mut batch = sled::Batch::default();
    batch.insert(keys::UPGRADING, &from.to_be_bytes());
    batch.insert(keys::FORMAT, &super::FORMAT.to_be_bytes());
    db.apply_batch(batch).map_err(io("marking the upgrade"))?;
    db.flush().map_err(io("flushing the upgrade marker"))?;
    tracing::info!(from, to = super::FORMAT, "upgrading the store");
    Ok(())
}

/// The upgrades of a store of format `from` that need only its keys.
/// [`finish`] does the rest once the store is open.
pub(super) fn upgrade_keys(db: &sled::Db, from: u32) -> Result<(), StoreError> {
    if from == 1 {
        let rescoped = portal_scoping(db)?;
        db.flush().map_err(io("flushing the upgraded store"))?;
        tracing::info!(
            request_ids_rescoped = rescoped,
            "store upgraded from format 1 to 2 (request ids scoped by portal)"
        );
    }
    Ok(())
}

/// The upgrades that need the open store, then the end of the upgrade:
/// format 4 moves each question's events into its record (first: the
/// counter rebuild of format 3 reads them there); format 3 counts lead
/// times at two significant digits, so the counters are recomputed from
/// the event history (the source of truth); format 4 then writes the
/// catalog from the records and removes the old index keys.
pub(super) fn finish(store: &SledStore, found: u32) -> Result<(), StoreError> {
    if found < 4 {
        let started = std::time::Instant::now();
        tracing::info!("upgrading the store to format 4: moving events into their questions");
        let moved = pack_events(&store.db)?;
        tracing::info!(
            questions = moved,
            seconds = started.elapsed().as_secs_f32(),
            "events moved"
        );
    }
    if found < 3 {
        let started = std::time::Instant::now();
        tracing::info!(
            "upgrading the store to format 3: recomputing lead-time counters from the history"
        );
        let questions = store.rebuild_counters()?;
        tracing::info!(
            questions,
            seconds = started.elapsed().as_secs_f32(),
            "lead-time counters recomputed"
        );
    }
    if found < 4 {
        let started = std::time::Instant::now();
        let (catalogued, removed) = (write_catalog(&store.db)?, remove_indexes(&store.db)?);
        tracing::info!(
            questions = catalogued,
            index_keys_removed = removed,
            seconds = started.elapsed().as_secs_f32(),
            "store upgraded to format 4 (catalog written, old indexes removed)"
        );
    }
    store
        .db
        .remove(keys::UPGRADING)
        .map_err(io("removing the upgrade marker"))?;
    store
        .db
        .flush()
        .map_err(io("flushing the upgraded store"))?;
    tracing::info!(format = super::FORMAT, "store upgrade finished");
    Ok(())
}

/// Applies a batch and, every tenth one, flushes: sled 0.34 holds every
/// unflushed change in memory, and an upgrade of a million questions
/// would otherwise grow to gigabytes.
fn apply(db: &sled::Db, batch: sled::Batch, n: &mut u64) -> Result<(), StoreError> {
    db.apply_batch(batch)
        .map_err(io("writing the upgraded store"))?;
    *n += 1;
    if n.is_multiple_of(10) {
        db.flush().map_err(io("flushing the upgraded store"))?;
    }
    Ok(())
}

/// Moves every format-3 event key (`e` + id + seq) into its question's
/// record. A question whose events moved has none left under `e`, so a
/// crash half-way runs again from where it stopped. Returns how many
/// questions had events moved.
fn pack_events(db: &sled::Db) -> Result<u64, StoreError> {
    let mut moved = 0;
    let (mut batch, mut pending, mut applied) = (sled::Batch::default(), 0, 0);
    let mut current: Option<(QuestionId, Vec<Event>, Vec<sled::IVec>)> = None;
    let flush_one = |current: Option<(QuestionId, Vec<Event>, Vec<sled::IVec>)>,
                     batch: &mut sled::Batch|
     -> Result<bool, StoreError> {
        let Some((id, mut events, old_keys)) = current else {
            return Ok(false);
        };
        let key = keys::question(id);
        let Some(value) = db.get(&key).map_err(io("reading a question to upgrade"))? else {
            // Events of a question that is gone: drop them with it.
            old_keys.into_iter().for_each(|k| batch.remove(k));
            return Ok(false);
        };
        let q: Question = from_json(&key, record::head(&value))?;
        let mut all = record::events(&key, &value)?;
        events.sort_by_key(|e| e.seq);
        all.extend(events);
        batch.insert(key, record::encode(&q, &[], &all)?);
        old_keys.into_iter().for_each(|k| batch.remove(k));
        Ok(true)
    };
    for entry in db.scan_prefix([keys::LEGACY_EVENT]) {
        let (k, v) = entry.map_err(io("reading events to upgrade"))?;
        let Some(id) = keys::record_number(&k).map(QuestionId::new) else {
            continue;
        };
        let event: Event = from_json(&k, &v)?;
        if current.as_ref().is_some_and(|(c, _, _)| *c != id) {
            moved += u64::from(flush_one(current.take(), &mut batch)?);
            pending += 1;
            if pending >= BATCH {
                apply(db, std::mem::take(&mut batch), &mut applied)?;
                pending = 0;
            }
        }
        let slot = current.get_or_insert_with(|| (id, Vec::new(), Vec::new()));
        slot.1.push(event);
        slot.2.push(k);
    }
    moved += u64::from(flush_one(current.take(), &mut batch)?);
    apply(db, batch, &mut applied)?;
    Ok(moved)
}

/// Writes the catalog blocks of every question from the records
/// (replacing any there are), with the dictionary of their names: codes
/// already stored (by an upgrade interrupted before) are kept, new ones
/// are handed out as a write would. Returns how many questions.
fn write_catalog(db: &sled::Db) -> Result<u64, StoreError> {
    let mut names = catalog::Names::default();
    let mut last = [0u64; 7];
    for (kind, name, code) in super::stored_names(db)? {
        last[kind as usize] = last[kind as usize].max(u64::from(code));
        names.insert(kind, &name, code);
    }
    let mut blocks: BTreeMap<u64, Vec<catalog::Coded>> = BTreeMap::new();
    let mut count = 0;
    let (mut batch, mut applied) = (sled::Batch::default(), 0);
    for entry in db.scan_prefix([keys::QUESTION]) {
        let (k, v) = entry.map_err(io("reading questions to catalogue"))?;
        let q: Question = from_json(&k, record::head(&v))?;
        let record = catalog::Record::of(&q);
        for (kind, name) in record.names() {
            if names.code(kind, name).is_none() {
                let code = last[kind as usize] + 1;
                last[kind as usize] = code;
                names.insert(kind, name, code as u32);
                // The name goes in the batch of the first block using it.
                batch.insert(keys::name(kind.tag(), name), &keys::number(code));
                batch.insert(keys::name_counter(kind.tag()), &keys::number(code));
            }
        }
        let Some(coded) = names.coded(&record) else {
            continue; // every name was just given a code
        };
        let block = catalog::block_of(q.id);
        // Records come in id order: a block is complete once a later one
        // starts.
        while let Some((&first, _)) = blocks.first_key_value() {
            if first >= block {
                break;
            }
            if let Some((n, entries)) = blocks.pop_first() {
                batch.insert(keys::catalog_block(n), catalog::encode_block(&entries));
            }
        }
        blocks.entry(block).or_default().push(coded);
        count += 1;
        if count % (BATCH as u64) == 0 {
            apply(db, std::mem::take(&mut batch), &mut applied)?;
        }
    }
    for (n, entries) in blocks {
        batch.insert(keys::catalog_block(n), catalog::encode_block(&entries));
    }
    apply(db, batch, &mut applied)?;
    Ok(count)
}

/// Removes format 3's secondary index keys. Returns how many.
fn remove_indexes(db: &sled::Db) -> Result<u64, StoreError> {
    let mut removed = 0;
    let (mut batch, mut pending, mut applied) = (sled::Batch::default(), 0, 0);
    for &prefix in keys::LEGACY_INDEXES {
        for entry in db.scan_prefix([prefix]).keys() {
            batch.remove(entry.map_err(io("reading old index keys"))?);
            removed += 1;
            pending += 1;
            if pending == BATCH {
                apply(db, std::mem::take(&mut batch), &mut applied)?;
                pending = 0;
            }
        }
    }
    apply(db, batch, &mut applied)?;
    Ok(removed)
}

/// Format 2 scopes request ids by portal (see `keys::request`): moves
/// the request ids of questions that have a portal. (It also indexed
/// questions by portal; format 4's catalog does that, written later in
/// the same upgrade.) Returns how many moved.
fn portal_scoping(db: &sled::Db) -> Result<u64, StoreError> {
    let mut rescoped = 0;
    let mut batch = sled::Batch::default();
    let mut pending = 0;
    for entry in db.scan_prefix([keys::REQUEST]) {
        let (k, v) = entry.map_err(io("reading request ids to upgrade"))?;
        // Scoped keys hold a NUL after the portal; request ids cannot
        // (the input rules refuse control characters), so a key without
        // one is an unscoped key of format 1.
        if k.contains(&0) {
            continue;
        }
        let id = stored_number(&k, &v)?;
        let Some(bytes) = db
            .get(keys::question(crate::store::QuestionId::new(id)))
            .map_err(io("reading a question to upgrade"))?
        else {
            continue;
        };
        let q: Question = from_json(&k, record::head(&bytes))?;
        if q.portal.is_empty() {
            continue;
        }
        let request_id = String::from_utf8_lossy(&k[1..]).into_owned();
        batch.insert(keys::request(&q.portal, &request_id), v);
        batch.remove(k);
        rescoped += 1;
        pending += 1;
        if pending == BATCH {
            db.apply_batch(std::mem::take(&mut batch))
                .map_err(io("moving request ids"))?;
            pending = 0;
        }
    }
    db.apply_batch(batch).map_err(io("moving request ids"))?;
    Ok(rescoped)
}
