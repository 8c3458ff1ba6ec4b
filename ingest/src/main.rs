//! `pmoc-ingest`: create topics, run simulated feeds, serve the HTTP ingest
//! endpoint.

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
    /// Serve `POST /v1/events` for agencies that cannot speak Kafka
    /// (settings: `[http_ingest]`).
    Serve,
    /// Print the `sha256:` hash of the token read from standard input, as
    /// `http_ingest.agencies` expects it (the token itself is never stored).
    HashToken,
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
        Command::Serve => {
            let listen = &settings.http_ingest.listen;
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("binding {listen}"))?;
            pmoc_ingest::http::run(listener, settings, async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        }
        Command::HashToken => {
            let mut token = String::new();
            std::io::stdin()
                .read_line(&mut token)
                .context("reading the token from standard input")?;
            let token = token.trim_end_matches(['\r', '\n']);
            anyhow::ensure!(!token.is_empty(), "no token on standard input");
            println!("{}", pmoc_ingest::http::hash_token(token));
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
