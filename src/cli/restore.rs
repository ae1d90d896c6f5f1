//! `kicer restore --from DIR --data-dir NEW`: a backup into a new data
//! directory. The whole backup is checked against its manifest first, so a
//! damaged one is refused before anything is written; the target must be
//! absent or empty, so no store is ever overwritten.

use crate::store::SledStore;
use clap::Args;
use std::path::PathBuf;

/// Options of `kicer restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup directory (made by `kicer backup --to`).
    #[arg(long, value_name = "DIR")]
    pub from: PathBuf,
    /// The data directory to fill: absent or empty. Start the server on
    /// it afterwards with `kicer serve --data-dir`.
    #[arg(long, value_name = "DIR")]
    pub data_dir: PathBuf,
}

/// Runs `kicer restore`.
pub fn run(args: RestoreArgs, json: bool) -> anyhow::Result<()> {
    let checked = SledStore::check_backup(&args.from)?;
    let manifest = checked.manifest().clone();
    let bar = super::output::progress(
        Some(manifest.records),
        "{bar:40} {pos}/{len} records ({eta} left)",
        json,
    );
    SledStore::restore(&checked, &args.data_dir, &|done| bar.set_position(done))?;
    bar.finish_and_clear();
    if json {
        println!("{}", serde_json::to_string_pretty(&manifest)?);
    } else {
        println!(
            "restored {} questions ({} records, sha256 {}) into {}: start the server with --data-dir {}",
            manifest.questions,
            manifest.records,
            manifest.sha256,
            args.data_dir.display(),
            args.data_dir.display(),
        );
    }
    Ok(())
}
