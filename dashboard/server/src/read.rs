//! The dashboard's read model: the storage crate's named reads, assembled
//! into the snapshots the browser is sent.

use pmoc_schemas::api::{Alert, SourceFreshness};
use pmoc_schemas::{
    api::{ProvinceLatest, WaterSnapshot},
    area::province,
    config::Settings,
    metric::{self, MetricId},
    privacy::{PrivacySettings, Protected},
};
use pmoc_store::{Store, WindowRow};

use crate::ServerError;

/// One pooled ClickHouse client for all requests (never one per request),
/// and the settings the snapshots are shaped by.
#[derive(Clone)]
pub struct Reader {
    pub(crate) store: Store,
    window_seconds: u32,
    pub(crate) dashboard: pmoc_schemas::config::DashboardSettings,
    pub(crate) topics: pmoc_schemas::config::CommitteeTopics,
    /// The known sources, whose cadences the freshness lights judge by.
    pub(crate) sources: std::sync::Arc<pmoc_schemas::source::Sources>,
    /// How people counts are published: every figure read here goes
    /// through it (`series::point`, `Store::alerts`).
    pub(crate) privacy: PrivacySettings,
}

impl Reader {
    pub fn new(settings: &Settings) -> Self {
        Self {
            store: Store::new(&settings.clickhouse),
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
            sources: std::sync::Arc::new(settings.sources.clone()),
            privacy: settings.privacy,
        }
    }

    /// The newest closed window of every province with water-level data,
    /// with the least freeboard of the same province.
    pub async fn water_snapshot(&self, now_ms: i64) -> Result<WaterSnapshot, ServerError> {
        let (level, freeboard) = (MetricId::WaterLevel, MetricId::WaterFreeboard);
        let rows = self
            .store
            .newest_province_windows(&[level, freeboard], level, self.window_seconds)
            .await?;
        let (levels, freeboards): (Vec<WindowRow>, Vec<WindowRow>) =
            rows.into_iter().partition(|r| r.metric == level.name());
        let freeboard: std::collections::HashMap<String, f64> = freeboards
            .into_iter()
            .map(|r| (r.area_code, r.min))
            .collect();
        let newest = levels.iter().map(WindowRow::window_end_ms).max();
        let provinces = levels
            .into_iter()
            .map(|r| {
                let (name_th, name_en) = province(&r.area_code)
                    .map(|p| (p.name_th.clone(), p.name_en.clone()))
                    .unwrap_or_default();
                ProvinceLatest {
                    min_freeboard_m: freeboard.get(&r.area_code).copied(),
                    mean: r.mean().unwrap_or(0.0),
                    window_start_ms: r.window_start_ms(),
                    window_end_ms: r.window_end_ms(),
                    province_code: r.area_code,
                    name_th,
                    name_en,
                    count: r.count,
                    min: r.min,
                    max: r.max,
                    last: r.last,
                    computed_at_ms: r.computed_at_ms,
                }
            })
            .collect();
        Ok(WaterSnapshot {
            metric: level.name().to_owned(),
            source: level.def().source.to_owned(),
            window_seconds: self.window_seconds,
            provinces,
            newest_closed_window_end_ms: newest,
            generated_at_ms: now_ms,
        })
    }

    /// Alerts (open ones only when `open_only`), protected (`privacy`).
    pub async fn alerts(&self, open_only: bool) -> Result<Vec<Alert>, ServerError> {
        Ok(self.store.alerts(open_only, &self.privacy).await?)
    }

    /// A source's running total of events is a count of incidents when
    /// its schema carries a people metric counted by events: between two
    /// pushes its difference would be the nation's newest incidents, exact.
    /// Rounded like every people count (never suppressed: a total that
    /// small says only that the feed has barely started).
    pub(crate) fn protect_freshness(&self, freshness: &mut [SourceFreshness]) {
        for f in freshness {
            let counts_people = metric::METRICS.iter().any(|d| {
                d.id.schema().name == f.schema
                    && pmoc_schemas::privacy::is_people(d.name)
                    && d.headline == metric::Headline::Count
            });
            if counts_people {
                f.events_total = match self.privacy.protect(f.events_total as f64) {
                    Protected::Rounded(v) => v as u64,
                    Protected::Suppressed { .. } => 0,
                };
            }
        }
    }
}
