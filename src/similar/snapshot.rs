//! The similarity index on disk: a versioned, checksummed file of the
//! feature names and every question's feature list, written to a temporary
//! file and renamed, so a reader sees a whole old file or a whole new one.
//! Postings, document frequencies and norms are rebuilt on load (faster
//! than featurising every question again, and never out of step).
//!
//! Layout (integers little-endian, `v` a LEB128 varint): magic
//! `KICERSIX`, u32 version, u32 metadata length and the metadata (what the
//! caller needs to tell whether the snapshot fits its store), v feature
//! count and each name (v length, UTF-8), v question count and each
//! question (v id, v byte length, its delta-varint feature list), and a
//! u64 FNV-1a checksum of everything before it.

use super::segment::{get_varint, put_varint, Docs, Frozen, Weights, SEGMENT};
use super::{Live, SimilarIndex, View};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

const MAGIC: &[u8; 8] = b"KICERSIX";
/// The layout version; a file of another one is not read.
pub const VERSION: u32 = 1;

/// Why a snapshot could not be read or written. A snapshot that cannot be
/// read is rebuilt from the store, so none of these stops the server.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// Reading, writing or renaming failed.
    #[error("similar-question snapshot {path}: {source}; check the data directory's permissions and free space")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The file is not a snapshot this version can read.
    #[error("similar-question snapshot {path} has layout version {found}, this kicer reads {VERSION}; it is rebuilt from the store")]
    Version {
        /// The file.
        path: PathBuf,
        /// Its version.
        found: u32,
    },
    /// The file is cut short or its contents do not add up.
    #[error("similar-question snapshot {path} is damaged ({reason}); it is rebuilt from the store (deleting it is safe)")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: &'static str,
    },
}

/// A consistent copy of the index to write, taken without holding up
/// searches or adds for longer than it takes to clone the small tail.
pub struct Snapshot {
    names: Vec<Arc<str>>,
    segments: Vec<Arc<Frozen>>,
    tail: Docs,
    max_id: Option<u64>,
    len: usize,
}

impl Snapshot {
    /// The largest question id in the snapshot.
    pub fn max_id(&self) -> Option<u64> {
        self.max_id
    }

    /// Questions in the snapshot.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the snapshot holds no question.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Writes the snapshot to `path` (through `path`.tmp and a rename),
    /// with `meta` for the reader to check.
    pub fn write(&self, path: &Path, meta: &[u8]) -> Result<(), SnapshotError> {
        let tmp = temporary(path);
        let io = |source| SnapshotError::Io {
            path: tmp.clone(),
            source,
        };
        let file = std::fs::File::create(&tmp).map_err(io)?;
        let mut out = Checksummed {
            inner: std::io::BufWriter::with_capacity(1 << 20, file),
            sum: Fnv::new(),
        };
        self.write_to(&mut out, meta).map_err(io)?;
        let sum = out.sum.0;
        let mut inner = out.inner.into_inner().map_err(|e| io(e.into_error()))?;
        inner.write_all(&sum.to_le_bytes()).map_err(io)?;
        inner.sync_all().map_err(io)?;
        drop(inner);
        std::fs::rename(&tmp, path).map_err(|source| SnapshotError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        // Make the rename itself durable; not every platform can open a
        // directory, and the snapshot is a cache, so this is best effort.
        if let Some(dir) = path.parent() {
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }

    fn write_to(&self, out: &mut impl Write, meta: &[u8]) -> std::io::Result<()> {
        let mut buf = Vec::with_capacity(1 << 16);
        buf.extend_from_slice(MAGIC);
        buf.extend_from_slice(&VERSION.to_le_bytes());
        buf.extend_from_slice(&(meta.len() as u32).to_le_bytes());
        buf.extend_from_slice(meta);
        put_varint(&mut buf, self.names.len() as u64);
        for name in &self.names {
            put_varint(&mut buf, name.len() as u64);
            buf.extend_from_slice(name.as_bytes());
            flush_if_full(out, &mut buf)?;
        }
        put_varint(&mut buf, self.len as u64);
        let all = self.segments.iter().map(|s| s.docs()).chain([&self.tail]);
        for docs in all {
            for doc in 0..docs.len() {
                let encoded = docs.encoded(doc);
                put_varint(&mut buf, docs.id(doc));
                put_varint(&mut buf, encoded.len() as u64);
                buf.extend_from_slice(encoded);
                flush_if_full(out, &mut buf)?;
            }
        }
        out.write_all(&buf)
    }
}

use super::segment::Segment as _;

fn flush_if_full(out: &mut impl Write, buf: &mut Vec<u8>) -> std::io::Result<()> {
    if buf.len() >= 1 << 16 {
        out.write_all(buf)?;
        buf.clear();
    }
    Ok(())
}

fn temporary(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".tmp");
    PathBuf::from(name)
}

/// FNV-1a, 64 bits: enough to notice a damaged or cut file.
struct Fnv(u64);

impl Fnv {
    fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// A writer that sums what passes through it.
struct Checksummed<W> {
    inner: W,
    sum: Fnv,
}

impl<W: Write> Write for Checksummed<W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(bytes)?;
        self.sum.update(&bytes[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Reads a snapshot's parts in order, failing on anything short.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let out = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(out)
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    fn varint(&mut self) -> Option<u64> {
        get_varint(self.bytes, &mut self.at)
    }

    fn count(&mut self) -> Option<usize> {
        usize::try_from(self.varint()?).ok()
    }
}

impl SimilarIndex {
    /// A consistent copy of the index for [`Snapshot::write`]. It waits
    /// for a running add, then holds the read lock while it clones the
    /// tail and the feature names.
    pub fn snapshot(&self) -> Snapshot {
        let _adding = self.adding.lock().unwrap_or_else(|p| p.into_inner());
        let live = self.read();
        Snapshot {
            names: live.names.clone(),
            segments: live.view.segments.iter().map(|(s, _)| s.clone()).collect(),
            tail: live.tail.docs().clone(),
            max_id: live.max_id,
            len: live.n,
        }
    }

    /// Loads a snapshot written by [`Snapshot::write`], returning the index
    /// and the metadata written with it (for the caller to check that the
    /// snapshot belongs to its store and taxonomy).
    pub fn load(path: &Path) -> Result<(SimilarIndex, Vec<u8>), SnapshotError> {
        let bytes = std::fs::read(path).map_err(|source| SnapshotError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let damaged = |reason| SnapshotError::Damaged {
            path: path.to_path_buf(),
            reason,
        };
        if bytes.len() < MAGIC.len() + 4 || &bytes[..MAGIC.len()] != MAGIC {
            return Err(damaged("not a similar-question snapshot"));
        }
        let found = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
        if found != VERSION {
            return Err(SnapshotError::Version {
                path: path.to_path_buf(),
                found,
            });
        }
        let Some(body_len) = bytes.len().checked_sub(8) else {
            return Err(damaged("cut short"));
        };
        let (body, sum) = bytes.split_at(body_len);
        let mut fnv = Fnv::new();
        fnv.update(body);
        if sum != fnv.0.to_le_bytes() {
            return Err(damaged("checksum mismatch"));
        }
        parse(body).map_err(damaged)
    }
}

/// Builds the index from a checksummed body.
fn parse(body: &[u8]) -> Result<(SimilarIndex, Vec<u8>), &'static str> {
    const SHORT: &str = "cut short";
    let mut r = Reader {
        bytes: body,
        at: 12,
    };
    let meta_len = r.u32().ok_or(SHORT)? as usize;
    let meta = r.take(meta_len).ok_or(SHORT)?.to_vec();
    let mut live = Live::default();
    let n_features = r.count().ok_or(SHORT)?;
    for n in 0..n_features {
        let len = r.count().ok_or(SHORT)?;
        let name =
            std::str::from_utf8(r.take(len).ok_or(SHORT)?).map_err(|_| "a name is not UTF-8")?;
        let name: Arc<str> = name.into();
        if live.features.insert(name.clone(), n as u32).is_some() {
            return Err("a feature is named twice");
        }
        live.names.push(name);
    }
    live.df = vec![0; n_features];
    let n_docs = r.count().ok_or(SHORT)?;
    let mut segments = Vec::new();
    let mut docs = Docs::default();
    for _ in 0..n_docs {
        let id = r.varint().ok_or(SHORT)?;
        let len = r.count().ok_or(SHORT)?;
        let encoded = r.take(len).ok_or(SHORT)?;
        check_features(encoded, &mut live.df)?;
        if live.contains(id) {
            return Err("a question is listed twice");
        }
        live.remember(id);
        docs.push_encoded(id, encoded);
        if docs.len() == SEGMENT {
            segments.push(Frozen::new(std::mem::take(&mut docs), n_features));
        }
    }
    if r.at != body.len() {
        return Err("bytes after the last question");
    }
    let weights = Arc::new(Weights::new(&live.df, live.n));
    for doc in 0..docs.len() {
        live.tail.push_encoded(docs.id(doc), docs.encoded(doc));
    }
    live.tail.index();
    live.tail_norms = weights.norms(live.tail.docs());
    let segments = segments
        .into_iter()
        .map(|s| {
            let norms = weights.norms(s.docs()).into();
            (Arc::new(s), norms)
        })
        .collect();
    live.view = Arc::new(View { weights, segments });
    let index = SimilarIndex {
        live: RwLock::new(live),
        adding: Default::default(),
    };
    Ok((index, meta))
}

/// Checks that a feature list is sorted, distinct and names known
/// features, counting each in `df`.
fn check_features(encoded: &[u8], df: &mut [u32]) -> Result<(), &'static str> {
    let mut at = 0;
    let mut last: Option<u32> = None;
    while at < encoded.len() {
        let delta = get_varint(encoded, &mut at).ok_or("a feature list is cut")?;
        let f = match last {
            None => delta,
            Some(l) if delta > 0 => u64::from(l) + delta,
            Some(_) => return Err("a feature list is not sorted"),
        };
        let f = u32::try_from(f).map_err(|_| "a feature number is too large")?;
        let slot = df
            .get_mut(f as usize)
            .ok_or("a feature number is unknown")?;
        *slot += 1;
        last = Some(f);
    }
    Ok(())
}
