//! `kicer serve`: resolve the settings, open the store, build the service,
//! bind the listener and run the gRPC server until SIGINT or SIGTERM;
//! reload the clients on SIGHUP.

use crate::analysis::Analyzer;
use crate::auth::{Access, Registry};
use crate::config::{LogFormat, Overrides, ServeConfig};
use crate::grpc::{self, ServerOptions};
use crate::service::Service;
use crate::store::{SledStore, StoreOptions, SystemTime};
use crate::taxonomy::Taxonomy;
use crate::telemetry;
use anyhow::Context;
use clap::Args;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

/// Options of `kicer serve`. Each can also come from the environment or
/// the config file; flags win over the environment, which wins over the
/// file.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// TOML config file (see docs/operations.md).
    #[arg(long, env = "KICER_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:50051].
    #[arg(long, env = "KICER_LISTEN", value_name = "IP:PORT")]
    pub listen: Option<String>,
    /// Data directory [default: ./data].
    #[arg(long, env = "KICER_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Taxonomy file [default: the embedded taxonomy].
    #[arg(long, env = "KICER_TAXONOMY", value_name = "FILE")]
    pub taxonomy: Option<PathBuf>,
    /// Log format [default: human].
    #[arg(long, env = "KICER_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
    /// sled page cache in MiB [default: 64].
    #[arg(long, env = "KICER_CACHE_MB", value_name = "MIB")]
    pub cache_mb: Option<u64>,
    /// Listen on a non-loopback address with no clients configured:
    /// anyone who can reach the port can read and change every question.
    /// Off by default; a warning is logged at start. Not needed once
    /// clients are configured.
    #[arg(long, env = "KICER_INSECURE")]
    pub insecure: bool,
    /// Serve TLS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, env = "KICER_TLS_CERT", value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM, not encrypted).
    #[arg(long, env = "KICER_TLS_KEY", value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    /// Require client certificates signed by this CA (PEM): mTLS.
    #[arg(long, env = "KICER_TLS_CLIENT_CA", value_name = "FILE")]
    pub tls_client_ca: Option<PathBuf>,
    /// Serve Prometheus metrics at http://IP:PORT/metrics [default: off].
    /// They carry no question content, but do show the load and the
    /// queue: keep the port on loopback or a monitoring network.
    #[arg(long, env = "KICER_METRICS_LISTEN", value_name = "IP:PORT")]
    pub metrics_listen: Option<String>,
}

/// Runs the server until a shutdown signal.
pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let config_file = args.config.clone();
    let config = ServeConfig::resolve(
        args.config.as_deref(),
        Overrides {
            listen: args.listen,
            data_dir: args.data_dir,
            taxonomy: args.taxonomy,
            log_format: args.log_format,
            cache_mb: args.cache_mb,
            insecure: args.insecure,
            tls_cert: args.tls_cert,
            tls_key: args.tls_key,
            tls_client_ca: args.tls_client_ca,
            metrics_listen: args.metrics_listen,
        },
    )?;
    telemetry::init(config.log_format);
    // Checked before the store opens: a wrong TLS file stops the start
    // here, with the file named, not at the first connection.
    if let Some(files) = &config.tls {
        files.load()?;
    }
    if config.clients.is_empty() && !config.listen.ip().is_loopback() {
        tracing::warn!(
            listen = %config.listen,
            "--insecure: listening beyond loopback with no clients configured; anyone who can reach this port can read and change every question"
        );
    }
    if !config.clients.is_empty() && config.tls.is_none() && !config.listen.ip().is_loopback() {
        tracing::warn!(
            listen = %config.listen,
            "bearer tokens travel in clear text without TLS: give --tls-cert and --tls-key, or terminate TLS in a proxy on this machine"
        );
    }
    let access = Arc::new(Registry::new(Access::new(
        config.clients.clone(),
        &config.rate_limits,
    )));
    if config.clients.is_empty() && config.listen.ip().is_loopback() {
        tracing::info!(
            "no clients configured: every local caller may do everything (see `kicer token create`)"
        );
    } else if !config.clients.is_empty() {
        tracing::info!(clients = config.clients.count(), "access control on");
    }
    let analyzer = Analyzer::new();
    let taxonomy = match &config.taxonomy {
        Some(path) => Taxonomy::load(path, &analyzer)?,
        None => Taxonomy::embedded(&analyzer)?,
    };
    let origin = taxonomy.origin().to_string();
    let store = SledStore::open(
        &config.data_dir,
        StoreOptions {
            cache_capacity_bytes: config.cache_bytes,
            ..StoreOptions::default()
        },
        Arc::new(SystemTime),
    )?;
    // Created before the store is shared, so it sees every commit.
    let metrics = config
        .metrics_listen
        .map(|_| Arc::new(telemetry::metrics::Metrics::new()));
    if let Some(m) = &metrics {
        store.observe_commits(m.clone());
    }
    let service = Arc::new(
        Service::open_with_snapshot(
            taxonomy,
            Arc::new(store),
            Arc::new(SystemTime),
            config.routing.clone(),
            Some(config.data_dir.join("similar.idx")),
        )?
        .with_learn_settings(config.learning.clone())
        .with_reuse_settings(config.reuse.clone())
        .with_semantic_settings(config.similar.clone())
        .context("cannot use the embedding service of [similar]")?,
    );
    service.spawn_learner();
    let index = service.engine().index();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| {
                format!(
                    "cannot listen on {}: is another server using the port? choose another with --listen",
                    config.listen
                )
            })?;
        let address = listener.local_addr()?;
        // Scripts and tests read the first line to find the port. A closed
        // stdout (a supervisor that stopped reading) must not stop the
        // server, so write errors are ignored.
        let mut out = std::io::stdout().lock();
        // The TLS mark comes after the address, which is word 4.
        let tls = config
            .tls
            .as_ref()
            .map(|files| format!(" ({})", files.mode()))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "kicer listening on {address}{tls} (gRPC, gRPC-Web, health, reflection)"
        );
        let _ = writeln!(
            out,
            "data in {}; taxonomy {origin}; {} providers, {} experts, index v{}",
            config.data_dir.display(),
            index.taxonomy().providers().len(),
            index.experts().len(),
            index.version()
        );
        if let (Some(address), Some(m)) = (config.metrics_listen, &metrics) {
            let listener = tokio::net::TcpListener::bind(address)
                .await
                .with_context(|| {
                    format!(
                        "cannot serve metrics on {address}: is the port in use? choose another with --metrics-listen"
                    )
                })?;
            let bound = listener.local_addr()?;
            let _ = writeln!(out, "metrics on http://{bound}/metrics");
            telemetry::metrics::follow_events(m.clone(), &service);
            tokio::spawn(telemetry::exposition::serve(
                listener,
                m.clone(),
                service.clone(),
            ));
        }
        let _ = out.flush();
        drop(out);
        drop(index);
        tokio::spawn(reload_on_hangup(config.clone(), config_file, access.clone()));
        service.spawn_embedder();
        grpc::serve(
            listener,
            service,
            shutdown_signal(),
            ServerOptions {
                drain_timeout: config.drain_timeout,
                cors_origins: config.cors_origins.clone(),
                max_watchers_per_client: config.max_watchers_per_client,
                access,
                tls: config.tls.clone(),
                metrics,
                ..ServerOptions::default()
            },
        )
        .await?;
        anyhow::Ok(())
    })
}

/// Reloads the clients and rate limits from the config file on every
/// SIGHUP, so a token can be added, rotated or revoked without a restart.
/// A file that does not read keeps the clients in force, and says why.
async fn reload_on_hangup(config: ServeConfig, file: Option<PathBuf>, access: Arc<Registry>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let Ok(mut hangups) = signal(SignalKind::hangup()) else {
            tracing::warn!("cannot listen for SIGHUP: clients are reloaded only by a restart");
            return;
        };
        while hangups.recv().await.is_some() {
            match config.reload_access(file.as_deref()) {
                Ok((clients, rates)) => {
                    let count = clients.count();
                    access.replace(Access::new(clients, &rates));
                    tracing::info!(
                        clients = count,
                        "SIGHUP: clients and rate limits reloaded (other settings need a restart)"
                    );
                }
                Err(e) => {
                    tracing::error!(
                        clients = access.load().clients.count(),
                        "SIGHUP: the config was not reloaded, the clients in force stay: {e}"
                    );
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (config, file, access);
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
