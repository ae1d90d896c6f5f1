//! The Prometheus exposition of the real binary (`--metrics-listen`):
//! calls, submits, routing outcomes, the queue and the disk show up in a
//! scrape, with bounded labels and nothing of any question's content.

mod common;

use common::{spawn_binary_reading, submit_request, CLEAR_QUESTION, VAGUE_QUESTION};
use kicer::grpc::proto;
use kicer::grpc::proto::question_service_client::QuestionServiceClient;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

/// `GET path` on `address` (host:port): the status line and the body.
fn get(address: &str, path: &str) -> (String, String) {
    let mut stream = std::net::TcpStream::connect(address).expect("metrics port accepts");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .expect("request sent");
    let mut raw = String::new();
    stream.read_to_string(&mut raw).expect("response read");
    let (head, body) = raw.split_once("\r\n\r\n").expect("headers end");
    let status = head.lines().next().unwrap_or_default().to_string();
    (status, body.to_string())
}

/// The value of the sample line starting with `series` (name and labels).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn a_scrape_shows_calls_outcomes_queue_and_disk_with_bounded_labels() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (app, lines) = spawn_binary_reading(
        &dir.path().join("data"),
        &["--metrics-listen", "127.0.0.1:0"],
        3,
    );
    let metrics = lines[2]
        .strip_prefix("metrics on http://")
        .and_then(|l| l.strip_suffix("/metrics"))
        .unwrap_or_else(|| panic!("no metrics address in {lines:?}"))
        .to_string();
    let mut c = QuestionServiceClient::connect(app.url.clone())
        .await
        .expect("connects");
    c.submit_question(submit_request(CLEAR_QUESTION))
        .await
        .expect("submit");
    c.submit_question(submit_request(VAGUE_QUESTION))
        .await
        .expect("submit");
    let refused = c
        .submit_question(proto::SubmitQuestionRequest::default())
        .await
        .expect_err("an empty submit is refused");
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);

    // Events reach the metrics a moment after the reply.
    let started = Instant::now();
    let text = loop {
        let (status, text) = get(&metrics, "/metrics");
        assert!(status.contains("200"), "{status}");
        let submitted: f64 = text
            .lines()
            .filter(|l| l.starts_with("kicer_questions_submitted_total{"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum();
        if submitted >= 2.0 {
            break text;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "submits not counted:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let series = |s: &str| sample(&text, s).unwrap_or_else(|| panic!("no {s} in\n{text}"));
    assert_eq!(
        series(
            r#"kicer_grpc_requests_total{service="kicer.v1.QuestionService",method="SubmitQuestion",code="INVALID_ARGUMENT"}"#
        ),
        1.0
    );
    assert_eq!(
        series(
            r#"kicer_grpc_requests_total{service="kicer.v1.QuestionService",method="SubmitQuestion",code="OK"}"#
        ),
        2.0
    );
    assert_eq!(
        series(r#"kicer_routing_outcomes_total{outcome="triage",cause="no_category"}"#),
        1.0
    );
    assert_eq!(series(r#"kicer_open_questions{status="TRIAGE"}"#), 1.0);
    assert!(series("kicer_triage_oldest_age_seconds") >= 0.0);
    assert!(series("kicer_store_size_bytes") > 0.0);
    assert!(series("kicer_store_commit_duration_seconds_count") >= 2.0);
    assert!(series("kicer_similar_searches_total") >= 2.0);
    assert_eq!(
        series(&format!(
            r#"kicer_build_info{{version="{}"}}"#,
            env!("CARGO_PKG_VERSION")
        )),
        1.0
    );
    // Nothing of the questions or their askers in any label.
    for secret in ["Zwolle", "q1", "q2", "criteria", "test"] {
        assert!(
            !text
                .lines()
                .any(|l| !l.starts_with('#') && l.contains(secret)),
            "`{secret}` in a label:\n{text}"
        );
    }
    let (status, _) = get(&metrics, "/");
    assert!(status.contains("404"), "{status}");
    every_name_the_dashboard_and_alerts_use_is_scraped(&text);
}

/// The Grafana dashboard and the alerting rules in `deploy/` name only
/// series a real scrape has (no Grafana or Prometheus server in CI to
/// load them; promtool checks the rules' syntax).
fn every_name_the_dashboard_and_alerts_use_is_scraped(text: &str) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy");
    let scraped: std::collections::HashSet<&str> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(['{', ' ']).next())
        .collect();
    for file in [
        "grafana/dashboards/kicer.json",
        "prometheus/kicer-alerts.yml",
    ] {
        let source = std::fs::read_to_string(root.join(file)).expect("deploy file");
        let mut used = 0;
        for (at, _) in source.match_indices("kicer_") {
            let name: String = source[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            used += 1;
            assert!(
                scraped.contains(name.as_str()),
                "{file} uses {name}, which no scrape has"
            );
        }
        assert!(used > 3, "{file} names no kicer series");
    }
}
