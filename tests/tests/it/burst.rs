//! A crisis on the whole path: 200,000 valid envelopes over the HTTP ingest
//! as fast as the client can send, 100,000 junk records mixed in, the four
//! committees' simulators publishing throughout; then the same with the
//! broker SIGKILLed and restarted mid-burst, and with ClickHouse SIGKILLed
//! and restarted mid-burst.
//!
//! Each ends with the batch oracle over everything the topics hold (first
//! copies only: a batch resent after a 503 may have been stored twice, and
//! the pipeline drops the copy): every stored window, running or final,
//! equals the oracle, every late value is kept once, and every record the
//! endpoint acknowledged is on its topic. So nothing acknowledged is lost
//! and nothing is counted twice, and every process stayed up.

use std::{collections::BTreeMap, collections::HashSet, time::Duration};

use pmoc_ingest::{
    http::{self},
    kafka::ensure_topics,
};
use pmoc_schemas::{committee::Committee, config::Settings, envelope};
use pmoc_store::WindowRow;
use pmoc_tests::{
    burst::{self, BurstConfig, BurstReport},
    clickhouse::ClickHouse,
    init_tracing,
    kafka::Broker,
    oracle::{self, Delivered, Expected},
    process::wait_for,
    topic, unique_name,
};
use time::OffsetDateTime;

use crate::support;

const TOKEN: &str = "burst-token-hii";
const VALID: usize = 200_000;
const JUNK: usize = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    None,
    KillBroker,
    KillClickHouse,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn burst_with_junk_and_simulators_is_counted_exactly_once() -> anyhow::Result<()> {
    crisis(Fault::None).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn burst_survives_the_broker_killed_and_restarted() -> anyhow::Result<()> {
    crisis(Fault::KillBroker).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn burst_survives_clickhouse_killed_and_restarted() -> anyhow::Result<()> {
    crisis(Fault::KillClickHouse).await
}

async fn crisis(fault: Fault) -> anyhow::Result<()> {
    let _heavy = support::heavy().await;
    init_tracing();
    let dir = tempfile::tempdir()?;
    let mut broker = Broker::start(dir.path()).await?;
    let mut clickhouse = ClickHouse::start(dir.path()).await?;
    let mut settings = support::settings(&broker, &clickhouse, "burst");
    settings.kafka.dead_letter_topic = unique_name("dead_letter");
    settings.kafka.alerts_topic = unique_name("alerts");
    settings.http_ingest.agencies = BTreeMap::from([("HII".to_owned(), http::hash_token(TOKEN))]);
    ensure_topics(&settings.kafka).await?;
    let mut pipeline = support::pipeline(&settings, 30, &dir.path().join("pipeline.log"), &[])?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let endpoint = format!("http://{}/v1/events", listener.local_addr()?);
    let (stop_ingest, stopped) = tokio::sync::oneshot::channel::<()>();
    let ingest = tokio::spawn(http::run(listener, settings.clone(), async {
        let _ = stopped.await;
    }));

    let (stop_sim, sim_stopped) = tokio::sync::watch::channel(false);
    let simulators = tokio::spawn(support::simulate(settings.clone(), sim_stopped));

    let config = BurstConfig {
        endpoint,
        token: TOKEN.to_owned(),
        agency: "HII".to_owned(),
        run_id: unique_name("burst"),
        valid: VALID,
        junk: JUNK,
        batch: 10_000,
        concurrency: 4,
        junk_first: false,
        rate: None,
        give_up_after: Duration::from_secs(300),
    };
    let sending = tokio::spawn({
        let config = config.clone();
        async move { burst::run(&config).await }
    });

    match fault {
        Fault::None => {}
        Fault::KillBroker => {
            mid_burst(&settings).await?;
            tracing::info!("killing the broker mid-burst");
            broker.restart().await?;
        }
        Fault::KillClickHouse => {
            mid_burst(&settings).await?;
            tracing::info!("killing clickhouse mid-burst");
            clickhouse.stop();
            // The outage itself, not a wait for a condition: the pipeline
            // and the endpoint must ride it out.
            tokio::time::sleep(Duration::from_secs(15)).await;
            clickhouse.restart().await?;
        }
    }

    let report: BurstReport = sending.await??;
    tracing::info!(?report, "burst sent");
    stop_sim.send(true)?;
    simulators.await??;
    anyhow::ensure!(
        !ingest.is_finished(),
        "the HTTP ingest stopped during the burst"
    );
    assert_eq!(report.abandoned, 0, "every batch got through in the end");
    assert_eq!(report.accepted, VALID, "every valid record acknowledged");
    assert_eq!(report.rejected, JUNK, "every junk record refused");

    // What the topics hold is what the pipeline read: the oracle's input.
    let delivered = read_back(&settings)?;
    let on_topic: HashSet<&str> = delivered.iter().map(|d| d.3.event_id.as_str()).collect();
    let missing = report
        .accepted_ids
        .iter()
        .filter(|id| !on_topic.contains(id.as_str()))
        .count();
    assert_eq!(missing, 0, "acknowledged records missing from the topic");
    let firsts = oracle::first_copies(&delivered);
    tracing::info!(
        messages = delivered.len(),
        copies = delivered.len() - firsts.len(),
        "read back"
    );
    let expected = support::oracle(&firsts);

    let client = pmoc_store::client(&settings.clickhouse);
    let stored = wait_for(
        "the pipeline to catch up with the oracle",
        Duration::from_secs(240),
        || {
            let running = pipeline.check_running().and(broker.process.check_running());
            let client = client.clone();
            let expected = &expected;
            async move {
                running?;
                let rows = latest_windows(&client).await?;
                Ok(differences(&rows, expected).is_empty().then_some(rows))
            }
        },
    )
    .await;
    let rows = match stored {
        Ok(rows) => rows,
        Err(e) => {
            let rows = latest_windows(&client).await?;
            let diff = differences(&rows, &expected);
            anyhow::bail!(
                "{e}: {} windows differ, e.g.\n{}",
                diff.len(),
                diff.iter().take(10).cloned().collect::<Vec<_>>().join("\n")
            );
        }
    };
    assert_eq!(rows.len(), expected.windows.len());
    let (_, late) = support::stored(&client).await?;
    let late: Vec<(String, String)> = late
        .iter()
        .map(|l| (l.event_id.clone(), l.metric.clone()))
        .collect();
    assert_eq!(late, expected.late, "late values, each once");
    pipeline.check_running()?;
    let _ = stop_ingest.send(());
    ingest.await??;
    tracing::info!(
        windows = rows.len(),
        late = late.len(),
        accepted_per_s = report.accepted_per_second,
        "burst counted exactly once"
    );
    Ok(())
}

/// Waits until a third of the burst is on the water topic.
async fn mid_burst(settings: &Settings) -> anyhow::Result<()> {
    let topic = settings.kafka.topics.water.clone();
    let brokers = settings.kafka.brokers.clone();
    let partitions = settings.kafka.partitions;
    wait_for(
        "a third of the burst on the topic",
        Duration::from_secs(180),
        || {
            let (topic, brokers) = (topic.clone(), brokers.clone());
            async move {
                let n = tokio::task::spawn_blocking(move || {
                    topic::message_count(&brokers, &topic, partitions)
                })
                .await??;
                Ok((n >= (VALID / 3) as i64).then_some(()))
            }
        },
    )
    .await
}

/// Every message of the committee topics, decoded, with where it sits.
fn read_back(settings: &Settings) -> anyhow::Result<Vec<Delivered>> {
    let mut out = Vec::new();
    for committee in Committee::ALL {
        let topic = settings.kafka.topics.of(committee);
        let sources = &settings.sources;
        let now = pmoc_schemas::event::unix_ms(OffsetDateTime::now_utc());
        for m in topic::read_all(&settings.kafka.brokers, topic, settings.kafka.partitions)? {
            let e = envelope::decode(
                &m.payload,
                now,
                envelope::DEFAULT_MAX_MESSAGE_BYTES,
                sources,
            )
            .map_err(|r| anyhow::anyhow!("{topic}/{}@{}: {r}", m.partition, m.offset))?;
            out.push((topic.to_owned(), m.partition, m.offset, e));
        }
    }
    Ok(out)
}

/// The newest row of every window, running or final (`FINAL` keeps the
/// greatest version), in a stable order.
async fn latest_windows(client: &clickhouse::Client) -> anyhow::Result<Vec<WindowRow>> {
    Ok(client
        .query(
            "SELECT ?fields FROM window_aggregates FINAL \
             ORDER BY metric, area_level, area_code, window_seconds, window_start",
        )
        .fetch_all()
        .await?)
}

/// Every window that is not as the oracle expects, or missing, or extra.
fn differences(rows: &[WindowRow], expected: &Expected) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
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
                    && same_quantile(row.p50, w.p50)
                    && same_quantile(row.p95, w.p95) => {}
            other => out.push(format!("{key:?}: stored {row:?}, expected {other:?}")),
        }
        seen.insert(key);
    }
    for key in expected.windows.keys() {
        if !seen.contains(key) {
            out.push(format!("{key:?}: missing"));
        }
    }
    out
}
