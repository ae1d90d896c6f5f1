//! One way to start kicer for a test: [`spawn_app`] runs the real server
//! in-process on an ephemeral port with a hand-set clock and a fresh data
//! directory; [`spawn_binary`] runs the real `kicer serve` process for the
//! tests that signal, kill and restart it.

#![allow(dead_code)] // each test file uses part of the helpers

use kicer::analysis::Analyzer;
use kicer::auth::{Access, ClientEntry, Clients, RateLimits, Registry, Role};
use kicer::grpc::proto::directory_service_client::DirectoryServiceClient;
use kicer::grpc::proto::insights_service_client::InsightsServiceClient;
use kicer::grpc::proto::question_service_client::QuestionServiceClient;
use kicer::grpc::proto::triage_service_client::TriageServiceClient;
use kicer::grpc::{self, proto, ServeError, ServerOptions};
use kicer::service::{RoutingPolicy, Service};
use kicer::store::{ManualTime, SledStore, StoreOptions};
use kicer::taxonomy::Taxonomy;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;

/// Monday 2 March 2026, 09:00 in Amsterdam: inside working hours.
pub const START_MS: i64 = 1_772_438_400_000;

/// A question the engine routes on its own (confident, procurement).
pub const CLEAR_QUESTION: &str = "Hoe halen we onze circulaire-inkoopdoelstellingen? Welke criteria gebruiken we bij aanbestedingen?";
/// A question with no evidence at all: it goes to triage.
pub const VAGUE_QUESTION: &str = "Wat is het eigenlijk?";

/// A running in-process server and clients for it.
pub struct TestApp {
    /// Where it listens.
    pub address: SocketAddr,
    /// The clock of the server.
    pub time: Arc<ManualTime>,
    /// Clients.
    pub questions: QuestionServiceClient<Channel>,
    pub triage: TriageServiceClient<Channel>,
    pub directory: DirectoryServiceClient<Channel>,
    pub insights: InsightsServiceClient<Channel>,
    /// A channel for other clients (health).
    pub channel: Channel,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<Result<(), ServeError>>>,
    dir: TempDir,
}

/// Starts the server on port 0 with a fresh store.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(ServerOptions {
        drain_timeout: Duration::from_secs(2),
        ..ServerOptions::default()
    })
    .await
}

/// Starts the server on port 0 with a fresh store and these options
/// (short timeouts for the tests of the server's edge).
pub async fn spawn_app_with(options: ServerOptions) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let time = Arc::new(ManualTime::new(START_MS));
    let store = SledStore::open(
        &dir.path().join("data"),
        StoreOptions::default(),
        time.clone(),
    )
    .expect("store opens");
    let taxonomy = Taxonomy::embedded(&Analyzer::new()).expect("embedded taxonomy");
    let service = Arc::new(
        Service::open(
            taxonomy,
            Arc::new(store),
            time.clone(),
            RoutingPolicy::default(),
        )
        .expect("service opens"),
    );
    service.spawn_learner();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind port 0");
    let address = listener.local_addr().expect("address");
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(grpc::serve(
        listener,
        service,
        async {
            let _ = stopped.await;
        },
        options,
    ));
    let channel = Channel::from_shared(format!("http://{address}"))
        .expect("url")
        .connect()
        .await
        .expect("server accepts connections");
    TestApp {
        address,
        time,
        questions: QuestionServiceClient::new(channel.clone()),
        triage: TriageServiceClient::new(channel.clone()),
        directory: DirectoryServiceClient::new(channel.clone()),
        insights: InsightsServiceClient::new(channel.clone()),
        channel,
        stop: Some(stop),
        server: Some(server),
        dir,
    }
}

impl TestApp {
    /// Submits a question as a municipality.
    pub async fn submit(&mut self, text: &str) -> proto::Question {
        self.questions
            .submit_question(submit_request(text))
            .await
            .expect("submit succeeds")
            .into_inner()
    }

    /// Sends the shutdown signal and waits for the server to stop.
    pub async fn shutdown(mut self) -> Result<(), ServeError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.server.take() {
            Some(handle) => handle.await.expect("server task does not panic"),
            None => Ok(()),
        }
    }

    /// The data directory's parent (kept until the app is dropped).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// A submit request from a municipality.
pub fn submit_request(text: &str) -> proto::SubmitQuestionRequest {
    proto::SubmitQuestionRequest {
        text: text.into(),
        organization_name: "Gemeente Zwolle".into(),
        organization_type: proto::OrganizationType::Gemeente as i32,
        region: "Overijssel".into(),
        portal: "test".into(),
        ..Default::default()
    }
}

/// Clients for [`ServerOptions::access`]: (name, role, token) each.
pub fn clients(list: &[(&str, Role, &str)], rates: RateLimits) -> Arc<Registry> {
    let entries: Vec<ClientEntry> = list
        .iter()
        .map(|(name, role, token)| ClientEntry {
            name: (*name).into(),
            role: *role,
            token_sha256: kicer::auth::token::sha256_hex(token),
        })
        .collect();
    let clients = Clients::new(&entries).expect("valid test clients");
    Arc::new(Registry::new(Access::new(clients, &rates)))
}

/// `message` as a request carrying `token` as its bearer token.
pub fn with_token<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("ASCII token"),
    );
    request
}

/// A running `kicer serve` process.
pub struct BinaryApp {
    /// The process.
    pub child: Child,
    /// Its URL.
    pub url: String,
    /// Its data directory.
    pub data_dir: PathBuf,
}

/// Starts `kicer serve --listen 127.0.0.1:0 --data-dir DIR` and reads the
/// address it prints.
pub fn spawn_binary(data_dir: &Path) -> BinaryApp {
    spawn_binary_with(data_dir, &[])
}

/// [`spawn_binary`] with more `kicer serve` options; with `--tls-cert`
/// the URL is `https://localhost:PORT` (the name test certificates are
/// made for).
pub fn spawn_binary_with(data_dir: &Path, extra_args: &[&str]) -> BinaryApp {
    spawn_binary_reading(data_dir, extra_args, 1).0
}

/// [`spawn_binary_with`], also returning the first `lines` lines the
/// server prints (the address, the data line, the metrics address…).
pub fn spawn_binary_reading(
    data_dir: &Path,
    extra_args: &[&str],
    lines: usize,
) -> (BinaryApp, Vec<String>) {
    spawn_serve(data_dir, extra_args, lines, Stdio::null())
}

/// [`spawn_binary`] with the server's log (stderr) written to `log`.
pub fn spawn_binary_logged(data_dir: &Path, log: &Path) -> BinaryApp {
    let file = std::fs::File::create(log).expect("log file");
    spawn_serve(data_dir, &[], 1, Stdio::from(file)).0
}

fn spawn_serve(
    data_dir: &Path,
    extra_args: &[&str],
    lines: usize,
    stderr: Stdio,
) -> (BinaryApp, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kicer"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .args(extra_args)
        .env_remove("KICER_CONFIG")
        .env_remove("KICER_TAXONOMY")
        .env_remove("KICER_LISTEN")
        .env_remove("KICER_TLS_CERT")
        .env_remove("KICER_TLS_KEY")
        .env_remove("KICER_TLS_CLIENT_CA")
        .env_remove("KICER_METRICS_LISTEN")
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("kicer serve starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut reader = BufReader::new(stdout);
    let mut printed = Vec::new();
    for _ in 0..lines.max(1) {
        let mut line = String::new();
        reader
            .read_line(&mut line)
            .expect("the server prints its address");
        printed.push(line.trim_end().to_string());
    }
    let first = &printed[0];
    let address = first
        .split_whitespace()
        .nth(3)
        .unwrap_or_else(|| panic!("no address in `{first}`"))
        .to_string();
    let url = if extra_args.contains(&"--tls-cert") {
        let port = address.rsplit(':').next().unwrap_or_default();
        format!("https://localhost:{port}")
    } else {
        format!("http://{address}")
    };
    let app = BinaryApp {
        child,
        url,
        data_dir: data_dir.to_path_buf(),
    };
    (app, printed)
}

impl BinaryApp {
    /// Runs a `kicer` client command against this server.
    pub fn kicer(&self, args: &[&str]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_kicer"))
            .args(args)
            .env("KICER_SERVER", &self.url)
            .env("KICER_ACTOR", "tester")
            .output()
            .expect("kicer runs")
    }
}

impl Drop for BinaryApp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
