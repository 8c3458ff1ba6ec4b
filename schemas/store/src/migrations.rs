//! The schema: every table, created in order by [`migrate`], and the
//! version a program of this build expects to find.
//!
//! The SQL is written for both Debian's ClickHouse 18.16 and current releases:
//! no `DateTime64`, no `LowCardinality`, no `toStartOfInterval`. Tables are
//! data ([`TableDef`]); [`crate::ddl`] turns them into statements for one
//! server or for every server of a cluster.

use std::time::{SystemTime, UNIX_EPOCH};

use clickhouse::Row;
use pmoc_schemas::config::ClickHouseSettings;
use serde::{Deserialize, Serialize};

use crate::{
    Result, Store, StoreError,
    ddl::{Change, Engine, Layout, TableDef, create_database},
};

/// One schema change. Versions only grow; a released migration never changes.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: u32,
    pub name: &'static str,
    pub change: Change,
}

/// Bookkeeping table the migrator reads to skip what is already applied.
/// On a cluster it is replicated like the others, so every server knows
/// the schema's version.
pub const MIGRATIONS_TABLE: TableDef = TableDef {
    name: "schema_migrations",
    columns: "version UInt32, name String, applied_at DateTime",
    engine: Engine::MergeTree,
    keys: "ORDER BY version",
    shard_by: "version",
};

/// Every metric of every committee, 1 minute, 1 hour and 1 day, at every
/// area level (migration 5; later migrations add columns to it).
const WINDOW_AGGREGATES: TableDef = TableDef {
    name: "window_aggregates",
    columns: "
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
",
    engine: Engine::ReplacingMergeTree("version"),
    keys: "PARTITION BY toYYYYMM(window_start) ORDER BY (metric, area_level, area_code, window_seconds, window_start)",
    shard_by: "cityHash64(metric, area_level, area_code)",
};

/// All migrations, oldest first.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "aggregates",
        // ReplacingMergeTree keyed by the window: a replay after a crash writes
        // the same key again and the newest version wins, so nothing doubles.
        change: Change::Create(TableDef {
            name: "aggregates",
            columns: "
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
",
            engine: Engine::ReplacingMergeTree("computed_at_ms"),
            keys: "PARTITION BY toYYYYMM(window_start) ORDER BY (metric, area_level, area_code, window_seconds, window_start)",
            shard_by: "cityHash64(metric, area_level, area_code)",
        }),
    },
    Migration {
        version: 2,
        name: "late_events",
        // Events later than the allowed lateness are kept here, never dropped.
        change: Change::Create(TableDef {
            name: "late_events",
            columns: "
    metric String,
    event_id String,
    area_code String,
    event_time_ms Int64,
    watermark_ms Int64,
    value Float64,
    received_at_ms Int64
",
            engine: Engine::ReplacingMergeTree("received_at_ms"),
            keys: "ORDER BY (metric, event_id)",
            shard_by: "cityHash64(metric, event_id)",
        }),
    },
    Migration {
        version: 3,
        name: "pipeline_checkpoints",
        // Where each partition resumes, with its watermark and the event time
        // below which every window is stored. Kept here rather than in Kafka
        // commit metadata, which not every broker preserves; written after
        // the rows it covers, so it never claims more than is stored.
        change: Change::Create(TableDef {
            name: "pipeline_checkpoints",
            columns: "
    group_id String,
    topic String,
    partition Int32,
    offset Int64,
    max_seen_ms Nullable(Int64),
    stored_below_ms Nullable(Int64),
    written_at_ms Int64
",
            engine: Engine::ReplacingMergeTree("written_at_ms"),
            keys: "ORDER BY (group_id, topic, partition)",
            shard_by: "cityHash64(group_id, topic, partition)",
        }),
    },
    Migration {
        version: 4,
        name: "rejected_events",
        // Every message that failed validation, keyed by where it was read,
        // so a replay rewrites rather than doubles. The exact bytes are in
        // the dead-letter topic; `payload` here is for reading.
        change: Change::Create(TableDef {
            name: "rejected_events",
            columns: "
    source_topic String,
    partition Int32,
    offset Int64,
    reason_kind String,
    reason String,
    payload String,
    payload_bytes UInt32,
    received_at_ms Int64
",
            engine: Engine::ReplacingMergeTree("received_at_ms"),
            keys: "ORDER BY (source_topic, partition, offset)",
            shard_by: "cityHash64(source_topic, partition, offset)",
        }),
    },
    Migration {
        version: 5,
        name: "window_aggregates",
        // Every metric of every committee, 1 minute, 1 hour and 1 day, at
        // every area level. `is_final` = 0 rows are the running value of an
        // open window; the final row of a window carries a greater `version`
        // (computed_at_ms * 2 + is_final), so it always replaces them.
        // p50/p95 are NaN for metrics without a distribution.
        change: Change::Create(WINDOW_AGGREGATES),
    },
    Migration {
        version: 6,
        name: "source_watermarks",
        // Completeness per committee and source: windows ending at or before
        // `final_up_to_ms` are final; `last_seen_ms` (wall clock) against
        // `expected_cadence_s` says whether the source has gone quiet. One
        // row per pipeline worker: readers take the greatest.
        change: Change::Create(TableDef {
            name: "source_watermarks",
            columns: "
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
",
            engine: Engine::ReplacingMergeTree("written_at_ms"),
            keys: "ORDER BY (committee, source_agency, source_system, schema, worker)",
            shard_by: "cityHash64(committee, source_agency, source_system, schema, worker)",
        }),
    },
    Migration {
        version: 7,
        name: "alerts",
        // The newest state of each alert (open, updated, resolved); every
        // transition also goes to the alerts topic. `alert_id` is derived
        // from rule, area and opening window, so a replay rewrites it.
        change: Change::Create(TableDef {
            name: "alerts",
            columns: "
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
",
            engine: Engine::ReplacingMergeTree("version"),
            keys: "ORDER BY alert_id",
            shard_by: "cityHash64(alert_id)",
        }),
    },
    Migration {
        version: 8,
        name: "alert_actions",
        // Operators' acknowledgements and resolutions: who, when, why.
        // Append-only: the history of an alert is part of the record.
        change: Change::Create(TableDef {
            name: "alert_actions",
            columns: "
    alert_id String,
    action String,
    comment String,
    actor String,
    at_ms Int64
",
            engine: Engine::MergeTree,
            keys: "ORDER BY (alert_id, at_ms)",
            shard_by: "cityHash64(alert_id)",
        }),
    },
    Migration {
        version: 9,
        name: "drop_aggregates",
        // Version 1's table was superseded by `window_aggregates` (version
        // 5) before anything read it; dropped so no one starts to.
        change: Change::Drop("aggregates"),
    },
    Migration {
        version: 10,
        name: "audit_log",
        // Every dashboard request: who (user and role, empty when nobody
        // is signed in), what (method, route pattern, parameters), the
        // decision and, for a refusal, why; from where and when. Append-only;
        // ordered by time so the audit page reads the newest refusals first.
        change: Change::Create(TableDef {
            name: "audit_log",
            columns: "
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
",
            engine: Engine::MergeTree,
            keys: "PARTITION BY toYYYYMM(toDateTime(intDiv(at_ms, 1000))) ORDER BY (decision, at_ms)",
            shard_by: "cityHash64(user, at_ms)",
        }),
    },
    Migration {
        version: 11,
        name: "window_aggregates_weight",
        // What a window's mean is weighted by: the total capacity of the
        // dams (or allocation of the ministries) whose shares it holds, so
        // "dam storage" is total stored over total capacity; the count of
        // reports or entities for every other metric. 0 in rows written
        // before: readers fall back to the count there.
        change: Change::AddColumns {
            table: &WINDOW_AGGREGATES,
            columns: &[("weight", "Float64 DEFAULT 0")],
        },
    },
    Migration {
        version: 12,
        name: "window_aggregates_revisions",
        // Late values folded into a final window after it closed (within
        // `correction_horizon_seconds`): how many revised it, and the
        // window's state (`revision_state`, the pipeline's accumulator:
        // each entity's latest report, the histogram, the ids of the late
        // values already in it) so the next late value can be folded in
        // without holding a week of windows in memory, and a replayed one
        // is recognised. Empty in running rows and in rows written before.
        change: Change::AddColumns {
            table: &WINDOW_AGGREGATES,
            columns: &[
                ("revised_count", "UInt32 DEFAULT 0"),
                ("revision_state", "String DEFAULT ''"),
            ],
        },
    },
];

/// The schema version this build reads and writes: its newest migration.
/// The dashboard refuses to start on a database at any other version.
pub const SCHEMA_VERSION: u32 = MIGRATIONS[MIGRATIONS.len() - 1].version;

/// A row of `schema_migrations`.
#[derive(Debug, Clone, PartialEq, Row, Serialize, Deserialize)]
pub struct MigrationRow {
    pub version: u32,
    pub name: String,
    /// Unix seconds (`DateTime`).
    pub applied_at: u32,
}

/// Creates the database and applies the migrations not yet applied, on one
/// server or, with `cluster` set, on every server of the cluster; returns
/// the versions it applied. Safe to run at every start and from several
/// processes.
///
/// When everything is applied it changes nothing and needs no more than
/// one reachable server: a statement `ON CLUSTER` waits for every server
/// (`distributed_ddl_task_timeout`), and a pipeline must be able to start
/// while a replica is down.
pub async fn migrate(settings: &ClickHouseSettings) -> Result<Vec<u32>> {
    check_names(settings)?;
    let (db, layout) = (&settings.database, Layout::of(&settings.cluster));
    let store = Store::new(settings);
    let done = match store.schema_version().await? {
        Some(_) => store.applied().await?,
        None => Vec::new(),
    };
    let pending: Vec<&Migration> = MIGRATIONS
        .iter()
        .filter(|m| !done.contains(&m.version))
        .collect();
    if pending.is_empty() {
        return Ok(Vec::new());
    }
    store.ddl(&create_database(db, layout)).await?;
    for statement in MIGRATIONS_TABLE.create(db, layout) {
        store.ddl(&statement).await?;
    }
    let mut applied = Vec::new();
    for m in pending {
        for step in m.change.steps(db, layout) {
            if let Some((table, column)) = &step.unless
                && store.has_column(table, column).await?
            {
                continue;
            }
            for statement in &step.statements {
                store.ddl(statement).await?;
            }
        }
        store
            .insert(&[MigrationRow {
                version: m.version,
                name: m.name.to_owned(),
                applied_at: unix_seconds(),
            }])
            .await?;
        tracing::info!(version = m.version, name = m.name, "applied migration");
        applied.push(m.version);
    }
    Ok(applied)
}

/// The database and cluster names are written into statements: only plain
/// identifiers are accepted, and servers to fail over to only with a
/// cluster (separate servers would each hold part of the data).
fn check_names(settings: &ClickHouseSettings) -> Result<()> {
    let plain = |s: &str| s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    for (setting, value) in [
        ("database", settings.database.as_str()),
        ("cluster", settings.cluster.as_str()),
    ] {
        if !plain(value) || (setting == "database" && value.is_empty()) {
            return Err(StoreError::Setting {
                setting,
                problem: format!("{value:?} is not a plain identifier (letters, digits, _)"),
            });
        }
    }
    if settings.cluster.is_empty() && !settings.failover_urls.is_empty() {
        return Err(StoreError::Setting {
            setting: "failover_urls",
            problem: "servers to fail over to need `cluster` (replicated tables)".to_owned(),
        });
    }
    Ok(())
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
            .servers
            .run(|c| {
                c.with_database("system")
                    .query(
                        "SELECT count() FROM tables \
                         WHERE database = ? AND name = 'schema_migrations'",
                    )
                    .bind(&self.database)
                    .fetch_one()
            })
            .await?;
        if tables == 0 {
            return Ok(None);
        }
        Ok(self.applied().await?.into_iter().max())
    }

    /// Whether `table` has `column` already (another process added it
    /// since this one read the applied versions, or a run was cut short).
    async fn has_column(&self, table: &str, column: &str) -> Result<bool> {
        let n: u64 = self
            .servers
            .run(|c| {
                c.with_database("system")
                    .query(
                        "SELECT count() FROM columns WHERE database = ? AND table = ? AND name = ?",
                    )
                    .bind(&self.database)
                    .bind(table)
                    .bind(column)
                    .fetch_one()
            })
            .await?;
        Ok(n > 0)
    }

    /// The versions recorded in `schema_migrations`.
    async fn applied(&self) -> Result<Vec<u32>> {
        self.servers
            .run(|c| c.query("SELECT version FROM schema_migrations").fetch_all())
            .await
    }

    /// A statement that names its database (it may not exist yet). The
    /// server answers only once it is done (`wait_end_of_query`), so a
    /// failure on any server of a cluster is an error here, never text in
    /// a body already sent as a success.
    async fn ddl(&self, sql: &str) -> Result<()> {
        self.servers
            .run(|c| {
                c.with_database("system")
                    .query(sql)
                    .with_option("wait_end_of_query", "1")
                    .execute()
            })
            .await
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
        assert_eq!(
            Some(SCHEMA_VERSION),
            MIGRATIONS.iter().map(|m| m.version).max()
        );
    }

    #[test]
    fn every_table_is_sharded_by_its_own_columns() {
        let tables = MIGRATIONS.iter().filter_map(|m| match m.change {
            Change::Create(t) => Some(t),
            Change::Drop(_) | Change::AddColumns { .. } => None,
        });
        for t in tables.chain([MIGRATIONS_TABLE]) {
            let key = t
                .shard_by
                .trim_start_matches("cityHash64(")
                .trim_end_matches(')');
            for column in key.split(',').map(str::trim) {
                assert!(
                    t.columns.contains(&format!("{column} ")),
                    "{}: sharding key column {column} is not a column",
                    t.name
                );
            }
            if let Engine::ReplacingMergeTree(_) = t.engine {
                // Every version of a row on one shard: the key's columns
                // are all in the sorting key.
                let order = t.keys.split("ORDER BY").nth(1).unwrap_or_default();
                assert!(
                    key.split(',').all(|c| order.contains(c.trim())),
                    "{}: sharded by {key}, sorted by {order}",
                    t.name
                );
            }
        }
    }

    #[test]
    fn bad_names_and_failover_without_a_cluster_are_refused() {
        let mut s = ClickHouseSettings::default();
        assert!(check_names(&s).is_ok());
        s.database = "pmoc; DROP".to_owned();
        assert!(check_names(&s).is_err());
        s.database = "pmoc".to_owned();
        s.failover_urls = vec!["http://127.0.0.1:8124".to_owned()];
        assert!(check_names(&s).is_err());
        s.cluster = "pmoc_cluster".to_owned();
        assert!(check_names(&s).is_ok());
    }
}
