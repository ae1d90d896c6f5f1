//! The one place where failures become gRPC statuses.

use super::convert::BadRequest;
use crate::service::ServiceError;
use crate::store::StoreError;
use tonic::{Code, Status};

/// The status of a failed service call. Client mistakes are logged at
/// info, server failures at error.
pub fn from_service(e: ServiceError) -> Status {
    let code = match &e {
        ServiceError::Input(_) | ServiceError::Invalid(_) | ServiceError::Provider(_) => {
            Code::InvalidArgument
        }
        ServiceError::NotFound { .. } => Code::NotFound,
        ServiceError::AlreadyExists { .. } => Code::AlreadyExists,
        ServiceError::Index(_) => Code::FailedPrecondition,
        ServiceError::Internal { .. } => Code::Internal,
        ServiceError::Store(s) => match s {
            StoreError::NotFound(_) => Code::NotFound,
            StoreError::IllegalTransition { .. } | StoreError::NotAnswered { .. } => {
                Code::FailedPrecondition
            }
            StoreError::Stale { .. } => Code::Aborted,
            StoreError::Invalid(_) | StoreError::BadPageToken => Code::InvalidArgument,
            StoreError::Locked { .. } | StoreError::Format { .. } => Code::FailedPrecondition,
            StoreError::Corrupt { .. } => Code::DataLoss,
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

/// The status of a request that does not parse.
pub fn from_bad_request(e: BadRequest) -> Status {
    tracing::info!(code = ?Code::InvalidArgument, "refused: {e}");
    Status::invalid_argument(e.to_string())
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
