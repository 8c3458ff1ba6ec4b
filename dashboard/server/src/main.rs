//! `pmoc-dashboard`: serve the dashboard, or manage its accounts and
//! wall-screen tokens.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use pmoc_schemas::config::Settings;
use pmoc_server::cli::{self, AccountsCommand, KioskCommand};

#[derive(Debug, Parser)]
#[command(version, about = "Serve the PMOC dashboard")]
struct Cli {
    /// Settings file (TOML); embedded defaults and PMOC_* variables apply without it.
    #[arg(long, env = "PMOC_CONFIG", global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve (the default).
    Serve,
    /// Local accounts: add, reset, disable, list.
    #[command(subcommand)]
    Accounts(AccountsCommand),
    /// Wall-screen kiosk tokens: enrol, revoke, list.
    #[command(subcommand)]
    Kiosk(KioskCommand),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    pmoc_telemetry::init_logs("info");
    let cli = Cli::parse();
    let settings = Settings::load(cli.config.as_deref())?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Accounts(c) => return cli::accounts(&settings, c),
        Command::Kiosk(c) => return cli::kiosk(&settings, c),
        Command::Serve => {}
    }
    let listener = tokio::net::TcpListener::bind(&settings.dashboard.listen)
        .await
        .with_context(|| format!("binding {}", settings.dashboard.listen))?;
    let stop = pmoc_telemetry::shutdown::on_signals(pmoc_telemetry::shutdown::STOP_DEADLINE)
        .context("listening for signals")?;
    pmoc_server::run(listener, settings, stop.requested()).await?;
    Ok(())
}
