//! `pmoc-ingest`: create topics and run simulated feeds.

use std::{path::PathBuf, time::Duration};

use anyhow::Context;
use clap::{Parser, Subcommand};
use pmoc_ingest::{Publisher, kafka, simulate::water::WaterSimulator};
use pmoc_schemas::config::Settings;
use time::OffsetDateTime;

#[derive(Debug, Parser)]
#[command(version, about = "Publish PMOC's committee feeds to Kafka")]
struct Cli {
    /// Settings file (TOML); embedded defaults and PMOC_* variables apply without it.
    #[arg(long, env = "PMOC_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create every PMOC topic that does not exist yet.
    Topics,
    /// Publish simulated water-level telemetry until interrupted.
    SimulateWater {
        /// Stop after this many rounds (one reading per station each).
        #[arg(long)]
        rounds: Option<u64>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PMOC_LOG")
                .unwrap_or_else(|_| "info,rdkafka=warn".into()),
        )
        .init();
    let cli = Cli::parse();
    let settings = Settings::load(cli.config.as_deref())?;
    match cli.command {
        Command::Topics => {
            kafka::ensure_topics(&settings.kafka)
                .await
                .context("creating topics")?;
            tracing::info!(topics = ?kafka::topics(&settings.kafka), "topics ready");
        }
        Command::SimulateWater { rounds } => simulate_water(&settings, rounds).await?,
    }
    Ok(())
}

async fn simulate_water(settings: &Settings, rounds: Option<u64>) -> anyhow::Result<()> {
    let sim = &settings.simulator;
    let publisher = Publisher::new(&settings.kafka.brokers)?;
    let topic = &settings.kafka.water_level_topic;
    let mut simulator = WaterSimulator::new(sim.seed, sim.stations);
    let mut interval = tokio::time::interval(Duration::from_millis(sim.interval_ms));
    let mut total = 0u64;
    let mut round = 0u64;
    tracing::info!(%topic, stations = sim.stations, interval_ms = sim.interval_ms, "simulating water-level telemetry");
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            _ = tokio::signal::ctrl_c() => break,
        }
        let readings = simulator.tick(OffsetDateTime::now_utc());
        let messages = readings
            .iter()
            .map(|r| Ok((r.province_code.to_string(), serde_json::to_vec(r)?)))
            .collect::<Result<Vec<_>, serde_json::Error>>()?;
        total += publisher.send_all(topic, messages).await?.len() as u64;
        round += 1;
        if round.is_multiple_of(30) {
            tracing::info!(rounds = round, events = total, "published");
        }
        if rounds.is_some_and(|n| round >= n) {
            break;
        }
    }
    tracing::info!(rounds = round, events = total, "simulator stopped");
    Ok(())
}
