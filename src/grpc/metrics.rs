//! Per-call metrics at the edge: every answered call counted by service,
//! method and gRPC code, and timed, into [`Metrics`].
//!
//! Services and methods are label values only when they are the API's own
//! (read from the descriptor sets the server also serves by reflection);
//! any other path counts as `unknown`, so a client sending made-up paths
//! cannot grow the metrics without bound. The code is read from the
//! response headers, where tonic puts every refusal (a trailers-only
//! response); a response without it is a success whose status comes in
//! the trailers, `OK`.

use super::proto;
use crate::telemetry::metrics::Metrics;
use prost::Message;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Instant;
use tonic::codegen::Service;
use tower_layer::Layer;

/// Path of every method the server answers → (service, method), as
/// `'static` strings for label values. Built once; bounded by the API.
fn methods() -> &'static HashMap<String, (&'static str, &'static str)> {
    static METHODS: OnceLock<HashMap<String, (&'static str, &'static str)>> = OnceLock::new();
    METHODS.get_or_init(|| {
        let mut out = HashMap::new();
        for bytes in [
            proto::FILE_DESCRIPTOR_SET,
            tonic_health::pb::FILE_DESCRIPTOR_SET,
        ] {
            let Ok(set) = prost_types::FileDescriptorSet::decode(bytes) else {
                continue;
            };
            for file in set.file {
                let package = file.package.unwrap_or_default();
                for service in file.service {
                    let full = format!("{package}.{}", service.name.unwrap_or_default());
                    let full: &'static str = Box::leak(full.into_boxed_str());
                    for method in service.method {
                        let name: &'static str =
                            Box::leak(method.name.unwrap_or_default().into_boxed_str());
                        out.insert(format!("/{full}/{name}"), (full, name));
                    }
                }
            }
        }
        // Reflection's descriptors are not in the sets above.
        for (service, method) in [
            (
                "grpc.reflection.v1.ServerReflection",
                "ServerReflectionInfo",
            ),
            (
                "grpc.reflection.v1alpha.ServerReflection",
                "ServerReflectionInfo",
            ),
        ] {
            out.insert(format!("/{service}/{method}"), (service, method));
        }
        out
    })
}

/// The label value of a gRPC status code (its canonical name).
fn code_name(code: &[u8]) -> &'static str {
    match code {
        b"0" => "OK",
        b"1" => "CANCELLED",
        b"2" => "UNKNOWN",
        b"3" => "INVALID_ARGUMENT",
        b"4" => "DEADLINE_EXCEEDED",
        b"5" => "NOT_FOUND",
        b"6" => "ALREADY_EXISTS",
        b"7" => "PERMISSION_DENIED",
        b"8" => "RESOURCE_EXHAUSTED",
        b"9" => "FAILED_PRECONDITION",
        b"10" => "ABORTED",
        b"11" => "OUT_OF_RANGE",
        b"12" => "UNIMPLEMENTED",
        b"13" => "INTERNAL",
        b"14" => "UNAVAILABLE",
        b"15" => "DATA_LOSS",
        b"16" => "UNAUTHENTICATED",
        _ => "UNKNOWN",
    }
}

/// Records every call into the metrics, when there are any.
#[derive(Debug, Clone)]
pub struct MetricsLayer {
    metrics: Option<Arc<Metrics>>,
}

impl MetricsLayer {
    /// Records into `metrics`; with None it passes calls through untouched.
    pub fn new(metrics: Option<Arc<Metrics>>) -> Self {
        MetricsLayer { metrics }
    }
}

impl<S> Layer<S> for MetricsLayer {
    type Service = Measured<S>;

    fn layer(&self, inner: S) -> Measured<S> {
        Measured {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}

/// The service of [`MetricsLayer`].
#[derive(Debug, Clone)]
pub struct Measured<S> {
    inner: S,
    metrics: Option<Arc<Metrics>>,
}

impl<S, B, R> Service<http::Request<B>> for Measured<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
    R: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let Some(metrics) = self.metrics.clone() else {
            return Box::pin(self.inner.call(request));
        };
        let (service, method) = methods()
            .get(request.uri().path())
            .copied()
            .unwrap_or(("unknown", "unknown"));
        let started = Instant::now();
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = response.await;
            let code = match &response {
                Ok(r) => r
                    .headers()
                    .get("grpc-status")
                    .map_or("OK", |v| code_name(v.as_bytes())),
                // The transport failed the call; tonic answers it UNKNOWN.
                Err(_) => "UNKNOWN",
            };
            metrics.rpc(service, method, code, started.elapsed().as_secs_f64());
            response
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_apis_methods_are_known_and_a_made_up_path_is_not() {
        let m = methods();
        assert_eq!(
            m.get("/kicer.v1.QuestionService/SubmitQuestion"),
            Some(&("kicer.v1.QuestionService", "SubmitQuestion"))
        );
        assert!(m.contains_key("/grpc.health.v1.Health/Check"));
        assert!(!m.contains_key("/kicer.v1.QuestionService/Nonsense"));
    }

    #[test]
    fn codes_are_named_as_grpc_names_them() {
        assert_eq!(code_name(b"0"), "OK");
        assert_eq!(code_name(b"16"), "UNAUTHENTICATED");
        assert_eq!(code_name(b"99"), "UNKNOWN");
    }
}
