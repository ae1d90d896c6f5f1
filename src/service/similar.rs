//! Similar questions: the similarity index of every stored question, the
//! stable features it is searched with, and when an earlier answered
//! question counts as the same one.

use super::paging::for_each_page;
use super::{Service, ServiceError};
use crate::domain::input::QuestionText;
use crate::engine::Engine;
use crate::similar::SimilarIndex;
use crate::store::{ListFilter, QuestionBrief, QuestionId, Store, StoreError};
use crate::taxonomy::Taxonomy;
use std::path::PathBuf;
use std::sync::Arc;

/// An earlier question like a new one, with its state and answer.
#[derive(Debug, Clone)]
pub struct Similar {
    /// The earlier question (what listings show of it).
    pub question: QuestionBrief,
    /// Cosine similarity, 0..=1.
    pub score: f32,
}

/// When an earlier answered question counts as the same question.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReuseSettings {
    /// Similarity at or above which a new question with an answered
    /// earlier one goes to triage, flagged, so the core team can close it
    /// with the existing answer.
    pub duplicate_threshold: f32,
    /// Similar questions listed on submit and classify.
    pub similar_listed: usize,
    /// Similarity below which a question is not listed as similar. None
    /// by default: listings show the best matches with their scores, and
    /// only the duplicate decision has a cut-off (`duplicate_threshold`).
    /// Paraphrases in other words score low; a floor hid most of them.
    pub min_similarity: f32,
}

impl ReuseSettings {
    /// Checks the knobs, saying which one is wrong.
    pub fn check(&self) -> Result<(), String> {
        for (name, v) in [
            ("duplicate_threshold", self.duplicate_threshold),
            ("min_similarity", self.min_similarity),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(format!("reuse.{name} = {v} must be between 0 and 1"));
            }
        }
        if self.similar_listed > 50 {
            return Err(format!(
                "reuse.similar_listed = {} is more than 50",
                self.similar_listed
            ));
        }
        Ok(())
    }
}

impl Default for ReuseSettings {
    fn default() -> Self {
        ReuseSettings {
            duplicate_threshold: 0.8,
            similar_listed: 5,
            min_similarity: 0.0,
        }
    }
}

mod briefs;
mod snapshot;

/// What similar-question search keeps.
pub(super) struct SimilarQuestions {
    /// Every stored question's features.
    index: Arc<SimilarIndex>,
    /// The engine over the taxonomy as loaded, for stable features.
    features: Engine,
    pub(super) settings: ReuseSettings,
    /// Writes the index's snapshot, when it has a file.
    saver: Option<Arc<snapshot::Saver>>,
    /// Briefs of recently listed questions.
    briefs: briefs::Briefs,
}

impl SimilarQuestions {
    /// The index of every stored question: loaded from the snapshot at
    /// `snapshot_path` when there is one that fits, and caught up with the
    /// store; otherwise built from the store (progress is logged for large
    /// stores). Features come from the taxonomy as loaded, never from the
    /// live index: learned words and directory changes would make a stored
    /// question's features differ from a new one's.
    pub(super) fn open(
        taxonomy: Taxonomy,
        store: &Arc<dyn Store>,
        snapshot_path: Option<PathBuf>,
    ) -> Result<SimilarQuestions, ServiceError> {
        let features = Engine::new(taxonomy.clone(), Vec::new())?;
        let fingerprint = snapshot::fingerprint(&taxonomy, &features);
        let loaded = match &snapshot_path {
            Some(path) => snapshot::load(path, &fingerprint, store.as_ref())?,
            None => None,
        };
        let (index, saved) = match loaded {
            Some(index) => {
                let saved = index.len();
                snapshot::catch_up(&index, store.as_ref(), &features)?;
                (index, saved)
            }
            None => (build(store.as_ref(), &features)?, 0),
        };
        let index = Arc::new(index);
        let saver = snapshot_path
            .map(|path| snapshot::Saver::new(path, fingerprint, store, index.clone(), saved));
        if let Some(saver) = &saver {
            // A rebuilt or caught-up index is saved right away, so the next
            // start does not repeat the work.
            saver.save_in_background();
        }
        Ok(SimilarQuestions {
            index,
            features,
            settings: ReuseSettings::default(),
            saver,
            briefs: briefs::Briefs::new(),
        })
    }

    /// The features a text is compared by.
    pub(super) fn features(&self, text: &str) -> Vec<String> {
        self.features.features(text)
    }

    /// Makes a newly stored question findable.
    pub(super) fn add(&self, id: QuestionId, features: &[String]) {
        self.index.add(id.get(), features);
        if let Some(saver) = &self.saver {
            saver.maybe_save();
        }
    }

    /// Keeps a listed brief in step with a change of its question.
    pub(super) fn changed(&self, question: &crate::store::Question) {
        self.briefs.changed(QuestionBrief::from(question));
    }

    /// Writes the snapshot if questions were added since the last one.
    pub(super) fn save(&self) {
        if let Some(saver) = &self.saver {
            saver.save();
        }
    }
}

/// Indexes every stored question, featurising each.
fn build(store: &dyn Store, features: &Engine) -> Result<SimilarIndex, ServiceError> {
    let index = SimilarIndex::new();
    let started = std::time::Instant::now();
    for_each_page(
        |page| store.list(&ListFilter::default(), page),
        |items| {
            for q in &items {
                index.add(q.id.get(), &features.features(&q.text));
            }
            if index.len() % 100_000 < items.len() && index.len() >= 100_000 {
                tracing::info!(
                    questions = index.len(),
                    "indexing stored questions for similarity"
                );
            }
        },
    )?;
    if !index.is_empty() {
        tracing::info!(
            questions = index.len(),
            seconds = started.elapsed().as_secs_f32(),
            "similar-question index built"
        );
    }
    Ok(index)
}

impl Service {
    /// Writes what the service keeps outside the store (the
    /// similar-question snapshot, when it has a file), then flushes the
    /// store: the last step of a clean shutdown.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.similar.save();
        self.store.flush()
    }

    /// The service with other reuse settings (the config file's `[reuse]`
    /// table).
    pub fn with_reuse_settings(mut self, settings: ReuseSettings) -> Service {
        self.similar.settings = settings;
        self
    }

    /// Earlier questions like a text (or like stored question `like`, left
    /// out of its own results), best first.
    pub fn find_similar(
        &self,
        text: Option<&QuestionText>,
        like: Option<QuestionId>,
        limit: usize,
    ) -> Result<Vec<Similar>, ServiceError> {
        let features = match (text, like) {
            (Some(t), _) => self.similar.features(t.as_str()),
            (None, Some(id)) => self.similar.features(&self.store.get(id)?.text),
            (None, None) => {
                return Err(ServiceError::Invalid(
                    "give the text of a question or the id of a stored one".into(),
                ))
            }
        };
        self.similar_to(&features, like, limit)
    }

    /// Stored questions with features like these, best first, without
    /// `exclude`.
    pub(super) fn similar_to(
        &self,
        features: &[String],
        exclude: Option<QuestionId>,
        limit: usize,
    ) -> Result<Vec<Similar>, ServiceError> {
        let hits = self.similar.index.search(
            features,
            limit,
            self.similar.settings.min_similarity,
            exclude.map(QuestionId::get),
        );
        let mut out = Vec::with_capacity(hits.len());
        for hit in hits {
            let id = QuestionId::new(hit.id);
            match self.similar.briefs.get(id, || self.store.brief(id)) {
                Ok(question) => out.push(Similar {
                    question,
                    score: hit.score,
                }),
                Err(StoreError::NotFound(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(out)
    }

    /// Similar earlier questions for a classification request.
    pub fn similar_for(&self, text: &QuestionText) -> Result<Vec<Similar>, ServiceError> {
        self.similar_to(
            &self.similar.features(text.as_str()),
            None,
            self.similar.settings.similar_listed,
        )
    }
}

#[cfg(test)]
mod tests;
