//! Getting the committees' events into Kafka: topic administration, an
//! idempotent producer, and simulators for local runs and tests.

pub mod kafka;
pub mod simulate;

pub use kafka::{IngestError, Publisher};
