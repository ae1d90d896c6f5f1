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

/// Default and largest page of the learned-terms listing.
const LEARNED_PAGE: (usize, usize) = (100, 1_000);

fn learned_term(t: &crate::learn::LearnedTerm) -> proto::LearnedTerm {
    use crate::learn::Target;
    proto::LearnedTerm {
        stem: t.stem.clone(),
        word: t.word.clone(),
        questions: t.questions,
        weights: t
            .weights
            .iter()
            .map(|w| {
                let (kind, id) = match &w.target {
                    Target::Category(c) => ("CATEGORY", c.to_string()),
                    Target::Provider(p) => ("PROVIDER", p.to_string()),
                    Target::Expert(e) => ("EXPERT", e.to_string()),
                };
                proto::LearnedWeight {
                    target_kind: kind.into(),
                    target_id: id,
                    weight: w.weight,
                    decisions: w.corrections,
                }
            })
            .collect(),
    }
}

#[tonic::async_trait]
impl TriageService for Api {
    #[instrument(skip_all, fields(method = "ListLearnedTerms"))]
    async fn list_learned_terms(
        &self,
        request: tonic::Request<proto::ListLearnedTermsRequest>,
    ) -> Reply<proto::ListLearnedTermsResponse> {
        let r = request.into_inner();
        let size = convert::page_size(r.page_size, LEARNED_PAGE.0, LEARNED_PAGE.1)?;
        let start = match r.page_token.trim() {
            "" => 0,
            t => t
                .strip_prefix('l')
                .and_then(|n| n.parse::<usize>().ok())
                .ok_or_else(|| {
                    bad(
                        "page_token",
                        "is not a token of this listing: start again without a page token",
                    )
                })?,
        };
        let term = r.term.trim();
        let all = self
            .service
            .learned_terms((!term.is_empty()).then_some(term));
        let end = (start + size).min(all.len());
        Ok(Response::new(proto::ListLearnedTermsResponse {
            terms: all
                .get(start..end)
                .unwrap_or_default()
                .iter()
                .map(learned_term)
                .collect(),
            next_page_token: if end < all.len() {
                format!("l{end}")
            } else {
                String::new()
            },
            index_version: self.service.engine().index().version(),
        }))
    }

    #[instrument(skip_all, fields(method = "ResetLearnedTerms"))]
    async fn reset_learned_terms(
        &self,
        request: tonic::Request<proto::ResetLearnedTermsRequest>,
    ) -> Reply<proto::ResetLearnedTermsResponse> {
        let r = request.into_inner();
        let term = match (r.term.trim(), r.all) {
            ("", false) => {
                return Err(bad(
                    "term",
                    "is empty: name the term to forget, or set all to forget everything",
                )
                .into())
            }
            ("", true) => None,
            (t, false) => Some(t.to_string()),
            (_, true) => return Err(bad("all", "give either a term or all, not both").into()),
        };
        let service = self.service.clone();
        let index_version = blocking(move || service.reset_learned(term.as_deref())).await?;
        tracing::info!(index_version, "learned terms reset");
        Ok(Response::new(proto::ResetLearnedTermsResponse {
            index_version,
        }))
    }

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
                    cause: convert::triage_cause_to_proto(&e.question),
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
        self.act(&request, || {
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
        self.act(&request, || Ok(Lifecycle::Reject)).await
    }

    #[instrument(skip_all, fields(method = "MarkDuplicate", question = tracing::field::Empty))]
    async fn mark_duplicate(
        &self,
        request: tonic::Request<proto::MarkDuplicateRequest>,
    ) -> Reply<proto::Question> {
        let r = request.get_ref();
        self.act(&request, || {
            Ok(Lifecycle::MarkDuplicate(convert::question_id(
                "original_id",
                &r.original_id,
            )?))
        })
        .await
    }
}
