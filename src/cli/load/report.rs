//! What `kicer load api` reports: every answer counted by gRPC code, the
//! latencies in an HDR histogram at microsecond resolution, the
//! percentiles and rates taken from them, the table and JSON printed, and
//! the checks that make the command fail.

use crate::cli::remote::render::table;
use hdrhistogram::Histogram;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// Longest latency the histogram holds exactly (an hour); a longer one is
/// recorded as an hour.
const MAX_MICROS: u64 = 3_600_000_000;

/// The answers and latencies of one client (or, merged, of all clients)
/// during one phase.
#[derive(Debug, Clone)]
pub struct Tally {
    latencies: Histogram<u64>,
    ok: u64,
    errors: BTreeMap<String, u64>,
}

impl Default for Tally {
    fn default() -> Self {
        Tally {
            // Constant, valid bounds (1 µs to an hour, 3 significant
            // digits): creation cannot fail.
            latencies: Histogram::new_with_bounds(1, MAX_MICROS, 3)
                .expect("constant histogram bounds are valid"),
            ok: 0,
            errors: BTreeMap::new(),
        }
    }
}

impl Tally {
    /// Records one call: how long it took and whether its answer was OK
    /// (`Err` names what it was instead: a gRPC code or `NOT_SERVING`).
    pub fn record(&mut self, latency: Duration, answer: Result<(), String>) {
        let micros = (latency.as_micros() as u64).clamp(1, MAX_MICROS);
        self.latencies.saturating_record(micros);
        match answer {
            Ok(()) => self.ok += 1,
            Err(code) => *self.errors.entry(code).or_default() += 1,
        }
    }

    /// Adds another client's tally to this one.
    pub fn merge(&mut self, other: &Tally) -> anyhow::Result<()> {
        self.latencies
            .add(&other.latencies)
            .map_err(|e| anyhow::anyhow!("cannot merge latency histograms: {e:?}"))?;
        self.ok += other.ok;
        for (code, n) in &other.errors {
            *self.errors.entry(code.clone()).or_default() += n;
        }
        Ok(())
    }

    /// The figures of this tally over a phase of `elapsed` wall time.
    pub fn stats(&self, elapsed: Duration) -> Stats {
        let requests = self.latencies.len();
        let seconds = elapsed.as_secs_f64();
        let at = |q: f64| {
            if requests == 0 {
                0
            } else {
                self.latencies.value_at_quantile(q)
            }
        };
        Stats {
            requests,
            ok: self.ok,
            errors: self.errors.clone(),
            seconds,
            per_second: if seconds > 0.0 {
                requests as f64 / seconds
            } else {
                0.0
            },
            p50_us: at(0.5),
            p99_us: at(0.99),
            p999_us: at(0.999),
            max_us: if requests == 0 {
                0
            } else {
                self.latencies.max()
            },
        }
    }
}

/// The gRPC name of a code, as the spec and other tools spell it
/// (`DEADLINE_EXCEEDED`), for the error columns.
pub fn code_name(code: tonic::Code) -> String {
    let mut out = String::new();
    for (i, c) in format!("{code:?}").chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// One phase's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stats {
    /// Calls made.
    pub requests: u64,
    /// Calls answered OK.
    pub ok: u64,
    /// The other answers, by gRPC code name.
    pub errors: BTreeMap<String, u64>,
    /// Wall time of the phase.
    pub seconds: f64,
    /// Calls per second over the phase.
    pub per_second: f64,
    /// Median latency, µs.
    pub p50_us: u64,
    /// 99th percentile latency, µs.
    pub p99_us: u64,
    /// 99.9th percentile latency, µs.
    pub p999_us: u64,
    /// Slowest call, µs.
    pub max_us: u64,
}

impl Stats {
    /// Calls not answered OK.
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }
}

/// The figures of one RPC and of Health/Check run just before it with
/// the same clients and duration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RpcReport {
    /// The RPC as `--rpc` names it (`classify`).
    pub rpc: String,
    /// Its gRPC method (`ClassifyQuestion`).
    pub method: String,
    /// Health/Check's figures: what the transport and server do for a
    /// call that does no work.
    pub health: Stats,
    /// The RPC's figures.
    pub stats: Stats,
    /// The RPC's calls per second over Health/Check's: the share of the
    /// server's call capacity left once the RPC's own work is done.
    pub ratio: f64,
}

/// `rpc` over `health` calls per second; 0 when Health/Check made none.
pub fn ratio(rpc: &Stats, health: &Stats) -> f64 {
    if health.per_second > 0.0 {
        rpc.per_second / health.per_second
    } else {
        0.0
    }
}

/// Everything `kicer load api` measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApiReport {
    /// The server measured.
    pub server: String,
    /// Concurrent clients.
    pub clients: usize,
    /// HTTP/2 connections they shared.
    pub connections: usize,
    /// Per RPC, in the order run.
    pub rpcs: Vec<RpcReport>,
}

impl ApiReport {
    /// The report as a table: a Health/Check row, then the RPC's row,
    /// per RPC.
    pub fn table(&self) -> String {
        let mut rows = Vec::new();
        for r in &self.rpcs {
            rows.push(row("  Health/Check", &r.health, "-".into()));
            rows.push(row(&r.rpc, &r.stats, format!("{:.2}", r.ratio)));
        }
        format!(
            "{} with {} over {}\n{}",
            self.server,
            count(self.clients, "client"),
            count(self.connections, "connection"),
            table(
                &[
                    "rpc",
                    "requests",
                    "ok",
                    "errors",
                    "req/s",
                    "p50 ms",
                    "p99 ms",
                    "p99.9 ms",
                    "max ms",
                    "vs health",
                ],
                rows,
            )
        )
    }

    /// What makes the run a failure: answers that were not OK (unless
    /// `allow_errors`) and median or p99 latencies over the limits.
    pub fn problems(&self, limits: &Limits) -> Vec<String> {
        let mut out = Vec::new();
        for r in &self.rpcs {
            for (what, s) in [("Health/Check before", &r.health), ("", &r.stats)] {
                let errors = s.error_count();
                if errors > 0 && !limits.allow_errors {
                    out.push(format!(
                        "{what}{}{}: {errors} of {} calls were not answered OK ({}): see the server's log, or pass --allow-errors to accept them",
                        if what.is_empty() { "" } else { " " },
                        r.rpc,
                        s.requests,
                        error_list(&s.errors)
                    ));
                }
            }
            for (name, limit, value) in [
                ("p50", limits.max_p50_ms, r.stats.p50_us),
                ("p99", limits.max_p99_ms, r.stats.p99_us),
            ] {
                let Some(limit) = limit else { continue };
                let ms = value as f64 / 1e3;
                if ms > limit {
                    out.push(format!(
                        "{}: {name} latency {ms:.3} ms is over --max-{name}-ms {limit}{}",
                        r.rpc,
                        if (39.0..=45.0).contains(&ms) {
                            " (about 40 ms: the delay of Nagle's algorithm with delayed ACKs; \
                             has the server or client lost TCP_NODELAY?)"
                        } else {
                            ""
                        }
                    ));
                }
            }
        }
        out
    }
}

/// When `kicer load api` fails.
#[derive(Debug, Clone, Default)]
pub struct Limits {
    /// Accept answers that are not OK.
    pub allow_errors: bool,
    /// Most median latency of any RPC, ms.
    pub max_p50_ms: Option<f64>,
    /// Most p99 latency of any RPC, ms.
    pub max_p99_ms: Option<f64>,
}

/// `1 client`, `2 clients`.
fn count(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

fn row(name: &str, s: &Stats, ratio: String) -> Vec<String> {
    let ms = |us: u64| format!("{:.3}", us as f64 / 1e3);
    vec![
        name.to_string(),
        s.requests.to_string(),
        s.ok.to_string(),
        if s.errors.is_empty() {
            "0".into()
        } else {
            error_list(&s.errors)
        },
        format!("{:.0}", s.per_second),
        ms(s.p50_us),
        ms(s.p99_us),
        ms(s.p999_us),
        ms(s.max_us),
        ratio,
    ]
}

fn error_list(errors: &BTreeMap<String, u64>) -> String {
    errors
        .iter()
        .map(|(code, n)| format!("{code} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(latencies_us: impl IntoIterator<Item = u64>) -> Tally {
        let mut t = Tally::default();
        for us in latencies_us {
            t.record(Duration::from_micros(us), Ok(()));
        }
        t
    }

    #[test]
    fn percentiles_come_from_the_histogram_at_microsecond_resolution() {
        let s = tally(1..=1000).stats(Duration::from_secs(2));
        assert_eq!(s.requests, 1000);
        assert_eq!(s.ok, 1000);
        assert_eq!(s.p50_us, 500);
        assert_eq!(s.p99_us, 990);
        assert_eq!(s.p999_us, 999);
        assert_eq!(s.max_us, 1000);
        assert_eq!(s.per_second, 500.0);
        // Three significant digits: 40,123 µs is kept to within 0.1 %.
        let s = tally([40_123]).stats(Duration::from_secs(1));
        assert!((s.p50_us as i64 - 40_123).abs() <= 40, "{}", s.p50_us);
    }

    #[test]
    fn merged_tallies_count_every_client_and_error_by_code() {
        let mut a = tally([100, 200]);
        let mut b = tally([300]);
        b.record(
            Duration::from_micros(50),
            Err(code_name(tonic::Code::Unavailable)),
        );
        b.record(Duration::from_micros(60), Err("NOT_SERVING".into()));
        a.merge(&b).unwrap();
        let s = a.stats(Duration::from_secs(1));
        assert_eq!((s.requests, s.ok, s.error_count()), (5, 3, 2));
        assert_eq!(s.errors["UNAVAILABLE"], 1);
        assert_eq!(s.max_us, 300);
        let empty = Tally::default().stats(Duration::ZERO);
        assert_eq!(
            (empty.requests, empty.p50_us, empty.per_second),
            (0, 0, 0.0)
        );
    }

    #[test]
    fn code_names_are_the_grpc_spelling() {
        assert_eq!(code_name(tonic::Code::Ok), "OK");
        assert_eq!(
            code_name(tonic::Code::DeadlineExceeded),
            "DEADLINE_EXCEEDED"
        );
        assert_eq!(
            code_name(tonic::Code::ResourceExhausted),
            "RESOURCE_EXHAUSTED"
        );
    }

    fn report(health_us: u64, rpc_us: u64, errors: bool) -> ApiReport {
        let health = tally(vec![health_us; 400]).stats(Duration::from_secs(1));
        let mut t = tally(vec![rpc_us; 100]);
        if errors {
            t.record(Duration::from_micros(rpc_us), Err("INTERNAL".into()));
        }
        let stats = t.stats(Duration::from_secs(1));
        ApiReport {
            server: "http://127.0.0.1:1".into(),
            clients: 1,
            connections: 1,
            rpcs: vec![RpcReport {
                rpc: "classify".into(),
                method: "ClassifyQuestion".into(),
                ratio: ratio(&stats, &health),
                health,
                stats,
            }],
        }
    }

    #[test]
    fn the_ratio_is_the_rpcs_rate_over_health_checks() {
        let r = report(100, 1000, false);
        assert_eq!(r.rpcs[0].ratio, 0.25);
        let none = Tally::default().stats(Duration::from_secs(1));
        assert_eq!(ratio(&r.rpcs[0].stats, &none), 0.0);
        let text = r.table();
        assert!(text.contains("classify"), "{text}");
        assert!(text.contains("0.25"), "{text}");
        assert!(text.contains("Health/Check"), "{text}");
    }

    #[test]
    fn errors_and_slow_medians_are_problems_unless_allowed() {
        let ok = report(100, 1000, false);
        assert!(ok.problems(&Limits::default()).is_empty());
        let failing = report(100, 1000, true);
        let problems = failing.problems(&Limits::default());
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("INTERNAL 1"), "{problems:?}");
        let allowed = Limits {
            allow_errors: true,
            ..Limits::default()
        };
        assert!(failing.problems(&allowed).is_empty());
        let nagle = report(100, 40_500, false);
        let limits = Limits {
            max_p50_ms: Some(5.0),
            ..Limits::default()
        };
        let problems = nagle.problems(&limits);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("TCP_NODELAY"), "{problems:?}");
        assert!(ok.problems(&limits).is_empty());
    }
}
