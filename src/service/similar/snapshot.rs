//! Keeping the similarity index across restarts: loading the snapshot in
//! the data directory (and refusing one that does not belong to this store
//! and taxonomy), catching up with questions stored after it, and writing
//! it again in the background and at shutdown. The file is a cache: when
//! it is missing or does not fit, the index is rebuilt from the store.

use crate::engine::Engine;
use crate::similar::{SimilarIndex, Snapshot};
use crate::store::{QuestionId, Store, StoreError};
use crate::taxonomy::Taxonomy;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use super::super::LockExt;

/// A snapshot is written after this many added questions...
const SAVE_EVERY: usize = 10_000;
/// ...or when questions were added and this long has passed.
const SAVE_AFTER: Duration = Duration::from_secs(10 * 60);
/// Ids before the snapshot's largest one that are checked again at start:
/// concurrent submits may reach the index out of id order, so a snapshot
/// can lack a few ids just below its largest.
const RECHECK: u64 = 4_096;
/// A text whose features change when the taxonomy or the analysis does.
const PROBE: &str = "Hoe organiseren wij circulair inkopen van meubilair en de inzameling \
    van matrassen, textiel en luiers? How do we reuse construction materials and \
    recycle plastic packaging waste in the municipality?";

/// What ties a snapshot to the taxonomy it was featurised with.
pub(super) fn fingerprint(taxonomy: &Taxonomy, engine: &Engine) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(env!("CARGO_PKG_VERSION"));
    h.update([0]);
    h.update(taxonomy.origin());
    for term in taxonomy.all_terms() {
        h.update([0]);
        h.update(term);
    }
    for feature in engine.features(PROBE) {
        h.update([1]);
        h.update(feature);
    }
    h.finalize().into()
}

/// What ties a snapshot to its store: the largest question id in it and a
/// digest of that question (`None` for an empty index).
fn store_mark(store: &dyn Store, max_id: Option<u64>) -> Result<Vec<u8>, StoreError> {
    let Some(id) = max_id else {
        return Ok(Vec::new());
    };
    let q = store.get(QuestionId::new(id))?;
    let mut h = Sha256::new();
    h.update(q.submitted_ms.to_le_bytes());
    h.update(q.text.as_bytes());
    let mut out = id.to_le_bytes().to_vec();
    out.extend_from_slice(&h.finalize());
    Ok(out)
}

/// The loaded snapshot when it fits this taxonomy and store; otherwise
/// `None`, with the reason logged.
pub(super) fn load(
    path: &Path,
    fingerprint: &[u8; 32],
    store: &dyn Store,
) -> Result<Option<SimilarIndex>, StoreError> {
    if !path.exists() {
        tracing::info!(path = %path.display(), "no similar-question snapshot yet: building the index from the store");
        return Ok(None);
    }
    let started = Instant::now();
    let (index, meta) = match SimilarIndex::load(path) {
        Ok(loaded) => loaded,
        Err(e) => {
            tracing::warn!("{e}");
            return Ok(None);
        }
    };
    let refuse = |why: &str| {
        tracing::warn!(path = %path.display(), "similar-question snapshot not used: {why}; rebuilding the index from the store");
        Ok(None)
    };
    let Some((taxonomy, mark)) = meta.split_at_checked(32) else {
        return refuse("its header is too short");
    };
    if taxonomy != fingerprint {
        return refuse("it was built with another taxonomy or kicer version");
    }
    match store_mark(store, index.max_id()) {
        Ok(m) if m == mark => {}
        Ok(_) => return refuse("it belongs to another store"),
        Err(StoreError::NotFound(_)) => {
            return refuse(
                "it holds questions the store does not (was the store restored from a backup?)",
            )
        }
        Err(e) => return Err(e),
    }
    tracing::info!(
        questions = index.len(),
        seconds = started.elapsed().as_secs_f32(),
        "similar-question snapshot loaded"
    );
    Ok(Some(index))
}

/// Adds the questions stored after the snapshot (and any just before its
/// largest id that it lacks); returns how many.
pub(super) fn catch_up(
    index: &SimilarIndex,
    store: &dyn Store,
    features: &Engine,
) -> Result<usize, StoreError> {
    let last = index.max_id().unwrap_or(0);
    let mut added = 0;
    let mut id = last.saturating_sub(RECHECK).max(1);
    loop {
        match store.get(QuestionId::new(id)) {
            Ok(q) => {
                if !index.contains(id) {
                    index.add(id, &features.features(&q.text));
                    added += 1;
                }
            }
            // Ids are dense: the first missing one past the snapshot is
            // the end of the store.
            Err(StoreError::NotFound(_)) if id > last => break,
            Err(StoreError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
        id += 1;
    }
    if added > 0 {
        tracing::info!(
            questions = added,
            "similar-question index caught up with the store"
        );
    }
    Ok(added)
}

/// Writes the snapshot now and then, never on a request's thread.
pub(super) struct Saver {
    path: PathBuf,
    fingerprint: [u8; 32],
    /// Weak, so a background write never keeps a closed service's store
    /// open.
    store: Weak<dyn Store>,
    index: Arc<SimilarIndex>,
    /// Questions in the last snapshot written (or loaded), and when.
    saved: Mutex<(usize, Instant)>,
    /// A background write is under way.
    writing: AtomicBool,
    /// Held while a snapshot is written, so writes do not overlap.
    write: Mutex<()>,
}

impl Saver {
    /// A saver for `index`, whose `saved` questions are on disk already.
    pub(super) fn new(
        path: PathBuf,
        fingerprint: [u8; 32],
        store: &Arc<dyn Store>,
        index: Arc<SimilarIndex>,
        saved: usize,
    ) -> Arc<Saver> {
        Arc::new(Saver {
            path,
            fingerprint,
            store: Arc::downgrade(store),
            index,
            saved: Mutex::new((saved, Instant::now())),
            writing: AtomicBool::new(false),
            write: Mutex::new(()),
        })
    }

    /// Starts a background write when enough has been added since the
    /// last one.
    pub(super) fn maybe_save(self: &Arc<Self>) {
        let (saved, at) = *self.saved.lock_or_recover();
        let len = self.index.len();
        let due = len >= saved + SAVE_EVERY || (len > saved && at.elapsed() >= SAVE_AFTER);
        if due {
            self.save_in_background();
        }
    }

    /// Starts a background write unless one is under way.
    pub(super) fn save_in_background(self: &Arc<Self>) {
        if self.writing.swap(true, Ordering::AcqRel) {
            return;
        }
        let saver = self.clone();
        let spawned = std::thread::Builder::new()
            .name("kicer-similar-snapshot".into())
            .spawn(move || {
                saver.save();
                saver.writing.store(false, Ordering::Release);
            });
        if let Err(e) = spawned {
            self.writing.store(false, Ordering::Release);
            tracing::warn!("cannot start the similar-question snapshot writer: {e}");
        }
    }

    /// Writes the snapshot if questions were added since the last one;
    /// failures are logged (the snapshot is a cache).
    pub(super) fn save(&self) {
        let _write = self.write.lock_or_recover();
        if self.saved.lock_or_recover().0 == self.index.len() {
            return;
        }
        let started = Instant::now();
        let snapshot = self.index.snapshot();
        match self.write_file(&snapshot) {
            Ok(()) => {
                *self.saved.lock_or_recover() = (snapshot.len(), Instant::now());
                tracing::info!(
                    questions = snapshot.len(),
                    seconds = started.elapsed().as_secs_f32(),
                    "similar-question snapshot written"
                );
            }
            Err(e) => tracing::warn!("similar-question snapshot not written: {e}"),
        }
    }

    fn write_file(&self, snapshot: &Snapshot) -> Result<(), Box<dyn std::error::Error>> {
        let store = self.store.upgrade().ok_or("the service has closed")?;
        let mut meta = self.fingerprint.to_vec();
        meta.extend(store_mark(store.as_ref(), snapshot.max_id())?);
        snapshot.write(&self.path, &meta)?;
        Ok(())
    }
}
