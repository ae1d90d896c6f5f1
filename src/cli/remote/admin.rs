//! `kicer backup` and `kicer health`: taking an online backup of the
//! running server into a directory, and asking whether it serves (for
//! container health checks and scripts).

use super::{failure, reply, Session};
use crate::grpc::proto;
use crate::store::backup::{self, Manifest, DATA_FILE, MANIFEST_FILE};
use crate::store::SledStore;
use anyhow::{bail, Context};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::HealthCheckRequest;

/// `kicer backup --to DIR`: streams the server's snapshot into
/// `DIR/data.kbk`, checks its length and SHA-256 against the server's
/// summary, writes the manifest last and reads the whole backup back
/// before saying it is done.
pub(super) async fn backup(s: &mut Session, to: PathBuf) -> anyhow::Result<()> {
    backup::ensure_empty(
        &to,
        "a backup goes into a new or empty directory, so that no earlier backup is overwritten; give another --to",
    )?;
    std::fs::create_dir_all(&to).with_context(|| format!("cannot create {}", to.display()))?;
    let data = to.join(DATA_FILE);
    let received = receive(s, &data).await;
    let manifest = match received {
        Ok(m) => m,
        Err(e) => {
            // What was received is no backup; leave the directory empty
            // so that the next attempt can use it.
            let _ = std::fs::remove_file(&data);
            return Err(e);
        }
    };
    backup::write_synced(
        &to.join(MANIFEST_FILE),
        &serde_json::to_vec_pretty(&manifest)?,
    )?;
    backup::sync_dir(&to)?;
    // Read it back as `kicer restore` will, so that a backup reported as
    // done is one that restores.
    SledStore::check_backup(&to)?;
    if s.json {
        println!("{}", serde_json::to_string_pretty(&manifest)?);
    } else {
        println!(
            "backup of {} questions in {} ({} records, {:.1} MB, sha256 {}); writes paused {} ms; checked",
            manifest.questions,
            to.display(),
            manifest.records,
            manifest.bytes as f64 / 1e6,
            manifest.sha256,
            manifest.pause_ms,
        );
    }
    Ok(())
}

/// Writes the streamed chunks into `path` and returns the manifest of the
/// server's summary once the file matches it.
async fn receive(s: &mut Session, path: &Path) -> anyhow::Result<Manifest> {
    let file =
        std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut hash = Sha256::new();
    let mut bytes = 0u64;
    let bar = crate::cli::output::progress(
        None,
        "{spinner} receiving the backup: {binary_bytes} ({binary_bytes_per_sec})",
        s.json,
    );
    let mut stream = reply(s.admin.backup(proto::BackupRequest {}).await)?;
    let mut summary = None;
    while let Some(chunk) = stream.message().await.map_err(failure)? {
        if !chunk.data.is_empty() {
            hash.update(&chunk.data);
            bytes += chunk.data.len() as u64;
            out.write_all(&chunk.data)
                .with_context(|| format!("cannot write {}", path.display()))?;
            bar.set_position(bytes);
        }
        if chunk.summary.is_some() {
            summary = chunk.summary;
        }
    }
    bar.finish_and_clear();
    let Some(summary) = summary else {
        bail!("the server ended the backup without its summary: take the backup again");
    };
    let file = out
        .into_inner()
        .map_err(|e| e.into_error())
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.sync_all()
        .with_context(|| format!("cannot write {}", path.display()))?;
    let sha256 = backup::hex(&hash.finalize());
    if bytes != summary.bytes || sha256 != summary.sha256 {
        bail!(
            "the backup arrived damaged ({bytes} bytes with SHA-256 {sha256}; the server sent {} bytes with {}): take it again",
            summary.bytes,
            summary.sha256
        );
    }
    let ms = |d: Option<prost_types::Duration>| {
        d.map_or(0, |d| {
            (d.seconds.max(0) as u64) * 1000 + (d.nanos.max(0) as u64) / 1_000_000
        })
    };
    Ok(Manifest {
        backup_format: summary.backup_format,
        store_format: summary.store_format,
        records: summary.records,
        bytes,
        sha256,
        taken_ms: summary
            .taken
            .map_or(0, |t| t.seconds * 1000 + i64::from(t.nanos) / 1_000_000),
        pause_ms: ms(summary.pause),
        rounds: summary.rounds,
        questions: summary.questions,
        kicer_version: summary.kicer_version,
    })
}

/// `kicer health`: fails unless the server (or one of its services) says
/// SERVING.
pub(super) async fn health(s: &mut Session, service: String) -> anyhow::Result<()> {
    let shown = if service.is_empty() {
        "the server".to_string()
    } else {
        service.clone()
    };
    let status = reply(s.health.check(HealthCheckRequest { service }).await)?.status();
    if status != ServingStatus::Serving {
        bail!("{shown} at {} is {}", s.server, status.as_str_name());
    }
    if !s.json {
        println!("{shown} at {} is SERVING", s.server);
    } else {
        println!("{{\"status\":\"SERVING\"}}");
    }
    Ok(())
}
