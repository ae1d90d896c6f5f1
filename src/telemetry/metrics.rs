//! The Prometheus exposition: what an operations team's Prometheus scrapes
//! from `--metrics-listen` (off by default), for Grafana and alerts.
//!
//! Three sources, none of them costly on the request path:
//!
//! * the gRPC edge records each call (a counter by service, method and
//!   code, and a latency histogram) through [`Metrics::rpc`];
//! * a task follows the service's status events ([`Metrics::event`]):
//!   questions submitted, routing outcomes, status changes and the core
//!   team's routing decisions, counted as they happen;
//! * at each scrape, [`Metrics::refresh`] reads what is cheaper to read
//!   than to track: open questions by status and the oldest in triage (the
//!   store's open-age index), the index version, the similar-question and
//!   embedding counts, the store's size.
//!
//! The store reports every group commit ([`CommitObserver`]): flush +
//! fsync time and the writes it covered.
//!
//! Every label takes a bounded set of values: services and methods of the
//! API (anything else is `unknown`), gRPC codes, statuses, categories,
//! organisation types, triage causes. No question ids, no organisation
//! names, no client names. Names follow the Prometheus conventions: base
//! units (`_seconds`, `_bytes`), `_total` on counters (added by the
//! encoder), one `kicer_` prefix.

use crate::domain::{ActionKind, Category, OrganizationType, Status};
use crate::service::{QuestionEvent, Service};
use crate::store::commit::CommitObserver;
use crate::store::{Dimension, LeadClock, LeadTimeQuery, Metric as LeadMetric};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

/// The content type of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// The content type of [`classic`]'s text.
pub const CLASSIC_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The exposition in Prometheus' classic text format (0.0.4), for clients
/// that do not ask for OpenMetrics (curl, promtool, older scrapers): the
/// same samples, with a counter's HELP and TYPE under its `_total` name,
/// and without OpenMetrics' `# UNIT` and `# EOF` lines.
pub fn classic(openmetrics: &str) -> String {
    let mut out = String::with_capacity(openmetrics.len());
    let lines: Vec<&str> = openmetrics.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if line == "# EOF" || line.starts_with("# UNIT ") {
            i += 1;
            continue;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            // HELP comes first; the TYPE on the next line says whether
            // the family is a counter.
            let name = rest.split(' ').next().unwrap_or_default();
            let counter = lines
                .get(i + 1)
                .is_some_and(|t| *t == format!("# TYPE {name} counter"));
            if counter {
                let help = &rest[name.len()..];
                out.push_str(&format!(
                    "# HELP {name}_total{help}\n# TYPE {name}_total counter\n"
                ));
                i += 2;
                continue;
            }
        }
        out.push_str(line);
        out.push('\n');
        i += 1;
    }
    out
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RpcLabels {
    service: &'static str,
    method: &'static str,
    code: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MethodLabels {
    service: &'static str,
    method: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SubmitLabels {
    category: &'static str,
    organization_type: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
    cause: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LeadLabels {
    category: &'static str,
    clock: &'static str,
    percentile: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClockLabels {
    category: &'static str,
    clock: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LeadCountLabels {
    category: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PathLabels {
    path: &'static str,
}

fn rpc_buckets() -> Histogram {
    // 100 µs to ~6.5 s: a health check to a large import.
    Histogram::new(exponential_buckets(0.0001, 2.0, 17))
}

fn flush_buckets() -> Histogram {
    // 100 µs to ~3.3 s: a page-cache flush to a struggling disk.
    Histogram::new(exponential_buckets(0.0001, 2.0, 16))
}

/// Lead times: a minute to about a year, doubling.
fn lead_buckets() -> Histogram {
    Histogram::new(exponential_buckets(60.0, 2.0, 20))
}

fn batch_buckets() -> Histogram {
    Histogram::new(exponential_buckets(1.0, 2.0, 10))
}

/// Scrape-time counts as last seen, to turn totals into counter steps.
#[derive(Debug, Default)]
struct Seen {
    searches: u64,
    found: u64,
    embedded: u64,
    embedding_failures: u64,
    semantic_fallbacks: u64,
}

/// Every metric kicer exposes, and their registry.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    rpc_requests: Family<RpcLabels, Counter>,
    rpc_seconds: Family<MethodLabels, Histogram, fn() -> Histogram>,
    submitted: Family<SubmitLabels, Counter>,
    outcomes: Family<OutcomeLabels, Counter>,
    transitions: Family<StatusLabels, Counter>,
    feedback: Counter,
    events_missed: Counter,
    open: Family<StatusLabels, Gauge>,
    triage_oldest: Gauge<f64, AtomicU64>,
    triage_oldest_working: Gauge<f64, AtomicU64>,
    lead: Family<LeadLabels, Gauge<f64, AtomicU64>>,
    answered: Family<LeadCountLabels, Gauge>,
    answer_seconds: Family<ClockLabels, Histogram, fn() -> Histogram>,
    index_version: Gauge,
    similar_searches: Counter,
    similar_found: Counter,
    embedded: Counter,
    embedding_failures: Counter,
    semantic_fallbacks: Counter,
    store_bytes: Gauge,
    commit_seconds: Histogram,
    commit_writes: Histogram,
    scrape_errors: Family<PathLabels, Counter>,
    seen: Mutex<Seen>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Every metric, registered, at zero.
    pub fn new() -> Metrics {
        let mut r = Registry::with_prefix("kicer");
        let m = Metrics {
            rpc_requests: Family::default(),
            rpc_seconds: Family::new_with_constructor(rpc_buckets),
            submitted: Family::default(),
            outcomes: Family::default(),
            transitions: Family::default(),
            feedback: Counter::default(),
            events_missed: Counter::default(),
            open: Family::default(),
            triage_oldest: Gauge::default(),
            triage_oldest_working: Gauge::default(),
            lead: Family::default(),
            answered: Family::default(),
            answer_seconds: Family::new_with_constructor(lead_buckets),
            index_version: Gauge::default(),
            similar_searches: Counter::default(),
            similar_found: Counter::default(),
            embedded: Counter::default(),
            embedding_failures: Counter::default(),
            semantic_fallbacks: Counter::default(),
            store_bytes: Gauge::default(),
            commit_seconds: flush_buckets(),
            commit_writes: batch_buckets(),
            scrape_errors: Family::default(),
            seen: Mutex::new(Seen::default()),
            registry: Registry::default(),
        };
        r.register(
            "grpc_requests",
            "gRPC calls answered, by service, method and status code",
            m.rpc_requests.clone(),
        );
        r.register_with_unit(
            "grpc_request_duration",
            "Time from a call's arrival to its response headers (a stream: to its first message)",
            Unit::Seconds,
            m.rpc_seconds.clone(),
        );
        r.register(
            "questions_submitted",
            "New questions stored, by the category read from them and the asking organisation's type",
            m.submitted.clone(),
        );
        r.register(
            "routing_outcomes",
            "First routing decision of new questions: auto_routed, or triage with its cause",
            m.outcomes.clone(),
        );
        r.register(
            "status_changes",
            "Status changes of questions, by the status reached",
            m.transitions.clone(),
        );
        r.register(
            "learning_feedback",
            "Routing decisions of the core team on questions in triage (what learning learns from)",
            m.feedback.clone(),
        );
        r.register(
            "metrics_events_missed",
            "Status events the metrics fell too far behind to count",
            m.events_missed.clone(),
        );
        r.register(
            "open_questions",
            "Questions not yet answered, closed, rejected or duplicate, by status",
            m.open.clone(),
        );
        r.register_with_unit(
            "triage_oldest_age",
            "Age of the oldest question waiting in the triage queue (0 when it is empty)",
            Unit::Seconds,
            m.triage_oldest.clone(),
        );
        r.register_with_unit(
            "triage_oldest_age_working",
            "Age of the oldest question in the triage queue counted in Dutch working hours (0 when it is empty)",
            Unit::Seconds,
            m.triage_oldest_working.clone(),
        );
        r.register_with_unit(
            "answer_lead_time_last_12_months",
            "Submit to first answer, waiting for the asker excluded, over the last twelve months: percentiles by category, on the calendar or in working hours (what GetLeadTimes reports)",
            Unit::Seconds,
            m.lead.clone(),
        );
        r.register_with_unit(
            "answer_lead_time",
            "Time to answer of the questions answered since the server started (submit to first answer, waiting for the asker excluded), by category, on the calendar or in working hours",
            Unit::Seconds,
            m.answer_seconds.clone(),
        );
        r.register(
            "answered_last_12_months",
            "Questions answered for the first time in the last twelve months, by category",
            m.answered.clone(),
        );
        r.register(
            "index_version",
            "Version of the routing index in use; it goes up with every rebuild (learning, directory changes)",
            m.index_version.clone(),
        );
        r.register(
            "similar_searches",
            "Similar-question searches (submit, classify, FindSimilarQuestions)",
            m.similar_searches.clone(),
        );
        r.register(
            "similar_hits",
            "Similar-question searches that listed at least one earlier question",
            m.similar_found.clone(),
        );
        r.register(
            "embeddings_computed",
            "Questions given an embedding by the embedding service (the semantic path)",
            m.embedded.clone(),
        );
        r.register(
            "embedding_request_failures",
            "Requests to the embedding service that failed (each a batch of questions)",
            m.embedding_failures.clone(),
        );
        r.register(
            "similar_semantic_fallbacks",
            "Searches answered lexically because the embedding service gave no query vector in time",
            m.semantic_fallbacks.clone(),
        );
        r.register_with_unit(
            "store_size",
            "Bytes the store occupies on disk",
            Unit::Bytes,
            m.store_bytes.clone(),
        );
        r.register_with_unit(
            "store_commit_duration",
            "Time of one group commit (sled flush and fsync of its log)",
            Unit::Seconds,
            m.commit_seconds.clone(),
        );
        r.register(
            "store_commit_writes",
            "Writes made durable by one group commit",
            m.commit_writes.clone(),
        );
        r.register(
            "metrics_scrape_errors",
            "Values a scrape could not read, by which",
            m.scrape_errors.clone(),
        );
        let build = Family::<BuildLabels, Gauge>::default();
        build
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
            })
            .set(1);
        r.register("build_info", "The running build (always 1)", build);
        Metrics { registry: r, ..m }
    }

    /// Records an answered gRPC call. `service` and `method` must come
    /// from the API's own list (the edge passes `unknown` otherwise).
    pub fn rpc(&self, service: &'static str, method: &'static str, code: &'static str, secs: f64) {
        self.rpc_requests
            .get_or_create(&RpcLabels {
                service,
                method,
                code,
            })
            .inc();
        self.rpc_seconds
            .get_or_create(&MethodLabels { service, method })
            .observe(secs);
    }

    /// Counts one status event of the service.
    pub fn event(&self, e: &QuestionEvent) {
        self.transitions
            .get_or_create(&StatusLabels {
                status: e.to.as_str(),
            })
            .inc();
        if e.from.is_none() {
            self.submitted
                .get_or_create(&SubmitLabels {
                    category: e.category.map_or("NONE", Category::as_str),
                    organization_type: OrganizationType::as_str(e.organization_type),
                })
                .inc();
        }
        if e.from == Some(Status::Received) {
            let labels = match (e.to, e.triage_cause) {
                (Status::Triage, Some(cause)) => OutcomeLabels {
                    outcome: "triage",
                    cause: cause.as_str(),
                },
                (Status::Triage, None) => OutcomeLabels {
                    outcome: "triage",
                    cause: "other",
                },
                _ => OutcomeLabels {
                    outcome: "auto_routed",
                    cause: "none",
                },
            };
            self.outcomes.get_or_create(&labels).inc();
        }
        if e.action == Some(ActionKind::Route) && e.from == Some(Status::Triage) {
            self.feedback.inc();
        }
        if let Some(m) = e.answer_time {
            let category = e.category.map_or("NONE", Category::as_str);
            for (clock, ms) in [("calendar", m.calendar_ms), ("working_hours", m.working_ms)] {
                self.answer_seconds
                    .get_or_create(&ClockLabels { category, clock })
                    .observe(ms as f64 / 1000.0);
            }
        }
    }

    /// Counts events a lagging follower skipped.
    pub fn missed(&self, n: u64) {
        self.events_missed.inc_by(n);
    }

    /// Reads the values that are read at scrape time. Blocking (it reads
    /// the store): call it off the async runtime's threads.
    pub fn refresh(&self, service: &Service) {
        let now_ms = service.now_ms();
        match service.store().open_counts(now_ms) {
            Ok(counts) => {
                for c in &counts {
                    self.open
                        .get_or_create(&StatusLabels {
                            status: c.status.as_str(),
                        })
                        .set(c.count as i64);
                }
                let oldest = counts
                    .iter()
                    .find(|c| c.status == Status::Triage)
                    .and_then(|c| c.oldest_submitted_ms);
                self.triage_oldest
                    .set(oldest.map_or(0.0, |t| (now_ms - t).max(0) as f64 / 1000.0));
                self.triage_oldest_working.set(oldest.map_or(0.0, |t| {
                    crate::domain::worktime::working_millis(t, now_ms).max(0) as f64 / 1000.0
                }));
            }
            Err(e) => {
                tracing::warn!("metrics: cannot read the open questions: {e}");
                self.scrape_error("open_questions");
            }
        }
        self.refresh_lead_times(service);
        self.index_version
            .set(service.engine().index().version() as i64);
        match service.store().size_on_disk() {
            Ok(Some(bytes)) => {
                self.store_bytes.set(bytes as i64);
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!("metrics: cannot measure the store: {e}");
                self.scrape_error("store_size");
            }
        }
        let search = service.search_counts();
        let semantic = service.semantic_counts().unwrap_or_default();
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        step(&self.similar_searches, &mut seen.searches, search.searches);
        step(&self.similar_found, &mut seen.found, search.found);
        step(&self.embedded, &mut seen.embedded, semantic.embedded);
        step(
            &self.embedding_failures,
            &mut seen.embedding_failures,
            semantic.failed_requests,
        );
        step(
            &self.semantic_fallbacks,
            &mut seen.semantic_fallbacks,
            semantic.fallbacks,
        );
    }

    /// The answer lead times of the last twelve months, per category, from
    /// the store's in-memory counters.
    fn refresh_lead_times(&self, service: &Service) {
        let (from_month, to_month) = service.last_twelve_months();
        for (clock, clock_label) in [
            (LeadClock::Calendar, "calendar"),
            (LeadClock::WorkingHours, "working_hours"),
        ] {
            let query = LeadTimeQuery {
                metric: LeadMetric::TimeToAnswer,
                clock,
                group_by: Dimension::Category,
                from_month,
                to_month,
            };
            let groups = match service.lead_times(&query, &[]) {
                Ok(groups) => groups,
                Err(e) => {
                    tracing::warn!("metrics: cannot read the lead times: {e}");
                    self.scrape_error("answer_lead_time");
                    return;
                }
            };
            for category in Category::ALL {
                let name = category.as_str();
                let group = groups.iter().find(|g| g.group == name);
                for (percentile, value) in [
                    ("50", group.map(|g| g.p50_ms)),
                    ("90", group.map(|g| g.p90_ms)),
                    ("99", group.map(|g| g.p99_ms)),
                ] {
                    let gauge = self.lead.get_or_create(&LeadLabels {
                        category: name,
                        clock: clock_label,
                        percentile,
                    });
                    // NaN where nothing was answered: no lead time, not 0.
                    gauge.set(value.map_or(f64::NAN, |ms| ms as f64 / 1000.0));
                }
                if clock == LeadClock::Calendar {
                    self.answered
                        .get_or_create(&LeadCountLabels { category: name })
                        .set(group.map_or(0, |g| g.count) as i64);
                }
            }
        }
    }

    fn scrape_error(&self, path: &'static str) {
        self.scrape_errors.get_or_create(&PathLabels { path }).inc();
    }

    /// The exposition text (OpenMetrics), as scraped.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            // Writing into a String cannot fail; say so if it ever does.
            tracing::error!("metrics could not be encoded: {e}");
        }
        out
    }
}

/// Advances `counter` to `total` (totals only grow; a smaller one, after
/// a restart of its source, is taken as a new start).
fn step(counter: &Counter, last: &mut u64, total: u64) {
    if total >= *last {
        counter.inc_by(total - *last);
    }
    *last = total;
}

impl CommitObserver for Metrics {
    fn committed(&self, seconds: f64, writes: u64) {
        self.commit_seconds.observe(seconds);
        self.commit_writes.observe(writes as f64);
    }
}

/// Follows the service's status events into `metrics` until the service
/// is gone. Runs on the current tokio runtime.
pub fn follow_events(metrics: Arc<Metrics>, service: &Service) {
    let mut events = service.subscribe();
    tokio::spawn(async move {
        use tokio::sync::broadcast::error::RecvError;
        loop {
            match events.recv().await {
                Ok(e) => metrics.event(&e),
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "metrics fell behind the status events");
                    metrics.missed(n);
                }
                Err(RecvError::Closed) => return,
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_is_exposed_with_conventional_names_before_anything_happened() {
        let text = Metrics::new().render();
        for name in [
            "kicer_build_info",
            "kicer_store_commit_duration_seconds",
            "kicer_triage_oldest_age_seconds",
            "kicer_store_size_bytes",
            "kicer_learning_feedback_total",
            "kicer_similar_searches_total",
        ] {
            assert!(text.contains(name), "{name} missing from:\n{text}");
        }
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn a_call_is_counted_by_its_code_and_timed_by_its_method() {
        let m = Metrics::new();
        m.rpc("kicer.v1.QuestionService", "SubmitQuestion", "OK", 0.002);
        m.rpc(
            "kicer.v1.QuestionService",
            "SubmitQuestion",
            "INVALID_ARGUMENT",
            0.0003,
        );
        let text = m.render();
        assert!(text.contains(
            "kicer_grpc_requests_total{service=\"kicer.v1.QuestionService\",method=\"SubmitQuestion\",code=\"INVALID_ARGUMENT\"} 1"
        ), "{text}");
        assert!(text.contains(
            "kicer_grpc_request_duration_seconds_count{service=\"kicer.v1.QuestionService\",method=\"SubmitQuestion\"} 2"
        ), "{text}");
    }

    #[test]
    fn the_classic_format_names_counter_families_by_their_samples_and_drops_openmetrics_lines() {
        let m = Metrics::new();
        m.rpc("kicer.v1.QuestionService", "GetQuestion", "OK", 0.001);
        let text = classic(&m.render());
        assert!(
            text.contains("# TYPE kicer_grpc_requests_total counter\n"),
            "{text}"
        );
        assert!(
            text.contains("# HELP kicer_grpc_requests_total gRPC calls"),
            "{text}"
        );
        assert!(text.contains("# TYPE kicer_grpc_request_duration_seconds histogram\n"));
        assert!(
            !text.contains("# EOF") && !text.contains("# UNIT"),
            "{text}"
        );
    }

    #[test]
    fn a_step_follows_a_growing_total_and_restarts_after_a_smaller_one() {
        let c = Counter::default();
        let mut last = 0;
        step(&c, &mut last, 5);
        step(&c, &mut last, 7);
        step(&c, &mut last, 2);
        step(&c, &mut last, 3);
        assert_eq!(c.get(), 8);
    }
}
