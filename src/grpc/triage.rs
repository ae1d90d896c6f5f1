//! `kicer.v1.TriageService`.

use super::convert::{self, bad};
use super::proto;
use super::proto::triage_service_server::TriageService;
use super::questions::page_request;
use super::status::blocking;
use super::Api;
use crate::domain::{ExpertId, ProviderId};
use crate::service::Lifecycle;
use tonic::{Response, Status};
use tracing::instrument;

type Reply<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl TriageService for Api {
    #[instrument(skip_all, fields(method = "ListQueue"))]
    async fn list_queue(
        &self,
        request: tonic::Request<proto::ListQueueRequest>,
    ) -> Reply<proto::ListQueueResponse> {
        let r = request.into_inner();
        let page = page_request(r.page_size, &r.page_token)?;
        let service = self.service.clone();
        let page = blocking(move || service.queue(&page)).await?;
        Ok(Response::new(proto::ListQueueResponse {
            entries: page
                .items
                .iter()
                .map(|e| proto::QueueEntry {
                    question: Some(self.question(&e.question)),
                    priority: e.priority,
                    reason: e.question.triage_reason.clone().unwrap_or_default(),
                })
                .collect(),
            next_page_token: page.next_token.unwrap_or_default(),
        }))
    }

    #[instrument(skip_all, fields(method = "RouteQuestion", question = tracing::field::Empty))]
    async fn route_question(
        &self,
        request: tonic::Request<proto::RouteQuestionRequest>,
    ) -> Reply<proto::Question> {
        let r = request.get_ref();
        self.act(r, || {
            Ok(Lifecycle::Route {
                category: convert::category("category", r.category)?,
                provider: match r.provider_id.trim() {
                    "" => None,
                    p => Some(ProviderId::parse(p).map_err(|e| bad("provider_id", e.to_string()))?),
                },
                expert: match r.expert_id.trim() {
                    "" => None,
                    e => Some(ExpertId::parse(e).map_err(|e| bad("expert_id", e.to_string()))?),
                },
            })
        })
        .await
    }

    #[instrument(skip_all, fields(method = "RejectQuestion", question = tracing::field::Empty))]
    async fn reject_question(
        &self,
        request: tonic::Request<proto::RejectQuestionRequest>,
    ) -> Reply<proto::Question> {
        let r = request.get_ref();
        self.act(r, || Ok(Lifecycle::Reject)).await
    }

    #[instrument(skip_all, fields(method = "MarkDuplicate", question = tracing::field::Empty))]
    async fn mark_duplicate(
        &self,
        request: tonic::Request<proto::MarkDuplicateRequest>,
    ) -> Reply<proto::Question> {
        let r = request.get_ref();
        self.act(r, || {
            Ok(Lifecycle::MarkDuplicate(convert::question_id(
                "original_id",
                &r.original_id,
            )?))
        })
        .await
    }
}
