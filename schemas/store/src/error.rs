//! The one error of the storage layer.

/// What went wrong talking to ClickHouse or reading what it holds.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("clickhouse")]
    ClickHouse(#[from] clickhouse::error::Error),
    /// The database has no `schema_migrations` table: nothing was migrated.
    #[error(
        "the database has no PMOC schema; this program expects version {expected} \
         (run `pmoc-pipeline --migrate-only`)"
    )]
    NotMigrated { expected: u32 },
    /// Migrated by an older or a newer build than this one.
    #[error(
        "the database schema is at version {found}, this program expects version {expected} \
         (run `pmoc-pipeline --migrate-only` of the same build)"
    )]
    SchemaVersion { expected: u32, found: u32 },
    /// A `[clickhouse]` setting the store cannot use.
    #[error("[clickhouse] {setting}: {problem}")]
    Setting {
        setting: &'static str,
        problem: String,
    },
    /// A stored value outside the closed set its domain type allows (a
    /// severity, a state, a committee): written by something other than
    /// PMOC, or by a newer PMOC.
    #[error("{table}.{column} holds {value:?}, which this program does not know")]
    InvalidValue {
        table: &'static str,
        column: &'static str,
        value: String,
    },
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
