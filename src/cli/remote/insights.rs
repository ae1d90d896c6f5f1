//! The insight commands (`InsightsService`): lead-time percentiles, the
//! open questions per status and category, and recurring knowledge gaps.

use super::json;
use super::render::{clip, Render, Table};
use super::wire::{category_name, duration_text, org_type_name, status_name};
use super::{reply, Session};
use crate::grpc::proto;
use clap::{Args, ValueEnum};
use serde_json::Value;
use std::fmt::Write as _;

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

impl MetricArg {
    fn wire(self) -> proto::LeadTimeMetric {
        match self {
            MetricArg::Route => proto::LeadTimeMetric::TimeToRoute,
            MetricArg::FirstResponse => proto::LeadTimeMetric::TimeToFirstResponse,
            MetricArg::Answer => proto::LeadTimeMetric::TimeToAnswer,
        }
    }
}

impl ClockArg {
    fn wire(self) -> proto::LeadTimeClock {
        match self {
            ClockArg::Calendar => proto::LeadTimeClock::Calendar,
            ClockArg::Working => proto::LeadTimeClock::WorkingHours,
        }
    }
}

impl GroupArg {
    fn wire(self) -> proto::LeadTimeGrouping {
        match self {
            GroupArg::All => proto::LeadTimeGrouping::All,
            GroupArg::Category => proto::LeadTimeGrouping::Category,
            GroupArg::Provider => proto::LeadTimeGrouping::Provider,
            GroupArg::Expert => proto::LeadTimeGrouping::Expert,
            GroupArg::OrgType => proto::LeadTimeGrouping::OrganizationType,
            GroupArg::Month => proto::LeadTimeGrouping::Month,
        }
    }
}

/// `kicer leadtimes`: lead-time percentiles per group.
pub(super) async fn leadtimes(s: &mut Session, a: LeadtimesArgs) -> anyhow::Result<()> {
    let r = reply(
        s.insights
            .get_lead_times(proto::GetLeadTimesRequest {
                metric: a.metric.wire() as i32,
                clock: a.clock.wire() as i32,
                group_by: a.group_by.wire() as i32,
                from_month: a.from.unwrap_or_default(),
                to_month: a.to.unwrap_or_default(),
                groups: Vec::new(),
            })
            .await,
    )?;
    s.print(
        &Table::new(
            &r.groups,
            &["GROUP", "COUNT", "P50", "P90", "P99", "MEAN", "MAX"],
            |g| {
                let d = |x: &Option<prost_types::Duration>| duration_text(x.as_ref());
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
            },
            json::lead_time_group,
        )
        .or_say("No measurements in this range yet."),
    );
    Ok(())
}

/// `kicer stats`: open questions per status and category, with their ages.
pub(super) async fn stats(s: &mut Session) -> anyhow::Result<()> {
    let r = reply(
        s.insights
            .get_queue_stats(proto::GetQueueStatsRequest {})
            .await,
    )?;
    s.print(&Table::new(
        &r.stats,
        &["STATUS", "CATEGORY", "OPEN", "MEDIAN AGE", "OLDEST"],
        |s| {
            vec![
                status_name(s.status),
                if s.category == 0 {
                    "(all)".into()
                } else {
                    category_name(s.category)
                },
                s.count.to_string(),
                duration_text(s.median_age.as_ref()),
                duration_text(s.oldest_age.as_ref()),
            ]
        },
        json::queue_stat,
    ));
    Ok(())
}

/// `kicer gaps`: recurring questions without a confident provider or an
/// answer yet.
pub(super) async fn gaps(
    s: &mut Session,
    from: Option<String>,
    to: Option<String>,
    min: i32,
) -> anyhow::Result<()> {
    let r = reply(
        s.insights
            .get_knowledge_gaps(proto::GetKnowledgeGapsRequest {
                from_month: from.unwrap_or_default(),
                to_month: to.unwrap_or_default(),
                min_questions: min,
            })
            .await,
    )?;
    s.print(&Gaps(&r.gaps));
    Ok(())
}

/// Knowledge gaps: a summary line per gap with its example questions below
/// (too much for table columns).
struct Gaps<'a>(&'a [proto::KnowledgeGap]);

impl Render for Gaps<'_> {
    fn text(&self) -> String {
        if self.0.is_empty() {
            return "No recurring gaps in this period.\n".into();
        }
        let mut out = String::new();
        for g in self.0 {
            let who: Vec<String> = g
                .organization_types
                .iter()
                .map(|t| format!("{} {}", org_type_name(t.organization_type), t.questions))
                .collect();
            let _ = writeln!(
                out,
                "{} questions  {} / {}  ({} unanswered, {} without a confident provider)  asked by {}",
                g.questions,
                if g.theme_name.is_empty() { "(no theme)" } else { &g.theme_name },
                category_name(g.category),
                g.unanswered,
                g.unconfident,
                who.join(", ")
            );
            for q in &g.examples {
                let _ = writeln!(out, "    {:<6} {}", q.id, clip(&q.text, 90));
            }
        }
        out
    }
    fn json(&self) -> Option<Value> {
        Some(Value::Array(self.0.iter().map(json::gap).collect()))
    }
}
