//! Alerts and what operators did about them.
//!
//! The pipeline owns `alerts`; the dashboard only appends to
//! `alert_actions`, so an acknowledgement can never be lost to the
//! pipeline rewriting an alert's row.

use clickhouse::Row;
use pmoc_schemas::api::{Alert, AlertAction, place};
use serde::{Deserialize, Serialize};

use crate::{ServerError, read::Reader};

#[derive(Debug, Row, Deserialize)]
struct AlertRow {
    alert_id: String,
    rule: String,
    severity: String,
    committee: String,
    metric: String,
    area_level: String,
    area_code: String,
    state: String,
    opened_at_ms: i64,
    updated_at_ms: i64,
    resolved_at_ms: i64,
    value: f64,
    threshold: f64,
    evidence: String,
}

/// A row of `alert_actions`.
#[derive(Debug, Clone, Row, Serialize, Deserialize)]
pub struct ActionRow {
    pub alert_id: String,
    pub action: String,
    pub comment: String,
    pub actor: String,
    pub at_ms: i64,
}

/// The committee and place of an alert, and how many actions it has.
#[derive(Debug, Row, Deserialize)]
pub struct AlertTarget {
    pub committee: String,
    pub area_level: String,
    pub area_code: String,
    pub actions: u64,
}

/// Critical first, then warning, then info; newest first within each.
fn severity_rank(severity: &str) -> u8 {
    match severity {
        "critical" => 0,
        "warning" => 1,
        "info" => 2,
        _ => 3,
    }
}

impl Reader {
    /// Alerts with their action history; only unresolved ones when `open_only`.
    pub async fn alerts(&self, open_only: bool) -> Result<Vec<Alert>, ServerError> {
        let db = &self.database;
        let filter = if open_only {
            "WHERE state != 'resolved'"
        } else {
            ""
        };
        let rows: Vec<AlertRow> = self
            .client
            .query(&format!(
                "SELECT alert_id, rule, severity, committee, metric, area_level, area_code,
                    state, opened_at_ms, updated_at_ms, resolved_at_ms, value, threshold, evidence
                 FROM {db}.alerts FINAL {filter} ORDER BY opened_at_ms DESC LIMIT 500"
            ))
            .fetch_all()
            .await?;
        let actions: Vec<ActionRow> = self
            .client
            .query(&format!(
                "SELECT alert_id, action, comment, actor, at_ms FROM {db}.alert_actions
                 WHERE alert_id IN (SELECT alert_id FROM {db}.alerts FINAL {filter})
                 ORDER BY alert_id, at_ms"
            ))
            .fetch_all()
            .await?;
        let mut alerts: Vec<Alert> = rows
            .into_iter()
            .map(|r| {
                let names = place(&r.area_level, &r.area_code);
                Alert {
                    actions: actions
                        .iter()
                        .filter(|a| a.alert_id == r.alert_id)
                        .map(|a| AlertAction {
                            alert_id: a.alert_id.clone(),
                            action: a.action.clone(),
                            comment: a.comment.clone(),
                            actor: a.actor.clone(),
                            at_ms: a.at_ms,
                        })
                        .collect(),
                    area_th: names
                        .as_ref()
                        .map(|p| p.name_th.clone())
                        .unwrap_or_default(),
                    area_en: names.map(|p| p.name_en).unwrap_or_default(),
                    alert_id: r.alert_id,
                    rule: r.rule,
                    severity: r.severity,
                    committee: r.committee,
                    metric: r.metric,
                    area_level: r.area_level,
                    area_code: r.area_code,
                    state: r.state,
                    opened_at_ms: r.opened_at_ms,
                    updated_at_ms: r.updated_at_ms,
                    resolved_at_ms: r.resolved_at_ms,
                    value: r.value,
                    threshold: r.threshold,
                    evidence: r.evidence,
                }
            })
            .collect();
        alerts.sort_by(|a, b| {
            (severity_rank(&a.severity), -a.opened_at_ms)
                .cmp(&(severity_rank(&b.severity), -b.opened_at_ms))
        });
        Ok(alerts)
    }

    /// What the scope checks need of one alert, `None` if there is none.
    pub async fn alert_target(&self, alert_id: &str) -> Result<Option<AlertTarget>, ServerError> {
        let db = &self.database;
        let found: Vec<AlertTarget> = self
            .client
            .query(&format!(
                "SELECT committee, area_level, area_code,
                    (SELECT count() FROM {db}.alert_actions WHERE alert_id = ?) AS actions
                 FROM {db}.alerts FINAL WHERE alert_id = ? LIMIT 1"
            ))
            .bind(alert_id)
            .bind(alert_id)
            .fetch_all()
            .await?;
        Ok(found.into_iter().next())
    }

    /// Appends one action; the history is never rewritten.
    pub async fn record_action(&self, row: &ActionRow) -> Result<(), ServerError> {
        let mut insert = self.db_client.insert::<ActionRow>("alert_actions").await?;
        insert.write(row).await?;
        insert.end().await?;
        metrics::counter!("pmoc_dashboard_alert_actions_total", "action" => row.action.clone())
            .increment(1);
        tracing::info!(alert_id = %row.alert_id, action = %row.action, actor = %row.actor, "alert action recorded");
        Ok(())
    }
}
