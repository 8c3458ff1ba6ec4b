//! PMOC's shared vocabulary.
//!
//! Everything that crosses a process boundary is defined here once: the events
//! the agencies publish, the aggregates the pipeline writes, the payloads the
//! dashboard server sends to the browser and the settings file. The crate has
//! no tokio, rdkafka or clickhouse dependency so the WASM front end can share
//! it; how these are stored in ClickHouse is the storage crate's
//! (`schemas/store`, `pmoc-store`).

pub mod aggregate;
pub mod alert;
pub mod api;
pub mod area;
pub mod auth;
pub mod calendar;
pub mod catalogue;
pub mod committee;
pub mod config;
pub mod dead_letter;
pub mod delta;
pub mod district;
pub mod envelope;
pub mod error;
pub mod event;
pub mod geo;
pub mod health;
pub mod json_schema;
pub mod metric;
pub mod privacy;
pub mod source;

pub use error::{RejectKind, RejectReason};
