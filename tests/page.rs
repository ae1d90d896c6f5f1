//! The triage page served by kicer itself at `/` on its gRPC port: the
//! embedded `web/dist`, with its security headers, next to the API and
//! open without a token (the page holds no data; its calls need one).

mod common;

use common::{clients, spawn_app, spawn_app_with};
use kicer::auth::{RateLimits, Role};
use kicer::grpc::ServerOptions;
use std::io::{Read, Write};
use std::time::Duration;

/// A plain HTTP/1.1 request to the gRPC port: status line, headers, body.
fn http(address: std::net::SocketAddr, request: &str) -> (String, String, Vec<u8>) {
    let mut stream = std::net::TcpStream::connect(address).expect("connects");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    stream.write_all(request.as_bytes()).expect("sent");
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("headers end");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head.lines().next().unwrap_or_default().to_string();
    (status, head.to_lowercase(), raw[split + 4..].to_vec())
}

fn get(path: &str, extra: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: kicer\r\n{extra}Connection: close\r\n\r\n")
}

#[tokio::test]
async fn the_page_is_served_at_the_root_with_its_files_and_headers() {
    let app = spawn_app().await;
    let address = app.address;
    let (status, head, body) = tokio::task::spawn_blocking(move || http(address, &get("/", "")))
        .await
        .expect("request ran");
    assert!(status.contains("200"), "{status}");
    assert!(head.contains("content-type: text/html"), "{head}");
    assert!(
        head.contains("content-security-policy: default-src 'self'"),
        "{head}"
    );
    assert!(head.contains("x-content-type-options: nosniff"), "{head}");
    let html = String::from_utf8_lossy(&body).into_owned();
    assert!(html.contains("<html"), "{html}");

    // Every file the page names is served too.
    let mut named = 0;
    for attr in ["src=\"", "href=\""] {
        for part in html.split(attr).skip(1) {
            let file = part.split('"').next().unwrap_or_default();
            if file.starts_with("http")
                || file.starts_with("data:")
                || file.starts_with('#')
                || file.is_empty()
            {
                continue;
            }
            let path = format!("/{}", file.trim_start_matches("./").trim_start_matches('/'));
            let (status, head, body) =
                tokio::task::spawn_blocking(move || http(address, &get(&path, "")))
                    .await
                    .expect("request ran");
            assert!(status.contains("200"), "{file}: {status}");
            assert!(!body.is_empty(), "{file} is empty");
            assert!(head.contains("content-type:"), "{head}");
            named += 1;
        }
    }
    assert!(named >= 1, "the page names no script or style:\n{html}");

    // Revalidation by ETag, and HEAD without a body.
    let etag = head
        .lines()
        .find_map(|l| l.strip_prefix("etag: "))
        .expect("an etag")
        .to_string();
    let (status, _, body) = tokio::task::spawn_blocking(move || {
        http(address, &get("/", &format!("If-None-Match: {etag}\r\n")))
    })
    .await
    .expect("request ran");
    assert!(status.contains("304"), "{status}");
    assert!(body.is_empty());
    let (status, _, body) = tokio::task::spawn_blocking(move || {
        http(
            address,
            "HEAD / HTTP/1.1\r\nHost: kicer\r\nConnection: close\r\n\r\n",
        )
    })
    .await
    .expect("request ran");
    assert!(status.contains("200"), "{status}");
    assert!(body.is_empty());
    app.shutdown().await.expect("clean stop");
}

#[tokio::test]
async fn the_page_needs_no_token_while_the_api_beside_it_does() {
    let app = spawn_app_with(ServerOptions {
        access: clients(
            &[("core", Role::Triage, "secret-token")],
            RateLimits::default(),
        ),
        ..ServerOptions::default()
    })
    .await;
    let address = app.address;
    let (status, _, _) = tokio::task::spawn_blocking(move || http(address, &get("/", "")))
        .await
        .expect("request ran");
    assert!(status.contains("200"), "{status}");
    let mut q = app.questions.clone();
    let refused = q
        .get_question(kicer::grpc::proto::GetQuestionRequest { id: "q1".into() })
        .await
        .expect_err("no token");
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);
}
