//! The gRPC edge: the generated `kicer.v1` code, parsing requests into
//! domain values, the four services, and the server that puts them on one
//! port with health checking, reflection and gRPC-Web.
//!
//! Only this module touches generated types and `tonic::Status`: handlers
//! parse at the edge (`convert`), call the [`Service`] on a blocking thread
//! (`status::blocking`) and map its errors in one place (`status`).

pub(crate) mod convert;
mod directory;
mod insights;
mod questions;
mod status;
mod triage;
mod watch;

/// Code generated from `proto/kicer/v1/*.proto`.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod proto {
    tonic::include_proto!("kicer.v1");

    /// Encoded descriptor set of the API, served by reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/kicer_descriptor.bin"));
}

pub use directory::MAX_IMPORT;

use crate::service::Service;
use crate::store::StoreError;
use proto::directory_service_server::DirectoryServiceServer;
use proto::insights_service_server::InsightsServiceServer;
use proto::question_service_server::QuestionServiceServer;
use proto::triage_service_server::TriageServiceServer;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// Largest request message the server decodes (bigger ones get
/// OUT_OF_RANGE); answers of 100,000 characters and expert imports of a
/// few thousand records fit.
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

/// How the server behaves at its edges.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// After the shutdown signal, how long in-flight requests may take
    /// before the remaining connections are dropped.
    pub drain_timeout: Duration,
    /// Foreign origins allowed to call through gRPC-Web from a browser;
    /// empty allows none (a page served from the same origin needs no
    /// entry). Otherwise any web page a core-team member opens could call
    /// the API of a server their browser can reach.
    pub cors_origins: Vec<String>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            drain_timeout: Duration::from_secs(10),
            cors_origins: Vec::new(),
        }
    }
}

/// Why the server could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Reflection could not load the descriptor set (a build problem).
    #[error("server reflection cannot be set up: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// The transport failed.
    #[error("the gRPC server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// A CORS origin is not a valid header value.
    #[error("CORS origin `{0}` is not valid: give origins like https://dashboard.example.nl")]
    Origin(String),
    /// The final flush failed.
    #[error("flushing the store at shutdown failed: {0}")]
    Flush(#[from] StoreError),
}

/// The state every handler shares.
#[derive(Clone)]
struct Api {
    service: Arc<Service>,
    /// Becomes `true` when the server shuts down; ends event streams.
    shutdown: tokio::sync::watch::Receiver<bool>,
}

/// Serves the API on `listener` until `shutdown` completes, then lets
/// in-flight requests finish (at most `drain_timeout`), ends event streams
/// and flushes the store.
///
/// The listener is passed in, so tests bind port 0 and read the address.
pub async fn serve(
    listener: TcpListener,
    service: Arc<Service>,
    shutdown: impl Future<Output = ()> + Send + 'static,
    options: ServerOptions,
) -> Result<(), ServeError> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let api = Api {
        service: service.clone(),
        shutdown: stop_rx,
    };

    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<QuestionServiceServer<Api>>().await;
    health.set_serving::<TriageServiceServer<Api>>().await;
    health.set_serving::<DirectoryServiceServer<Api>>().await;
    health.set_serving::<InsightsServiceServer<Api>>().await;

    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    // grpcurl and buf speak v1; Python's grpcio-reflection only v1alpha.
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;

    let cors = cors_layer(&options.cors_origins)?;
    let (fired_tx, fired_rx) = tokio::sync::oneshot::channel::<()>();
    let signal = async move {
        shutdown.await;
        tracing::info!("shutting down: finishing requests in flight");
        health.set_not_serving::<QuestionServiceServer<Api>>().await;
        health.set_not_serving::<TriageServiceServer<Api>>().await;
        health
            .set_not_serving::<DirectoryServiceServer<Api>>()
            .await;
        health.set_not_serving::<InsightsServiceServer<Api>>().await;
        health
            .set_service_status("", tonic_health::ServingStatus::NotServing)
            .await;
        let _ = stop_tx.send(true);
        let _ = fired_tx.send(());
    };

    let server = tonic::transport::Server::builder()
        .accept_http1(true)
        .layer(cors)
        .layer(tonic_web::GrpcWebLayer::new())
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(
            QuestionServiceServer::new(api.clone()).max_decoding_message_size(MAX_MESSAGE_BYTES),
        )
        .add_service(
            TriageServiceServer::new(api.clone()).max_decoding_message_size(MAX_MESSAGE_BYTES),
        )
        .add_service(
            DirectoryServiceServer::new(api.clone()).max_decoding_message_size(MAX_MESSAGE_BYTES),
        )
        .add_service(InsightsServiceServer::new(api).max_decoding_message_size(MAX_MESSAGE_BYTES))
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), signal);

    // Open streams of other services (health Watch) would keep a graceful
    // shutdown waiting forever (hyper #4170): give the drain a deadline.
    let deadline = async {
        if fired_rx.await.is_err() {
            std::future::pending::<()>().await;
        }
        tokio::time::sleep(options.drain_timeout).await;
    };
    let served = tokio::select! {
        result = server => result,
        () = deadline => {
            tracing::warn!(
                "requests still open {:?} after the shutdown signal; closing their connections",
                options.drain_timeout
            );
            Ok(())
        }
    };
    // Flush even when the transport failed: what was written stays.
    let store = service.store().clone();
    tokio::task::spawn_blocking(move || store.flush())
        .await
        .map_err(|e| {
            StoreError::io("the final flush did not finish", std::io::Error::other(e))
        })??;
    tracing::info!("store flushed; stopped");
    served?;
    Ok(())
}

fn cors_layer(origins: &[String]) -> Result<CorsLayer, ServeError> {
    use tower_http::cors::AllowHeaders;
    // An empty list matches no origin, also not `null`: no CORS headers
    // are sent and browsers keep foreign pages out.
    let values = origins
        .iter()
        .map(|o| o.parse().map_err(|_| ServeError::Origin(o.clone())))
        .collect::<Result<Vec<http::HeaderValue>, _>>()?;
    let allow = AllowOrigin::list(values);
    Ok(CorsLayer::new()
        .allow_origin(allow)
        .allow_headers(AllowHeaders::any())
        .allow_methods([http::Method::POST, http::Method::OPTIONS])
        .expose_headers([
            http::HeaderName::from_static("grpc-status"),
            http::HeaderName::from_static("grpc-message"),
            http::HeaderName::from_static("grpc-status-details-bin"),
        ])
        .max_age(Duration::from_secs(24 * 60 * 60)))
}
