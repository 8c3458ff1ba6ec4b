//! `pmoc-burst`: send a burst of agency records to a running HTTP ingest
//! endpoint, as the burst test does, and print what happened as JSON.
//!
//! The broker evaluation (`scripts/burst.sh`) runs it against the local
//! stack; it is a measuring tool, not a test: it asserts nothing beyond
//! "every valid record was accepted or its batch abandoned".

use std::time::Duration;

use clap::Parser;
use pmoc_tests::burst::{self, BurstConfig};

#[derive(Debug, Parser)]
#[command(about = "Send a burst of valid and junk records to a PMOC HTTP ingest endpoint")]
struct Cli {
    /// The endpoint, e.g. http://127.0.0.1:8090/v1/events.
    #[arg(long, default_value = "http://127.0.0.1:8090/v1/events")]
    endpoint: String,
    /// Bearer token of the agency.
    #[arg(long, env = "PMOC_BURST_TOKEN")]
    token: String,
    #[arg(long, default_value = "HII")]
    agency: String,
    /// Valid `hii.rainfall` records.
    #[arg(long, default_value_t = 200_000)]
    valid: usize,
    /// Records every validator refuses (dead-lettered).
    #[arg(long, default_value_t = 100_000)]
    junk: usize,
    /// Records per request.
    #[arg(long, default_value_t = 10_000)]
    batch: usize,
    /// Requests at once.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Send all the junk first (as one agency's broken export), then the
    /// valid records; default: junk mixed into every batch.
    #[arg(long)]
    junk_first: bool,
    /// Records per second at most (default: as fast as answered).
    #[arg(long)]
    rate: Option<f64>,
    /// Seconds to keep retrying one batch before giving it up.
    #[arg(long, default_value_t = 600)]
    give_up_after: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let run_id = format!(
        "burst-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis()
    );
    let config = BurstConfig {
        endpoint: cli.endpoint,
        token: cli.token,
        agency: cli.agency,
        run_id,
        valid: cli.valid,
        junk: cli.junk,
        batch: cli.batch,
        concurrency: cli.concurrency,
        junk_first: cli.junk_first,
        rate: cli.rate,
        give_up_after: Duration::from_secs(cli.give_up_after),
    };
    eprintln!(
        "sending {} valid and {} junk records in batches of {} over {} connections",
        config.valid, config.junk, config.batch, config.concurrency
    );
    let report = burst::run(&config).await?;
    eprintln!(
        "accepted {} records ({} rejected) in {:.1} s: {:.0} accepted/s; {} retries, {} abandoned; statuses {:?}",
        report.accepted,
        report.rejected,
        report.seconds,
        report.accepted_per_second,
        report.retries,
        report.abandoned,
        report.statuses
    );
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}
