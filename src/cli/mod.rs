//! The `kicer` command line: subcommands, their options and their output.
//!
//! Human-readable output by default, `--json` for scripts. Errors go to
//! stderr with a message that says what to fix, and the process exits
//! non-zero.

pub mod load;
mod output;
pub mod remote;
mod restore;
pub mod serve;
pub mod token;

use crate::analysis::{Analyzer, Language};
use crate::domain::{parse_experts_json, Expert, OrganizationType, Province};
use crate::engine::{Engine, Query};
use crate::eval;
use crate::taxonomy::Taxonomy;
use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// kicer routes circular-economy questions of Dutch regional governments to
/// the providers and experts who can answer them.
#[derive(Debug, Parser)]
#[command(name = "kicer", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Server, actor and output format of the commands that talk to a
    /// running server.
    #[command(flatten)]
    pub remote: remote::Remote,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gRPC server (portals, the core team's CLI, dashboards).
    Serve(serve::ServeArgs),
    /// Bearer tokens for the clients of the server.
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Classify one question and show the category, themes, knowledge kind
    /// and the providers and experts it would go to, with the reasons.
    Classify(ClassifyArgs),
    /// Run every question of a labelled JSON Lines file through the engine
    /// and print accuracy, macro-F1, the confusion matrix, provider hit@1,
    /// hit@3 and MRR, and theme precision/recall.
    Eval(EvalArgs),
    /// Load, durability and query benchmarks of the store (developer
    /// tool; see docs/benchmarks.md).
    #[command(subcommand, hide = true)]
    Load(load::LoadCommand),
    /// Fill a new data directory from a backup taken by `kicer backup`
    /// (checked completely before anything is written).
    Restore(restore::RestoreArgs),
    /// Commands that talk to a running server.
    #[command(flatten)]
    Remote(remote::RemoteCommand),
}

/// Where the engine's knowledge comes from.
#[derive(Debug, Args)]
pub struct EngineArgs {
    /// Taxonomy file replacing (or, with `extends = "default"`, extending)
    /// the embedded default.
    #[arg(long, env = "KICER_TAXONOMY", value_name = "FILE")]
    pub taxonomy: Option<PathBuf>,
    /// Expert directory to match against: a JSON array of experts or JSON
    /// Lines, one expert per line.
    #[arg(long, value_name = "FILE")]
    pub experts: Option<PathBuf>,
}

/// Options of `kicer classify`.
#[derive(Debug, Args)]
pub struct ClassifyArgs {
    /// The question text.
    pub text: String,
    /// Type of the asking organisation: GEMEENTE, PROVINCIE, WATERSCHAP,
    /// RIJK or OTHER.
    #[arg(long, value_name = "TYPE")]
    pub org_type: Option<OrganizationType>,
    /// Province of the asker, e.g. Overijssel or Noord-Holland.
    #[arg(long, value_name = "PROVINCE", value_parser = |s: &str| Province::parse_lenient(s))]
    pub region: Option<Province>,
    /// Language of the text (nl or en); detected when left out.
    #[arg(long, value_name = "LANG", value_parser = parse_language)]
    pub lang: Option<Language>,
    /// Ask the running server (--server) instead of classifying here with
    /// the embedded or given taxonomy: its live directory and what it
    /// learned.
    #[arg(long, conflicts_with_all = ["lang", "taxonomy", "experts"])]
    pub remote: bool,
    /// Where the engine's knowledge comes from.
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// Options of `kicer eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Labelled questions, one JSON object per line (format of
    /// shared/eval/dev.jsonl).
    pub file: PathBuf,
    /// Also list every question with a wrong category or whose first
    /// labelled provider is not in the top three.
    #[arg(long, short)]
    pub verbose: bool,
    /// Exit with status 2 when category accuracy is below this (for CI).
    #[arg(long, value_name = "RATIO")]
    pub min_accuracy: Option<f64>,
    /// Exit with status 2 when provider hit@3 is below this (for CI).
    #[arg(long, value_name = "RATIO")]
    pub min_hit_at_3: Option<f64>,
    /// Where the engine's knowledge comes from.
    #[command(flatten)]
    pub engine: EngineArgs,
}

fn parse_language(s: &str) -> Result<Language, String> {
    Language::parse(s).ok_or_else(|| format!("unknown language `{s}`: use nl or en"))
}

/// Runs a parsed command line. Its error message is safe to print: any
/// terminal control sequence in it (a server reply may echo one) is shown
/// as visible escapes.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    run_command(cli).map_err(printable)
}

/// An error as it may reach the terminal: its message with its causes (as
/// `{:#}` prints them) made [`remote::render::safe`], because a server's
/// reply or a file's content may echo text with escape sequences in it;
/// and the exit status it calls for.
fn printable(err: anyhow::Error) -> anyhow::Error {
    let code = exit_code(&err);
    anyhow::Error::new(Failure {
        message: remote::render::safe(&format!("{err:#}")),
        code,
    })
}

/// A failed command as the binary reports it.
#[derive(Debug)]
pub struct Failure {
    message: String,
    code: u8,
}

impl Failure {
    /// The exit status: [`crate::telemetry::panics::EXIT_STORE`] when the
    /// store cannot be read or written (a damaged store, a full disk), so
    /// that a supervisor can tell those from other errors (1).
    pub fn code(&self) -> u8 {
        self.code
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

fn exit_code(err: &anyhow::Error) -> u8 {
    use crate::grpc::ServeError;
    use crate::service::ServiceError;
    use crate::store::backup::BackupError;
    use crate::store::StoreError;
    let store_failed = |s: &StoreError| {
        matches!(
            s,
            StoreError::Damaged { .. } | StoreError::Corrupt { .. } | StoreError::Io { .. }
        )
    };
    let failed = err.chain().any(|cause| {
        cause.downcast_ref::<StoreError>().is_some_and(store_failed)
            || matches!(
                cause.downcast_ref::<ServiceError>(),
                Some(ServiceError::Store(s)) if store_failed(s)
            )
            || matches!(
                cause.downcast_ref::<BackupError>(),
                Some(BackupError::Store(s)) if store_failed(s)
            )
            || matches!(
                cause.downcast_ref::<ServeError>(),
                Some(ServeError::StoreFailed(_) | ServeError::Flush(_))
            )
    });
    if failed {
        crate::telemetry::panics::EXIT_STORE
    } else {
        1
    }
}

fn run_command(cli: Cli) -> anyhow::Result<ExitCode> {
    let json = cli.remote.json;
    match cli.command {
        Command::Serve(args) => serve::run(args).map(|()| ExitCode::SUCCESS),
        Command::Token(command) => token::run(command).map(|()| ExitCode::SUCCESS),
        Command::Classify(args) if args.remote => {
            remote::classify(cli.remote, args).map(|()| ExitCode::SUCCESS)
        }
        Command::Classify(args) => classify(args, json),
        Command::Eval(args) => run_eval(args, json),
        Command::Load(command) => load::run(command, &cli.remote).map(|()| ExitCode::SUCCESS),
        Command::Restore(args) => restore::run(args, json).map(|()| ExitCode::SUCCESS),
        Command::Remote(command) => remote::run(cli.remote, command).map(|()| ExitCode::SUCCESS),
    }
}

/// Builds an engine from the taxonomy and expert options.
pub fn build_engine(args: &EngineArgs) -> anyhow::Result<Engine> {
    let analyzer = Analyzer::new();
    let taxonomy = match &args.taxonomy {
        Some(path) => Taxonomy::load(path, &analyzer)?,
        None => Taxonomy::embedded(&analyzer)?,
    };
    let experts = match &args.experts {
        Some(path) => load_experts(path)?,
        None => Vec::new(),
    };
    Ok(Engine::new(taxonomy, experts)?)
}

fn load_experts(path: &Path) -> anyhow::Result<Vec<Expert>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read expert file {}", path.display()))?;
    parse_experts_json(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

fn classify(args: ClassifyArgs, json: bool) -> anyhow::Result<ExitCode> {
    if args.text.trim().is_empty() {
        bail!("the question text is empty: pass the question as the first argument, in quotes");
    }
    let engine = build_engine(&args.engine)?;
    let c = engine.classify(&Query {
        text: &args.text,
        organization_type: args.org_type,
        region: args.region,
        language: args.lang,
    });
    if json {
        println!("{}", serde_json::to_string_pretty(&c)?);
    } else {
        print!("{}", remote::render::safe(&output::classification(&c)));
    }
    Ok(ExitCode::SUCCESS)
}

fn run_eval(args: EvalArgs, json: bool) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read labelled file {}", args.file.display()))?;
    let items = eval::parse_labelled(&text).with_context(|| args.file.display().to_string())?;
    let engine = build_engine(&args.engine)?;
    let show_progress = std::io::stderr().is_terminal() && items.len() >= 1000;
    let report = eval::evaluate(&engine, &items, |done, total| {
        if show_progress && (done % 500 == 0 || done == total) {
            eprint!("\rclassified {done}/{total}");
            if done == total {
                eprintln!();
            }
        }
    });
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!(
            "{}",
            remote::render::safe(&output::report(&report, args.verbose))
        );
    }
    let mut below = Vec::new();
    if let Some(min) = args.min_accuracy.filter(|&m| report.category_accuracy < m) {
        below.push(format!(
            "category accuracy {:.3} < {min}",
            report.category_accuracy
        ));
    }
    if let Some(min) = args.min_hit_at_3.filter(|&m| report.provider_hit_at_3 < m) {
        below.push(format!(
            "provider hit@3 {:.3} < {min}",
            report.provider_hit_at_3
        ));
    }
    if !below.is_empty() {
        eprintln!("error: below the required quality: {}", below.join(", "));
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_echoing_an_escape_sequence_is_printed_escaped_with_its_causes() {
        let err = anyhow::anyhow!("InvalidArgument: `\u{1b}]0;pwned\u{7}` is not an etag")
            .context("cannot accept q1");
        assert_eq!(
            format!("{:#}", printable(err)),
            "cannot accept q1: InvalidArgument: `\\u{1b}]0;pwned\\u{7}` is not an etag"
        );
    }
}
