//! Crash safety: the pipeline is killed with SIGKILL at random moments while
//! data keeps arriving, and restarted each time. The final tables must equal
//! a batch recomputation from the raw events, row for row: nothing lost,
//! nothing counted twice.

use std::{process::Command, time::Duration};

use pmoc_ingest::{Publisher, kafka::ensure_topics, simulate::water::WaterSimulator};
use pmoc_schemas::{config::Settings, water::WaterLevelReading};
use pmoc_tests::{
    clickhouse::ClickHouse,
    init_tracing,
    kafka::Broker,
    oracle,
    process::{ChildGuard, wait_for},
    unique_name, workspace_binary,
};
use time::{Duration as TimeDelta, macros::datetime};

const LATENESS_MS: i64 = 30_000;
const WINDOW_MS: i64 = 60_000;
const ROUNDS: i64 = 360; // x 60 stations = 21,600 events
const KILLS: usize = 5;

/// Simulated telemetry every 20 s of event time, some of it out of order:
/// every 7th reading 25 s early (inside the lateness), every 11th 45 s early
/// (beyond it, so late).
fn events() -> Vec<WaterLevelReading> {
    let t0 = datetime!(2026-09-22 00:00:00 +07:00);
    let mut sim = WaterSimulator::new(99, 60);
    let mut all = Vec::new();
    for round in 0..ROUNDS {
        all.extend(sim.tick(t0 + TimeDelta::seconds(20 * round)));
    }
    for (i, e) in all.iter_mut().enumerate() {
        if i % 11 == 0 {
            e.event_time -= TimeDelta::seconds(45);
        } else if i % 7 == 0 {
            e.event_time -= TimeDelta::seconds(25);
        }
    }
    all
}

/// A small xorshift generator, seeded from the clock and printed, so a
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

fn pipeline(
    settings: &Settings,
    idle_seconds: u32,
    log: &std::path::Path,
) -> anyhow::Result<ChildGuard> {
    let mut command = Command::new(workspace_binary("pmoc-pipeline")?);
    command
        .args(["--metrics-listen", ""])
        .env("PMOC_KAFKA__BROKERS", &settings.kafka.brokers)
        .env(
            "PMOC_KAFKA__WATER_LEVEL_TOPIC",
            &settings.kafka.water_level_topic,
        )
        .env("PMOC_CLICKHOUSE__URL", &settings.clickhouse.url)
        .env("PMOC_CLICKHOUSE__DATABASE", &settings.clickhouse.database)
        .env("PMOC_PIPELINE__GROUP_ID", &settings.pipeline.group_id)
        .env(
            "PMOC_PIPELINE__ALLOWED_LATENESS_SECONDS",
            (LATENESS_MS / 1000).to_string(),
        )
        .env(
            "PMOC_PIPELINE__IDLE_PARTITION_SECONDS",
            idle_seconds.to_string(),
        )
        .env("PMOC_PIPELINE__FLUSH_INTERVAL_MS", "50")
        .env("PMOC_LOG", "info,rdkafka=off,librdkafka=off");
    ChildGuard::spawn("pmoc-pipeline", command, log)
}

async fn count(client: &clickhouse::Client, table: &str) -> anyhow::Result<u64> {
    // Without FINAL: every insert counts, so this grows with any progress.
    Ok(client
        .query(&format!("SELECT count() FROM {table}"))
        .fetch_one()
        .await?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_pipeline_loses_and_duplicates_nothing() -> anyhow::Result<()> {
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
    let mut settings = Settings::default();
    settings.kafka.brokers = broker.bootstrap.clone();
    settings.kafka.water_level_topic = unique_name("water");
    settings.kafka.partitions = 4;
    settings.clickhouse.url = clickhouse.url.clone();
    settings.clickhouse.database = unique_name("it_crash");
    settings.pipeline.group_id = unique_name("pipeline");
    ensure_topics(&settings.kafka).await?;
    pmoc_pipeline::store::migrate(&settings.clickhouse).await?;
    let client = pmoc_pipeline::store::client(&settings.clickhouse);

    let all = events();
    let publisher = Publisher::new(&settings.kafka.brokers)?;
    let chunk = all.len().div_ceil(KILLS + 1);
    let mut delivered = Vec::with_capacity(all.len());
    let publish = |part: &[WaterLevelReading]| {
        let messages: Vec<(String, Vec<u8>)> = part
            .iter()
            .map(|e| Ok((e.province_code.to_string(), serde_json::to_vec(e)?)))
            .collect::<Result<_, serde_json::Error>>()
            .expect("encode");
        (part.to_vec(), messages)
    };

    // Partitions never count as idle while killing, so the frontier follows
    // the data alone; the last run closes the remaining windows.
    let mut kills = 0;
    for (i, part) in all.chunks(chunk).enumerate() {
        let (events, messages) = publish(part);
        let before = count(&client, "aggregates").await?;
        // Published first: historical data on an empty, idle topic would
        // rightly be late against a frontier that follows the wall clock.
        let stored = publisher
            .send_all(&settings.kafka.water_level_topic, messages)
            .await?;
        delivered.extend(
            stored
                .iter()
                .zip(events)
                .map(|(d, e)| (d.partition, d.offset, e)),
        );
        if i == KILLS {
            break;
        }
        let mut process = pipeline(
            &settings,
            3_600,
            &dir.path().join(format!("pipeline-{i}.log")),
        )?;
        // Half the kills come once this run has stored something, half
        // blind (often mid-replay or mid-insert); then a random delay.
        if rng.next(2) == 0 {
            wait_for("pipeline progress", Duration::from_secs(60), || {
                let running = process.check_running();
                let client = &client;
                async move {
                    running?;
                    Ok((count(client, "aggregates").await? > before).then_some(()))
                }
            })
            .await?;
        }
        tokio::time::sleep(Duration::from_millis(rng.next(300))).await;
        process.kill();
        kills += 1;
    }
    assert_eq!(kills, KILLS);

    let expected = oracle::water_windows(&delivered, LATENESS_MS, WINDOW_MS);
    assert!(expected.late_ids.len() > 100, "the data exercises lateness");
    let mut last = pipeline(&settings, 2, &dir.path().join("pipeline-final.log"))?;
    let rows = wait_for(
        "every window in clickhouse",
        Duration::from_secs(120),
        || {
            let running = last.check_running();
            let (client, want) = (&client, expected.windows.len());
            async move {
                running?;
                let rows: Vec<pmoc_pipeline::store::AggregateRow> = client
                    .query("SELECT ?fields FROM aggregates FINAL ORDER BY area_code, window_start")
                    .fetch_all()
                    .await?;
                Ok((rows.len() >= want).then_some(rows))
            }
        },
    )
    .await?;
    let late: Vec<pmoc_pipeline::store::LateRow> = client
        .query("SELECT ?fields FROM late_events FINAL ORDER BY event_id")
        .fetch_all()
        .await?;

    let mut mismatches = Vec::new();
    for row in &rows {
        let key = (row.area_code.clone(), i64::from(row.window_start) * 1000);
        match expected.windows.get(&key) {
            Some(w)
                if w.count == row.count
                    && (w.sum - row.sum).abs() < 1e-6
                    && (w.min, w.max, w.last) == (row.min, row.max, row.last) => {}
            other => mismatches.push(format!("{key:?}: stored {row:?}, expected {other:?}")),
        }
    }
    assert_eq!(rows.len(), expected.windows.len(), "window count");
    assert!(
        mismatches.is_empty(),
        "{} windows differ:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    let late_ids: Vec<&str> = late.iter().map(|l| l.event_id.as_str()).collect();
    assert_eq!(late_ids, expected.late_ids, "late events");
    let inserted = count(&client, "aggregates").await?;
    eprintln!(
        "{} events, {} windows, {} late, {kills} kills; {inserted} rows inserted in all (replays included)",
        delivered.len(),
        rows.len(),
        late.len()
    );
    Ok(())
}
