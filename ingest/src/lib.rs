//! Getting the committees' events into Kafka: topic administration, an
//! idempotent producer, an HTTP endpoint for agencies that cannot speak
//! Kafka, and simulators for local runs and tests.

pub mod http;
pub mod kafka;
pub mod simulate;

pub use kafka::{IngestError, Publisher};
