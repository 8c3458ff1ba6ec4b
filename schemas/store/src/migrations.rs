//! The schema: every table's DDL, applied in order by [`migrate`], and the
//! version a program of this build expects to find.
//!
//! The SQL is written for both Debian's ClickHouse 18.16 and current releases:
//! no `DateTime64`, no `LowCardinality`, no `toStartOfInterval`. `{db}` is
//! replaced by the configured database name.

use std::time::{SystemTime, UNIX_EPOCH};

use clickhouse::Row;
use pmoc_schemas::config::ClickHouseSettings;
use serde::{Deserialize, Serialize};

use crate::{Result, Store, StoreError, client, rows::Table, server_client};

/// One schema change. Versions only grow; a released migration never changes.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: u32,
    pub name: &'static str,
    pub sql: &'static str,
}

/// Bookkeeping table the migrator reads to skip what is already applied.
pub const MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS {db}.schema_migrations (
    version UInt32,
    name String,
    applied_at DateTime
) ENGINE = MergeTree() ORDER BY version";

/// All migrations, oldest first.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "aggregates",
        // ReplacingMergeTree keyed by the window: a replay after a crash writes
        // the same key again and the newest version wins, so nothing doubles.
        sql: "CREATE TABLE IF NOT EXISTS {db}.aggregates (
    metric String,
    source String,
    area_level String,
    area_code String,
    window_seconds UInt32,
    window_start DateTime,
    window_end DateTime,
    count UInt64,
    sum Float64,
    min Float64,
    max Float64,
    last Float64,
    last_event_time_ms Int64,
    computed_at_ms Int64
) ENGINE = ReplacingMergeTree(computed_at_ms)
PARTITION BY toYYYYMM(window_start)
ORDER BY (metric, area_level, area_code, window_seconds, window_start)",
    },
    Migration {
        version: 2,
        name: "late_events",
        // Events later than the allowed lateness are kept here, never dropped.
        sql: "CREATE TABLE IF NOT EXISTS {db}.late_events (
    metric String,
    event_id String,
    area_code String,
    event_time_ms Int64,
    watermark_ms Int64,
    value Float64,
    received_at_ms Int64
) ENGINE = ReplacingMergeTree(received_at_ms)
ORDER BY (metric, event_id)",
    },
    Migration {
        version: 3,
        name: "pipeline_checkpoints",
        // Where each partition resumes, with its watermark and the event time
        // below which every window is stored. Kept here rather than in Kafka
        // commit metadata, which not every broker preserves; written after
        // the rows it covers, so it never claims more than is stored.
        sql: "CREATE TABLE IF NOT EXISTS {db}.pipeline_checkpoints (
    group_id String,
    topic String,
    partition Int32,
    offset Int64,
    max_seen_ms Nullable(Int64),
    stored_below_ms Nullable(Int64),
    written_at_ms Int64
) ENGINE = ReplacingMergeTree(written_at_ms)
ORDER BY (group_id, topic, partition)",
    },
    Migration {
        version: 4,
        name: "rejected_events",
        // Every message that failed validation, keyed by where it was read,
        // so a replay rewrites rather than doubles. The exact bytes are in
        // the dead-letter topic; `payload` here is for reading.
        sql: "CREATE TABLE IF NOT EXISTS {db}.rejected_events (
    source_topic String,
    partition Int32,
    offset Int64,
    reason_kind String,
    reason String,
    payload String,
    payload_bytes UInt32,
    received_at_ms Int64
) ENGINE = ReplacingMergeTree(received_at_ms)
ORDER BY (source_topic, partition, offset)",
    },
    Migration {
        version: 5,
        name: "window_aggregates",
        // Every metric of every committee, 1 minute, 1 hour and 1 day, at
        // every area level. `is_final` = 0 rows are the running value of an
        // open window; the final row of a window carries a greater `version`
        // (computed_at_ms * 2 + is_final), so it always replaces them.
        // p50/p95 are NaN for metrics without a distribution.
        sql: "CREATE TABLE IF NOT EXISTS {db}.window_aggregates (
    metric String,
    committee String,
    source String,
    area_level String,
    area_code String,
    window_seconds UInt32,
    window_start DateTime,
    window_end DateTime,
    count UInt64,
    sum Float64,
    min Float64,
    max Float64,
    last Float64,
    last_event_time_ms Int64,
    p50 Float64,
    p95 Float64,
    is_final UInt8,
    computed_at_ms Int64,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(window_start)
ORDER BY (metric, area_level, area_code, window_seconds, window_start)",
    },
    Migration {
        version: 6,
        name: "source_watermarks",
        // Completeness per committee and source: windows ending at or before
        // `final_up_to_ms` are final; `last_seen_ms` (wall clock) against
        // `expected_cadence_s` says whether the source has gone quiet. One
        // row per pipeline worker: readers take the greatest.
        sql: "CREATE TABLE IF NOT EXISTS {db}.source_watermarks (
    committee String,
    source_agency String,
    source_system String,
    schema String,
    worker UInt32,
    final_up_to_ms Int64,
    last_event_ms Int64,
    last_seen_ms Int64,
    expected_cadence_s UInt32,
    events_total UInt64,
    written_at_ms Int64
) ENGINE = ReplacingMergeTree(written_at_ms)
ORDER BY (committee, source_agency, source_system, schema, worker)",
    },
    Migration {
        version: 7,
        name: "alerts",
        // The newest state of each alert (open, updated, resolved); every
        // transition also goes to the alerts topic. `alert_id` is derived
        // from rule, area and opening window, so a replay rewrites it.
        sql: "CREATE TABLE IF NOT EXISTS {db}.alerts (
    alert_id String,
    rule String,
    severity String,
    committee String,
    metric String,
    area_level String,
    area_code String,
    state String,
    opened_at_ms Int64,
    updated_at_ms Int64,
    resolved_at_ms Int64,
    value Float64,
    threshold Float64,
    evidence String,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY alert_id",
    },
    Migration {
        version: 8,
        name: "alert_actions",
        // Operators' acknowledgements and resolutions: who, when, why.
        // Append-only: the history of an alert is part of the record.
        sql: "CREATE TABLE IF NOT EXISTS {db}.alert_actions (
    alert_id String,
    action String,
    comment String,
    actor String,
    at_ms Int64
) ENGINE = MergeTree()
ORDER BY (alert_id, at_ms)",
    },
    Migration {
        version: 9,
        name: "drop_aggregates",
        // Version 1's table was superseded by `window_aggregates` (version
        // 5) before anything read it; dropped so no one starts to.
        sql: "DROP TABLE IF EXISTS {db}.aggregates",
    },
    Migration {
        version: 10,
        name: "audit_log",
        // Every dashboard request: who (user and role, empty when nobody
        // is signed in), what (method, route pattern, parameters), the
        // decision and, for a refusal, why; from where and when. Append-only;
        // ordered by time so the audit page reads the newest refusals first.
        sql: "CREATE TABLE IF NOT EXISTS {db}.audit_log (
    at_ms Int64,
    user String,
    role String,
    method String,
    route String,
    params String,
    decision String,
    reason String,
    status UInt16,
    peer String
) ENGINE = MergeTree()
PARTITION BY toYYYYMM(toDateTime(intDiv(at_ms, 1000)))
ORDER BY (decision, at_ms)",
    },
];

/// The schema version this build reads and writes: its newest migration.
/// The dashboard refuses to start on a database at any other version.
pub const SCHEMA_VERSION: u32 = MIGRATIONS[MIGRATIONS.len() - 1].version;

/// Substitutes the database name into a statement.
pub fn render(sql: &str, database: &str) -> String {
    sql.replace("{db}", database)
}

/// A row of `schema_migrations`.
#[derive(Debug, Clone, PartialEq, Row, Serialize, Deserialize)]
pub struct MigrationRow {
    pub version: u32,
    pub name: String,
    /// Unix seconds (`DateTime`).
    pub applied_at: u32,
}

/// Creates the database and applies the migrations not yet applied; returns
/// the versions it applied. Safe to run at every start and from several
/// processes.
pub async fn migrate(settings: &ClickHouseSettings) -> Result<Vec<u32>> {
    let db = &settings.database;
    let server = server_client(settings);
    server
        .query(&format!("CREATE DATABASE IF NOT EXISTS {db}"))
        .execute()
        .await?;
    server
        .query(&render(MIGRATIONS_TABLE, db))
        .execute()
        .await?;
    let done: Vec<u32> = server
        .query(&format!("SELECT version FROM {db}.schema_migrations"))
        .fetch_all()
        .await?;
    let mut applied = Vec::new();
    for m in MIGRATIONS.iter().filter(|m| !done.contains(&m.version)) {
        server.query(&render(m.sql, db)).execute().await?;
        // The crate quotes the table name whole, so `db.table` would not
        // resolve: insert through a client scoped to the database.
        let mut insert = client(settings)
            .insert::<MigrationRow>(MigrationRow::TABLE)
            .await?;
        insert
            .write(&MigrationRow {
                version: m.version,
                name: m.name.to_owned(),
                applied_at: unix_seconds(),
            })
            .await?;
        insert.end().await?;
        tracing::info!(version = m.version, name = m.name, "applied migration");
        applied.push(m.version);
    }
    Ok(applied)
}

/// The wall clock for `applied_at`, the one time the storage layer reads
/// itself: every other time is the caller's, passed in.
fn unix_seconds() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as u32)
}

impl Store {
    /// The newest migration applied to the database, `None` when it was
    /// never migrated.
    pub async fn schema_version(&self) -> Result<Option<u32>> {
        // Asked of `system`: a query scoped to a database that does not
        // exist yet fails.
        let tables: u64 = self
            .client
            .clone()
            .with_database("system")
            .query("SELECT count() FROM tables WHERE database = ? AND name = 'schema_migrations'")
            .bind(&self.database)
            .fetch_one()
            .await?;
        if tables == 0 {
            return Ok(None);
        }
        let versions: Vec<u32> = self
            .client
            .query("SELECT version FROM schema_migrations")
            .fetch_all()
            .await?;
        Ok(versions.into_iter().max())
    }

    /// Fails unless the database is at exactly [`SCHEMA_VERSION`]: a reader
    /// of another version would misread columns or miss tables, and say so
    /// only query by query.
    pub async fn check_schema(&self) -> Result<u32> {
        match self.schema_version().await? {
            Some(found) if found == SCHEMA_VERSION => Ok(found),
            Some(found) => Err(StoreError::SchemaVersion {
                expected: SCHEMA_VERSION,
                found,
            }),
            None => Err(StoreError::NotMigrated {
                expected: SCHEMA_VERSION,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_strictly_increase() {
        assert!(MIGRATIONS.windows(2).all(|w| w[0].version < w[1].version));
        assert!(MIGRATIONS.iter().all(|m| m.sql.contains("{db}.")));
        assert_eq!(
            Some(SCHEMA_VERSION),
            MIGRATIONS.iter().map(|m| m.version).max()
        );
    }
}
