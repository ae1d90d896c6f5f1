//! The triage commands (`TriageService`): the queue, routing, rejecting
//! and marking duplicates, and what routing learned from those decisions.

use super::json;
use super::render::{clip, or_dash, Message, Table};
use super::wire::{category_name, org_type_name};
use super::{reply, Change, Session};
use crate::domain::Category;
use crate::grpc::convert::category_to_proto;
use crate::grpc::proto;
use clap::{Args, Subcommand};

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

/// `kicer queue`: the triage queue, most urgent first.
pub(super) async fn queue(s: &mut Session, limit: i32) -> anyhow::Result<()> {
    let page = reply(
        s.triage
            .list_queue(proto::ListQueueRequest {
                page_size: limit,
                page_token: String::new(),
            })
            .await,
    )?;
    s.print(&queue_table(&page.entries));
    Ok(())
}

/// The triage queue view: one row per waiting question.
pub(super) fn queue_table(entries: &[proto::QueueEntry]) -> Table<'_, proto::QueueEntry> {
    Table::new(
        entries,
        &[
            "PRIORITY",
            "ID",
            "CATEGORY",
            "ASKER",
            "PROPOSED",
            "WHY IN TRIAGE",
            "QUESTION",
        ],
        |e| {
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
        },
        json::queue_entry,
    )
    .or_say("The triage queue is empty.")
}

/// `kicer route`: assign a question from triage.
pub(super) async fn route(s: &mut Session, a: RouteArgs) -> anyhow::Result<()> {
    let request = proto::RouteQuestionRequest {
        id: a.change.id,
        category: a.category.map_or(0, category_to_proto),
        provider_id: a.provider.unwrap_or_default(),
        expert_id: a.expert.unwrap_or_default(),
        etag: a.change.etag.unwrap_or_default(),
        reason: a.change.reason.unwrap_or_default(),
        actor: s.actor.clone(),
    };
    let q = reply(s.triage.route_question(request).await)?;
    s.print(&q);
    Ok(())
}

change_command!(
    /// `kicer reject`: refuse a question in triage.
    reject,
    triage,
    RejectQuestionRequest,
    reject_question
);

/// `kicer duplicate`: mark a question in triage as repeating `of`.
pub(super) async fn duplicate(s: &mut Session, change: Change, of: String) -> anyhow::Result<()> {
    let request = proto::MarkDuplicateRequest {
        id: change.id,
        original_id: of,
        etag: change.etag.unwrap_or_default(),
        reason: change.reason.unwrap_or_default(),
        actor: s.actor.clone(),
    };
    let q = reply(s.triage.mark_duplicate(request).await)?;
    s.print(&q);
    Ok(())
}

/// `kicer learned list|reset`.
pub(super) async fn learned(s: &mut Session, command: LearnedCommand) -> anyhow::Result<()> {
    match command {
        LearnedCommand::List { term, limit } => learned_terms(s, term, limit).await,
        LearnedCommand::Reset { term, all } => forget(s, term, all).await,
    }
}

/// `kicer learned list`: the learned terms, heaviest first.
async fn learned_terms(s: &mut Session, term: Option<String>, limit: i32) -> anyhow::Result<()> {
    let r = reply(
        s.triage
            .list_learned_terms(proto::ListLearnedTermsRequest {
                term: term.unwrap_or_default(),
                page_size: limit,
                page_token: String::new(),
            })
            .await,
    )?;
    s.print(
        &Table::new(
            &r.terms,
            &["TERM", "QUESTIONS", "LEARNED WEIGHTS"],
            |t| {
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
            },
            json::learned_term,
        )
        .or_say(format!(
            "Nothing learned yet (index v{}): routing decisions in triage teach it.",
            r.index_version
        )),
    );
    Ok(())
}

/// `kicer learned reset`: forget a term, or everything.
async fn forget(s: &mut Session, term: Option<String>, all: bool) -> anyhow::Result<()> {
    let r = reply(
        s.triage
            .reset_learned_terms(proto::ResetLearnedTermsRequest {
                term: term.clone().unwrap_or_default(),
                all,
            })
            .await,
    )?;
    let text = match term {
        Some(t) => format!(
            "forgot what was learned about `{t}`; index v{}",
            r.index_version
        ),
        None => format!("forgot everything learned; index v{}", r.index_version),
    };
    s.print(&Message {
        text,
        json: Some(serde_json::json!({"index_version": r.index_version})),
    });
    Ok(())
}
