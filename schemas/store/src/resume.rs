//! What the pipeline reads back: when it starts, to carry on where it
//! stopped (resume points, open alerts and the sources' last-seen times),
//! and the final windows a late value revises. Each takes the newest
//! version per key (`LIMIT 1 BY` or `argMax`), like the dashboard's reads
//! (see [`crate::read`]), rather than `FINAL`.

use pmoc_schemas::alert::{AlertEvent, AlertState};

use crate::{
    Result, Store,
    rows::{AlertRow, CheckpointRow, Table, WatermarkRow, WindowStateRow},
};

/// A window as `window_aggregates` keys it: metric, area level, area code,
/// width and start (Unix seconds).
pub type WindowKey = (String, String, String, u32, u32);

/// Most windows asked for in one query: the statement stays well within
/// ClickHouse's query size limit (256 KiB by default, about 60 bytes a key).
const KEYS_PER_QUERY: usize = 1_000;

/// `s` as an SQL string literal.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// The keys as an SQL tuple list. Metric names, levels and codes come from
/// the catalogue and the area tables, never from input; quotes are escaped
/// anyway.
fn key_list(keys: &[WindowKey]) -> String {
    keys.iter()
        .map(|(m, l, c, w, s)| format!("({},{},{},{w},{s})", quote(m), quote(l), quote(c)))
        .collect::<Vec<_>>()
        .join(",")
}

impl Store {
    /// The newest resume point of every partition read by `group_id`.
    pub async fn checkpoints(&self, group_id: &str) -> Result<Vec<CheckpointRow>> {
        self.servers
            .run(|c| {
                c.query(&format!(
                    "SELECT ?fields FROM {} WHERE group_id = ?
                     ORDER BY topic, partition, written_at_ms DESC
                     LIMIT 1 BY topic, partition",
                    CheckpointRow::TABLE
                ))
                .bind(group_id)
                .fetch_all()
            })
            .await
    }

    /// The alerts not resolved when the pipeline last stopped.
    pub async fn open_alerts(&self) -> Result<Vec<AlertEvent>> {
        let rows: Vec<AlertRow> = self
            .servers
            .run(|c| {
                c.query(&format!(
                    "SELECT ?fields FROM {} WHERE {}",
                    crate::read::latest_alerts(),
                    AlertState::OPEN_SQL
                ))
                .fetch_all()
            })
            .await?;
        rows.into_iter().map(AlertEvent::try_from).collect()
    }

    /// The state of the newest final row of each of `keys` that has one,
    /// in batches of [`KEYS_PER_QUERY`]: one query for all the windows a
    /// burst of late values revises, not one per value.
    ///
    /// Not `FINAL`: that would read the state of every row in the range
    /// before filtering. The key filter uses the sorting key, and the newest
    /// version is picked among the few rows of each key (`argMax`, under
    /// aliases that differ from column names, for 18.16).
    pub async fn final_windows(&self, keys: &[WindowKey]) -> Result<Vec<WindowStateRow>> {
        let mut rows = Vec::new();
        for chunk in keys.chunks(KEYS_PER_QUERY) {
            let (from, to) = chunk
                .iter()
                .fold((u32::MAX, 0), |(a, b), k| (a.min(k.4), b.max(k.4)));
            let mut metrics: Vec<&str> = chunk.iter().map(|k| k.0.as_str()).collect();
            metrics.sort_unstable();
            metrics.dedup();
            let metrics = metrics
                .iter()
                .map(|m| quote(m))
                .collect::<Vec<_>>()
                .join(",");
            let sql = format!(
                "SELECT metric, area_level, area_code, window_seconds,
                        toUInt32(window_start) AS start_s, argMax(revision_state, version) AS state
                 FROM {}
                 WHERE is_final = 1 AND metric IN ({metrics})
                   AND window_start >= toDateTime({from}) AND window_start <= toDateTime({to})
                   AND (metric, area_level, area_code, window_seconds, toUInt32(window_start))
                       IN ({})
                 GROUP BY metric, area_level, area_code, window_seconds, window_start",
                WindowStateRow::TABLE,
                key_list(chunk)
            );
            let found: Vec<WindowStateRow> =
                self.servers.run(|c| c.query(&sql).fetch_all()).await?;
            rows.extend(found);
        }
        Ok(rows)
    }

    /// The newest freshness row of every source and worker, so silence is
    /// judged across restarts.
    pub async fn watermarks(&self) -> Result<Vec<WatermarkRow>> {
        self.servers
            .run(|c| {
                c.query(&format!(
                    "SELECT ?fields FROM {}
                     ORDER BY committee, source_agency, source_system, schema, worker,
                       written_at_ms DESC
                     LIMIT 1 BY committee, source_agency, source_system, schema, worker",
                    WatermarkRow::TABLE
                ))
                .fetch_all()
            })
            .await
    }
}
