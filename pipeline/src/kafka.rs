//! The consuming side of Kafka for one timely worker.
//!
//! Partitions are assigned by hand (see [`KafkaReader::open`]), not by a
//! consumer-group rebalance: ownership is deterministic, so a restarted
//! pipeline rebuilds exactly the state it had. Resume points come from the
//! ClickHouse checkpoints; offsets are also committed to Kafka under the group
//! id, so the usual lag tools see how far behind the pipeline is.

use std::time::{Duration, Instant};

use pmoc_store::CheckpointRow;
use rdkafka::{
    ClientConfig, ClientContext, Offset, Statistics, TopicPartitionList,
    consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, DefaultConsumerContext},
    error::KafkaError,
};

use crate::{
    PipelineError,
    partition::{CommitPoint, PartitionState},
};

const METADATA_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait for a high-watermark answer when checking a quiet partition.
const WATERMARK_TIMEOUT: Duration = Duration::from_secs(1);

/// Resume points by topic and partition.
pub type Checkpoints = std::collections::HashMap<(String, i32), CommitPoint>;

/// The resume points of the stored checkpoints of `topics` (a topic no
/// longer read keeps its rows, unused).
///
/// "Every window ending at or before `stored_below_ms` is stored" is a
/// statement about the whole dataflow (it comes from the sink's probe, which
/// sees every worker), only written down per partition at different
/// moments. Each partition resumes with the greatest of them: otherwise a
/// partition checkpointed earlier would rebuild a window from its on-time
/// values alone, over a version of it that late values of another
/// partition, already committed, had revised.
pub fn checkpoints(rows: Vec<CheckpointRow>, topics: &[String]) -> Checkpoints {
    let rows: Vec<CheckpointRow> = rows
        .into_iter()
        .filter(|r| topics.contains(&r.topic))
        .collect();
    let stored_below = rows.iter().filter_map(|r| r.stored_below_ms).max();
    rows.into_iter()
        .map(|r| {
            let point = CommitPoint {
                offset: r.offset,
                max_seen_ms: r.max_seen_ms,
                stored_below_ms: stored_below,
            };
            ((r.topic, r.partition), point)
        })
        .collect()
}

/// What lies between a partition's checkpoint and what the broker holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gap {
    None,
    /// The broker deleted this many records (retention) before they were
    /// stored: the figures of their time lack them.
    Expired(i64),
    /// The checkpoint lies past the partition's end: the topic was made
    /// again, or the broker lost its storage while ClickHouse kept its own.
    BeyondEnd {
        checkpoint: i64,
    },
}

/// Where a partition resumes, given its checkpoint and the broker's first
/// (`low`) and next (`high`) offsets.
///
/// Only the ClickHouse checkpoint says where to resume: it is written after
/// the rows it covers and carries the watermark and stored frontier.
/// Kafka's committed offset may run ahead of it (it is committed for lag
/// monitoring), so a partition without a checkpoint starts from the
/// beginning (`low`); writes are idempotent. A checkpoint below `low` means
/// the broker deleted records this pipeline never stored: it resumes at
/// `low`, and the gap is reported, not skipped in silence. One past `high`
/// names offsets of another life of the topic: it resumes at `low` with no
/// watermark of the old one (whose newest event time would make the new
/// records late), keeping the stored frontier, which is a fact about
/// ClickHouse, so windows already stored are not overwritten by parts.
pub fn resume_point(checkpoint: Option<&CommitPoint>, low: i64, high: i64) -> (CommitPoint, Gap) {
    match checkpoint {
        Some(c) if c.offset > high => (
            CommitPoint {
                offset: low,
                max_seen_ms: None,
                ..*c
            },
            Gap::BeyondEnd {
                checkpoint: c.offset,
            },
        ),
        Some(c) if c.offset < low => (
            CommitPoint { offset: low, ..*c },
            Gap::Expired(low - c.offset),
        ),
        Some(c) => (*c, Gap::None),
        None => (
            CommitPoint {
                offset: low,
                max_seen_ms: None,
                stored_below_ms: None,
            },
            Gap::None,
        ),
    }
}

/// How often librdkafka reports its statistics (for the lag gauge).
const STATISTICS_INTERVAL: &str = "5000";

/// The consumer's context: turns librdkafka's periodic statistics into the
/// `pmoc_pipeline_kafka_lag_messages{topic,partition}` gauge, messages on
/// the broker not yet read by the pipeline. It is the one figure that says
/// whether the pipeline keeps up, and it comes from the client's own
/// bookkeeping, with no extra request to the broker.
#[derive(Debug, Default)]
pub struct LagContext;

impl ClientContext for LagContext {
    fn stats(&self, statistics: Statistics) {
        for (topic, t) in &statistics.topics {
            for (id, p) in &t.partitions {
                // Partition -1 is librdkafka's "unassigned" bucket.
                if *id < 0 || p.hi_offset < 0 {
                    continue;
                }
                let read_up_to = if p.app_offset >= 0 {
                    p.app_offset
                } else if p.next_offset >= 0 {
                    p.next_offset
                } else {
                    continue;
                };
                metrics::gauge!(
                    "pmoc_pipeline_kafka_lag_messages",
                    "topic" => topic.clone(),
                    "partition" => id.to_string()
                )
                .set((p.hi_offset - read_up_to).max(0) as f64);
            }
        }
    }
}

impl ConsumerContext for LagContext {}

/// A worker's consumer and the state of the partitions it owns.
pub struct KafkaReader {
    /// The topics read, indexed by `PartitionState::topic`.
    pub topics: Vec<String>,
    pub consumer: ClosingConsumer<LagContext>,
    /// A client of its own, and so a connection of its own, for the
    /// quiet-partition checks. On the consumer's connection a ListOffsets
    /// request queues behind the in-flight long-poll Fetch (a broker answers
    /// a connection's requests in order), so a check could time out while
    /// the broker is healthy; and a broker that mishandles the two
    /// interleaved on one connection (nisshi 0.8.1 with SQLite storage was
    /// seen to stop answering that connection altogether) stalls only the
    /// checks, never the reading.
    watermarks: ClosingConsumer<DefaultConsumerContext>,
    pub partitions: Vec<PartitionState>,
}

/// The worker's consumer, closed in the background when dropped.
///
/// A reader is dropped when its worker stops. librdkafka's close of a
/// consumer with a group id waits for the group coordinator (pending offset
/// commits), which with the broker gone lasts as long as its request
/// timeouts: the worker, and so the process's stop, would hang there. None
/// of that close matters (resume points live in ClickHouse; the Kafka commit
/// is only for lag tools), so it runs on a thread of its own that the
/// process's exit may cut short.
pub struct ClosingConsumer<C: ConsumerContext + 'static>(Option<BaseConsumer<C>>);

impl<C: ConsumerContext + 'static> std::ops::Deref for ClosingConsumer<C> {
    type Target = BaseConsumer<C>;

    fn deref(&self) -> &Self::Target {
        match &self.0 {
            Some(c) => c,
            // Only `drop` takes it, and nothing derefs after that.
            None => unreachable!("consumer used after drop"),
        }
    }
}

impl<C: ConsumerContext + 'static> Drop for ClosingConsumer<C> {
    fn drop(&mut self) {
        if let Some(consumer) = self.0.take() {
            let _ = std::thread::Builder::new()
                .name("kafka-close".into())
                .spawn(move || drop(consumer));
        }
    }
}

impl KafkaReader {
    /// Connects, finds this worker's partitions and positions each at its
    /// checkpointed resume point (or the beginning, for a new group).
    ///
    /// Every (topic, partition) pair is numbered in topic order, then
    /// partition order; pair `i` belongs to worker `i % peers`, so the work
    /// spreads evenly over workers whatever the partition counts.
    pub fn open(
        brokers: &str,
        group_id: &str,
        topics: &[String],
        worker: usize,
        peers: usize,
        checkpoints: &Checkpoints,
    ) -> Result<Self, PipelineError> {
        let consumer: BaseConsumer<LagContext> = ClientConfig::new()
            .set("bootstrap.servers", brokers)
            .set("group.id", group_id)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("statistics.interval.ms", STATISTICS_INTERVAL)
            .create_with_context(LagContext)
            .map_err(PipelineError::Kafka)?;
        let watermarks: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", brokers)
            .set("client.id", "pmoc-pipeline-watermarks")
            .create()
            .map_err(PipelineError::Kafka)?;
        let mut pairs = Vec::new();
        for (t, topic) in topics.iter().enumerate() {
            let metadata = consumer
                .fetch_metadata(Some(topic), METADATA_TIMEOUT)
                .map_err(PipelineError::Kafka)?;
            let count = metadata
                .topics()
                .iter()
                .find(|m| m.name() == topic && m.error().is_none())
                .map(|m| m.partitions().len())
                .filter(|&n| n > 0)
                .ok_or_else(|| PipelineError::MissingTopic(topic.clone()))?;
            pairs.extend((0..count as i32).map(|p| (t, p)));
        }

        let now = Instant::now();
        let mut assignment = TopicPartitionList::new();
        let mut partitions = Vec::new();
        for (i, &(t, p)) in pairs.iter().enumerate() {
            if i % peers != worker {
                continue;
            }
            let topic = &topics[t];
            let (low, high) = watermarks
                .fetch_watermarks(topic, p, METADATA_TIMEOUT)
                .map_err(PipelineError::Kafka)?;
            let (resume, gap) = resume_point(checkpoints.get(&(topic.clone(), p)), low, high);
            match gap {
                Gap::None => {}
                Gap::Expired(expired) => {
                    tracing::error!(
                        topic,
                        partition = p,
                        checkpoint = low - expired,
                        low,
                        expired,
                        "records expired unread: the broker's retention deleted them before \
                         they were stored; the figures of their time lack them"
                    );
                    crate::telemetry::expired_unread(topic, expired);
                }
                Gap::BeyondEnd { checkpoint } => tracing::error!(
                    topic,
                    partition = p,
                    checkpoint,
                    high,
                    "checkpoint past the partition's end: the topic was made again or the \
                     broker lost its storage; reading it from its start"
                ),
            }
            tracing::info!(
                topic,
                partition = p,
                worker,
                resume = resume.offset,
                high,
                "assigned partition"
            );
            assignment
                .add_partition_offset(topic, p, Offset::Offset(resume.offset))
                .map_err(PipelineError::Kafka)?;
            partitions.push(PartitionState::new(t, p, resume, resume.offset < high, now));
        }
        if !partitions.is_empty() {
            consumer.assign(&assignment).map_err(PipelineError::Kafka)?;
        }
        Ok(Self {
            topics: topics.to_vec(),
            consumer: ClosingConsumer(Some(consumer)),
            watermarks: ClosingConsumer(Some(watermarks)),
            partitions,
        })
    }

    /// The state of `partition` of the topic named `topic`.
    pub fn partition_mut(&mut self, topic: &str, partition: i32) -> Option<&mut PartitionState> {
        let t = self.topics.iter().position(|name| name == topic)?;
        self.partitions
            .iter_mut()
            .find(|s| s.topic == t && s.partition == partition)
    }

    /// Asks the broker whether partitions that have been quiet for `quiet`
    /// are caught up. Only a partition known to be at its end may stop
    /// holding windows open: a broker that does not answer (an outage) keeps
    /// them holding, so an outage delays windows instead of closing them early.
    pub fn check_quiet_partitions(&mut self, now: Instant, quiet: Duration) {
        for p in &mut self.partitions {
            if !p.due_for_end_check(now, quiet) {
                continue;
            }
            let at_end = match self.watermarks.fetch_watermarks(
                &self.topics[p.topic],
                p.partition,
                WATERMARK_TIMEOUT,
            ) {
                Ok((_, high)) => p.next_offset() >= high,
                Err(error) => {
                    tracing::debug!(%error, partition = p.partition, "watermark check failed");
                    false
                }
            };
            p.set_at_end(at_end, now);
        }
    }

    /// Computes each partition's resume point given the stored frontier and
    /// commits its offset to Kafka, asynchronously, for lag monitoring only.
    ///
    /// Returns each partition's resume point, for the ClickHouse checkpoint.
    pub fn commit(
        &mut self,
        stored_frontier: Option<i64>,
    ) -> Result<Vec<(String, i32, CommitPoint)>, KafkaError> {
        let mut tpl = TopicPartitionList::new();
        let mut points = Vec::with_capacity(self.partitions.len());
        for p in &mut self.partitions {
            let point = p.commit_point(stored_frontier);
            let topic = &self.topics[p.topic];
            let mut elem = tpl.add_partition(topic, p.partition);
            elem.set_offset(Offset::Offset(point.offset))?;
            points.push((topic.clone(), p.partition, point));
        }
        if !points.is_empty() {
            self.consumer.commit(&tpl, CommitMode::Async)?;
        }
        Ok(points)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_below_the_low_watermark_resumes_there_and_counts_the_gap() {
        let at = |offset| CommitPoint {
            offset,
            max_seen_ms: Some(5),
            stored_below_ms: Some(3),
        };
        // Nothing expired: resume at the checkpoint, with its state.
        assert_eq!(resume_point(Some(&at(40)), 0, 90), (at(40), Gap::None));
        assert_eq!(resume_point(Some(&at(40)), 40, 40), (at(40), Gap::None));
        // Retention deleted offsets 40..100 before they were stored.
        assert_eq!(
            resume_point(Some(&at(40)), 100, 120),
            (at(100), Gap::Expired(60))
        );
        // A new group starts at the beginning; nothing of it was missed.
        let (fresh, gap) = resume_point(None, 100, 120);
        assert_eq!(
            (fresh.offset, fresh.max_seen_ms, gap),
            (100, None, Gap::None)
        );
    }

    #[test]
    fn a_checkpoint_past_the_end_reads_the_new_topic_from_its_start() {
        let old = CommitPoint {
            offset: 5_000,
            max_seen_ms: Some(1_000_000),
            stored_below_ms: Some(900_000),
        };
        let (point, gap) = resume_point(Some(&old), 0, 300);
        assert_eq!(gap, Gap::BeyondEnd { checkpoint: 5_000 });
        assert_eq!(point.offset, 0);
        assert_eq!(
            point.max_seen_ms, None,
            "the old life's watermark is not this one's"
        );
        assert_eq!(
            point.stored_below_ms,
            Some(900_000),
            "stored windows stay stored"
        );
    }
}
