//! The dashboard's read model over ClickHouse.

use clickhouse::{Client, Row};
use pmoc_schemas::{
    aggregate::{METRIC_WATER_FREEBOARD, METRIC_WATER_LEVEL},
    api::{ProvinceLatest, WaterSnapshot},
    area::province,
    config::Settings,
    metric::MetricId,
};
use serde::Deserialize;

use crate::ServerError;

/// One pooled HTTP client for all requests (never one per request).
#[derive(Clone)]
pub struct Reader {
    pub(crate) store: pmoc_store::Store,
    pub(crate) client: Client,
    /// Scoped to the database, for inserts (the crate quotes `db.table` whole).
    pub(crate) db_client: Client,
    pub(crate) database: String,
    window_seconds: u32,
    pub(crate) dashboard: pmoc_schemas::config::DashboardSettings,
    pub(crate) topics: pmoc_schemas::config::CommitteeTopics,
}

#[derive(Debug, Row, Deserialize)]
struct LatestRow {
    metric: String,
    area_code: String,
    window_start: u32,
    window_end: u32,
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
    last: f64,
    computed_at_ms: i64,
}

impl Reader {
    pub fn new(settings: &Settings) -> Self {
        let ch = &settings.clickhouse;
        let store = pmoc_store::Store::new(ch);
        let client = store.client().clone();
        Self {
            db_client: client.clone(),
            client,
            store,
            database: ch.database.clone(),
            // The shortest window: the freshest final figures.
            window_seconds: settings
                .pipeline
                .windows_seconds
                .iter()
                .copied()
                .min()
                .unwrap_or(60),
            dashboard: settings.dashboard.clone(),
            topics: settings.kafka.topics.clone(),
        }
    }

    /// The newest closed window of every province with water-level data.
    ///
    /// `FINAL` collapses replayed rows; only the last day of windows is read.
    /// Aliases differ from column names: 18.16 resolves an alias that shadows
    /// a column inside other aggregates and rejects the nesting.
    pub async fn water_snapshot(&self, now_ms: i64) -> Result<WaterSnapshot, ServerError> {
        let db = &self.database;
        let sql = format!(
            "SELECT metric, area_code,
                toUInt32(max(window_start)) AS latest_start,
                toUInt32(argMax(window_end, window_start)) AS latest_end,
                argMax(count, window_start) AS latest_count,
                argMax(sum, window_start) AS latest_sum,
                argMax(min, window_start) AS latest_min,
                argMax(max, window_start) AS latest_max,
                argMax(last, window_start) AS latest_last,
                argMax(computed_at_ms, window_start) AS latest_computed_at_ms
            FROM {db}.window_aggregates FINAL
            WHERE metric IN (?, ?) AND area_level = 'province' AND window_seconds = ? AND is_final = 1
              AND window_start >= (
                SELECT max(window_start) FROM {db}.window_aggregates
                WHERE metric = ? AND area_level = 'province' AND window_seconds = ? AND is_final = 1
              ) - 86400
            GROUP BY metric, area_code
            ORDER BY area_code"
        );
        let rows = self
            .client
            .query(&sql)
            .bind(METRIC_WATER_LEVEL)
            .bind(METRIC_WATER_FREEBOARD)
            .bind(self.window_seconds)
            .bind(METRIC_WATER_LEVEL)
            .bind(self.window_seconds)
            .fetch_all::<LatestRow>()
            .await?;
        let (levels, freeboards): (Vec<LatestRow>, Vec<LatestRow>) = rows
            .into_iter()
            .partition(|r| r.metric == METRIC_WATER_LEVEL);
        let freeboard: std::collections::HashMap<String, f64> = freeboards
            .into_iter()
            .map(|r| (r.area_code, r.min))
            .collect();
        let newest = levels.iter().map(|r| i64::from(r.window_end) * 1000).max();
        let provinces = levels
            .into_iter()
            .map(|r| {
                let (name_th, name_en) = province(&r.area_code)
                    .map(|p| (p.name_th.clone(), p.name_en.clone()))
                    .unwrap_or_default();
                ProvinceLatest {
                    min_freeboard_m: freeboard.get(&r.area_code).copied(),
                    mean: if r.count == 0 {
                        0.0
                    } else {
                        r.sum / r.count as f64
                    },
                    province_code: r.area_code,
                    name_th,
                    name_en,
                    window_start_ms: i64::from(r.window_start) * 1000,
                    window_end_ms: i64::from(r.window_end) * 1000,
                    count: r.count,
                    min: r.min,
                    max: r.max,
                    last: r.last,
                    computed_at_ms: r.computed_at_ms,
                }
            })
            .collect();
        Ok(WaterSnapshot {
            metric: METRIC_WATER_LEVEL.to_owned(),
            source: MetricId::WaterLevel.def().source.to_owned(),
            window_seconds: self.window_seconds,
            provinces,
            newest_closed_window_end_ms: newest,
            generated_at_ms: now_ms,
        })
    }
}
