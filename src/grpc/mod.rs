//! The gRPC edge: the generated `kicer.v1` code, parsing requests into
//! domain values, the five services, and the server that puts them on one
//! port with health checking, reflection, gRPC-Web and the core team's
//! triage page (`page`, the embedded `web/dist`).
//!
//! Only this module touches generated types and `tonic::Status`: handlers
//! parse at the edge (`convert`), call the [`Service`] on a blocking thread
//! (`status::blocking`; a similar-question search of a store that is not
//! large runs in place, `status::short_or_blocking`) and map its errors in
//! one place (`status`).

mod access;
mod admin;
mod conn;
pub(crate) mod convert;
mod directory;
mod insights;
mod limits;
mod load;
mod metrics;
mod page;
mod questions;
mod status;
pub mod tls;
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

pub use access::ROLES;
pub use conn::TCP_KEEPALIVE;
pub use directory::MAX_IMPORT;
pub use limits::{
    MAX_DESCRIPTION_CHARS, MAX_ITEM_CHARS, MAX_LIST, MAX_PROVIDERS, MAX_RECORD_BYTES, MAX_TERMS,
    MAX_TERM_CHARS,
};
pub use load::{MAX_IN_FLIGHT, MAX_WATCHERS, MAX_WATCHERS_PER_CLIENT};

use crate::auth::Registry;
use crate::service::Service;
use crate::store::StoreError;
use proto::admin_service_server::AdminServiceServer;
use proto::directory_service_server::DirectoryServiceServer;
use proto::insights_service_server::InsightsServiceServer;
use proto::question_service_server::QuestionServiceServer;
use proto::triage_service_server::TriageServiceServer;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// Largest request message the server decodes (bigger ones get
/// OUT_OF_RANGE); answers of 100,000 characters and expert imports of a
/// few thousand records fit.
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

/// Default of [`ServerOptions::first_request_timeout`]: clients send their
/// first call right after connecting (tonic, grpcio and the `kicer` CLI
/// connect on the first call), so 10 s is generous even over a slow link,
/// and an attacker's silent sockets are gone before they add up.
pub const FIRST_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Idle time before the server pings an HTTP/2 connection. One ping a
/// minute costs nothing and finds peers that vanished without closing
/// (and keeps NATs and load balancers, which often drop flows idle for
/// a few minutes, from forgetting a `WatchEvents` stream).
pub const HTTP2_KEEPALIVE_INTERVAL: Duration = Duration::from_secs(60);
/// How long a ping may go unanswered before the connection is closed:
/// a live client answers in milliseconds, 20 s allows for a congested
/// link (hyper's default).
pub const HTTP2_KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(20);
/// HTTP/2 flow-control window per stream (SETTINGS_INITIAL_WINDOW_SIZE).
/// A request up to 1 MiB (most imports) goes out without waiting for a
/// window update; the 64 KiB of the HTTP/2 default would cost a round
/// trip per 64 KiB. Memory is bounded by [`MAX_MESSAGE_BYTES`] anyway,
/// since the server buffers a whole message to decode it.
pub const STREAM_WINDOW_BYTES: u32 = 1024 * 1024;
/// HTTP/2 flow-control window per connection: two full stream windows,
/// so one large upload does not stall every other call on its connection.
pub const CONNECTION_WINDOW_BYTES: u32 = 2 * 1024 * 1024;
/// Concurrent calls on one HTTP/2 connection (SETTINGS_MAX_CONCURRENT_STREAMS).
/// tonic's default is unlimited; 200 (hyper's own default) leaves room
/// for many `WatchEvents` streams and pipelining clients, while one
/// connection cannot queue unbounded work. Clients that need more open
/// another connection.
pub const MAX_CONCURRENT_STREAMS: u32 = 200;
/// Default of [`ServerOptions::request_timeout`]: a minute covers the
/// slowest legitimate call (an import of thousands of experts rebuilds
/// the index) with room to spare; a call still running after it is
/// answered CANCELLED instead of holding its client forever. Streams
/// (`WatchEvents`) are not cut: the deadline covers the call until its
/// first response.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Largest request header block (SETTINGS_MAX_HEADER_LIST_SIZE): 16 KiB,
/// the default of hyper and of gRPC clients, so metadata that passes
/// here also passes the other way.
pub const MAX_HEADER_LIST_BYTES: u32 = 16 * 1024;

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
    /// A connection that has sent no request this long after it was
    /// accepted is closed (a silent socket, an HTTP/2 preface and
    /// nothing more), so such sockets cannot use up the server's file
    /// descriptors. Once a request arrived the connection stays open.
    /// Default [`FIRST_REQUEST_TIMEOUT`]; tests set it short.
    pub first_request_timeout: Duration,
    /// Calls worked on at once; more are answered UNAVAILABLE at once
    /// with a retry hint, health checks excepted. Default
    /// [`MAX_IN_FLIGHT`].
    pub max_in_flight: usize,
    /// Open `WatchEvents` streams; more are refused RESOURCE_EXHAUSTED.
    /// Default [`MAX_WATCHERS`].
    pub max_watchers: usize,
    /// Open `WatchEvents` streams of one client. Default
    /// [`MAX_WATCHERS_PER_CLIENT`].
    pub max_watchers_per_client: usize,
    /// The clients and their rate limits; none configured lets every
    /// call through (the config allows that on loopback only). Shared
    /// with whoever reloads them (SIGHUP).
    pub access: Arc<Registry>,
    /// Longest time the server works on a call (clients may set a shorter
    /// deadline with `grpc-timeout`; tonic honours both). Default
    /// [`REQUEST_TIMEOUT`].
    pub request_timeout: Duration,
    /// Serve TLS (mTLS with a client CA) with these files; plain text
    /// when `None`. The TLS handshake gets `first_request_timeout` too.
    pub tls: Option<tls::TlsFiles>,
    /// Where every call is counted and timed; None (the default) records
    /// nothing.
    pub metrics: Option<Arc<crate::telemetry::metrics::Metrics>>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            drain_timeout: Duration::from_secs(10),
            cors_origins: Vec::new(),
            first_request_timeout: FIRST_REQUEST_TIMEOUT,
            max_in_flight: MAX_IN_FLIGHT,
            max_watchers: MAX_WATCHERS,
            max_watchers_per_client: MAX_WATCHERS_PER_CLIENT,
            access: Arc::default(),
            request_timeout: REQUEST_TIMEOUT,
            tls: None,
            metrics: None,
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
    /// The TLS files cannot be used.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// The final flush failed.
    #[error("flushing the store at shutdown failed: {0}")]
    Flush(#[from] StoreError),
    /// The store refused writes (a full or failing disk): the server
    /// stopped so that its supervisor restarts it.
    #[error("the store stopped accepting writes ({0}); kicer stopped so that its supervisor restarts it. Every acknowledged write is kept: once the cause is fixed (free space on the disk), the restarted server serves again")]
    StoreFailed(String),
}

/// The state every handler shares.
#[derive(Clone)]
struct Api {
    service: Arc<Service>,
    /// Becomes `true` when the server shuts down; ends event streams.
    shutdown: tokio::sync::watch::Receiver<bool>,
    /// Places for open `WatchEvents` streams.
    watchers: load::Watchers,
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
        watchers: load::Watchers::new(options.max_watchers, options.max_watchers_per_client),
    };

    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<QuestionServiceServer<Api>>().await;
    health.set_serving::<TriageServiceServer<Api>>().await;
    health.set_serving::<DirectoryServiceServer<Api>>().await;
    health.set_serving::<InsightsServiceServer<Api>>().await;
    health.set_serving::<AdminServiceServer<Api>>().await;

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
    let failure = Arc::new(std::sync::Mutex::new(None::<String>));
    let (noted, watched) = (failure.clone(), service.clone());
    let signal = async move {
        // A store that refuses writes does not recover in this process
        // (sled 0.34 keeps refusing after a failed write): say so in
        // health and stop, so that the supervisor restarts kicer.
        let failed = tokio::select! {
            () = shutdown => None,
            why = store_failure(watched) => Some(why),
        };
        match &failed {
            Some(why) => tracing::error!(
                "the store stopped accepting writes ({why}): reporting NOT_SERVING and stopping so that the supervisor restarts kicer"
            ),
            None => tracing::info!("shutting down: finishing requests in flight"),
        }
        *noted.lock().unwrap_or_else(|p| p.into_inner()) = failed;
        health.set_not_serving::<QuestionServiceServer<Api>>().await;
        health.set_not_serving::<TriageServiceServer<Api>>().await;
        health
            .set_not_serving::<DirectoryServiceServer<Api>>()
            .await;
        health.set_not_serving::<InsightsServiceServer<Api>>().await;
        health.set_not_serving::<AdminServiceServer<Api>>().await;
        health
            .set_service_status("", tonic_health::ServingStatus::NotServing)
            .await;
        let _ = stop_tx.send(true);
        let _ = fired_tx.send(());
    };

    let mut builder = tonic::transport::Server::builder();
    if let Some(files) = &options.tls {
        // A client that connects and never finishes the handshake is
        // dropped like a silent one.
        builder = builder.tls_config(files.load()?.timeout(options.first_request_timeout))?;
    }
    // TCP_NODELAY and TCP keep-alive are set by `conn::Incoming`: tonic
    // ignores its own settings for them with `serve_with_incoming*`.
    let server = builder
        .accept_http1(true)
        .http2_keepalive_interval(Some(HTTP2_KEEPALIVE_INTERVAL))
        .http2_keepalive_timeout(Some(HTTP2_KEEPALIVE_TIMEOUT))
        .initial_stream_window_size(STREAM_WINDOW_BYTES)
        .initial_connection_window_size(CONNECTION_WINDOW_BYTES)
        .max_concurrent_streams(MAX_CONCURRENT_STREAMS)
        .http2_max_header_list_size(MAX_HEADER_LIST_BYTES)
        .timeout(options.request_timeout)
        .layer(conn::FirstRequestLayer)
        .layer(cors)
        .layer(page::PageLayer)
        .layer(tonic_web::GrpcWebLayer::new())
        // Outside every layer that answers a call itself (decode errors,
        // access, shedding), so their refusals are counted too.
        .layer(metrics::MetricsLayer::new(options.metrics.clone()))
        // Inside gRPC-Web, so it sees (and rewrites) the gRPC status.
        .layer(status::DecodeErrorLayer)
        // Before the shedding: a caller that may not call does not take
        // a place of one that may.
        .layer(access::AccessLayer::new(options.access.clone()))
        // Innermost: a shed call is answered before any handler runs.
        .layer(load::ShedLayer::new(options.max_in_flight))
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
        .add_service(
            InsightsServiceServer::new(api.clone()).max_decoding_message_size(MAX_MESSAGE_BYTES),
        )
        .add_service(AdminServiceServer::new(api))
        .serve_with_incoming_shutdown(
            conn::Incoming::new(listener, options.first_request_timeout),
            signal,
        );

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
    let failed = failure.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some(why) = failed {
        return Err(ServeError::StoreFailed(why));
    }
    let flushed = service.clone();
    tokio::task::spawn_blocking(move || flushed.flush())
        .await
        .map_err(|e| {
            StoreError::io("the final flush did not finish", std::io::Error::other(e))
        })??;
    tracing::info!("store flushed; stopped");
    served?;
    Ok(())
}

/// How often the server looks whether its store still accepts writes.
const STORE_CHECK: Duration = Duration::from_millis(250);

/// Resolves with the reason once the store has stopped accepting writes.
async fn store_failure(service: Arc<Service>) -> String {
    loop {
        if let Some(why) = service.store().write_failure() {
            return why;
        }
        tokio::time::sleep(STORE_CHECK).await;
    }
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
