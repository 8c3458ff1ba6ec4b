//! The named reads the dashboard server makes; it keeps only what is not
//! SQL (assembling snapshots, roles, HTTP).
//!
//! A `ReplacingMergeTree` keeps every version of a row until a merge, so
//! every read collapses them, but without `FINAL`: on 18.16 `FINAL` merges
//! every part it touches in one thread, over all of a table's history that
//! the filter does not exclude by the primary key. Reads take the newest
//! version per key with `ORDER BY ..., version DESC LIMIT 1 BY key`, or
//! aggregate with `argMax`/`uniqExact` over the key, which read in parallel
//! and only the ranges the filter selects; each filter names the sorting
//! key's leading columns (`metric` first for `window_aggregates`) so the
//! primary index, not a scan, finds the rows. Where a query aggregates, its aliases differ from
//! column names: 18.16 resolves an alias that shadows a column inside other
//! aggregates and rejects the nesting. A scalar subquery's value is
//! `Nullable` on current releases (it may find no row) and not on 18.16:
//! where it is read as a column, `ifNull` gives both the same type.

use std::collections::BTreeMap;

use clickhouse::{Client, Row, query::Query};
use pmoc_schemas::{
    aggregate::AreaLevel,
    alert::{AlertEvent, AlertState},
    api::{Alert, AlertAction, Light, SourceFreshness},
    auth::AuditEntry,
    calendar::window_of,
    committee::Committee,
    metric::MetricId,
};
use serde::Deserialize;

use crate::{
    Result, Store,
    rows::{ActionRow, AlertRow, AuditRow, LateRow, RejectedRow, Table, WatermarkRow, WindowRow},
};

/// What the dashboard checks before an operator acts on an alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertTarget {
    pub committee: Committee,
    pub area_level: String,
    pub area_code: String,
    /// Actions recorded so far.
    pub actions: u64,
}

/// Which audit entries to read.
#[derive(Debug, Clone, Copy)]
pub struct AuditFilter<'a> {
    /// A decision (`deny`, `allow`, ...) or `all`.
    pub decision: &'a str,
    pub user: Option<&'a str>,
    pub reason: Option<&'a str>,
    pub route_prefix: Option<&'a str>,
    /// At most this many, newest first.
    pub limit: u32,
}

/// Rejected messages of one reason kind read from one topic.
#[derive(Debug, Clone, PartialEq, Eq, Row, Deserialize)]
pub struct RejectTally {
    pub source_topic: String,
    pub reason_kind: String,
    pub count: u64,
}

/// One source's figures, greatest over the pipeline's workers.
#[derive(Debug, Row, Deserialize)]
struct Freshness {
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

/// Catalogue names quoted for an `IN` list: only catalogue names, never
/// input, are written into SQL.
fn quoted(metrics: &[MetricId]) -> String {
    metrics
        .iter()
        .map(|m| format!("'{}'", m.name()))
        .collect::<Vec<_>>()
        .join(",")
}

/// Windows of one width starting at or after `from_s` (Unix seconds) that
/// match `filter`, each window's newest version only; the caller binds the
/// filter's parameters, then the width and `from_s`. `order` must start
/// with columns of the window's key so that equal keys sort together.
fn windows(client: &Client, filter: &str, order: &str) -> Query {
    client.query(&format!(
        "SELECT ?fields FROM {}
         WHERE {filter} AND window_seconds = ? AND toUInt32(window_start) >= ?
         ORDER BY {order}, version DESC
         LIMIT 1 BY metric, area_level, area_code, window_start",
        WindowRow::TABLE
    ))
}

/// The catalogue's metrics of one committee, or of all of them: the
/// `metric IN (...)` that lets `window_aggregates`' primary index
/// (`metric, area_level, area_code, window_seconds, window_start`) find a
/// place's rows instead of scanning every metric's.
fn metrics_of(committee: Option<Committee>) -> String {
    let ids: Vec<MetricId> = pmoc_schemas::metric::METRICS
        .iter()
        .filter(|m| committee.is_none_or(|c| m.committee == c))
        .map(|m| m.id)
        .collect();
    quoted(&ids)
}

/// The newest version of each alert, as a table expression.
pub(crate) fn latest_alerts() -> String {
    format!(
        "(SELECT * FROM {} ORDER BY alert_id, version DESC LIMIT 1 BY alert_id)",
        AlertRow::TABLE
    )
}

impl Store {
    /// Every metric's windows at one level (the nation, for the wall's
    /// headlines), oldest first per metric.
    pub async fn level_windows(
        &self,
        level: AreaLevel,
        width_s: u32,
        from_s: i64,
    ) -> Result<Vec<WindowRow>> {
        let filter = format!("metric IN ({}) AND area_level = ?", metrics_of(None));
        self.servers
            .run(|c| {
                windows(&c, &filter, "metric, window_start")
                    .bind(level.as_str())
                    .bind(width_s)
                    .bind(from_s)
                    .fetch_all()
            })
            .await
    }

    /// The windows of `metrics` in every area of one level (map layers),
    /// oldest first per metric and area.
    pub async fn metric_windows(
        &self,
        level: AreaLevel,
        metrics: &[MetricId],
        width_s: u32,
        from_s: i64,
    ) -> Result<Vec<WindowRow>> {
        if metrics.is_empty() {
            return Ok(Vec::new());
        }
        let filter = format!("area_level = ? AND metric IN ({})", quoted(metrics));
        self.servers
            .run(|c| {
                windows(&c, &filter, "metric, area_code, window_start")
                    .bind(level.as_str())
                    .bind(width_s)
                    .bind(from_s)
                    .fetch_all()
            })
            .await
    }

    /// One committee's windows at one place, oldest first per metric.
    pub async fn place_windows(
        &self,
        committee: Committee,
        (level, code): (&str, &str),
        width_s: u32,
        from_s: i64,
    ) -> Result<Vec<WindowRow>> {
        let filter = format!(
            "metric IN ({}) AND committee = ? AND area_level = ? AND area_code = ?",
            metrics_of(Some(committee))
        );
        self.servers
            .run(|c| {
                windows(&c, &filter, "metric, window_start")
                    .bind(committee.as_str())
                    .bind(level)
                    .bind(code)
                    .bind(width_s)
                    .bind(from_s)
                    .fetch_all()
            })
            .await
    }

    /// One committee's windows in every area of `level` whose code starts
    /// with `prefix` (a province's districts share its code), oldest first
    /// per metric and area.
    pub async fn child_windows(
        &self,
        committee: Committee,
        (level, prefix): (&str, &str),
        width_s: u32,
        from_s: i64,
    ) -> Result<Vec<WindowRow>> {
        // Codes are ASCII digits: `prefix~` sorts after every code that
        // starts with `prefix`, so the range lets the index skip the rest.
        let filter = format!(
            "metric IN ({}) AND committee = ? AND area_level = ?
             AND area_code >= ? AND area_code <= ? AND startsWith(area_code, ?)",
            metrics_of(Some(committee))
        );
        let upper = format!("{prefix}~");
        self.servers
            .run(|c| {
                windows(&c, &filter, "metric, area_code, window_start")
                    .bind(committee.as_str())
                    .bind(level)
                    .bind(prefix)
                    .bind(upper.as_str())
                    .bind(prefix)
                    .bind(width_s)
                    .bind(from_s)
                    .fetch_all()
            })
            .await
    }

    /// The newest final province window of each of `metrics` per province,
    /// among the windows of the day before `anchor`'s newest final one (so
    /// a province that stopped reporting long ago drops out), by province.
    pub async fn newest_province_windows(
        &self,
        metrics: &[MetricId],
        anchor: MetricId,
        width_s: u32,
    ) -> Result<Vec<WindowRow>> {
        if metrics.is_empty() {
            return Ok(Vec::new());
        }
        let table = WindowRow::TABLE;
        let final_province = "area_level = 'province' AND window_seconds = ? AND is_final = 1";
        self.servers
            .run(|c| {
                c.query(&format!(
                    "SELECT ?fields FROM {table}
                 WHERE metric IN ({}) AND {final_province}
                   AND window_start >= (
                     SELECT max(window_start) FROM {table}
                     WHERE metric = ? AND {final_province}
                   ) - 86400
                 ORDER BY area_code, metric, window_start DESC, version DESC
                 LIMIT 1 BY area_code, metric",
                    quoted(metrics)
                ))
                .bind(width_s)
                .bind(anchor.name())
                .bind(width_s)
                .fetch_all()
            })
            .await
    }

    /// Rejected messages received since `since_ms`, by topic and reason.
    pub async fn reject_tallies(&self, since_ms: i64) -> Result<Vec<RejectTally>> {
        self.servers
            .run(|c| {
                c.query(&format!(
                    "SELECT source_topic, reason_kind, uniqExact(partition, offset) AS n FROM {}
                 WHERE received_at_ms >= ? GROUP BY source_topic, reason_kind
                 ORDER BY source_topic, reason_kind",
                    RejectedRow::TABLE
                ))
                .bind(since_ms)
                .fetch_all()
            })
            .await
    }

    /// Late values per (metric, window start) in windows of `width_s` from
    /// `from_ms`, nationally: the corrections each figure does not include.
    ///
    /// Windows of one width follow each other without gaps, so each start
    /// from the window holding `from_ms` on is that window's start plus
    /// whole widths: the alignment itself comes from [`window_of`], and the
    /// SQL needs no time zone.
    pub async fn late_counts(
        &self,
        width_s: u32,
        from_ms: i64,
    ) -> Result<BTreeMap<(String, i64), u64>> {
        #[derive(Debug, Row, Deserialize)]
        struct LateCount {
            metric: String,
            start_ms: i64,
            n: u64,
        }
        let w = i64::from(width_s.max(1)) * 1000;
        let origin = window_of(from_ms, w).0;
        let rows: Vec<LateCount> = self
            .servers
            .run(|c| {
                c.query(&format!(
                    "SELECT metric, ? + intDiv(event_time_ms - ?, {w}) * {w} AS start_ms,
                        uniqExact(event_id) AS n
                 FROM {}
                 WHERE event_time_ms >= ?
                 GROUP BY metric, start_ms",
                    LateRow::TABLE
                ))
                .bind(origin)
                .bind(origin)
                .bind(from_ms)
                .fetch_all()
            })
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| ((r.metric, r.start_ms), r.n))
            .collect())
    }

    /// Every source's completeness and liveness, greatest over the
    /// pipeline's workers, with its light at `now_ms`: how old its newest
    /// event is against its expected cadence, from `sources` (the reader's
    /// registry, by agency and schema) or else as the pipeline stored it.
    pub async fn freshness(
        &self,
        now_ms: i64,
        sources: &pmoc_schemas::source::Sources,
    ) -> Result<Vec<SourceFreshness>> {
        let rows: Vec<Freshness> = self
            .servers
            .run(|c| {
                c.query(&format!(
                    "SELECT committee, source_agency, source_system, schema,
                    max(w_up_to) AS up_to, max(w_last_event) AS last_event,
                    max(w_last_seen) AS last_seen, max(w_cadence) AS cadence,
                    sum(w_events) AS events
                 FROM (
                   SELECT committee, source_agency, source_system, schema, worker,
                     argMax(final_up_to_ms, written_at_ms) AS w_up_to,
                     argMax(last_event_ms, written_at_ms) AS w_last_event,
                     argMax(last_seen_ms, written_at_ms) AS w_last_seen,
                     argMax(expected_cadence_s, written_at_ms) AS w_cadence,
                     argMax(events_total, written_at_ms) AS w_events
                   FROM {}
                   GROUP BY committee, source_agency, source_system, schema, worker
                 )
                 GROUP BY committee, source_agency, source_system, schema
                 ORDER BY committee, source_agency, source_system, schema",
                    WatermarkRow::TABLE
                ))
                .fetch_all()
            })
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let cadence = sources
                    .cadence_of(&r.source_agency, &r.schema)
                    .unwrap_or(r.cadence);
                SourceFreshness {
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
                }
            })
            .collect())
    }

    /// The 500 newest alerts (only unresolved ones when `open_only`) with
    /// their action history, their people figures protected (`privacy`): critical first, then warning, then info, newest
    /// first within each.
    pub async fn alerts(
        &self,
        open_only: bool,
        privacy: &pmoc_schemas::privacy::PrivacySettings,
    ) -> Result<Vec<Alert>> {
        let alerts = latest_alerts();
        let filter = if open_only {
            format!("WHERE {}", AlertState::OPEN_SQL)
        } else {
            String::new()
        };
        let mut out = self
            .alerts_with_history(
                &format!(
                    "SELECT ?fields FROM {alerts} {filter} ORDER BY opened_at_ms DESC LIMIT 500"
                ),
                &format!("SELECT alert_id FROM {alerts} {filter}"),
                privacy,
            )
            .await?;
        out.sort_by_key(|a| (std::cmp::Reverse(a.event.severity), -a.event.opened_at_ms));
        Ok(out)
    }

    /// The alerts `rows_sql` selects (`?fields` of [`AlertRow`]), each with
    /// its action history (the actions of the alerts `ids_sql` selects, a
    /// superset of them), their people figures protected (`privacy`), in
    /// the order of `rows_sql`.
    pub(crate) async fn alerts_with_history(
        &self,
        rows_sql: &str,
        ids_sql: &str,
        privacy: &pmoc_schemas::privacy::PrivacySettings,
    ) -> Result<Vec<Alert>> {
        let actions = ActionRow::TABLE;
        let rows: Vec<AlertRow> = self.servers.run(|c| c.query(rows_sql).fetch_all()).await?;
        let history: Vec<ActionRow> = self
            .servers
            .run(|c| {
                c.query(&format!(
                    "SELECT ?fields FROM {actions}
                     WHERE alert_id IN ({ids_sql})
                     ORDER BY alert_id, at_ms"
                ))
                .fetch_all()
            })
            .await?;
        let mut by_alert: BTreeMap<String, Vec<AlertAction>> = BTreeMap::new();
        for a in history {
            by_alert
                .entry(a.alert_id.clone())
                .or_default()
                .push(a.into());
        }
        rows.into_iter()
            .map(|r| {
                let event = AlertEvent::try_from(r)?;
                let actions = by_alert.remove(&event.alert_id).unwrap_or_default();
                Ok(Alert::new(event, actions, privacy))
            })
            .collect()
    }

    /// What the scope checks need of one alert, `None` if there is none.
    pub async fn alert_target(&self, alert_id: &str) -> Result<Option<AlertTarget>> {
        #[derive(Debug, Row, Deserialize)]
        struct Target {
            committee: String,
            area_level: String,
            area_code: String,
            actions: u64,
        }
        let found: Vec<Target> = self
            .servers
            .run(|c| {
                c.query(&format!(
                    "SELECT committee, area_level, area_code,
                    ifNull((SELECT count() FROM {} WHERE alert_id = ?), 0) AS actions
                 FROM {} WHERE alert_id = ? ORDER BY version DESC LIMIT 1",
                    ActionRow::TABLE,
                    AlertRow::TABLE
                ))
                .bind(alert_id)
                .bind(alert_id)
                .fetch_all()
            })
            .await?;
        found
            .into_iter()
            .next()
            .map(|t| {
                Ok(AlertTarget {
                    committee: Committee::from_name(&t.committee).ok_or_else(|| {
                        crate::rows::invalid(AlertRow::TABLE, "committee", &t.committee)
                    })?,
                    area_level: t.area_level,
                    area_code: t.area_code,
                    actions: t.actions,
                })
            })
            .transpose()
    }

    /// Audit entries matching `filter`, newest first.
    pub async fn audit(&self, filter: &AuditFilter<'_>) -> Result<Vec<AuditEntry>> {
        let mut sql = format!(
            "SELECT ?fields FROM {} WHERE (? = 'all' OR decision = ?)",
            AuditRow::TABLE
        );
        let mut binds: Vec<&str> = vec![filter.decision, filter.decision];
        for (column, value) in [("user", filter.user), ("reason", filter.reason)] {
            if let Some(v) = value.filter(|v| !v.is_empty()) {
                sql.push_str(&format!(" AND {column} = ?"));
                binds.push(v);
            }
        }
        if let Some(route) = filter.route_prefix.filter(|v| !v.is_empty()) {
            sql.push_str(" AND startsWith(route, ?)");
            binds.push(route);
        }
        sql.push_str(&format!(" ORDER BY at_ms DESC LIMIT {}", filter.limit));
        let rows: Vec<AuditRow> = self
            .servers
            .run(|c| {
                binds
                    .iter()
                    .fold(c.query(&sql), |query, b| query.bind(b))
                    .fetch_all()
            })
            .await?;
        Ok(rows.into_iter().map(AuditEntry::from).collect())
    }

    /// Appends one operator action; the history is never rewritten.
    pub async fn record_action(&self, action: &AlertAction) -> Result<()> {
        self.insert(&[ActionRow::from(action)]).await?;
        Ok(())
    }
}
