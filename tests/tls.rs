//! TLS and mTLS through the real `kicer serve` and the real CLI, and one
//! in-process server with a tonic client. The certificates are made here
//! with rcgen, in a temporary directory: no key is in the repository.

mod common;

use common::{spawn_app_with, spawn_binary, spawn_binary_with, BinaryApp};
use kicer::grpc::tls::TlsFiles;
use kicer::grpc::ServerOptions;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;
use tempfile::TempDir;
use tonic::transport::{Certificate, Channel, ClientTlsConfig};
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

/// A CA, a server certificate for localhost and 127.0.0.1 signed by it,
/// a client certificate signed by it, and a second, unrelated CA with a
/// client certificate of its own, as PEM files.
struct Pki {
    dir: TempDir,
}

impl Pki {
    fn new() -> Pki {
        let pki = Pki {
            dir: tempfile::tempdir().expect("temp dir"),
        };
        let (ca, ca_issuer) = certificate_authority("kicer test CA");
        let (other, other_issuer) = certificate_authority("unrelated CA");
        pki.write("ca.pem", &ca);
        pki.write("other-ca.pem", &other);
        pki.leaf(
            "server",
            &["localhost", "127.0.0.1"],
            ExtendedKeyUsagePurpose::ServerAuth,
            &ca_issuer,
        );
        pki.leaf(
            "client",
            &["core-team"],
            ExtendedKeyUsagePurpose::ClientAuth,
            &ca_issuer,
        );
        pki.leaf(
            "stranger",
            &["stranger"],
            ExtendedKeyUsagePurpose::ClientAuth,
            &other_issuer,
        );
        pki
    }

    fn write(&self, name: &str, pem: &str) {
        std::fs::write(self.path(name), pem).expect("write PEM");
    }

    /// Writes `NAME.pem` and `NAME-key.pem`.
    fn leaf(
        &self,
        name: &str,
        names: &[&str],
        usage: ExtendedKeyUsagePurpose,
        issuer: &Issuer<'_, KeyPair>,
    ) {
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .expect("params");
        params.distinguished_name.push(DnType::CommonName, names[0]);
        params.extended_key_usages = vec![usage];
        let key = KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, issuer).expect("signed");
        self.write(&format!("{name}.pem"), &cert.pem());
        self.write(&format!("{name}-key.pem"), &key.serialize_pem());
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The path as a command-line argument.
    fn arg(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }

    fn server_files(&self, client_ca: bool) -> TlsFiles {
        TlsFiles {
            cert: self.path("server.pem"),
            key: self.path("server-key.pem"),
            client_ca: client_ca.then(|| self.path("ca.pem")),
        }
    }
}

/// A self-signed CA certificate (PEM) and the issuer that signs with it.
fn certificate_authority(name: &str) -> (String, Issuer<'static, KeyPair>) {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let key = KeyPair::generate().expect("key");
    let cert = params.self_signed(&key).expect("self-signed");
    (cert.pem(), Issuer::new(params, key))
}

/// Fresh certificates and `kicer serve` with TLS (and mTLS with
/// `client_ca`), its data beside the certificates.
fn tls_server(client_ca: bool) -> (Pki, BinaryApp) {
    let pki = Pki::new();
    let (cert, key, ca) = (
        pki.arg("server.pem"),
        pki.arg("server-key.pem"),
        pki.arg("ca.pem"),
    );
    let mut args = vec!["--tls-cert", cert.as_str(), "--tls-key", key.as_str()];
    if client_ca {
        args.extend(["--tls-client-ca", ca.as_str()]);
    }
    let app = spawn_binary_with(&pki.path("data"), &args);
    assert!(app.url.starts_with("https://localhost:"), "{}", app.url);
    (pki, app)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[track_caller]
fn assert_ok(out: &Output) {
    assert!(out.status.success(), "fails: {}", stderr(out));
}

#[track_caller]
fn assert_fails(out: &Output) -> String {
    assert!(
        !out.status.success(),
        "succeeds: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    stderr(out)
}

#[test]
fn the_cli_reaches_a_tls_server_only_through_the_right_ca() {
    let (pki, app) = tls_server(false);
    assert_ok(&app.kicer(&["--ca-cert", &pki.arg("ca.pem"), "stats"]));
    assert_ok(&app.kicer(&["--ca-cert", &pki.arg("ca.pem"), "queue"]));
    // A token is sent along; a server without access control ignores it.
    assert_ok(&app.kicer(&["--ca-cert", &pki.arg("ca.pem"), "--token", "x", "stats"]));

    let err = assert_fails(&app.kicer(&["--ca-cert", &pki.arg("other-ca.pem"), "stats"]));
    assert!(err.contains("invalid peer certificate"), "{err}");
    assert!(err.contains("--ca-cert"), "{err}");
}

#[test]
fn a_plain_text_client_gets_nothing_from_a_tls_port() {
    let (pki, app) = tls_server(false);
    let plain = app.url.replace("https://localhost", "http://127.0.0.1");
    let err = assert_fails(&app.kicer(&["--server", &plain, "stats"]));
    assert!(err.contains("https://"), "{err}");
    // And the TLS options say that they need https://.
    let err =
        assert_fails(&app.kicer(&["--server", &plain, "--ca-cert", &pki.arg("ca.pem"), "stats"]));
    assert!(err.contains("use https://"), "{err}");
}

#[test]
fn with_a_client_ca_only_clients_with_its_certificate_get_in() {
    let (pki, app) = tls_server(true);
    let ca = pki.arg("ca.pem");
    let err = assert_fails(&app.kicer(&["--ca-cert", &ca, "stats"]));
    assert!(err.contains("--client-cert"), "{err}");
    // `kicer ... queue` presenting the certificate NAME.pem.
    let as_client = |name: &str| {
        let (cert, key) = (
            pki.arg(&format!("{name}.pem")),
            pki.arg(&format!("{name}-key.pem")),
        );
        app.kicer(&[
            "--ca-cert",
            &ca,
            "--client-cert",
            &cert,
            "--client-key",
            &key,
            "queue",
        ])
    };
    assert_fails(&as_client("stranger"));
    assert_ok(&as_client("client"));
}

#[test]
fn a_token_without_tls_still_reaches_a_server_without_access_control() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_binary(&dir.path().join("data"));
    assert_ok(&app.kicer(&["--token", "x", "stats"]));
}

/// Runs `kicer serve` with these options, expecting it to stop at once.
fn serve_refuses(data: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_kicer"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .args(args)
        .env_remove("KICER_CONFIG")
        .output()
        .expect("kicer runs");
    let err = assert_fails(&out);
    assert!(!data.exists(), "nothing is created before the refusal");
    err
}

#[test]
fn the_server_refuses_to_start_with_a_missing_or_garbage_file() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let missing = pki.arg("missing-key.pem");
    let err = serve_refuses(
        &data,
        &["--tls-cert", &pki.arg("server.pem"), "--tls-key", &missing],
    );
    assert!(err.contains(&missing), "{err}");
    pki.write("garbage.pem", "not a certificate at all\n");
    let garbage = pki.arg("garbage.pem");
    let err = serve_refuses(
        &data,
        &[
            "--tls-cert",
            &garbage,
            "--tls-key",
            &pki.arg("server-key.pem"),
        ],
    );
    assert!(err.contains(&garbage), "{err}");
    assert!(err.contains("not a PEM certificate"), "{err}");
    // A key without its certificate is a configuration mistake.
    let err = serve_refuses(&data, &["--tls-key", &pki.arg("server-key.pem")]);
    assert!(err.contains("--tls-cert"), "{err}");
}

/// A tonic channel to `address` over TLS, trusting the test CA.
async fn tls_channel(pki: &Pki, address: std::net::SocketAddr) -> Channel {
    let ca = std::fs::read(pki.path("ca.pem")).expect("CA");
    Channel::from_shared(format!("https://localhost:{}", address.port()))
        .expect("url")
        .tls_config(ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca)))
        .expect("TLS config")
        .connect()
        .await
        .expect("TLS handshake")
}

#[tokio::test]
async fn a_tonic_client_checks_health_over_tls_and_its_watch_outlives_the_first_request_timeout() {
    let pki = Pki::new();
    let first_request_timeout = Duration::from_millis(500);
    let app = spawn_app_with(ServerOptions {
        drain_timeout: Duration::from_secs(2),
        first_request_timeout,
        tls: Some(pki.server_files(false)),
        ..ServerOptions::default()
    })
    .await;
    // The app's own plain-text clients connect (an HTTP/2 client does not
    // wait for the server's answer to its preface) but are not used.
    let mut health = HealthClient::new(tls_channel(&pki, app.address).await);
    health
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("health answers over TLS");
    // The connection sent a request, so under TLS too the first-request
    // deadline must not close it.
    let mut watch = HealthClient::new(tls_channel(&pki, app.address).await)
        .watch(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("watch health")
        .into_inner();
    watch
        .message()
        .await
        .expect("status")
        .expect("first status");
    tokio::time::sleep(first_request_timeout * 3).await;
    assert!(
        tokio::time::timeout(Duration::from_millis(300), watch.message())
            .await
            .is_err(),
        "the health watch is still open"
    );
    app.shutdown().await.expect("clean shutdown");
}
