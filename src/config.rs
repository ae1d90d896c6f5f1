//! Settings of `kicer serve`. Every setting has a built-in default; a TOML
//! config file overrides the defaults, environment variables (`KICER_*`)
//! override the file, and command-line flags override everything.

use crate::auth::{ClientEntry, Clients, RateLimits};
use crate::embedding::SemanticSettings;
use crate::grpc::tls::TlsFiles;
use crate::learn::LearnSettings;
use crate::service::{ReuseSettings, RoutingPolicy};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where the server listens unless told otherwise: loopback only, so a
/// fresh install is not reachable from the network by accident.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:50051";
/// Where data lives unless told otherwise.
pub const DEFAULT_DATA_DIR: &str = "./data";
/// sled's page cache unless told otherwise (MiB).
pub const DEFAULT_CACHE_MB: u64 = 64;

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Readable lines for a terminal.
    #[default]
    Human,
    /// One JSON object per line for log collectors.
    Json,
}

/// The config file as written; every field is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Address to listen on.
    pub listen: Option<String>,
    /// Data directory.
    pub data_dir: Option<PathBuf>,
    /// Taxonomy file.
    pub taxonomy: Option<PathBuf>,
    /// Log format.
    pub log_format: Option<LogFormat>,
    /// sled page cache in MiB.
    pub cache_mb: Option<u64>,
    /// Seconds in-flight requests get at shutdown.
    pub drain_timeout_secs: Option<u64>,
    /// Browser origins allowed through gRPC-Web (empty or absent: no
    /// foreign origin; the same origin needs no entry).
    pub cors_origins: Option<Vec<String>>,
    /// When questions are routed without the core team.
    pub routing: Option<RoutingPolicy>,
    /// How much the core team's decisions teach.
    pub learning: Option<LearnSettings>,
    /// When earlier questions count as the same.
    pub reuse: Option<ReuseSettings>,
    /// The semantic path of similar questions (an embedding service).
    pub similar: Option<SemanticSettings>,
    /// The clients that may call, each with a role and the SHA-256 of its
    /// token (`[[clients]]`); reloaded on SIGHUP.
    pub clients: Option<Vec<ClientEntry>>,
    /// Requests per second per client, by role; reloaded on SIGHUP.
    pub rate_limits: Option<RateLimits>,
    /// Open `WatchEvents` streams one client may hold.
    pub max_watchers_per_client: Option<usize>,
    /// The `[tls]` table.
    pub tls: Option<TlsTable>,
    /// Where Prometheus metrics are served (off when absent).
    pub metrics_listen: Option<String>,
}

/// The `[tls]` table of the config file: PEM files, as the
/// `--tls-*` flags.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsTable {
    /// The server's certificate chain.
    pub cert: Option<PathBuf>,
    /// Its private key.
    pub key: Option<PathBuf>,
    /// The CA client certificates must chain to (mTLS).
    pub client_ca: Option<PathBuf>,
}

/// What the command line (flags and environment) said; `None` = not given.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--listen` / `KICER_LISTEN`.
    pub listen: Option<String>,
    /// `--data-dir` / `KICER_DATA_DIR`.
    pub data_dir: Option<PathBuf>,
    /// `--taxonomy` / `KICER_TAXONOMY`.
    pub taxonomy: Option<PathBuf>,
    /// `--log-format` / `KICER_LOG_FORMAT`.
    pub log_format: Option<LogFormat>,
    /// `--cache-mb` / `KICER_CACHE_MB`.
    pub cache_mb: Option<u64>,
    /// `--insecure` / `KICER_INSECURE`: listen beyond loopback although
    /// no client is configured, so anyone who reaches the port may call.
    pub insecure: bool,
    /// `--tls-cert` / `KICER_TLS_CERT`.
    pub tls_cert: Option<PathBuf>,
    /// `--tls-key` / `KICER_TLS_KEY`.
    pub tls_key: Option<PathBuf>,
    /// `--tls-client-ca` / `KICER_TLS_CLIENT_CA`.
    pub tls_client_ca: Option<PathBuf>,
    /// `--metrics-listen` / `KICER_METRICS_LISTEN`.
    pub metrics_listen: Option<String>,
}

/// The resolved settings.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Data directory.
    pub data_dir: PathBuf,
    /// Taxonomy file; the embedded default when `None`.
    pub taxonomy: Option<PathBuf>,
    /// Log format.
    pub log_format: LogFormat,
    /// sled page cache in bytes.
    pub cache_bytes: u64,
    /// Time in-flight requests get at shutdown.
    pub drain_timeout: Duration,
    /// Browser origins allowed through gRPC-Web; empty allows none.
    pub cors_origins: Vec<String>,
    /// Listening beyond loopback without clients was allowed with
    /// `--insecure`.
    pub insecure: bool,
    /// Who may call; empty lets everyone (on loopback only, unless
    /// `insecure`).
    pub clients: Clients,
    /// Requests per second per client, by role.
    pub rate_limits: RateLimits,
    /// Open `WatchEvents` streams one client may hold.
    pub max_watchers_per_client: usize,
    /// Routing policy.
    pub routing: RoutingPolicy,
    /// Learning knobs.
    pub learning: LearnSettings,
    /// Reuse knobs.
    pub reuse: ReuseSettings,
    /// The semantic path of similar questions; off unless it names an
    /// embedding service.
    pub similar: SemanticSettings,
    /// TLS files; plain text when `None`.
    pub tls: Option<TlsFiles>,
    /// Where Prometheus metrics are served; None: not at all.
    pub metrics_listen: Option<SocketAddr>,
}

/// Why the settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file cannot be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The config file is not valid.
    #[error("config file {path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, with line and column.
        message: String,
    },
    /// A value is not acceptable.
    #[error("{0}")]
    Value(String),
}

impl ServeConfig {
    /// Resolves defaults < file < command line.
    pub fn resolve(file: Option<&Path>, cli: Overrides) -> Result<ServeConfig, ConfigError> {
        let from_file = match file {
            Some(path) => load(path)?,
            None => FileConfig::default(),
        };
        let (clients, rate_limits) = access_from(file, &from_file)?;
        let listen_text = cli
            .listen
            .or(from_file.listen)
            .unwrap_or_else(|| DEFAULT_LISTEN.to_string());
        let listen = listen_text.parse().map_err(|_| {
            ConfigError::Value(format!(
                "listen address `{listen_text}` is not IP:PORT: use e.g. 127.0.0.1:50051, or 0.0.0.0:50051 to accept connections from other machines"
            ))
        })?;
        let listen: SocketAddr = listen;
        check_exposure(listen, &clients, cli.insecure)?;
        let max_watchers_per_client = from_file
            .max_watchers_per_client
            .unwrap_or(crate::grpc::MAX_WATCHERS_PER_CLIENT);
        if max_watchers_per_client == 0 {
            return Err(ConfigError::Value(
                "max_watchers_per_client must be at least 1".into(),
            ));
        }
        let routing = from_file.routing.unwrap_or_default();
        routing.check().map_err(ConfigError::Value)?;
        let learning = from_file.learning.unwrap_or_default();
        learning.check().map_err(ConfigError::Value)?;
        let reuse = from_file.reuse.unwrap_or_default();
        reuse.check().map_err(ConfigError::Value)?;
        let similar = from_file.similar.unwrap_or_default();
        similar.check().map_err(ConfigError::Value)?;
        let cache_mb = cli
            .cache_mb
            .or(from_file.cache_mb)
            .unwrap_or(DEFAULT_CACHE_MB);
        if cache_mb == 0 {
            return Err(ConfigError::Value(
                "cache_mb must be at least 1 (sled needs a page cache)".into(),
            ));
        }
        let metrics_listen = match cli.metrics_listen.or(from_file.metrics_listen) {
            None => None,
            Some(text) => Some(text.parse::<SocketAddr>().map_err(|_| {
                ConfigError::Value(format!(
                    "metrics_listen address `{text}` is not IP:PORT: use e.g. 127.0.0.1:9464"
                ))
            })?),
        };
        if metrics_listen.is_some_and(|m| m.port() != 0 && m == listen) {
            return Err(ConfigError::Value(format!(
                "metrics_listen {listen} is the gRPC address: give the metrics a port of their own"
            )));
        }
        let file_tls = from_file.tls.unwrap_or_default();
        let tls = tls_files(TlsTable {
            cert: cli.tls_cert.or(file_tls.cert),
            key: cli.tls_key.or(file_tls.key),
            client_ca: cli.tls_client_ca.or(file_tls.client_ca),
        })?;
        Ok(ServeConfig {
            listen,
            data_dir: cli
                .data_dir
                .or(from_file.data_dir)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
            taxonomy: cli.taxonomy.or(from_file.taxonomy),
            log_format: cli.log_format.or(from_file.log_format).unwrap_or_default(),
            cache_bytes: cache_mb * 1024 * 1024,
            drain_timeout: Duration::from_secs(from_file.drain_timeout_secs.unwrap_or(10)),
            cors_origins: from_file.cors_origins.unwrap_or_default(),
            insecure: cli.insecure,
            clients,
            rate_limits,
            max_watchers_per_client,
            routing,
            learning,
            reuse,
            similar,
            tls,
            metrics_listen,
        })
    }
}

impl ServeConfig {
    /// The clients and rate limits of the config file as it reads now,
    /// for a reload (SIGHUP) of a server started with this config. Any
    /// mistake, including leaving a server that listens beyond loopback
    /// without clients, is an error and the caller keeps what it has.
    pub fn reload_access(&self, file: Option<&Path>) -> Result<(Clients, RateLimits), ConfigError> {
        let Some(path) = file else {
            return Err(ConfigError::Value(
                "the server was started without a config file (--config), so there is nothing to reload".into(),
            ));
        };
        let from_file = load(path)?;
        let (clients, rates) = access_from(Some(path), &from_file)?;
        if check_exposure(self.listen, &clients, self.insecure).is_err() {
            return Err(ConfigError::Value(format!(
                "{} lists no clients, but this server listens on {} beyond loopback: with no \
                 clients anyone who reaches it could do everything. Keep at least one \
                 [[clients]] entry, or restart the server on a loopback address",
                path.display(),
                self.listen
            )));
        }
        Ok((clients, rates))
    }
}

/// The clients and rate limits a config file gives, checked.
fn access_from(
    file: Option<&Path>,
    from_file: &FileConfig,
) -> Result<(Clients, RateLimits), ConfigError> {
    let clients = Clients::new(from_file.clients.as_deref().unwrap_or_default()).map_err(|e| {
        ConfigError::Value(match file {
            Some(path) => format!("config file {}: {e}", path.display()),
            None => e.to_string(),
        })
    })?;
    let rates = from_file.rate_limits.clone().unwrap_or_default();
    rates.check().map_err(ConfigError::Value)?;
    Ok((clients, rates))
}

/// Refuses to serve beyond loopback with nobody to check callers against,
/// unless the operator said `--insecure`.
fn check_exposure(
    listen: SocketAddr,
    clients: &Clients,
    insecure: bool,
) -> Result<(), ConfigError> {
    if listen.ip().is_loopback() || !clients.is_empty() || insecure {
        return Ok(());
    }
    Err(ConfigError::Value(format!(
        "refusing to listen on {listen} with no clients configured: anyone who can reach that \
         address could read and change every question. Configure clients ([[clients]] in the \
         config file; `kicer token create` makes one), or listen on a loopback address \
         (127.0.0.1:50051), or start with --insecure (KICER_INSECURE=true) to accept that risk \
         on a network you trust"
    )))
}

/// The TLS files given (each from the command line or else the file): a
/// certificate and its key come together, and a client CA needs them.
fn tls_files(given: TlsTable) -> Result<Option<TlsFiles>, ConfigError> {
    let client_ca = given.client_ca;
    match (given.cert, given.key) {
        (Some(cert), Some(key)) => Ok(Some(TlsFiles {
            cert,
            key,
            client_ca,
        })),
        (Some(_), None) => Err(ConfigError::Value(
            "a TLS certificate needs its private key: give --tls-key FILE \
             (KICER_TLS_KEY, or `key` in the [tls] table)"
                .into(),
        )),
        (None, Some(_)) => Err(ConfigError::Value(
            "a TLS key needs its certificate: give --tls-cert FILE \
             (KICER_TLS_CERT, or `cert` in the [tls] table)"
                .into(),
        )),
        (None, None) if client_ca.is_some() => Err(ConfigError::Value(
            "--tls-client-ca (client certificates) works only over TLS: \
             also give --tls-cert FILE and --tls-key FILE"
                .into(),
        )),
        (None, None) => Ok(None),
    }
}

fn load(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| {
        let (line, column) = e
            .span()
            .map(|s| {
                let before = &text[..s.start.min(text.len())];
                (
                    before.matches('\n').count() + 1,
                    before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1,
                )
            })
            .unwrap_or((0, 0));
        ConfigError::Invalid {
            path: path.to_path_buf(),
            message: format!("line {line}, column {column}: {}", e.message().trim()),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_when_nothing_is_given() {
        let c = ServeConfig::resolve(None, Overrides::default()).unwrap();
        assert_eq!(c.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(c.data_dir, PathBuf::from(DEFAULT_DATA_DIR));
        assert_eq!(c.cache_bytes, DEFAULT_CACHE_MB * 1024 * 1024);
        assert_eq!(c.routing, RoutingPolicy::default());
    }

    #[test]
    fn the_command_line_wins_over_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kicer.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:6000\"\ndata_dir = \"/srv/kicer\"\n[routing]\nmin_confidence = 0.7\n",
        )
        .unwrap();
        let c = ServeConfig::resolve(
            Some(&path),
            Overrides {
                listen: Some("127.0.0.1:7000".into()),
                ..Overrides::default()
            },
        )
        .unwrap();
        assert_eq!(c.listen.port(), 7000);
        assert_eq!(c.data_dir, PathBuf::from("/srv/kicer"));
        assert_eq!(c.routing.min_confidence, 0.7);
    }

    #[test]
    fn the_example_config_in_deploy_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/kicer.toml");
        let c = ServeConfig::resolve(Some(&path), Overrides::default()).unwrap();
        assert_eq!(c.listen.port(), 50051);
        assert_eq!(c.routing, RoutingPolicy::default());
    }

    #[test]
    fn listening_beyond_loopback_needs_insecure() {
        for address in ["0.0.0.0:50051", "[::]:50051", "192.0.2.7:50051"] {
            let err = ServeConfig::resolve(
                None,
                Overrides {
                    listen: Some(address.into()),
                    ..Overrides::default()
                },
            )
            .unwrap_err();
            assert!(err.to_string().contains("--insecure"), "{err}");
            let c = ServeConfig::resolve(
                None,
                Overrides {
                    listen: Some(address.into()),
                    insecure: true,
                    ..Overrides::default()
                },
            )
            .unwrap();
            assert!(c.insecure);
        }
        for address in ["127.0.0.1:50051", "127.8.0.1:1", "[::1]:50051"] {
            let c = ServeConfig::resolve(
                None,
                Overrides {
                    listen: Some(address.into()),
                    ..Overrides::default()
                },
            )
            .unwrap();
            assert!(c.listen.ip().is_loopback());
        }
    }

    fn write_config(dir: &Path, text: &str) -> PathBuf {
        let path = dir.join("kicer.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    fn client_block(name: &str, role: &str, token: &str) -> String {
        format!(
            "[[clients]]\nname = \"{name}\"\nrole = \"{role}\"\ntoken_sha256 = \"{}\"\n",
            crate::auth::token::sha256_hex(token)
        )
    }

    #[test]
    fn with_clients_configured_the_server_may_listen_beyond_loopback() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_config(dir.path(), &client_block("portal-zwolle", "portal", "t"));
        let c = ServeConfig::resolve(
            Some(&path),
            Overrides {
                listen: Some("0.0.0.0:50051".into()),
                ..Overrides::default()
            },
        )
        .unwrap();
        assert_eq!(c.clients.count(), 1);
        assert!(!c.insecure);
    }

    #[test]
    fn a_reload_that_would_leave_an_exposed_server_without_clients_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_config(dir.path(), &client_block("a", "admin", "t"));
        let c = ServeConfig::resolve(
            Some(&path),
            Overrides {
                listen: Some("0.0.0.0:50051".into()),
                ..Overrides::default()
            },
        )
        .unwrap();
        write_config(dir.path(), &client_block("b", "triage", "u"));
        let (clients, _) = c.reload_access(Some(&path)).unwrap();
        assert!(clients.authenticate("u").is_some());
        write_config(dir.path(), "");
        let err = c.reload_access(Some(&path)).unwrap_err();
        assert!(err.to_string().contains("lists no clients"), "{err}");
        write_config(dir.path(), "[[clients]]\nname = \"a\"\nrole = \"boss\"\n");
        let err = c.reload_access(Some(&path)).unwrap_err();
        assert!(err.to_string().contains("line"), "{err}");
    }

    #[test]
    fn rate_limits_and_watch_caps_come_from_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_config(
            dir.path(),
            "max_watchers_per_client = 3\n[rate_limits]\nportal = 7\n",
        );
        let c = ServeConfig::resolve(Some(&path), Overrides::default()).unwrap();
        assert_eq!(c.rate_limits.portal, 7);
        assert_eq!(c.rate_limits.admin, RateLimits::default().admin);
        assert_eq!(c.max_watchers_per_client, 3);
        write_config(dir.path(), "[rate_limits]\ntriage = 0\n");
        let err = ServeConfig::resolve(Some(&path), Overrides::default()).unwrap_err();
        assert!(err.to_string().contains("rate_limits.triage"), "{err}");
    }

    #[test]
    fn mistakes_in_the_file_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kicer.toml");
        std::fs::write(&path, "listen = \"x\"\nlisten_port = 5\n").unwrap();
        let err = ServeConfig::resolve(Some(&path), Overrides::default()).unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
        std::fs::write(&path, "listen = \"nowhere\"\n").unwrap();
        let err = ServeConfig::resolve(Some(&path), Overrides::default()).unwrap_err();
        assert!(err.to_string().contains("IP:PORT"), "{err}");
    }

    #[test]
    fn tls_files_come_in_pairs_and_flags_win() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kicer.toml");
        std::fs::write(
            &path,
            "[tls]\ncert = \"/etc/kicer/cert.pem\"\nkey = \"/etc/kicer/key.pem\"\n",
        )
        .unwrap();
        let c = ServeConfig::resolve(
            Some(&path),
            Overrides {
                tls_cert: Some("/tmp/other.pem".into()),
                ..Overrides::default()
            },
        )
        .unwrap();
        let tls = c.tls.unwrap();
        assert_eq!(tls.cert, PathBuf::from("/tmp/other.pem"));
        assert_eq!(tls.key, PathBuf::from("/etc/kicer/key.pem"));
        assert_eq!(tls.client_ca, None);
        assert!(ServeConfig::resolve(None, Overrides::default())
            .unwrap()
            .tls
            .is_none());
        let only = |o: Overrides| ServeConfig::resolve(None, o).unwrap_err().to_string();
        let err = only(Overrides {
            tls_cert: Some("c.pem".into()),
            ..Overrides::default()
        });
        assert!(err.contains("--tls-key"), "{err}");
        let err = only(Overrides {
            tls_key: Some("k.pem".into()),
            ..Overrides::default()
        });
        assert!(err.contains("--tls-cert"), "{err}");
        let err = only(Overrides {
            tls_client_ca: Some("ca.pem".into()),
            ..Overrides::default()
        });
        assert!(err.contains("only over TLS"), "{err}");
    }

    #[test]
    fn metrics_are_off_unless_an_address_is_given_and_a_bad_one_is_named() {
        let c = ServeConfig::resolve(None, Overrides::default()).unwrap();
        assert_eq!(c.metrics_listen, None);
        let c = ServeConfig::resolve(
            None,
            Overrides {
                metrics_listen: Some("127.0.0.1:9464".into()),
                ..Overrides::default()
            },
        )
        .unwrap();
        assert_eq!(c.metrics_listen, Some("127.0.0.1:9464".parse().unwrap()));
        for (bad, says) in [
            ("9464", "is not IP:PORT"),
            ("127.0.0.1:50051", "port of their own"),
        ] {
            let err = ServeConfig::resolve(
                None,
                Overrides {
                    metrics_listen: Some(bad.into()),
                    ..Overrides::default()
                },
            )
            .unwrap_err()
            .to_string();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }
}
