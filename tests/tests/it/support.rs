//! Helpers shared by the fault and scale-out tests.

use std::{path::Path, process::Command, time::Duration};

use pmoc_ingest::Publisher;
use pmoc_schemas::{
    area::ProvinceCode,
    committee::{
        Committee,
        population::{PublicServiceTransaction, ServiceChannel, ServiceOutcome},
        water::WaterLevel,
    },
    config::Settings,
    district::{DistrictCode, districts},
    envelope::{Area, Envelope, Payload},
    event::EventId,
};
use pmoc_store::{LateRow, WindowRow};
use pmoc_tests::{
    clickhouse::ClickHouse,
    kafka::Broker,
    oracle::{self, Delivered, Expected},
    process::ChildGuard,
    unique_name, workspace_binary,
};
use time::{Duration as TimeDelta, OffsetDateTime, macros::datetime};

pub const LATENESS_MS: i64 = 30_000;
/// The default correction horizon: every late value of these tests revises.
pub const HORIZON_MS: i64 = 604_800_000;
/// The widths every test runs with: the production defaults.
pub const WIDTHS_S: [u32; 3] = [60, 3_600, 86_400];

/// The first district of a province, to exercise the district level.
fn first_district(province: &ProvinceCode) -> Option<DistrictCode> {
    districts()
        .iter()
        .find(|d| d.province_code == province.as_str())
        .and_then(|d| DistrictCode::parse(&d.code).ok())
}

/// A water-level envelope; every other one names its district.
pub fn water(id: &str, province: &str, at: OffsetDateTime, level: f64, district: bool) -> Envelope {
    let province = ProvinceCode::parse(province).expect("province");
    let district = district.then(|| first_district(&province)).flatten();
    Envelope::new(
        EventId::parse(id).expect("id"),
        "HII",
        "telemetry",
        at,
        Area::new(province.clone(), district).expect("area"),
        None,
        Payload::WaterLevel(WaterLevel {
            station_id: format!("TEST-{}", province.as_str()),
            level_m_msl: level,
            bank_level_m_msl: level + 5.0,
            ground_level_m_msl: None,
            discharge_m3s: None,
            pct_bank_full: None,
        }),
    )
}

/// A public-service transaction at a district office: waits have a
/// distribution, so these exercise p50/p95.
pub fn service(id: &str, province: &str, at: OffsetDateTime, wait_minutes: f64) -> Envelope {
    let province = ProvinceCode::parse(province).expect("province");
    let district = first_district(&province);
    Envelope::new(
        EventId::parse(id).expect("id"),
        "DOPA",
        "queue",
        at,
        Area::new(province, district).expect("area"),
        None,
        Payload::PublicService(PublicServiceTransaction {
            office_id: "OFFICE-1".to_owned(),
            service: "id_card_renewal".to_owned(),
            channel: ServiceChannel::Counter,
            wait_minutes,
            outcome: if wait_minutes > 60.0 {
                ServiceOutcome::Referred
            } else {
                ServiceOutcome::Completed
            },
        }),
    )
}

/// Provinces of the test stations, on the Chao Phraya, Ping, Nan, Mun and
/// Chi systems and in the south: real codes, so every province and district
/// rollup is exercised, and enough of them to fill every partition.
const STATION_PROVINCES: [&str; 22] = [
    "10", "12", "14", "18", "50", "53", "57", "60", "64", "65", "30", "31", "33", "34", "35", "40",
    "44", "45", "46", "90", "84", "80",
];
/// Water-level stations reporting every round.
const STATIONS: usize = 60;

/// A station's level in round `round`, centimetres above MSL: a fixed
/// per-station base, a slow triangular swing (stations out of phase) and a
/// small hashed jitter. Integer arithmetic only, so every run, and the
/// oracle, sees the very same values.
fn level_cm(station: usize, round: i64) -> i64 {
    let station = station as i64;
    let base = 200 + (station * 2_917) % 17_800;
    let phase = (round + station * 5).rem_euclid(40);
    let swing = 3 * phase.min(40 - phase);
    let mut h = ((station as u64) << 32) ^ round as u64;
    h = (h ^ (h >> 33)).wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    base + swing + (h % 7) as i64 - 3
}

/// Deterministic water telemetry of 60 stations and a public-service
/// transaction for every fourth station, every 20 s of event time for
/// `rounds` rounds, some out of order: every 7th message 25 s early (inside
/// the lateness), every 11th 45 s early (beyond it, so late). Event ids are
/// unique per station and round.
pub fn events(rounds: i64) -> Vec<Envelope> {
    events_from(datetime!(2026-09-22 00:00:00 +07:00), rounds)
}

/// Two days ago, on the hour: events from then on fill windows that are all
/// closed (their Thai day too), inside the dashboard's 7-day views.
pub fn two_days_ago() -> OffsetDateTime {
    let t = OffsetDateTime::now_utc() - TimeDelta::days(2);
    t - TimeDelta::seconds(t.unix_timestamp().rem_euclid(3_600))
}

/// [`events`] from `t0` on: tests that read them through the dashboard,
/// whose views end now, need them recent.
pub fn events_from(t0: OffsetDateTime, rounds: i64) -> Vec<Envelope> {
    let mut all = Vec::new();
    for round in 0..rounds {
        let at = t0 + TimeDelta::seconds(20 * round);
        for i in 0..STATIONS {
            let p = STATION_PROVINCES[i % STATION_PROVINCES.len()];
            let id = format!("HII-{p}-{i:03}-{}", round + 1);
            let level = level_cm(i, round) as f64 / 100.0;
            all.push(water(&id, p, at, level, i % 2 == 0));
            if i % 4 == 0 {
                let wait = ((round * 37 + i as i64 * 13) % 95) as f64 + 0.25;
                all.push(service(&format!("svc-{id}"), p, at, wait));
            }
        }
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

/// Settings for a test's own topics (4 partitions), database and group.
pub fn settings(broker: &Broker, clickhouse: &ClickHouse, name: &str) -> Settings {
    settings_for(broker, &clickhouse.url, name)
}

/// [`settings`] for the ClickHouse at `url`.
pub fn settings_for(broker: &Broker, url: &str, name: &str) -> Settings {
    let mut s = Settings::default();
    s.kafka.brokers = broker.bootstrap.clone();
    s.kafka.topics.population = unique_name("population");
    s.kafka.topics.security = unique_name("security");
    s.kafka.topics.water = unique_name("water");
    s.kafka.topics.resources = unique_name("resources");
    s.kafka.partitions = 4;
    s.clickhouse.url = url.to_owned();
    s.clickhouse.database = unique_name(name);
    s.pipeline.group_id = unique_name("pipeline");
    s.pipeline.windows_seconds = WIDTHS_S.to_vec();
    s
}

/// Publishes each envelope to its committee's topic keyed by province;
/// returns them with where they were stored, as the oracle needs.
pub async fn publish(
    publisher: &Publisher,
    settings: &Settings,
    events: &[Envelope],
) -> anyhow::Result<Vec<Delivered>> {
    let mut delivered = Vec::with_capacity(events.len());
    for committee in Committee::ALL {
        let topic = settings.kafka.topics.of(committee);
        let mine: Vec<&Envelope> = events.iter().filter(|e| e.committee == committee).collect();
        let messages = mine
            .iter()
            .map(|e| Ok((e.area.province.to_string(), e.encode()?)))
            .collect::<Result<Vec<_>, pmoc_schemas::RejectReason>>()
            .map_err(|r| anyhow::anyhow!("encoding: {r}"))?;
        let stored = publisher.send_all(topic, messages).await?;
        delivered.extend(
            stored
                .iter()
                .zip(mine)
                .map(|(d, e)| (topic.to_owned(), d.partition, d.offset, e.clone())),
        );
    }
    Ok(delivered)
}

/// The real pipeline binary as a child process, configured through
/// `PMOC_*` variables, with `timely_args` after `--`.
pub fn pipeline(
    settings: &Settings,
    idle_seconds: u32,
    log: &Path,
    timely_args: &[String],
) -> anyhow::Result<ChildGuard> {
    // The pipeline refuses to start with an idle timeout shorter than the
    // lateness (a partition let go too early turns its next on-time event
    // late): a quick final flush waits the lateness, no less.
    let idle_seconds = idle_seconds.max((LATENESS_MS / 1000) as u32);
    let mut command = Command::new(workspace_binary("pmoc-pipeline")?);
    command
        .args(["--metrics-listen", ""])
        .arg("--")
        .args(timely_args)
        .envs(shared_env(settings))
        .env("PMOC_PIPELINE__GROUP_ID", &settings.pipeline.group_id)
        .env(
            "PMOC_PIPELINE__ALLOWED_LATENESS_SECONDS",
            (LATENESS_MS / 1000).to_string(),
        )
        .env(
            "PMOC_PIPELINE__IDLE_PARTITION_SECONDS",
            idle_seconds.to_string(),
        )
        .env("PMOC_PIPELINE__FLUSH_INTERVAL_MS", "50");
    ChildGuard::spawn("pmoc-pipeline", command, log)
}

/// The settings every PMOC binary of a test shares, as `PMOC_*` variables:
/// its broker, topics and database.
pub fn shared_env(settings: &Settings) -> Vec<(&'static str, String)> {
    let k = &settings.kafka;
    vec![
        ("PMOC_KAFKA__BROKERS", k.brokers.clone()),
        (
            "PMOC_KAFKA__TOPICS__POPULATION",
            k.topics.population.clone(),
        ),
        ("PMOC_KAFKA__TOPICS__SECURITY", k.topics.security.clone()),
        ("PMOC_KAFKA__TOPICS__WATER", k.topics.water.clone()),
        ("PMOC_KAFKA__TOPICS__RESOURCES", k.topics.resources.clone()),
        ("PMOC_KAFKA__DEAD_LETTER_TOPIC", k.dead_letter_topic.clone()),
        ("PMOC_KAFKA__ALERTS_TOPIC", k.alerts_topic.clone()),
        ("PMOC_CLICKHOUSE__URL", settings.clickhouse.url.clone()),
        (
            "PMOC_CLICKHOUSE__FAILOVER_URLS",
            format!("{:?}", settings.clickhouse.failover_urls),
        ),
        (
            "PMOC_CLICKHOUSE__CLUSTER",
            settings.clickhouse.cluster.clone(),
        ),
        (
            "PMOC_CLICKHOUSE__DATABASE",
            settings.clickhouse.database.clone(),
        ),
        // PMOC_CHILD_LOG raises the children's log level to debug a failure.
        (
            "PMOC_LOG",
            std::env::var("PMOC_CHILD_LOG")
                .unwrap_or_else(|_| "info,rdkafka=off,librdkafka=off".to_owned()),
        ),
    ]
}

/// Rows in `table` not yet collapsed (no FINAL). Not a progress measure:
/// background merges of the replacing tables shrink it (see [`last_write`]).
pub async fn inserted(client: &clickhouse::Client, table: &str) -> anyhow::Result<u64> {
    Ok(client
        .query(&format!("SELECT count() FROM {table}"))
        .fetch_one()
        .await?)
}

/// When the newest row of `window_aggregates` was computed (0: none yet).
/// Unlike a row count it never falls: a merge keeps each window's highest
/// version, which is its newest computation.
pub async fn last_write(client: &clickhouse::Client) -> anyhow::Result<i64> {
    Ok(client
        .query("SELECT max(computed_at_ms) FROM window_aggregates")
        .fetch_one()
        .await?)
}

/// Waits until ClickHouse holds as many windows as the oracle expects,
/// failing early if a pipeline process dies.
pub async fn wait_for_all(
    client: &clickhouse::Client,
    expected: &Expected,
    processes: &mut [&mut ChildGuard],
) -> anyhow::Result<(Vec<WindowRow>, Vec<LateRow>)> {
    // Waits while rows are written, however slowly a loaded CI machine
    // replays; fails once none has been for STALL short of the oracle (or,
    // as a last bound, after LIMIT). Progress is the newest row's time, not
    // a row count: merges collapse replaced versions as fast as a replay of
    // revisions writes new ones (a run failed so while revising).
    const STALL: Duration = Duration::from_secs(90);
    const LIMIT: Duration = Duration::from_secs(900);
    let want = expected.windows.len();
    let started = std::time::Instant::now();
    let (mut best, mut progressed) = (0, started);
    loop {
        for p in processes.iter_mut() {
            p.check_running()?;
        }
        // Counted, not fetched, until complete: reading every row each
        // time would load ClickHouse more than the pipeline does. Revisions
        // are new versions of rows already there: wait for them too, and
        // for the late values beyond the horizon.
        let (windows, revised, late) = stored_counts(client).await?;
        if windows >= want as u64
            && revised >= expected.revised()
            && late >= expected.late.len() as u64
        {
            return stored(client).await;
        }
        let written = last_write(client).await?;
        if written > best {
            (best, progressed) = (written, std::time::Instant::now());
        } else if progressed.elapsed() > STALL || started.elapsed() > LIMIT {
            let logs: Vec<String> = processes.iter().map(|p| p.log_tail(40)).collect();
            anyhow::bail!(
                "{windows} of {want} final windows, revised by {revised} of {} late values, \
                 stored after {:?}; the last row was written {:?} ago\n{}",
                expected.revised(),
                started.elapsed(),
                progressed.elapsed(),
                logs.join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Final windows, the late values folded into them and the late values
/// beyond the horizon, stored (replays collapsed).
pub async fn stored_counts(client: &clickhouse::Client) -> anyhow::Result<(u64, u64, u64)> {
    let (windows, revised): (u64, u64) = client
        .query(
            "SELECT count(), toUInt64(sum(revised_count)) FROM window_aggregates FINAL \
             WHERE is_final = 1",
        )
        .fetch_one()
        .await?;
    let late: u64 = client
        .query("SELECT count() FROM late_events FINAL")
        .fetch_one()
        .await?;
    Ok((windows, revised, late))
}

/// Every final window and late value stored, replays collapsed (`FINAL`),
/// in a stable order.
pub async fn stored(client: &clickhouse::Client) -> anyhow::Result<(Vec<WindowRow>, Vec<LateRow>)> {
    stored_in(client, "").await
}

/// [`stored`] from the tables named with `suffix` (`_local`: one replica's
/// own copy of a replicated table).
pub async fn stored_in(
    client: &clickhouse::Client,
    suffix: &str,
) -> anyhow::Result<(Vec<WindowRow>, Vec<LateRow>)> {
    let rows = client
        .query(&format!(
            "SELECT ?fields FROM window_aggregates{suffix} FINAL WHERE is_final = 1 \
             ORDER BY metric, area_level, area_code, window_seconds, window_start"
        ))
        .fetch_all()
        .await?;
    let late = client
        .query(&format!(
            "SELECT ?fields FROM late_events{suffix} FINAL ORDER BY event_id, metric"
        ))
        .fetch_all()
        .await?;
    Ok((rows, late))
}

/// Row for row: the stored windows and late values are the oracle's.
pub fn assert_equals_oracle(rows: &[WindowRow], late: &[LateRow], expected: &Expected) {
    let mut mismatches = Vec::new();
    for row in rows {
        let key = (
            row.metric.clone(),
            row.area_level.clone(),
            row.area_code.clone(),
            row.window_seconds,
            i64::from(row.window_start) * 1000,
        );
        let same_quantile = |a: f64, b: Option<f64>| b.map_or(a.is_nan(), |b| a == b);
        match expected.windows.get(&key) {
            Some(w)
                if w.count == row.count
                    && oracle::close(w.sum, row.sum)
                    && (w.min, w.max, w.last) == (row.min, row.max, row.last)
                    && w.last_event_time_ms == row.last_event_time_ms
                    && same_quantile(row.p50, w.p50)
                    && same_quantile(row.p95, w.p95)
                    && w.revised == row.revised_count => {}
            other => mismatches.push(format!("{key:?}: stored {row:?}, expected {other:?}")),
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} windows differ:\n{}",
        mismatches.len(),
        mismatches
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(rows.len(), expected.windows.len(), "window count");
    let late: Vec<(String, String)> = late
        .iter()
        .map(|l| (l.event_id.clone(), l.metric.clone()))
        .collect();
    assert_eq!(late, expected.late, "late values");
}

/// The oracle for what was delivered.
pub fn oracle(delivered: &[Delivered]) -> Expected {
    oracle::windows(delivered, LATENESS_MS, HORIZON_MS, &WIDTHS_S)
}

/// The four committees' simulators at their defaults (events timed now),
/// publishing every round until told to stop.
pub async fn simulate(
    settings: Settings,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let publisher = Publisher::new(&settings.kafka.brokers)?;
    let mut simulator = pmoc_ingest::simulate::Simulator::new(pmoc_ingest::simulate::SimOptions {
        seed: settings.simulator.seed,
        committees: Committee::ALL.to_vec(),
        scenarios: Default::default(),
        interval: Duration::from_millis(settings.simulator.interval_ms),
        speedup: settings.simulator.speedup,
    })?;
    let mut ticker = tokio::time::interval(Duration::from_millis(settings.simulator.interval_ms));
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.changed() => return Ok(()),
        }
        let round = simulator.round(OffsetDateTime::now_utc())?;
        for committee in Committee::ALL {
            let messages: Vec<(String, Vec<u8>)> = round
                .iter()
                .filter(|e| e.committee == committee)
                .map(|e| Ok((e.area.province.to_string(), e.encode()?)))
                .collect::<Result<_, pmoc_schemas::RejectReason>>()
                .map_err(|r| anyhow::anyhow!("encoding: {r}"))?;
            publisher
                .send_all(settings.kafka.topics.of(committee), messages)
                .await?;
        }
    }
}

/// Held by the tests that load the machine for minutes (a crash loop, a
/// burst of 300,000 records, two pipeline processes): one of them at a time,
/// so none times out for want of CPU on a 2-core CI machine while the
/// lighter tests still run beside it.
pub async fn heavy() -> tokio::sync::MutexGuard<'static, ()> {
    static HEAVY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    HEAVY.lock().await
}
