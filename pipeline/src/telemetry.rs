//! The pipeline's telemetry, in one place: each event logs and counts.
//!
//! Metric names follow `pmoc_<noun>_<unit>_total`; they are exported on
//! `/metrics` by the Prometheus exporter installed in `main`.

use pmoc_schemas::RejectReason;
use rdkafka::error::KafkaError;

use crate::window::Metric;

/// Messages read from Kafka (each may yield several dataflow records).
pub fn consumed(n: usize) {
    metrics::counter!("pmoc_pipeline_events_consumed_total").increment(n as u64);
}

pub fn rejected(reason: &RejectReason) {
    tracing::debug!(kind = %reason.kind, detail = %reason.detail, "rejected record");
    metrics::counter!("pmoc_pipeline_events_rejected_total", "reason" => reason.kind.as_str())
        .increment(1);
}

pub fn late(metric: Metric) {
    metrics::counter!("pmoc_pipeline_events_late_total", "metric" => metric.name()).increment(1);
}

/// A message whose event id was already read: dropped, not double counted.
pub fn duplicate(committee: pmoc_schemas::committee::Committee) {
    metrics::counter!("pmoc_pipeline_events_duplicate_total", "committee" => committee.as_str())
        .increment(1);
}

pub fn consume_error(error: &KafkaError) {
    tracing::warn!(%error, "kafka consume error");
    metrics::counter!("pmoc_pipeline_kafka_errors_total", "op" => "consume").increment(1);
}

pub fn commit_error(error: &KafkaError) {
    tracing::warn!(%error, "kafka commit failed; a restart will replay further back");
    metrics::counter!("pmoc_pipeline_kafka_errors_total", "op" => "commit").increment(1);
}

/// Records the broker no longer holds that this pipeline never stored:
/// found at a start (`kafka::resume_point`). Counted by each process, so a
/// second restart before a new checkpoint counts the same gap again.
pub fn expired_unread(topic: &str, records: i64) {
    metrics::counter!("pmoc_pipeline_records_expired_unread_total", "topic" => topic.to_owned())
        .increment(records.max(0) as u64);
}

/// Offsets the broker skipped while this pipeline read a partition: records
/// that expired (retention) while it lagged, which the consumer steps over
/// to the first one left, or a transactional producer's commit markers and
/// aborted records, which it never delivers.
pub fn offsets_skipped(topic: &str, partition: i32, from: i64, to: i64) {
    let skipped = to - from;
    if skipped > 1 {
        tracing::warn!(
            topic,
            partition,
            from,
            to,
            skipped,
            "offsets skipped: records expired before they were read, or aborted transactions"
        );
    }
    metrics::counter!("pmoc_pipeline_offsets_skipped_total", "topic" => topic.to_owned())
        .increment(skipped.max(0) as u64);
}

/// A source skipped a poll because ClickHouse is behind (backpressure).
pub fn paused() {
    metrics::counter!("pmoc_pipeline_source_paused_total").increment(1);
}

pub fn rows_written(table: &'static str, rows: usize) {
    metrics::counter!("pmoc_pipeline_rows_written_total", "table" => table).increment(rows as u64);
}

pub fn write_failed(error: &(dyn std::error::Error + 'static), attempt: u32) {
    tracing::warn!(error = %pmoc_schemas::error::chain(error), attempt, "clickhouse insert failed; retrying");
    metrics::counter!("pmoc_pipeline_clickhouse_errors_total").increment(1);
}

/// A late value folded into one final window (a new, revised version).
pub fn revised(metric: Metric) {
    metrics::counter!("pmoc_pipeline_windows_revised_total", "metric" => metric.name())
        .increment(1);
}

/// Final windows read back from ClickHouse to be revised.
pub fn read_back(windows: usize) {
    tracing::debug!(windows, "read back final windows to revise");
    metrics::counter!("pmoc_pipeline_windows_read_back_total").increment(windows as u64);
}
