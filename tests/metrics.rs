//! The Prometheus exposition of the real binary (`--metrics-listen`),
//! parsed as Prometheus reads it: every call counted by method and code,
//! the answer lead times as GetLeadTimes gives them, routing outcomes, the
//! queue and the disk, with bounded labels and nothing of any question's
//! content.

mod common;

use common::{spawn_binary_reading, submit_request, CLEAR_QUESTION, VAGUE_QUESTION};
use kicer::grpc::proto;
use kicer::grpc::proto::insights_service_client::InsightsServiceClient;
use kicer::grpc::proto::question_service_client::QuestionServiceClient;
use kicer::grpc::proto::triage_service_client::TriageServiceClient;
use std::collections::BTreeMap;
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

/// A parsed scrape, as Prometheus reads it.
fn parse(text: &str) -> prometheus_parse::Scrape {
    prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string())))
        .expect("the scrape parses as Prometheus text")
}

/// The value of the counter or gauge `metric` with exactly these labels.
fn value(scrape: &prometheus_parse::Scrape, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape
        .samples
        .iter()
        .find(|s| {
            s.metric == metric
                && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v))
                && s.labels.len() == labels.len()
        })
        .map(|s| match &s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => *v,
            other => panic!("{metric} is {other:?}"),
        })
}

/// How many observations the histogram `metric` with these labels holds
/// (its +Inf bucket).
fn observations(scrape: &prometheus_parse::Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .samples
        .iter()
        .find(|s| s.metric == metric && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map_or(0.0, |s| match &s.value {
            prometheus_parse::Value::Histogram(buckets) => buckets
                .iter()
                .find(|b| b.less_than.is_infinite())
                .map_or(0.0, |b| b.count),
            other => panic!("{metric} is {other:?}"),
        })
}

/// Submits, classifies, reads, routes, accepts and answers, counting every
/// call by method and code as it goes.
struct Workload {
    questions: QuestionServiceClient<tonic::transport::Channel>,
    triage: TriageServiceClient<tonic::transport::Channel>,
    sent: BTreeMap<(String, String), f64>,
}

impl Workload {
    fn count<T>(&mut self, method: &str, r: &Result<T, tonic::Status>) {
        let code = match r {
            Ok(_) => "OK".to_string(),
            Err(s) => format!("{:?}", s.code()),
        };
        let code = match code.as_str() {
            "InvalidArgument" => "INVALID_ARGUMENT".to_string(),
            "NotFound" => "NOT_FOUND".to_string(),
            other => other.to_uppercase(),
        };
        *self.sent.entry((method.to_string(), code)).or_default() += 1.0;
    }

    async fn submit(&mut self, text: &str) -> Option<proto::Question> {
        let r = self.questions.submit_question(submit_request(text)).await;
        self.count("SubmitQuestion", &r);
        r.ok().map(tonic::Response::into_inner)
    }

    /// Routed by the core team when the engine left it in triage, then
    /// accepted and answered.
    async fn answer(&mut self, text: &str) {
        let mut q = self.submit(text).await.expect("submit");
        if q.status == proto::Status::Triage as i32 {
            let r = self
                .triage
                .route_question(proto::RouteQuestionRequest {
                    id: q.id.clone(),
                    provider_id: "pianoo".into(),
                    etag: q.etag.clone(),
                    reason: "procurement".into(),
                    ..Default::default()
                })
                .await;
            self.count("RouteQuestion", &r);
            q = r.expect("route").into_inner();
        }
        let r = self
            .questions
            .accept_question(proto::AcceptQuestionRequest {
                id: q.id.clone(),
                etag: q.etag.clone(),
                ..Default::default()
            })
            .await;
        self.count("AcceptQuestion", &r);
        let q = r.expect("accept").into_inner();
        let r = self
            .questions
            .answer_question(proto::AnswerQuestionRequest {
                id: q.id.clone(),
                etag: q.etag,
                answer: "Gebruik de MVI-criteriatool.".into(),
                ..Default::default()
            })
            .await;
        self.count("AnswerQuestion", &r);
        r.expect("answer");
    }
}

#[tokio::test]
async fn a_scrape_counts_every_call_matches_the_lead_times_and_has_bounded_labels() {
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
    let channel = tonic::transport::Channel::from_shared(app.url.clone())
        .expect("url")
        .connect()
        .await
        .expect("connects");
    let mut w = Workload {
        questions: QuestionServiceClient::new(channel.clone()),
        triage: TriageServiceClient::new(channel.clone()),
        sent: BTreeMap::new(),
    };
    for text in [
        CLEAR_QUESTION,
        "Hoe zetten we een proef op met hergebruik van bouwmaterialen in de wegenbouw?",
        "Welke partners hebben we nodig voor een regionale grondstoffenketen?",
    ] {
        w.answer(text).await;
    }
    let vague = w.submit(VAGUE_QUESTION).await.expect("submit");
    for _ in 0..2 {
        let r = w
            .questions
            .submit_question(proto::SubmitQuestionRequest::default())
            .await;
        assert_eq!(
            r.as_ref().expect_err("refused").code(),
            tonic::Code::InvalidArgument
        );
        w.count("SubmitQuestion", &r);
    }
    for text in [
        "circulair inkopen",
        "hergebruik van beton",
        "Wat is een grondstoffenpaspoort?",
    ] {
        let r = w
            .questions
            .classify_question(proto::ClassifyQuestionRequest {
                text: text.into(),
                ..Default::default()
            })
            .await;
        w.count("ClassifyQuestion", &r);
    }
    for id in [vague.id.as_str(), "q1", "q999"] {
        let r = w
            .questions
            .get_question(proto::GetQuestionRequest { id: id.into() })
            .await;
        w.count("GetQuestion", &r);
    }
    let mut insights = InsightsServiceClient::new(channel.clone());
    let mut lead = BTreeMap::new();
    for clock in [
        proto::LeadTimeClock::Calendar,
        proto::LeadTimeClock::WorkingHours,
    ] {
        let r = insights
            .get_lead_times(proto::GetLeadTimesRequest {
                metric: proto::LeadTimeMetric::TimeToAnswer as i32,
                clock: clock as i32,
                group_by: proto::LeadTimeGrouping::Category as i32,
                ..Default::default()
            })
            .await;
        w.count("GetLeadTimes", &r);
        lead.insert(clock, r.expect("lead times").into_inner().groups);
    }

    // Events reach the metrics a moment after the reply.
    let started = Instant::now();
    let (text, scrape) = loop {
        let (status, text) = get(&metrics, "/metrics");
        assert!(status.contains("200"), "{status}");
        let scrape = parse(&text);
        let answered: f64 = ["STRATEGY", "COLLABORATION", "EXECUTION", "SPECIFIC"]
            .iter()
            .map(|c| {
                observations(
                    &scrape,
                    "kicer_answer_lead_time_seconds",
                    &[("category", c), ("clock", "calendar")],
                )
            })
            .sum();
        if answered >= 3.0 {
            break (text, scrape);
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "answers not counted:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    // Every call sent, by method and code, and nothing else.
    let mut counted = BTreeMap::new();
    for s in &scrape.samples {
        if s.metric == "kicer_grpc_requests_total" {
            let key = (
                s.labels.get("method").unwrap_or_default().to_string(),
                s.labels.get("code").unwrap_or_default().to_string(),
            );
            if let prometheus_parse::Value::Counter(v) = s.value {
                counted.insert(key, v);
            }
        }
    }
    assert_eq!(counted, w.sent);

    // The lead times: as many answers per category and clock as
    // GetLeadTimes counts, with its percentiles.
    for (clock, label) in [
        (proto::LeadTimeClock::Calendar, "calendar"),
        (proto::LeadTimeClock::WorkingHours, "working_hours"),
    ] {
        assert!(!lead[&clock].is_empty());
        for g in &lead[&clock] {
            let labels = [("category", g.group.as_str()), ("clock", label)];
            assert_eq!(
                observations(&scrape, "kicer_answer_lead_time_seconds", &labels),
                g.count as f64,
                "{labels:?}"
            );
            let p50 = g.p50.as_ref().expect("p50");
            let seconds = p50.seconds as f64 + f64::from(p50.nanos) / 1e9;
            let gauge = value(
                &scrape,
                "kicer_answer_lead_time_last_12_months_seconds",
                &[
                    ("category", &g.group),
                    ("clock", label),
                    ("percentile", "50"),
                ],
            )
            .expect("p50 gauge");
            assert!(
                (gauge - seconds).abs() < 1e-9,
                "{labels:?}: {gauge} vs {seconds}"
            );
            if clock == proto::LeadTimeClock::Calendar {
                assert_eq!(
                    value(
                        &scrape,
                        "kicer_answered_last_12_months",
                        &[("category", &g.group)]
                    ),
                    Some(g.count as f64)
                );
            }
        }
    }

    let series = |m: &str, l: &[(&str, &str)]| {
        value(&scrape, m, l).unwrap_or_else(|| panic!("no {m} {l:?} in\n{text}"))
    };
    assert_eq!(
        series(
            "kicer_routing_outcomes_total",
            &[("outcome", "triage"), ("cause", "no_category")]
        ),
        1.0
    );
    assert_eq!(series("kicer_open_questions", &[("status", "TRIAGE")]), 1.0);
    assert!(series("kicer_triage_oldest_age_seconds", &[]) >= 0.0);
    assert!(series("kicer_store_size_bytes", &[]) > 0.0);
    assert!(series("kicer_similar_searches_total", &[]) >= 4.0);
    assert_eq!(
        series(
            "kicer_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        1.0
    );
    // Nothing of the questions or their askers in any label.
    for secret in ["Zwolle", "q1", "q999", "criteria", "test", "pianoo"] {
        for s in &scrape.samples {
            assert!(
                !s.labels.values().any(|v| v.contains(secret)),
                "`{secret}` in a label of {}: {:?}",
                s.metric,
                s.labels
            );
        }
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
