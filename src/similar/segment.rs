//! The storage of the similarity index: documents as delta-varint feature
//! lists, frozen segments of up to [`SEGMENT`] documents with compact
//! posting lists, the growing tail segment, and the idf weights with the
//! document norms computed from them.

use rustc_hash::FxHashMap;
use std::sync::Arc;

/// Documents per segment: local document numbers fit a `u16`, which
/// halves the posting lists.
pub(super) const SEGMENT: usize = 1 << 16;

/// Appends `v` as a LEB128 varint.
pub(super) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads a LEB128 varint at `*at`, advancing it; `None` when the bytes end
/// or the number does not fit 64 bits.
pub(super) fn get_varint(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(*at)?;
        *at += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// Documents: question ids and sorted feature numbers, each list stored as
/// deltas in varints in one flat buffer (no allocation per document).
#[derive(Default, Clone)]
pub(super) struct Docs {
    ids: Vec<u64>,
    bytes: Vec<u8>,
    /// End of each document's bytes.
    ends: Vec<u32>,
}

impl Docs {
    /// Appends a document; `features` must be sorted and distinct.
    pub(super) fn push(&mut self, id: u64, features: &[u32]) {
        let mut last = 0u32;
        for &f in features {
            put_varint(&mut self.bytes, u64::from(f - last));
            last = f;
        }
        self.push_encoded(id, &[]);
    }

    /// Appends a document whose feature list is already encoded (from a
    /// snapshot, checked by the caller).
    pub(super) fn push_encoded(&mut self, id: u64, encoded: &[u8]) {
        self.bytes.extend_from_slice(encoded);
        self.ids.push(id);
        self.ends.push(self.bytes.len() as u32);
    }

    /// Documents held.
    pub(super) fn len(&self) -> usize {
        self.ids.len()
    }

    /// Question id of document `doc`.
    pub(super) fn id(&self, doc: usize) -> u64 {
        self.ids[doc]
    }

    /// The encoded feature list of document `doc`.
    pub(super) fn encoded(&self, doc: usize) -> &[u8] {
        let start = if doc == 0 { 0 } else { self.ends[doc - 1] };
        &self.bytes[start as usize..self.ends[doc] as usize]
    }

    /// The sorted feature numbers of document `doc`.
    pub(super) fn features(&self, doc: usize) -> Features<'_> {
        Features {
            bytes: self.encoded(doc),
            at: 0,
            last: 0,
        }
    }

    fn shrink(&mut self) {
        self.ids.shrink_to_fit();
        self.bytes.shrink_to_fit();
        self.ends.shrink_to_fit();
    }

    fn heap_bytes(&self) -> usize {
        self.ids.capacity() * 8 + self.bytes.capacity() + self.ends.capacity() * 4
    }
}

/// Decodes one document's feature list.
pub(super) struct Features<'a> {
    bytes: &'a [u8],
    at: usize,
    last: u32,
}

impl Iterator for Features<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        let delta = get_varint(self.bytes, &mut self.at)?;
        self.last = self.last.wrapping_add(delta as u32);
        Some(self.last)
    }
}

/// What a search reads from a segment, frozen or growing.
pub(super) trait Segment {
    /// The documents.
    fn docs(&self) -> &Docs;
    /// Local numbers of the documents with feature `f`, ascending.
    fn postings(&self, f: u32) -> &[u16];
}

/// A full segment, never changed again: posting lists one after another
/// in one buffer, found by binary search over the features present.
pub(super) struct Frozen {
    docs: Docs,
    features: Vec<u32>,
    /// Start of each feature's postings in `postings`, plus the end.
    starts: Vec<u32>,
    postings: Vec<u16>,
}

impl Frozen {
    /// Builds the posting lists of `docs` (at most [`SEGMENT`]) by counting
    /// sort; `n_features` bounds the feature numbers.
    pub(super) fn new(mut docs: Docs, n_features: usize) -> Frozen {
        debug_assert!(docs.len() <= SEGMENT);
        docs.shrink();
        let mut counts = vec![0u32; n_features];
        for doc in 0..docs.len() {
            for f in docs.features(doc) {
                counts[f as usize] += 1;
            }
        }
        let mut features = Vec::new();
        let mut starts = Vec::new();
        let mut total = 0u32;
        for (f, c) in counts.iter_mut().enumerate() {
            if *c > 0 {
                features.push(f as u32);
                starts.push(total);
                total += *c;
                // From here on: where the next posting of `f` goes.
                *c = total - *c;
            }
        }
        starts.push(total);
        let mut postings = vec![0u16; total as usize];
        for doc in 0..docs.len() {
            for f in docs.features(doc) {
                let at = &mut counts[f as usize];
                postings[*at as usize] = doc as u16;
                *at += 1;
            }
        }
        Frozen {
            docs,
            features,
            starts,
            postings,
        }
    }

    /// Bytes of its buffers.
    pub(super) fn heap_bytes(&self) -> usize {
        self.docs.heap_bytes()
            + self.features.capacity() * 4
            + self.starts.capacity() * 4
            + self.postings.capacity() * 2
    }
}

impl Segment for Frozen {
    fn docs(&self) -> &Docs {
        &self.docs
    }

    fn postings(&self, f: u32) -> &[u16] {
        match self.features.binary_search(&f) {
            Ok(i) => &self.postings[self.starts[i] as usize..self.starts[i + 1] as usize],
            Err(_) => &[],
        }
    }
}

/// The segment new questions go to, until it is full and frozen.
#[derive(Default)]
pub(super) struct Tail {
    docs: Docs,
    postings: FxHashMap<u32, Vec<u16>>,
}

impl Tail {
    /// Appends a document; `features` sorted and distinct.
    pub(super) fn push(&mut self, id: u64, features: &[u32]) {
        let doc = self.docs.len() as u16;
        self.docs.push(id, features);
        for &f in features {
            self.postings.entry(f).or_default().push(doc);
        }
    }

    /// Appends a document from a snapshot; its postings wait for
    /// [`Tail::index`].
    pub(super) fn push_encoded(&mut self, id: u64, encoded: &[u8]) {
        self.docs.push_encoded(id, encoded);
    }

    /// Builds the posting lists of documents pushed with
    /// [`Tail::push_encoded`].
    pub(super) fn index(&mut self) {
        self.postings.clear();
        for doc in 0..self.docs.len() {
            for f in self.docs.features(doc) {
                self.postings.entry(f).or_default().push(doc as u16);
            }
        }
    }

    /// Whether the tail holds a full segment.
    pub(super) fn is_full(&self) -> bool {
        self.docs.len() >= SEGMENT
    }

    /// The frozen copy of this tail.
    pub(super) fn freeze(&self, n_features: usize) -> Frozen {
        Frozen::new(self.docs.clone(), n_features)
    }

    /// Bytes of its buffers (approximately, for the map).
    pub(super) fn heap_bytes(&self) -> usize {
        self.docs.heap_bytes()
            + self
                .postings
                .values()
                .map(|p| p.capacity() * 2 + 40)
                .sum::<usize>()
    }
}

impl Segment for Tail {
    fn docs(&self) -> &Docs {
        &self.docs
    }

    fn postings(&self, f: u32) -> &[u16] {
        self.postings.get(&f).map_or(&[], Vec::as_slice)
    }
}

/// The idf of every feature as of one moment ("epoch"), and the weight of
/// features that did not exist then. Scores always use one epoch for both
/// the query and the stored norms, so a repeat of a question scores 1
/// however far the live counts have moved since.
pub(super) struct Weights {
    idf: Vec<f32>,
    unseen: f32,
    /// Questions indexed at the epoch.
    pub(super) n: usize,
}

impl Weights {
    /// The weights of document frequencies `df` among `n` questions.
    pub(super) fn new(df: &[u32], n: usize) -> Weights {
        let idf = df
            .iter()
            .map(|&d| (1.0 + n as f32 / d.max(1) as f32).ln())
            .collect();
        Weights {
            idf,
            unseen: (1.0 + n as f32).ln(),
            n,
        }
    }

    /// The idf of feature `f`; a feature newer than the epoch counts as
    /// one never seen.
    pub(super) fn idf(&self, f: u32) -> f32 {
        self.idf.get(f as usize).copied().unwrap_or(self.unseen)
    }

    /// The idf of a feature the index has never seen.
    pub(super) fn unseen(&self) -> f32 {
        self.unseen
    }

    /// The norm of every document of `docs`.
    pub(super) fn norms(&self, docs: &Docs) -> Vec<f32> {
        (0..docs.len()).map(|d| self.norm(docs, d)).collect()
    }

    /// The norm of document `doc`.
    pub(super) fn norm(&self, docs: &Docs, doc: usize) -> f32 {
        docs.features(doc)
            .map(|f| self.idf(f).powi(2))
            .sum::<f32>()
            .sqrt()
    }

    /// Bytes of its table.
    pub(super) fn heap_bytes(&self) -> usize {
        self.idf.capacity() * 4
    }
}

/// The frozen part of the index with the weights in force: shared by
/// searches without a lock, replaced whole when a segment freezes or the
/// weights are recomputed.
pub(super) struct View {
    pub(super) weights: Arc<Weights>,
    /// Frozen segments, oldest first, each with its documents' norms.
    pub(super) segments: Vec<(Arc<Frozen>, Arc<[f32]>)>,
}
