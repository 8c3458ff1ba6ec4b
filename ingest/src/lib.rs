//! Getting the committees' events into Kafka: topic administration, an
//! idempotent producer, connectors for the agencies' public formats, and
//! simulators for local runs and tests.

pub mod connect;
pub mod kafka;
pub mod simulate;

pub use kafka::{IngestError, Publisher};
