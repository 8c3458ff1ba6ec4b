//! `pmoc-ingest`: create topics, connect the agencies' public feeds and run
//! simulated ones.

use std::{path::PathBuf, time::Duration};

use anyhow::Context;
use clap::{Parser, Subcommand};
use pmoc_ingest::{
    Publisher,
    connect::{self, Format, Source},
    kafka,
    simulate::water::WaterSimulator,
};
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
    /// Read a public feed (file or http(s) URL) and publish it as envelopes;
    /// rejected records go to the dead-letter topic.
    Connect {
        format: FormatArg,
        /// A file path or an http(s) URL.
        source: String,
        /// Map and validate only; print the summary and publish nothing.
        #[arg(long)]
        dry_run: bool,
        /// Log progress every this many records (0: never).
        #[arg(long, default_value_t = 10_000)]
        progress_every: u64,
    },
}

/// The formats `connect` reads.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum FormatArg {
    /// HII ThaiWater API water levels (JSON).
    Thaiwater,
    /// PCD Air4Thai stations (getNewAQI_JSON).
    Air4thai,
    /// GISTDA VIIRS/MODIS hotspots (CSV).
    Gistda,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Thaiwater => Self::ThaiWater,
            FormatArg::Air4thai => Self::Air4Thai,
            FormatArg::Gistda => Self::Gistda,
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PMOC_LOG")
                .unwrap_or_else(|_| "info,rdkafka=warn".into()),
        )
        // Logs and progress on stderr; stdout carries only results (the
        // connector's summary).
        .with_writer(std::io::stderr)
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
        Command::Connect {
            format,
            source,
            dry_run,
            progress_every,
        } => {
            let options = connect::Options {
                dry_run,
                progress_every,
            };
            let source = Source::parse(&source);
            let summary = connect::run(format.into(), &source, &settings.kafka, &options)
                .await
                .with_context(|| format!("connecting {source}"))?;
            print!("{summary}");
        }
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
