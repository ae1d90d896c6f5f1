//! Lead times: what is measured, on which clock, grouped how, and the
//! histograms that make percentiles over any range of months cheap.
//!
//! * **time to route**: received → first routed;
//! * **time to first response**: first routed → first accepted (IN_PROGRESS);
//! * **time to answer**: received → first answered, time WAITING for the
//!   asker excluded.
//!
//! Each is measured on the calendar clock and on the Dutch working-hours
//! clock ([`crate::domain::worktime`]), and recorded in the month (Amsterdam
//! time) of the event that completes it, in one histogram per group: all
//! questions, per category, provider, expert and organisation type. The
//! event history stays the source of truth: the rebuild replays it through
//! [`advance`], the same function the write path uses.

use super::model::{Question, Timeline};
use crate::domain::{worktime, Status};
use hdrhistogram::Histogram;
use serde::Serialize;

/// What is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Metric {
    /// Received → first routed.
    TimeToRoute = 1,
    /// First routed → first accepted.
    TimeToFirstResponse = 2,
    /// Received → first answered, waiting excluded.
    TimeToAnswer = 3,
}

/// Which clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Clock {
    /// Wall-clock time.
    Calendar = 1,
    /// Dutch working hours only.
    WorkingHours = 2,
}

/// How measurements are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Dimension {
    /// One group: everything.
    All = 1,
    /// Per category in force.
    Category = 2,
    /// Per assigned provider.
    Provider = 3,
    /// Per assigned expert.
    Expert = 4,
    /// Per asking organisation type.
    OrganizationType = 5,
    /// Per calendar month.
    Month = 6,
}

/// A lead-time question: metric, clock, grouping, months `from..=to`
/// (`yyyymm`).
#[derive(Debug, Clone, PartialEq)]
pub struct LeadTimeQuery {
    /// What.
    pub metric: Metric,
    /// Which clock.
    pub clock: Clock,
    /// Grouped by.
    pub group_by: Dimension,
    /// First month, `yyyymm`.
    pub from_month: u32,
    /// Last month, `yyyymm`, inclusive.
    pub to_month: u32,
}

/// Percentiles of one group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeadTimeGroup {
    /// The group's value (`""` for all, a category, an id, `yyyymm`).
    pub group: String,
    /// Measurements.
    pub count: u64,
    /// Mean (ms).
    pub mean_ms: f64,
    /// Median (ms).
    pub p50_ms: u64,
    /// 90th percentile (ms).
    pub p90_ms: u64,
    /// 99th percentile (ms).
    pub p99_ms: u64,
    /// Largest (ms).
    pub max_ms: u64,
}

/// A histogram for lead times: one millisecond to beyond a century, two
/// significant digits (values within 0.8 %: a p99 of 3 days is right to
/// within 35 minutes, finer than anyone reads a lead time). Three digits
/// would store ten times the counters, and a lead-time query reads every
/// counter of its groups: at a million questions that took 14 ms a query
/// instead of 2.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LEAD_TIME_MS, SIGNIFICANT_DIGITS)
        .expect("constant histogram bounds are valid")
}

/// Significant digits of the lead-time histograms (and of the stored
/// counters' buckets; changing it needs a store format upgrade).
pub const SIGNIFICANT_DIGITS: u8 = 2;

/// The longest lead time a histogram holds (about 127 years); longer ones
/// are clamped to it.
pub const MAX_LEAD_TIME_MS: u64 = 4_000_000_000_000;

/// The bucket a value falls in: the lowest value of its hdrhistogram
/// bucket ([`SIGNIFICANT_DIGITS`]). Stored counters are keyed by it.
pub fn bucket_of(value: u64) -> u64 {
    template().lowest_equivalent(value.min(MAX_LEAD_TIME_MS))
}

fn template() -> &'static Histogram<u64> {
    static TEMPLATE: std::sync::OnceLock<Histogram<u64>> = std::sync::OnceLock::new();
    TEMPLATE.get_or_init(new_histogram)
}

/// A measurement completed by an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Measurement {
    /// What.
    pub metric: Metric,
    /// Calendar milliseconds.
    pub calendar_ms: i64,
    /// Working-hours milliseconds.
    pub working_ms: i64,
    /// When it completed (ms), which decides its month.
    pub at_ms: i64,
}

/// Updates the timeline for a status change at `at_ms` to `to` and returns
/// the measurements it completes. The same function serves the live write
/// path and the rebuild from history, so both always agree.
pub fn advance(timeline: &mut Timeline, to: Status, at_ms: i64) -> Vec<Measurement> {
    let mut out = Vec::new();
    if let Some(since) = timeline.waiting_since_ms.take() {
        if timeline.first_answered_ms.is_none() {
            timeline.waited_ms += (at_ms - since).max(0);
            timeline.waited_work_ms += worktime::working_millis(since, at_ms);
        }
    }
    match to {
        Status::Routed if timeline.first_routed_ms.is_none() => {
            timeline.first_routed_ms = Some(at_ms);
            out.push(measure(
                Metric::TimeToRoute,
                timeline.received_ms,
                at_ms,
                0,
                0,
            ));
        }
        Status::InProgress if timeline.first_in_progress_ms.is_none() => {
            timeline.first_in_progress_ms = Some(at_ms);
            let from = timeline.first_routed_ms.unwrap_or(timeline.received_ms);
            out.push(measure(Metric::TimeToFirstResponse, from, at_ms, 0, 0));
        }
        Status::Waiting => timeline.waiting_since_ms = Some(at_ms),
        Status::Answered if timeline.first_answered_ms.is_none() => {
            timeline.first_answered_ms = Some(at_ms);
            out.extend(answer_time(timeline));
        }
        _ => {}
    }
    out
}

/// The time to answer of a question answered at least once: received to
/// first answered, waiting for the asker excluded. What the first answer
/// measured, also for those who see only the question afterwards (the
/// metrics' histogram).
pub fn answer_time(timeline: &Timeline) -> Option<Measurement> {
    timeline.first_answered_ms.map(|at_ms| {
        measure(
            Metric::TimeToAnswer,
            timeline.received_ms,
            at_ms,
            timeline.waited_ms,
            timeline.waited_work_ms,
        )
    })
}

fn measure(metric: Metric, from: i64, to: i64, minus: i64, minus_work: i64) -> Measurement {
    Measurement {
        metric,
        calendar_ms: ((to - from) - minus).max(0),
        working_ms: (worktime::working_millis(from, to) - minus_work).max(0),
        at_ms: to,
    }
}

/// The groups a question's measurement counts in: (dimension, value).
pub fn groups_of(question: &Question) -> Vec<(Dimension, String)> {
    let mut g = vec![(Dimension::All, String::new())];
    if let Some(c) = question.category {
        g.push((Dimension::Category, c.to_string()));
    }
    if let Some(p) = &question.provider {
        g.push((Dimension::Provider, p.to_string()));
    }
    if let Some(e) = &question.expert {
        g.push((Dimension::Expert, e.to_string()));
    }
    g.push((
        Dimension::OrganizationType,
        question.organization_type.to_string(),
    ));
    g
}

/// Counts per bucket of one group, as the stored counters give them: a
/// lead-time query adds up the months of each group here and summarises
/// it without building an hdrhistogram per group (32 KiB each: a query
/// over ten thousand experts would allocate 320 MiB).
#[derive(Debug, Clone, Default)]
pub struct SparseCounts {
    /// (bucket's lowest value, count), in any order until [`Self::summary`].
    counts: Vec<(u64, u64)>,
}

impl SparseCounts {
    /// Adds `count` measurements in the bucket starting at `bucket`.
    /// Buckets given in order (as the stored counters come) are merged as
    /// they arrive.
    pub fn add(&mut self, bucket: u64, count: u64) {
        if count == 0 {
            return;
        }
        let bucket = bucket.min(MAX_LEAD_TIME_MS);
        match self.counts.last_mut() {
            Some(last) if last.0 == bucket => last.1 += count,
            _ => self.counts.push((bucket, count)),
        }
    }

    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// The group's summary, exactly as [`summary`] gives it for an
    /// hdrhistogram holding the same counts (a test checks): a quantile is
    /// the top of the bucket where the running count reaches it, the mean
    /// weighs each bucket by its middle, the maximum is the top of the
    /// highest bucket.
    pub fn summary(mut self, group: String) -> LeadTimeGroup {
        let h = template();
        self.counts.sort_unstable_by_key(|c| c.0);
        let total: u64 = self.counts.iter().map(|c| c.1).sum();
        let quantile = |q: f64| -> u64 {
            let wanted = ((q * total as f64).ceil() as u64).max(1);
            let mut seen = 0;
            for &(bucket, count) in &self.counts {
                seen += count;
                if seen >= wanted {
                    return h.highest_equivalent(bucket);
                }
            }
            0
        };
        let mean = if total == 0 {
            0.0
        } else {
            self.counts
                .iter()
                .map(|&(bucket, count)| h.median_equivalent(bucket) as f64 * count as f64)
                .sum::<f64>()
                / total as f64
        };
        LeadTimeGroup {
            group,
            count: total,
            mean_ms: mean,
            p50_ms: quantile(0.5),
            p90_ms: quantile(0.9),
            p99_ms: quantile(0.99),
            max_ms: self
                .counts
                .last()
                .map_or(0, |&(bucket, _)| h.highest_equivalent(bucket)),
        }
    }
}

/// Summarises a histogram.
pub fn summary(group: String, h: &Histogram<u64>) -> LeadTimeGroup {
    LeadTimeGroup {
        group,
        count: h.len(),
        mean_ms: h.mean(),
        p50_ms: h.value_at_quantile(0.5),
        p90_ms: h.value_at_quantile(0.9),
        p99_ms: h.value_at_quantile(0.99),
        max_ms: h.max(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparse_counts_summarise_as_an_hdrhistogram_does() {
        let mut rng = crate::synth::SplitMix::new(3);
        for n in [1usize, 2, 7, 100, 5_000] {
            let mut h = new_histogram();
            let mut sparse = SparseCounts::default();
            for _ in 0..n {
                let v = bucket_of(1 + rng.below(40 * 86_400_000) as u64);
                let c = 1 + rng.below(3) as u64;
                h.record_n(v, c).unwrap();
                sparse.add(v, c);
            }
            let want = summary("g".into(), &h);
            let got = sparse.summary("g".into());
            assert_eq!(
                (got.count, got.p50_ms, got.p90_ms, got.p99_ms, got.max_ms),
                (
                    want.count,
                    want.p50_ms,
                    want.p90_ms,
                    want.p99_ms,
                    want.max_ms
                ),
                "{n} values"
            );
            assert!((got.mean_ms - want.mean_ms).abs() <= want.mean_ms * 1e-9 + 1e-6);
        }
        let empty = SparseCounts::default().summary("e".into());
        assert_eq!((empty.count, empty.p50_ms, empty.max_ms), (0, 0, 0));
    }

    #[test]
    fn values_of_one_bucket_share_its_lowest_value() {
        assert_eq!(bucket_of(0), 0);
        assert_eq!(bucket_of(1_000), 1_000);
        let b = bucket_of(86_400_123);
        // Two significant digits: within 0.8 % of a day.
        assert!(b <= 86_400_123 && 86_400_123 - b < 86_400_123 / 125);
        assert_eq!(bucket_of(b), b);
        assert_eq!(bucket_of(u64::MAX), bucket_of(MAX_LEAD_TIME_MS));
    }

    #[test]
    fn waiting_time_is_left_out_of_the_time_to_answer() {
        let mut t = Timeline {
            received_ms: 0,
            ..Timeline::default()
        };
        assert_eq!(advance(&mut t, Status::Routed, 1_000)[0].calendar_ms, 1_000);
        assert_eq!(
            advance(&mut t, Status::InProgress, 3_000)[0].calendar_ms,
            2_000
        );
        assert!(advance(&mut t, Status::Waiting, 4_000).is_empty());
        assert!(advance(&mut t, Status::InProgress, 10_000).is_empty());
        let answer = advance(&mut t, Status::Answered, 12_000);
        assert_eq!(answer[0].metric, Metric::TimeToAnswer);
        assert_eq!(answer[0].calendar_ms, 12_000 - 6_000);
    }

    #[test]
    fn only_the_first_routing_and_answer_count() {
        let mut t = Timeline {
            received_ms: 0,
            ..Timeline::default()
        };
        advance(&mut t, Status::Routed, 1);
        advance(&mut t, Status::InProgress, 2);
        advance(&mut t, Status::Answered, 3);
        advance(&mut t, Status::Reopened, 4);
        assert!(advance(&mut t, Status::Routed, 5).is_empty());
        assert!(advance(&mut t, Status::InProgress, 6).is_empty());
        assert!(advance(&mut t, Status::Answered, 7).is_empty());
    }
}
