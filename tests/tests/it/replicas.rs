//! A replicated cluster: two ClickHouse replicas of one shard replicating
//! through a ZooKeeper, all on loopback, with the tables `[clickhouse]
//! cluster` makes (replicated `<table>_local`, `Distributed` `<table>`).
//! The replica that both the pipeline and the dashboard use is SIGKILLed
//! mid-stream: both move to the other replica and carry on, the killed one
//! catches up after its restart, and each replica's own copy equals the
//! batch oracle.

use std::time::Duration;

use pmoc_ingest::{Publisher, kafka::ensure_topics};
use pmoc_schemas::{
    api::{AreaDetail, WallSnapshot},
    config::ClickHouseSettings,
};
use pmoc_tests::{
    clickhouse::ClickHouse, dashboard::Dashboard, init_tracing, kafka::Broker, process::wait_for,
    zookeeper::ZooKeeper,
};

use crate::support::{self, assert_equals_oracle, inserted, oracle, pipeline, publish, stored_in};

/// The cluster's name in the servers' `remote_servers`.
const CLUSTER: &str = "pmoc_replicas";

/// Events the wall's freshness panel has counted: grows with every
/// watermark the pipeline stores.
async fn events_seen(dashboard: &Dashboard) -> anyhow::Result<u64> {
    let wall: WallSnapshot = dashboard.get("/api/wall").await?;
    Ok(wall.freshness.iter().map(|f| f.events_total).sum())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_killed_mid_stream_catches_up_and_both_equal_the_oracle() -> anyhow::Result<()> {
    let _heavy = support::heavy().await;
    init_tracing();
    let dir = tempfile::tempdir()?;
    let zookeeper = ZooKeeper::start(dir.path()).await?;
    let mut replicas = ClickHouse::start_cluster(dir.path(), CLUSTER, zookeeper.port, 2).await?;
    let broker = Broker::start(dir.path()).await?;
    let mut settings = support::settings_for(&broker, &replicas[0].url, "it_replicas");
    settings.clickhouse.cluster = CLUSTER.to_owned();
    settings.clickhouse.failover_urls = vec![replicas[1].url.clone()];
    settings.dashboard.refresh_ms = 200;
    ensure_topics(&settings.kafka).await?;
    pmoc_store::migrate(&settings.clickhouse).await?;
    // Each replica's own copy of the replicated tables.
    let own: Vec<clickhouse::Client> = replicas
        .iter()
        .map(|r| {
            pmoc_store::client(&ClickHouseSettings {
                url: r.url.clone(),
                ..settings.clickhouse.clone()
            })
        })
        .collect();
    let through_second = &own[1];

    let all = support::events_from(support::two_days_ago(), 240);
    let (first, rest) = all.split_at(all.len() / 3);
    let (second, third) = rest.split_at(rest.len() / 2);
    let publisher = Publisher::new(&settings.kafka.brokers)?;
    let mut delivered = publish(&publisher, &settings, first).await?;
    let log = dir.path().join("pipeline-1.log");
    let mut running = pipeline(&settings, 3_600, &log, &[])?;
    wait_for("first windows", Duration::from_secs(60), || async {
        Ok((inserted(through_second, "window_aggregates_local").await? > 0).then_some(()))
    })
    .await?;
    let dashboard = Dashboard::start(settings.clone(), dir.path()).await?;
    let before = events_seen(&dashboard).await?;

    // The first replica, which both use, dies while data keeps coming.
    replicas[0].stop();
    delivered.extend(publish(&publisher, &settings, second).await?);
    let after = wait_for(
        "the wall counting events stored after the kill",
        Duration::from_secs(90),
        || async {
            let seen = events_seen(&dashboard).await?;
            Ok((seen > before).then_some(seen))
        },
    )
    .await?;
    let area: AreaDetail = dashboard
        .get("/api/area/province/34?committee=water&range=7d")
        .await?;
    anyhow::ensure!(
        area.series.iter().any(|s| !s.points.is_empty()),
        "the drill-down answers from the second replica"
    );
    running.check_running()?;
    let pipeline_log = std::fs::read_to_string(&log)?;
    anyhow::ensure!(
        pipeline_log.contains("failed over to another server"),
        "the pipeline moved to the second replica"
    );

    // Back, and more data; a restart with a short idle time closes the
    // last windows.
    replicas[0].restart().await?;
    delivered.extend(publish(&publisher, &settings, third).await?);
    running.kill();
    let mut last = pipeline(&settings, 2, &dir.path().join("pipeline-2.log"), &[])?;
    let expected = oracle(&delivered);
    let (want, want_late) = (expected.windows.len(), expected.late.len());
    let want_revised = expected.revised();
    let mut copies = Vec::new();
    for (i, client) in own.iter().enumerate() {
        let copy = wait_for(
            &format!("every window on replica {}", i + 1),
            Duration::from_secs(180),
            || {
                let running = last.check_running();
                async move {
                    running?;
                    let (rows, late) = stored_in(client, "_local").await?;
                    let revised: u64 = rows.iter().map(|r| u64::from(r.revised_count)).sum();
                    let done =
                        rows.len() >= want && late.len() >= want_late && revised >= want_revised;
                    Ok(done.then_some((rows, late)))
                }
            },
        )
        .await?;
        assert_equals_oracle(&copy.0, &copy.1, &expected);
        copies.push(format!("{:?}", copy));
    }
    assert_eq!(copies[0], copies[1], "both replicas hold the same rows");
    dashboard.stop().await?;
    eprintln!(
        "replicas: {} events, {} windows on each of 2 replicas, equal to the oracle; \
         the wall counted {before} then {after} events across the kill",
        delivered.len(),
        want
    );
    Ok(())
}

/// Rows of `window_aggregates` a second, inserted as the pipeline inserts
/// them (batches through `Store::insert`): into one server, and through
/// the `Distributed` table of a two-replica cluster (synchronous), with how
/// long the second replica takes to hold every row. The figures in
/// docs/scale.md; run with
/// `cargo test -p pmoc-tests --test it replicated_insert_rate -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a check"]
async fn replicated_insert_rate() -> anyhow::Result<()> {
    use pmoc_schemas::{
        aggregate::{AreaLevel, WindowAggregate},
        district::districts,
        metric::MetricId,
    };
    use pmoc_store::{Store, WindowRow};
    use std::time::Instant;

    const BATCHES: usize = 10;
    let _heavy = support::heavy().await;
    init_tracing();
    // A minute of every district's windows for 10 metrics: 9,280 rows a
    // batch, the size of one flush at national scale (docs/scale.md).
    let batch = |b: usize| -> Vec<WindowRow> {
        let start_ms = 1_790_000_000_000 + b as i64 * 60_000;
        [
            MetricId::WaterLevel,
            MetricId::Rain1h,
            MetricId::Pm25,
            MetricId::Births,
        ]
        .iter()
        .cycle()
        .take(10)
        .enumerate()
        .flat_map(|(k, &metric)| {
            districts().iter().map(move |d| {
                let a = WindowAggregate {
                    metric,
                    area_level: AreaLevel::District,
                    area_code: format!("{}{k}", d.code),
                    window_start_ms: start_ms,
                    window_end_ms: start_ms + 60_000,
                    count: 3,
                    sum: 4.5,
                    weight: 3.0,
                    min: 1.0,
                    max: 2.0,
                    last: 1.5,
                    last_event_time_ms: start_ms + 59_000,
                    p50: None,
                    p95: None,
                    is_final: true,
                };
                WindowRow::new(&a, start_ms + 61_000)
            })
        })
        .collect()
    };
    let batches: Vec<Vec<WindowRow>> = (0..BATCHES).map(batch).collect();
    let rows: usize = batches.iter().map(Vec::len).sum();
    let rate = |elapsed: Duration| rows as f64 / elapsed.as_secs_f64();

    let dir = tempfile::tempdir()?;
    let single = ClickHouse::start(dir.path()).await?;
    let settings = ClickHouseSettings {
        url: single.url.clone(),
        database: pmoc_tests::unique_name("rate_single"),
        ..ClickHouseSettings::default()
    };
    pmoc_store::migrate(&settings).await?;
    let store = Store::new(&settings);
    let started = Instant::now();
    for b in &batches {
        store.insert(b).await?;
    }
    let one_server = rate(started.elapsed());

    let zookeeper = ZooKeeper::start(dir.path()).await?;
    let replicas = ClickHouse::start_cluster(dir.path(), CLUSTER, zookeeper.port, 2).await?;
    let settings = ClickHouseSettings {
        url: replicas[0].url.clone(),
        failover_urls: vec![replicas[1].url.clone()],
        database: pmoc_tests::unique_name("rate_cluster"),
        cluster: CLUSTER.to_owned(),
        ..ClickHouseSettings::default()
    };
    pmoc_store::migrate(&settings).await?;
    let store = Store::new(&settings);
    let second = pmoc_store::client(&ClickHouseSettings {
        url: replicas[1].url.clone(),
        ..settings.clone()
    });
    let started = Instant::now();
    for b in &batches {
        store.insert(b).await?;
    }
    let inserted_in = started.elapsed();
    wait_for("the second replica", Duration::from_secs(120), || async {
        let n = inserted(&second, "window_aggregates_local").await?;
        Ok((n as usize >= rows).then_some(()))
    })
    .await?;
    let replicated_in = started.elapsed();
    eprintln!(
        "insert rate, {rows} rows in {BATCHES} inserts: one server {one_server:.0} rows/s; \
         two-replica cluster {:.0} rows/s acknowledged, {:.0} rows/s on both replicas \
         (second replica complete {} ms after the last acknowledgement)",
        rate(inserted_in),
        rate(replicated_in),
        (replicated_in - inserted_in).as_millis()
    );
    Ok(())
}
