//! Upgrades of a store written by an older kicer, run at open before
//! anything else reads it.
//!
//! Each step is idempotent and the format marker is written last, so a
//! crash half-way through an upgrade simply runs it again at the next
//! start.

use super::super::keys;
use super::super::model::Question;
use super::super::StoreError;
use super::{from_json, io, stored_number, SledStore};

/// Entries written per sled batch: large enough that an upgrade of a
/// million questions takes seconds, small enough to bound its memory.
const BATCH: usize = 10_000;

/// The upgrades of a store of format `found` that need only its keys,
/// each ending by writing the format it reached; `false` when there is no
/// upgrade path from `found`. [`finish`] does the rest once the store is
/// open.
pub(super) fn upgrade_keys(db: &sled::Db, found: u32) -> Result<bool, StoreError> {
    match found {
        1 => {
            let moved = portal_scoping(db)?;
            db.insert(keys::FORMAT, &2u32.to_be_bytes())
                .map_err(io("writing the format"))?;
            db.flush().map_err(io("flushing the upgraded store"))?;
            tracing::info!(
                questions_indexed = moved.0,
                request_ids_rescoped = moved.1,
                "store upgraded from format 1 to 2 (questions indexed by portal)"
            );
            Ok(true)
        }
        2 => Ok(true),
        _ => Ok(false),
    }
}

/// The upgrades that need the open store: format 3 counts lead times at
/// two significant digits, so the counters are recomputed from the event
/// history (the source of truth), then format 3 is written.
pub(super) fn finish(store: &SledStore, found: u32) -> Result<(), StoreError> {
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
    store
        .db
        .insert(keys::FORMAT, &super::FORMAT.to_be_bytes())
        .map_err(io("writing the format"))?;
    store
        .db
        .flush()
        .map_err(io("flushing the upgraded store"))?;
    Ok(())
}

/// Format 2 indexes questions by portal and scopes request ids by portal
/// (see `keys::request`): adds the index entries and moves the request
/// ids of questions that have a portal. Returns how many of each.
fn portal_scoping(db: &sled::Db) -> Result<(u64, u64), StoreError> {
    let mut indexed = 0;
    let mut batch = sled::Batch::default();
    let mut pending = 0;
    for entry in db.scan_prefix([keys::QUESTION]) {
        let (k, v) = entry.map_err(io("reading questions to upgrade"))?;
        let q: Question = from_json(&k, &v)?;
        if q.portal.is_empty() {
            continue;
        }
        batch.insert(
            keys::indexed(&keys::by_portal(&q.portal), q.submitted_ms, q.id),
            &[],
        );
        indexed += 1;
        pending += 1;
        if pending == BATCH {
            db.apply_batch(std::mem::take(&mut batch))
                .map_err(io("writing the portal index"))?;
            pending = 0;
        }
    }
    db.apply_batch(batch)
        .map_err(io("writing the portal index"))?;

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
        let q: Question = from_json(&k, &bytes)?;
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
    Ok((indexed, rescoped))
}
