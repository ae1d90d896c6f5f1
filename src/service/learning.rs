//! Learning from the core team's triage decisions: the learned model laid
//! over the taxonomy and the experts, the background learner that relearns
//! after decisions, and the resets that make it forget.

use super::paging::all_items;
use super::sync::LockExt;
use super::{Service, ServiceError};
use crate::domain::{Expertise, Status};
use crate::learn::{self, Example, LearnSettings, Learned, LearnedTerm, Resets};
use crate::store::{Feedback, QuestionId, Store, StoreError};
use std::collections::{BTreeMap, HashSet};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};

/// Store names of the learned model and the learning resets.
const LEARNED: &str = "learned";
const RESETS: &str = "learning-resets";

/// What the learner keeps between requests.
#[derive(Debug)]
pub(super) struct Learning {
    /// What the core team's decisions taught; laid over the taxonomy and
    /// the experts on every index build.
    learned: Mutex<Arc<Learned>>,
    settings: LearnSettings,
    /// Wakes the background learner after a triage decision.
    wake: Mutex<Option<Sender<()>>>,
}

impl Learning {
    /// The learned model as stored (nothing learned in a new store).
    pub(super) fn load(store: &dyn Store) -> Result<Learning, ServiceError> {
        let learned: Learned = match store.meta(LEARNED)? {
            Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt {
                key: "learned model".into(),
                reason: e.to_string(),
            })?,
            None => Learned::default(),
        };
        Ok(Learning {
            learned: Mutex::new(Arc::new(learned)),
            settings: LearnSettings::default(),
            wake: Mutex::new(None),
        })
    }

    /// The learned model in force.
    pub(super) fn current(&self) -> Arc<Learned> {
        self.learned.lock_or_recover().clone()
    }

    /// Other knobs, for the next relearn.
    pub(super) fn set_settings(&mut self, settings: LearnSettings) {
        self.settings = settings;
    }

    /// Asks the background learner (when started) to relearn soon.
    pub(super) fn wake(&self) {
        if let Some(tx) = self.wake.lock_or_recover().as_ref() {
            let _ = tx.send(());
        }
    }
}

/// A value as JSON for the store's meta records; failing is a server bug.
fn to_json(what: &'static str, value: &impl serde::Serialize) -> Result<Vec<u8>, ServiceError> {
    serde_json::to_vec(value).map_err(|e| ServiceError::Internal {
        what,
        reason: e.to_string(),
    })
}

impl Service {
    /// The service with other learning knobs (the config file's `[learning]`
    /// table). Takes effect at the next relearn.
    pub fn with_learn_settings(mut self, settings: LearnSettings) -> Service {
        self.learning.set_settings(settings);
        self
    }

    /// Starts the background learner: after triage decisions it relearns
    /// from all feedback and rebuilds the index, off the request path. A
    /// burst of decisions gives one rebuild. The thread ends with the
    /// service.
    pub fn spawn_learner(self: &Arc<Self>) {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        // Learn once at start: the settings may have changed, and a decision
        // or a reset may not have been learned before the last stop.
        let _ = tx.send(());
        *self.learning.wake.lock_or_recover() = Some(tx);
        let service = Arc::downgrade(self);
        let spawned = std::thread::Builder::new()
            .name("kicer-learner".into())
            .spawn(move || {
                while rx.recv().is_ok() {
                    std::thread::sleep(std::time::Duration::from_millis(200));
                    while rx.try_recv().is_ok() {}
                    let Some(service) = service.upgrade() else {
                        break;
                    };
                    match service.relearn() {
                        Ok(version) => tracing::info!(
                            index_version = version,
                            "learned from the core team's decisions"
                        ),
                        Err(e) => tracing::error!("learning from feedback failed: {e}"),
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::error!(
                "cannot start the learner thread ({e}); routing will not learn until restart"
            );
        }
    }

    /// Relearns from every triage decision and rebuilds the index; returns
    /// the new index version.
    pub fn relearn(&self) -> Result<u64, ServiceError> {
        let _guard = self.directory.lock();
        self.relearn_locked()
    }

    /// Relearns; the caller holds the directory lock.
    fn relearn_locked(&self) -> Result<u64, ServiceError> {
        let examples = self.examples()?;
        let resets = self.resets()?;
        let known = self.known_stems()?;
        let learned = learn::learn(
            &examples,
            &resets,
            self.engine.analyzer(),
            &self.learning.settings,
            &|stem| known.contains(stem),
        );
        self.store
            .put_meta(LEARNED, &to_json("serialise the learned model", &learned)?)?;
        // The index with the new weights is swapped in before the weights
        // are listed (ListLearnedTerms): a caller who sees a learned term
        // gets classifications that use it.
        let learned = Arc::new(learned);
        let version = self.rebuild_with(&learned)?;
        *self.learning.learned.lock_or_recover() = learned;
        Ok(version)
    }

    /// The core team's decisions as examples: the latest decision per
    /// question only (a question routed, declined and routed again teaches
    /// once, the way it was finally routed), and none for a question whose
    /// last route was declined since (it is back in TRIAGE).
    fn examples(&self) -> Result<Vec<Example>, ServiceError> {
        let mut latest: BTreeMap<QuestionId, Feedback> = BTreeMap::new();
        // Feedback is listed oldest first: later decisions win.
        for f in all_items(|page| self.store.feedback(page))? {
            latest.insert(f.question, f);
        }
        let mut out = Vec::with_capacity(latest.len());
        for (id, f) in latest {
            let q = match self.store.get(id) {
                Ok(q) => q,
                Err(StoreError::NotFound(_)) => continue,
                Err(e) => return Err(e.into()),
            };
            if q.status == Status::Triage {
                continue;
            }
            out.push(Example {
                text: q.text,
                at_ms: f.at_ms,
                category: f.chosen_category,
                provider: f.chosen_provider,
                expert: f.chosen_expert,
                proposed: (f.proposed_category, f.proposed_provider, f.proposed_expert),
            });
        }
        Ok(out)
    }

    /// Stems of every term the taxonomy (with its provider changes) and
    /// the experts use, without anything learned.
    fn known_stems(&self) -> Result<HashSet<String>, ServiceError> {
        let analyzer = self.engine.analyzer();
        let live = self
            .directory
            .base
            .with_provider_changes(&self.store.provider_changes()?, analyzer)?;
        let experts = self.store.experts()?;
        let expert_terms: Vec<String> = experts
            .iter()
            .flat_map(|e| match &e.expertise {
                Expertise::List(l) => l.clone(),
                Expertise::Weighted(m) => m.keys().cloned().collect(),
            })
            .collect();
        let mut out = HashSet::new();
        for term in live
            .all_terms()
            .chain(expert_terms.iter().map(String::as_str))
        {
            for word in analyzer.analyze_term(term) {
                out.extend(word.stems.into_iter().flatten());
            }
        }
        Ok(out)
    }

    fn resets(&self) -> Result<Resets, ServiceError> {
        Ok(match self.store.meta(RESETS)? {
            Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt {
                key: "learning resets".into(),
                reason: e.to_string(),
            })?,
            None => Resets::new(),
        })
    }

    /// The stems a word may be learned under (Dutch and English).
    fn stems_of(&self, word: &str) -> Vec<String> {
        let mut out: Vec<String> = self
            .engine
            .analyzer()
            .analyze_term(word)
            .into_iter()
            .flat_map(|w| w.stems.into_iter().flatten())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Learned terms, heaviest first; with `term`, only that one.
    pub fn learned_terms(&self, term: Option<&str>) -> Vec<LearnedTerm> {
        let learned = self.learning.current();
        let mut out: Vec<LearnedTerm> = match term {
            Some(word) => self
                .stems_of(word)
                .iter()
                .filter_map(|stem| learned.terms.get(stem).cloned())
                .collect(),
            None => learned.terms.values().cloned().collect(),
        };
        out.sort_by(|a, b| {
            let top = |t: &LearnedTerm| t.weights.first().map_or(0.0, |w| w.weight);
            top(b).total_cmp(&top(a)).then(a.stem.cmp(&b.stem))
        });
        out
    }

    /// Forgets what was learned about a term (every term with `None`) up
    /// to now; later decisions teach again. Returns the new index version.
    pub fn reset_learned(&self, term: Option<&str>) -> Result<u64, ServiceError> {
        // Held from reading the resets to the rebuild: two resets at once
        // must not lose one.
        let _guard = self.directory.lock();
        let keys = match term {
            None => vec![learn::ALL_TERMS.to_string()],
            Some(word) => {
                let stems = self.stems_of(word);
                if stems.is_empty() {
                    return Err(ServiceError::Invalid(format!(
                        "`{word}` has no content word (only stop words or nothing): give the term as listed by `kicer learned`"
                    )));
                }
                stems
            }
        };
        let mut resets = self.resets()?;
        let now = self.time.now_ms();
        for key in keys {
            resets.insert(key, now);
        }
        self.store
            .put_meta(RESETS, &to_json("serialise the learning resets", &resets)?)?;
        self.relearn_locked()
    }
}
