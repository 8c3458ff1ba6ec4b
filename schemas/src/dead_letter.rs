//! The dead-letter contract: a message that failed validation, kept byte
//! for byte on the dead-letter topic with why it was refused and where it
//! came from in its headers.
//!
//! Every producer of dead letters (the pipeline, the HTTP ingest, the
//! connectors) names its headers from [`header`], so one tool reads them
//! all.

use serde::{Deserialize, Serialize};

use crate::RejectKind;

/// Header names of dead-letter messages. Each producer sets the reason and
/// what says where the message came from in its world.
pub mod header {
    /// The reject kind ([`crate::RejectKind::as_str`]).
    pub const REASON_KIND: &str = "pmoc-reason-kind";
    /// What is wrong, for the integrator.
    pub const REASON: &str = "pmoc-reason";
    /// Where a message came from outside Kafka: `http:<agency>` (HTTP
    /// ingest), `<format>:<file or URL>` (connectors).
    pub const SOURCE: &str = "pmoc-source";
    /// The record's position in its source, counting from 1 (connectors).
    pub const SOURCE_RECORD: &str = "pmoc-source-record";
    /// Where the pipeline read it: topic, partition and offset.
    pub const SOURCE_TOPIC: &str = "pmoc-source-topic";
    pub const SOURCE_PARTITION: &str = "pmoc-source-partition";
    pub const SOURCE_OFFSET: &str = "pmoc-source-offset";
}

/// A message the pipeline refused, with where it came from and why: it goes
/// to the dead-letter topic and to `rejected_events`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RejectedMessage {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub payload: Vec<u8>,
    pub kind: RejectKind,
    pub reason: String,
    pub received_at_ms: i64,
}
