//! The `kicer` binary: parses the command line and hands over to
//! [`kicer::cli`]. Errors are printed with their causes and exit non-zero.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = kicer::cli::Cli::parse();
    match kicer::cli::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
