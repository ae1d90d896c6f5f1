//! `kicer.v1.QuestionService`.

use super::access::Caller;
use super::convert::{self, bad};
use super::proto;
use super::proto::question_service_server::QuestionService;
use super::status::{blocking, short_or_blocking};
use super::Api;
use crate::domain::input::{AnswerText, OrganizationName, QuestionText, Reason, RequestId};
use crate::service::{EventFilter, Lifecycle, Request, Submission};
use crate::store::{Assignee, ListFilter, PageRequest, QuestionId};
use std::pin::Pin;
use tokio_stream::Stream;
use tonic::{Response, Status};
use tracing::{instrument, Span};

type Reply<T> = Result<Response<T>, Status>;

/// The part every lifecycle request shares.
pub(super) struct Common<'a> {
    id: &'a str,
    etag: &'a str,
    reason: &'a str,
    actor: &'a str,
}

/// Requests that carry the common lifecycle fields.
pub(super) trait LifecycleFields {
    /// Those fields.
    fn common(&self) -> Common<'_>;
}

macro_rules! lifecycle_fields {
    ($($request:ty),+) => {$(
        impl LifecycleFields for $request {
            fn common(&self) -> Common<'_> {
                Common { id: &self.id, etag: &self.etag, reason: &self.reason, actor: &self.actor }
            }
        }
    )+};
}

/// An answer has no reason field: the answer says it all.
impl LifecycleFields for proto::AnswerQuestionRequest {
    fn common(&self) -> Common<'_> {
        Common {
            id: &self.id,
            etag: &self.etag,
            reason: "",
            actor: &self.actor,
        }
    }
}

lifecycle_fields!(
    proto::ReviewAnswerRequest,
    proto::AcceptQuestionRequest,
    proto::DeclineQuestionRequest,
    proto::WaitForAskerRequest,
    proto::ResumeQuestionRequest,
    proto::CloseQuestionRequest,
    proto::ReopenQuestionRequest,
    proto::RejectQuestionRequest,
    proto::RouteQuestionRequest,
    proto::MarkDuplicateRequest
);

impl Common<'_> {
    /// The question id and who asks for what, why and on which version.
    fn parse(&self, caller: &Caller) -> Result<(QuestionId, Request), Status> {
        let id = convert::question_id("id", self.id)?;
        Span::current().record("question", tracing::field::display(id));
        let reason = match self.reason.trim() {
            "" => None,
            r => Some(Reason::parse(r).map_err(convert::BadRequest::from)?),
        };
        Ok((
            id,
            Request {
                actor: caller.actor(convert::short("actor", self.actor)?),
                reason,
                expected_version: convert::etag(self.etag)?,
            },
        ))
    }
}

impl Api {
    /// Parses a lifecycle request, applies it and returns the question. A
    /// portal acts on its own questions only.
    pub(super) async fn act<T: LifecycleFields>(
        &self,
        request: &tonic::Request<T>,
        action: impl FnOnce() -> Result<Lifecycle, Status>,
    ) -> Reply<proto::Question> {
        let caller = Caller::of(request);
        let (id, change) = request.get_ref().common().parse(&caller)?;
        let action = action()?;
        if caller.portal().is_some() {
            // The portal of a question never changes, so checking before
            // the change cannot race with it.
            self.visible(&caller, id).await?;
        }
        let service = self.service.clone();
        let q = blocking(move || service.act(id, action, change)).await?;
        Ok(Response::new(self.question(&q)))
    }

    /// Question `id` when `caller` may see it; NOT_FOUND, as for a
    /// question that does not exist, when not.
    pub(super) async fn visible(
        &self,
        caller: &Caller,
        id: QuestionId,
    ) -> Result<crate::store::Question, Status> {
        let service = self.service.clone();
        let q = blocking(move || service.get(id)).await?;
        caller.own(q)
    }

    pub(super) fn question(&self, q: &crate::store::Question) -> proto::Question {
        convert::question(q, None, &self.service.engine().taxonomy())
    }
}

#[tonic::async_trait]
impl QuestionService for Api {
    #[instrument(skip_all, fields(method = "SubmitQuestion", question = tracing::field::Empty))]
    async fn submit_question(
        &self,
        request: tonic::Request<proto::SubmitQuestionRequest>,
    ) -> Reply<proto::Question> {
        let caller = Caller::of(&request);
        let r = request.into_inner();
        let portal = convert::short("portal", &r.portal)?;
        // A portal's questions are marked with its client name: that is
        // what keeps other portals out of them.
        let portal = match (caller.portal(), portal) {
            (Some(own), Some(said)) if said != own => {
                return Err(bad(
                    "portal",
                    format!("is set from your token (`{own}`): leave it empty"),
                )
                .into())
            }
            (Some(own), _) => Some(own.to_string()),
            (None, said) => said,
        };
        let submission = Submission {
            text: QuestionText::parse(&r.text).map_err(convert::BadRequest::from)?,
            organization_name: OrganizationName::parse(&r.organization_name)
                .map_err(convert::BadRequest::from)?,
            organization_type: convert::required_organization_type(r.organization_type)?,
            region: convert::region(&r.region)?,
            portal,
            request_id: match r.request_id.trim() {
                "" => None,
                rid => Some(RequestId::parse(rid).map_err(convert::BadRequest::from)?),
            },
            impact: convert::scale("impact", r.impact)?,
            effort: convert::scale("effort", r.effort)?,
            actor: caller.actor(convert::short("actor", &r.actor)?),
        };
        let service = self.service.clone();
        let outcome = blocking(move || service.submit(submission)).await?;
        Span::current().record("question", tracing::field::display(outcome.question.id));
        tracing::info!(
            created = outcome.created,
            status = %outcome.question.status,
            "question submitted"
        );
        let mut question = convert::question(
            &outcome.question,
            outcome.classification.as_ref(),
            &self.service.engine().taxonomy(),
        );
        question.similar = caller
            .similar(outcome.similar)
            .iter()
            .map(convert::similar)
            .collect();
        Ok(Response::new(question))
    }

    #[instrument(skip_all, fields(method = "ClassifyQuestion"))]
    async fn classify_question(
        &self,
        request: tonic::Request<proto::ClassifyQuestionRequest>,
    ) -> Reply<proto::Classification> {
        let caller = Caller::of(&request);
        let r = request.into_inner();
        let text = QuestionText::parse(&r.text).map_err(convert::BadRequest::from)?;
        let org = convert::organization_type("organization_type", r.organization_type)?;
        let region = convert::region(&r.region)?;
        let c = self.service.classify(&text, org, region);
        let mut out = convert::classification(&c);
        let service = self.service.clone();
        let similar = short_or_blocking(service.similar_search_is_short(), move || {
            service.similar_for(&text)
        })
        .await?;
        out.similar = caller
            .similar(similar)
            .iter()
            .map(convert::similar)
            .collect();
        Ok(Response::new(out))
    }

    #[instrument(skip_all, fields(method = "ListDueForReview"))]
    async fn list_due_for_review(
        &self,
        request: tonic::Request<proto::ListDueForReviewRequest>,
    ) -> Reply<proto::ListDueForReviewResponse> {
        let r = request.into_inner();
        let at = r
            .due_before
            .as_ref()
            .map(|t| convert::millis("due_before", t))
            .transpose()?;
        let page = page_request(r.page_size, &r.page_token)?;
        let service = self.service.clone();
        let page = blocking(move || service.due_for_review(at, &page)).await?;
        Ok(Response::new(proto::ListDueForReviewResponse {
            questions: page.items.iter().map(|q| self.question(q)).collect(),
            next_page_token: page.next_token.unwrap_or_default(),
        }))
    }

    #[instrument(skip_all, fields(method = "ReviewAnswer", question = tracing::field::Empty))]
    async fn review_answer(
        &self,
        request: tonic::Request<proto::ReviewAnswerRequest>,
    ) -> Reply<proto::Question> {
        let caller = Caller::of(&request);
        let r = request.into_inner();
        let (id, req) = r.common().parse(&caller)?;
        let replace = match r.answer.trim() {
            "" if !r.sources.is_empty() => {
                return Err(bad(
                    "sources",
                    "belong to a new answer: give the answer too, or leave both out to confirm",
                )
                .into())
            }
            "" => None,
            text => Some((
                AnswerText::parse(text).map_err(convert::BadRequest::from)?,
                convert::sources(&r.sources)?,
            )),
        };
        let review_after = r
            .review_after
            .as_ref()
            .map(|t| convert::millis("review_after", t))
            .transpose()?;
        let service = self.service.clone();
        let q = blocking(move || service.review_answer(id, replace, review_after, req)).await?;
        Ok(Response::new(self.question(&q)))
    }

    #[instrument(skip_all, fields(method = "FindSimilarQuestions", question = tracing::field::Empty))]
    async fn find_similar_questions(
        &self,
        request: tonic::Request<proto::FindSimilarQuestionsRequest>,
    ) -> Reply<proto::FindSimilarQuestionsResponse> {
        let caller = Caller::of(&request);
        let r = request.into_inner();
        let text = match r.text.trim() {
            "" => None,
            t => Some(QuestionText::parse(t).map_err(convert::BadRequest::from)?),
        };
        let like = match r.id.trim() {
            "" => None,
            id => {
                let id = convert::question_id("id", id)?;
                Span::current().record("question", tracing::field::display(id));
                if caller.portal().is_some() {
                    self.visible(&caller, id).await?;
                }
                Some(id)
            }
        };
        if text.is_none() && like.is_none() {
            return Err(bad(
                "text",
                "give the text of a question, or the id of a stored one",
            )
            .into());
        }
        let limit = convert::page_size(r.page_size, 10, 50)?;
        let service = self.service.clone();
        let found = if service.semantic_counts().is_none() {
            // Lexical only. By text it reads only listed briefs; by id it
            // reads the stored question first.
            let short = like.is_none() && service.similar_search_is_short();
            short_or_blocking(short, move || {
                service.find_similar(text.as_ref(), like, limit)
            })
            .await?
        } else {
            let mut query = blocking(move || service.similar_query(text.as_ref(), like)).await?;
            // The only wait on the embedding service, bounded by its
            // query_timeout_ms; without a vector the search is lexical.
            self.service.embed_query(&mut query).await;
            let service = self.service.clone();
            blocking(move || service.find_similar_by(&query, limit)).await?
        };
        Ok(Response::new(proto::FindSimilarQuestionsResponse {
            similar: caller.similar(found).iter().map(convert::similar).collect(),
        }))
    }

    #[instrument(skip_all, fields(method = "GetQuestion", question = tracing::field::Empty))]
    async fn get_question(
        &self,
        request: tonic::Request<proto::GetQuestionRequest>,
    ) -> Reply<proto::Question> {
        let id = convert::question_id("id", &request.get_ref().id)?;
        Span::current().record("question", tracing::field::display(id));
        let q = self.visible(&Caller::of(&request), id).await?;
        Ok(Response::new(self.question(&q)))
    }

    #[instrument(skip_all, fields(method = "ListQuestions"))]
    async fn list_questions(
        &self,
        request: tonic::Request<proto::ListQuestionsRequest>,
    ) -> Reply<proto::ListQuestionsResponse> {
        let caller = Caller::of(&request);
        let r = request.into_inner();
        let assignee = match (r.provider_id.trim(), r.expert_id.trim()) {
            ("", "") => None,
            (p, "") => Some(Assignee::Provider(
                crate::domain::ProviderId::parse(p)
                    .map_err(|e| bad("provider_id", e.to_string()))?,
            )),
            ("", e) => Some(Assignee::Expert(
                crate::domain::ExpertId::parse(e).map_err(|e| bad("expert_id", e.to_string()))?,
            )),
            _ => {
                return Err(bad(
                    "expert_id",
                    "filter by provider_id or by expert_id, not both",
                )
                .into())
            }
        };
        let filter = ListFilter {
            status: convert::status("status", r.status)?,
            category: convert::category("category", r.category)?,
            assignee,
            organization: convert::short("organization_name", &r.organization_name)?,
            organization_type: convert::organization_type(
                "organization_type",
                r.organization_type,
            )?,
            submitted_from_ms: r
                .submitted_after
                .as_ref()
                .map(|t| convert::millis("submitted_after", t))
                .transpose()?,
            submitted_to_ms: r
                .submitted_before
                .as_ref()
                .map(|t| convert::millis("submitted_before", t))
                .transpose()?,
            portal: caller.portal().map(str::to_string),
        };
        let page = page_request(r.page_size, &r.page_token)?;
        let service = self.service.clone();
        let page = blocking(move || service.list(&filter, &page)).await?;
        Ok(Response::new(proto::ListQuestionsResponse {
            questions: page.items.iter().map(|q| self.question(q)).collect(),
            next_page_token: page.next_token.unwrap_or_default(),
        }))
    }

    #[instrument(skip_all, fields(method = "GetQuestionHistory", question = tracing::field::Empty))]
    async fn get_question_history(
        &self,
        request: tonic::Request<proto::GetQuestionHistoryRequest>,
    ) -> Reply<proto::GetQuestionHistoryResponse> {
        let id = convert::question_id("id", &request.get_ref().id)?;
        Span::current().record("question", tracing::field::display(id));
        let caller = Caller::of(&request);
        if caller.portal().is_some() {
            self.visible(&caller, id).await?;
        }
        let service = self.service.clone();
        let events = blocking(move || service.history(id)).await?;
        Ok(Response::new(proto::GetQuestionHistoryResponse {
            events: events.iter().map(convert::history_event).collect(),
        }))
    }

    #[instrument(skip_all, fields(method = "AcceptQuestion", question = tracing::field::Empty))]
    async fn accept_question(
        &self,
        request: tonic::Request<proto::AcceptQuestionRequest>,
    ) -> Reply<proto::Question> {
        self.act(&request, || Ok(Lifecycle::Accept)).await
    }

    #[instrument(skip_all, fields(method = "DeclineQuestion", question = tracing::field::Empty))]
    async fn decline_question(
        &self,
        request: tonic::Request<proto::DeclineQuestionRequest>,
    ) -> Reply<proto::Question> {
        self.act(&request, || Ok(Lifecycle::Decline)).await
    }

    #[instrument(skip_all, fields(method = "WaitForAsker", question = tracing::field::Empty))]
    async fn wait_for_asker(
        &self,
        request: tonic::Request<proto::WaitForAskerRequest>,
    ) -> Reply<proto::Question> {
        self.act(&request, || Ok(Lifecycle::WaitForAsker)).await
    }

    #[instrument(skip_all, fields(method = "ResumeQuestion", question = tracing::field::Empty))]
    async fn resume_question(
        &self,
        request: tonic::Request<proto::ResumeQuestionRequest>,
    ) -> Reply<proto::Question> {
        self.act(&request, || Ok(Lifecycle::Resume)).await
    }

    #[instrument(skip_all, fields(method = "AnswerQuestion", question = tracing::field::Empty))]
    async fn answer_question(
        &self,
        request: tonic::Request<proto::AnswerQuestionRequest>,
    ) -> Reply<proto::Question> {
        let r = request.get_ref();
        self.act(&request, || {
            Ok(Lifecycle::Answer {
                text: AnswerText::parse(&r.answer).map_err(convert::BadRequest::from)?,
                sources: convert::sources(&r.sources)?,
                review_after_ms: r
                    .review_after
                    .as_ref()
                    .map(|t| convert::millis("review_after", t))
                    .transpose()?,
            })
        })
        .await
    }

    #[instrument(skip_all, fields(method = "CloseQuestion", question = tracing::field::Empty))]
    async fn close_question(
        &self,
        request: tonic::Request<proto::CloseQuestionRequest>,
    ) -> Reply<proto::Question> {
        self.act(&request, || Ok(Lifecycle::Close)).await
    }

    #[instrument(skip_all, fields(method = "ReopenQuestion", question = tracing::field::Empty))]
    async fn reopen_question(
        &self,
        request: tonic::Request<proto::ReopenQuestionRequest>,
    ) -> Reply<proto::Question> {
        self.act(&request, || Ok(Lifecycle::Reopen)).await
    }

    type WatchEventsStream =
        Pin<Box<dyn Stream<Item = Result<proto::QuestionEvent, Status>> + Send + 'static>>;

    #[instrument(skip_all, fields(method = "WatchEvents"))]
    async fn watch_events(
        &self,
        request: tonic::Request<proto::WatchEventsRequest>,
    ) -> Reply<Self::WatchEventsStream> {
        let caller = Caller::of(&request);
        let r = request.into_inner();
        let filter = EventFilter {
            question: match r.question_id.trim() {
                "" => None,
                id => Some(convert::question_id("question_id", id)?),
            },
            statuses: r
                .statuses
                .iter()
                .map(|s| {
                    convert::status("statuses", *s)?
                        .ok_or_else(|| bad("statuses", "contains STATUS_UNSPECIFIED: leave it out"))
                })
                .collect::<Result<_, _>>()?,
            category: convert::category("category", r.category)?,
            portal: caller.portal().map(str::to_string),
        };
        let place = self.watchers.join(caller.name())?;
        Ok(Response::new(super::watch::stream(
            self.service.subscribe(),
            filter,
            self.shutdown.clone(),
            place,
        )))
    }
}

/// A page request from the wire: size 0 = default, negative refused, large
/// clamped (AIP-158).
pub(super) fn page_request(size: i32, token: &str) -> Result<PageRequest, Status> {
    // The store applies the default and the maximum.
    let size = convert::page_size(size, 0, usize::MAX)?;
    Ok(PageRequest {
        size,
        token: match token.trim() {
            "" => None,
            t => Some(t.to_string()),
        },
    })
}
