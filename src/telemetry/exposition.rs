//! The metrics listener: plain HTTP/1.1, `GET /metrics` answers the
//! exposition, in OpenMetrics to a client that accepts it (Prometheus)
//! and in the classic text format otherwise (curl, promtool); anything
//! else 404 (405 for another method). Its own
//! port, so the gRPC port's access control and limits stay what they are
//! and a scrape never queues behind API calls.
//!
//! A scrape reads the store (open questions, size) on a blocking thread.
//! Limits: 16 connections at once (Prometheus needs one), 10 s to send
//! the request headers, 30 s for a connection in all.

use super::metrics::{classic, Metrics, CLASSIC_CONTENT_TYPE, CONTENT_TYPE};
use crate::service::Service;
use http_body_util::Full;
use hyper::body::Bytes;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Connections served at once.
const MAX_CONNECTIONS: usize = 16;
/// Time a client has to send its request's headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest life of one connection.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves `metrics` (refreshed from `service` at each scrape) on
/// `listener` until the runtime stops.
pub async fn serve(listener: TcpListener, metrics: Arc<Metrics>, service: Arc<Service>) {
    let places = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors, usually: wait instead of spinning.
                tracing::warn!("metrics listener: cannot accept a connection: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(place) = places.clone().try_acquire_owned() else {
            // Dropped at once: a scraper retries at its next interval.
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (metrics, service) = (metrics.clone(), service.clone());
        tokio::spawn(async move {
            let answer = hyper::service::service_fn(move |request| {
                let (metrics, service) = (metrics.clone(), service.clone());
                async move { Ok::<_, Infallible>(answer(request, metrics, service).await) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), answer);
            let _ = tokio::time::timeout(CONNECTION_TIMEOUT, connection).await;
            drop(place);
        });
    }
}

async fn answer<B>(
    request: http::Request<B>,
    metrics: Arc<Metrics>,
    service: Arc<Service>,
) -> http::Response<Full<Bytes>> {
    let reply = |status: u16, content_type: &str, body: String| {
        let mut response = http::Response::new(Full::new(Bytes::from(body)));
        *response.status_mut() = http::StatusCode::from_u16(status).unwrap_or_default();
        if let Ok(v) = http::HeaderValue::from_str(content_type) {
            response.headers_mut().insert(http::header::CONTENT_TYPE, v);
        }
        response
    };
    match (request.method(), request.uri().path()) {
        (&http::Method::GET, "/metrics") => {
            // Prometheus asks for OpenMetrics; anything else gets the
            // classic text format.
            let openmetrics = request
                .headers()
                .get_all(http::header::ACCEPT)
                .iter()
                .any(|v| {
                    v.to_str()
                        .is_ok_and(|v| v.contains("application/openmetrics-text"))
                });
            let text = tokio::task::spawn_blocking(move || {
                metrics.refresh(&service);
                metrics.render()
            })
            .await;
            match text {
                Ok(text) if openmetrics => reply(200, CONTENT_TYPE, text),
                Ok(text) => reply(200, CLASSIC_CONTENT_TYPE, classic(&text)),
                Err(e) => {
                    tracing::error!("a metrics scrape failed: {e}");
                    reply(
                        500,
                        "text/plain",
                        "the scrape failed; see the server log\n".into(),
                    )
                }
            }
        }
        (_, "/metrics") => reply(405, "text/plain", "use GET /metrics\n".into()),
        _ => reply(
            404,
            "text/plain",
            "kicer serves its metrics at /metrics\n".into(),
        ),
    }
}
