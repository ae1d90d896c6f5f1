//! `kicer.v1.InsightsService`.

use super::convert;
use super::proto;
use super::proto::insights_service_server::InsightsService;
use super::status::blocking;
use super::Api;
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
