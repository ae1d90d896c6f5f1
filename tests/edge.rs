//! The server's edge, through the real server on a loopback port:
//! connections that send nothing are closed, malformed requests are the
//! client's error, directory records are bounded, and a call is not held
//! back by Nagle's algorithm. Every test is bounded to a few seconds.

mod common;

use common::{spawn_app, spawn_app_with, TestApp};
use kicer::grpc::proto;
use kicer::grpc::proto::question_service_client::QuestionServiceClient;
use kicer::grpc::{ServerOptions, MAX_TERMS};
use prost::bytes::{Buf, BufMut};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::Code;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

/// The timing tests measure latency: run them one at a time so they do
/// not compete for the machine's cores.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A first-request timeout short enough for a test.
const SHORT: Duration = Duration::from_secs(1);

async fn app_with_short_timeout() -> TestApp {
    spawn_app_with(ServerOptions {
        drain_timeout: Duration::from_secs(2),
        first_request_timeout: SHORT,
        ..ServerOptions::default()
    })
    .await
}

/// Health/Check on the app's channel, and how long it took.
async fn health_check(app: &TestApp) -> Duration {
    let mut health = HealthClient::new(app.channel.clone());
    let start = Instant::now();
    health
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("health answers");
    start.elapsed()
}

/// Reads until the server closes the connection (end of file or a reset);
/// panics if it is still open after `within`.
async fn closed_by_server(mut socket: TcpStream, within: Duration) {
    let mut buf = [0u8; 1024];
    let read_to_end = async {
        loop {
            match socket.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(within, read_to_end)
        .await
        .expect("the server closes a connection that sends no request");
}

/// What an HTTP/2 client sends first: the preface and an empty SETTINGS
/// frame, and then (here) nothing more.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00";

#[tokio::test]
async fn a_silent_socket_and_a_preface_only_connection_are_closed_in_time() {
    let _serial = SERIAL.lock().await;
    let app = app_with_short_timeout().await;
    // The first call marks the app's own connection as a real client.
    health_check(&app).await;

    let silent = TcpStream::connect(app.address).await.expect("connect");
    let mut preface = TcpStream::connect(app.address).await.expect("connect");
    preface.write_all(H2_PREFACE).await.expect("write preface");
    let start = Instant::now();
    let deadline = SHORT + Duration::from_secs(3);
    let (silent_closed, preface_closed, ()) = tokio::join!(
        async {
            closed_by_server(silent, deadline).await;
            start.elapsed()
        },
        async {
            closed_by_server(preface, deadline).await;
            start.elapsed()
        },
        async {
            // Health keeps answering while the silent ones wait.
            for _ in 0..10 {
                health_check(&app).await;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    );
    for closed in [silent_closed, preface_closed] {
        assert!(closed >= SHORT - Duration::from_millis(200), "{closed:?}");
    }
    health_check(&app).await;
    app.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn three_hundred_idle_connections_are_closed_and_health_stays_fast() {
    let _serial = SERIAL.lock().await;
    let app = app_with_short_timeout().await;
    health_check(&app).await;

    let mut idle = Vec::new();
    for _ in 0..300 {
        idle.push(TcpStream::connect(app.address).await.expect("connect"));
    }
    let deadline = SHORT + Duration::from_secs(4);
    let closing = tokio::spawn(async move {
        let mut all = tokio::task::JoinSet::new();
        for socket in idle {
            all.spawn(closed_by_server(socket, deadline));
        }
        while let Some(done) = all.join_next().await {
            done.expect("every idle connection is closed in time");
        }
    });
    let mut slowest = Duration::ZERO;
    while !closing.is_finished() {
        slowest = slowest.max(health_check(&app).await);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    closing
        .await
        .expect("every idle connection is closed in time");
    assert!(
        slowest < Duration::from_millis(100),
        "Health/Check took {slowest:?} while 300 idle connections were open"
    );
    app.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn a_channel_closed_before_its_first_call_reconnects() {
    let _serial = SERIAL.lock().await;
    let app = app_with_short_timeout().await;
    // The app's channel connected at start and sent nothing: the server
    // has closed that connection by now; the next call reconnects (and
    // must not fail).
    tokio::time::sleep(SHORT + Duration::from_millis(500)).await;
    health_check(&app).await;
    app.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn open_event_and_health_watches_outlive_the_first_request_timeout() {
    let _serial = SERIAL.lock().await;
    let mut app = app_with_short_timeout().await;
    // Own connections, whose first (and only) requests are the watches.
    let connect = || async {
        tonic::transport::Channel::from_shared(format!("http://{}", app.address))
            .expect("url")
            .connect()
            .await
            .expect("connect")
    };
    let mut events = QuestionServiceClient::new(connect().await)
        .watch_events(proto::WatchEventsRequest::default())
        .await
        .expect("watch events")
        .into_inner();
    let mut health = HealthClient::new(connect().await)
        .watch(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("watch health")
        .into_inner();
    health
        .message()
        .await
        .expect("health status")
        .expect("first status");
    tokio::time::sleep(SHORT * 3).await;
    let submitted = app.submit(common::CLEAR_QUESTION).await;
    let event = tokio::time::timeout(Duration::from_secs(5), events.message())
        .await
        .expect("an event within 5 s")
        .expect("the event stream is still open")
        .expect("an event");
    assert_eq!(
        event.question_id, submitted.id,
        "the watch sees the new question"
    );
    // Nothing new to report: the health watch waits, and is not closed.
    assert!(
        tokio::time::timeout(Duration::from_millis(300), health.message())
            .await
            .is_err(),
        "the health watch is still open"
    );
    app.shutdown().await.expect("clean shutdown");
}

/// Sends and receives message bodies as they are, to put bytes on the
/// wire that no generated client would.
#[derive(Debug, Clone, Copy, Default)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> RawCodec {
        RawCodec
    }

    fn decoder(&mut self) -> RawCodec {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, tonic::Status> {
        Ok(Some(src.copy_to_bytes(src.remaining()).to_vec()))
    }
}

/// Calls `method` with `body` as the request message.
async fn raw_call(
    app: &TestApp,
    method: &'static str,
    body: Vec<u8>,
) -> Result<Vec<u8>, tonic::Status> {
    let mut grpc = tonic::client::Grpc::new(app.channel.clone());
    grpc.ready().await.expect("channel ready");
    grpc.unary(
        tonic::Request::new(body),
        http::uri::PathAndQuery::from_static(method),
        RawCodec,
    )
    .await
    .map(tonic::Response::into_inner)
}

#[tokio::test]
async fn a_malformed_message_and_a_string_that_is_not_utf8_are_invalid_arguments() {
    let app = spawn_app().await;
    const CLASSIFY: &str = "/kicer.v1.QuestionService/ClassifyQuestion";
    // A field header, then a varint that never ends.
    let malformed = raw_call(&app, CLASSIFY, vec![0x10, 0xff, 0xff, 0xff])
        .await
        .expect_err("refused");
    assert_eq!(malformed.code(), Code::InvalidArgument, "{malformed:?}");
    assert!(
        malformed.message().contains("not a valid protobuf message"),
        "{malformed:?}"
    );
    // Field 1 (`text`), length 2, bytes that are not UTF-8.
    let not_utf8 = raw_call(&app, CLASSIFY, vec![0x0a, 0x02, 0xff, 0xfe])
        .await
        .expect_err("refused");
    assert_eq!(not_utf8.code(), Code::InvalidArgument, "{not_utf8:?}");
    assert!(not_utf8.message().contains("UTF-8"), "{not_utf8:?}");
    // A good message through the same raw path is answered, so the codec
    // above is not what is refused.
    let mut good = Vec::new();
    prost::Message::encode(
        &proto::ClassifyQuestionRequest {
            text: common::CLEAR_QUESTION.into(),
            ..Default::default()
        },
        &mut good,
    )
    .expect("encode");
    raw_call(&app, CLASSIFY, good)
        .await
        .expect("a well-formed message is answered");
    app.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn an_expert_with_a_hundred_thousand_terms_is_refused_naming_the_limit() {
    let mut app = spawn_app().await;
    let expert = proto::Expert {
        id: "veel-termen".into(),
        name: "Veel Termen".into(),
        expertise: (0..100_000)
            .map(|i| proto::WeightedTerm {
                term: format!("term{i}"),
                weight: 1.0,
            })
            .collect(),
        ..Default::default()
    };
    let err = app
        .directory
        .create_expert(proto::CreateExpertRequest {
            expert: Some(expert),
        })
        .await
        .expect_err("refused");
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert!(err.message().contains("expert.expertise"), "{err:?}");
    assert!(
        err.message().contains(&MAX_TERMS.to_string()),
        "{}",
        err.message()
    );
    app.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn a_hundred_kilobyte_id_gets_a_short_error() {
    let mut app = spawn_app().await;
    let long = "a".repeat(100_000);
    let err = app
        .directory
        .get_expert(proto::GetExpertRequest { id: long.clone() })
        .await
        .expect_err("refused");
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert!(err.message().len() < 300, "{} bytes", err.message().len());
    let err = app
        .questions
        .get_question(proto::GetQuestionRequest { id: long })
        .await
        .expect_err("refused");
    assert!(err.message().len() < 300, "{} bytes", err.message().len());
    app.shutdown().await.expect("clean shutdown");
}

/// The regression check of issue 11 for TCP_NODELAY, in the test build:
/// the median of 50 ClassifyQuestion calls over loopback is under 20 ms.
/// Without NODELAY a response written in pieces waits for the client's
/// delayed ACK, about 40 ms per call on Linux. This is a correctness check
/// with a 2× margin for a debug build on a machine busy with other tests,
/// not a benchmark; `.ci/external_client.py` holds the release server to
/// the 5 ms of the issue.
#[tokio::test]
async fn classify_question_is_not_held_back_by_nagle() {
    let _serial = SERIAL.lock().await;
    let mut app = spawn_app().await;
    // A short question, so the engine's work (slow in a debug build, on a
    // machine busy with other tests) stays far below the 5 ms: what is
    // measured is the transport. `.ci/external_client.py` checks the same
    // on the release server with the long example question.
    let request = || proto::ClassifyQuestionRequest {
        text: "Circulair inkopen?".into(),
        ..Default::default()
    };
    app.questions
        .classify_question(request())
        .await
        .expect("warm-up call");
    let mut took = Vec::with_capacity(50);
    for _ in 0..50 {
        let start = Instant::now();
        app.questions
            .classify_question(request())
            .await
            .expect("classify answers");
        took.push(start.elapsed());
    }
    took.sort();
    let median = took[took.len() / 2];
    assert!(
        median < Duration::from_millis(20),
        "median ClassifyQuestion call took {median:?} (TCP_NODELAY lost?)"
    );
    app.shutdown().await.expect("clean shutdown");
}

/// The CORS preflight a browser sends before a page of `origin` may call
/// DeleteExpert through gRPC-Web; the response head, lower-cased.
async fn preflight(app: &TestApp, origin: &str) -> String {
    let mut socket = TcpStream::connect(app.address).await.expect("connect");
    let request = format!(
        "OPTIONS /kicer.v1.DirectoryService/DeleteExpert HTTP/1.1\r\nHost: {}\r\nOrigin: {origin}\r\n\
         Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type,x-grpc-web\r\n\
         Connection: close\r\n\r\n",
        app.address
    );
    socket.write_all(request.as_bytes()).await.expect("send");
    let mut head = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), socket.read_to_end(&mut head)).await;
    String::from_utf8_lossy(&head).to_lowercase()
}

#[tokio::test]
async fn no_foreign_browser_origin_may_call_unless_it_is_configured() {
    let app = spawn_app().await;
    for origin in ["https://evil.example", "null"] {
        let head = preflight(&app, origin).await;
        assert!(head.starts_with("http/1.1"), "{head}");
        assert!(
            !head.contains("access-control-allow-origin"),
            "{origin} was allowed: {head}"
        );
    }
    app.shutdown().await.expect("clean stop");

    let app = spawn_app_with(ServerOptions {
        drain_timeout: Duration::from_secs(2),
        cors_origins: vec!["https://dashboard.gemeente.nl".into()],
        ..ServerOptions::default()
    })
    .await;
    let head = preflight(&app, "https://dashboard.gemeente.nl").await;
    assert!(
        head.contains("access-control-allow-origin: https://dashboard.gemeente.nl"),
        "{head}"
    );
    let head = preflight(&app, "https://evil.example").await;
    assert!(!head.contains("access-control-allow-origin"), "{head}");
    app.shutdown().await.expect("clean stop");
}

#[tokio::test]
async fn calls_beyond_the_limit_are_shed_at_once_while_health_checks_answer() {
    let _serial = SERIAL.lock().await;
    let app = spawn_app_with(ServerOptions {
        drain_timeout: Duration::from_secs(2),
        max_in_flight: 1,
        ..ServerOptions::default()
    })
    .await;
    // 64 durable submits at once over 8 connections: with one place, most
    // find it taken.
    let mut calls = Vec::new();
    for c in 0..8 {
        let channel = tonic::transport::Channel::from_shared(format!("http://{}", app.address))
            .unwrap()
            .connect()
            .await
            .unwrap();
        for i in 0..8 {
            let mut client = QuestionServiceClient::new(channel.clone());
            calls.push(tokio::spawn(async move {
                client
                    .submit_question(common::submit_request(&format!(
                        "Hoe kopen we circulair meubilair in, vraag {c}-{i}?"
                    )))
                    .await
            }));
        }
    }
    let mut slowest_health = Duration::ZERO;
    for _ in 0..20 {
        slowest_health = slowest_health.max(health_check(&app).await);
    }
    let (mut ok, mut shed) = (0, 0);
    for call in calls {
        match call.await.unwrap() {
            Ok(_) => ok += 1,
            Err(status) => {
                assert_eq!(status.code(), Code::Unavailable, "{status:?}");
                assert!(status.message().contains("retry after"), "{status:?}");
                assert_eq!(
                    status.metadata().get("grpc-retry-pushback-ms").unwrap(),
                    "100"
                );
                shed += 1;
            }
        }
    }
    assert!(ok >= 1 && shed >= 1, "ok {ok}, shed {shed}");
    assert!(
        slowest_health < Duration::from_millis(100),
        "Health/Check took {slowest_health:?} under load"
    );
    app.shutdown().await.expect("clean stop");
}

#[tokio::test]
async fn watch_streams_beyond_the_limit_are_refused_until_one_closes() {
    let app = spawn_app_with(ServerOptions {
        drain_timeout: Duration::from_secs(2),
        max_watchers: 2,
        ..ServerOptions::default()
    })
    .await;
    let mut client = app.questions.clone();
    let first = client
        .watch_events(proto::WatchEventsRequest::default())
        .await
        .expect("first watcher");
    let _second = client
        .watch_events(proto::WatchEventsRequest::default())
        .await
        .expect("second watcher");
    let refused = client
        .watch_events(proto::WatchEventsRequest::default())
        .await
        .expect_err("a third watcher is over the limit");
    assert_eq!(refused.code(), Code::ResourceExhausted);
    assert!(
        refused.message().contains("2 WatchEvents streams"),
        "{refused:?}"
    );
    drop(first);
    // The server notices the closed stream and gives its place back.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match client
            .watch_events(proto::WatchEventsRequest::default())
            .await
        {
            Ok(_) => break,
            Err(e) if e.code() == Code::ResourceExhausted && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            Err(e) => panic!("the place was not given back: {e:?}"),
        }
    }
    app.shutdown().await.expect("clean stop");
}

#[tokio::test]
async fn a_call_whose_deadline_passes_is_answered_at_the_deadline() {
    let mut app = spawn_app().await;
    // An import of 2,000 experts rebuilds the index: far longer than 20 ms.
    let experts: Vec<proto::Expert> = (0..2_000)
        .map(|i| proto::Expert {
            id: format!("expert-{i}"),
            name: format!("Expert {i}"),
            themes: vec!["procurement".into()],
            expertise: (0..20)
                .map(|t| proto::WeightedTerm {
                    term: format!("onderwerp{i}x{t}"),
                    weight: 1.0,
                })
                .collect(),
            ..Default::default()
        })
        .collect();
    let mut request = tonic::Request::new(proto::ImportExpertsRequest { experts });
    request.set_timeout(Duration::from_millis(20));
    let start = std::time::Instant::now();
    let err = app
        .directory
        .import_experts(request)
        .await
        .expect_err("the deadline passes first");
    let took = start.elapsed();
    assert_eq!(err.code(), Code::Cancelled, "{err:?}");
    assert!(err.message().contains("Timeout"), "{err:?}");
    assert!(took < Duration::from_millis(500), "answered after {took:?}");
    health_check(&app).await;
    app.shutdown().await.expect("clean stop");
}
