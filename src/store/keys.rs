//! The key layout of the sled tree. One tree holds everything, so that a
//! question, its event and all its index entries change in one
//! single-tree transaction. Numbers are big-endian so keys sort in numeric
//! order; times are milliseconds since the epoch, offset so that they sort
//! as unsigned numbers.
//!
//! | prefix | key | value |
//! |---|---|---|
//! | `M` | `M` + name | store metadata (format version) |
//! | `q` | `q` + id | question (JSON) |
//! | `e` | `e` + id + seq(4) | event (JSON) |
//! | `r` | `r` + request id | question id |
//! | `s` | `s` + status + submitted + id | (by status) |
//! | `c` | `c` + category + submitted + id | (by category) |
//! | `a` | `a` + assignee + 0 + submitted + id | (by assignee) |
//! | `o` | `o` + folded organisation + 0 + submitted + id | (by organisation) |
//! | `t` | `t` + submitted + id | (by submitted time) |
//! | `p` | `p` + priority key + id | (triage queue) |
//! | `v` | `v` + review date + id | (due for review) |
//! | `h` | `h` + metric + clock + dimension + value + 0 + month + shard | histogram |
//! | `x` | `x` + expert id | expert record (JSON) |
//! | `f` | `f` + feedback number | feedback (JSON) |

use super::model::QuestionId;
use super::StoreError;

pub const META: u8 = b'M';
pub const QUESTION: u8 = b'q';
pub const EVENT: u8 = b'e';
pub const REQUEST: u8 = b'r';
pub const BY_STATUS: u8 = b's';
pub const BY_CATEGORY: u8 = b'c';
pub const BY_ASSIGNEE: u8 = b'a';
pub const BY_ORGANIZATION: u8 = b'o';
pub const BY_TIME: u8 = b't';
pub const QUEUE: u8 = b'p';
pub const REVIEW: u8 = b'v';
pub const HISTOGRAM: u8 = b'h';
pub const EXPERT: u8 = b'x';
pub const FEEDBACK: u8 = b'f';
/// Provider directory changes over the taxonomy: `P` + provider id.
pub const PROVIDER: u8 = b'P';

/// A time as a sortable unsigned number.
pub fn time(ms: i64) -> [u8; 8] {
    ((ms as u64) ^ (1 << 63)).to_be_bytes()
}

pub fn question(id: QuestionId) -> Vec<u8> {
    let mut k = vec![QUESTION];
    k.extend_from_slice(&id.get().to_be_bytes());
    k
}

pub fn event(id: QuestionId, seq: u32) -> Vec<u8> {
    let mut k = vec![EVENT];
    k.extend_from_slice(&id.get().to_be_bytes());
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

pub fn events_of(id: QuestionId) -> Vec<u8> {
    let mut k = vec![EVENT];
    k.extend_from_slice(&id.get().to_be_bytes());
    k
}

pub fn request(request_id: &str) -> Vec<u8> {
    let mut k = vec![REQUEST];
    k.extend_from_slice(request_id.as_bytes());
    k
}

/// An index entry: prefix bytes, then the submitted time and the id.
pub fn indexed(prefix: &[u8], submitted_ms: i64, id: QuestionId) -> Vec<u8> {
    let mut k = prefix.to_vec();
    k.extend_from_slice(&time(submitted_ms));
    k.extend_from_slice(&id.get().to_be_bytes());
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

pub fn review(at_ms: i64, id: QuestionId) -> Vec<u8> {
    let mut k = vec![REVIEW];
    k.extend_from_slice(&time(at_ms));
    k.extend_from_slice(&id.get().to_be_bytes());
    k
}

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

/// A 64-bit FNV-1a hash, to bind page tokens to their listing.
pub fn fnv(bytes: &[u8]) -> [u8; 8] {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h.to_be_bytes()
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
