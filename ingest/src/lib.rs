//! Getting the committees' events into Kafka: topic administration, an
//! idempotent producer, connectors for the agencies' public formats, an HTTP
//! endpoint for agencies that cannot speak Kafka, and simulators for local
//! runs and tests.

pub mod connect;
pub mod http;
pub mod kafka;
pub mod simulate;

pub use kafka::{IngestError, Publisher};
