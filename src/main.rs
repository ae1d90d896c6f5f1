//! The `kicer` binary: parses the command line and hands over to
//! [`kicer::cli`]. Errors are printed with their causes and exit non-zero
//! (74 when the store cannot be read or written); panics are one line.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    kicer::telemetry::panics::install_hook();
    let cli = kicer::cli::Cli::parse();
    match kicer::cli::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(
                err.downcast_ref::<kicer::cli::Failure>()
                    .map_or(1, |f| f.code()),
            )
        }
    }
}
