//! Broker retention: the topics the stack creates carry
//! `kafka.retention_ms`, so a stack left running keeps bounded storage; and
//! records the broker deletes while the pipeline is down are counted, per
//! partition, when it resumes, never skipped in silence.

use std::{collections::BTreeMap, time::Duration};

use pmoc_ingest::{Publisher, kafka::ensure_topics};
use pmoc_tests::{
    clickhouse::ClickHouse, init_tracing, kafka::Broker, process::wait_for, topic::message_count,
};

use crate::support::{events, pipeline, publish, settings};

/// Long enough for a running pipeline on a loaded CI machine to read a
/// record, short enough to wait out. Below what the settings accept (more
/// than the widest window): set here on the topics' creation only.
const RETENTION_MS: u64 = 15_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_expired_while_the_pipeline_was_down_are_counted() -> anyhow::Result<()> {
    let _heavy = crate::support::heavy().await;
    init_tracing();
    let dir = tempfile::tempdir()?;
    let clickhouse = ClickHouse::start(dir.path()).await?;
    let broker = Broker::start_sweeping(dir.path()).await?;
    let mut settings = settings(&broker, &clickhouse, "it_retention");
    settings.kafka.retention_ms = RETENTION_MS;
    ensure_topics(&settings.kafka).await?;
    pmoc_store::migrate(&settings.clickhouse).await?;
    let client = pmoc_store::client(&settings.clickhouse);
    let publisher = Publisher::new(&settings.kafka.brokers)?;
    let all = events(40);
    let (first, second) = all.split_at(all.len() / 2);

    // 1. A running pipeline reads the first half before it expires, and
    // checkpoints all of it (its partitions go idle after 30 s and close
    // every window).
    let log1 = dir.path().join("pipeline-1.log");
    let mut running = pipeline(&settings, 30, &log1, &[])?;
    wait_for("the pipeline's partitions", Duration::from_secs(60), || {
        let started = running.check_running();
        let log = std::fs::read_to_string(&log1).unwrap_or_default();
        async move {
            started?;
            Ok(log.contains("worker running").then_some(()))
        }
    })
    .await?;
    let delivered = publish(&publisher, &settings, first).await?;
    let high = next_offsets(&delivered);
    wait_for(
        "checkpoints at the end of the first half",
        Duration::from_secs(180),
        || {
            let running = running.check_running();
            let (client, high) = (&client, &high);
            async move {
                running?;
                let stored = checkpoints(client).await?;
                Ok(high
                    .iter()
                    .all(|(k, h)| stored.get(k) == Some(h))
                    .then_some(()))
            }
        },
    )
    .await?;
    running.kill();

    // 2. The second half arrives while the pipeline is down, and expires.
    let missed = publish(&publisher, &settings, second).await?;
    let mut expected: BTreeMap<(String, i32), i64> = BTreeMap::new();
    for (topic, partition, _, _) in &missed {
        *expected.entry((topic.clone(), *partition)).or_default() += 1;
    }
    let topics: Vec<String> = expected.keys().map(|(t, _)| t.clone()).collect();
    let (brokers, partitions) = (settings.kafka.brokers.clone(), settings.kafka.partitions);
    wait_for(
        "the broker's retention sweep",
        Duration::from_secs(60),
        || {
            let (brokers, topics) = (brokers.clone(), topics.clone());
            async move {
                let left = tokio::task::spawn_blocking(move || -> anyhow::Result<i64> {
                    topics
                        .iter()
                        .map(|t| message_count(&brokers, t, partitions))
                        .sum()
                })
                .await??;
                Ok((left == 0).then_some(()))
            }
        },
    )
    .await?;

    // 3. Restarted, it says how many records of each partition it never
    // read: exactly the second half's.
    let log2 = dir.path().join("pipeline-2.log");
    let mut resumed = pipeline(&settings, 30, &log2, &[])?;
    let reported = wait_for(
        "the expired records reported",
        Duration::from_secs(60),
        || {
            let started = resumed.check_running();
            let log = std::fs::read_to_string(&log2).unwrap_or_default();
            let want = expected.len();
            async move {
                started?;
                let reported = expired_reports(&log);
                Ok((reported.len() >= want || log.contains("worker running")).then_some(reported))
            }
        },
    )
    .await?;
    assert_eq!(reported, expected, "expired unread, per partition");
    resumed.check_running()?;
    resumed.kill();
    Ok(())
}

/// Each partition's next offset after `delivered`.
fn next_offsets(delivered: &[pmoc_tests::oracle::Delivered]) -> BTreeMap<(String, i32), i64> {
    let mut next = BTreeMap::new();
    for (topic, partition, offset, _) in delivered {
        let n = next.entry((topic.clone(), *partition)).or_insert(0);
        *n = (*n).max(offset + 1);
    }
    next
}

/// The newest stored checkpoint offset of each partition.
async fn checkpoints(client: &clickhouse::Client) -> anyhow::Result<BTreeMap<(String, i32), i64>> {
    let rows: Vec<(String, i32, i64)> = client
        .query("SELECT topic, partition, max(offset) FROM pipeline_checkpoints GROUP BY topic, partition")
        .fetch_all()
        .await?;
    Ok(rows.into_iter().map(|(t, p, o)| ((t, p), o)).collect())
}

/// `(topic, partition) -> expired` from the pipeline's "records expired
/// unread" lines.
fn expired_reports(log: &str) -> BTreeMap<(String, i32), i64> {
    log.lines()
        .filter(|l| l.contains("records expired unread"))
        .filter_map(|l| {
            let field = |name: &str| {
                l.split_whitespace()
                    .find_map(|w| w.strip_prefix(&format!("{name}=")))
                    .map(|v| v.trim_matches('"').to_owned())
            };
            Some((
                (field("topic")?, field("partition")?.parse().ok()?),
                field("expired")?.parse().ok()?,
            ))
        })
        .collect()
}
