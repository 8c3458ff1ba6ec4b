//! Tables as data, and the statements that create them on one server or on
//! every server of a cluster.
//!
//! A migration says what a table is (columns, engine family, keys, how its
//! rows are spread over shards); where it goes decides the statements:
//!
//! - one server: the table itself, `ENGINE = ReplacingMergeTree(version)`;
//! - a cluster: on every server (`ON CLUSTER`), `<table>_local` with the
//!   replicated engine of the same family, whose replicas find each other
//!   in ZooKeeper under `/clickhouse/tables/{shard}/<db>/<table>` (the
//!   servers' `shard` and `replica` macros), and `<table>` as a
//!   `Distributed` table over them, so reads and inserts use the same name
//!   whatever the layout.
//!
//! The replicated engines take their ZooKeeper path and replica name as
//! arguments, which both 18.16 and current releases accept (only current
//! ones can leave them out).

/// The engine family of a table.
#[derive(Debug, Clone, Copy)]
pub enum Engine {
    /// Append-only.
    MergeTree,
    /// Rows with the same sorting key collapse to the one with the greatest
    /// value of this column: replays rewrite, never double.
    ReplacingMergeTree(&'static str),
}

/// One table, independent of where it is created.
#[derive(Debug, Clone, Copy)]
pub struct TableDef {
    pub name: &'static str,
    /// The column list, in the row type's order.
    pub columns: &'static str,
    pub engine: Engine,
    /// `PARTITION BY` and `ORDER BY`.
    pub keys: &'static str,
    /// The `Distributed` table's sharding key. For a `ReplacingMergeTree`
    /// it is a hash of a prefix of the sorting key, so every version of a
    /// row lands on the same shard and `FINAL` on each shard is `FINAL`
    /// over all of them.
    pub shard_by: &'static str,
}

/// One schema change.
#[derive(Debug, Clone, Copy)]
pub enum Change {
    Create(TableDef),
    /// Drops a table (with its replicated part on a cluster).
    Drop(&'static str),
    /// Adds columns at the end of a table, in one migration when they
    /// only mean something together. On a cluster each is added to the
    /// replicated part, and the `Distributed` table over it is created again
    /// from it once after them: `ALTER ... ON CLUSTER` runs on one replica
    /// per shard and so refuses a table that is not replicated. The
    /// `Distributed` table holds no rows (inserts are synchronous, see
    /// [`crate::client`]), so nothing is lost. 18.16 has no `ADD COLUMN IF
    /// NOT EXISTS`: the migrator asks `system.columns` before each step
    /// ([`crate::migrations::migrate`]), so a second process migrating at
    /// the same time, or a run cut between the steps, does not fail.
    AddColumns {
        table: &'static TableDef,
        /// (name, type and default) of each column, in order, e.g.
        /// `("weight", "Float64 DEFAULT 0")`. Never a `nan` default: a
        /// default is what every older row reads.
        columns: &'static [(&'static str, &'static str)],
    },
}

/// One step of a change: its statements, to run unless `table` already
/// has `column`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub unless: Option<(String, &'static str)>,
    pub statements: Vec<String>,
}

/// Where statements go: one server, or every server of a named cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout<'a> {
    Single,
    Cluster(&'a str),
}

impl<'a> Layout<'a> {
    /// The layout the `cluster` setting names (empty: one server).
    pub fn of(cluster: &'a str) -> Self {
        if cluster.is_empty() {
            Self::Single
        } else {
            Self::Cluster(cluster)
        }
    }

    fn on_cluster(self) -> String {
        match self {
            Self::Single => String::new(),
            Self::Cluster(c) => format!(" ON CLUSTER {c}"),
        }
    }
}

/// The replicated table under a `Distributed` one.
pub fn local_name(table: &str) -> String {
    format!("{table}_local")
}

/// `CREATE DATABASE`, on every server of a cluster.
pub fn create_database(db: &str, layout: Layout) -> String {
    format!("CREATE DATABASE IF NOT EXISTS {db}{}", layout.on_cluster())
}

impl TableDef {
    /// The statements creating the table in database `db`, in order.
    pub fn create(&self, db: &str, layout: Layout) -> Vec<String> {
        let Self {
            name,
            columns,
            keys,
            shard_by,
            ..
        } = self;
        match layout {
            Layout::Single => vec![format!(
                "CREATE TABLE IF NOT EXISTS {db}.{name} ({columns}) ENGINE = {} {keys}",
                self.engine_clause(None)
            )],
            Layout::Cluster(cluster) => {
                let local = local_name(name);
                let path = format!("'/clickhouse/tables/{{shard}}/{db}/{name}', '{{replica}}'");
                let on = layout.on_cluster();
                vec![
                    format!(
                        "CREATE TABLE IF NOT EXISTS {db}.{local}{on} ({columns}) ENGINE = {} {keys}",
                        self.engine_clause(Some(&path))
                    ),
                    format!(
                        "CREATE TABLE IF NOT EXISTS {db}.{name}{on} AS {db}.{local} \
                         ENGINE = Distributed({cluster}, {db}, {local}, {shard_by})"
                    ),
                ]
            }
        }
    }

    /// `MergeTree()`, `ReplacingMergeTree(version)`, or their replicated
    /// forms with `replication` (ZooKeeper path, replica) first.
    fn engine_clause(&self, replication: Option<&str>) -> String {
        let prefix = if replication.is_some() {
            "Replicated"
        } else {
            ""
        };
        let (family, version) = match self.engine {
            Engine::MergeTree => ("MergeTree", None),
            Engine::ReplacingMergeTree(v) => ("ReplacingMergeTree", Some(v)),
        };
        let args: Vec<&str> = replication.into_iter().chain(version).collect();
        format!("{prefix}{family}({})", args.join(", "))
    }
}

impl Change {
    /// The statements making this change in database `db`, in order.
    pub fn statements(&self, db: &str, layout: Layout) -> Vec<String> {
        match self {
            Self::Create(table) => table.create(db, layout),
            Self::Drop(name) => {
                let on = layout.on_cluster();
                let mut drops = vec![format!("DROP TABLE IF EXISTS {db}.{name}{on}")];
                if layout != Layout::Single {
                    drops.push(format!(
                        "DROP TABLE IF EXISTS {db}.{}{on}",
                        local_name(name)
                    ));
                }
                drops
            }
            Self::AddColumns { .. } => self
                .steps(db, layout)
                .into_iter()
                .flat_map(|s| s.statements)
                .collect(),
        }
    }

    /// The change as steps, each skipped where it was made already.
    pub fn steps(&self, db: &str, layout: Layout) -> Vec<Step> {
        let Self::AddColumns { table, columns } = self else {
            return vec![Step {
                unless: None,
                statements: self.statements(db, layout),
            }];
        };
        let on = layout.on_cluster();
        let t = table.name;
        let target = match layout {
            Layout::Single => t.to_owned(),
            Layout::Cluster(_) => local_name(t),
        };
        let mut steps: Vec<Step> = columns
            .iter()
            .map(|(name, definition)| Step {
                unless: Some((target.clone(), *name)),
                statements: vec![format!(
                    "ALTER TABLE {db}.{target}{on} ADD COLUMN {name} {definition}"
                )],
            })
            .collect();
        if let (Layout::Cluster(_), Some((last, _))) = (layout, columns.last()) {
            steps.push(Step {
                unless: Some((t.to_owned(), *last)),
                statements: std::iter::once(format!("DROP TABLE IF EXISTS {db}.{t}{on}"))
                    .chain(table.create(db, layout).into_iter().skip(1))
                    .collect(),
            });
        }
        steps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: TableDef = TableDef {
        name: "alerts",
        columns: "alert_id String, version UInt64",
        engine: Engine::ReplacingMergeTree("version"),
        keys: "ORDER BY alert_id",
        shard_by: "cityHash64(alert_id)",
    };

    #[test]
    fn one_server_gets_the_table_itself() {
        assert_eq!(
            T.create("pmoc", Layout::Single),
            [
                "CREATE TABLE IF NOT EXISTS pmoc.alerts (alert_id String, version UInt64) \
              ENGINE = ReplacingMergeTree(version) ORDER BY alert_id"
            ]
        );
        assert_eq!(
            Change::Drop("old").statements("pmoc", Layout::Single),
            ["DROP TABLE IF EXISTS pmoc.old"]
        );
    }

    #[test]
    fn a_cluster_gets_replicas_and_a_distributed_table_of_the_same_name() {
        assert_eq!(
            T.create("pmoc", Layout::of("pmoc_cluster")),
            [
                "CREATE TABLE IF NOT EXISTS pmoc.alerts_local ON CLUSTER pmoc_cluster \
                 (alert_id String, version UInt64) ENGINE = ReplicatedReplacingMergeTree(\
                 '/clickhouse/tables/{shard}/pmoc/alerts', '{replica}', version) ORDER BY alert_id",
                "CREATE TABLE IF NOT EXISTS pmoc.alerts ON CLUSTER pmoc_cluster AS \
                 pmoc.alerts_local ENGINE = Distributed(pmoc_cluster, pmoc, alerts_local, \
                 cityHash64(alert_id))",
            ]
        );
        let log = TableDef {
            engine: Engine::MergeTree,
            ..T
        };
        assert!(log.create("pmoc", Layout::of("c"))[0].contains(
            "ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/pmoc/alerts', '{replica}')"
        ));
        let add = Change::AddColumns {
            table: &T,
            columns: &[("weight", "Float64 DEFAULT 0")],
        };
        // The replicas are altered; the Distributed table, which ALTER ON
        // CLUSTER refuses, is made again from them.
        let steps = add.steps("pmoc", Layout::of("c"));
        assert_eq!(
            steps[0].statements,
            ["ALTER TABLE pmoc.alerts_local ON CLUSTER c ADD COLUMN weight Float64 DEFAULT 0"]
        );
        assert_eq!(steps[0].unless, Some(("alerts_local".to_owned(), "weight")));
        assert_eq!(
            steps[1].statements,
            [
                "DROP TABLE IF EXISTS pmoc.alerts ON CLUSTER c",
                "CREATE TABLE IF NOT EXISTS pmoc.alerts ON CLUSTER c AS pmoc.alerts_local \
                 ENGINE = Distributed(c, pmoc, alerts_local, cityHash64(alert_id))"
            ]
        );
        assert_eq!(steps[1].unless, Some(("alerts".to_owned(), "weight")));
        assert_eq!(
            add.statements("pmoc", Layout::Single),
            ["ALTER TABLE pmoc.alerts ADD COLUMN weight Float64 DEFAULT 0"]
        );
        let two = Change::AddColumns {
            table: &T,
            columns: &[("a", "UInt32 DEFAULT 0"), ("b", "String DEFAULT ''")],
        };
        assert_eq!(
            two.statements("pmoc", Layout::Single),
            [
                "ALTER TABLE pmoc.alerts ADD COLUMN a UInt32 DEFAULT 0",
                "ALTER TABLE pmoc.alerts ADD COLUMN b String DEFAULT ''"
            ]
        );
        // On a cluster: each column on the replicas, then the Distributed
        // table once, checked by the last column.
        let steps = two.steps("pmoc", Layout::of("c"));
        assert_eq!(steps.len(), 3);
        assert_eq!(steps[1].unless, Some(("alerts_local".to_owned(), "b")));
        assert_eq!(steps[2].unless, Some(("alerts".to_owned(), "b")));
        assert!(steps[2].statements[1].contains("AS pmoc.alerts_local ENGINE = Distributed"));
        assert_eq!(
            Change::Drop("old").statements("pmoc", Layout::of("c")),
            [
                "DROP TABLE IF EXISTS pmoc.old ON CLUSTER c",
                "DROP TABLE IF EXISTS pmoc.old_local ON CLUSTER c"
            ]
        );
    }
}
