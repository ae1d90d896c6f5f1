//! Every key layout of the sled tree, encoded and decoded in one place. One
//! tree holds everything, so that a question, its events and all its index
//! entries change in one single-tree transaction. Numbers are big-endian so
//! keys sort in numeric order; times are milliseconds since the epoch,
//! offset so that they sort as unsigned numbers.
//!
//! | prefix | key | value |
//! |---|---|---|
//! | `M` | `M` + name | store metadata (format version; while upgrading, the format it started from) |
//! | `M#` | `M#` + counter name | last number handed out (u64) |
//! | `M:` | `M:` + name | named service values |
//! | `q` | `q` + id | question (JSON), then its events, one JSON line each (`record`) |
//! | `C` | `C` + id / 32 | the catalog entries of 32 questions (`catalog`) |
//! | `N` | `N` + kind + name | the name's code in catalog entries (u64) |
//! | `r` | `r` + [`w` + portal + 0] + request id | question id (u64) |
//! | `p` | `p` + priority key + id | (triage queue) |
//! | `v` | `v` + review date + id | (due for review) |
//! | `h` | `h` + metric + clock + dimension + value + 0 + month + bucket | count (u64) |
//! | `x` | `x` + expert id | expert record (JSON) |
//! | `E` | `E` + id | the question's embedding (the similar module's encoding) |
//! | `P` | `P` + provider id | provider change (JSON) |
//! | `f` | `f` + feedback number | feedback (JSON) |
//!
//! Store format 3 kept each event under its own key (`e` + id + seq) and
//! seven secondary indexes (`a c o s t w`, one key each per question);
//! format 4 holds the same in the record and the catalog, because sled
//! 0.34 keeps bookkeeping in memory for every key (`catalog`). Only the
//! upgrade reads the old keys ([`LEGACY_EVENT`], [`LEGACY_INDEXES`]).

use super::leadtime::{self, Clock, Dimension, Measurement, Metric};
use super::model::{Question, QuestionId};
use super::StoreError;
use crate::domain::Status;

pub const META: u8 = b'M';
pub const QUESTION: u8 = b'q';
/// Format 3's events, one key each: `e` + id + seq (4 bytes).
pub const LEGACY_EVENT: u8 = b'e';
/// Format 3's secondary indexes (by assignee, category, organisation,
/// status, time and portal), removed by the upgrade to format 4.
pub const LEGACY_INDEXES: &[u8] = b"acostw";
pub const REQUEST: u8 = b'r';
/// The catalog blocks: `C` + block number.
pub const CATALOG: u8 = b'C';
/// The catalog's dictionary: `N` + kind + name → code.
pub const NAME: u8 = b'N';
/// The tag that scopes a request id by portal (see [`request`]).
const PORTAL_SCOPE: u8 = b'w';
pub const QUEUE: u8 = b'p';
pub const REVIEW: u8 = b'v';
pub const HISTOGRAM: u8 = b'h';
pub const EXPERT: u8 = b'x';
pub const FEEDBACK: u8 = b'f';
/// Provider directory changes over the taxonomy: `P` + provider id.
pub const PROVIDER: u8 = b'P';
/// Question embeddings from the embedding service: `E` + id.
pub const EMBEDDING: u8 = b'E';

/// The store's format marker.
pub const FORMAT: &[u8] = b"Mformat";
/// While an upgrade is under way: the format it started from.
pub const UPGRADING: &[u8] = b"Mupgrading";
/// The counter of question ids: ids are handed out densely (q1, q2, …),
/// also across restarts, because people read them aloud.
pub const QUESTION_COUNTER: &[u8] = b"M#question";
/// The counter of feedback records.
pub const FEEDBACK_COUNTER: &[u8] = b"M#feedback";

/// A time as a sortable unsigned number.
pub fn time(ms: i64) -> [u8; 8] {
    ((ms as u64) ^ (1 << 63)).to_be_bytes()
}

/// A stored count or number (counters, request ids).
pub fn number(n: u64) -> [u8; 8] {
    n.to_be_bytes()
}

/// The count or number stored by [`number`]; `None` when the value is
/// not one.
pub fn number_of(bytes: &[u8]) -> Option<u64> {
    <[u8; 8]>::try_from(bytes).ok().map(u64::from_be_bytes)
}

/// The first key after every key that starts with `prefix`.
pub fn end_of(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0xff; 16]
}

/// The record of a question.
pub fn question(id: QuestionId) -> Vec<u8> {
    let mut k = vec![QUESTION];
    k.extend_from_slice(&id.get().to_be_bytes());
    k
}

/// Key of a question's embedding.
pub fn embedding(id: QuestionId) -> Vec<u8> {
    let mut k = vec![EMBEDDING];
    k.extend_from_slice(&id.get().to_be_bytes());
    k
}

/// A name's code in the catalog's dictionary.
pub fn name(kind: u8, name: &str) -> Vec<u8> {
    let mut k = vec![NAME, kind];
    k.extend_from_slice(name.as_bytes());
    k
}

/// The counter of the codes of one kind of name.
pub fn name_counter(kind: u8) -> Vec<u8> {
    let mut k = b"M#name-".to_vec();
    k.push(kind);
    k
}

/// A catalog block.
pub fn catalog_block(block: u64) -> Vec<u8> {
    let mut k = vec![CATALOG];
    k.extend_from_slice(&block.to_be_bytes());
    k
}

/// The question a client request id created. Request ids are scoped by
/// portal: two portals that happen to pick the same id get two questions,
/// and neither is handed the other's. Questions without a portal keep the
/// unscoped key of format 1.
pub fn request(portal: &str, request_id: &str) -> Vec<u8> {
    let mut k = vec![REQUEST];
    if !portal.is_empty() {
        k.extend_from_slice(&text_prefix(PORTAL_SCOPE, portal));
    }
    k.extend_from_slice(request_id.as_bytes());
    k
}

/// The discriminating part of an index key with a text value: the value
/// then a 0 byte, so `ab` and `abc` never share a range.
pub fn text_prefix(tag: u8, value: &str) -> Vec<u8> {
    let mut k = vec![tag];
    k.extend_from_slice(value.as_bytes());
    k.push(0);
    k
}

/// The question id at the end of any index key.
pub fn id_at_end(key: &[u8]) -> Option<QuestionId> {
    let tail: [u8; 8] = key.get(key.len().checked_sub(8)?..)?.try_into().ok()?;
    Some(QuestionId::new(u64::from_be_bytes(tail)))
}

/// Priority keys sort highest first: the bit pattern of an `f64` made
/// order-preserving, then inverted.
pub fn queue(priority_at_epoch: f64, id: QuestionId) -> Vec<u8> {
    let bits = priority_at_epoch.to_bits();
    let ordered = if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    };
    let mut k = vec![QUEUE];
    k.extend_from_slice(&(!ordered).to_be_bytes());
    k.extend_from_slice(&id.get().to_be_bytes());
    k
}

/// The priority stored in a queue key.
pub fn queue_priority(key: &[u8]) -> Option<f64> {
    let raw: [u8; 8] = key.get(1..9)?.try_into().ok()?;
    let ordered = !u64::from_be_bytes(raw);
    let bits = if ordered >> 63 == 1 {
        ordered & !(1 << 63)
    } else {
        !ordered
    };
    Some(f64::from_bits(bits))
}

/// An answer due for review at `at_ms`.
pub fn review(at_ms: i64, id: QuestionId) -> Vec<u8> {
    let mut k = vec![REVIEW];
    k.extend_from_slice(&time(at_ms));
    k.extend_from_slice(&id.get().to_be_bytes());
    k
}

/// An expert of the directory.
pub fn expert(id: &str) -> Vec<u8> {
    let mut k = vec![EXPERT];
    k.extend_from_slice(id.as_bytes());
    k
}

/// Key of a named service value: `M` + `:` + name (the store's own
/// format marker has no colon, so the two never meet).
pub fn meta(name: &str) -> Vec<u8> {
    let mut k = vec![META, b':'];
    k.extend_from_slice(name.as_bytes());
    k
}

/// Key of a provider directory change.
pub fn provider(id: &str) -> Vec<u8> {
    let mut k = vec![PROVIDER];
    k.extend_from_slice(id.as_bytes());
    k
}

/// A feedback record, by its number.
pub fn feedback(n: u64) -> Vec<u8> {
    let mut k = vec![FEEDBACK];
    k.extend_from_slice(&n.to_be_bytes());
    k
}

/// The number of a feedback or question record key (the 8 bytes after its
/// prefix).
pub fn record_number(key: &[u8]) -> Option<u64> {
    key.get(1..9).and_then(number_of)
}

/// The ordered entries a question has in its current state: its place in
/// the triage queue while in triage, its review date once answered. (The
/// other listings are served by the catalog.)
pub fn ordered_entries(q: &Question) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    if q.status == Status::Triage {
        out.push(queue(q.priority_at_epoch(), q.id));
    }
    if matches!(q.status, Status::Answered | Status::Closed) {
        if let Some(at) = q.answer.as_ref().and_then(|a| a.review_after_ms) {
            out.push(review(at, q.id));
        }
    }
    out
}

/// Lead-time histograms are stored one counter per bucket: key
/// `h` + metric + clock + dimension + group + 0 + month + bucket, value the
/// count. A measurement increments a handful of 8-byte values instead of
/// rewriting whole histograms, which matters twice with sled: every
/// transaction commits under one global lock, and a log-structured store
/// keeps rewritten values around until it cleans its segments (rewriting
/// multi-KiB histograms made a store of a million questions 36 GiB). A query
/// scans the buckets of one metric, clock and grouping
/// ([`histograms`]).
pub fn bucket(
    metric: Metric,
    clock: Clock,
    dim: Dimension,
    group: &str,
    month: u32,
    bucket: u64,
) -> Vec<u8> {
    let mut k = histograms(metric, clock, dim).to_vec();
    k.extend_from_slice(group.as_bytes());
    k.push(0);
    k.extend_from_slice(&month.to_be_bytes());
    k.extend_from_slice(&bucket.to_be_bytes());
    k
}

/// The prefix of every bucket of one metric, clock and grouping.
pub fn histograms(metric: Metric, clock: Clock, dim: Dimension) -> [u8; 4] {
    [HISTOGRAM, metric as u8, clock as u8, dim as u8]
}

/// A bucket key below its [`histograms`] prefix, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BucketKey<'a> {
    /// The group's value.
    pub group: &'a [u8],
    /// The month, `yyyymm`.
    pub month: u32,
    /// The bucket's value (ms).
    pub bucket: u64,
}

/// Decodes a bucket key; `None` for a key that is not one.
pub fn bucket_of(key: &[u8]) -> Option<BucketKey<'_>> {
    let rest = key.get(4..)?;
    let zero = rest.iter().position(|&b| b == 0)?;
    let tail = &rest[zero + 1..];
    Some(BucketKey {
        group: &rest[..zero],
        month: u32::from_be_bytes(tail.get(..4)?.try_into().ok()?),
        bucket: u64::from_be_bytes(tail.get(4..12)?.try_into().ok()?),
    })
}

/// The bucket counters a measurement increments.
pub fn measurement(m: &Measurement, groups: &[(Dimension, String)]) -> Vec<Vec<u8>> {
    let month = crate::domain::worktime::month_of(m.at_ms);
    let mut out = Vec::with_capacity(2 * groups.len());
    for (clock, value) in [
        (Clock::Calendar, m.calendar_ms),
        (Clock::WorkingHours, m.working_ms),
    ] {
        let b = leadtime::bucket_of(value.max(0) as u64);
        for (dim, group) in groups {
            out.push(bucket(m.metric, clock, *dim, group, month, b));
        }
    }
    out
}

/// A 64-bit FNV-1a hash, to bind page tokens to their listing.
pub fn fnv(bytes: &[u8]) -> [u8; 8] {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h.to_be_bytes()
}

/// A position in a catalog listing (submit time, id) as page-token bytes.
pub fn list_position(submitted_ms: i64, id: u64) -> [u8; 16] {
    let mut out = [0; 16];
    out[..8].copy_from_slice(&time(submitted_ms));
    out[8..].copy_from_slice(&id.to_be_bytes());
    out
}

/// The position [`list_position`] encoded; `None` for other bytes.
pub fn list_position_of(bytes: &[u8]) -> Option<(i64, u64)> {
    let t: [u8; 8] = bytes.get(..8)?.try_into().ok()?;
    let id: [u8; 8] = bytes.get(8..16)?.try_into().ok()?;
    (bytes.len() == 16).then(|| {
        (
            (u64::from_be_bytes(t) ^ (1 << 63)) as i64,
            u64::from_be_bytes(id),
        )
    })
}

/// Page tokens: hex of a hash of the listing and the last key of the
/// page. Opaque to callers; checked on the way back in.
pub fn page_token(listing: &[u8], last_key: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    fnv(listing)
        .iter()
        .chain(last_key)
        .flat_map(|&b| {
            [
                HEX[usize::from(b >> 4)] as char,
                HEX[usize::from(b & 15)] as char,
            ]
        })
        .collect()
}

/// The last key of the previous page, if `token` was made for `listing`.
pub fn parse_page_token(listing: &[u8], token: &str) -> Result<Vec<u8>, StoreError> {
    if !token.len().is_multiple_of(2) {
        return Err(StoreError::BadPageToken);
    }
    let bytes = (0..token.len())
        .step_by(2)
        .map(|i| {
            token
                .get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect::<Option<Vec<u8>>>()
        .ok_or(StoreError::BadPageToken)?;
    match bytes.split_at_checked(8) {
        Some((hash, last)) if hash == fnv(listing) => Ok(last.to_vec()),
        _ => Err(StoreError::BadPageToken),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_sort_in_numeric_order_also_before_1970() {
        assert!(time(-5) < time(0));
        assert!(time(0) < time(1));
        assert!(time(1_700_000_000_000) < time(1_800_000_000_000));
    }

    #[test]
    fn queue_keys_sort_highest_priority_first_and_round_trip() {
        let id = QuestionId::new(1);
        let values = [-3.5, -0.0, 0.0, 1.25, 7.0, 1e9];
        for w in values.windows(2) {
            assert!(
                queue(w[1], id) <= queue(w[0], id),
                "{} should sort before {}",
                w[1],
                w[0]
            );
        }
        for v in values {
            assert_eq!(queue_priority(&queue(v, id)), Some(v));
        }
    }

    #[test]
    fn bucket_keys_round_trip_with_any_group_text() {
        for group in ["", "pianoo", "expert:e-1", "GEMEENTE"] {
            let k = bucket(
                Metric::TimeToAnswer,
                Clock::WorkingHours,
                Dimension::Provider,
                group,
                202_603,
                12_345,
            );
            assert!(k.starts_with(&histograms(
                Metric::TimeToAnswer,
                Clock::WorkingHours,
                Dimension::Provider
            )));
            let b = bucket_of(&k).unwrap();
            assert_eq!(
                (b.group, b.month, b.bucket),
                (group.as_bytes(), 202_603, 12_345)
            );
        }
        assert_eq!(bucket_of(b"h\x01\x01\x01abc"), None);
    }

    #[test]
    fn numbers_and_record_keys_round_trip() {
        assert_eq!(number_of(&number(42)), Some(42));
        assert_eq!(number_of(b"abc"), None);
        assert_eq!(record_number(&feedback(7)), Some(7));
        assert_eq!(record_number(&question(QuestionId::new(9))), Some(9));
        assert!(end_of(b"ab") > b"ab\xff\xff".to_vec());
        assert_eq!(end_of(b"a\xff"), b"b".to_vec());
    }

    #[test]
    fn list_positions_round_trip_also_before_1970() {
        for (ms, id) in [(-5_i64, 1_u64), (0, 7), (1_700_000_000_000, u64::MAX)] {
            assert_eq!(list_position_of(&list_position(ms, id)), Some((ms, id)));
        }
        assert_eq!(list_position_of(b"short"), None);
    }

    #[test]
    fn page_tokens_round_trip_and_refuse_other_listings() {
        let token = page_token(b"s\x02", b"s\x02abc");
        assert_eq!(parse_page_token(b"s\x02", &token).unwrap(), b"s\x02abc");
        assert!(matches!(
            parse_page_token(b"s\x03", &token),
            Err(StoreError::BadPageToken)
        ));
        assert!(matches!(
            parse_page_token(b"s\x02", "zz"),
            Err(StoreError::BadPageToken)
        ));
    }
}
