//! `pmoc-dashboard`: serve the dashboard.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use pmoc_schemas::config::Settings;

#[derive(Debug, Parser)]
#[command(version, about = "Serve the PMOC dashboard")]
struct Cli {
    /// Settings file (TOML); embedded defaults and PMOC_* variables apply without it.
    #[arg(long, env = "PMOC_CONFIG")]
    config: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    pmoc_telemetry::init_logs("info");
    let cli = Cli::parse();
    let settings = Settings::load(cli.config.as_deref())?;
    let listener = tokio::net::TcpListener::bind(&settings.dashboard.listen)
        .await
        .with_context(|| format!("binding {}", settings.dashboard.listen))?;
    pmoc_server::run(listener, settings, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
