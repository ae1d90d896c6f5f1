//! Access control at the edge: who is calling (the bearer token), whether
//! their role may call the method (the role table), how often (the rate
//! limit), and, inside the handlers, which questions a portal may see
//! ([`Caller`]).
//!
//! [`AccessLayer`] runs before any handler: an unknown caller or a role
//! without the right is answered here and no handler sees the request.
//! The health service answers everyone, because Kubernetes' gRPC probes
//! cannot send a token; reflection needs a token of any role. With no
//! client configured the layer lets every call through: `config` allows
//! that on loopback addresses only (or with `--insecure`).
//!
//! The table is [`ROLES`]; `docs/api.md` shows the same table and a test
//! in `tests/access.rs` reads it there and calls every method with every
//! role, so the two cannot drift apart.

use super::status::{from_service, refused};
use crate::auth::{Principal, Registry, Role};
use crate::service::{ServiceError, Similar};
use crate::store::{Actor, Question, QuestionBrief, StoreError};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tonic::codegen::Service;
use tonic::{Code, Status};

use Role::{Admin as A, Dashboard as D, Portal as P, Triage as T};

/// Every method of `kicer.v1` and the roles that may call it. A method
/// missing here is answered UNIMPLEMENTED for every client (a unit test
/// checks that every method of the descriptor set is listed).
///
/// Decided as a data-protection officer would: a portal sees and acts on
/// its own questions only (as the asker: resume, close, reopen) and reads
/// the providers (organisations, public); expert records hold personal
/// data and stay with the core team; a dashboard gets aggregates and no
/// question text; what changes routing for everyone (providers, imports,
/// resetting what was learned) is for admins.
pub const ROLES: &[(&str, &[Role])] = &[
    ("kicer.v1.QuestionService/SubmitQuestion", &[P, T, A]),
    ("kicer.v1.QuestionService/ClassifyQuestion", &[P, T, A]),
    ("kicer.v1.QuestionService/FindSimilarQuestions", &[P, T, A]),
    ("kicer.v1.QuestionService/GetQuestion", &[P, T, A]),
    ("kicer.v1.QuestionService/ListQuestions", &[P, T, A]),
    ("kicer.v1.QuestionService/GetQuestionHistory", &[P, T, A]),
    ("kicer.v1.QuestionService/AcceptQuestion", &[T, A]),
    ("kicer.v1.QuestionService/DeclineQuestion", &[T, A]),
    ("kicer.v1.QuestionService/WaitForAsker", &[T, A]),
    ("kicer.v1.QuestionService/ResumeQuestion", &[P, T, A]),
    ("kicer.v1.QuestionService/AnswerQuestion", &[T, A]),
    ("kicer.v1.QuestionService/ListDueForReview", &[T, A]),
    ("kicer.v1.QuestionService/ReviewAnswer", &[T, A]),
    ("kicer.v1.QuestionService/CloseQuestion", &[P, T, A]),
    ("kicer.v1.QuestionService/ReopenQuestion", &[P, T, A]),
    ("kicer.v1.QuestionService/WatchEvents", &[P, T, A]),
    ("kicer.v1.TriageService/ListQueue", &[T, A]),
    ("kicer.v1.TriageService/RouteQuestion", &[T, A]),
    ("kicer.v1.TriageService/RejectQuestion", &[T, A]),
    ("kicer.v1.TriageService/MarkDuplicate", &[T, A]),
    ("kicer.v1.TriageService/ListLearnedTerms", &[T, A]),
    ("kicer.v1.TriageService/ResetLearnedTerms", &[A]),
    ("kicer.v1.DirectoryService/CreateProvider", &[A]),
    ("kicer.v1.DirectoryService/UpdateProvider", &[A]),
    ("kicer.v1.DirectoryService/GetProvider", &[P, T, D, A]),
    ("kicer.v1.DirectoryService/ListProviders", &[P, T, D, A]),
    ("kicer.v1.DirectoryService/DeleteProvider", &[A]),
    ("kicer.v1.DirectoryService/CreateExpert", &[T, A]),
    ("kicer.v1.DirectoryService/UpdateExpert", &[T, A]),
    ("kicer.v1.DirectoryService/GetExpert", &[T, A]),
    ("kicer.v1.DirectoryService/ListExperts", &[T, A]),
    ("kicer.v1.DirectoryService/DeleteExpert", &[T, A]),
    ("kicer.v1.DirectoryService/ImportExperts", &[A]),
    ("kicer.v1.DirectoryService/SetExpertAvailability", &[T, A]),
    ("kicer.v1.InsightsService/GetLeadTimes", &[T, D, A]),
    ("kicer.v1.InsightsService/GetQueueStats", &[T, D, A]),
    ("kicer.v1.InsightsService/GetKnowledgeGaps", &[T, D, A]),
    ("kicer.v1.AdminService/Backup", &[A]),
];

/// Answers every client, with or without a token.
const OPEN: &str = "/grpc.health.v1.Health/";
/// Reflection: any known client.
const ANY_CLIENT: [&str; 2] = [
    "/grpc.reflection.v1.ServerReflection/",
    "/grpc.reflection.v1alpha.ServerReflection/",
];

/// The roles that may call a method (`/package.Service/Method`).
pub fn roles_for(path: &str) -> Option<&'static [Role]> {
    let method = path.strip_prefix('/')?;
    ROLES
        .iter()
        .find(|(m, _)| *m == method)
        .map(|(_, roles)| *roles)
}

/// The layer that authenticates callers and checks their role and rate.
#[derive(Debug, Clone)]
pub struct AccessLayer {
    registry: Arc<Registry>,
}

impl AccessLayer {
    /// Checks calls against the clients in `registry` (read on every
    /// call, so a reload takes effect at the next one).
    pub fn new(registry: Arc<Registry>) -> Self {
        AccessLayer { registry }
    }
}

impl<S> tower_layer::Layer<S> for AccessLayer {
    type Service = AccessCheck<S>;

    fn layer(&self, inner: S) -> AccessCheck<S> {
        AccessCheck {
            inner,
            registry: self.registry.clone(),
        }
    }
}

/// The service of [`AccessLayer`].
#[derive(Debug, Clone)]
pub struct AccessCheck<S> {
    inner: S,
    registry: Arc<Registry>,
}

impl<S, B, R> Service<http::Request<B>> for AccessCheck<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    R: Default + Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        match admit(&self.registry, &request) {
            Ok(Some(principal)) => {
                request.extensions_mut().insert(principal);
            }
            Ok(None) => {}
            Err(refusal) => {
                let response = refusal.into_response();
                return Box::pin(async move { Ok(response) });
            }
        }
        let response = self.inner.call(request);
        Box::pin(response)
    }
}

/// Why a call is not let through.
enum Refusal {
    /// UNAUTHENTICATED, PERMISSION_DENIED or UNIMPLEMENTED.
    Status(Status),
    /// RESOURCE_EXHAUSTED with a retry hint in milliseconds.
    Rate(Status, u64),
}

impl Refusal {
    fn into_response<R: Default>(self) -> http::Response<R> {
        match self {
            Refusal::Status(s) => s.into_http(),
            Refusal::Rate(s, retry_ms) => {
                let mut response = s.into_http::<R>();
                response
                    .headers_mut()
                    .insert("grpc-retry-pushback-ms", http::HeaderValue::from(retry_ms));
                response
            }
        }
    }
}

/// The caller of `request` when it may go on (`None` on an open server or
/// for the health service), or the refusal.
fn admit<B>(registry: &Registry, request: &http::Request<B>) -> Result<Option<Principal>, Refusal> {
    let path = request.uri().path();
    if path.starts_with(OPEN) {
        return Ok(None);
    }
    let access = registry.load();
    if access.clients.is_empty() {
        return Ok(None);
    }
    let principal = match bearer(request.headers()) {
        Bearer::Missing => {
            return Err(Refusal::Status(refused(
                Code::Unauthenticated,
                "this server admits configured clients only: send the metadata \
                 `authorization: Bearer <token>` (the CLI's --token or KICER_TOKEN); an operator \
                 makes a token with `kicer token create`"
                    .into(),
            )))
        }
        Bearer::Malformed => {
            return Err(Refusal::Status(refused(
                Code::Unauthenticated,
                "the authorization metadata must read `Bearer <token>`".into(),
            )))
        }
        Bearer::Token(token) => match access.clients.authenticate(token) {
            Some(p) => p,
            None => {
                return Err(Refusal::Status(refused(
                    Code::Unauthenticated,
                    "this bearer token is not one the server knows (mistyped, revoked or \
                     replaced in a rotation): ask the operator for a current one"
                        .into(),
                )))
            }
        },
    };
    if !ANY_CLIENT.iter().any(|p| path.starts_with(p)) {
        let method = path.rsplit('/').next().unwrap_or(path);
        match roles_for(path) {
            Some(roles) if roles.contains(&principal.role()) => {}
            Some(_) => {
                return Err(Refusal::Status(refused(
                    Code::PermissionDenied,
                    format!(
                        "client `{}` has role {} and may not call {method}: the roles of every \
                         method are listed in docs/api.md",
                        principal.name(),
                        principal.role()
                    ),
                )))
            }
            None => {
                return Err(Refusal::Status(refused(
                    Code::Unimplemented,
                    format!(
                        "this server has no method {}",
                        crate::domain::input::quoted(path)
                    ),
                )))
            }
        }
    }
    if let Err(limited) = access.rates.check(&principal) {
        let retry_ms = limited.retry_after.as_millis().max(1) as u64;
        tracing::warn!(
            client = principal.name(),
            per_second = limited.per_second,
            "refused a call over the client's rate limit"
        );
        return Err(Refusal::Rate(
            Status::resource_exhausted(format!(
                "client `{}` may make {} calls a second (role {}): retry after {retry_ms} ms",
                principal.name(),
                limited.per_second,
                principal.role()
            )),
            retry_ms,
        ));
    }
    Ok(Some(principal))
}

/// The token a request presents.
enum Bearer<'a> {
    Missing,
    Malformed,
    Token(&'a str),
}

fn bearer(headers: &http::HeaderMap) -> Bearer<'_> {
    let Some(value) = headers.get(http::header::AUTHORIZATION) else {
        return Bearer::Missing;
    };
    let Ok(text) = value.to_str() else {
        return Bearer::Malformed;
    };
    match text.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Bearer::Token(token.trim())
        }
        _ => Bearer::Malformed,
    }
}

/// Who is calling, as the handlers need it: the authenticated client, or
/// nobody in particular on a server without clients.
#[derive(Debug, Clone, Default)]
pub struct Caller(Option<Principal>);

impl Caller {
    /// The caller of a request (put there by [`AccessLayer`]).
    pub fn of<T>(request: &tonic::Request<T>) -> Caller {
        Caller(request.extensions().get::<Principal>().cloned())
    }

    /// Who a change is recorded as: the client's name, with what the
    /// request said (`actor`) beside it. Without clients the request's
    /// word is all there is.
    pub fn actor(&self, said: Option<String>) -> Actor {
        match &self.0 {
            Some(p) => Actor {
                name: p.name().to_string(),
                on_behalf_of: said,
            },
            None => said.map_or_else(Actor::default, Actor::from),
        }
    }

    /// The client's name, for per-client limits.
    pub fn name(&self) -> Option<&str> {
        self.0.as_ref().map(Principal::name)
    }

    /// The portal whose questions are all this caller may see; `None`
    /// for every other caller.
    pub fn portal(&self) -> Option<&str> {
        self.0
            .as_ref()
            .filter(|p| p.role() == Role::Portal)
            .map(Principal::name)
    }

    /// Whether the caller is a dashboard (aggregates only).
    pub fn is_dashboard(&self) -> bool {
        self.0.as_ref().is_some_and(|p| p.role() == Role::Dashboard)
    }

    /// Whether the caller may see `q`.
    pub fn sees(&self, q: &Question) -> bool {
        self.sees_portal(&q.portal)
    }

    /// Whether the caller may see the questions of `portal`.
    fn sees_portal(&self, portal: &str) -> bool {
        self.portal().is_none_or(|p| p == portal)
    }

    /// `q` when the caller may see it; otherwise exactly the answer for a
    /// question that does not exist, so a portal cannot learn that
    /// another portal's question does.
    pub fn own(&self, q: Question) -> Result<Question, Status> {
        if self.sees(&q) {
            Ok(q)
        } else {
            Err(from_service(ServiceError::Store(StoreError::NotFound(
                q.id,
            ))))
        }
    }

    /// The similar questions this caller may see: a portal sees its own,
    /// and other portals' only once answered (text and answer; the
    /// similar-question message carries no organisation).
    pub fn similar(&self, found: Vec<Similar>) -> Vec<Similar> {
        found
            .into_iter()
            .filter(|s| self.sees_portal(&s.question.portal) || answered(&s.question))
            .collect()
    }
}

fn answered(q: &QuestionBrief) -> bool {
    use crate::domain::Status;
    q.answer.is_some() && matches!(q.status, Status::Answered | Status::Closed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn every_method_of_the_api_is_in_the_role_table() {
        let set = prost_types::FileDescriptorSet::decode(super::super::proto::FILE_DESCRIPTOR_SET)
            .unwrap();
        let mut methods = Vec::new();
        for file in set.file.iter().filter(|f| f.package() == "kicer.v1") {
            for service in &file.service {
                for m in &service.method {
                    methods.push(format!("kicer.v1.{}/{}", service.name(), m.name()));
                }
            }
        }
        assert_eq!(methods.len(), ROLES.len(), "{methods:?}");
        for m in &methods {
            assert!(roles_for(&format!("/{m}")).is_some(), "{m} has no roles");
        }
    }

    #[test]
    fn admins_may_call_everything() {
        assert!(ROLES.iter().all(|(_, roles)| roles.contains(&Role::Admin)));
    }

    #[test]
    fn a_bearer_token_is_read_from_the_authorization_metadata() {
        let mut h = http::HeaderMap::new();
        assert!(matches!(bearer(&h), Bearer::Missing));
        h.insert("authorization", "Bearer abc".parse().unwrap());
        assert!(matches!(bearer(&h), Bearer::Token("abc")));
        h.insert("authorization", "bearer  abc ".parse().unwrap());
        assert!(matches!(bearer(&h), Bearer::Token("abc")));
        h.insert("authorization", "Basic abc".parse().unwrap());
        assert!(matches!(bearer(&h), Bearer::Malformed));
        h.insert("authorization", "Bearer ".parse().unwrap());
        assert!(matches!(bearer(&h), Bearer::Malformed));
    }
}
