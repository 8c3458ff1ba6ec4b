//! The consuming side of Kafka for one timely worker.
//!
//! Partitions are assigned by hand (`partition % peers == worker`), not by a
//! consumer-group rebalance: ownership is deterministic, so a restarted
//! pipeline rebuilds exactly the state it had. Resume points come from the
//! ClickHouse checkpoints; offsets are also committed to Kafka under the group
//! id, so the usual lag tools see how far behind the pipeline is.

use std::time::{Duration, Instant};

use rdkafka::{
    ClientConfig, Offset, TopicPartitionList,
    consumer::{BaseConsumer, CommitMode, Consumer},
    error::KafkaError,
};

use crate::{
    PipelineError,
    partition::{CommitPoint, PartitionState},
};

const METADATA_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait for a high-watermark answer when checking a quiet partition.
const WATERMARK_TIMEOUT: Duration = Duration::from_secs(1);

/// A worker's consumer and the state of the partitions it owns.
pub struct KafkaReader {
    pub topic: String,
    pub consumer: BaseConsumer,
    pub partitions: Vec<PartitionState>,
}

impl KafkaReader {
    /// Connects, finds this worker's partitions and positions each at its
    /// committed resume point (or the beginning, for a new group).
    pub fn open(
        brokers: &str,
        group_id: &str,
        topic: &str,
        worker: usize,
        peers: usize,
        checkpoints: &std::collections::HashMap<i32, CommitPoint>,
    ) -> Result<Self, PipelineError> {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", brokers)
            .set("group.id", group_id)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .create()
            .map_err(PipelineError::Kafka)?;
        let metadata = consumer
            .fetch_metadata(Some(topic), METADATA_TIMEOUT)
            .map_err(PipelineError::Kafka)?;
        let count = metadata
            .topics()
            .iter()
            .find(|t| t.name() == topic && t.error().is_none())
            .map(|t| t.partitions().len())
            .filter(|&n| n > 0)
            .ok_or_else(|| PipelineError::MissingTopic(topic.to_owned()))?;
        let owned: Vec<i32> = (0..count)
            .filter(|p| p % peers == worker)
            .map(|p| p as i32)
            .collect();

        let now = Instant::now();
        let mut assignment = TopicPartitionList::new();
        let mut partitions = Vec::with_capacity(owned.len());
        for &p in &owned {
            let (low, high) = consumer
                .fetch_watermarks(topic, p, METADATA_TIMEOUT)
                .map_err(PipelineError::Kafka)?;
            // Only the ClickHouse checkpoint says where to resume: it is
            // written after the rows it covers and carries the watermark and
            // stored frontier. Kafka's committed offset may run ahead of it
            // (it is committed for lag monitoring), so a partition without a
            // checkpoint starts from the beginning; writes are idempotent.
            let resume = checkpoints
                .get(&p)
                .map(|c| CommitPoint {
                    offset: c.offset.max(low),
                    ..*c
                })
                .unwrap_or(CommitPoint {
                    offset: low,
                    max_seen_ms: None,
                    stored_below_ms: None,
                });
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
            partitions.push(PartitionState::new(p, resume, resume.offset < high, now));
        }
        if !owned.is_empty() {
            consumer.assign(&assignment).map_err(PipelineError::Kafka)?;
        }
        Ok(Self {
            topic: topic.to_owned(),
            consumer,
            partitions,
        })
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
            let at_end =
                match self
                    .consumer
                    .fetch_watermarks(&self.topic, p.partition, WATERMARK_TIMEOUT)
                {
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
    ) -> Result<Vec<(i32, CommitPoint)>, KafkaError> {
        let mut tpl = TopicPartitionList::new();
        let mut points = Vec::with_capacity(self.partitions.len());
        for p in &mut self.partitions {
            let point = p.commit_point(stored_frontier);
            let mut elem = tpl.add_partition(&self.topic, p.partition);
            elem.set_offset(Offset::Offset(point.offset))?;
            points.push((p.partition, point));
        }
        if !points.is_empty() {
            self.consumer.commit(&tpl, CommitMode::Async)?;
        }
        Ok(points)
    }
}
