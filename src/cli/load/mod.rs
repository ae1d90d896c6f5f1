//! `kicer load`: the project's own load and durability tool. It drives a
//! store directly (no server), so it measures the store: durable writes per
//! second with N concurrent writers, the same against a bare sled
//! insert + flush + fsync loop, a bulk fill for query benchmarks, and the
//! lead-time query time, memory and disk size of a filled store. The crash
//! test in `tests/` runs `kicer load submit --acks` and kills it.
//!
//! `kicer load api` ([`api`]) drives a running server through its gRPC API
//! instead, and `kicer load wait-serving` waits for one to be ready.

pub mod api;
mod report;

use crate::domain::{OrganizationType, ProviderId};
use crate::store::commit::GroupCommit;
use crate::store::{
    Action, Change, ClassificationSnapshot, Decision, Dimension, LeadClock, LeadTimeQuery,
    ManualTime, Metric, NewQuestion, SledStore, Store, StoreOptions, SystemTime,
};
use crate::synth::{GeneratedQuestion, Questions, SplitMix};
use crate::taxonomy::Taxonomy;
use anyhow::Context;
use clap::{Args, Subcommand};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Load-tool subcommands.
#[derive(Debug, Subcommand)]
pub enum LoadCommand {
    /// Durable submits (and, with --lifecycle, accept and answer) with N
    /// concurrent writers; prints writes per second and latency.
    Submit(SubmitArgs),
    /// The ceiling: a bare sled insert (record + one index entry) + group
    /// flush + fsync loop with the same writers and record size.
    Baseline(SubmitArgs),
    /// Bulk-fills a store with questions through their whole lifecycle,
    /// spread over twelve months, then flushes once.
    Fill(FillArgs),
    /// Times lead-time queries on a filled store and reports memory and
    /// disk size.
    Query(QueryArgs),
    /// Drives a running server through its gRPC API: Health/Check, then
    /// each chosen RPC, with N concurrent clients; prints throughput and
    /// latency percentiles per RPC.
    Api(api::ApiArgs),
    /// Waits until a server's Health/Check answers SERVING; prints how
    /// long that took.
    WaitServing(api::WaitArgs),
}

/// Options of `load submit` and `load baseline`.
#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// Data directory (created; must not be in use).
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Concurrent writers.
    #[arg(long, default_value_t = 1)]
    pub writers: usize,
    /// Writes in all (submits; with --lifecycle each question makes three).
    #[arg(long, default_value_t = 2_000)]
    pub count: usize,
    /// Bytes of question text per record.
    #[arg(long, default_value_t = 1_000)]
    pub record_bytes: usize,
    /// Also accept and answer each question (three writes per question).
    #[arg(long)]
    pub lifecycle: bool,
    /// Print `ack <id> <status> <version>` after every acknowledged write
    /// (for the crash test).
    #[arg(long)]
    pub acks: bool,
    /// sled cache in MiB.
    #[arg(long, default_value_t = 64)]
    pub cache_mib: u64,
    /// For `baseline`: extra small keys written with each record, to see
    /// what the number of keys per write costs (the store writes about 15).
    #[arg(long, default_value_t = 1)]
    pub index_keys: usize,
    /// For `baseline`: write record and keys as one atomic batch (as the
    /// store's transactions are) instead of separate inserts.
    #[arg(long)]
    pub atomic: bool,
}

/// Options of `load fill`.
#[derive(Debug, Args)]
pub struct FillArgs {
    /// Data directory.
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Questions to add.
    #[arg(long, default_value_t = 100_000)]
    pub questions: usize,
    /// sled cache in MiB.
    #[arg(long, default_value_t = 64)]
    pub cache_mib: u64,
    /// Seed of the generated question texts and lifecycle times.
    #[arg(long, default_value_t = 99)]
    pub seed: u64,
}

/// Options of `load query`.
#[derive(Debug, Args)]
pub struct QueryArgs {
    /// Data directory of a filled store.
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Repetitions per query.
    #[arg(long, default_value_t = 20)]
    pub repeat: usize,
    /// sled cache in MiB.
    #[arg(long, default_value_t = 64)]
    pub cache_mib: u64,
}

/// Runs a load subcommand; `api` and `wait-serving` reach the server
/// given by the global `--server` and `--token` options.
pub fn run(command: LoadCommand, remote: &crate::cli::remote::Remote) -> anyhow::Result<()> {
    match command {
        LoadCommand::Submit(a) => submit(&a),
        LoadCommand::Baseline(a) => baseline(&a),
        LoadCommand::Fill(a) => fill(&a),
        LoadCommand::Query(a) => query(&a),
        LoadCommand::Api(a) => api::run(remote, &a),
        LoadCommand::WaitServing(a) => api::wait_serving(remote, &a),
    }
}

fn options(cache_mib: u64, durable: bool) -> StoreOptions {
    StoreOptions {
        cache_capacity_bytes: cache_mib << 20,
        durable,
        ..StoreOptions::default()
    }
}

/// A submit of filler text of `record_bytes` bytes (the store's write
/// cost depends on the record size, not on the words).
fn question(n: usize, record_bytes: usize, rng: &mut SplitMix) -> NewQuestion {
    let mut text = format!("Vraag {n}: hoe kunnen we circulair inkopen? ");
    while text.len() < record_bytes {
        text.push_str(["afval ", "inzameling ", "bouw ", "visie ", "samenwerking "][rng.below(5)]);
    }
    text.truncate(record_bytes.max(1));
    let asker = GeneratedQuestion {
        text,
        organization_name: format!("Gemeente {}", rng.below(350)),
        organization_type: OrganizationType::ALL[rng.below(4)],
        region: None,
        category: crate::domain::Category::ALL[rng.below(4)],
        english: false,
    };
    routed(asker, rng)
}

/// A generated question as the store receives it, routed to a random
/// provider with a middling confidence.
fn routed(q: GeneratedQuestion, rng: &mut SplitMix) -> NewQuestion {
    let provider = ["pianoo", "nvrd", "cirkelstad", "vng", "ipo", "uvw"][rng.below(6)];
    NewQuestion {
        text: q.text,
        organization_name: q.organization_name,
        organization_type: q.organization_type,
        region: q.region,
        portal: "load".into(),
        request_id: None,
        classification: ClassificationSnapshot {
            category: Some(q.category),
            confidence: 0.7,
            ..ClassificationSnapshot::default()
        },
        decision: Decision::Route {
            provider: ProviderId::parse(provider).ok(),
            expert: None,
        },
        impact: 3,
        effort: 3,
        actor: "load".into(),
    }
}

/// Runs `writers` threads (at least one), each calling `work` with its
/// number, and collects the latencies they measured.
fn run_writers(
    writers: usize,
    work: impl Fn(usize) -> anyhow::Result<Vec<Duration>> + Sync,
) -> anyhow::Result<Vec<Duration>> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..writers.max(1))
            .map(|w| {
                let work = &work;
                scope.spawn(move || work(w))
            })
            .collect();
        let mut all = Vec::new();
        for h in handles {
            all.extend(
                h.join()
                    .map_err(|_| anyhow::anyhow!("a writer thread panicked"))??,
            );
        }
        Ok(all)
    })
}

struct Latencies(Vec<Duration>);

impl Latencies {
    fn report(mut self, label: &str, elapsed: Duration, writers: usize) {
        self.0.sort_unstable();
        let n = self.0.len();
        let at = |q: f64| {
            self.0
                .get(((n as f64 * q) as usize).min(n.saturating_sub(1)))
                .copied()
                .unwrap_or_default()
        };
        println!(
            "{label}: writers={writers} writes={n} elapsed={:.2}s rate={:.0}/s p50={:.2}ms p99={:.2}ms",
            elapsed.as_secs_f64(),
            n as f64 / elapsed.as_secs_f64(),
            at(0.5).as_secs_f64() * 1e3,
            at(0.99).as_secs_f64() * 1e3,
        );
    }
}

fn submit(a: &SubmitArgs) -> anyhow::Result<()> {
    let store = SledStore::open(
        &a.data_dir,
        options(a.cache_mib, true),
        Arc::new(SystemTime),
    )?;
    let per_writer = a.count.div_ceil(a.writers.max(1));
    let stdout = std::sync::Mutex::new(std::io::stdout());
    let ack = |line: String| {
        if a.acks {
            // One line per ack, flushed at once: the crash test reads what
            // was acknowledged before the kill.
            let mut out = stdout.lock().unwrap_or_else(|p| p.into_inner());
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
    };
    let started = Instant::now();
    let latencies = run_writers(a.writers, |w| {
        let mut rng = SplitMix::new(w as u64 + 1);
        let mut lat = Vec::with_capacity(per_writer);
        let mut done = 0;
        while done < per_writer {
            let t = Instant::now();
            let q = store
                .submit(question(w * per_writer + done, a.record_bytes, &mut rng))?
                .question;
            lat.push(t.elapsed());
            ack(format!("ack {} {} {}", q.id, q.status, q.version));
            done += 1;
            if a.lifecycle {
                for action in [
                    Action::Accept,
                    Action::Answer {
                        text: "antwoord".into(),
                        sources: vec![],
                        review_after_ms: None,
                    },
                ] {
                    if done >= per_writer {
                        break;
                    }
                    let change = Change {
                        action,
                        actor: "load".into(),
                        reason: None,
                        expected_version: None,
                    };
                    let t = Instant::now();
                    let q = store.apply(q.id, change)?;
                    lat.push(t.elapsed());
                    ack(format!("ack {} {} {}", q.id, q.status, q.version));
                    done += 1;
                }
            }
        }
        Ok(lat)
    })?;
    let elapsed = started.elapsed();
    if !a.acks {
        Latencies(latencies).report("kicer store", elapsed, a.writers);
        println!("group flushes: {}", store.flush_count());
    }
    Ok(())
}

fn baseline(a: &SubmitArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&a.data_dir)?;
    let db = sled::Config::new()
        .path(&a.data_dir)
        .cache_capacity(a.cache_mib << 20)
        .open()?;
    let log = std::fs::File::open(a.data_dir.join("db")).context("sled's log file")?;
    let commit = GroupCommit::new(db.clone(), log);
    let per_writer = a.count.div_ceil(a.writers.max(1));
    let record = vec![b'x'; a.record_bytes];
    let started = Instant::now();
    let latencies = run_writers(a.writers, |w| {
        let mut lat = Vec::with_capacity(per_writer);
        for n in 0..per_writer {
            let t = Instant::now();
            let id = ((w * per_writer + n) as u64).to_be_bytes();
            let mut key = b"q".to_vec();
            key.extend_from_slice(&id);
            if a.atomic {
                let mut batch = sled::Batch::default();
                batch.insert(key, record.as_slice());
                for i in 0..a.index_keys {
                    let mut index = vec![b't', i as u8];
                    index.extend_from_slice(&id);
                    batch.insert(index, &[] as &[u8]);
                }
                db.apply_batch(batch)?;
            } else {
                db.insert(key, record.as_slice())?;
                for i in 0..a.index_keys {
                    let mut index = vec![b't', i as u8];
                    index.extend_from_slice(&id);
                    db.insert(index, &[] as &[u8])?;
                }
            }
            commit.wait_durable().map_err(anyhow::Error::msg)?;
            lat.push(t.elapsed());
        }
        Ok(lat)
    })?;
    Latencies(latencies).report("bare sled", started.elapsed(), a.writers);
    println!("group flushes: {}", commit.flushes());
    Ok(())
}

/// Jan 2026, Amsterdam.
const FILL_START_MS: i64 = 1_767_222_000_000;

fn fill(a: &FillArgs) -> anyhow::Result<()> {
    let time = Arc::new(ManualTime::new(FILL_START_MS));
    let store = SledStore::open(&a.data_dir, options(a.cache_mib, false), time.clone())?;
    let taxonomy = Taxonomy::embedded(&crate::analysis::Analyzer::new())?;
    let mut texts = Questions::new(&taxonomy, a.seed);
    let mut rng = SplitMix::new(a.seed);
    let started = Instant::now();
    let year_ms = 365 * 86_400_000i64;
    let every = (a.questions / 20).clamp(1_000, 50_000);
    for n in 0..a.questions {
        time.set(FILL_START_MS + (n as i64 * year_ms) / a.questions as i64);
        let q = store
            .submit(routed(texts.next_question(), &mut rng))?
            .question;
        time.advance(3_600_000 * (1 + rng.below(72) as i64));
        let change = |action| Change {
            action,
            actor: "load".into(),
            reason: None,
            expected_version: None,
        };
        store.apply(q.id, change(Action::Accept))?;
        time.advance(3_600_000 * (1 + rng.below(400) as i64));
        store.apply(
            q.id,
            change(Action::Answer {
                text: "antwoord".into(),
                sources: vec![],
                review_after_ms: None,
            }),
        )?;
        if (n + 1) % every == 0 {
            eprintln!(
                "filled {}/{} questions ({:.0}/s)",
                n + 1,
                a.questions,
                (n + 1) as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
    store.flush()?;
    println!(
        "filled {} questions in {:.1}s; disk {}",
        a.questions,
        started.elapsed().as_secs_f64(),
        human_bytes(dir_size(&a.data_dir))
    );
    Ok(())
}

fn query(a: &QueryArgs) -> anyhow::Result<()> {
    let store = SledStore::open(
        &a.data_dir,
        options(a.cache_mib, true),
        Arc::new(SystemTime),
    )?;
    for (metric, group_by) in [
        (Metric::TimeToAnswer, Dimension::All),
        (Metric::TimeToAnswer, Dimension::Month),
        (Metric::TimeToAnswer, Dimension::Category),
        (Metric::TimeToAnswer, Dimension::Provider),
        (Metric::TimeToFirstResponse, Dimension::OrganizationType),
    ] {
        let q = LeadTimeQuery {
            metric,
            clock: LeadClock::WorkingHours,
            group_by,
            from_month: 202601,
            to_month: 202612,
        };
        let mut times = Vec::new();
        let mut result = Vec::new();
        for _ in 0..a.repeat.max(1) {
            let t = Instant::now();
            result = store.lead_times(&q)?;
            times.push(t.elapsed());
        }
        times.sort_unstable();
        let count: u64 = result.iter().map(|g| g.count).sum();
        println!(
            "lead times {metric:?} by {group_by:?}: {} groups, {count} measurements, median {:.2}ms",
            result.len(),
            times[times.len() / 2].as_secs_f64() * 1e3
        );
    }
    println!(
        "resident memory {}",
        rss().map_or("unknown".into(), human_bytes)
    );
    println!("disk {}", human_bytes(dir_size(&a.data_dir)));
    Ok(())
}

fn rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn dir_size(path: &Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_size(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

fn human_bytes(b: u64) -> String {
    format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0))
}
