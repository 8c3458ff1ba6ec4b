//! The wall screen's read: every committee's nation-level headlines and
//! sparklines, the map layers, open alerts, source freshness and rejects.
//!
//! Read unrestricted once per refresh by the live poller; each connection
//! then gets what its role may see (`role::Role::restrict`).

use std::collections::BTreeMap;

use clickhouse::Row;
use pmoc_schemas::{
    api::{
        CommitteePanel, Light, MapLayer, RejectCount, SourceFreshness, WallSettings, WallSnapshot,
    },
    committee::Committee,
    metric::{self, MetricId},
};
use serde::Deserialize;

use crate::{
    ServerError,
    read::Reader,
    series::{self, COLUMNS, WindowRow},
};

#[derive(Debug, Row, Deserialize)]
struct WatermarkRow {
    committee: String,
    source_agency: String,
    source_system: String,
    schema: String,
    up_to: i64,
    last_event: i64,
    last_seen: i64,
    cadence: u32,
    events: u64,
}

#[derive(Debug, Row, Deserialize)]
struct RejectRow {
    source_topic: String,
    reason_kind: String,
    n: u64,
}

impl Reader {
    pub async fn wall_snapshot(&self, now_ms: i64) -> Result<WallSnapshot, ServerError> {
        let db = &self.database;
        let d = &self.dashboard;
        let width = i64::from(d.wall_window_seconds.max(60));
        let now_s = now_ms / 1000;
        let from_s = now_s - width * i64::from(d.sparkline_windows.max(1) + 1);

        let nation: Vec<WindowRow> = self
            .client
            .query(&format!(
                "SELECT {COLUMNS} FROM {db}.window_aggregates FINAL
                 WHERE area_level = 'nation' AND window_seconds = ? AND toUInt32(window_start) >= ?
                 ORDER BY metric, window_start"
            ))
            .bind(d.wall_window_seconds)
            .bind(from_s)
            .fetch_all()
            .await?;

        // Catalogue names only, so they can be written into the SQL as is.
        let map_metrics: Vec<&'static str> = d
            .map_metrics
            .iter()
            .filter_map(|m| MetricId::from_name(m).map(MetricId::name))
            .collect();
        let quoted = map_metrics
            .iter()
            .map(|m| format!("'{m}'"))
            .collect::<Vec<_>>()
            .join(",");
        let provinces: Vec<WindowRow> = if quoted.is_empty() {
            Vec::new()
        } else {
            self.client
                .query(&format!(
                    "SELECT {COLUMNS} FROM {db}.window_aggregates FINAL
                     WHERE area_level = 'province' AND metric IN ({quoted})
                       AND window_seconds = ? AND toUInt32(window_start) >= ?
                     ORDER BY metric, area_code, window_start"
                ))
                .bind(d.wall_window_seconds)
                .bind(now_s - 2 * width)
                .fetch_all()
                .await?
        };

        let freshness = self.freshness(now_ms).await?;
        let rejects: Vec<RejectRow> = self
            .client
            .query(&format!(
                "SELECT source_topic, reason_kind, count() AS n FROM {db}.rejected_events FINAL
                 WHERE received_at_ms >= ? GROUP BY source_topic, reason_kind
                 ORDER BY source_topic, reason_kind"
            ))
            .bind(now_ms - 86_400_000)
            .fetch_all()
            .await?;
        let alerts = self.alerts(true).await?;

        let keep = d.sparkline_windows.max(1) as usize;
        let late = self
            .late_counts(d.wall_window_seconds, from_s * 1000)
            .await?;
        let panels = Committee::ALL
            .into_iter()
            .map(|c| {
                let names: Vec<&str> = metric::of_committee(c).map(|m| m.name).collect();
                let sources: Vec<&SourceFreshness> = freshness
                    .iter()
                    .filter(|f| f.committee == c.as_str())
                    .collect();
                let mut series = series::by_metric(&nation, &names, keep);
                for s in &mut series {
                    for p in &mut s.points {
                        p.late = late
                            .get(&(s.metric.clone(), p.window_start_ms))
                            .copied()
                            .unwrap_or_default();
                    }
                }
                CommitteePanel {
                    committee: c.as_str().to_owned(),
                    window_seconds: d.wall_window_seconds,
                    series,
                    complete_up_to_ms: sources.iter().map(|s| s.final_up_to_ms).min(),
                    light: sources
                        .iter()
                        .map(|s| s.light)
                        .max()
                        .unwrap_or(Light::Unknown),
                }
            })
            .collect();

        let maps = map_metrics
            .iter()
            .map(|m| {
                // Rows are ordered by window, so the last one per province wins.
                let newest: BTreeMap<&str, &WindowRow> = provinces
                    .iter()
                    .filter(|r| r.metric == *m)
                    .map(|r| (r.area_code.as_str(), r))
                    .collect();
                MapLayer {
                    metric: (*m).to_owned(),
                    provinces: newest
                        .into_iter()
                        .map(|(code, r)| (code.to_owned(), series::point(r)))
                        .collect(),
                }
            })
            .collect();

        let mut by_reason: BTreeMap<(String, String), u64> = BTreeMap::new();
        for r in rejects {
            let committee = self
                .topics
                .committee_of(&r.source_topic)
                .map(|c| c.as_str().to_owned())
                .unwrap_or_default();
            *by_reason.entry((committee, r.reason_kind)).or_default() += r.n;
        }

        Ok(WallSnapshot {
            generated_at_ms: now_ms,
            panels,
            maps,
            alerts: alerts.into_iter().filter(|a| a.is_open()).collect(),
            freshness,
            rejects: by_reason
                .into_iter()
                .map(|((committee, reason_kind), count)| RejectCount {
                    committee,
                    reason_kind,
                    count,
                })
                .collect(),
            settings: WallSettings {
                rotation: d.rotation.clone(),
                rotation_seconds: d.rotation_seconds,
                alert_hold_seconds: d.alert_hold_seconds,
            },
        })
    }

    /// Late values per (metric, window start) in windows of `width_s` from
    /// `from_ms`, nationally: the corrections each figure does not include.
    /// Windows are aligned to Thai time, as the pipeline aligns them.
    async fn late_counts(
        &self,
        width_s: u32,
        from_ms: i64,
    ) -> Result<BTreeMap<(String, i64), u64>, ServerError> {
        #[derive(Debug, Row, Deserialize)]
        struct LateCount {
            metric: String,
            start_ms: i64,
            n: u64,
        }
        let db = &self.database;
        let w = i64::from(width_s.max(1)) * 1000;
        let tz = i64::from(pmoc_schemas::calendar::THAI_OFFSET.whole_seconds()) * 1000;
        let rows: Vec<LateCount> = self
            .client
            .query(&format!(
                "SELECT metric, intDiv(event_time_ms + {tz}, {w}) * {w} - {tz} AS start_ms,
                        count() AS n
                 FROM {db}.late_events FINAL
                 WHERE event_time_ms >= ?
                 GROUP BY metric, start_ms"
            ))
            .bind(from_ms)
            .fetch_all()
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| ((r.metric, r.start_ms), r.n))
            .collect())
    }

    /// Every source, greatest over the pipeline's workers.
    pub async fn freshness(&self, now_ms: i64) -> Result<Vec<SourceFreshness>, ServerError> {
        let db = &self.database;
        let rows: Vec<WatermarkRow> = self
            .client
            .query(&format!(
                "SELECT committee, source_agency, source_system, schema,
                    max(final_up_to_ms) AS up_to, max(last_event_ms) AS last_event,
                    max(last_seen_ms) AS last_seen, max(expected_cadence_s) AS cadence,
                    sum(events_total) AS events
                 FROM {db}.source_watermarks FINAL
                 GROUP BY committee, source_agency, source_system, schema
                 ORDER BY committee, source_agency, source_system, schema"
            ))
            .fetch_all()
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                // This server's settings judge freshness; what the pipeline
                // stored applies to a schema they do not name.
                let cadence = self.cadences.get(&r.schema).copied().unwrap_or(r.cadence);
                (r, cadence)
            })
            .map(|(r, cadence)| SourceFreshness {
                light: Light::of(now_ms, r.last_event, cadence),
                committee: r.committee,
                source_agency: r.source_agency,
                source_system: r.source_system,
                schema: r.schema,
                final_up_to_ms: r.up_to,
                last_event_ms: r.last_event,
                last_seen_ms: r.last_seen,
                expected_cadence_s: cadence,
                events_total: r.events,
            })
            .collect())
    }
}

/// Whether two snapshots differ in anything but their read time: the
/// poller pushes only real changes.
pub fn changed(old: &WallSnapshot, new: &WallSnapshot) -> bool {
    let mut a = old.clone();
    a.generated_at_ms = new.generated_at_ms;
    a != *new
}
