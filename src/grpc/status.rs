//! The one place where failures become gRPC statuses.

use super::convert::BadRequest;
use crate::service::ServiceError;
use crate::store::StoreError;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use tonic::codegen::Service;
use tonic::{Code, Status};

/// How prost's decode errors begin (`prost::DecodeError`'s `Display`);
/// tonic's codec answers them INTERNAL.
const DECODE_ERROR: &str = "failed to decode Protobuf message: ";

/// The status of a failed service call. Client mistakes are logged at
/// info, server failures at error.
pub fn from_service(e: ServiceError) -> Status {
    let code = match &e {
        ServiceError::Input(_) | ServiceError::Invalid(_) | ServiceError::Provider(_) => {
            Code::InvalidArgument
        }
        ServiceError::NotFound { .. } => Code::NotFound,
        ServiceError::AlreadyExists { .. } => Code::AlreadyExists,
        ServiceError::Index(_) | ServiceError::Busy(_) => Code::FailedPrecondition,
        ServiceError::Internal { .. } => Code::Internal,
        ServiceError::Store(s) => match s {
            StoreError::NotFound(_) => Code::NotFound,
            StoreError::IllegalTransition { .. } | StoreError::NotAnswered { .. } => {
                Code::FailedPrecondition
            }
            StoreError::Stale { .. } => Code::Aborted,
            StoreError::Invalid(_) | StoreError::BadPageToken => Code::InvalidArgument,
            StoreError::Locked { .. } | StoreError::Format { .. } => Code::FailedPrecondition,
            StoreError::Corrupt { .. } | StoreError::Damaged { .. } => Code::DataLoss,
            StoreError::Io { .. } => Code::Unavailable,
            StoreError::Encode { .. } => Code::Internal,
        },
    };
    let message = e.to_string();
    match code {
        Code::DataLoss | Code::Unavailable | Code::Internal => {
            tracing::error!(code = ?code, "{message}");
        }
        _ => tracing::info!(code = ?code, "refused: {message}"),
    }
    Status::new(code, message)
}

/// A refusal of the client's request, logged at info like every other.
pub fn refused(code: Code, message: String) -> Status {
    tracing::info!(code = ?code, "refused: {message}");
    Status::new(code, message)
}

/// The status of a request that does not parse.
pub fn from_bad_request(e: BadRequest) -> Status {
    refused(Code::InvalidArgument, e.to_string())
}

/// The status a request that does not decode should get: tonic answers a
/// malformed message (bad wire format, a string that is not UTF-8)
/// INTERNAL, which tells the client the server failed; it is the
/// client's mistake, so INVALID_ARGUMENT, logged like other refusals.
///
/// Told apart by prost's message: only the codec produces it (the
/// server decodes no protobuf of its own), and checking the bytes here
/// would decode every request twice. `None` for every other status, so
/// real internal errors stay INTERNAL.
pub fn from_decode_error(status: &Status, method: &str) -> Option<Status> {
    let detail = status.message().strip_prefix(DECODE_ERROR)?;
    if status.code() != Code::Internal {
        return None;
    }
    let message = format!(
        "the request is not a valid protobuf message of {method} ({detail}): \
         send the message its .proto defines, with strings in UTF-8"
    );
    Some(refused(Code::InvalidArgument, message))
}

/// Applies [`from_decode_error`] to every response.
#[derive(Debug, Clone, Copy, Default)]
pub struct DecodeErrorLayer;

impl<S> tower_layer::Layer<S> for DecodeErrorLayer {
    type Service = DecodeErrors<S>;

    fn layer(&self, inner: S) -> DecodeErrors<S> {
        DecodeErrors { inner }
    }
}

/// The service of [`DecodeErrorLayer`].
#[derive(Debug, Clone)]
pub struct DecodeErrors<S> {
    inner: S,
}

impl<S, B, R> Service<http::Request<B>> for DecodeErrors<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let method = request.uri().path().to_string();
        let response = self.inner.call(request);
        Box::pin(async move {
            let mut response = response.await?;
            // A decode error ends the call before any message: it is in
            // the headers (a trailers-only response), never in trailers.
            let mapped = Status::from_header_map(response.headers())
                .and_then(|status| from_decode_error(&status, &method));
            if let Some(status) = mapped {
                if status.add_header(response.headers_mut()).is_err() {
                    tracing::error!("the INVALID_ARGUMENT status could not be written");
                }
            }
            Ok(response)
        })
    }
}

impl From<BadRequest> for Status {
    fn from(e: BadRequest) -> Status {
        from_bad_request(e)
    }
}

impl From<ServiceError> for Status {
    fn from(e: ServiceError) -> Status {
        from_service(e)
    }
}

/// Runs blocking service work (store writes wait for an fsync) off the
/// async workers.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ServiceError> + Send + 'static,
) -> Result<T, Status> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result.map_err(from_service),
        Err(e) => {
            tracing::error!("a request handler failed: {e}");
            Err(Status::internal(
                "the server failed while handling this request; it has been logged",
            ))
        }
    }
}

/// Runs service work that is usually short (a similar-question search on
/// a store that is not large): on the request's own async worker when
/// `short`, otherwise on the blocking pool like [`blocking`]. Handing work
/// to a blocking thread and back costs two thread wake-ups, more CPU than
/// a search of a store of 10,000 questions; ClassifyQuestion at 64 clients
/// did about 40 % more calls a second inline (docs/benchmarks.md).
pub async fn short_or_blocking<T: Send + 'static>(
    short: bool,
    work: impl FnOnce() -> Result<T, ServiceError> + Send + 'static,
) -> Result<T, Status> {
    if short {
        work().map_err(from_service)
    } else {
        blocking(work).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ActionKind, IllegalTransition, Status as Lifecycle};
    use crate::store::QuestionId;

    #[test]
    fn lifecycle_refusals_map_to_the_codes_callers_expect() {
        let id = QuestionId::new(1);
        let illegal = ServiceError::Store(StoreError::IllegalTransition {
            id,
            source: IllegalTransition {
                current: Lifecycle::Triage,
                action: ActionKind::Accept,
                allowed: vec![ActionKind::Route],
            },
        });
        let s = from_service(illegal);
        assert_eq!(s.code(), Code::FailedPrecondition);
        assert!(s.message().contains("TRIAGE"), "{}", s.message());
        let stale = ServiceError::Store(StoreError::Stale {
            id,
            expected: 1,
            current: 2,
        });
        assert_eq!(from_service(stale).code(), Code::Aborted);
        assert_eq!(
            from_service(ServiceError::Store(StoreError::NotFound(id))).code(),
            Code::NotFound
        );
        assert_eq!(
            from_service(ServiceError::Store(StoreError::BadPageToken)).code(),
            Code::InvalidArgument
        );
    }

    #[test]
    fn a_failure_inside_the_server_is_internal_and_says_what_failed() {
        let s = from_service(ServiceError::Internal {
            what: "serialise the learned model",
            reason: "key must be a string".into(),
        });
        assert_eq!(s.code(), Code::Internal);
        assert!(s.message().contains("learned model"), "{}", s.message());
    }
}
