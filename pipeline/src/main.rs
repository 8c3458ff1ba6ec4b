//! `pmoc-pipeline`: run the streaming core.
//!
//! Timely's own options go after `--`: `pmoc-pipeline -- -w 2` for two worker
//! threads, `pmoc-pipeline -- -w 1 -n 2 -p 0 -h hosts.txt` for process 0 of a
//! two-process cluster.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use pmoc_schemas::config::Settings;

#[derive(Debug, Parser)]
#[command(version, about = "Window PMOC's streams by event time into ClickHouse")]
struct Cli {
    /// Settings file (TOML); embedded defaults and PMOC_* variables apply without it.
    #[arg(long, env = "PMOC_CONFIG")]
    config: Option<PathBuf>,
    /// Address for Prometheus `/metrics`; empty to disable.
    #[arg(long, default_value = "127.0.0.1:9464")]
    metrics_listen: String,
    /// Only create the ClickHouse database and tables, then exit.
    #[arg(long)]
    migrate_only: bool,
    /// Timely options: -w workers, -n processes, -p this process, -h hostfile.
    #[arg(last = true)]
    timely: Vec<String>,
}

fn main() -> anyhow::Result<()> {
    pmoc_telemetry::init_logs("info,rdkafka=warn");
    let cli = Cli::parse();
    let settings = Settings::load(cli.config.as_deref())?;

    if cli.migrate_only {
        let rt = tokio::runtime::Runtime::new()?;
        let applied = rt
            .block_on(pmoc_store::migrate(&settings.clickhouse))
            .context("migrating clickhouse")?;
        tracing::info!(?applied, "clickhouse schema up to date");
        return Ok(());
    }

    if !cli.metrics_listen.is_empty() {
        let addr: std::net::SocketAddr = cli.metrics_listen.parse().context("--metrics-listen")?;
        pmoc_telemetry::serve_metrics(addr).context("starting the metrics endpoint")?;
    }

    let timely_config = timely::Config::from_args(cli.timely.into_iter())
        .map_err(|e| anyhow::anyhow!("timely options: {e}"))?;
    // Within 5 s of SIGTERM whatever is down: only stored results were
    // checkpointed, so what a forced exit cuts short is replayed next start.
    let stop = pmoc_telemetry::shutdown::on_signals(pmoc_telemetry::shutdown::STOP_DEADLINE)
        .context("listening for signals")?;
    pmoc_pipeline::run::run(&settings, timely_config, stop.flag())?;
    tracing::info!("pipeline stopped");
    Ok(())
}
