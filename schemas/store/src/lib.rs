//! Everything PMOC knows about ClickHouse, in one crate: the client, the
//! migrations and the schema version, one row type per table with its
//! conversions to the domain types of `pmoc-schemas`, and the named reads
//! the dashboard server makes.
//!
//! The pipeline's writer, the dashboard's reader and the tests all go
//! through it, so a table's columns are written down once. `pmoc-schemas`
//! stays free of server dependencies (it compiles to WASM); this crate is
//! where the `clickhouse` dependency lives.

mod error;
pub mod migrations;
mod read;
mod resume;
pub mod rows;
mod write;

use clickhouse::{Client, Compression};
use pmoc_schemas::config::ClickHouseSettings;

pub use error::{Result, StoreError};
pub use migrations::{SCHEMA_VERSION, migrate};
pub use read::{AlertTarget, AuditFilter, RejectTally};
pub use rows::{
    ActionRow, AlertRow, AuditRow, CheckpointRow, LateRow, RejectedRow, Table, WatermarkRow,
    WindowRow,
};

/// A client for the configured database.
///
/// Compression is off and row validation is off because Debian's ClickHouse
/// 18.16 supports neither the compressed protocol nor the schema query the
/// crate uses to validate; both work unchanged against current releases.
pub fn client(settings: &ClickHouseSettings) -> Client {
    server_client(settings).with_database(&settings.database)
}

/// A client for the server, for statements that name their database
/// (creating it, first of all).
fn server_client(settings: &ClickHouseSettings) -> Client {
    Client::default()
        .with_url(&settings.url)
        .with_user(&settings.user)
        .with_password(&settings.password)
        .with_compression(Compression::None)
        .with_validation(false)
}

/// The database, for reading and writing: one pooled HTTP client shared by
/// every caller (never one per request). Cheap to clone.
#[derive(Clone)]
pub struct Store {
    client: Client,
    database: String,
}

impl Store {
    pub fn new(settings: &ClickHouseSettings) -> Self {
        Self {
            client: client(settings),
            database: settings.database.clone(),
        }
    }

    /// The underlying client, scoped to the database.
    pub fn client(&self) -> &Client {
        &self.client
    }
}
