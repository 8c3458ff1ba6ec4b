//! `pmoc-pipeline`: run the streaming core.
//!
//! Timely's own options go after `--`: `pmoc-pipeline -- -w 2` for two worker
//! threads, `pmoc-pipeline -- -w 1 -n 2 -p 0 -h hosts.txt` for process 0 of a
//! two-process cluster.

use std::{
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

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
    let shutdown = Arc::new(AtomicBool::new(false));
    let flag = shutdown.clone();
    ctrlc_handler(move || flag.store(true, Ordering::SeqCst))?;
    pmoc_pipeline::run::run(&settings, timely_config, shutdown)?;
    tracing::info!("pipeline stopped");
    Ok(())
}

/// Longest a stop may take once asked for: past it the process exits
/// anyway. Nothing is lost by that: only stored results are checkpointed,
/// so whatever was in flight is replayed on the next start.
const STOP_DEADLINE: std::time::Duration = std::time::Duration::from_millis(4_500);

/// Sets `on_signal` to run on SIGINT or SIGTERM, from a small signal thread;
/// a second signal, or [`STOP_DEADLINE`] passing, ends the process at once.
fn ctrlc_handler(on_signal: impl Fn() + Send + 'static) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            rt.block_on(async {
                use tokio::signal::unix::{SignalKind, signal};
                let (Ok(mut term), Ok(mut int)) =
                    (signal(SignalKind::terminate()), signal(SignalKind::interrupt()))
                else {
                    tracing::error!("cannot listen for signals; only SIGKILL will stop this process");
                    return;
                };
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
                tracing::info!("stopping");
                on_signal();
                tokio::select! {
                    _ = term.recv() => tracing::warn!("second signal: exiting now"),
                    _ = int.recv() => tracing::warn!("second signal: exiting now"),
                    () = tokio::time::sleep(STOP_DEADLINE) => {
                        tracing::warn!(deadline = ?STOP_DEADLINE, "not stopped in time: exiting now; unstored work is replayed on the next start");
                    }
                }
                std::process::exit(143);
            })
        })?;
    Ok(())
}
