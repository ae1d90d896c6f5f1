//! Access control through the real server: every RPC with every role, no
//! token and a wrong token against the role table in `docs/api.md`;
//! portals kept out of each other's questions; who is recorded as the
//! actor; rate limits and per-client watch caps.

mod common;

use common::{clients, spawn_app_with, submit_request, with_token, TestApp, CLEAR_QUESTION};
use kicer::auth::{RateLimits, Role};
use kicer::grpc::{proto, ServerOptions};
use std::time::Duration;
use tonic::Code;

const PORTAL_A: &str = "token-portal-a";
const PORTAL_B: &str = "token-portal-b";
const TRIAGE: &str = "token-triage";
const DASHBOARD: &str = "token-dashboard";
const ADMIN: &str = "token-admin";

fn options(rates: RateLimits) -> ServerOptions {
    ServerOptions {
        drain_timeout: Duration::from_secs(2),
        access: clients(
            &[
                ("portal-a", Role::Portal, PORTAL_A),
                ("portal-b", Role::Portal, PORTAL_B),
                ("core-team", Role::Triage, TRIAGE),
                ("dash", Role::Dashboard, DASHBOARD),
                ("ops", Role::Admin, ADMIN),
            ],
            rates,
        ),
        ..ServerOptions::default()
    }
}

async fn spawn() -> TestApp {
    spawn_app_with(options(RateLimits {
        portal: 10_000,
        triage: 10_000,
        dashboard: 10_000,
        admin: 10_000,
    }))
    .await
}

/// The role table as `docs/api.md` documents it: (method path, allowed
/// per role in the order portal, triage, dashboard, admin).
fn documented_table() -> Vec<(String, [bool; 4])> {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/api.md"))
        .expect("docs/api.md");
    let mut rows = Vec::new();
    for line in doc.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // | `Service/Method` | portal | triage | dashboard | admin |
        if cells.len() != 7 || !cells[1].starts_with('`') || !cells[1].contains("Service/") {
            continue;
        }
        let method = cells[1].trim_matches('`');
        let allowed = |c: &str| match c.split(':').next().unwrap_or(c).trim() {
            "yes" | "own" => true,
            "no" => false,
            other => {
                panic!("docs/api.md: `{other}` in the row of {method} is neither yes, own nor no")
            }
        };
        rows.push((
            format!("/kicer.v1.{method}"),
            [
                allowed(cells[2]),
                allowed(cells[3]),
                allowed(cells[4]),
                allowed(cells[5]),
            ],
        ));
    }
    rows
}

/// Calls `path` with an empty request message (every field at its
/// default) and the given authorization, and returns the code.
async fn call(app: &TestApp, path: &str, token: Option<&str>) -> Code {
    let mut grpc = tonic::client::Grpc::new(app.channel.clone());
    grpc.ready().await.expect("channel ready");
    let mut request = tonic::Request::new(());
    if let Some(t) = token {
        request.metadata_mut().insert(
            "authorization",
            format!("Bearer {t}").parse().expect("ascii"),
        );
    }
    let path: http::uri::PathAndQuery = path.parse().expect("path");
    let codec = tonic_prost::ProstCodec::<(), ()>::default();
    let result = if path.path().ends_with("/WatchEvents") {
        grpc.server_streaming(request, path, codec)
            .await
            .map(|_| ())
    } else {
        grpc.unary(request, path, codec).await.map(|_| ())
    };
    match result {
        Ok(()) => Code::Ok,
        Err(status) => status.code(),
    }
}

#[tokio::test]
async fn every_rpc_answers_each_role_as_the_documented_table_says() {
    let app = spawn().await;
    let table = documented_table();
    assert_eq!(
        table.len(),
        kicer::grpc::ROLES.len(),
        "docs/api.md lists every RPC"
    );
    let tokens = [PORTAL_A, TRIAGE, DASHBOARD, ADMIN];
    let mut wrong = Vec::new();
    for (path, allowed) in &table {
        for (role, token) in tokens.iter().enumerate() {
            let code = call(&app, path, Some(token)).await;
            let denied = matches!(code, Code::PermissionDenied | Code::Unauthenticated);
            if denied == allowed[role] {
                wrong.push(format!("{path} as {:?}: {code:?}", Role::ALL[role]));
            }
            if !allowed[role] && code != Code::PermissionDenied {
                wrong.push(format!(
                    "{path} as {:?}: {code:?}, not PERMISSION_DENIED",
                    Role::ALL[role]
                ));
            }
        }
        for token in [None, Some("not-a-token")] {
            let code = call(&app, path, token).await;
            if code != Code::Unauthenticated {
                wrong.push(format!("{path} with token {token:?}: {code:?}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "differs from docs/api.md:\n{}",
        wrong.join("\n")
    );
}

#[tokio::test]
async fn health_answers_without_a_token_and_reflection_needs_one() {
    let app = spawn().await;
    let mut health = tonic_health::pb::health_client::HealthClient::new(app.channel.clone());
    let reply = health
        .check(tonic_health::pb::HealthCheckRequest::default())
        .await
        .expect("health needs no token");
    assert_eq!(reply.into_inner().status, 1);
    let path = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo";
    let mut grpc = tonic::client::Grpc::new(app.channel.clone());
    for (token, expected) in [(None, Code::Unauthenticated), (Some(DASHBOARD), Code::Ok)] {
        grpc.ready().await.unwrap();
        let message = tonic_reflection::pb::v1::ServerReflectionRequest {
            host: String::new(),
            message_request: Some(
                tonic_reflection::pb::v1::server_reflection_request::MessageRequest::ListServices(
                    String::new(),
                ),
            ),
        };
        let mut request = tonic::Request::new(tokio_stream::iter([message]));
        if let Some(t) = token {
            request
                .metadata_mut()
                .insert("authorization", format!("Bearer {t}").parse().unwrap());
        }
        let result = grpc
            .streaming(
                request,
                path.parse().unwrap(),
                tonic_prost::ProstCodec::<
                    tonic_reflection::pb::v1::ServerReflectionRequest,
                    tonic_reflection::pb::v1::ServerReflectionResponse,
                >::default(),
            )
            .await;
        let code = match result {
            Ok(mut stream) => match stream.get_mut().message().await {
                Ok(_) => Code::Ok,
                Err(s) => s.code(),
            },
            Err(s) => s.code(),
        };
        assert_eq!(code, expected, "reflection with {token:?}");
    }
}

fn portal_submit(text: &str) -> proto::SubmitQuestionRequest {
    proto::SubmitQuestionRequest {
        portal: String::new(),
        ..submit_request(text)
    }
}

#[tokio::test]
async fn a_portal_cannot_see_list_or_act_on_another_portals_question() {
    let mut app = spawn().await;
    let theirs = app
        .questions
        .submit_question(with_token(portal_submit(CLEAR_QUESTION), PORTAL_A))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(theirs.portal, "portal-a", "the portal comes from the token");
    let id = theirs.id.clone();
    let missing = app
        .questions
        .get_question(with_token(
            proto::GetQuestionRequest { id: "q9999".into() },
            PORTAL_B,
        ))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    // Exactly what a question that does not exist gets, with its id.
    let expected = missing.message().replace("q9999", &id);

    let got = app
        .questions
        .get_question(with_token(
            proto::GetQuestionRequest { id: id.clone() },
            PORTAL_B,
        ))
        .await
        .unwrap_err();
    assert_eq!(
        (got.code(), got.message()),
        (Code::NotFound, expected.as_str())
    );
    let history = app
        .questions
        .get_question_history(with_token(
            proto::GetQuestionHistoryRequest { id: id.clone() },
            PORTAL_B,
        ))
        .await
        .unwrap_err();
    assert_eq!(
        (history.code(), history.message()),
        (Code::NotFound, expected.as_str())
    );
    let close = app
        .questions
        .close_question(with_token(
            proto::CloseQuestionRequest {
                id: id.clone(),
                ..Default::default()
            },
            PORTAL_B,
        ))
        .await
        .unwrap_err();
    assert_eq!(
        (close.code(), close.message()),
        (Code::NotFound, expected.as_str())
    );
    let reopen = app
        .questions
        .reopen_question(with_token(
            proto::ReopenQuestionRequest {
                id: id.clone(),
                ..Default::default()
            },
            PORTAL_B,
        ))
        .await
        .unwrap_err();
    assert_eq!(reopen.code(), Code::NotFound);
    let like = app
        .questions
        .find_similar_questions(with_token(
            proto::FindSimilarQuestionsRequest {
                id: id.clone(),
                ..Default::default()
            },
            PORTAL_B,
        ))
        .await
        .unwrap_err();
    assert_eq!(like.code(), Code::NotFound);

    // Listing: each portal sees its own only; the core team sees both.
    app.questions
        .submit_question(with_token(
            portal_submit("Hoe zetten we een kringloopwinkel op?"),
            PORTAL_B,
        ))
        .await
        .unwrap();
    let list = |token: &'static str| {
        let mut client = app.questions.clone();
        async move {
            client
                .list_questions(with_token(proto::ListQuestionsRequest::default(), token))
                .await
                .unwrap()
                .into_inner()
                .questions
                .into_iter()
                .map(|q| q.portal)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(list(PORTAL_B).await, ["portal-b"]);
    assert_eq!(list(PORTAL_A).await, ["portal-a"]);
    assert_eq!(list(TRIAGE).await.len(), 2);

    // The owner may act on it as the asker would.
    let own = app
        .questions
        .get_question(with_token(
            proto::GetQuestionRequest { id: id.clone() },
            PORTAL_A,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(own.id, id);
}

#[tokio::test]
async fn a_portal_may_not_claim_another_portal_name() {
    let mut app = spawn().await;
    let refused = app
        .questions
        .submit_question(with_token(
            proto::SubmitQuestionRequest {
                portal: "portal-b".into(),
                ..submit_request(CLEAR_QUESTION)
            },
            PORTAL_A,
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(refused.message().contains("portal-a"), "{refused:?}");
}

#[tokio::test]
async fn a_portal_watches_only_its_own_questions() {
    let mut app = spawn().await;
    let mut watch = app
        .questions
        .watch_events(with_token(proto::WatchEventsRequest::default(), PORTAL_B))
        .await
        .unwrap()
        .into_inner();
    let a = app
        .questions
        .submit_question(with_token(portal_submit(CLEAR_QUESTION), PORTAL_A))
        .await
        .unwrap()
        .into_inner();
    let b = app
        .questions
        .submit_question(with_token(
            portal_submit("Hoe gaan we om met bouwafval?"),
            PORTAL_B,
        ))
        .await
        .unwrap()
        .into_inner();
    let first = tokio::time::timeout(Duration::from_secs(5), watch.message())
        .await
        .expect("an event arrives")
        .unwrap()
        .unwrap();
    assert_eq!(first.question_id, b.id, "{} is portal-a's", a.id);
}

#[tokio::test]
async fn similar_questions_of_other_portals_show_only_once_answered() {
    let mut app = spawn().await;
    let text = "Welke criteria gebruiken we voor circulair inkopen van meubilair?";
    let a = app
        .questions
        .submit_question(with_token(portal_submit(text), PORTAL_A))
        .await
        .unwrap()
        .into_inner();
    let similar_for_b = |app: &TestApp| {
        let mut client = app.questions.clone();
        async move {
            client
                .find_similar_questions(with_token(
                    proto::FindSimilarQuestionsRequest {
                        text: text.into(),
                        ..Default::default()
                    },
                    PORTAL_B,
                ))
                .await
                .unwrap()
                .into_inner()
                .similar
        }
    };
    assert!(similar_for_b(&app).await.iter().all(|s| s.id != a.id));
    let visible_to_a = app
        .questions
        .find_similar_questions(with_token(
            proto::FindSimilarQuestionsRequest {
                text: text.into(),
                ..Default::default()
            },
            PORTAL_A,
        ))
        .await
        .unwrap()
        .into_inner()
        .similar;
    assert!(
        visible_to_a.iter().any(|s| s.id == a.id),
        "its own question"
    );

    // The core team answers it: now portal-b may reuse the answer.
    let mut q = a.clone();
    if q.status == proto::Status::Triage as i32 {
        q = app
            .triage
            .route_question(with_token(
                proto::RouteQuestionRequest {
                    id: q.id.clone(),
                    provider_id: "pianoo".into(),
                    ..Default::default()
                },
                TRIAGE,
            ))
            .await
            .unwrap()
            .into_inner();
    }
    app.questions
        .accept_question(with_token(
            proto::AcceptQuestionRequest {
                id: q.id.clone(),
                ..Default::default()
            },
            TRIAGE,
        ))
        .await
        .unwrap();
    app.questions
        .answer_question(with_token(
            proto::AnswerQuestionRequest {
                id: q.id.clone(),
                answer: "Gebruik de MVI-criteria van PIANOo.".into(),
                ..Default::default()
            },
            TRIAGE,
        ))
        .await
        .unwrap();
    let found = similar_for_b(&app).await;
    let shown = found
        .iter()
        .find(|s| s.id == a.id)
        .expect("answered: shown");
    assert_eq!(shown.answer, "Gebruik de MVI-criteria van PIANOo.");
    assert_eq!(shown.text, text);
}

#[tokio::test]
async fn the_history_records_the_client_and_whom_it_acted_for() {
    let mut app = spawn().await;
    let q = app
        .questions
        .submit_question(with_token(
            proto::SubmitQuestionRequest {
                actor: "jan@zwolle.nl".into(),
                ..portal_submit(CLEAR_QUESTION)
            },
            PORTAL_A,
        ))
        .await
        .unwrap()
        .into_inner();
    let history = app
        .questions
        .get_question_history(with_token(
            proto::GetQuestionHistoryRequest { id: q.id },
            TRIAGE,
        ))
        .await
        .unwrap()
        .into_inner()
        .events;
    let first = &history[0];
    assert_eq!(
        first.actor, "portal-a",
        "the token's client, not the request's word"
    );
    assert_eq!(first.on_behalf_of, "jan@zwolle.nl");
}

#[tokio::test]
async fn a_dashboard_sees_knowledge_gaps_without_the_questions_in_them() {
    let mut app = spawn().await;
    for _ in 0..3 {
        app.questions
            .submit_question(with_token(portal_submit("Wat is het eigenlijk?"), PORTAL_A))
            .await
            .unwrap();
    }
    let gaps = |token: &'static str| {
        let mut client = app.insights.clone();
        async move {
            client
                .get_knowledge_gaps(with_token(proto::GetKnowledgeGapsRequest::default(), token))
                .await
                .unwrap()
                .into_inner()
                .gaps
        }
    };
    let for_triage = gaps(TRIAGE).await;
    assert!(!for_triage.is_empty() && !for_triage[0].examples.is_empty());
    let for_dashboard = gaps(DASHBOARD).await;
    assert_eq!(for_dashboard.len(), for_triage.len());
    assert!(for_dashboard.iter().all(|g| g.examples.is_empty()));
}

#[tokio::test]
async fn a_client_over_its_rate_is_told_to_retry_later_while_others_go_on() {
    let app = spawn_app_with(options(RateLimits {
        portal: 3,
        ..RateLimits::default()
    }))
    .await;
    let mut client = app.questions.clone();
    let classify = || proto::ClassifyQuestionRequest {
        text: CLEAR_QUESTION.into(),
        ..Default::default()
    };
    let mut refused = None;
    for _ in 0..10 {
        if let Err(s) = client
            .classify_question(with_token(classify(), PORTAL_A))
            .await
        {
            refused = Some(s);
            break;
        }
    }
    let refused = refused.expect("a portal allowed 3 calls a second is refused within 10");
    assert_eq!(refused.code(), Code::ResourceExhausted);
    assert!(
        refused.message().contains("3 calls a second"),
        "{refused:?}"
    );
    assert!(refused.metadata().get("grpc-retry-pushback-ms").is_some());
    client
        .classify_question(with_token(classify(), PORTAL_B))
        .await
        .expect("another portal has its own allowance");
    let mut health = tonic_health::pb::health_client::HealthClient::new(app.channel.clone());
    health
        .check(tonic_health::pb::HealthCheckRequest::default())
        .await
        .expect("health is never rate limited");
}

#[tokio::test]
async fn one_client_cannot_hold_more_watch_streams_than_its_share() {
    let app = spawn_app_with(ServerOptions {
        max_watchers_per_client: 2,
        ..options(RateLimits::default())
    })
    .await;
    let mut client = app.questions.clone();
    let open = |token: &'static str| {
        let mut c = client.clone();
        async move {
            c.watch_events(with_token(proto::WatchEventsRequest::default(), token))
                .await
        }
    };
    let _a1 = open(TRIAGE).await.unwrap();
    let _a2 = open(TRIAGE).await.unwrap();
    let refused = open(TRIAGE).await.unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted);
    assert!(refused.message().contains("core-team"), "{refused:?}");
    let _b = open(ADMIN).await.expect("another client has its own share");
    let _ = client
        .classify_question(with_token(
            proto::ClassifyQuestionRequest {
                text: CLEAR_QUESTION.into(),
                ..Default::default()
            },
            TRIAGE,
        ))
        .await
        .expect("unary calls are not affected");
}
