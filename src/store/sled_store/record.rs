//! A question's stored value and what a write persists.
//!
//! The value of `q` + id is the question as compact JSON, then each event
//! of its history as one more JSON line: `{question}\n{event 0}\n{event 1}…`.
//! Compact JSON never holds a raw newline, so the question is everything
//! before the first one, and a format-3 record (the question alone) reads
//! the same. One key per question instead of one per event: sled 0.34
//! keeps bookkeeping in memory for every key (see `catalog`), and a read
//! of a question or its history is one lookup.

use super::{abort, from_json, to_json, TxResult};
use crate::store::catalog;
use crate::store::keys;
use crate::store::leadtime;
use crate::store::model::{Event, Question, QuestionId};
use crate::store::transition::Transition;
use crate::store::StoreError;
use serde::Serialize;
use sled::transaction::TransactionalTree;

/// The question's part of a stored value.
pub(super) fn head(value: &[u8]) -> &[u8] {
    match value.iter().position(|&b| b == b'\n') {
        Some(end) => &value[..end],
        None => value,
    }
}

/// The history's part of a stored value: event lines separated by
/// newlines, empty when there is none.
pub(super) fn tail(value: &[u8]) -> &[u8] {
    match value.iter().position(|&b| b == b'\n') {
        Some(end) => &value[end + 1..],
        None => &[],
    }
}

/// A stored value: the question, the history already stored (`tail` of
/// the old value) and the new events after it.
pub(super) fn encode(q: &Question, history: &[u8], new: &[Event]) -> Result<Vec<u8>, StoreError> {
    let mut out = to_json("a question", q)?;
    out.reserve(history.len() + 1 + new.len() * 256);
    if !history.is_empty() {
        out.push(b'\n');
        out.extend_from_slice(history);
    }
    for e in new {
        out.push(b'\n');
        out.extend_from_slice(&to_json("an event", e)?);
    }
    Ok(out)
}

/// Every event of a stored value's history, in order.
pub(super) fn events(key: &[u8], value: &[u8]) -> Result<Vec<Event>, StoreError> {
    let tail = tail(value);
    if tail.is_empty() {
        return Ok(Vec::new());
    }
    tail.split(|&b| b == b'\n')
        .map(|line| from_json(key, line))
        .collect()
}

/// One event of a stored value's history. Events are numbered from 0 in
/// order, so event `seq` is line `seq`; the number is checked anyway.
pub(super) fn event(key: &[u8], value: &[u8], seq: u32) -> Result<Option<Event>, StoreError> {
    let tail = tail(value);
    if tail.is_empty() {
        return Ok(None);
    }
    if let Some(line) = tail.split(|&b| b == b'\n').nth(seq as usize) {
        let e: Event = from_json(key, line)?;
        if e.seq == seq {
            return Ok(Some(e));
        }
    }
    Ok(events(key, value)?.into_iter().find(|e| e.seq == seq))
}

/// A question read in a transaction, with its stored value.
pub(super) fn tx_record(
    tx: &TransactionalTree,
    id: QuestionId,
) -> TxResult<Option<(Question, sled::IVec)>> {
    let key = keys::question(id);
    match tx.get(&key)? {
        None => Ok(None),
        Some(value) => match from_json(&key, head(&value)) {
            Ok(q) => Ok(Some((q, value))),
            Err(e) => abort(e),
        },
    }
}

/// A question read in a transaction.
pub(super) fn tx_question(tx: &TransactionalTree, id: QuestionId) -> TxResult<Option<Question>> {
    Ok(tx_record(tx, id)?.map(|(q, _)| q))
}

fn tx_put<T: Serialize>(
    tx: &TransactionalTree,
    what: &'static str,
    key: Vec<u8>,
    value: &T,
) -> TxResult<()> {
    match to_json(what, value) {
        Ok(bytes) => {
            tx.insert(key, bytes)?;
            Ok(())
        }
        Err(e) => abort(e),
    }
}

/// A stored number (a counter, a request's question id); a value that is
/// not one is damage, never zero.
pub(super) fn stored_number(key: &[u8], value: &[u8]) -> Result<u64, StoreError> {
    keys::number_of(value).ok_or_else(|| StoreError::Corrupt {
        key: String::from_utf8_lossy(key).escape_debug().to_string(),
        reason: format!("{} bytes where a number of 8 was expected", value.len()),
    })
}

/// The next number of a counter, raised in the transaction. A batch of
/// writes raises it in its own transaction's view, so the numbers of one
/// batch follow each other and the counter is written once per batch.
pub(super) fn next_number(tx: &TransactionalTree, counter: &[u8]) -> TxResult<u64> {
    let last = match tx.get(counter)? {
        None => 0,
        Some(v) => match stored_number(counter, &v) {
            Ok(n) => n,
            Err(e) => return abort(e),
        },
    };
    tx.insert(counter, &keys::number(last + 1))?;
    Ok(last + 1)
}

fn increment(tx: &TransactionalTree, key: &[u8]) -> TxResult<()> {
    let count = tx
        .get(key)?
        .as_deref()
        .and_then(keys::number_of)
        .unwrap_or(0);
    tx.insert(key, &keys::number(count + 1))?;
    Ok(())
}

/// What a write changed that the copies in memory follow, told to them
/// only once the write committed: the lead-time counters it incremented,
/// and the question's catalog entry with the names it gave a code.
#[derive(Debug, Default)]
pub(super) struct Written {
    pub(super) incremented: Vec<Vec<u8>>,
    pub(super) entry: Option<catalog::Coded>,
    pub(super) names: Vec<(catalog::Kind, String, u32)>,
}

/// The code of a name in the store's dictionary, handed out in this
/// transaction if the name is new (and noted in `new`). Names that
/// committed writes coded are in the catalog's memory, so only a new name
/// reads the store.
fn name_code(
    tx: &TransactionalTree,
    known: &catalog::Catalog,
    kind: catalog::Kind,
    name: &str,
    new: &mut Vec<(catalog::Kind, String, u32)>,
) -> TxResult<u32> {
    if let Some(code) = known.code(kind, name) {
        return Ok(code);
    }
    let key = keys::name(kind.tag(), name);
    let code = match tx.get(&key)? {
        Some(v) => match stored_number(&key, &v) {
            Ok(n) => n,
            Err(e) => return abort(e),
        },
        None => {
            let n = next_number(tx, &keys::name_counter(kind.tag()))?;
            tx.insert(key, &keys::number(n))?;
            n
        }
    };
    let Ok(code) = u32::try_from(code) else {
        return abort(StoreError::Corrupt {
            key: format!("name code of {name:?}"),
            reason: format!("{code} is past the 32-bit codes the catalog holds"),
        });
    };
    new.push((kind, name.to_owned(), code));
    Ok(code)
}

/// Writes what a transition decided: the record with its new events, the
/// question's catalog entry, its queue or review entries (those of the old
/// state that no longer hold are removed), lead-time counters and
/// feedback. `before` is the question and its stored value as read in
/// this transaction.
pub(super) fn persist(
    tx: &TransactionalTree,
    known: &catalog::Catalog,
    before: Option<(&Question, &[u8])>,
    t: &Transition,
) -> TxResult<Written> {
    let q = &t.question;
    let new = keys::ordered_entries(q);
    if let Some((old, _)) = before {
        for k in keys::ordered_entries(old) {
            if !new.contains(&k) {
                tx.remove(k)?;
            }
        }
    }
    for k in new {
        tx.insert(k, &[] as &[u8])?;
    }
    let record = catalog::Record::of(q);
    let mut names = Vec::new();
    let mut codes = [0; 7];
    for (slot, (kind, name)) in codes.iter_mut().zip(record.names()) {
        *slot = name_code(tx, known, kind, name, &mut names)?;
    }
    let entry = record.coded(codes);
    let block = keys::catalog_block(catalog::block_of(q.id));
    let existing = tx.get(&block)?;
    match catalog::put_in_block(&block, existing.as_deref(), entry) {
        Ok(bytes) => {
            tx.insert(block, bytes)?;
        }
        Err(e) => return abort(e),
    }
    let mut incremented = Vec::new();
    if !t.measurements.is_empty() {
        let groups = leadtime::groups_of(q);
        for m in &t.measurements {
            for key in keys::measurement(m, &groups) {
                increment(tx, &key)?;
                incremented.push(key);
            }
        }
    }
    if let Some(f) = &t.feedback {
        let n = next_number(tx, keys::FEEDBACK_COUNTER)?;
        tx_put(tx, "feedback", keys::feedback(n), f)?;
    }
    let history = before.map_or(&[][..], |(_, value)| tail(value));
    match encode(q, history, &t.events) {
        Ok(bytes) => {
            tx.insert(keys::question(q.id), bytes)?;
        }
        Err(e) => return abort(e),
    }
    Ok(Written {
        incremented,
        entry: Some(entry),
        names,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_question_is_the_first_line_and_a_lone_question_has_no_history() {
        assert_eq!(head(b"{\"a\":1}\n{\"seq\":0}"), b"{\"a\":1}");
        assert_eq!(
            tail(b"{\"a\":1}\n{\"seq\":0}\n{\"seq\":1}"),
            b"{\"seq\":0}\n{\"seq\":1}"
        );
        assert_eq!(head(b"{\"a\":1}"), b"{\"a\":1}");
        assert!(tail(b"{\"a\":1}").is_empty());
    }
}
