//! Upgrades of a store written by an older kicer, run at open before
//! anything else reads it.
//!
//! Each step is idempotent and the format marker is written last, so a
//! crash half-way through an upgrade simply runs it again at the next
//! start.

use super::super::keys;
use super::super::model::Question;
use super::super::StoreError;
use super::{from_json, io, stored_number};

/// Entries written per sled batch: large enough that an upgrade of a
/// million questions takes seconds, small enough to bound its memory.
const BATCH: usize = 10_000;

/// Brings a store of format `found` up to `target`; `false` when there is
/// no upgrade path from `found`.
pub(super) fn upgrade(db: &sled::Db, found: u32, target: u32) -> Result<bool, StoreError> {
    if found != 1 || target != 2 {
        return Ok(false);
    }
    let moved = portal_scoping(db)?;
    db.insert(keys::FORMAT, &target.to_be_bytes())
        .map_err(io("writing the format"))?;
    db.flush().map_err(io("flushing the upgraded store"))?;
    tracing::info!(
        questions_indexed = moved.0,
        request_ids_rescoped = moved.1,
        "store upgraded from format 1 to 2 (questions indexed by portal)"
    );
    Ok(true)
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
