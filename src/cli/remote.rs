//! The core team's commands: a gRPC client of a running `kicer serve`.
//!
//! The command line is itself a client of the API, so it speaks the wire
//! types; it turns them into tables (default) or JSON (`--json`) and turns
//! a gRPC error into a message and a non-zero exit status.

use super::json;
use crate::domain::{Category, ExpertRecord, OrganizationType, Status};
use crate::grpc::proto;
use crate::grpc::proto::directory_service_client::DirectoryServiceClient;
use crate::grpc::proto::insights_service_client::InsightsServiceClient;
use crate::grpc::proto::question_service_client::QuestionServiceClient;
use crate::grpc::proto::triage_service_client::TriageServiceClient;
use anyhow::{bail, Context};
use clap::{Args, Subcommand, ValueEnum};
use std::fmt::Write as _;
use std::path::PathBuf;
use tonic::transport::Channel;

/// Where the server is and who is acting.
#[derive(Debug, Clone, Args)]
pub struct Remote {
    /// URL of the kicer server.
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
}

impl Remote {
    fn actor(&self) -> String {
        self.actor
            .clone()
            .or_else(|| std::env::var("USER").ok())
            .unwrap_or_default()
    }

    async fn channel(&self) -> anyhow::Result<Channel> {
        let endpoint = Channel::from_shared(self.server.clone()).with_context(|| {
            format!(
                "`{}` is not a server URL: use e.g. http://127.0.0.1:50051",
                self.server
            )
        })?;
        endpoint.connect().await.with_context(|| {
            format!(
                "cannot reach kicer at {}: is `kicer serve` running there? (set --server or KICER_SERVER)",
                self.server
            )
        })
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
}

/// Options of `kicer submit`.
#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// The question text.
    pub text: String,
    /// Name of the asking organisation.
    #[arg(long = "org")]
    pub organization: String,
    /// Its type: GEMEENTE, PROVINCIE, WATERSCHAP, RIJK or OTHER.
    #[arg(long)]
    pub org_type: OrganizationType,
    /// Its province.
    #[arg(long)]
    pub region: Option<String>,
    /// The portal it came through.
    #[arg(long, default_value = "cli")]
    pub portal: String,
    /// Idempotency key: submitting again with the same key returns the
    /// first question.
    #[arg(long)]
    pub request_id: Option<String>,
    /// Impact 1-5.
    #[arg(long)]
    pub impact: Option<i32>,
}

/// Options of `kicer list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Status (TRIAGE, ROUTED, …).
    #[arg(long)]
    pub status: Option<Status>,
    /// Category.
    #[arg(long)]
    pub category: Option<Category>,
    /// Asker's organisation type.
    #[arg(long)]
    pub org_type: Option<OrganizationType>,
    /// Assigned provider.
    #[arg(long)]
    pub provider: Option<String>,
    /// Assigned expert.
    #[arg(long)]
    pub expert: Option<String>,
    /// Asker's organisation name.
    #[arg(long = "org")]
    pub organization: Option<String>,
    /// At most this many (follows pages).
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
}

/// Options of `kicer route`.
#[derive(Debug, Args)]
pub struct RouteArgs {
    /// The question.
    #[command(flatten)]
    pub change: Change,
    /// Provider to assign.
    #[arg(long)]
    pub provider: Option<String>,
    /// Expert to assign.
    #[arg(long)]
    pub expert: Option<String>,
    /// Corrected category.
    #[arg(long)]
    pub category: Option<Category>,
}

/// Options of `kicer answer`.
#[derive(Debug, Args)]
pub struct AnswerArgs {
    /// The question id.
    pub id: String,
    /// The answer text.
    pub answer: String,
    /// A source (repeat for several).
    #[arg(long = "source")]
    pub sources: Vec<String>,
    /// When the answer should be checked again (YYYY-MM-DD).
    #[arg(long, value_parser = parse_date)]
    pub review_after: Option<i64>,
    /// The etag you read.
    #[arg(long)]
    pub etag: Option<String>,
}

/// Expert directory commands.
#[derive(Debug, Subcommand)]
pub enum ExpertsCommand {
    /// List the experts.
    List,
    /// Add one expert.
    Add(AddExpertArgs),
    /// Add or replace experts from a JSON array, JSON Lines or CSV file.
    Import {
        /// The file (.json, .jsonl or .csv; CSV columns: id, name,
        /// organization, organization_type, region, expertise
        /// (`term:weight;term`), themes (`a;b`), categories, capacity,
        /// available).
        file: PathBuf,
    },
    /// Remove an expert.
    Remove {
        /// The expert id.
        id: String,
    },
    /// Set whether an expert takes questions now.
    Availability {
        /// The expert id.
        id: String,
        /// on or off.
        #[arg(value_parser = ["on", "off"])]
        state: String,
    },
}

/// `kicer review` commands.
#[derive(Debug, Subcommand)]
pub enum ReviewCommand {
    /// Answers whose review date has passed, earliest first.
    List {
        /// Due before this date (YYYY-MM-DD) instead of now.
        #[arg(long, value_parser = parse_date)]
        before: Option<i64>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: i32,
    },
    /// The answer still holds: set the next review date.
    Confirm {
        /// The question.
        #[command(flatten)]
        change: Change,
        /// Next review (YYYY-MM-DD); default: the themes' review period.
        #[arg(long, value_parser = parse_date)]
        review_after: Option<i64>,
    },
    /// Replace the answer.
    Replace {
        /// The question.
        #[command(flatten)]
        change: Change,
        /// The new answer.
        answer: String,
        /// A source (repeat for several).
        #[arg(long = "source")]
        sources: Vec<String>,
        /// Next review (YYYY-MM-DD); default: the themes' review period.
        #[arg(long, value_parser = parse_date)]
        review_after: Option<i64>,
    },
}

/// `kicer learned` commands.
#[derive(Debug, Subcommand)]
pub enum LearnedCommand {
    /// The learned terms, heaviest first (or one term).
    List {
        /// Only this word.
        term: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: i32,
    },
    /// Forget what was learned about a term, or everything.
    Reset {
        /// The word to forget.
        #[arg(required_unless_present = "all")]
        term: Option<String>,
        /// Forget everything learned so far.
        #[arg(long, conflicts_with = "term")]
        all: bool,
    },
}

/// Options of `kicer experts add`.
#[derive(Debug, Args)]
pub struct AddExpertArgs {
    /// Id, a slug such as anna-jansen.
    #[arg(long)]
    pub id: String,
    /// Display name.
    #[arg(long)]
    pub name: String,
    /// Organisation.
    #[arg(long = "org", default_value = "")]
    pub organization: String,
    /// Organisation type.
    #[arg(long, default_value = "OTHER")]
    pub org_type: OrganizationType,
    /// Province.
    #[arg(long)]
    pub region: Option<String>,
    /// Expertise terms, comma separated (`term` or `term:weight`).
    #[arg(long, value_delimiter = ',')]
    pub terms: Vec<String>,
    /// Theme ids, comma separated.
    #[arg(long, value_delimiter = ',')]
    pub themes: Vec<String>,
    /// Open questions at once.
    #[arg(long, default_value_t = 3)]
    pub capacity: u32,
}

/// Lead-time metric names on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum MetricArg {
    /// Received → routed.
    Route,
    /// Routed → accepted.
    FirstResponse,
    /// Received → answered, waiting excluded.
    Answer,
}

/// Lead-time clocks on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ClockArg {
    /// Calendar time.
    Calendar,
    /// Dutch working hours.
    Working,
}

/// Lead-time groupings on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum GroupArg {
    /// One group.
    All,
    /// Per category.
    Category,
    /// Per provider.
    Provider,
    /// Per expert.
    Expert,
    /// Per organisation type.
    OrgType,
    /// Per month.
    Month,
}

/// Options of `kicer leadtimes`.
#[derive(Debug, Args)]
pub struct LeadtimesArgs {
    /// What to measure.
    #[arg(long, value_enum, default_value = "answer")]
    pub metric: MetricArg,
    /// Which clock.
    #[arg(long, value_enum, default_value = "calendar")]
    pub clock: ClockArg,
    /// Grouping.
    #[arg(long = "by", value_enum, default_value = "category")]
    pub group_by: GroupArg,
    /// First month (YYYY-MM); default twelve months ago.
    #[arg(long)]
    pub from: Option<String>,
    /// Last month (YYYY-MM); default this month.
    #[arg(long)]
    pub to: Option<String>,
}

/// Options of `kicer watch`.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Only this question.
    #[arg(long)]
    pub question: Option<String>,
    /// Only events ending in these statuses (repeat).
    #[arg(long)]
    pub status: Vec<Status>,
    /// Only this category.
    #[arg(long)]
    pub category: Option<Category>,
}

fn parse_date(text: &str) -> Result<i64, String> {
    let date: jiff::civil::Date = text
        .parse()
        .map_err(|_| format!("`{text}` is not a date: write YYYY-MM-DD"))?;
    jiff::tz::TimeZone::get("Europe/Amsterdam")
        .and_then(|tz| tz.to_timestamp(date.to_datetime(jiff::civil::Time::midnight())))
        .map(|t| t.as_millisecond())
        .map_err(|e| e.to_string())
}

fn millis_timestamp(ms: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
    }
}

fn status_wire(s: Status) -> i32 {
    proto::Status::from_str_name(&format!("STATUS_{}", s.as_str())).map_or(0, |v| v as i32)
}
fn category_wire(c: Category) -> i32 {
    proto::Category::from_str_name(&format!("CATEGORY_{}", c.as_str())).map_or(0, |v| v as i32)
}
fn org_type_wire(t: OrganizationType) -> i32 {
    proto::OrganizationType::from_str_name(&format!("ORGANIZATION_TYPE_{}", t.as_str()))
        .map_or(0, |v| v as i32)
}

/// A wire enum's name without its prefix (`STATUS_TRIAGE` → `TRIAGE`).
pub(super) fn short_name(full: &str, prefix: &str) -> String {
    full.strip_prefix(prefix).unwrap_or(full).to_string()
}
pub(super) fn status_name(v: i32) -> String {
    proto::Status::try_from(v).map_or(v.to_string(), |s| short_name(s.as_str_name(), "STATUS_"))
}
pub(super) fn category_name(v: i32) -> String {
    proto::Category::try_from(v).map_or(v.to_string(), |s| short_name(s.as_str_name(), "CATEGORY_"))
}
pub(super) fn org_type_name(v: i32) -> String {
    proto::OrganizationType::try_from(v).map_or(v.to_string(), |s| {
        short_name(s.as_str_name(), "ORGANIZATION_TYPE_")
    })
}
pub(super) fn action_name(v: i32) -> String {
    proto::Action::try_from(v).map_or(v.to_string(), |s| short_name(s.as_str_name(), "ACTION_"))
}

/// A gRPC error as the message the user reads.
fn failure(status: tonic::Status) -> anyhow::Error {
    anyhow::anyhow!("{:?}: {}", status.code(), status.message())
}

/// `kicer classify --remote`: the server's classification.
pub fn classify(remote: Remote, args: super::ClassifyArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let mut client = QuestionServiceClient::new(remote.channel().await?);
        let c = client
            .classify_question(proto::ClassifyQuestionRequest {
                text: args.text,
                organization_type: args.org_type.map_or(0, org_type_wire),
                region: args.region.map(|r| r.to_string()).unwrap_or_default(),
            })
            .await
            .map_err(failure)?
            .into_inner();
        if remote.json {
            println!("{}", json::classification(&c));
        } else {
            println!(
                "Category    {}   confidence {:.2}   language {}   index v{}",
                category_name(c.category),
                c.confidence,
                c.language,
                c.index_version
            );
            let themes: Vec<&str> = c.themes.iter().map(|t| t.id.as_str()).collect();
            println!("Themes      {}", or_dash(&themes.join(", ")));
            for (title, list) in [("Providers", &c.providers), ("Experts", &c.experts)] {
                println!("{title}");
                for (i, m) in list.iter().enumerate() {
                    let terms: Vec<String> = m
                        .matched_terms
                        .iter()
                        .take(5)
                        .map(|t| format!("{} +{:.2}", t.term, t.contribution))
                        .collect();
                    println!("  {:>2}. {:<32} {:>7.2}  {}", i + 1, m.id, m.score, m.name);
                    println!("      because {}", terms.join(", "));
                }
            }
        }
        anyhow::Ok(())
    })
}

/// Runs a remote command.
pub fn run(remote: Remote, command: RemoteCommand) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(dispatch(remote, command))
}

async fn dispatch(remote: Remote, command: RemoteCommand) -> anyhow::Result<()> {
    let channel = remote.channel().await?;
    let mut questions = QuestionServiceClient::new(channel.clone());
    let mut triage = TriageServiceClient::new(channel.clone());
    let mut directory = DirectoryServiceClient::new(channel.clone())
        .max_decoding_message_size(crate::grpc::MAX_MESSAGE_BYTES);
    let mut insights = InsightsServiceClient::new(channel);
    let actor = remote.actor();
    let print_question = |q: &proto::Question| {
        if remote.json {
            println!("{}", json::question(q));
        } else {
            print!("{}", question_text(q));
        }
    };
    // The six lifecycle commands differ only in the request type and RPC.
    macro_rules! lifecycle {
        ($change:expr, $request:ident, $rpc:ident) => {{
            let (id, etag, reason) = parts($change);
            let r = proto::$request {
                id,
                etag,
                reason,
                actor,
            };
            print_question(&questions.$rpc(r).await.map_err(failure)?.into_inner());
        }};
    }
    match command {
        RemoteCommand::Submit(a) => {
            let q = questions
                .submit_question(proto::SubmitQuestionRequest {
                    text: a.text,
                    organization_name: a.organization,
                    organization_type: org_type_wire(a.org_type),
                    region: a.region.unwrap_or_default(),
                    portal: a.portal,
                    request_id: a.request_id.unwrap_or_default(),
                    impact: a.impact.unwrap_or(0),
                    effort: 0,
                    actor,
                })
                .await
                .map_err(failure)?
                .into_inner();
            print_question(&q);
        }
        RemoteCommand::Get { id } => {
            let q = questions
                .get_question(proto::GetQuestionRequest { id })
                .await
                .map_err(failure)?
                .into_inner();
            print_question(&q);
        }
        RemoteCommand::History { id } => {
            let h = questions
                .get_question_history(proto::GetQuestionHistoryRequest { id })
                .await
                .map_err(failure)?
                .into_inner();
            if remote.json {
                println!(
                    "{}",
                    serde_json::Value::Array(h.events.iter().map(json::history_event).collect())
                );
            } else {
                let rows = h
                    .events
                    .iter()
                    .map(|e| {
                        vec![
                            e.seq.to_string(),
                            json::time_text(e.time.as_ref()),
                            action_name(e.action),
                            format!(
                                "{} → {}",
                                status_name(e.from_status),
                                status_name(e.to_status)
                            ),
                            e.actor.clone(),
                            e.changes
                                .iter()
                                .map(|c| {
                                    format!(
                                        "{}: {} → {}",
                                        c.field,
                                        or_dash(&c.before),
                                        or_dash(&c.after)
                                    )
                                })
                                .chain(
                                    (!e.reason.is_empty()).then(|| format!("reason: {}", e.reason)),
                                )
                                .collect::<Vec<_>>()
                                .join("; "),
                        ]
                    })
                    .collect();
                print!(
                    "{}",
                    table(&["#", "TIME", "ACTION", "STATUS", "ACTOR", "DETAILS"], rows)
                );
            }
        }
        RemoteCommand::List(a) => {
            let mut all = Vec::new();
            let mut token = String::new();
            loop {
                let page = questions
                    .list_questions(proto::ListQuestionsRequest {
                        status: a.status.map_or(0, status_wire),
                        category: a.category.map_or(0, category_wire),
                        organization_type: a.org_type.map_or(0, org_type_wire),
                        expert_id: a.expert.clone().unwrap_or_default(),
                        provider_id: a.provider.clone().unwrap_or_default(),
                        organization_name: a.organization.clone().unwrap_or_default(),
                        page_size: a.limit.min(500) as i32,
                        page_token: token,
                        ..Default::default()
                    })
                    .await
                    .map_err(failure)?
                    .into_inner();
                all.extend(page.questions);
                token = page.next_page_token;
                if token.is_empty() || all.len() >= a.limit {
                    break;
                }
            }
            all.truncate(a.limit);
            if remote.json {
                println!(
                    "{}",
                    serde_json::Value::Array(all.iter().map(json::question).collect())
                );
            } else {
                let rows = all
                    .iter()
                    .map(|q| {
                        vec![
                            q.id.clone(),
                            status_name(q.status),
                            category_name(q.category),
                            assignee(q),
                            q.organization_name.clone(),
                            clip(&q.text, 60),
                        ]
                    })
                    .collect();
                print!(
                    "{}",
                    table(
                        &["ID", "STATUS", "CATEGORY", "ASSIGNED", "ASKER", "QUESTION"],
                        rows
                    )
                );
            }
        }
        RemoteCommand::Queue { limit } => {
            let page = triage
                .list_queue(proto::ListQueueRequest {
                    page_size: limit,
                    page_token: String::new(),
                })
                .await
                .map_err(failure)?
                .into_inner();
            if remote.json {
                println!(
                    "{}",
                    serde_json::Value::Array(page.entries.iter().map(json::queue_entry).collect())
                );
            } else if page.entries.is_empty() {
                println!("The triage queue is empty.");
            } else {
                let rows = page
                    .entries
                    .iter()
                    .map(|e| {
                        let q = e.question.clone().unwrap_or_default();
                        let proposal = q
                            .classification
                            .as_ref()
                            .and_then(|c| c.providers.first())
                            .map(|p| p.id.clone())
                            .unwrap_or_default();
                        vec![
                            format!("{:.1}", e.priority),
                            q.id.clone(),
                            category_name(q.category),
                            org_type_name(q.organization_type),
                            or_dash(&proposal),
                            clip(&e.reason, 40),
                            clip(&q.text, 50),
                        ]
                    })
                    .collect();
                print!(
                    "{}",
                    table(
                        &[
                            "PRIORITY",
                            "ID",
                            "CATEGORY",
                            "ASKER",
                            "PROPOSED",
                            "WHY IN TRIAGE",
                            "QUESTION"
                        ],
                        rows
                    )
                );
            }
        }
        RemoteCommand::Route(a) => {
            let q = triage
                .route_question(proto::RouteQuestionRequest {
                    id: a.change.id,
                    category: a.category.map_or(0, category_wire),
                    provider_id: a.provider.unwrap_or_default(),
                    expert_id: a.expert.unwrap_or_default(),
                    etag: a.change.etag.unwrap_or_default(),
                    reason: a.change.reason.unwrap_or_default(),
                    actor,
                })
                .await
                .map_err(failure)?
                .into_inner();
            print_question(&q);
        }
        RemoteCommand::Reject(c) => {
            let q = triage
                .reject_question(proto::RejectQuestionRequest {
                    id: c.id,
                    etag: c.etag.unwrap_or_default(),
                    reason: c.reason.unwrap_or_default(),
                    actor,
                })
                .await
                .map_err(failure)?
                .into_inner();
            print_question(&q);
        }
        RemoteCommand::Duplicate { change, of } => {
            let q = triage
                .mark_duplicate(proto::MarkDuplicateRequest {
                    id: change.id,
                    original_id: of,
                    etag: change.etag.unwrap_or_default(),
                    reason: change.reason.unwrap_or_default(),
                    actor,
                })
                .await
                .map_err(failure)?
                .into_inner();
            print_question(&q);
        }
        RemoteCommand::Accept(c) => lifecycle!(c, AcceptQuestionRequest, accept_question),
        RemoteCommand::Decline(c) => lifecycle!(c, DeclineQuestionRequest, decline_question),
        RemoteCommand::Wait(c) => lifecycle!(c, WaitForAskerRequest, wait_for_asker),
        RemoteCommand::Resume(c) => lifecycle!(c, ResumeQuestionRequest, resume_question),
        RemoteCommand::Close(c) => lifecycle!(c, CloseQuestionRequest, close_question),
        RemoteCommand::Reopen(c) => lifecycle!(c, ReopenQuestionRequest, reopen_question),
        RemoteCommand::Answer(a) => {
            let r = proto::AnswerQuestionRequest {
                id: a.id,
                etag: a.etag.unwrap_or_default(),
                answer: a.answer,
                sources: a.sources,
                review_after: a.review_after.map(millis_timestamp),
                actor,
            };
            print_question(
                &questions
                    .answer_question(r)
                    .await
                    .map_err(failure)?
                    .into_inner(),
            );
        }
        RemoteCommand::Experts(command) => experts(&remote, &mut directory, command).await?,
        RemoteCommand::Learned(LearnedCommand::List { term, limit }) => {
            let r = triage
                .list_learned_terms(proto::ListLearnedTermsRequest {
                    term: term.unwrap_or_default(),
                    page_size: limit,
                    page_token: String::new(),
                })
                .await
                .map_err(failure)?
                .into_inner();
            if remote.json {
                println!(
                    "{}",
                    serde_json::Value::Array(r.terms.iter().map(json::learned_term).collect())
                );
            } else if r.terms.is_empty() {
                println!(
                    "Nothing learned yet (index v{}): routing decisions in triage teach it.",
                    r.index_version
                );
            } else {
                let rows = r
                    .terms
                    .iter()
                    .map(|t| {
                        vec![
                            t.word.clone(),
                            t.questions.to_string(),
                            t.weights
                                .iter()
                                .map(|w| {
                                    format!(
                                        "{} {} +{:.2}",
                                        w.target_kind.to_lowercase(),
                                        w.target_id,
                                        w.weight
                                    )
                                })
                                .collect::<Vec<_>>()
                                .join(", "),
                        ]
                    })
                    .collect();
                print!("{}", table(&["TERM", "QUESTIONS", "LEARNED WEIGHTS"], rows));
            }
        }
        RemoteCommand::Learned(LearnedCommand::Reset { term, all }) => {
            let r = triage
                .reset_learned_terms(proto::ResetLearnedTermsRequest {
                    term: term.clone().unwrap_or_default(),
                    all,
                })
                .await
                .map_err(failure)?
                .into_inner();
            if remote.json {
                println!("{}", serde_json::json!({"index_version": r.index_version}));
            } else {
                match term {
                    Some(t) => println!(
                        "forgot what was learned about `{t}`; index v{}",
                        r.index_version
                    ),
                    None => println!("forgot everything learned; index v{}", r.index_version),
                }
            }
        }
        RemoteCommand::Review(ReviewCommand::List { before, limit }) => {
            let r = questions
                .list_due_for_review(proto::ListDueForReviewRequest {
                    due_before: before.map(millis_timestamp),
                    page_size: limit,
                    page_token: String::new(),
                })
                .await
                .map_err(failure)?
                .into_inner();
            if remote.json {
                println!(
                    "{}",
                    serde_json::Value::Array(r.questions.iter().map(json::question).collect())
                );
            } else if r.questions.is_empty() {
                println!("No answers are due for review.");
            } else {
                let rows = r
                    .questions
                    .iter()
                    .map(|q| {
                        let a = q.answer.clone().unwrap_or_default();
                        vec![
                            json::time_text(a.review_after.as_ref()),
                            q.id.clone(),
                            category_name(q.category),
                            clip(&q.text, 45),
                            clip(&a.text, 45),
                        ]
                    })
                    .collect();
                print!(
                    "{}",
                    table(&["DUE", "ID", "CATEGORY", "QUESTION", "ANSWER"], rows)
                );
            }
        }
        RemoteCommand::Review(ReviewCommand::Confirm {
            change,
            review_after,
        }) => {
            let q = questions
                .review_answer(proto::ReviewAnswerRequest {
                    id: change.id,
                    etag: change.etag.unwrap_or_default(),
                    review_after: review_after.map(millis_timestamp),
                    reason: change.reason.unwrap_or_default(),
                    actor,
                    ..Default::default()
                })
                .await
                .map_err(failure)?
                .into_inner();
            print_question(&q);
        }
        RemoteCommand::Review(ReviewCommand::Replace {
            change,
            answer,
            sources,
            review_after,
        }) => {
            let q = questions
                .review_answer(proto::ReviewAnswerRequest {
                    id: change.id,
                    etag: change.etag.unwrap_or_default(),
                    answer,
                    sources,
                    review_after: review_after.map(millis_timestamp),
                    reason: change.reason.unwrap_or_default(),
                    actor,
                })
                .await
                .map_err(failure)?
                .into_inner();
            print_question(&q);
        }
        RemoteCommand::Similar { text, id, limit } => {
            let r = questions
                .find_similar_questions(proto::FindSimilarQuestionsRequest {
                    text: text.unwrap_or_default(),
                    id: id.unwrap_or_default(),
                    page_size: limit,
                })
                .await
                .map_err(failure)?
                .into_inner();
            if remote.json {
                println!(
                    "{}",
                    serde_json::Value::Array(r.similar.iter().map(json::similar).collect())
                );
            } else if r.similar.is_empty() {
                println!("No similar earlier questions.");
            } else {
                let rows = r
                    .similar
                    .iter()
                    .map(|x| {
                        vec![
                            x.id.clone(),
                            format!("{:.2}", x.score),
                            status_name(x.status),
                            clip(&x.text, 50),
                            clip(&x.answer, 50),
                        ]
                    })
                    .collect();
                print!(
                    "{}",
                    table(&["ID", "SIMILARITY", "STATUS", "QUESTION", "ANSWER"], rows)
                );
            }
        }
        RemoteCommand::Providers => {
            let list = directory
                .list_providers(proto::ListProvidersRequest {})
                .await
                .map_err(failure)?
                .into_inner()
                .providers;
            if remote.json {
                println!(
                    "{}",
                    serde_json::Value::Array(list.iter().map(json::provider).collect())
                );
            } else {
                let rows = list
                    .iter()
                    .map(|p| {
                        vec![
                            p.id.clone(),
                            p.name.clone(),
                            p.themes.join(", "),
                            p.regions.join(", "),
                        ]
                    })
                    .collect();
                print!("{}", table(&["ID", "NAME", "THEMES", "REGIONS"], rows));
            }
        }
        RemoteCommand::Leadtimes(a) => {
            let metric = match a.metric {
                MetricArg::Route => proto::LeadTimeMetric::TimeToRoute,
                MetricArg::FirstResponse => proto::LeadTimeMetric::TimeToFirstResponse,
                MetricArg::Answer => proto::LeadTimeMetric::TimeToAnswer,
            };
            let clock = match a.clock {
                ClockArg::Calendar => proto::LeadTimeClock::Calendar,
                ClockArg::Working => proto::LeadTimeClock::WorkingHours,
            };
            let group_by = match a.group_by {
                GroupArg::All => proto::LeadTimeGrouping::All,
                GroupArg::Category => proto::LeadTimeGrouping::Category,
                GroupArg::Provider => proto::LeadTimeGrouping::Provider,
                GroupArg::Expert => proto::LeadTimeGrouping::Expert,
                GroupArg::OrgType => proto::LeadTimeGrouping::OrganizationType,
                GroupArg::Month => proto::LeadTimeGrouping::Month,
            };
            let r = insights
                .get_lead_times(proto::GetLeadTimesRequest {
                    metric: metric as i32,
                    clock: clock as i32,
                    group_by: group_by as i32,
                    from_month: a.from.unwrap_or_default(),
                    to_month: a.to.unwrap_or_default(),
                    groups: Vec::new(),
                })
                .await
                .map_err(failure)?
                .into_inner();
            if remote.json {
                println!(
                    "{}",
                    serde_json::Value::Array(r.groups.iter().map(json::lead_time_group).collect())
                );
            } else if r.groups.is_empty() {
                println!("No measurements in this range yet.");
            } else {
                let d = |x: &Option<prost_types::Duration>| json::duration_text(x.as_ref());
                let rows = r
                    .groups
                    .iter()
                    .map(|g| {
                        vec![
                            if g.group.is_empty() {
                                "(all)".to_string()
                            } else {
                                g.group.clone()
                            },
                            g.count.to_string(),
                            d(&g.p50),
                            d(&g.p90),
                            d(&g.p99),
                            d(&g.mean),
                            d(&g.max),
                        ]
                    })
                    .collect();
                print!(
                    "{}",
                    table(
                        &["GROUP", "COUNT", "P50", "P90", "P99", "MEAN", "MAX"],
                        rows
                    )
                );
            }
        }
        RemoteCommand::Gaps { from, to, min } => {
            let r = insights
                .get_knowledge_gaps(proto::GetKnowledgeGapsRequest {
                    from_month: from.unwrap_or_default(),
                    to_month: to.unwrap_or_default(),
                    min_questions: min,
                })
                .await
                .map_err(failure)?
                .into_inner();
            if remote.json {
                println!(
                    "{}",
                    serde_json::Value::Array(r.gaps.iter().map(json::gap).collect())
                );
            } else if r.gaps.is_empty() {
                println!("No recurring gaps in this period.");
            } else {
                for g in &r.gaps {
                    let who: Vec<String> = g
                        .organization_types
                        .iter()
                        .map(|t| format!("{} {}", org_type_name(t.organization_type), t.questions))
                        .collect();
                    println!(
                        "{} questions  {} / {}  ({} unanswered, {} without a confident provider)  asked by {}",
                        g.questions,
                        if g.theme_name.is_empty() { "(no theme)" } else { &g.theme_name },
                        category_name(g.category),
                        g.unanswered,
                        g.unconfident,
                        who.join(", ")
                    );
                    for q in &g.examples {
                        println!("    {:<6} {}", q.id, clip(&q.text, 90));
                    }
                }
            }
        }
        RemoteCommand::Stats => {
            let r = insights
                .get_queue_stats(proto::GetQueueStatsRequest {})
                .await
                .map_err(failure)?
                .into_inner();
            if remote.json {
                println!(
                    "{}",
                    serde_json::Value::Array(r.stats.iter().map(json::queue_stat).collect())
                );
            } else {
                let rows = r
                    .stats
                    .iter()
                    .map(|s| {
                        vec![
                            status_name(s.status),
                            if s.category == 0 {
                                "(all)".into()
                            } else {
                                category_name(s.category)
                            },
                            s.count.to_string(),
                            json::duration_text(s.median_age.as_ref()),
                            json::duration_text(s.oldest_age.as_ref()),
                        ]
                    })
                    .collect();
                print!(
                    "{}",
                    table(
                        &["STATUS", "CATEGORY", "OPEN", "MEDIAN AGE", "OLDEST"],
                        rows
                    )
                );
            }
        }
        RemoteCommand::Watch(a) => {
            let mut stream = questions
                .watch_events(proto::WatchEventsRequest {
                    question_id: a.question.unwrap_or_default(),
                    statuses: a.status.into_iter().map(status_wire).collect(),
                    category: a.category.map_or(0, category_wire),
                })
                .await
                .map_err(failure)?
                .into_inner();
            if !remote.json {
                eprintln!("watching {} (Ctrl-C to stop)", remote.server);
            }
            while let Some(event) = stream.message().await.map_err(failure)? {
                if remote.json {
                    println!("{}", json::question_event(&event));
                } else {
                    println!(
                        "{}  {:<6} {:<16} {} → {}  {}{}",
                        json::time_text(event.time.as_ref()),
                        event.question_id,
                        action_name(event.action),
                        status_name(event.from_status),
                        status_name(event.to_status),
                        event.actor,
                        match (event.provider_id.as_str(), event.expert_id.as_str()) {
                            ("", "") => String::new(),
                            (p, "") => format!("  → {p}"),
                            (_, e) => format!("  → {e}"),
                        }
                    );
                }
            }
            if !remote.json {
                eprintln!("the server ended the stream");
            }
        }
    }
    Ok(())
}

fn parts(c: Change) -> (String, String, String) {
    (
        c.id,
        c.etag.unwrap_or_default(),
        c.reason.unwrap_or_default(),
    )
}

/// Experts per import call: well under the server's limit and small enough
/// for the progress bar to move.
const IMPORT_CHUNK: usize = 1_000;

async fn experts(
    remote: &Remote,
    directory: &mut DirectoryServiceClient<Channel>,
    command: ExpertsCommand,
) -> anyhow::Result<()> {
    match command {
        ExpertsCommand::List => {
            let mut all = Vec::new();
            let mut token = String::new();
            loop {
                let page = directory
                    .list_experts(proto::ListExpertsRequest {
                        page_size: 1000,
                        page_token: token,
                    })
                    .await
                    .map_err(failure)?
                    .into_inner();
                all.extend(page.experts);
                token = page.next_page_token;
                if token.is_empty() {
                    break;
                }
            }
            if remote.json {
                println!(
                    "{}",
                    serde_json::Value::Array(all.iter().map(json::expert).collect())
                );
            } else {
                let rows = all
                    .iter()
                    .map(|e| {
                        vec![
                            e.id.clone(),
                            e.name.clone(),
                            e.organization.clone(),
                            e.region.clone(),
                            e.capacity.to_string(),
                            if e.available.unwrap_or(true) {
                                "yes".into()
                            } else {
                                "no".into()
                            },
                            clip(&e.themes.join(", "), 40),
                        ]
                    })
                    .collect();
                print!(
                    "{}",
                    table(
                        &[
                            "ID",
                            "NAME",
                            "ORGANISATION",
                            "REGION",
                            "CAPACITY",
                            "AVAILABLE",
                            "THEMES"
                        ],
                        rows
                    )
                );
            }
        }
        ExpertsCommand::Add(a) => {
            let expertise = a
                .terms
                .iter()
                .filter(|t| !t.trim().is_empty())
                .map(|t| weighted(t))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let e = directory
                .create_expert(proto::CreateExpertRequest {
                    expert: Some(proto::Expert {
                        id: a.id,
                        name: a.name,
                        organization: a.organization,
                        organization_type: org_type_wire(a.org_type),
                        region: a.region.unwrap_or_default(),
                        expertise,
                        themes: a.themes,
                        categories: Vec::new(),
                        capacity: a.capacity,
                        available: Some(true),
                        absences: Vec::new(),
                    }),
                })
                .await
                .map_err(failure)?
                .into_inner();
            if remote.json {
                println!("{}", json::expert(&e));
            } else {
                println!(
                    "added expert {} ({}); routing uses them from now on",
                    e.id, e.name
                );
            }
        }
        ExpertsCommand::Import { file } => {
            let records = read_experts(&file)?;
            let bar = indicatif::ProgressBar::new(records.len() as u64);
            if remote.json || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
                bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
            }
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} experts ({eta} left)",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            let (mut created, mut updated, mut version) = (0, 0, 0);
            for chunk in records.chunks(IMPORT_CHUNK) {
                let r = directory
                    .import_experts(proto::ImportExpertsRequest {
                        experts: chunk.iter().map(expert_wire).collect(),
                    })
                    .await
                    .map_err(|s| {
                        failure(s).context(format!(
                            "import stopped after {} of {} experts (those are stored)",
                            created + updated,
                            records.len()
                        ))
                    })?
                    .into_inner();
                created += r.created;
                updated += r.updated;
                version = r.index_version;
                bar.inc(chunk.len() as u64);
            }
            bar.finish_and_clear();
            if remote.json {
                println!(
                    "{}",
                    serde_json::json!({"created": created, "updated": updated, "index_version": version})
                );
            } else {
                println!("imported {} experts: {created} new, {updated} replaced; index version {version}", records.len());
            }
        }
        ExpertsCommand::Remove { id } => {
            directory
                .delete_expert(proto::DeleteExpertRequest { id: id.clone() })
                .await
                .map_err(failure)?;
            if !remote.json {
                println!("removed expert {id}");
            }
        }
        ExpertsCommand::Availability { id, state } => {
            let e = directory
                .set_expert_availability(proto::SetExpertAvailabilityRequest {
                    id,
                    available: state == "on",
                })
                .await
                .map_err(failure)?
                .into_inner();
            if remote.json {
                println!("{}", json::expert(&e));
            } else {
                println!(
                    "{} is {}",
                    e.id,
                    if e.available.unwrap_or(true) {
                        "available"
                    } else {
                        "not available"
                    }
                );
            }
        }
    }
    Ok(())
}

fn weighted(text: &str) -> anyhow::Result<proto::WeightedTerm> {
    let (term, weight) = match text.rsplit_once(':') {
        Some((t, w)) => (
            t.trim(),
            w.trim()
                .parse::<f32>()
                .with_context(|| format!("weight of `{t}` is not a number: write term:2.5"))?,
        ),
        None => (text.trim(), 1.0),
    };
    Ok(proto::WeightedTerm {
        term: term.to_string(),
        weight,
    })
}

fn expert_wire(r: &ExpertRecord) -> proto::Expert {
    let expertise = match &r.expertise {
        crate::domain::Expertise::List(l) => l
            .iter()
            .map(|t| proto::WeightedTerm {
                term: t.clone(),
                weight: 1.0,
            })
            .collect(),
        crate::domain::Expertise::Weighted(m) => m
            .iter()
            .map(|(t, w)| proto::WeightedTerm {
                term: t.clone(),
                weight: *w,
            })
            .collect(),
    };
    proto::Expert {
        id: r.id.clone(),
        name: r.name.clone(),
        organization: r.organization.clone(),
        organization_type: r.organization_type.parse().map_or(0, org_type_wire),
        region: r.region.clone().unwrap_or_default(),
        expertise,
        themes: r.themes.clone(),
        categories: r
            .categories
            .iter()
            .filter_map(|c| c.parse().ok().map(category_wire))
            .collect(),
        capacity: r.capacity,
        available: Some(r.available),
        absences: r
            .absences
            .iter()
            .map(|a| proto::Absence {
                from: a.from.clone(),
                to: a.to.clone(),
                reason: a.reason.clone(),
            })
            .collect(),
    }
}

/// Reads an expert file: JSON array, JSON Lines, or CSV with a header.
/// Problems name the line.
pub fn read_experts(path: &std::path::Path) -> anyhow::Result<Vec<ExpertRecord>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read expert file {}", path.display()))?;
    let is_csv = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    let records = if is_csv {
        experts_from_csv(&text)
    } else {
        crate::domain::parse_expert_records(&text).map_err(|e| anyhow::anyhow!(e))
    }
    .with_context(|| format!("in {}", path.display()))?;
    // Check every record here, so a mistake is reported with its place in
    // the file before anything is sent (the wire format would turn an
    // unknown organisation type into OTHER).
    let data_line = if is_csv { 2 } else { 1 };
    for (n, r) in records.iter().enumerate() {
        crate::domain::Expert::try_from(r.clone()).map_err(|e| {
            anyhow::anyhow!(
                "{}: record {} (line {}): {e}",
                path.display(),
                n + 1,
                n + data_line
            )
        })?;
    }
    Ok(records)
}

fn experts_from_csv(text: &str) -> anyhow::Result<Vec<ExpertRecord>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .context("the CSV file has no header line")?
        .clone();
    let col = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let (Some(id), Some(name)) = (col("id"), col("name")) else {
        bail!(
            "the CSV header needs at least the columns id and name (found: {})",
            headers.iter().collect::<Vec<_>>().join(", ")
        );
    };
    let list = |s: &str| -> Vec<String> {
        s.split(';')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(String::from)
            .collect()
    };
    let mut out = Vec::new();
    for (n, row) in reader.records().enumerate() {
        let line = n + 2;
        let row = row.with_context(|| format!("line {line}"))?;
        let get = |c: Option<usize>| c.and_then(|c| row.get(c)).unwrap_or("").to_string();
        let mut expertise = std::collections::BTreeMap::new();
        for t in list(&get(col("expertise"))) {
            let w = weighted(&t).with_context(|| format!("line {line}"))?;
            expertise.insert(w.term, w.weight);
        }
        let capacity = match get(col("capacity")).as_str() {
            "" => 3,
            c => c
                .parse()
                .with_context(|| format!("line {line}: capacity `{c}` is not a whole number"))?,
        };
        let available = match get(col("available")).to_ascii_lowercase().as_str() {
            "" | "true" | "yes" | "ja" | "1" => true,
            "false" | "no" | "nee" | "0" => false,
            other => bail!("line {line}: available `{other}` is not yes or no"),
        };
        out.push(ExpertRecord {
            id: get(Some(id)),
            name: get(Some(name)),
            organization: get(col("organization")),
            organization_type: match get(col("organization_type")).as_str() {
                "" => "OTHER".into(),
                t => t.to_string(),
            },
            region: Some(get(col("region"))).filter(|r| !r.is_empty()),
            expertise: crate::domain::Expertise::Weighted(expertise),
            themes: list(&get(col("themes"))),
            categories: list(&get(col("categories"))),
            capacity,
            available,
            absences: Vec::new(),
        });
    }
    Ok(out)
}

fn assignee(q: &proto::Question) -> String {
    match (q.provider_id.as_str(), q.expert_id.as_str()) {
        ("", "") => "-".into(),
        (p, "") => p.into(),
        ("", e) => e.into(),
        (p, e) => format!("{e} ({p})"),
    }
}

fn or_dash(s: &str) -> String {
    if s.is_empty() {
        "-".into()
    } else {
        s.into()
    }
}

fn clip(s: &str, max: usize) -> String {
    let one_line = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= max {
        one_line
    } else {
        let mut out: String = one_line.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

/// Columns padded to their widest cell.
pub(super) fn table(headers: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cells: Vec<String>| {
        let mut text = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                let _ = write!(text, "{cell:<w$}  ");
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&mut out, headers.iter().map(|h| h.to_string()).collect());
    for row in rows {
        line(&mut out, row);
    }
    out
}

fn question_text(q: &proto::Question) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}  {}  etag {}", q.id, status_name(q.status), q.etag);
    let _ = writeln!(
        out,
        "  asked by   {} ({}){}",
        q.organization_name,
        org_type_name(q.organization_type),
        if q.region.is_empty() {
            String::new()
        } else {
            format!(", {}", q.region)
        }
    );
    let _ = writeln!(
        out,
        "  submitted  {}",
        json::time_text(q.submitted_at.as_ref())
    );
    if let Some(c) = &q.classification {
        let _ = writeln!(
            out,
            "  category   {} (confidence {:.2}, index v{})",
            category_name(q.category),
            c.confidence,
            c.index_version
        );
        let themes: Vec<&str> = c.themes.iter().map(|t| t.id.as_str()).collect();
        if !themes.is_empty() {
            let _ = writeln!(out, "  themes     {}", themes.join(", "));
        }
        let proposed: Vec<String> = c
            .providers
            .iter()
            .take(3)
            .map(|p| {
                if p.score > 0.0 {
                    format!("{} {:.2}", p.id, p.score)
                } else {
                    p.id.clone()
                }
            })
            .collect();
        if !proposed.is_empty() {
            let _ = writeln!(out, "  proposed   {}", proposed.join(", "));
        }
    }
    let _ = writeln!(out, "  assigned   {}", assignee(q));
    if !q.triage_reason.is_empty() && q.status == proto::Status::Triage as i32 {
        let _ = writeln!(out, "  in triage  {}", q.triage_reason);
    }
    if !q.duplicate_of.is_empty() {
        let _ = writeln!(out, "  duplicate of {}", q.duplicate_of);
    }
    let _ = writeln!(out, "  question   {}", q.text);
    for x in &q.similar {
        let _ = writeln!(
            out,
            "  similar    {} {:.2} {} {}",
            x.id,
            x.score,
            status_name(x.status),
            clip(&x.text, 60)
        );
    }
    if let Some(a) = &q.answer {
        let _ = writeln!(out, "  answer     {}", a.text);
        for s in &a.sources {
            let _ = writeln!(out, "    source   {s}");
        }
        if a.review_after.is_some() {
            let _ = writeln!(
                out,
                "  review     {}",
                json::time_text(a.review_after.as_ref())
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_pad_columns_to_the_widest_cell() {
        let t = table(
            &["ID", "NAME"],
            vec![
                vec!["q1".into(), "a".into()],
                vec!["q100".into(), "b".into()],
            ],
        );
        assert_eq!(t, "ID    NAME\nq1    a\nq100  b\n");
    }

    #[test]
    fn csv_experts_parse_lists_weights_and_defaults() {
        let csv = "id,name,expertise,themes,capacity,available\nanna,Anna,circulair inkopen:2;hout,inkoop;bouw,,nee\n";
        let e = experts_from_csv(csv).unwrap();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].themes, vec!["inkoop", "bouw"]);
        assert_eq!(e[0].capacity, 3);
        assert!(!e[0].available);
        match &e[0].expertise {
            crate::domain::Expertise::Weighted(m) => {
                assert_eq!(m.get("circulair inkopen"), Some(&2.0));
                assert_eq!(m.get("hout"), Some(&1.0));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn csv_mistakes_name_the_line() {
        let csv = "id,name,capacity\nanna,Anna,lots\n";
        let err = format!("{:#}", experts_from_csv(csv).unwrap_err());
        assert!(err.contains("line 2"), "{err}");
        assert!(experts_from_csv("naam\nx\n").is_err());
    }
}
