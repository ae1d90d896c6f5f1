//! Similar questions: the similarity index of every stored question, the
//! stable features it is searched with, and when an earlier answered
//! question counts as the same one.

use super::paging::for_each_page;
use super::{Service, ServiceError};
use crate::domain::input::QuestionText;
use crate::embedding::{EmbeddingError, SemanticSettings};
use crate::engine::Engine;
use crate::similar::{Hit, SimilarIndex, Vector};
use crate::store::{ListFilter, QuestionBrief, QuestionId, Store, StoreError};
use crate::taxonomy::Taxonomy;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

pub use semantic::SemanticCounts;

/// An earlier question like a new one, with its state and answer.
#[derive(Debug, Clone)]
pub struct Similar {
    /// The earlier question (what listings show of it).
    pub question: QuestionBrief,
    /// How similar, 0..=1: the lexical cosine, or where both questions
    /// have an embedding, its blend with the embeddings' similarity.
    pub score: f32,
    /// The lexical cosine of the two questions' features.
    pub lexical: f32,
    /// The embeddings' cosine, when the semantic path is on and both
    /// questions have one.
    pub semantic: Option<f32>,
}

/// Stored questions up to which a similar-question search is short (one
/// segment of the index; measured at 10,000 questions, a fraction of a
/// millisecond) and is run on the request's own async worker; a larger
/// index is searched on the blocking pool, so that other requests on that
/// worker do not wait behind a search (1.5–1.9 ms at a million questions,
/// sixteen segments).
pub const SHORT_SEARCH_QUESTIONS: usize = 65_536;

/// Candidates taken from each path before blending: a paraphrase that one
/// path ranks in its top 50 can still come first.
const CANDIDATES: usize = 50;

/// What a similar-question search looks for: the query's features, the
/// stored question it is about (left out of the results), and the text
/// and vector the semantic path uses.
#[derive(Debug, Clone)]
pub struct SimilarQuery {
    features: Vec<String>,
    exclude: Option<QuestionId>,
    text: String,
    vector: Option<Vector>,
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
mod semantic;
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
    /// The embeddings, when `[similar] embeddings_url` is set.
    semantic: Option<semantic::Semantic>,
    /// Searches so far, and those that listed at least one question.
    searches: AtomicU64,
    found: AtomicU64,
}

/// How many similar-question searches were made (by submit, classify and
/// FindSimilarQuestions) and how many listed at least one question.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SearchCounts {
    /// Searches.
    pub searches: u64,
    /// Searches that listed at least one earlier question.
    pub found: u64,
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
            semantic: None,
            searches: AtomicU64::new(0),
            found: AtomicU64::new(0),
        })
    }

    /// The features a text is compared by.
    pub(super) fn features(&self, text: &str) -> Vec<String> {
        self.features.features(text)
    }

    /// Makes a newly stored question findable (and queues its embedding
    /// when the semantic path is on).
    pub(super) fn add(&self, id: QuestionId, features: &[String], text: &str) {
        self.index.add(id.get(), features);
        if let Some(saver) = &self.saver {
            saver.maybe_save();
        }
        if let Some(semantic) = &self.semantic {
            semantic.embed_later(id, text);
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

    /// The service with the semantic path of `[similar]` (nothing changes
    /// when it names no embedding service). Fails on settings that cannot
    /// make a client, such as a missing token variable. Start the
    /// embedder with [`Service::spawn_embedder`].
    pub fn with_semantic_settings(
        mut self,
        settings: SemanticSettings,
    ) -> Result<Service, EmbeddingError> {
        self.similar.semantic = semantic::Semantic::new(settings)?;
        Ok(self)
    }

    /// Starts the background embedder on the current tokio runtime, when
    /// the semantic path is on.
    pub fn spawn_embedder(&self) {
        if let Some(semantic) = &self.similar.semantic {
            semantic.spawn(self.store.clone());
        }
    }

    /// Whether a similar-question search is short enough to run where the
    /// request is handled (see [`SHORT_SEARCH_QUESTIONS`]).
    pub fn similar_search_is_short(&self) -> bool {
        self.similar.index.len() <= SHORT_SEARCH_QUESTIONS
    }

    /// Similar-question searches so far.
    pub fn search_counts(&self) -> SearchCounts {
        SearchCounts {
            searches: self.similar.searches.load(Ordering::Relaxed),
            found: self.similar.found.load(Ordering::Relaxed),
        }
    }

    /// How the semantic path has fared; None when it is off.
    pub fn semantic_counts(&self) -> Option<SemanticCounts> {
        self.similar
            .semantic
            .as_ref()
            .map(semantic::Semantic::counts)
    }

    /// Earlier questions like a text (or like stored question `like`, left
    /// out of its own results), best first. Uses the stored vector of
    /// `like` but never calls the embedding service; callers that can
    /// wait use [`Service::similar_query`], [`Service::embed_query`] and
    /// [`Service::find_similar_by`].
    pub fn find_similar(
        &self,
        text: Option<&QuestionText>,
        like: Option<QuestionId>,
        limit: usize,
    ) -> Result<Vec<Similar>, ServiceError> {
        let query = self.similar_query(text, like)?;
        self.find_similar_by(&query, limit)
    }

    /// The query of a search like a text, or like stored question `like`.
    pub fn similar_query(
        &self,
        text: Option<&QuestionText>,
        like: Option<QuestionId>,
    ) -> Result<SimilarQuery, ServiceError> {
        let text_of_like = match (text, like) {
            (Some(_), _) => String::new(),
            (None, Some(id)) => self.store.get(id)?.text,
            (None, None) => {
                return Err(ServiceError::Invalid(
                    "give the text of a question or the id of a stored one".into(),
                ))
            }
        };
        // A stored question's own vector, when the search is by its id.
        let given_text = text.is_some();
        let text = match text {
            Some(t) => t.as_str().to_string(),
            None => text_of_like,
        };
        let vector = match (&self.similar.semantic, like) {
            (Some(s), Some(id)) if !given_text => s.vectors.get(id.get()),
            _ => None,
        };
        Ok(SimilarQuery {
            features: self.similar.features(&text),
            exclude: like,
            text,
            vector,
        })
    }

    /// Gives the query its vector from the embedding service, when the
    /// semantic path is on and it has none; waits at most
    /// `query_timeout_ms`, and leaves it lexical (counted, logged) when the
    /// service does not answer in time.
    pub async fn embed_query(&self, query: &mut SimilarQuery) {
        if let (Some(semantic), None) = (&self.similar.semantic, &query.vector) {
            query.vector = semantic.query_vector(&query.text).await;
        }
    }

    /// Stored questions like the query, best first: by the lexical cosine,
    /// or when the query has a vector, by the blend of both paths.
    pub fn find_similar_by(
        &self,
        query: &SimilarQuery,
        limit: usize,
    ) -> Result<Vec<Similar>, ServiceError> {
        let settings = &self.similar.settings;
        let exclude = query.exclude.map(QuestionId::get);
        let (Some(semantic), Some(vector)) = (&self.similar.semantic, &query.vector) else {
            let hits =
                self.similar
                    .index
                    .search(&query.features, limit, settings.min_similarity, exclude);
            let ranked = hits.into_iter().map(|h| (h, h.score, None)).collect();
            return self.briefs_of(ranked);
        };
        semantic.blended();
        let wanted = limit.max(CANDIDATES);
        let lexical = self
            .similar
            .index
            .search(&query.features, wanted, 0.0, exclude);
        let mut both: rustc_hash::FxHashMap<u64, (f32, Option<f32>)> = lexical
            .iter()
            .map(|h| (h.id, (h.score, semantic.vectors.cosine(h.id, vector))))
            .collect();
        for h in semantic.vectors.search(vector, wanted, exclude) {
            // Not among the lexical candidates: its lexical cosine is at
            // most the last of them, and counted as 0.
            both.entry(h.id).or_insert((0.0, Some(h.score)));
        }
        let w = semantic.settings.semantic_weight;
        let mut ranked: Vec<(Hit, f32, Option<f32>)> = both
            .into_iter()
            .map(|(id, (lex, cos))| {
                let score = match cos {
                    Some(c) => (1.0 - w) * lex + w * semantic.settings.rescale(c),
                    // No vector yet: its lexical cosine stands for both.
                    None => lex,
                };
                (Hit { id, score }, lex, cos)
            })
            .filter(|(h, _, _)| h.score >= settings.min_similarity && h.score > 0.0)
            .collect();
        ranked.sort_by(|a, b| b.0.score.total_cmp(&a.0.score).then(a.0.id.cmp(&b.0.id)));
        ranked.truncate(limit);
        self.briefs_of(ranked)
    }

    /// Stored questions with features like these, by the lexical path,
    /// best first, without `exclude`: what submit and classify list, so
    /// that neither waits for an embedding service.
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
        self.briefs_of(hits.into_iter().map(|h| (h, h.score, None)).collect())
    }

    /// The listings of ranked hits (score, lexical, semantic), skipping
    /// questions that are gone.
    fn briefs_of(
        &self,
        ranked: Vec<(Hit, f32, Option<f32>)>,
    ) -> Result<Vec<Similar>, ServiceError> {
        let mut out = Vec::with_capacity(ranked.len());
        for (hit, lexical, semantic) in ranked {
            let id = QuestionId::new(hit.id);
            match self.similar.briefs.get(id, || self.store.brief(id)) {
                Ok(question) => out.push(Similar {
                    question,
                    score: hit.score,
                    lexical,
                    semantic,
                }),
                Err(StoreError::NotFound(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        self.similar.searches.fetch_add(1, Ordering::Relaxed);
        if !out.is_empty() {
            self.similar.found.fetch_add(1, Ordering::Relaxed);
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
