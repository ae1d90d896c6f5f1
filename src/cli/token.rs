//! `kicer token create`: a new bearer token for a client, and the config
//! entry that admits it.

use crate::auth::{self, Role};
use clap::{Args, Subcommand};
use std::io::Write;

/// Bearer tokens of the clients that call the server.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Make a new random token: prints the token on the first line (give
    /// it to the client; it is shown only here) and the `[[clients]]`
    /// block to paste into the server's config file, then send the server
    /// SIGHUP.
    Create(CreateArgs),
}

/// Options of `kicer token create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The client's name, recorded as the actor of what it does
    /// (e.g. portal-zwolle). Reuse a name to rotate its token.
    #[arg(long)]
    pub name: String,
    /// What it may do: portal, triage, dashboard or admin (see the role
    /// table in docs/api.md).
    #[arg(long, value_enum)]
    pub role: Role,
}

/// Runs a token command.
pub fn run(command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create(args) => create(&args),
    }
}

fn create(args: &CreateArgs) -> anyhow::Result<()> {
    auth::check_client_name(&args.name)?;
    let token = auth::token::create()?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{token}")?;
    writeln!(out)?;
    write!(
        out,
        "{}",
        auth::token::config_entry(&args.name, args.role, &token)
    )?;
    out.flush()?;
    eprintln!(
        "The first line is the token for `{}`; it is not stored anywhere, so hand it over now. \
         Paste the [[clients]] block into the server's config file and send the server SIGHUP \
         (systemctl reload kicer). To rotate, add the new block beside the old one, move the \
         client over, then delete the old block and send SIGHUP again.",
        args.name
    );
    Ok(())
}
