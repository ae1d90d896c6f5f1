//! `kicer load api`: load on a running server through its gRPC API. For
//! each chosen RPC it first runs Health/Check with the same clients and
//! duration (what a call costs that does no work), then the RPC with
//! varied requests, and checks every answer's status. Also `kicer load
//! wait-serving`, which benches/api.sh uses to time a start.

pub use super::report::{ApiReport, Limits, RpcReport, Stats};

use super::report::{code_name, ratio, Tally};
use crate::analysis::Analyzer;
use crate::cli::remote::{Link, Remote};
use crate::grpc::convert::organization_type_to_proto;
use crate::grpc::proto;
use crate::grpc::proto::insights_service_client::InsightsServiceClient;
use crate::grpc::proto::question_service_client::QuestionServiceClient;
use crate::grpc::proto::triage_service_client::TriageServiceClient;
use crate::synth::{Questions, SplitMix};
use crate::taxonomy::Taxonomy;
use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

/// An RPC `kicer load api` can drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum Rpc {
    /// SubmitQuestion with generated texts and unique request ids.
    Submit,
    /// ClassifyQuestion with generated texts.
    Classify,
    /// GetQuestion of questions that exist.
    Get,
    /// ListQueue, paging through the triage queue.
    Queue,
    /// FindSimilarQuestions with generated texts.
    Similar,
    /// GetLeadTimes, cycling through every grouping, metric and clock.
    Leadtimes,
    /// Every RPC above, in that order.
    All,
}

impl Rpc {
    const EACH: [Rpc; 6] = [
        Rpc::Submit,
        Rpc::Classify,
        Rpc::Get,
        Rpc::Queue,
        Rpc::Similar,
        Rpc::Leadtimes,
    ];

    fn name(self) -> &'static str {
        match self {
            Rpc::Submit => "submit",
            Rpc::Classify => "classify",
            Rpc::Get => "get",
            Rpc::Queue => "queue",
            Rpc::Similar => "similar",
            Rpc::Leadtimes => "leadtimes",
            Rpc::All => "all",
        }
    }

    fn method(self) -> &'static str {
        match self {
            Rpc::Submit => "SubmitQuestion",
            Rpc::Classify => "ClassifyQuestion",
            Rpc::Get => "GetQuestion",
            Rpc::Queue => "ListQueue",
            Rpc::Similar => "FindSimilarQuestions",
            Rpc::Leadtimes => "GetLeadTimes",
            Rpc::All => "",
        }
    }

    /// The RPCs to run, each once, in the order of [`Rpc::EACH`] (submit
    /// first, so `get` can read what it stored).
    fn expand(chosen: &[Rpc]) -> Vec<Rpc> {
        if chosen.contains(&Rpc::All) {
            return Rpc::EACH.to_vec();
        }
        let mut list = chosen.to_vec();
        list.sort_unstable();
        list.dedup();
        list
    }
}

/// Options of `kicer load api` (the server, token and `--json` are the
/// global options).
#[derive(Debug, Clone, Args)]
pub struct ApiArgs {
    /// The RPCs to measure, e.g. `--rpc classify,get` or `--rpc all`.
    #[arg(long, value_enum, value_delimiter = ',', num_args = 1.., default_value = "all")]
    pub rpc: Vec<Rpc>,
    /// Concurrent clients, each its own task calling one request after
    /// another.
    #[arg(long, default_value_t = 1)]
    pub clients: usize,
    /// HTTP/2 connections the clients are spread over (default: the
    /// number of clients, at most 8).
    #[arg(long)]
    pub connections: Option<usize>,
    /// Seconds each phase (Health/Check, then the RPC) runs.
    #[arg(long, default_value_t = 5.0)]
    pub duration: f64,
    /// Calls per phase instead of a duration.
    #[arg(long, conflicts_with = "duration")]
    pub requests: Option<u64>,
    /// Most calls per second of all clients together (default: as fast as
    /// the answers come). A server with clients configured limits each
    /// token's rate (the admin role to 200 a second).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Seed of the generated texts.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Exit zero even when answers were not OK.
    #[arg(long)]
    pub allow_errors: bool,
    /// Fail when the median latency of an RPC is above this many ms.
    #[arg(long, value_name = "MS")]
    pub max_p50_ms: Option<f64>,
    /// Fail when the 99th percentile latency of an RPC is above this many
    /// ms.
    #[arg(long, value_name = "MS")]
    pub max_p99_ms: Option<f64>,
}

/// Options of `kicer load wait-serving`.
#[derive(Debug, Clone, Args)]
pub struct WaitArgs {
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 60.0)]
    pub timeout: f64,
}

/// `kicer load api`: runs the load, prints the report and fails on any
/// problem [`ApiReport::problems`] finds.
pub fn run(remote: &Remote, args: &ApiArgs) -> anyhow::Result<()> {
    let report = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(run_load(remote, args, true))?;
    if remote.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.table());
    }
    let problems = report.problems(&Limits {
        allow_errors: args.allow_errors,
        max_p50_ms: args.max_p50_ms,
        max_p99_ms: args.max_p99_ms,
    });
    if !problems.is_empty() {
        bail!("{}", problems.join("\n"));
    }
    Ok(())
}

/// Runs the load against `remote`'s server and returns what it measured
/// (answers that were not OK are in the report, not an error). With
/// `progress`, phases of several seconds report on stderr as they go.
pub async fn run_load(
    remote: &Remote,
    args: &ApiArgs,
    progress: bool,
) -> anyhow::Result<ApiReport> {
    if args.clients == 0 {
        bail!("--clients 0 makes no calls: give at least 1");
    }
    if !(args.duration > 0.0 && args.duration.is_finite()) && args.requests.is_none() {
        bail!("--duration must be a positive number of seconds");
    }
    if args.rate.is_some_and(|r| !(r > 0.0 && r.is_finite())) {
        bail!("--rate must be a positive number of calls a second");
    }
    let connections = args.connections.unwrap_or(args.clients.min(8)).max(1);
    let mut links = Vec::with_capacity(connections);
    for _ in 0..connections {
        links.push(remote.connect().await?);
    }
    let taxonomy = Taxonomy::embedded(&Analyzer::new())?;
    let run_id = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut plan = Plan {
        args: args.clone(),
        links,
        texts: Questions::new(&taxonomy, args.seed),
        request_prefix: format!("load-{run_id:x}-"),
        ids: Arc::new(Vec::new()),
        progress,
    };
    let mut submitted = Vec::new();
    let mut rpcs = Vec::new();
    for (n, rpc) in Rpc::expand(&args.rpc).into_iter().enumerate() {
        if rpc == Rpc::Get {
            plan.ids = Arc::new(existing_ids(&plan.links[0], &submitted).await?);
        }
        let (health, _) = plan.phase(None, 2 * n as u64).await?;
        let (stats, ids) = plan.phase(Some(rpc), 2 * n as u64 + 1).await?;
        submitted.extend(ids);
        rpcs.push(RpcReport {
            rpc: rpc.name().into(),
            method: rpc.method().into(),
            ratio: ratio(&stats, &health),
            health,
            stats,
        });
    }
    Ok(ApiReport {
        server: remote.server.clone(),
        clients: args.clients,
        connections: plan.links.len(),
        rpcs,
    })
}

/// Ids `get` reads: those this run submitted, and the first thousand the
/// server lists.
async fn existing_ids(link: &Link, submitted: &[String]) -> anyhow::Result<Vec<String>> {
    let mut ids = submitted.to_vec();
    let mut client = QuestionServiceClient::new(link.clone());
    let mut page_token = String::new();
    for _ in 0..2 {
        let page = client
            .list_questions(proto::ListQuestionsRequest {
                page_size: 500,
                page_token,
                ..Default::default()
            })
            .await
            .map_err(|s| anyhow::anyhow!("ListQuestions, to find ids to get: {s}"))?
            .into_inner();
        ids.extend(page.questions.into_iter().map(|q| q.id));
        page_token = page.next_page_token;
        if page_token.is_empty() {
            break;
        }
    }
    if ids.is_empty() {
        bail!("--rpc get needs stored questions and the server has none: add `submit` to --rpc, or serve a store filled with `kicer load fill`");
    }
    Ok(ids)
}

/// What every phase shares.
struct Plan {
    args: ApiArgs,
    links: Vec<Link>,
    texts: Questions,
    request_prefix: String,
    ids: Arc<Vec<String>>,
    progress: bool,
}

impl Plan {
    /// Runs one phase (`None`: Health/Check) with every client and merges
    /// their tallies; also returns the ids of submitted questions.
    async fn phase(&self, rpc: Option<Rpc>, number: u64) -> anyhow::Result<(Stats, Vec<String>)> {
        let label = rpc.map_or("Health/Check", Rpc::method);
        let calls = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let deadline = started + Duration::from_secs_f64(self.args.duration);
        let clients = self.args.clients;
        // Each client waits `interval` between the starts of its calls,
        // so all together make `rate` a second.
        let interval = self
            .args
            .rate
            .map(|r| Duration::from_secs_f64(clients as f64 / r));
        let mut tasks = Vec::with_capacity(clients);
        for c in 0..clients {
            let mut caller = Caller::new(
                &self.links[c % self.links.len()],
                rpc,
                self,
                SplitMix::new(self.args.seed ^ (number << 32) ^ c as u64).next_u64(),
                format!("{}{number}-{c}-", self.request_prefix),
            );
            let calls = calls.clone();
            let budget = self.args.requests;
            let mut next = interval.map(|i| started + i.mul_f64(c as f64 / clients as f64));
            tasks.push(tokio::spawn(async move {
                let mut tally = Tally::default();
                loop {
                    let n = calls.fetch_add(1, Ordering::Relaxed);
                    let done = match budget {
                        Some(total) => n >= total,
                        None => Instant::now() >= deadline,
                    };
                    if done {
                        break;
                    }
                    if let (Some(at), Some(i)) = (next.as_mut(), interval) {
                        tokio::time::sleep_until((*at).into()).await;
                        // Behind schedule: go on from now rather than
                        // bursting to catch up.
                        *at = (*at + i).max(Instant::now());
                    }
                    let t = Instant::now();
                    let answer = caller.call().await;
                    tally.record(t.elapsed(), answer);
                }
                (tally, caller.submitted)
            }));
        }
        let ticker = (self.progress && self.args.requests.is_none() && self.args.duration >= 3.0)
            .then(|| {
                let calls = calls.clone();
                let total = self.args.duration;
                tokio::spawn(async move {
                    loop {
                        tokio::time::sleep(Duration::from_secs(2)).await;
                        eprintln!(
                            "{label}: {:.0}/{total:.0} s, {} calls",
                            started.elapsed().as_secs_f64(),
                            calls.load(Ordering::Relaxed)
                        );
                    }
                })
            });
        let mut all = Tally::default();
        let mut ids = Vec::new();
        for task in tasks {
            let (tally, submitted) = task.await.context("a load client panicked")?;
            all.merge(&tally)?;
            ids.extend(submitted);
        }
        let elapsed = started.elapsed();
        if let Some(ticker) = ticker {
            ticker.abort();
        }
        Ok((all.stats(elapsed), ids))
    }
}

/// The groupings, metrics and clocks `leadtimes` cycles through.
fn lead_time_requests() -> Vec<proto::GetLeadTimesRequest> {
    use proto::{LeadTimeClock as C, LeadTimeGrouping as G, LeadTimeMetric as M};
    let mut out = Vec::new();
    for group_by in [
        G::Category,
        G::Provider,
        G::Expert,
        G::OrganizationType,
        G::Month,
        G::All,
    ] {
        for metric in [M::TimeToRoute, M::TimeToFirstResponse, M::TimeToAnswer] {
            for clock in [C::Calendar, C::WorkingHours] {
                out.push(proto::GetLeadTimesRequest {
                    metric: metric as i32,
                    clock: clock as i32,
                    group_by: group_by as i32,
                    ..Default::default()
                });
            }
        }
    }
    out
}

/// One client: its stubs, its generator and what it keeps between calls.
struct Caller {
    rpc: Option<Rpc>,
    health: HealthClient<Link>,
    questions: QuestionServiceClient<Link>,
    triage: TriageServiceClient<Link>,
    insights: InsightsServiceClient<Link>,
    texts: Questions,
    rng: SplitMix,
    ids: Arc<Vec<String>>,
    lead_times: Vec<proto::GetLeadTimesRequest>,
    calls: usize,
    page_size: i32,
    page_token: String,
    request_prefix: String,
    submitted: Vec<String>,
}

impl Caller {
    fn new(link: &Link, rpc: Option<Rpc>, plan: &Plan, seed: u64, request_prefix: String) -> Self {
        Caller {
            rpc,
            health: HealthClient::new(link.clone()),
            questions: QuestionServiceClient::new(link.clone()),
            triage: TriageServiceClient::new(link.clone()),
            insights: InsightsServiceClient::new(link.clone()),
            texts: plan.texts.reseeded(seed),
            rng: SplitMix::new(seed),
            ids: plan.ids.clone(),
            lead_times: lead_time_requests(),
            calls: 0,
            page_size: [20, 50, 100][(seed % 3) as usize],
            page_token: String::new(),
            request_prefix,
            submitted: Vec::new(),
        }
    }

    /// Makes the next call; `Err` names what the answer was instead of OK.
    async fn call(&mut self) -> Result<(), String> {
        let n = self.calls;
        self.calls += 1;
        let status = |s: tonic::Status| code_name(s.code());
        match self.rpc {
            None => {
                let reply = self
                    .health
                    .check(HealthCheckRequest {
                        service: String::new(),
                    })
                    .await
                    .map_err(status)?;
                if reply.into_inner().status() != ServingStatus::Serving {
                    return Err("NOT_SERVING".into());
                }
            }
            Some(Rpc::Submit) => {
                let q = self.texts.next_question();
                let reply = self
                    .questions
                    .submit_question(proto::SubmitQuestionRequest {
                        text: q.text,
                        organization_name: q.organization_name,
                        organization_type: organization_type_to_proto(q.organization_type),
                        region: q.region.map(|r| r.as_str().to_string()).unwrap_or_default(),
                        request_id: format!("{}{n}", self.request_prefix),
                        actor: "load".into(),
                        ..Default::default()
                    })
                    .await
                    .map_err(status)?;
                self.submitted.push(reply.into_inner().id);
            }
            Some(Rpc::Classify) => {
                let q = self.texts.next_question();
                self.questions
                    .classify_question(proto::ClassifyQuestionRequest {
                        text: q.text,
                        organization_type: organization_type_to_proto(q.organization_type),
                        region: q.region.map(|r| r.as_str().to_string()).unwrap_or_default(),
                    })
                    .await
                    .map_err(status)?;
            }
            Some(Rpc::Get) => {
                let id = self.ids[self.rng.below(self.ids.len().max(1))].clone();
                self.questions
                    .get_question(proto::GetQuestionRequest { id })
                    .await
                    .map_err(status)?;
            }
            Some(Rpc::Queue) => {
                let page = self
                    .triage
                    .list_queue(proto::ListQueueRequest {
                        page_size: self.page_size,
                        page_token: std::mem::take(&mut self.page_token),
                    })
                    .await
                    .map_err(status)?;
                // The last page's empty token starts over at the top.
                self.page_token = page.into_inner().next_page_token;
            }
            Some(Rpc::Similar) => {
                let q = self.texts.next_question();
                self.questions
                    .find_similar_questions(proto::FindSimilarQuestionsRequest {
                        text: q.text,
                        page_size: 10,
                        ..Default::default()
                    })
                    .await
                    .map_err(status)?;
            }
            Some(Rpc::Leadtimes) => {
                let request = self.lead_times[n % self.lead_times.len()].clone();
                self.insights
                    .get_lead_times(request)
                    .await
                    .map_err(status)?;
            }
            Some(Rpc::All) => return Err("UNIMPLEMENTED".into()),
        }
        Ok(())
    }
}

/// `kicer load wait-serving`: polls Health/Check until it says SERVING
/// and prints how long that took.
pub fn wait_serving(remote: &Remote, args: &WaitArgs) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(async {
            let started = Instant::now();
            let timeout = Duration::from_secs_f64(args.timeout.max(0.0));
            let mut last = String::from("no answer yet");
            while started.elapsed() < timeout {
                match remote.connect().await {
                    Ok(link) => match HealthClient::new(link)
                        .check(HealthCheckRequest::default())
                        .await
                    {
                        Ok(r) if r.get_ref().status() == ServingStatus::Serving => {
                            println!("serving after {} ms", started.elapsed().as_millis());
                            return Ok(());
                        }
                        Ok(r) => last = format!("status {:?}", r.get_ref().status()),
                        Err(s) => last = s.to_string(),
                    },
                    Err(e) => last = e.to_string(),
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            bail!(
                "{} was not SERVING after {:.0} s ({last}): is `kicer serve` starting there? see its log",
                remote.server,
                args.timeout
            )
        })
}
