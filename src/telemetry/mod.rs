//! What kicer tells its operators. Logs: `tracing` to stderr, readable by
//! default or JSON for collectors, filtered by `RUST_LOG` (default
//! `info`); every request runs in a span with its method and, where there
//! is one, the question id. Metrics: [`metrics`], the Prometheus
//! exposition on its own listener (`--metrics-listen`, off by default).
//! Panics: [`panics`], one log line each, and a stop when the storage
//! engine's own thread fails.

pub mod exposition;
pub mod metrics;
pub mod panics;

use crate::config::LogFormat;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. Calling it twice is harmless (the
/// second call is ignored), which keeps tests that start servers simple.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Human => builder
            .with_target(false)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init(),
        LogFormat::Json => builder.json().with_current_span(true).try_init(),
    };
}
