//! The core team's triage page (`web/`), served by kicer itself at `/` on
//! its gRPC port: the page calls the same API over gRPC-Web from the same
//! origin, so there is no second backend and no CORS to configure. The
//! built files of `web/dist/` are embedded in the binary at build time
//! (`build.rs`), so a Rust-only build serves them with no Node.js.
//!
//! Only GET and HEAD of `/` and of the embedded file names are answered
//! here; everything else goes on to the gRPC services. The files are
//! public (the page holds no data: everything it shows comes from calls
//! that need a token when clients are configured).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use tonic::body::Body;
use tonic::codegen::{Bytes, Service};
use tower_layer::Layer;

mod assets {
    include!(concat!(env!("OUT_DIR"), "/web_assets.rs"));
}

/// The page's own policy: scripts, styles and calls from this origin only,
/// never framed (clickjacking of the triage actions).
const CSP: &str = "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// The embedded file a GET of `path` asks for.
fn asset(path: &str) -> Option<(&'static str, &'static [u8])> {
    let name = match path {
        "/" | "/index.html" => "index.html",
        other => other.strip_prefix('/')?,
    };
    assets::ASSETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(n, bytes)| (content_type(n), *bytes))
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next().unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

/// The response for an embedded file. The names carry no content hash, so
/// browsers revalidate (`no-cache`) against the build's ETag.
fn response(
    content_type: &'static str,
    bytes: &'static [u8],
    head: bool,
    if_none_match: Option<&http::HeaderValue>,
) -> http::Response<Body> {
    let etag = assets::ETAG;
    let not_modified = if_none_match.is_some_and(|v| v.as_bytes() == etag.as_bytes());
    let body = if head || not_modified {
        Body::empty()
    } else {
        Body::new(http_body_util::Full::new(Bytes::from_static(bytes)))
    };
    let mut builder = http::Response::builder()
        .status(if not_modified {
            http::StatusCode::NOT_MODIFIED
        } else {
            http::StatusCode::OK
        })
        .header(http::header::CONTENT_TYPE, content_type)
        .header(http::header::CACHE_CONTROL, "no-cache")
        .header(http::header::ETAG, etag)
        .header("content-security-policy", CSP)
        .header("x-content-type-options", "nosniff")
        .header("referrer-policy", "no-referrer");
    if !not_modified {
        builder = builder.header(http::header::CONTENT_LENGTH, bytes.len());
    }
    builder.body(body).unwrap_or_else(|_| {
        // Every header above is a constant or a number: this cannot fail.
        http::Response::new(Body::empty())
    })
}

/// Serves the embedded page in front of the gRPC services.
#[derive(Debug, Clone, Copy, Default)]
pub struct PageLayer;

impl<S> Layer<S> for PageLayer {
    type Service = Page<S>;

    fn layer(&self, inner: S) -> Page<S> {
        Page { inner }
    }
}

/// The service of [`PageLayer`].
#[derive(Debug, Clone)]
pub struct Page<S> {
    inner: S,
}

impl<S, B> Service<http::Request<B>> for Page<S>
where
    S: Service<http::Request<B>, Response = http::Response<Body>>,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let head = request.method() == http::Method::HEAD;
        if head || request.method() == http::Method::GET {
            if let Some((content_type, bytes)) = asset(request.uri().path()) {
                let response = response(
                    content_type,
                    bytes,
                    head,
                    request.headers().get(http::header::IF_NONE_MATCH),
                );
                return Box::pin(async move { Ok(response) });
            }
        }
        Box::pin(self.inner.call(request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_is_the_page_and_unknown_paths_are_not_answered_here() {
        if assets::ASSETS.is_empty() {
            return; // a build without web/dist (checked by tests/page.rs)
        }
        let (kind, bytes) = asset("/").expect("index.html is embedded");
        assert_eq!(kind, "text/html; charset=utf-8");
        assert!(!bytes.is_empty());
        assert!(asset("/kicer.v1.QuestionService/GetQuestion").is_none());
        assert!(asset("/../Cargo.toml").is_none());
    }

    #[test]
    fn a_matching_etag_gets_not_modified_without_a_body() {
        let etag = http::HeaderValue::from_static(assets::ETAG);
        let r = response("text/html; charset=utf-8", b"<p>", false, Some(&etag));
        assert_eq!(r.status(), http::StatusCode::NOT_MODIFIED);
        let r = response("text/html; charset=utf-8", b"<p>", false, None);
        assert_eq!(r.status(), http::StatusCode::OK);
        assert_eq!(r.headers()["content-length"], "3");
        assert!(r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'"));
    }
}
