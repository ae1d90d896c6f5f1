//! Load shedding: a cap on the calls the server works on at once, with
//! health checks exempt, and a cap on open `WatchEvents` streams. Past a
//! cap a call is answered at once (UNAVAILABLE or RESOURCE_EXHAUSTED, with
//! a retry hint) instead of queueing behind the others until every caller
//! times out.

use crate::service::LockExt;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
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
/// Default of [`super::ServerOptions::max_watchers_per_client`]: open
/// `WatchEvents` streams of one client. The triage page holds one per
/// open tab; 64 is many tabs and a small share of [`MAX_WATCHERS`].
pub const MAX_WATCHERS_PER_CLIENT: usize = 64;
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

/// Places for open `WatchEvents` streams: a cap for the server and one
/// per client, so one client (a portal opening a stream per user page)
/// cannot take every place.
#[derive(Debug, Clone)]
pub struct Watchers {
    places: Arc<Semaphore>,
    limit: usize,
    per_client: usize,
    open: OpenPerClient,
}

/// Open streams per client name.
type OpenPerClient = Arc<Mutex<HashMap<String, usize>>>;

/// A stream's place, given back when the stream ends.
#[derive(Debug)]
pub struct WatchPlace {
    _server: OwnedSemaphorePermit,
    client: Option<(OpenPerClient, String)>,
}

impl Drop for WatchPlace {
    fn drop(&mut self) {
        if let Some((open, name)) = &self.client {
            let mut open = open.lock_or_recover();
            if let Some(n) = open.get_mut(name) {
                *n -= 1;
                if *n == 0 {
                    open.remove(name);
                }
            }
        }
    }
}

impl Watchers {
    /// At most `limit` streams open at once (at least 1), at most
    /// `per_client` of them (at least 1) for one client.
    pub fn new(limit: usize, per_client: usize) -> Self {
        Watchers {
            places: Arc::new(Semaphore::new(limit.max(1))),
            limit: limit.max(1),
            per_client: per_client.max(1),
            open: Arc::default(),
        }
    }

    /// A place for one more stream of `client` (`None` on a server without
    /// clients: only the server's cap applies), held as long as the
    /// stream is open; RESOURCE_EXHAUSTED when every place is taken.
    pub fn join(&self, client: Option<&str>) -> Result<WatchPlace, Status> {
        let server = self.places.clone().try_acquire_owned().map_err(|_| {
            tracing::warn!(limit = self.limit, "refused a watcher: every place is taken");
            Status::resource_exhausted(format!(
                "this server has {} WatchEvents streams open, the most it allows: close one you no longer need, or retry later",
                self.limit
            ))
        })?;
        let Some(name) = client else {
            return Ok(WatchPlace {
                _server: server,
                client: None,
            });
        };
        let mut open = self.open.lock_or_recover();
        let n = open.entry(name.to_string()).or_default();
        if *n >= self.per_client {
            tracing::warn!(
                client = name,
                limit = self.per_client,
                "refused a watcher: the client has every place it may have"
            );
            return Err(Status::resource_exhausted(format!(
                "client `{name}` has {} WatchEvents streams open, the most one client may: \
                 close one (one stream with a filter can serve many views), or retry later",
                self.per_client
            )));
        }
        *n += 1;
        Ok(WatchPlace {
            _server: server,
            client: Some((self.open.clone(), name.to_string())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watchers_past_the_limit_are_refused_until_one_leaves() {
        let watchers = Watchers::new(2, 2);
        let a = watchers.join(None).unwrap();
        let _b = watchers.join(None).unwrap();
        let refused = watchers.join(None).unwrap_err();
        assert_eq!(refused.code(), tonic::Code::ResourceExhausted);
        assert!(refused.message().contains("2 WatchEvents streams"));
        drop(a);
        assert!(watchers.join(None).is_ok());
    }

    #[test]
    fn one_client_cannot_take_every_place() {
        let watchers = Watchers::new(10, 2);
        let a = watchers.join(Some("portal-a")).unwrap();
        let _a2 = watchers.join(Some("portal-a")).unwrap();
        let refused = watchers.join(Some("portal-a")).unwrap_err();
        assert_eq!(refused.code(), tonic::Code::ResourceExhausted);
        assert!(
            refused.message().contains("client `portal-a`"),
            "{refused:?}"
        );
        let _b = watchers.join(Some("portal-b")).unwrap();
        drop(a);
        assert!(watchers.join(Some("portal-a")).is_ok());
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
