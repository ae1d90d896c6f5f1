//! The question commands (`QuestionService`): submit, read, list and walk
//! a question through its lifecycle, answer reviews, similar questions,
//! the status event stream and `classify --remote`; and how a question,
//! a classification and an event read on the terminal.

use super::json;
use super::render::{clip, or_dash, Render, Table};
use super::wire::{action_name, category_name, org_type_name, status_name, time_text};
use super::{parse_date, reply, Change, Session};
use crate::cli::output::ranked;
use crate::domain::{Category, OrganizationType, Status};
use crate::grpc::convert::{
    category_to_proto, organization_type_to_proto, status_to_proto, timestamp,
};
use crate::grpc::proto;
use clap::{Args, Subcommand};
use serde_json::Value;
use std::fmt::Write as _;

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

/// `kicer submit`: prints where the question went.
pub(super) async fn submit(s: &mut Session, a: SubmitArgs) -> anyhow::Result<()> {
    let request = proto::SubmitQuestionRequest {
        text: a.text,
        organization_name: a.organization,
        organization_type: organization_type_to_proto(a.org_type),
        region: a.region.unwrap_or_default(),
        portal: a.portal,
        request_id: a.request_id.unwrap_or_default(),
        impact: a.impact.unwrap_or(0),
        effort: 0,
        actor: s.actor.clone(),
    };
    let q = reply(s.questions.submit_question(request).await)?;
    s.print(&q);
    Ok(())
}

/// `kicer get`.
pub(super) async fn get(s: &mut Session, id: String) -> anyhow::Result<()> {
    let q = reply(
        s.questions
            .get_question(proto::GetQuestionRequest { id })
            .await,
    )?;
    s.print(&q);
    Ok(())
}

/// `kicer history`.
pub(super) async fn history(s: &mut Session, id: String) -> anyhow::Result<()> {
    let h = reply(
        s.questions
            .get_question_history(proto::GetQuestionHistoryRequest { id })
            .await,
    )?;
    s.print(&history_table(&h.events));
    Ok(())
}

/// Who did it: the client, and whom it acted for when it said
/// (`portal-zwolle for jan`).
fn actor_text(actor: &str, on_behalf_of: &str) -> String {
    match on_behalf_of {
        "" => actor.to_string(),
        person => format!("{actor} for {person}"),
    }
}

/// The history view: one row per event.
pub(super) fn history_table(events: &[proto::HistoryEvent]) -> Table<'_, proto::HistoryEvent> {
    Table::new(
        events,
        &["#", "TIME", "ACTION", "STATUS", "ACTOR", "DETAILS"],
        |e| {
            vec![
                e.seq.to_string(),
                time_text(e.time.as_ref()),
                action_name(e.action),
                format!(
                    "{} → {}",
                    status_name(e.from_status),
                    status_name(e.to_status)
                ),
                actor_text(&e.actor, &e.on_behalf_of),
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
                    .chain((!e.reason.is_empty()).then(|| format!("reason: {}", e.reason)))
                    .collect::<Vec<_>>()
                    .join("; "),
            ]
        },
        json::history_event,
    )
}

/// `kicer list`: follows pages up to the limit.
pub(super) async fn list(s: &mut Session, a: ListArgs) -> anyhow::Result<()> {
    let mut all = Vec::new();
    let mut token = String::new();
    loop {
        let page = reply(
            s.questions
                .list_questions(proto::ListQuestionsRequest {
                    status: a.status.map_or(0, status_to_proto),
                    category: a.category.map_or(0, category_to_proto),
                    organization_type: a.org_type.map_or(0, organization_type_to_proto),
                    expert_id: a.expert.clone().unwrap_or_default(),
                    provider_id: a.provider.clone().unwrap_or_default(),
                    organization_name: a.organization.clone().unwrap_or_default(),
                    page_size: a.limit.min(500) as i32,
                    page_token: token,
                    ..Default::default()
                })
                .await,
        )?;
        all.extend(page.questions);
        token = page.next_page_token;
        if token.is_empty() || all.len() >= a.limit {
            break;
        }
    }
    all.truncate(a.limit);
    s.print(&list_table(&all));
    Ok(())
}

/// The question list view: one row per question.
pub(super) fn list_table(questions: &[proto::Question]) -> Table<'_, proto::Question> {
    Table::new(
        questions,
        &["ID", "STATUS", "CATEGORY", "ASSIGNED", "ASKER", "QUESTION"],
        |q| {
            vec![
                q.id.clone(),
                status_name(q.status),
                category_name(q.category),
                assignee(q),
                q.organization_name.clone(),
                clip(&q.text, 60),
            ]
        },
        json::question,
    )
}

change_command!(
    /// `kicer accept`: the assignee takes the question.
    accept,
    questions,
    AcceptQuestionRequest,
    accept_question
);
change_command!(
    /// `kicer decline`: the assignee gives it back to triage.
    decline,
    questions,
    DeclineQuestionRequest,
    decline_question
);
change_command!(
    /// `kicer wait`: wait for the asker.
    wait,
    questions,
    WaitForAskerRequest,
    wait_for_asker
);
change_command!(
    /// `kicer resume`: the asker replied.
    resume,
    questions,
    ResumeQuestionRequest,
    resume_question
);
change_command!(
    /// `kicer close`.
    close,
    questions,
    CloseQuestionRequest,
    close_question
);
change_command!(
    /// `kicer reopen`.
    reopen,
    questions,
    ReopenQuestionRequest,
    reopen_question
);

/// `kicer answer`.
pub(super) async fn answer(s: &mut Session, a: AnswerArgs) -> anyhow::Result<()> {
    let request = proto::AnswerQuestionRequest {
        id: a.id,
        etag: a.etag.unwrap_or_default(),
        answer: a.answer,
        sources: a.sources,
        review_after: a.review_after.map(timestamp),
        actor: s.actor.clone(),
    };
    let q = reply(s.questions.answer_question(request).await)?;
    s.print(&q);
    Ok(())
}

/// `kicer review list|confirm|replace`.
pub(super) async fn review(s: &mut Session, command: ReviewCommand) -> anyhow::Result<()> {
    let (change, answer, sources, review_after) = match command {
        ReviewCommand::List { before, limit } => return due_for_review(s, before, limit).await,
        ReviewCommand::Confirm {
            change,
            review_after,
        } => (change, String::new(), Vec::new(), review_after),
        ReviewCommand::Replace {
            change,
            answer,
            sources,
            review_after,
        } => (change, answer, sources, review_after),
    };
    // One request for both: an empty answer without sources confirms the
    // answer the question has.
    let request = proto::ReviewAnswerRequest {
        id: change.id,
        etag: change.etag.unwrap_or_default(),
        answer,
        sources,
        review_after: review_after.map(timestamp),
        reason: change.reason.unwrap_or_default(),
        actor: s.actor.clone(),
    };
    let q = reply(s.questions.review_answer(request).await)?;
    s.print(&q);
    Ok(())
}

/// `kicer review list`: answers due for review, earliest first.
async fn due_for_review(s: &mut Session, before: Option<i64>, limit: i32) -> anyhow::Result<()> {
    let r = reply(
        s.questions
            .list_due_for_review(proto::ListDueForReviewRequest {
                due_before: before.map(timestamp),
                page_size: limit,
                page_token: String::new(),
            })
            .await,
    )?;
    s.print(
        &Table::new(
            &r.questions,
            &["DUE", "ID", "CATEGORY", "QUESTION", "ANSWER"],
            |q| {
                let a = q.answer.clone().unwrap_or_default();
                vec![
                    time_text(a.review_after.as_ref()),
                    q.id.clone(),
                    category_name(q.category),
                    clip(&q.text, 45),
                    clip(&a.text, 45),
                ]
            },
            json::question,
        )
        .or_say("No answers are due for review."),
    );
    Ok(())
}

/// `kicer similar`: earlier questions that ask the same thing.
pub(super) async fn similar(
    s: &mut Session,
    text: Option<String>,
    id: Option<String>,
    limit: i32,
) -> anyhow::Result<()> {
    let r = reply(
        s.questions
            .find_similar_questions(proto::FindSimilarQuestionsRequest {
                text: text.unwrap_or_default(),
                id: id.unwrap_or_default(),
                page_size: limit,
            })
            .await,
    )?;
    s.print(&similar_table(&r.similar));
    Ok(())
}

/// The similar-questions view: one row per earlier question.
pub(super) fn similar_table(
    similar: &[proto::SimilarQuestion],
) -> Table<'_, proto::SimilarQuestion> {
    Table::new(
        similar,
        &[
            "ID",
            "SIMILARITY",
            "TERMS",
            "MEANING",
            "STATUS",
            "QUESTION",
            "ANSWER",
        ],
        |x| {
            vec![
                x.id.clone(),
                format!("{:.2}", x.score),
                format!("{:.2}", x.lexical_score),
                // The embeddings' cosine, when the server has an
                // embedding service and both questions a vector.
                x.semantic_score
                    .map_or_else(|| "-".to_string(), |s| format!("{s:.2}")),
                status_name(x.status),
                clip(&x.text, 50),
                clip(&x.answer, 50),
            ]
        },
        json::similar,
    )
    .or_say("No similar earlier questions.")
}

/// `kicer watch`: prints status events until the server ends the stream.
pub(super) async fn watch(s: &mut Session, a: WatchArgs) -> anyhow::Result<()> {
    let mut stream = reply(
        s.questions
            .watch_events(proto::WatchEventsRequest {
                question_id: a.question.unwrap_or_default(),
                statuses: a.status.into_iter().map(status_to_proto).collect(),
                category: a.category.map_or(0, category_to_proto),
            })
            .await,
    )?;
    // Progress goes to stderr and only for people, so stdout stays one
    // event per line.
    if !s.json {
        eprintln!("watching {} (Ctrl-C to stop)", s.server);
    }
    while let Some(event) = stream.message().await.map_err(super::failure)? {
        s.print(&event);
    }
    if !s.json {
        eprintln!("the server ended the stream");
    }
    Ok(())
}

/// `kicer classify --remote`: the server's classification.
pub(super) async fn classify(
    s: &mut Session,
    args: crate::cli::ClassifyArgs,
) -> anyhow::Result<()> {
    let c = reply(
        s.questions
            .classify_question(proto::ClassifyQuestionRequest {
                text: args.text,
                organization_type: args.org_type.map_or(0, organization_type_to_proto),
                region: args.region.map(|r| r.to_string()).unwrap_or_default(),
            })
            .await,
    )?;
    s.print(&c);
    Ok(())
}

/// Who a question is assigned to: `expert (provider)`, one of them, or `-`.
fn assignee(q: &proto::Question) -> String {
    match (q.provider_id.as_str(), q.expert_id.as_str()) {
        ("", "") => "-".into(),
        (p, "") => p.into(),
        ("", e) => e.into(),
        (p, e) => format!("{e} ({p})"),
    }
}

impl Render for proto::Question {
    fn text(&self) -> String {
        question_text(self)
    }
    fn json(&self) -> Option<Value> {
        Some(json::question(self))
    }
}

impl Render for proto::Classification {
    fn text(&self) -> String {
        let c = self;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Category    {}   confidence {:.2}   language {}   index v{}",
            category_name(c.category),
            c.confidence,
            c.language,
            c.index_version
        );
        let themes: Vec<&str> = c.themes.iter().map(|t| t.id.as_str()).collect();
        let _ = writeln!(out, "Themes      {}", or_dash(&themes.join(", ")));
        for (title, list) in [("Providers", &c.providers), ("Experts", &c.experts)] {
            let _ = writeln!(out, "{title}");
            for (i, m) in list.iter().enumerate() {
                let terms: Vec<String> = m
                    .matched_terms
                    .iter()
                    .take(5)
                    .map(|t| format!("{} +{:.2}", t.term, t.contribution))
                    .collect();
                ranked(&mut out, i + 1, &m.id, m.score, &m.name, &terms.join(", "));
            }
        }
        out
    }
    fn json(&self) -> Option<Value> {
        Some(json::classification(self))
    }
}

impl Render for proto::QuestionEvent {
    fn text(&self) -> String {
        format!(
            "{}  {:<6} {:<16} {} → {}  {}{}\n",
            time_text(self.time.as_ref()),
            self.question_id,
            action_name(self.action),
            status_name(self.from_status),
            status_name(self.to_status),
            actor_text(&self.actor, &self.on_behalf_of),
            match (self.provider_id.as_str(), self.expert_id.as_str()) {
                ("", "") => String::new(),
                (p, "") => format!("  → {p}"),
                (_, e) => format!("  → {e}"),
            }
        )
    }
    fn json(&self) -> Option<Value> {
        Some(json::question_event(self))
    }
}

/// A question as a few labelled lines.
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
    let _ = writeln!(out, "  submitted  {}", time_text(q.submitted_at.as_ref()));
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
            let _ = writeln!(out, "  review     {}", time_text(a.review_after.as_ref()));
        }
    }
    out
}
