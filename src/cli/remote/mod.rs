//! The core team's commands: a gRPC client of a running `kicer serve`.
//!
//! The command line is itself a client of the API, so it speaks the wire
//! types; each command is one function in the file of its group
//! ([`questions`], [`triage`], [`directory`], [`insights`]), which turns the
//! reply into a `render::Render` value, shown as a table (default) or JSON
//! (`--json`), and turns a gRPC error into a message and a non-zero exit
//! status. Requests use the edge's own conversions (`grpc::convert`) so
//! the client and the server cannot spell a value differently.

/// Defines a command that changes a question with only its id, etag and
/// reason: the lifecycle steps differ in nothing but the request type and
/// the RPC, and print the question as it is afterwards.
macro_rules! change_command {
    ($(#[$doc:meta])* $name:ident, $client:ident, $request:ident, $rpc:ident) => {
        $(#[$doc])*
        pub(super) async fn $name(s: &mut super::Session, c: super::Change) -> anyhow::Result<()> {
            let request = crate::grpc::proto::$request {
                id: c.id,
                etag: c.etag.unwrap_or_default(),
                reason: c.reason.unwrap_or_default(),
                actor: s.actor.clone(),
            };
            let q = super::reply(s.$client.$rpc(request).await)?;
            s.print(&q);
            Ok(())
        }
    };
}

mod admin;
mod connect;
pub mod directory;
pub mod insights;
mod json;
pub mod questions;
pub(crate) mod render;
pub mod triage;
mod wire;

#[cfg(test)]
mod safety_tests;

pub use directory::{read_experts, AddExpertArgs, ExpertsCommand};
pub use insights::{ClockArg, GroupArg, LeadtimesArgs, MetricArg};
pub use questions::{AnswerArgs, ListArgs, ReviewCommand, SubmitArgs, WatchArgs};
pub use triage::{LearnedCommand, RouteArgs};

use crate::grpc::proto::admin_service_client::AdminServiceClient;
use crate::grpc::proto::directory_service_client::DirectoryServiceClient;
use crate::grpc::proto::insights_service_client::InsightsServiceClient;
use crate::grpc::proto::question_service_client::QuestionServiceClient;
use crate::grpc::proto::triage_service_client::TriageServiceClient;
use anyhow::Context;
use clap::{Args, Subcommand};
pub(crate) use connect::Link;
use std::path::PathBuf;

/// Where the server is, how to reach it and who is acting.
#[derive(Debug, Clone, Args)]
pub struct Remote {
    /// URL of the kicer server: http://HOST:PORT, or https://HOST:PORT
    /// for a server with TLS.
    #[arg(
        long,
        env = "KICER_SERVER",
        default_value = "http://127.0.0.1:50051",
        global = true
    )]
    pub server: String,
    /// Who you are, recorded in the question's history.
    #[arg(long, env = "KICER_ACTOR", global = true)]
    pub actor: Option<String>,
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// With https://: trust this CA certificate (PEM) instead of the
    /// system's CAs.
    #[arg(long, env = "KICER_CA_CERT", value_name = "FILE", global = true)]
    pub ca_cert: Option<PathBuf>,
    /// With https://: present this client certificate (PEM) to a server
    /// that requires one (mTLS); needs --client-key.
    #[arg(long, env = "KICER_CLIENT_CERT", value_name = "FILE", global = true)]
    pub client_cert: Option<PathBuf>,
    /// The private key of --client-cert (PEM).
    #[arg(long, env = "KICER_CLIENT_KEY", value_name = "FILE", global = true)]
    pub client_key: Option<PathBuf>,
    /// Bearer token sent with every call (`authorization: Bearer TOKEN`).
    /// It travels in clear text over http://: use https://.
    #[arg(long, env = "KICER_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<String>,
}

impl Remote {
    fn actor(&self) -> String {
        self.actor
            .clone()
            .or_else(|| std::env::var("USER").ok())
            .unwrap_or_default()
    }
}

/// A question id with the usual change options.
#[derive(Debug, Args)]
pub struct Change {
    /// The question id (q42).
    pub id: String,
    /// The etag you read; the change is refused if the question changed
    /// since. Leave out to skip the check.
    #[arg(long)]
    pub etag: Option<String>,
    /// Why.
    #[arg(long)]
    pub reason: Option<String>,
}

/// The remote subcommands.
#[derive(Debug, Subcommand)]
pub enum RemoteCommand {
    /// Submit a question; prints where it went.
    Submit(SubmitArgs),
    /// Show one question.
    Get {
        /// The question id (q42).
        id: String,
    },
    /// Show a question's history.
    History {
        /// The question id.
        id: String,
    },
    /// List questions (filters combine).
    List(ListArgs),
    /// The triage queue, most urgent first.
    Queue {
        /// How many.
        #[arg(long, default_value_t = 50)]
        limit: i32,
    },
    /// Assign a question from triage (confirming or overriding the proposal).
    Route(RouteArgs),
    /// Refuse a question in triage (a reason is required).
    Reject(Change),
    /// Mark a question in triage as a duplicate of an earlier one.
    Duplicate {
        /// The question.
        #[command(flatten)]
        change: Change,
        /// The earlier question it repeats.
        #[arg(long)]
        of: String,
    },
    /// The assignee takes the question.
    Accept(Change),
    /// The assignee gives it back to triage (a reason is required).
    Decline(Change),
    /// Wait for the asker (the answer clock pauses).
    Wait(Change),
    /// The asker replied.
    Resume(Change),
    /// Answer a question.
    Answer(AnswerArgs),
    /// Close an answered question.
    Close(Change),
    /// Reopen an answered or closed question.
    Reopen(Change),
    /// The expert directory.
    #[command(subcommand)]
    Experts(ExpertsCommand),
    /// Answers due for review, and confirming or replacing them.
    #[command(subcommand)]
    Review(ReviewCommand),
    /// Earlier questions that ask the same thing, with their answers.
    Similar {
        /// The question text (or give --id).
        #[arg(required_unless_present = "id")]
        text: Option<String>,
        /// A stored question to compare instead.
        #[arg(long, conflicts_with = "text")]
        id: Option<String>,
        /// How many.
        #[arg(long, default_value_t = 10)]
        limit: i32,
    },
    /// The providers routing uses now.
    Providers,
    /// What routing learned from the core team's decisions.
    #[command(subcommand)]
    Learned(LearnedCommand),
    /// Lead-time percentiles per group.
    Leadtimes(LeadtimesArgs),
    /// Open questions per status and category, with their ages.
    Stats,
    /// Recurring questions without a confident provider or an answer yet.
    Gaps {
        /// First month (YYYY-MM); default twelve months ago.
        #[arg(long)]
        from: Option<String>,
        /// Last month (YYYY-MM); default this month.
        #[arg(long)]
        to: Option<String>,
        /// Smallest cluster shown.
        #[arg(long, default_value_t = 3)]
        min: i32,
    },
    /// Print status events as they happen (Ctrl-C to stop).
    Watch(WatchArgs),
    /// Take an online backup of the server's store into a new or empty
    /// directory (admins). Writes go on meanwhile; restore it with `kicer
    /// restore`.
    Backup {
        /// Where the backup goes: a new or empty directory.
        #[arg(long, value_name = "DIR")]
        to: PathBuf,
    },
    /// Ask whether the server serves (gRPC health): exits 0 when SERVING,
    /// 1 otherwise. For container health checks and scripts.
    Health {
        /// One service (e.g. kicer.v1.QuestionService) instead of the
        /// whole server.
        #[arg(long, default_value = "")]
        service: String,
    },
}

/// A connection to the server: a client per service, who acts, and which
/// form the output takes.
struct Session {
    questions: QuestionServiceClient<Link>,
    triage: TriageServiceClient<Link>,
    directory: DirectoryServiceClient<Link>,
    insights: InsightsServiceClient<Link>,
    admin: AdminServiceClient<Link>,
    health: tonic_health::pb::health_client::HealthClient<Link>,
    actor: String,
    json: bool,
    server: String,
}

impl Session {
    async fn open(remote: &Remote) -> anyhow::Result<Session> {
        let channel = remote.connect().await?;
        Ok(Session {
            questions: QuestionServiceClient::new(channel.clone()),
            triage: TriageServiceClient::new(channel.clone()),
            directory: DirectoryServiceClient::new(channel.clone())
                .max_decoding_message_size(crate::grpc::MAX_MESSAGE_BYTES),
            insights: InsightsServiceClient::new(channel.clone()),
            admin: AdminServiceClient::new(channel.clone()),
            health: tonic_health::pb::health_client::HealthClient::new(channel),
            actor: remote.actor(),
            json: remote.json,
            server: remote.server.clone(),
        })
    }

    /// Prints a result in the form the user asked for.
    fn print(&self, value: &impl render::Render) {
        render::print(self.json, value);
    }
}

/// A gRPC error as the message the user reads.
fn failure(status: tonic::Status) -> anyhow::Error {
    let text = format!("{:?}: {}", status.code(), status.message());
    match std::error::Error::source(&status) {
        // Only a call that failed on this side has a source: the
        // connection broke (a TLS alert, the wrong protocol), and tonic's
        // message alone is "transport error".
        Some(source) => anyhow::anyhow!(
            "{}{}",
            crate::grpc::tls::with_causes(text, Some(source)),
            connect::BROKEN_HINT
        ),
        None => anyhow::anyhow!(text),
    }
}

/// The message of a reply, or its error as the message the user reads.
fn reply<T>(r: Result<tonic::Response<T>, tonic::Status>) -> anyhow::Result<T> {
    r.map(tonic::Response::into_inner).map_err(failure)
}

/// A date on the command line (YYYY-MM-DD) as milliseconds at midnight in
/// Amsterdam.
fn parse_date(text: &str) -> Result<i64, String> {
    let date: jiff::civil::Date = text
        .parse()
        .map_err(|_| format!("`{text}` is not a date: write YYYY-MM-DD"))?;
    crate::domain::worktime::day_start_ms(date)
        .ok_or_else(|| format!("`{text}` is outside the dates kicer can store"))
}

/// Runs `command` on a fresh single-threaded runtime: the client needs no
/// more.
fn block_on<F: std::future::Future<Output = anyhow::Result<()>>>(command: F) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(command)
}

/// `kicer classify --remote`: the server's classification.
pub fn classify(remote: Remote, args: super::ClassifyArgs) -> anyhow::Result<()> {
    block_on(async {
        let mut s = Session::open(&remote).await?;
        questions::classify(&mut s, args).await
    })
}

/// Runs a remote command.
pub fn run(remote: Remote, command: RemoteCommand) -> anyhow::Result<()> {
    block_on(async {
        let mut s = Session::open(&remote).await?;
        dispatch(&mut s, command).await
    })
}

async fn dispatch(s: &mut Session, command: RemoteCommand) -> anyhow::Result<()> {
    use RemoteCommand as C;
    match command {
        C::Submit(a) => questions::submit(s, a).await,
        C::Get { id } => questions::get(s, id).await,
        C::History { id } => questions::history(s, id).await,
        C::List(a) => questions::list(s, a).await,
        C::Accept(c) => questions::accept(s, c).await,
        C::Decline(c) => questions::decline(s, c).await,
        C::Wait(c) => questions::wait(s, c).await,
        C::Resume(c) => questions::resume(s, c).await,
        C::Answer(a) => questions::answer(s, a).await,
        C::Close(c) => questions::close(s, c).await,
        C::Reopen(c) => questions::reopen(s, c).await,
        C::Review(c) => questions::review(s, c).await,
        C::Similar { text, id, limit } => questions::similar(s, text, id, limit).await,
        C::Watch(a) => questions::watch(s, a).await,
        C::Queue { limit } => triage::queue(s, limit).await,
        C::Route(a) => triage::route(s, a).await,
        C::Reject(c) => triage::reject(s, c).await,
        C::Duplicate { change, of } => triage::duplicate(s, change, of).await,
        C::Learned(c) => triage::learned(s, c).await,
        C::Experts(c) => directory::experts(s, c).await,
        C::Providers => directory::providers(s).await,
        C::Leadtimes(a) => insights::leadtimes(s, a).await,
        C::Stats => insights::stats(s).await,
        C::Gaps { from, to, min } => insights::gaps(s, from, to, min).await,
        C::Backup { to } => admin::backup(s, to).await,
        C::Health { service } => admin::health(s, service).await,
    }
}
