//! PMOC's streaming core: a timely dataflow that windows the committees'
//! Kafka streams by event time and writes exact, replay-safe aggregates to
//! ClickHouse.

pub mod alerting;
pub mod backlog;
pub mod clock;
pub mod dataflow;
pub mod dead_letter;
pub mod kafka;
pub mod partition;
pub mod record;
pub mod revision;
pub mod rollup;
pub mod run;
pub mod silence;
pub mod sink;
pub mod source;
pub mod telemetry;
pub mod window;
pub mod windowing;

/// Why the pipeline could not start or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    #[error(transparent)]
    Settings(#[from] pmoc_schemas::config::InvalidSetting),
    #[error("kafka")]
    Kafka(#[source] rdkafka::error::KafkaError),
    #[error("topic {0} does not exist or has no partitions (run `pmoc-ingest topics`)")]
    MissingTopic(String),
    #[error("clickhouse")]
    Store(#[from] pmoc_store::StoreError),
    #[error("timely: {0}")]
    Timely(String),
    #[error("a worker failed; see the log")]
    WorkerFailed,
    #[error("the clickhouse writer died; nothing more could be stored")]
    WriterFailed,
}
