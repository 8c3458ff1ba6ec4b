//! Current ClickHouse: every migration and every named read of the store
//! runs unchanged on Debian's 18.16 and on 26.9 (chDB behind a small HTTP
//! front, `tests/chdb/server.py`), with the same results; and the pipeline
//! and the dashboard run on 26.9 as they do on 18.16.

mod seed;

use std::collections::BTreeMap;

use anyhow::Context;

use pmoc_ingest::{Publisher, kafka::ensure_topics};
use pmoc_schemas::{
    aggregate::AreaLevel,
    api::{AreaDetail, WallSnapshot},
    committee::Committee,
    config::ClickHouseSettings,
    metric::MetricId,
};
use pmoc_store::{AuditFilter, SCHEMA_VERSION, Store};
use pmoc_tests::{
    chdb::Chdb, clickhouse::ClickHouse, dashboard::Dashboard, init_tracing, kafka::Broker,
    unique_name,
};

use crate::support::{self, assert_equals_oracle, oracle, pipeline, publish, wait_for_all};

/// One read's result, as text (`Debug`: NaN equals NaN there). Reads whose
/// order the query leaves open (no `ORDER BY`, or ties) are sorted.
type Results = BTreeMap<&'static str, String>;

fn listed<T: std::fmt::Debug>(rows: &[T], sorted: bool) -> String {
    let mut lines: Vec<String> = rows.iter().map(|r| format!("{r:?}")).collect();
    if sorted {
        lines.sort();
    }
    format!("{} rows\n{}", lines.len(), lines.join("\n"))
}

/// Every named read of the store, with arguments that select part of the
/// seeded rows.
async fn reads(store: &Store, s: &seed::Seeded) -> anyhow::Result<Results> {
    let from_s = s.t0_ms / 1000 + 300;
    let water = [MetricId::WaterLevel, MetricId::WaterFreeboard];
    let service = [MetricId::ServiceWaitMinutes];
    let sources = pmoc_schemas::source::Sources::default();
    let province_of = &s.district[..2];
    let audit = |decision, user, route_prefix| AuditFilter {
        decision,
        user,
        reason: None,
        route_prefix,
        limit: 12,
    };
    let mut r = Results::new();
    r.insert(
        "level_windows nation 60",
        listed(
            &store
                .level_windows(AreaLevel::Nation, 60, from_s)
                .await
                .context("level_windows nation 60")?,
            false,
        ),
    );
    r.insert(
        "level_windows nation 86400",
        listed(
            &store
                .level_windows(AreaLevel::Nation, 86_400, 0)
                .await
                .context("level_windows nation 86400")?,
            false,
        ),
    );
    r.insert(
        "metric_windows province water 60",
        listed(
            &store
                .metric_windows(AreaLevel::Province, &water, 60, from_s)
                .await
                .context("metric_windows province water 60")?,
            false,
        ),
    );
    r.insert(
        "metric_windows district service 3600",
        listed(
            &store
                .metric_windows(AreaLevel::District, &service, 3_600, 0)
                .await
                .context("metric_windows district service 3600")?,
            false,
        ),
    );
    r.insert(
        "place_windows water province 34",
        listed(
            &store
                .place_windows(Committee::Water, ("province", "34"), 60, from_s)
                .await
                .context("place_windows water province 34")?,
            false,
        ),
    );
    r.insert(
        "place_windows population district",
        listed(
            &store
                .place_windows(Committee::Population, ("district", &s.district), 60, 0)
                .await
                .context("place_windows population district")?,
            false,
        ),
    );
    r.insert(
        "child_windows population districts",
        listed(
            &store
                .child_windows(Committee::Population, ("district", province_of), 60, 0)
                .await
                .context("child_windows population districts")?,
            false,
        ),
    );
    r.insert(
        "newest_province_windows water",
        listed(
            &store
                .newest_province_windows(&water, MetricId::WaterLevel, 60)
                .await
                .context("newest_province_windows water")?,
            false,
        ),
    );
    // An anchor without data: the day before "nothing" is nothing.
    r.insert(
        "newest_province_windows no anchor",
        listed(
            &store
                .newest_province_windows(&water, MetricId::Pm25, 60)
                .await
                .context("newest_province_windows no anchor")?,
            false,
        ),
    );
    r.insert(
        "reject_tallies all",
        listed(
            &store
                .reject_tallies(0)
                .await
                .context("reject_tallies all")?,
            false,
        ),
    );
    r.insert(
        "reject_tallies recent",
        listed(
            &store
                .reject_tallies(s.t0_ms + 600_000)
                .await
                .context("reject_tallies recent")?,
            false,
        ),
    );
    r.insert(
        "late_counts 60",
        format!(
            "{:?}",
            store
                .late_counts(60, s.t0_ms + 120_000)
                .await
                .context("late_counts 60")?
        ),
    );
    r.insert(
        "late_counts 86400",
        format!(
            "{:?}",
            store
                .late_counts(86_400, 0)
                .await
                .context("late_counts 86400")?
        ),
    );
    r.insert(
        "freshness",
        listed(
            &store
                .freshness(s.t0_ms + 3_000, &sources)
                .await
                .context("freshness")?,
            false,
        ),
    );
    r.insert(
        "alerts open",
        listed(
            &store
                .alerts(true, &Default::default())
                .await
                .context("alerts open")?,
            false,
        ),
    );
    r.insert(
        "alerts all",
        listed(
            &store
                .alerts(false, &Default::default())
                .await
                .context("alerts all")?,
            false,
        ),
    );
    for (name, id) in [
        ("alert_target acted on", s.alert_ids[0].as_str()),
        ("alert_target quiet", s.alert_ids[4].as_str()),
        ("alert_target none", "no-such-alert"),
    ] {
        r.insert(
            name,
            format!("{:?}", store.alert_target(id).await.context(name)?),
        );
    }
    r.insert(
        "audit all",
        listed(
            &store
                .audit(&audit("all", None, None))
                .await
                .context("audit all")?,
            false,
        ),
    );
    r.insert(
        "audit deny by user",
        listed(
            &store
                .audit(&audit("deny", Some("somchai"), None))
                .await
                .context("audit deny by user")?,
            false,
        ),
    );
    r.insert(
        "audit by route",
        listed(
            &store
                .audit(&audit("all", None, Some("/api/area")))
                .await
                .context("audit by route")?,
            false,
        ),
    );
    r.insert(
        "checkpoints",
        listed(
            &store.checkpoints(&s.group).await.context("checkpoints")?,
            true,
        ),
    );
    r.insert(
        "open_alerts",
        listed(&store.open_alerts().await.context("open_alerts")?, true),
    );
    r.insert(
        "watermarks",
        listed(&store.watermarks().await.context("watermarks")?, true),
    );
    r.insert(
        "schema_version",
        format!(
            "{:?}",
            store.schema_version().await.context("schema_version")?
        ),
    );
    Ok(r)
}

/// Migrates (twice: the second run must find nothing to do), seeds and
/// reads one server.
async fn migrate_seed_read(url: &str) -> anyhow::Result<(String, Results)> {
    let settings = ClickHouseSettings {
        url: url.to_owned(),
        database: unique_name("it_current"),
        ..ClickHouseSettings::default()
    };
    let applied = pmoc_store::migrate(&settings).await?;
    anyhow::ensure!(
        applied.last() == Some(&SCHEMA_VERSION),
        "applied {applied:?}"
    );
    anyhow::ensure!(pmoc_store::migrate(&settings).await?.is_empty());
    let store = Store::new(&settings);
    let seeded = seed::seed(&store).await?;
    tracing::info!(url, windows = seeded.windows, "seeded");
    let version = store.server_version().await?;
    Ok((version, reads(&store, &seeded).await?))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_named_read_agrees_on_18_16_and_26_9() -> anyhow::Result<()> {
    init_tracing();
    let dir = tempfile::tempdir()?;
    let old = ClickHouse::start(dir.path()).await?;
    let new = Chdb::start(dir.path()).await?;
    let (old_version, on_old) = migrate_seed_read(&old.url).await?;
    let (new_version, on_new) = migrate_seed_read(&new.url).await?;
    assert!(old_version.starts_with("18.16."), "{old_version}");
    assert!(new_version.starts_with("26."), "{new_version}");

    // The comparison means something only where the reads found rows.
    for (name, result) in &on_old {
        let empty = result.starts_with("0 rows") || result == "{}" || result == "None";
        let may_be_empty = ["no anchor", "alert_target none"];
        assert_eq!(
            empty,
            may_be_empty.iter().any(|m| name.contains(m)),
            "{name}: {result}"
        );
    }
    let differ: Vec<String> = on_old
        .iter()
        .filter(|(name, result)| on_new.get(*name) != Some(*result))
        .map(|(name, result)| {
            format!(
                "{name}:\n  {old_version}: {result}\n  {new_version}: {}",
                on_new.get(name).map_or("missing", String::as_str)
            )
        })
        .collect();
    assert!(differ.is_empty(), "{}", differ.join("\n"));
    eprintln!(
        "current_clickhouse: {} named reads equal on {old_version} and {new_version}",
        on_old.len()
    );
    Ok(())
}

/// The walking skeleton's path on 26.9: the pipeline binary writes the
/// fault tests' events (late and out-of-order ones included), the final
/// windows equal the oracle, and the dashboard answers from them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pipeline_and_the_dashboard_run_on_26_9() -> anyhow::Result<()> {
    init_tracing();
    let dir = tempfile::tempdir()?;
    let chdb = Chdb::start(dir.path()).await?;
    let broker = Broker::start(dir.path()).await?;
    let mut settings = support::settings_for(&broker, &chdb.url, "it_current_pipeline");
    settings.dashboard.refresh_ms = 200;
    ensure_topics(&settings.kafka).await?;
    pmoc_store::migrate(&settings.clickhouse).await?;
    let client = pmoc_store::client(&settings.clickhouse);

    let events = support::events_from(support::two_days_ago(), 60);
    let publisher = Publisher::new(&settings.kafka.brokers)?;
    let delivered = publish(&publisher, &settings, &events).await?;
    let mut running = pipeline(&settings, 2, &dir.path().join("pipeline.log"), &[])?;
    let expected = oracle(&delivered);
    let (rows, late) = wait_for_all(&client, &expected, &mut [&mut running]).await?;
    assert_equals_oracle(&rows, &late, &expected);

    let dashboard = Dashboard::start(settings.clone(), dir.path()).await?;
    let wall: WallSnapshot = dashboard.get("/api/wall").await?;
    let events_seen: u64 = wall.freshness.iter().map(|f| f.events_total).sum();
    assert!(events_seen > 0, "the wall's freshness counts the events");
    let area: AreaDetail = dashboard
        .get("/api/area/province/34?committee=water&range=7d")
        .await?;
    assert!(
        area.series.iter().any(|s| !s.points.is_empty()),
        "the drill-down shows Ubon's water windows"
    );
    dashboard.stop().await?;
    running.check_running()?;
    eprintln!(
        "current_clickhouse: {} events through the pipeline on 26.9, {} windows, {} late, \
         equal to the oracle",
        delivered.len(),
        rows.len(),
        late.len()
    );
    Ok(())
}
