//! Load shedding: a cap on the calls the server works on at once, with
//! health checks exempt, and a cap on open `WatchEvents` streams. Past a
//! cap a call is answered at once (UNAVAILABLE or RESOURCE_EXHAUSTED, with
//! a retry hint) instead of queueing behind the others until every caller
//! times out.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::codegen::Service;
use tonic::Status;

/// Default of [`super::ServerOptions::max_in_flight`]: calls worked on at
/// once. Store writes wait for an fsync on one of tokio's blocking threads
/// (at most 512); 256 calls keep a burst of portal traffic within that
/// pool and answer the rest at once, while a 2-core machine serves
/// thousands of calls a second through it.
pub const MAX_IN_FLIGHT: usize = 256;
/// Default of [`super::ServerOptions::max_watchers`]: open `WatchEvents`
/// streams. 2,000 streams were measured at about 30 MB; 4,096 bounds them
/// near 60 MB.
pub const MAX_WATCHERS: usize = 4096;
/// How long a shed client is asked to wait before it retries
/// (`grpc-retry-pushback-ms`, honoured by gRPC clients with retries on).
pub const RETRY_PUSHBACK_MS: u32 = 100;

/// Paths that are never shed: a load balancer or Kubernetes must see a
/// busy server as alive, or it restarts the process that is doing the
/// work.
const EXEMPT: &str = "/grpc.health.v1.Health/";

/// The layer that sheds calls beyond `limit` in flight.
#[derive(Debug, Clone)]
pub struct ShedLayer {
    permits: Arc<Semaphore>,
    limit: usize,
}

impl ShedLayer {
    /// Sheds beyond `limit` calls in flight (at least 1).
    pub fn new(limit: usize) -> Self {
        let limit = limit.max(1);
        ShedLayer {
            permits: Arc::new(Semaphore::new(limit)),
            limit,
        }
    }
}

impl<S> tower_layer::Layer<S> for ShedLayer {
    type Service = Shed<S>;

    fn layer(&self, inner: S) -> Shed<S> {
        Shed {
            inner,
            permits: self.permits.clone(),
            limit: self.limit,
        }
    }
}

/// The service of [`ShedLayer`].
#[derive(Debug, Clone)]
pub struct Shed<S> {
    inner: S,
    permits: Arc<Semaphore>,
    limit: usize,
}

impl<S, B, R> Service<http::Request<B>> for Shed<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
    R: Default + Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let permit: Option<OwnedSemaphorePermit> = if request.uri().path().starts_with(EXEMPT) {
            None
        } else {
            match self.permits.clone().try_acquire_owned() {
                Ok(permit) => Some(permit),
                Err(_) => {
                    let method = request.uri().path().to_string();
                    let limit = self.limit;
                    return Box::pin(async move { Ok(shed(&method, limit)) });
                }
            }
        };
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = response.await;
            // Held until the handler has answered (for a stream: until its
            // first message is ready to go); open streams have their own cap.
            drop(permit);
            response
        })
    }
}

/// The answer to a shed call: UNAVAILABLE, which gRPC clients treat as
/// safe to retry, with a pushback hint.
fn shed<R: Default>(method: &str, limit: usize) -> http::Response<R> {
    tracing::warn!(
        method,
        limit,
        "shed a call: the server is working on as many as it takes"
    );
    let mut response = Status::unavailable(format!(
        "the server is working on {limit} calls, the most it takes at once: retry after {RETRY_PUSHBACK_MS} ms with backoff"
    ))
    .into_http::<R>();
    response.headers_mut().insert(
        "grpc-retry-pushback-ms",
        http::HeaderValue::from(RETRY_PUSHBACK_MS),
    );
    response
}

/// Places for open `WatchEvents` streams.
#[derive(Debug, Clone)]
pub struct Watchers {
    places: Arc<Semaphore>,
    limit: usize,
}

impl Watchers {
    /// At most `limit` streams open at once (at least 1).
    pub fn new(limit: usize) -> Self {
        let limit = limit.max(1);
        Watchers {
            places: Arc::new(Semaphore::new(limit)),
            limit,
        }
    }

    /// A place for one more stream, held as long as the stream is open;
    /// RESOURCE_EXHAUSTED when every place is taken.
    pub fn join(&self) -> Result<OwnedSemaphorePermit, Status> {
        self.places.clone().try_acquire_owned().map_err(|_| {
            tracing::warn!(limit = self.limit, "refused a watcher: every place is taken");
            Status::resource_exhausted(format!(
                "this server has {} WatchEvents streams open, the most it allows: close one you no longer need, or retry later",
                self.limit
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watchers_past_the_limit_are_refused_until_one_leaves() {
        let watchers = Watchers::new(2);
        let a = watchers.join().unwrap();
        let _b = watchers.join().unwrap();
        let refused = watchers.join().unwrap_err();
        assert_eq!(refused.code(), tonic::Code::ResourceExhausted);
        assert!(refused.message().contains("2 WatchEvents streams"));
        drop(a);
        assert!(watchers.join().is_ok());
    }

    #[test]
    fn a_shed_call_says_unavailable_with_a_retry_hint() {
        let response: http::Response<tonic::body::Body> = shed("/kicer.v1.X/Y", 8);
        let status = Status::from_header_map(response.headers()).unwrap();
        assert_eq!(status.code(), tonic::Code::Unavailable);
        assert!(status.message().contains("8 calls"));
        assert_eq!(response.headers()["grpc-retry-pushback-ms"], "100");
    }
}
