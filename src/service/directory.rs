//! The live directory: providers (the taxonomy as loaded with the stored
//! provider changes) and experts, their checks, and the index rebuild
//! every change ends with.

use super::sync::LockExt;
use super::{Service, ServiceError};
use crate::analysis::Analyzer;
use crate::domain::{Expert, ExpertId, ExpertRecord, ProviderChange, ProviderRecord};
use crate::engine::Engine;
use crate::learn::{Learned, Target};
use crate::store::{Store, StoreError};
use crate::taxonomy::{SameWord, Taxonomy};
use std::collections::{BTreeMap, HashSet};
use std::sync::{Mutex, MutexGuard};

/// Store name of the last index version handed out.
const INDEX_VERSION: &str = "index-version";

/// What the directory keeps: the taxonomy the live one is built from, and
/// the lock that orders changes.
pub(super) struct Directory {
    /// The taxonomy as loaded, before the directory's provider changes.
    pub(super) base: Taxonomy,
    /// Serialises directory changes with their index rebuild, so the index
    /// always reflects the last change (requests never take it).
    changes: Mutex<()>,
}

impl Directory {
    /// The directory over a loaded taxonomy.
    pub(super) fn new(base: Taxonomy) -> Directory {
        Directory {
            base,
            changes: Mutex::new(()),
        }
    }

    /// Held from reading the directory to the rebuild of the index.
    pub(super) fn lock(&self) -> MutexGuard<'_, ()> {
        self.changes.lock_or_recover()
    }

    /// The engine over the stored directory with the learned weights, with
    /// an index version above every version handed out before (also before
    /// a restart), which is stored.
    pub(super) fn start_engine(
        &self,
        store: &dyn Store,
        learned: &Learned,
        analyzer: &Analyzer,
    ) -> Result<Engine, ServiceError> {
        let (live, experts) = directory_of(&self.base, store, learned, analyzer)?;
        let version = match store.meta(INDEX_VERSION)? {
            Some(bytes) => <[u8; 8]>::try_from(bytes.as_slice())
                .map(u64::from_be_bytes)
                .map_err(|_| StoreError::Corrupt {
                    key: "index version".into(),
                    reason: "not a number".into(),
                })?,
            None => 0,
        } + 1;
        let engine = Engine::starting_at(live, experts, version)?;
        store.put_meta(INDEX_VERSION, &version.to_be_bytes())?;
        Ok(engine)
    }
}

/// The taxonomy with the stored provider changes, and the stored experts,
/// both with the learned weights laid over them.
fn directory_of(
    base: &Taxonomy,
    store: &dyn Store,
    learned: &Learned,
    analyzer: &Analyzer,
) -> Result<(Taxonomy, Vec<Expert>), ServiceError> {
    let live = base
        .with_provider_changes(&store.provider_changes()?, analyzer)?
        .with_learned(learned, analyzer);
    let by_target = learned.by_target();
    let same = SameWord::new(analyzer);
    let experts = store
        .experts()?
        .into_iter()
        .map(|r| {
            Expert::try_from(r).map_err(|e| {
                ServiceError::Store(StoreError::Corrupt {
                    key: "expert directory".into(),
                    reason: e.to_string(),
                })
            })
        })
        .map(|e| {
            e.map(|e| match by_target.get(&Target::Expert(e.id().clone())) {
                Some(words) => e.with_learned(words, |a, b| same.same(a, b)),
                None => e,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((live, experts))
}

/// Characters of a client's id that a message repeats: enough to
/// recognise it, while a 100 KB id cannot make a 100 KB error message.
const ECHOED_ID_CHARS: usize = 64;

/// An id as messages show it: cut to [`ECHOED_ID_CHARS`] characters.
fn echoed(id: &str) -> String {
    match id.char_indices().nth(ECHOED_ID_CHARS) {
        Some((cut, _)) => format!("{}…", &id[..cut]),
        None => id.to_string(),
    }
}

/// A provider id that routing does not know.
pub(super) fn not_found_provider(id: &str) -> ServiceError {
    ServiceError::NotFound {
        what: "provider",
        id: echoed(id),
        hint: "list the providers (`kicer providers`, ListProviders) for valid ids",
    }
}

/// An expert id that the directory does not hold.
pub(super) fn not_found_expert(id: &str) -> ServiceError {
    ServiceError::NotFound {
        what: "expert",
        id: echoed(id),
        hint: "list the experts (`kicer experts list`, ListExperts) for valid ids",
    }
}

/// Refuses a create of an existing record and an update of a missing one.
fn check_exists(
    what: &'static str,
    id: &str,
    create: bool,
    exists: bool,
    not_found: fn(&str) -> ServiceError,
) -> Result<(), ServiceError> {
    match (create, exists) {
        (true, true) => Err(ServiceError::AlreadyExists {
            what,
            id: echoed(id),
        }),
        (false, false) => Err(not_found(id)),
        _ => Ok(()),
    }
}

impl Service {
    /// Every provider routing uses now, as the taxonomy and the directory
    /// describe them (without learned weights, so a record read and written
    /// back does not turn learned weights into its own).
    pub fn providers(&self) -> Result<Vec<ProviderRecord>, ServiceError> {
        let live = self
            .directory
            .base
            .with_provider_changes(&self.store.provider_changes()?, self.engine.analyzer())?;
        Ok(live.providers().iter().map(|p| p.to_record()).collect())
    }

    /// One provider.
    pub fn provider(&self, id: &str) -> Result<ProviderRecord, ServiceError> {
        self.providers()?
            .into_iter()
            .find(|p| p.id == id)
            .ok_or_else(|| not_found_provider(id))
    }

    /// Adds a provider (`create`) or replaces one (`!create`); the index is
    /// rebuilt before this returns.
    pub fn put_provider(
        &self,
        record: ProviderRecord,
        create: bool,
    ) -> Result<(ProviderRecord, u64), ServiceError> {
        let _guard = self.directory.lock();
        let exists = self
            .engine
            .taxonomy()
            .providers()
            .iter()
            .any(|p| p.id().as_str() == record.id);
        check_exists("provider", &record.id, create, exists, not_found_provider)?;
        let def = self
            .directory
            .base
            .check_provider(&record, self.engine.analyzer())?;
        let record = def.to_record();
        self.store
            .put_provider_change(&ProviderChange::Put(record.clone()))?;
        let version = self.rebuild_locked()?;
        Ok((record, version))
    }

    /// Removes a provider from routing; questions assigned to it keep it.
    pub fn delete_provider(&self, id: &str) -> Result<u64, ServiceError> {
        let _guard = self.directory.lock();
        let live = self.engine.taxonomy();
        if !live.providers().iter().any(|p| p.id().as_str() == id) {
            return Err(not_found_provider(id));
        }
        if live.providers().len() == 1 {
            return Err(ServiceError::Invalid(format!(
                "provider `{id}` is the last one: routing needs at least one provider, add another first"
            )));
        }
        self.store
            .put_provider_change(&ProviderChange::Removed(id.to_string()))?;
        self.rebuild_locked()
    }

    /// The expert directory, ordered by id, paged by the last id seen.
    pub fn experts(
        &self,
        after: Option<&str>,
        size: usize,
    ) -> Result<(Vec<ExpertRecord>, Option<String>), ServiceError> {
        let mut all = self.store.experts()?;
        all.sort_by(|a, b| a.id.cmp(&b.id));
        let start = match after {
            Some(last) => all.partition_point(|e| e.id.as_str() <= last),
            None => 0,
        };
        let page: Vec<ExpertRecord> = all.iter().skip(start).take(size).cloned().collect();
        let next = (start + page.len() < all.len())
            .then(|| page.last().map(|e| e.id.clone()))
            .flatten();
        Ok((page, next))
    }

    /// One expert.
    pub fn expert(&self, id: &str) -> Result<ExpertRecord, ServiceError> {
        self.store.expert(id)?.ok_or_else(|| not_found_expert(id))
    }

    /// Adds (`create`) or replaces an expert; the index is rebuilt before
    /// this returns.
    pub fn put_expert(
        &self,
        record: ExpertRecord,
        create: bool,
    ) -> Result<(ExpertRecord, u64), ServiceError> {
        let _guard = self.directory.lock();
        // One key read, not the whole directory.
        let exists = self.store.expert(&record.id)?.is_some();
        check_exists("expert", &record.id, create, exists, not_found_expert)?;
        self.check_expert(&record)?;
        self.store.put_expert(&record)?;
        let version = self.rebuild_locked()?;
        Ok((record, version))
    }

    /// Adds or replaces many experts with one index rebuild. Every record
    /// is checked before any is stored, so a bad file changes nothing.
    /// Returns (created, updated, index version).
    pub fn import_experts(
        &self,
        records: Vec<ExpertRecord>,
    ) -> Result<(u64, u64, u64), ServiceError> {
        let _guard = self.directory.lock();
        let mut seen = BTreeMap::new();
        for (n, r) in records.iter().enumerate() {
            self.check_expert(r).map_err(|e| {
                ServiceError::Invalid(format!("expert {} of the import: {e}", n + 1))
            })?;
            if seen.insert(r.id.clone(), n).is_some() {
                return Err(ServiceError::Invalid(format!(
                    "expert `{}` appears twice in the import: ids must be unique",
                    r.id
                )));
            }
        }
        let existing: HashSet<String> = self.store.experts()?.into_iter().map(|e| e.id).collect();
        let updated = records.iter().filter(|r| existing.contains(&r.id)).count() as u64;
        let created = records.len() as u64 - updated;
        self.store.put_experts(&records)?;
        let version = self.rebuild_locked()?;
        Ok((created, updated, version))
    }

    /// Removes an expert from the directory and from routing.
    pub fn delete_expert(&self, id: &str) -> Result<u64, ServiceError> {
        let _guard = self.directory.lock();
        let parsed = ExpertId::parse(id).map_err(|e| ServiceError::Invalid(e.to_string()))?;
        if !self.store.delete_expert(&parsed)? {
            return Err(not_found_expert(id));
        }
        self.rebuild_locked()
    }

    /// Whether an expert takes questions now.
    pub fn set_availability(
        &self,
        id: &str,
        available: bool,
    ) -> Result<(ExpertRecord, u64), ServiceError> {
        // Read and write under the directory lock, so a concurrent update
        // of the same expert is not overwritten with the old record.
        let _guard = self.directory.lock();
        let mut record = self.expert(id)?;
        record.available = available;
        self.store.put_expert(&record)?;
        let version = self.rebuild_locked()?;
        Ok((record, version))
    }

    fn check_expert(&self, record: &ExpertRecord) -> Result<(), ServiceError> {
        let expert =
            Expert::try_from(record.clone()).map_err(|e| ServiceError::Invalid(e.to_string()))?;
        let taxonomy = self.engine.taxonomy();
        if let Some(theme) = expert.themes().iter().find(|t| taxonomy.theme(t).is_none()) {
            let known: Vec<&str> = taxonomy.themes().iter().map(|t| t.id().as_str()).collect();
            return Err(ServiceError::Invalid(format!(
                "expert `{}` names theme `{theme}`, which the taxonomy does not define: use one of {}",
                record.id,
                known.join(", ")
            )));
        }
        Ok(())
    }

    /// Rebuilds the index from the stored directory; the caller holds the
    /// directory lock.
    pub(super) fn rebuild_locked(&self) -> Result<u64, ServiceError> {
        self.rebuild_with(&self.learning.current())
    }

    /// Rebuilds the index with `learned` laid over the directory (the
    /// caller holds the directory lock).
    pub(super) fn rebuild_with(&self, learned: &Learned) -> Result<u64, ServiceError> {
        let (live, experts) = directory_of(
            &self.directory.base,
            self.store.as_ref(),
            learned,
            self.engine.analyzer(),
        )?;
        Ok(self.engine.rebuild(Some(live), experts)?)
    }
}
