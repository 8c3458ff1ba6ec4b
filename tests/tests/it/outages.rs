//! Outages: the broker restarts mid-stream and ClickHouse is down for 30 s
//! while the pipeline holds windows to write. Results are delayed, never lost
//! or doubled: the final tables equal the batch oracle.

use std::time::Duration;

use pmoc_ingest::{Publisher, kafka::ensure_topics};
use pmoc_tests::{clickhouse::ClickHouse, init_tracing, kafka::Broker, process::wait_for};

use crate::support::{
    assert_equals_oracle, events, last_write, oracle, pipeline, publish, settings, wait_for_all,
};

/// How long ClickHouse stays down (the issue asks for 30 s).
const CLICKHOUSE_DOWN: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_restart_and_clickhouse_outage_lose_nothing() -> anyhow::Result<()> {
    let _heavy = crate::support::heavy().await;
    init_tracing();
    let dir = tempfile::tempdir()?;
    let mut clickhouse = ClickHouse::start(dir.path()).await?;
    let mut broker = Broker::start(dir.path()).await?;
    let settings = settings(&broker, &clickhouse, "it_outages");
    ensure_topics(&settings.kafka).await?;
    pmoc_store::migrate(&settings.clickhouse).await?;
    let client = pmoc_store::client(&settings.clickhouse);
    let all = events(240);
    let (first, rest) = all.split_at(all.len() / 3);
    let (second, third) = rest.split_at(rest.len() / 2);

    let publisher = Publisher::new(&settings.kafka.brokers)?;
    let mut delivered = publish(&publisher, &settings, first).await?;
    let mut running = pipeline(&settings, 3_600, &dir.path().join("pipeline-1.log"), &[])?;
    let progress = |after: i64| {
        let client = &client;
        move || async move { Ok((last_write(client).await? > after).then_some(())) }
    };
    wait_for("first windows", Duration::from_secs(60), progress(0)).await?;

    // The broker restarts under a running pipeline and producer.
    broker.restart().await?;
    delivered.extend(publish(&publisher, &settings, second).await?);
    let before = last_write(&client).await?;
    wait_for(
        "windows after the broker restart",
        Duration::from_secs(60),
        progress(before),
    )
    .await?;
    running.check_running()?;

    // ClickHouse goes away while new data arrives and windows close.
    clickhouse.stop();
    delivered.extend(publish(&publisher, &settings, third).await?);
    tokio::time::sleep(CLICKHOUSE_DOWN).await; // the outage itself, not a wait
    running.check_running()?;
    clickhouse.restart().await?;
    let before = last_write(&client).await?;
    wait_for(
        "windows after the outage",
        Duration::from_secs(60),
        progress(before),
    )
    .await?;

    let log = std::fs::read_to_string(dir.path().join("pipeline-1.log"))?;
    assert!(
        log.contains("clickhouse insert failed; retrying"),
        "the outage must have hit pending writes"
    );

    // A restart with a short idle time closes the last windows.
    running.kill();
    let mut last = pipeline(&settings, 2, &dir.path().join("pipeline-2.log"), &[])?;
    let expected = oracle(&delivered);
    let (rows, late) = wait_for_all(&client, &expected, &mut [&mut last]).await?;
    assert_equals_oracle(&rows, &late, &expected);
    eprintln!(
        "outages: {} events, {} windows, {} late, equal to the oracle",
        delivered.len(),
        rows.len(),
        late.len()
    );
    Ok(())
}
