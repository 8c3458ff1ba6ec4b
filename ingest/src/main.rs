//! `pmoc-ingest`: create topics, connect the agencies' public feeds, run
//! simulated ones, and serve the HTTP ingest endpoint.

use std::{collections::BTreeMap, path::PathBuf, time::Duration};

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use pmoc_ingest::{
    Publisher,
    connect::{self, Format, Source},
    kafka,
    simulate::{self, Scenario, Scenarios, SimOptions, Simulator},
};
use pmoc_schemas::{committee::Committee, config::Settings};
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
    /// Publish simulated feeds of the committees' envelopes until interrupted.
    Simulate {
        /// Which committee to simulate.
        #[arg(long, value_enum, default_value_t = CommitteeArg::All)]
        committee: CommitteeArg,
        /// Switch a scenario on (repeatable): flood-ubon, haze-chiangmai,
        /// deep-south, stalled-budget. Adds to `simulator.scenarios`.
        #[arg(long = "scenario", value_name = "NAME")]
        scenarios: Vec<Scenario>,
        /// Stop after this many rounds.
        #[arg(long)]
        rounds: Option<u64>,
        /// Seed of the feed; `simulator.seed` without it.
        #[arg(long)]
        seed: Option<u64>,
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
    /// Serve `POST /v1/events` for agencies that cannot speak Kafka
    /// (settings: `[http_ingest]`).
    Serve,
    /// Print the `sha256:` hash of the token read from standard input, as
    /// `http_ingest.agencies` expects it (the token itself is never stored).
    HashToken,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CommitteeArg {
    Population,
    Security,
    Water,
    Resources,
    All,
}

impl CommitteeArg {
    fn committees(self) -> Vec<Committee> {
        match self {
            Self::Population => vec![Committee::Population],
            Self::Security => vec![Committee::Security],
            Self::Water => vec![Committee::Water],
            Self::Resources => vec![Committee::Resources],
            Self::All => Committee::ALL.to_vec(),
        }
    }
}

/// The formats `connect` reads.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum FormatArg {
    /// HII ThaiWater API water levels and rain (waterlevel_load, rain_24h,
    /// thailand_main; JSON).
    Thaiwater,
    /// PCD Air4Thai stations (getNewAQI_JSON).
    Air4thai,
    /// GISTDA VIIRS/MODIS hotspots (CSV), or a raw NASA FIRMS CSV (area
    /// from the point).
    Gistda,
    /// GISTDA's hotspot API (GeoJSON).
    GistdaApi,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Thaiwater => Self::ThaiWater,
            FormatArg::Air4thai => Self::Air4Thai,
            FormatArg::Gistda => Self::Gistda,
            FormatArg::GistdaApi => Self::GistdaApi,
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Logs and progress on stderr; stdout carries only results (the
    // connector's summary).
    pmoc_telemetry::init_logs("info,rdkafka=warn");
    let cli = Cli::parse();
    let settings = Settings::load(cli.config.as_deref())?;
    match cli.command {
        Command::Topics => {
            kafka::ensure_topics(&settings.kafka)
                .await
                .context("creating topics")?;
            tracing::info!(topics = ?kafka::topics(&settings.kafka), "topics ready");
        }
        Command::Simulate {
            committee,
            scenarios,
            rounds,
            seed,
        } => {
            let mut set = Scenarios::parse(settings.simulator.scenarios.iter().map(String::as_str))
                .context("simulator.scenarios in the settings")?;
            scenarios.into_iter().for_each(|s| set.insert(s));
            let options = SimOptions {
                seed: seed.unwrap_or(settings.simulator.seed),
                committees: committee.committees(),
                scenarios: set,
                interval: Duration::from_millis(settings.simulator.interval_ms),
                speedup: settings.simulator.speedup,
            };
            simulate_committees(&settings, options, rounds).await?;
        }
        Command::Connect {
            format,
            source,
            dry_run,
            progress_every,
        } => {
            let options = connect::Options {
                dry_run,
                progress_every,
                sources: settings.sources.clone(),
            };
            let source = Source::parse(&source);
            let summary = connect::run(format.into(), &source, &settings.kafka, &options)
                .await
                .with_context(|| format!("connecting {source}"))?;
            print!("{summary}");
        }
        Command::Serve => {
            let listen = &settings.http_ingest.listen;
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("binding {listen}"))?;
            // Requests in flight get until the deadline to be answered;
            // a client cut off resends (event ids make that safe).
            let stop =
                pmoc_telemetry::shutdown::on_signals(pmoc_telemetry::shutdown::STOP_DEADLINE)
                    .context("listening for signals")?;
            pmoc_ingest::http::run(listener, settings, stop.requested()).await?;
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

/// Rounds between two progress lines.
const PROGRESS_EVERY: u64 = 15;

async fn simulate_committees(
    settings: &Settings,
    options: SimOptions,
    rounds: Option<u64>,
) -> anyhow::Result<()> {
    let publisher = Publisher::new(&settings.kafka.brokers)?;
    let interval = options.interval;
    let scenarios: Vec<&str> = options.scenarios.iter().map(Scenario::name).collect();
    tracing::info!(
        committees = ?options.committees,
        ?scenarios,
        seed = options.seed,
        interval_ms = interval.as_millis() as u64,
        speedup = options.speedup,
        "simulating committee feeds"
    );
    let mut simulator = Simulator::new(options)?;
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let stop = pmoc_telemetry::shutdown::on_signals(pmoc_telemetry::shutdown::STOP_DEADLINE)
        .context("listening for signals")?;
    let mut stop = std::pin::pin!(stop.requested());
    let mut totals: BTreeMap<Committee, u64> = BTreeMap::new();
    let mut since: BTreeMap<Committee, u64> = BTreeMap::new();
    let mut round = 0u64;
    let mut window = std::time::Instant::now();
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = &mut stop => break,
        }
        let events = simulator.round(OffsetDateTime::now_utc())?;
        let mut batches: BTreeMap<Committee, Vec<(String, Vec<u8>)>> = BTreeMap::new();
        for e in &events {
            let bytes = e
                .encode()
                .with_context(|| format!("encoding {}", e.event_id))?;
            batches
                .entry(e.committee)
                .or_default()
                .push((simulate::key(e).to_owned(), bytes));
        }
        let sends = batches.into_iter().map(|(committee, messages)| {
            let topic = settings.kafka.topics.of(committee);
            let publisher = &publisher;
            async move {
                let n = publisher.send_all(topic, messages).await?.len() as u64;
                Ok::<_, pmoc_ingest::IngestError>((committee, n))
            }
        });
        // A broker that is down holds the round: a stop must not wait for it.
        let sent = tokio::select! {
            sent = futures::future::try_join_all(sends) => sent?,
            () = &mut stop => break,
        };
        for (committee, n) in sent {
            *totals.entry(committee).or_default() += n;
            *since.entry(committee).or_default() += n;
        }
        round += 1;
        if round.is_multiple_of(PROGRESS_EVERY) {
            let seconds = window.elapsed().as_secs_f64().max(0.001);
            let rate = |c| since.get(&c).copied().unwrap_or(0) as f64 / seconds;
            tracing::info!(
                rounds = round,
                population_per_s = format!("{:.1}", rate(Committee::Population)),
                security_per_s = format!("{:.1}", rate(Committee::Security)),
                water_per_s = format!("{:.1}", rate(Committee::Water)),
                resources_per_s = format!("{:.1}", rate(Committee::Resources)),
                total = totals.values().sum::<u64>(),
                "published"
            );
            since.clear();
            window = std::time::Instant::now();
        }
        if rounds.is_some_and(|n| round >= n) {
            break;
        }
    }
    tracing::info!(rounds = round, events = ?totals, "simulator stopped");
    Ok(())
}
