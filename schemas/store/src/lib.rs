//! Everything PMOC knows about ClickHouse, in one crate: the client, the
//! migrations and the schema version, one row type per table with its
//! conversions to the domain types of `pmoc-schemas`, and the named reads
//! the dashboard server makes.
//!
//! The pipeline's writer, the dashboard's reader and the tests all go
//! through it, so a table's columns are written down once. `pmoc-schemas`
//! stays free of server dependencies (it compiles to WASM); this crate is
//! where the `clickhouse` dependency lives.

mod alert_page;
pub mod ddl;
mod error;
mod failover;
pub mod migrations;
mod read;
mod resume;
pub mod rows;
mod write;

use clickhouse::{Client, Compression};
use pmoc_schemas::config::ClickHouseSettings;

pub use alert_page::AlertFilter;
pub use error::{Result, StoreError};
pub use migrations::{SCHEMA_VERSION, migrate};
pub use read::{AlertTarget, AuditFilter, RejectTally};
pub use resume::WindowKey;
pub use rows::{
    ActionRow, AlertRow, AuditRow, CheckpointRow, LateRow, RejectedRow, Table, WatermarkRow,
    WindowRow, WindowStateRow, WindowWriteRow,
};

/// A client for the configured database on the first configured server
/// (`url`), for callers that talk to one server (the tests, tools).
///
/// Compression is off and row validation is off because Debian's ClickHouse
/// 18.16 supports neither the compressed protocol nor the schema query the
/// crate uses to validate; both work unchanged against current releases.
pub fn client(settings: &ClickHouseSettings) -> Client {
    client_for(settings, &settings.url)
}

/// A client for the database on the server at `url`. On a cluster,
/// inserts through a `Distributed` table return only once every shard has
/// stored its rows (`insert_distributed_sync`; by default they would return
/// once queued on the server asked), so an acknowledged insert is stored as
/// it is on a single server: the pipeline's checkpoints depend on that.
fn client_for(settings: &ClickHouseSettings, url: &str) -> Client {
    let client = Client::default()
        .with_url(url)
        .with_database(&settings.database)
        .with_user(&settings.user)
        .with_password(&settings.password)
        .with_compression(Compression::None)
        .with_validation(false);
    if settings.cluster.is_empty() {
        client
    } else {
        client.with_option("insert_distributed_sync", "1")
    }
}

/// The database, for reading and writing: one pooled HTTP client per
/// configured server, shared by every caller (never one per request).
/// Cheap to clone.
#[derive(Clone)]
pub struct Store {
    servers: failover::Servers,
    database: String,
}

impl Store {
    pub fn new(settings: &ClickHouseSettings) -> Self {
        Self {
            servers: failover::Servers::new(
                settings
                    .urls()
                    .map(|url| (url.to_owned(), client_for(settings, url)))
                    .collect(),
            ),
            database: settings.database.clone(),
        }
    }
}

impl Store {
    /// The server's `version()` (`18.16.1`, `26.9.2.1`): where a statement
    /// must differ by release, it is chosen from this, here and nowhere
    /// else. None has to yet: every statement runs unchanged on 18.16 and
    /// on current releases (`tests/tests/it/current_clickhouse`).
    pub async fn server_version(&self) -> Result<String> {
        self.servers
            .run(|c| c.query("SELECT version()").fetch_one())
            .await
    }
}
