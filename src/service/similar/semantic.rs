//! The semantic path of similar questions, when `[similar] embeddings_url`
//! names an embedding service: each question is embedded once, after it
//! is stored and never before its acknowledgement, by a background task
//! that batches new questions; the vector is kept with the question in the
//! store and in memory ([`VectorIndex`]). At start the task loads the
//! stored vectors, then sweeps the store for questions without one (a
//! store that had the path off, vectors lost in a crash, a new model) and
//! fills them in. New questions go first; the sweep takes what time is
//! left.
//!
//! When the service is slow or down, nothing waits for it: submits are
//! acknowledged as always, the embedder backs off (1 s doubling to a
//! minute) and sweeps again once the service is back, and searches answer
//! from the lexical path. Each of those is counted ([`SemanticCounts`])
//! and logged, at most once a minute per kind so an outage does not flood
//! the log.

use crate::embedding::{Client, EmbeddingError, SemanticSettings};
use crate::similar::{Vector, VectorIndex};
use crate::store::{ListFilter, PageRequest, QuestionId, Store, MAX_PAGE_SIZE};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Longest pause between two attempts while the service fails.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Stored vectors read per step at start.
const LOAD_PAGE: usize = 4096;
/// Seconds between two warnings of one kind.
const WARN_EVERY_SECS: i64 = 60;

/// How the semantic path has fared since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SemanticCounts {
    /// Questions embedded (new and swept).
    pub embedded: u64,
    /// Stored vectors loaded at start.
    pub loaded: u64,
    /// Requests to the service that failed (each a batch).
    pub failed_requests: u64,
    /// New questions not queued because the backlog was full (the next
    /// sweep embeds them).
    pub dropped: u64,
    /// Searches ranked by both paths.
    pub blended: u64,
    /// Searches that wanted the semantic path but had no vector for their
    /// query in time, so were answered lexically.
    pub fallbacks: u64,
}

#[derive(Debug, Default)]
struct Counters {
    embedded: AtomicU64,
    loaded: AtomicU64,
    failed_requests: AtomicU64,
    dropped: AtomicU64,
    blended: AtomicU64,
    fallbacks: AtomicU64,
    /// Unix seconds of the last warning about the embedder, and about
    /// searches.
    warned_embedder: AtomicI64,
    warned_search: AtomicI64,
}

impl Counters {
    fn snapshot(&self) -> SemanticCounts {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        SemanticCounts {
            embedded: get(&self.embedded),
            loaded: get(&self.loaded),
            failed_requests: get(&self.failed_requests),
            dropped: get(&self.dropped),
            blended: get(&self.blended),
            fallbacks: get(&self.fallbacks),
        }
    }
}

/// Whether a warning of the kind last given at `last` may be given now.
fn may_warn(last: &AtomicI64) -> bool {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let before = last.load(Ordering::Relaxed);
    now - before >= WARN_EVERY_SECS
        && last
            .compare_exchange(before, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
}

/// Whether a failure is the service's (down, slow, overloaded), to be
/// waited out, rather than about the texts sent.
fn transient(e: &EmbeddingError) -> bool {
    match e {
        EmbeddingError::Unreachable { .. } | EmbeddingError::Timeout { .. } => true,
        EmbeddingError::Status { status, .. } => *status >= 500 || *status == 429,
        _ => false,
    }
}

/// A question waiting for its embedding.
type Pending = (QuestionId, String);

/// The semantic path's state, owned by the similar-question service.
pub(in crate::service) struct Semantic {
    pub(super) settings: SemanticSettings,
    client: Client,
    pub(super) vectors: Arc<VectorIndex>,
    queue: mpsc::Sender<Pending>,
    /// Taken by the embedder task when it starts.
    receiver: Mutex<Option<mpsc::Receiver<Pending>>>,
    counters: Arc<Counters>,
}

impl Semantic {
    /// The semantic path for these settings; None when they leave it off.
    pub(super) fn new(settings: SemanticSettings) -> Result<Option<Semantic>, EmbeddingError> {
        let Some(client) = Client::new(&settings)? else {
            return Ok(None);
        };
        let (queue, receiver) = mpsc::channel(settings.embeddings_backlog);
        Ok(Some(Semantic {
            settings,
            client,
            vectors: Arc::new(VectorIndex::new()),
            queue,
            receiver: Mutex::new(Some(receiver)),
            counters: Arc::default(),
        }))
    }

    /// Queues a newly stored question for its embedding, without waiting.
    pub(super) fn embed_later(&self, id: QuestionId, text: &str) {
        if let Err(mpsc::error::TrySendError::Full(_)) = self.queue.try_send((id, text.into())) {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            if may_warn(&self.counters.warned_embedder) {
                tracing::warn!(
                    backlog = self.settings.embeddings_backlog,
                    "the embedding backlog is full: new questions are embedded by the next sweep"
                );
            }
        }
    }

    /// The vector of a query text, within the query deadline; None (and
    /// counted) when the service does not give one in time.
    pub(super) async fn query_vector(&self, text: &str) -> Option<Vector> {
        let deadline = Duration::from_millis(self.settings.query_timeout_ms);
        match self.client.embed(&[text], deadline).await {
            Ok(mut v) => v.pop(),
            Err(e) => {
                self.fell_back(&e);
                None
            }
        }
    }

    /// Counts a search answered lexically because of `e`.
    fn fell_back(&self, e: &EmbeddingError) {
        self.counters.fallbacks.fetch_add(1, Ordering::Relaxed);
        if may_warn(&self.counters.warned_search) {
            tracing::warn!(
                fallbacks = self.counters.fallbacks.load(Ordering::Relaxed),
                "similar questions answered from the lexical path only: {e}"
            );
        }
    }

    /// Counts a search ranked by both paths.
    pub(super) fn blended(&self) {
        self.counters.blended.fetch_add(1, Ordering::Relaxed);
    }

    /// The counts so far.
    pub(super) fn counts(&self) -> SemanticCounts {
        self.counters.snapshot()
    }

    /// Starts the embedder on the current tokio runtime. Only the first
    /// call starts one; the task ends when the service is dropped.
    pub(super) fn spawn(&self, store: Arc<dyn Store>) {
        let Some(receiver) = self
            .receiver
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        else {
            return;
        };
        tracing::info!(
            url = self.client.url(),
            model = self.client.model(),
            "semantic similar questions on: embedding stored questions in the background"
        );
        let embedder = Embedder {
            store,
            client: self.client.clone(),
            vectors: self.vectors.clone(),
            counters: self.counters.clone(),
            settings: self.settings.clone(),
        };
        tokio::spawn(embedder.run(receiver));
    }
}

/// The background task that computes and keeps the vectors.
struct Embedder {
    store: Arc<dyn Store>,
    client: Client,
    vectors: Arc<VectorIndex>,
    counters: Arc<Counters>,
    settings: SemanticSettings,
}

/// Where the sweep for questions without a vector has got to.
#[derive(Default)]
struct Sweep {
    token: Option<String>,
    started: Option<Instant>,
    embedded: u64,
}

impl Embedder {
    async fn run(self, mut receiver: mpsc::Receiver<Pending>) {
        self.load_stored().await;
        let batch_size = self.settings.embeddings_batch;
        let mut sweep = Some(Sweep::default());
        let mut backoff = Duration::ZERO;
        // Questions whose text the service refused: not offered again.
        let mut skipped = rustc_hash::FxHashSet::default();
        loop {
            let mut batch = Vec::with_capacity(batch_size);
            // New questions first, then the sweep, else wait for news.
            while batch.len() < batch_size {
                match receiver.try_recv() {
                    Ok(p) => batch.push(p),
                    Err(mpsc::error::TryRecvError::Empty) => break,
                    Err(mpsc::error::TryRecvError::Disconnected) => return,
                }
            }
            let mut swept = false;
            if batch.is_empty() {
                if let Some(s) = &mut sweep {
                    match self.sweep_step(s, &skipped).await {
                        Some(found) => {
                            batch = found;
                            swept = true;
                        }
                        None => sweep = None,
                    }
                }
            }
            if batch.is_empty() && !swept {
                match receiver.recv().await {
                    Some(p) => batch.push(p),
                    None => return,
                }
                while batch.len() < batch_size {
                    match receiver.try_recv() {
                        Ok(p) => batch.push(p),
                        Err(_) => break,
                    }
                }
            }
            if batch.is_empty() {
                continue;
            }
            match self.embed(&batch).await {
                Ok(n) => {
                    if swept {
                        if let Some(s) = &mut sweep {
                            s.embedded += n;
                        }
                    }
                    if !backoff.is_zero() {
                        tracing::info!(
                            "the embedding service answers again; sweeping for questions it missed"
                        );
                        backoff = Duration::ZERO;
                        sweep.get_or_insert_with(Sweep::default);
                    }
                }
                Err(e) => {
                    self.counters
                        .failed_requests
                        .fetch_add(1, Ordering::Relaxed);
                    if !transient(&e) {
                        // This batch's texts, not the service: leave them
                        // out, or the sweep would offer them forever.
                        if may_warn(&self.counters.warned_embedder) {
                            tracing::warn!(
                                failed_requests =
                                    self.counters.failed_requests.load(Ordering::Relaxed),
                                "questions left without an embedding: {e}"
                            );
                        }
                        skipped.extend(batch.iter().map(|(id, _)| id.get()));
                        continue;
                    }
                    backoff = (backoff * 2).clamp(Duration::from_secs(1), MAX_BACKOFF);
                    if may_warn(&self.counters.warned_embedder) {
                        tracing::warn!(
                            failed_requests = self.counters.failed_requests.load(Ordering::Relaxed),
                            retry_in_secs = backoff.as_secs(),
                            "questions were not embedded (similar questions stay lexical for them until the service is back): {e}"
                        );
                    }
                    // Whatever the outage missed, new or swept, is found by
                    // the sweep that starts when the service answers again.
                    sweep = None;
                    tokio::time::sleep(backoff).await;
                }
            }
        }
    }

    /// Reads every stored vector of the configured model into memory.
    async fn load_stored(&self) {
        let started = Instant::now();
        let model = self.client.model().to_string();
        let mut after = None;
        let (mut loaded, mut other_model, mut damaged) = (0u64, 0u64, 0u64);
        loop {
            let store = self.store.clone();
            let page =
                tokio::task::spawn_blocking(move || store.embeddings(after, LOAD_PAGE)).await;
            let page = match page {
                Ok(Ok(page)) => page,
                Ok(Err(e)) => {
                    tracing::error!(
                        "cannot read the stored embeddings ({e}); they are computed again"
                    );
                    break;
                }
                Err(e) => {
                    tracing::error!(
                        "reading the stored embeddings failed ({e}); they are computed again"
                    );
                    break;
                }
            };
            let Some(last) = page.last().map(|(id, _)| *id) else {
                break;
            };
            for (id, bytes) in page {
                match Vector::decode(&bytes) {
                    Ok((m, v)) if m == model => match self.vectors.insert(id.get(), &v) {
                        Ok(()) => loaded += 1,
                        Err(_) => other_model += 1,
                    },
                    Ok(_) => other_model += 1,
                    Err(_) => damaged += 1,
                }
            }
            after = Some(last);
        }
        self.counters.loaded.store(loaded, Ordering::Relaxed);
        tracing::info!(
            loaded,
            other_model,
            damaged,
            seconds = started.elapsed().as_secs_f32(),
            "stored embeddings loaded; those of another model or damaged are computed again"
        );
    }

    /// The next questions of the store without a vector (up to a batch);
    /// None when the sweep has reached the end.
    async fn sweep_step(
        &self,
        sweep: &mut Sweep,
        skipped: &rustc_hash::FxHashSet<u64>,
    ) -> Option<Vec<Pending>> {
        let started = *sweep.started.get_or_insert_with(Instant::now);
        let want = self.settings.embeddings_batch;
        loop {
            let store = self.store.clone();
            let page = PageRequest {
                size: MAX_PAGE_SIZE.min(1000),
                token: sweep.token.clone(),
            };
            let got =
                tokio::task::spawn_blocking(move || store.list(&ListFilter::default(), &page))
                    .await;
            let got = match got {
                Ok(Ok(got)) => got,
                Ok(Err(e)) => {
                    tracing::error!("the sweep for questions without an embedding stopped: {e}");
                    return None;
                }
                Err(e) => {
                    tracing::error!("the sweep for questions without an embedding failed: {e}");
                    return None;
                }
            };
            // A page is taken whole if it has a few missing, so the
            // cursor only moves past a page once all of it is done.
            let missing: Vec<Pending> = got
                .items
                .into_iter()
                .filter(|q| !self.vectors.contains(q.id.get()) && !skipped.contains(&q.id.get()))
                .take(want)
                .map(|q| (q.id, q.text))
                .collect();
            if !missing.is_empty() {
                return Some(missing);
            }
            match got.next_token {
                Some(t) => sweep.token = Some(t),
                None => {
                    if sweep.embedded > 0 {
                        tracing::info!(
                            embedded = sweep.embedded,
                            seconds = started.elapsed().as_secs_f32(),
                            "every stored question has its embedding"
                        );
                    }
                    return None;
                }
            }
        }
    }

    /// Embeds a batch and keeps the vectors, in the store (durably) and
    /// then in memory, so a vector that searches use survives a crash;
    /// returns how many were kept.
    async fn embed(&self, batch: &[Pending]) -> Result<u64, EmbeddingError> {
        let texts: Vec<&str> = batch.iter().map(|(_, t)| t.as_str()).collect();
        let deadline = Duration::from_millis(self.settings.embeddings_timeout_ms);
        let vectors = self.client.embed(&texts, deadline).await?;
        if let Some(first) = vectors.first() {
            // A new model's dimension is refused before anything is kept.
            if let Some(kept) = self.vectors.dimensions() {
                if kept != first.dimensions() {
                    return Err(crate::similar::VectorError::Mismatch {
                        expected: kept,
                        found: first.dimensions(),
                    }
                    .into());
                }
            }
        }
        let model = self.client.model().to_string();
        let encoded: Vec<(QuestionId, Vec<u8>)> = batch
            .iter()
            .zip(&vectors)
            .map(|((id, _), v)| (*id, v.encode(&model)))
            .collect();
        let store = self.store.clone();
        let stored = tokio::task::spawn_blocking(move || {
            for (id, bytes) in &encoded {
                store.put_embedding(*id, bytes)?;
            }
            // One fsync for the batch, shared with the writes of the moment.
            store.flush()
        })
        .await;
        match stored {
            Ok(Ok(())) => {}
            // In memory they still serve; the next start computes them again.
            Ok(Err(e)) => tracing::error!("embeddings could not be stored: {e}"),
            Err(e) => tracing::error!("storing embeddings failed: {e}"),
        }
        for ((id, _), v) in batch.iter().zip(&vectors) {
            self.vectors.insert(id.get(), v)?;
        }
        let n = vectors.len() as u64;
        self.counters.embedded.fetch_add(n, Ordering::Relaxed);
        Ok(n)
    }
}
