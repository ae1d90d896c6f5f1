//! Connections at the edge: how accepted sockets are set up (TCP_NODELAY,
//! TCP keep-alive), how the accept loop survives running out of file
//! descriptors without spinning, and closing connections that send no
//! request in time.
//!
//! tonic ignores its own `tcp_nodelay` and `tcp_keepalive` settings when
//! it is given a stream of connections (`serve_with_incoming*`), and
//! neither tonic nor hyper closes a connection that never sends a request:
//! hyper-util's HTTP/1-or-2 detection waits for the first bytes forever,
//! and an HTTP/2 connection that sent only its preface waits for HEADERS
//! forever. So [`Incoming`] sets the socket options itself and wraps every
//! socket in a [`Guarded`] that fails its reads once
//! [`ServerOptions::first_request_timeout`](super::ServerOptions) has passed
//! without a request; [`FirstRequestLayer`] tells it when one arrives.
//!
//! With TLS, tonic wraps each [`Guarded`] socket in a TLS stream, and the
//! connect info becomes `TlsConnectInfo<Connection>`. tonic 0.14.9 puts
//! that and the inner [`Connection`] into the request extensions
//! (`transport/server/service/io.rs`); [`FirstRequest`] still looks for
//! both, because were the inner one missing, no request under TLS would
//! count, every TLS connection would be closed at its deadline and
//! `Request::remote_addr` would be `None` (`tests/tls.rs` keeps a TLS
//! watch open past the deadline). The deadline also bounds the
//! handshake: reads fail once it passes, and tonic's handshake timeout
//! is set to the same. `Request::peer_certs` stays `None`, as tonic only
//! looks for `TlsConnectInfo<TcpConnectInfo>`; a client's certificate is
//! in `TlsConnectInfo<Connection>`.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Sleep;
use tokio_stream::Stream;
use tonic::codegen::Service;
use tonic::transport::server::{Connected, TcpConnectInfo, TcpIncoming, TlsConnectInfo};

/// Idle time before the kernel sends the first TCP keep-alive probe. HTTP/2
/// connections are watched by HTTP/2 pings; this covers gRPC-Web over
/// HTTP/1.1, whose dead peers (a closed laptop, a NAT that forgot the
/// flow) would otherwise hold a descriptor until the kernel's two hours.
pub const TCP_KEEPALIVE: Duration = Duration::from_secs(60);
/// Time between unanswered TCP keep-alive probes.
const TCP_KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);
/// Unanswered probes before the kernel drops the connection: a dead peer
/// is gone within 60 + 3 × 10 s.
const TCP_KEEPALIVE_RETRIES: u32 = 3;
/// Pause after an accept error that is not about one connection (out of
/// file descriptors, out of memory). Retrying at once spins a core while
/// the error lasts; 100 ms is short enough that service resumes almost as
/// soon as a descriptor is free.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);
/// While accepts keep failing, how often the failure is logged again.
const ACCEPT_ERROR_LOG_EVERY: Duration = Duration::from_secs(10);

/// The server's stream of accepted connections.
pub(super) struct Incoming {
    inner: TcpIncoming,
    first_request_timeout: Duration,
    /// Set while pausing after an accept error.
    pause: Option<Pin<Box<Sleep>>>,
    /// Accept errors since the last accepted connection.
    failures: u64,
    /// When the accept errors were last logged.
    logged: Option<Instant>,
}

impl Incoming {
    /// Accepts on `listener` with TCP_NODELAY and keep-alive on every
    /// socket; each is closed if it sends no request within
    /// `first_request_timeout`.
    pub(super) fn new(listener: TcpListener, first_request_timeout: Duration) -> Incoming {
        let inner = TcpIncoming::from(listener)
            // A response goes out in pieces (headers, data, trailers);
            // without NODELAY the later ones wait for the client's delayed
            // ACK: ~40 ms per call on Linux.
            .with_nodelay(Some(true))
            .with_keepalive(Some(TCP_KEEPALIVE))
            .with_keepalive_interval(Some(TCP_KEEPALIVE_INTERVAL))
            .with_keepalive_retries(Some(TCP_KEEPALIVE_RETRIES));
        Incoming {
            inner,
            first_request_timeout,
            pause: None,
            failures: 0,
            logged: None,
        }
    }

    /// Logs an accept error: the first of a run, then every
    /// [`ACCEPT_ERROR_LOG_EVERY`], so a long outage is visible without
    /// flooding the log.
    fn log_failure(&mut self, e: &io::Error) {
        self.failures += 1;
        let due = self
            .logged
            .is_none_or(|at| at.elapsed() >= ACCEPT_ERROR_LOG_EVERY);
        if due {
            tracing::warn!(
                failures = self.failures,
                "cannot accept connections: {e}; retrying every {ACCEPT_ERROR_PAUSE:?} \
                 (out of file descriptors? raise the limit, e.g. LimitNOFILE in systemd)"
            );
            self.logged = Some(Instant::now());
        }
    }
}

/// Errors about one connection (it was reset before it was accepted):
/// the next accept may well succeed, so no pause.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

impl Stream for Incoming {
    type Item = io::Result<Guarded>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(pause) = &mut this.pause {
                ready!(pause.as_mut().poll(cx));
                this.pause = None;
            }
            match ready!(Pin::new(&mut this.inner).poll_next(cx)) {
                None => return Poll::Ready(None),
                Some(Ok(stream)) => {
                    if this.failures > 0 {
                        tracing::info!(failures = this.failures, "accepting connections again");
                        this.failures = 0;
                        this.logged = None;
                    }
                    return Poll::Ready(Some(Ok(Guarded::new(stream, this.first_request_timeout))));
                }
                Some(Err(e)) if is_connection_error(&e) => {
                    tracing::debug!("a connection was reset before it was accepted: {e}");
                }
                // Not handed to tonic: it would retry at once, and spin.
                Some(Err(e)) => {
                    this.log_failure(&e);
                    this.pause = Some(Box::pin(tokio::time::sleep(ACCEPT_ERROR_PAUSE)));
                }
            }
        }
    }
}

/// An accepted socket whose reads fail once its first-request deadline
/// passes without a request, which makes hyper close the connection.
/// After the first request the deadline is gone: an open `WatchEvents` or
/// health `Watch` stream, or an idle channel between calls, stays open
/// (HTTP/2 pings then find dead peers).
pub(super) struct Guarded {
    io: TcpStream,
    seen: Arc<AtomicBool>,
    deadline: Option<Pin<Box<Sleep>>>,
    timeout: Duration,
}

impl Guarded {
    fn new(io: TcpStream, timeout: Duration) -> Guarded {
        Guarded {
            io,
            seen: Arc::new(AtomicBool::new(false)),
            deadline: Some(Box::pin(tokio::time::sleep(timeout))),
            timeout,
        }
    }

    fn peer(&self) -> Option<SocketAddr> {
        self.io.peer_addr().ok()
    }
}

impl AsyncRead for Guarded {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if let Some(deadline) = &mut this.deadline {
            if this.seen.load(Ordering::Acquire) {
                this.deadline = None;
            } else if deadline.as_mut().poll(cx).is_ready() {
                // Polling the deadline registered this task with the timer,
                // so a connection that sends nothing is woken and ends here.
                tracing::info!(
                    peer = ?this.peer(),
                    "closing a connection that sent no request within {:?}",
                    this.timeout
                );
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "no request within the first-request timeout",
                )));
            }
        }
        Pin::new(&mut this.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// What tonic puts into the extensions of every request on a [`Guarded`]
/// connection.
#[derive(Clone)]
pub(super) struct Connection {
    tcp: TcpConnectInfo,
    seen: Arc<AtomicBool>,
}

impl Connected for Guarded {
    type ConnectInfo = Connection;

    fn connect_info(&self) -> Connection {
        Connection {
            tcp: self.io.connect_info(),
            seen: self.seen.clone(),
        }
    }
}

/// Marks the connection of every request (plain or TLS) as having sent
/// one, and puts tonic's own [`TcpConnectInfo`] into the request so
/// `Request::remote_addr` keeps working.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct FirstRequestLayer;

impl<S> tower_layer::Layer<S> for FirstRequestLayer {
    type Service = FirstRequest<S>;

    fn layer(&self, inner: S) -> FirstRequest<S> {
        FirstRequest { inner }
    }
}

/// The service of [`FirstRequestLayer`].
#[derive(Debug, Clone)]
pub(super) struct FirstRequest<S> {
    inner: S,
}

impl<S, B> Service<http::Request<B>> for FirstRequest<S>
where
    S: Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> S::Future {
        let extensions = request.extensions();
        let connection = extensions.get::<Connection>().or_else(|| {
            extensions
                .get::<TlsConnectInfo<Connection>>()
                .map(TlsConnectInfo::get_ref)
        });
        if let Some(c) = connection {
            c.seen.store(true, Ordering::Release);
            let tcp = c.tcp.clone();
            request.extensions_mut().insert(tcp);
        }
        self.inner.call(request)
    }
}
