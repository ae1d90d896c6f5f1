//! `kicer.v1.InsightsService`.

use super::access::Caller;
use super::convert;
use super::proto;
use super::proto::insights_service_server::InsightsService;
use super::status::blocking;
use super::Api;
use crate::service::Service;
use crate::store::LeadTimeQuery;
use tonic::{Response, Status};
use tracing::instrument;

type Reply<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl InsightsService for Api {
    #[instrument(skip_all, fields(method = "GetLeadTimes"))]
    async fn get_lead_times(
        &self,
        request: tonic::Request<proto::GetLeadTimesRequest>,
    ) -> Reply<proto::GetLeadTimesResponse> {
        let r = request.into_inner();
        let (default_from, default_to) = self.service.last_twelve_months();
        let query = LeadTimeQuery {
            metric: convert::metric(r.metric)?,
            clock: convert::clock(r.clock)?,
            group_by: convert::grouping(r.group_by)?,
            from_month: convert::month("from_month", &r.from_month)?.unwrap_or(default_from),
            to_month: convert::month("to_month", &r.to_month)?.unwrap_or(default_to),
        };
        let groups = r.groups;
        let service = self.service.clone();
        let found = blocking(move || service.lead_times(&query, &groups)).await?;
        Ok(Response::new(proto::GetLeadTimesResponse {
            groups: found
                .into_iter()
                .map(|g| proto::LeadTimeGroup {
                    group: g.group,
                    count: g.count,
                    mean: Some(convert::duration(g.mean_ms.max(0.0) as u64)),
                    p50: Some(convert::duration(g.p50_ms)),
                    p90: Some(convert::duration(g.p90_ms)),
                    p99: Some(convert::duration(g.p99_ms)),
                    max: Some(convert::duration(g.max_ms)),
                })
                .collect(),
        }))
    }

    #[instrument(skip_all, fields(method = "GetKnowledgeGaps"))]
    async fn get_knowledge_gaps(
        &self,
        request: tonic::Request<proto::GetKnowledgeGapsRequest>,
    ) -> Reply<proto::GetKnowledgeGapsResponse> {
        // A dashboard sees the clusters, not the questions in them.
        let with_examples = !Caller::of(&request).is_dashboard();
        let r = request.into_inner();
        let (default_from, default_to) = self.service.last_twelve_months();
        let from = convert::month("from_month", &r.from_month)?.unwrap_or(default_from);
        let to = convert::month("to_month", &r.to_month)?.unwrap_or(default_to);
        if from > to {
            return Err(convert::bad("from_month", "is after to_month: swap them").into());
        }
        let next = crate::domain::worktime::shift_month(to, 1);
        let (Some(from_ms), Some(to_ms)) =
            (Service::month_start_ms(from), Service::month_start_ms(next))
        else {
            return Err(convert::bad("from_month", "is out of range").into());
        };
        let min = match r.min_questions {
            n if n < 0 => return Err(convert::bad("min_questions", "is negative").into()),
            0 => 3,
            n => n as u32,
        };
        let service = self.service.clone();
        let gaps = blocking(move || service.knowledge_gaps(from_ms, to_ms, min)).await?;
        let taxonomy = self.service.engine().taxonomy();
        Ok(Response::new(proto::GetKnowledgeGapsResponse {
            gaps: gaps
                .iter()
                .map(|g| proto::KnowledgeGap {
                    theme: g
                        .theme
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                    theme_name: g
                        .theme
                        .as_ref()
                        .and_then(|t| taxonomy.theme(t))
                        .map(|d| d.name().to_string())
                        .unwrap_or_default(),
                    category: g.category.map_or(0, convert::category_to_proto),
                    questions: g.questions,
                    unanswered: g.unanswered,
                    unconfident: g.unconfident,
                    organization_types: g
                        .organization_types
                        .iter()
                        .map(|(t, n)| proto::OrganizationTypeCount {
                            organization_type: convert::organization_type_to_proto(*t),
                            questions: *n,
                        })
                        .collect(),
                    examples: if with_examples {
                        g.examples.iter().map(|q| self.question(q)).collect()
                    } else {
                        Vec::new()
                    },
                })
                .collect(),
        }))
    }

    #[instrument(skip_all, fields(method = "GetQueueStats"))]
    async fn get_queue_stats(
        &self,
        _request: tonic::Request<proto::GetQueueStatsRequest>,
    ) -> Reply<proto::GetQueueStatsResponse> {
        let service = self.service.clone();
        let stats = blocking(move || service.queue_stats()).await?;
        Ok(Response::new(proto::GetQueueStatsResponse {
            stats: stats
                .into_iter()
                .map(|s| proto::QueueStat {
                    status: convert::status_to_proto(s.status),
                    category: s.category.map_or(0, convert::category_to_proto),
                    count: s.count,
                    oldest_age: Some(convert::duration(s.oldest_ms.max(0) as u64)),
                    median_age: Some(convert::duration(s.median_ms.max(0) as u64)),
                })
                .collect(),
        }))
    }
}
