//! Crash safety: the pipeline is killed with SIGKILL at random moments while
//! data keeps arriving, and restarted each time. The final tables must equal
//! a batch recomputation from the raw events, row for row: nothing lost,
//! nothing counted twice.

use std::time::Duration;

use pmoc_ingest::{Publisher, kafka::ensure_topics};
use pmoc_tests::{clickhouse::ClickHouse, init_tracing, kafka::Broker, process::wait_for};

use crate::support::{
    assert_equals_oracle, events, inserted, last_write, oracle, pipeline, publish, settings,
    wait_for_all,
};

/// Rounds of 75 messages (60 water readings, 15 service transactions):
/// 2,700 rounds are 202,500 events, about 15 hours of event time.
/// `PMOC_CRASH_ROUNDS` changes it (smaller for a quick local run).
fn rounds() -> i64 {
    std::env::var("PMOC_CRASH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2_700)
}
const KILLS: usize = 5;

/// A small xorshift generator, seeded from the process id and printed, so a
/// failing run's kill points can be reproduced with PMOC_CRASH_SEED.
struct Rng(u64);
impl Rng {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_pipeline_loses_and_duplicates_nothing() -> anyhow::Result<()> {
    let _heavy = crate::support::heavy().await;
    init_tracing();
    let seed = std::env::var("PMOC_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| (u64::from(std::process::id()) * 2_654_435_761) | 1);
    eprintln!("crash test seed: PMOC_CRASH_SEED={seed}");
    let mut rng = Rng(seed);

    let dir = tempfile::tempdir()?;
    let clickhouse = ClickHouse::start(dir.path()).await?;
    let broker = Broker::start(dir.path()).await?;
    let settings = settings(&broker, &clickhouse, "it_crash");
    ensure_topics(&settings.kafka).await?;
    pmoc_store::migrate(&settings.clickhouse).await?;
    let client = pmoc_store::client(&settings.clickhouse);
    let publisher = Publisher::new(&settings.kafka.brokers)?;

    let all = events(rounds());
    let chunk = all.len().div_ceil(KILLS + 1);
    let mut delivered = Vec::with_capacity(all.len());
    let mut kills = 0;
    // Partitions never count as idle while killing, so the frontier follows
    // the data alone; the last run closes the remaining windows.
    for (i, part) in all.chunks(chunk).enumerate() {
        // Published before the run starts: historical data on an empty,
        // idle topic would rightly be late against a wall-clock frontier.
        delivered.extend(publish(&publisher, &settings, part).await?);
        if i == KILLS {
            break;
        }
        let before = last_write(&client).await?;
        let log = dir.path().join(format!("pipeline-{i}.log"));
        let mut process = pipeline(&settings, 3_600, &log, &[])?;
        // Half the kills come once this run has stored something, half
        // blind (often mid-replay or mid-insert); then a random delay.
        if rng.next(2) == 0 {
            wait_for("pipeline progress", Duration::from_secs(60), || {
                let running = process.check_running();
                let client = &client;
                async move {
                    running?;
                    Ok((last_write(client).await? > before).then_some(()))
                }
            })
            .await?;
        }
        tokio::time::sleep(Duration::from_millis(rng.next(300))).await;
        process.kill();
        kills += 1;
    }
    assert_eq!(kills, KILLS);

    let expected = oracle(&delivered);
    // Every late value of this data is within the correction horizon: each
    // revises its windows, and a replay must not fold one in twice.
    assert!(expected.revised() > 100, "the data exercises lateness");
    let mut last = pipeline(&settings, 2, &dir.path().join("pipeline-final.log"), &[])?;
    let (rows, late) = wait_for_all(&client, &expected, &mut [&mut last]).await?;
    assert_equals_oracle(&rows, &late, &expected);
    eprintln!(
        "{} events, {} windows, {} late values folded in ({} beyond the horizon), {kills} kills; \
         {} rows not yet merged away (replays included)",
        delivered.len(),
        rows.len(),
        expected.revised(),
        late.len(),
        inserted(&client, "window_aggregates").await?
    );
    Ok(())
}
