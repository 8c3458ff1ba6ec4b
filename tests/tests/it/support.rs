//! Helpers shared by the fault and scale-out tests.

use std::{path::Path, process::Command, time::Duration};

use pmoc_ingest::{Publisher, simulate::water::WaterSimulator};
use pmoc_pipeline::store::{AggregateRow, LateRow};
use pmoc_schemas::{config::Settings, water::WaterLevelReading};
use pmoc_tests::{
    clickhouse::ClickHouse,
    kafka::Broker,
    oracle::{self, Expected},
    process::{ChildGuard, wait_for},
    unique_name, workspace_binary,
};
use time::{Duration as TimeDelta, macros::datetime};

pub const LATENESS_MS: i64 = 30_000;
pub const WINDOW_MS: i64 = 60_000;

/// Simulated telemetry of 60 stations every 20 s of event time for `rounds`
/// rounds, some out of order: every 7th reading 25 s early (inside the
/// lateness), every 11th 45 s early (beyond it, so late).
pub fn events(rounds: i64) -> Vec<WaterLevelReading> {
    let t0 = datetime!(2026-09-22 00:00:00 +07:00);
    let mut sim = WaterSimulator::new(99, 60);
    let mut all = Vec::new();
    for round in 0..rounds {
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

/// Settings for a test's own topic (4 partitions), database and group.
pub fn settings(broker: &Broker, clickhouse: &ClickHouse, name: &str) -> Settings {
    let mut s = Settings::default();
    s.kafka.brokers = broker.bootstrap.clone();
    s.kafka.water_level_topic = unique_name("water");
    s.kafka.partitions = 4;
    s.clickhouse.url = clickhouse.url.clone();
    s.clickhouse.database = unique_name(name);
    s.pipeline.group_id = unique_name("pipeline");
    s
}

/// Publishes `events` keyed by province; returns them with their partition
/// and offset, as the oracle needs.
pub async fn publish(
    publisher: &Publisher,
    topic: &str,
    events: &[WaterLevelReading],
) -> anyhow::Result<Vec<(i32, i64, WaterLevelReading)>> {
    let messages = events
        .iter()
        .map(|e| Ok((e.province_code.to_string(), serde_json::to_vec(e)?)))
        .collect::<Result<Vec<_>, serde_json::Error>>()?;
    let stored = publisher.send_all(topic, messages).await?;
    Ok(stored
        .iter()
        .zip(events)
        .map(|(d, e)| (d.partition, d.offset, e.clone()))
        .collect())
}

/// The real pipeline binary as a child process, configured through
/// `PMOC_*` variables, with `timely_args` after `--`.
pub fn pipeline(
    settings: &Settings,
    idle_seconds: u32,
    log: &Path,
    timely_args: &[String],
) -> anyhow::Result<ChildGuard> {
    let mut command = Command::new(workspace_binary("pmoc-pipeline")?);
    command
        .args(["--metrics-listen", ""])
        .arg("--")
        .args(timely_args)
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

/// Rows in `table`, replays included (no FINAL): grows with any insert.
pub async fn inserted(client: &clickhouse::Client, table: &str) -> anyhow::Result<u64> {
    Ok(client
        .query(&format!("SELECT count() FROM {table}"))
        .fetch_one()
        .await?)
}

/// Waits until ClickHouse holds as many windows as the oracle expects,
/// failing early if a pipeline process dies.
pub async fn wait_for_all(
    client: &clickhouse::Client,
    expected: &Expected,
    processes: &mut [&mut ChildGuard],
) -> anyhow::Result<(Vec<AggregateRow>, Vec<LateRow>)> {
    let want = expected.windows.len();
    wait_for(
        "every window in clickhouse",
        Duration::from_secs(120),
        || {
            let running: anyhow::Result<()> =
                processes.iter_mut().try_for_each(|p| p.check_running());
            async move {
                running?;
                let (rows, late) = stored(client).await?;
                Ok((rows.len() >= want).then_some((rows, late)))
            }
        },
    )
    .await
}

/// Everything stored, replays collapsed (`FINAL`), in a stable order.
pub async fn stored(
    client: &clickhouse::Client,
) -> anyhow::Result<(Vec<AggregateRow>, Vec<LateRow>)> {
    let rows = client
        .query("SELECT ?fields FROM aggregates FINAL ORDER BY metric, area_level, area_code, window_start")
        .fetch_all()
        .await?;
    let late = client
        .query("SELECT ?fields FROM late_events FINAL ORDER BY event_id")
        .fetch_all()
        .await?;
    Ok((rows, late))
}

/// Row for row: the stored windows and late events are the oracle's.
pub fn assert_equals_oracle(rows: &[AggregateRow], late: &[LateRow], expected: &Expected) {
    let mut mismatches = Vec::new();
    for row in rows {
        let key = (
            row.metric.clone(),
            row.area_level.clone(),
            row.area_code.clone(),
            i64::from(row.window_start) * 1000,
        );
        match expected.windows.get(&key) {
            Some(w)
                if w.count == row.count
                    && oracle::close(w.sum, row.sum)
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
}

/// The oracle for what was delivered.
pub fn oracle(delivered: &[(i32, i64, WaterLevelReading)]) -> Expected {
    oracle::water_windows(delivered, LATENESS_MS, WINDOW_MS)
}
