//! One row type per table, with its conversions to and from the domain
//! types of `pmoc-schemas`.
//!
//! A row is exactly the table's columns in DDL order (see
//! [`crate::migrations`]), so `SELECT ?fields` and inserts need no column
//! list of their own. Closed sets (severities, states, area levels) are
//! strings in ClickHouse and enums in the domain types: reading one back is a
//! `TryFrom` that names the column holding an unknown value.
//!
//! Rows whose writer keeps its own state types (late values, checkpoints,
//! source watermarks: the pipeline's) are plain rows that writer fills in.

use clickhouse::{Row, RowOwned, RowWrite};
use pmoc_schemas::{
    RejectKind,
    aggregate::{AreaLevel, WindowAggregate},
    alert::{AlertEvent, AlertState, Severity},
    api::AlertAction,
    auth::AuditEntry,
    committee::Committee,
    dead_letter::RejectedMessage,
    metric::MetricId,
};
use serde::{Deserialize, Serialize};

use crate::StoreError;

/// A row type and the table it is a row of.
pub trait Table: Row + RowOwned + RowWrite {
    const TABLE: &'static str;
}

macro_rules! tables {
    ($($row:ty => $name:literal,)*) => {
        $(impl Table for $row {
            const TABLE: &'static str = $name;
        })*
    };
}

tables! {
    WindowRow => "window_aggregates",
    WindowWriteRow => "window_aggregates",
    WindowStateRow => "window_aggregates",
    AlertRow => "alerts",
    ActionRow => "alert_actions",
    LateRow => "late_events",
    RejectedRow => "rejected_events",
    CheckpointRow => "pipeline_checkpoints",
    WatermarkRow => "source_watermarks",
    AuditRow => "audit_log",
    crate::migrations::MigrationRow => "schema_migrations",
}

/// The error for a stored string outside its closed set.
pub(crate) fn invalid(table: &'static str, column: &'static str, value: &str) -> StoreError {
    StoreError::InvalidValue {
        table,
        column,
        value: value.to_owned(),
    }
}

/// Defines [`WindowRow`], the columns every reader of `window_aggregates`
/// gets, and [`WindowWriteRow`], the same with the window's state, which
/// only the pipeline writes and reads back: a week of nation windows'
/// states (every station's latest report) would otherwise travel with
/// every read of the dashboard. One list of columns for both.
/// A row's [`crate::WindowKey`] from its key columns.
macro_rules! window_key {
    ($row:expr) => {
        (
            $row.metric.clone(),
            $row.area_level.clone(),
            $row.area_code.clone(),
            $row.window_seconds,
            $row.window_start,
        )
    };
}

macro_rules! window_rows {
    ($($(#[$doc:meta])* $field:ident: $ty:ty,)*) => {
        /// A row of `window_aggregates`, as read (see [`WindowWriteRow`]).
        #[derive(Debug, Clone, PartialEq, Row, Serialize, Deserialize)]
        pub struct WindowRow {
            $($(#[$doc])* pub $field: $ty,)*
        }

        /// A row of `window_aggregates` as the pipeline writes it: a
        /// [`WindowRow`] and, last, the window's state.
        #[derive(Debug, Clone, PartialEq, Row, Serialize, Deserialize)]
        pub struct WindowWriteRow {
            $(pub $field: $ty,)*
            /// The pipeline's state of a final window (migration 12), read
            /// back to fold in a value that arrives after the window
            /// closed; empty in running rows and in rows written before.
            pub revision_state: String,
        }

        impl WindowWriteRow {
            pub fn new(row: WindowRow, revision_state: String) -> Self {
                Self {
                    $($field: row.$field,)*
                    revision_state,
                }
            }

            /// The window this row is a version of.
            pub fn key(&self) -> crate::WindowKey {
                window_key!(self)
            }
        }
    };
}

window_rows! {
    metric: String,
    committee: String,
    source: String,
    area_level: String,
    area_code: String,
    window_seconds: u32,
    /// Unix seconds (`DateTime`).
    window_start: u32,
    window_end: u32,
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
    last: f64,
    last_event_time_ms: i64,
    /// NaN for metrics without a distribution.
    p50: f64,
    p95: f64,
    is_final: u8,
    computed_at_ms: i64,
    version: u64,
    /// What the mean is weighted by (migration 11): total capacity for
    /// shares, the count otherwise; 0 in rows written before it.
    weight: f64,
    /// Late values folded in after the window was final (migration 12):
    /// the figure is marked revised when not 0.
    revised_count: u32,
}

/// What the pipeline reads back of a final window to revise it: its key
/// and state (see [`WindowWriteRow`]).
#[derive(Debug, Clone, PartialEq, Row, Serialize, Deserialize)]
pub struct WindowStateRow {
    pub metric: String,
    pub area_level: String,
    pub area_code: String,
    pub window_seconds: u32,
    pub window_start: u32,
    pub revision_state: String,
}

impl WindowStateRow {
    /// The window this state is of.
    pub fn key(&self) -> crate::WindowKey {
        window_key!(self)
    }
}

impl WindowRow {
    /// The row of `a`, computed (wall clock) at `computed_at_ms`.
    pub fn new(a: &WindowAggregate, computed_at_ms: i64) -> Self {
        let def = a.metric.def();
        Self {
            metric: def.name.to_owned(),
            committee: def.committee.as_str().to_owned(),
            source: def.source.to_owned(),
            area_level: a.area_level.as_str().to_owned(),
            area_code: a.area_code.clone(),
            window_seconds: ((a.window_end_ms - a.window_start_ms) / 1000) as u32,
            window_start: (a.window_start_ms / 1000) as u32,
            window_end: (a.window_end_ms / 1000) as u32,
            count: a.count,
            sum: a.sum,
            min: a.min,
            max: a.max,
            last: a.last,
            last_event_time_ms: a.last_event_time_ms,
            p50: a.p50.unwrap_or(f64::NAN),
            p95: a.p95.unwrap_or(f64::NAN),
            is_final: u8::from(a.is_final),
            computed_at_ms,
            // A final row always replaces the running rows of its window.
            version: (computed_at_ms.max(0) as u64) * 2 + u64::from(a.is_final),
            weight: a.weight,
            revised_count: 0,
        }
    }

    /// The mean: weighted by capacity for shares; by the count in rows
    /// written before weights were stored; `None` when nothing has weight
    /// (never NaN).
    pub fn mean(&self) -> Option<f64> {
        let weight = if self.weight > 0.0 {
            self.weight
        } else {
            self.count as f64
        };
        (weight > 0.0).then(|| self.sum / weight)
    }

    pub fn window_start_ms(&self) -> i64 {
        i64::from(self.window_start) * 1000
    }

    pub fn window_end_ms(&self) -> i64 {
        i64::from(self.window_end) * 1000
    }
}

impl TryFrom<&WindowRow> for WindowAggregate {
    type Error = StoreError;

    fn try_from(r: &WindowRow) -> Result<Self, StoreError> {
        let table = WindowRow::TABLE;
        let quantile = |q: f64| (!q.is_nan()).then_some(q);
        Ok(Self {
            metric: MetricId::from_name(&r.metric)
                .ok_or_else(|| invalid(table, "metric", &r.metric))?,
            area_level: AreaLevel::from_name(&r.area_level)
                .ok_or_else(|| invalid(table, "area_level", &r.area_level))?,
            area_code: r.area_code.clone(),
            window_start_ms: r.window_start_ms(),
            window_end_ms: r.window_end_ms(),
            count: r.count,
            sum: r.sum,
            weight: r.weight,
            min: r.min,
            max: r.max,
            last: r.last,
            last_event_time_ms: r.last_event_time_ms,
            p50: quantile(r.p50),
            p95: quantile(r.p95),
            is_final: r.is_final == 1,
        })
    }
}

/// A row of `alerts`: the newest transition of each alert.
#[derive(Debug, Clone, PartialEq, Row, Serialize, Deserialize)]
pub struct AlertRow {
    pub alert_id: String,
    pub rule: String,
    pub severity: String,
    pub committee: String,
    pub metric: String,
    pub area_level: String,
    pub area_code: String,
    pub state: String,
    pub opened_at_ms: i64,
    pub updated_at_ms: i64,
    pub resolved_at_ms: i64,
    pub value: f64,
    pub threshold: f64,
    pub evidence: String,
    pub version: u64,
}

impl From<&AlertEvent> for AlertRow {
    fn from(a: &AlertEvent) -> Self {
        let order = match a.state {
            AlertState::Open => 0,
            AlertState::Updated => 1,
            AlertState::Resolved | AlertState::Withdrawn => 2,
        };
        Self {
            alert_id: a.alert_id.clone(),
            rule: a.rule.clone(),
            severity: a.severity.as_str().to_owned(),
            committee: a.committee.as_str().to_owned(),
            metric: a.metric.clone(),
            area_level: a.area_level.clone(),
            area_code: a.area_code.clone(),
            state: a.state.as_str().to_owned(),
            opened_at_ms: a.opened_at_ms,
            updated_at_ms: a.updated_at_ms,
            resolved_at_ms: a.resolved_at_ms,
            value: a.value,
            threshold: a.threshold,
            evidence: a.evidence.clone(),
            version: alert_version(a.revision, a.updated_at_ms, order),
        }
    }
}

impl TryFrom<AlertRow> for AlertEvent {
    type Error = StoreError;

    fn try_from(r: AlertRow) -> Result<Self, StoreError> {
        let table = AlertRow::TABLE;
        Ok(Self {
            severity: Severity::from_name(&r.severity)
                .ok_or_else(|| invalid(table, "severity", &r.severity))?,
            state: AlertState::from_name(&r.state)
                .ok_or_else(|| invalid(table, "state", &r.state))?,
            committee: Committee::from_name(&r.committee)
                .ok_or_else(|| invalid(table, "committee", &r.committee))?,
            alert_id: r.alert_id,
            rule: r.rule,
            metric: r.metric,
            area_level: r.area_level,
            area_code: r.area_code,
            opened_at_ms: r.opened_at_ms,
            updated_at_ms: r.updated_at_ms,
            resolved_at_ms: r.resolved_at_ms,
            value: r.value,
            threshold: r.threshold,
            revision: (r.version >> REVISION_SHIFT) as u32,
            evidence: r.evidence,
        })
    }
}

/// Where an alert row's version keeps the alert's revision: above event
/// time in ms x 4 (2^42 ms is the year 2109).
const REVISION_SHIFT: u32 = 44;

/// An alert row's version: its revision, then its event time, then its
/// state's order. From event time, so a replayed transition rewrites its
/// own row; revision first, so a correction by late values replaces rows
/// of later event time that it contradicts.
fn alert_version(revision: u32, updated_at_ms: i64, order: u64) -> u64 {
    let time = (updated_at_ms.max(0) as u64) * 4 + order;
    (u64::from(revision.min(0xF_FFFF)) << REVISION_SHIFT) | (time & ((1 << REVISION_SHIFT) - 1))
}

/// A row of `alert_actions`: append-only, the history of an alert.
#[derive(Debug, Clone, PartialEq, Row, Serialize, Deserialize)]
pub struct ActionRow {
    pub alert_id: String,
    pub action: String,
    pub comment: String,
    pub actor: String,
    pub at_ms: i64,
}

impl From<&AlertAction> for ActionRow {
    fn from(a: &AlertAction) -> Self {
        Self {
            alert_id: a.alert_id.clone(),
            action: a.action.clone(),
            comment: a.comment.clone(),
            actor: a.actor.clone(),
            at_ms: a.at_ms,
        }
    }
}

impl From<ActionRow> for AlertAction {
    fn from(r: ActionRow) -> Self {
        Self {
            alert_id: r.alert_id,
            action: r.action,
            comment: r.comment,
            actor: r.actor,
            at_ms: r.at_ms,
        }
    }
}

/// A row of `late_events`: a value that arrived after its window was final,
/// kept as a correction.
#[derive(Debug, Clone, PartialEq, Row, Serialize, Deserialize)]
pub struct LateRow {
    pub metric: String,
    pub event_id: String,
    pub area_code: String,
    pub event_time_ms: i64,
    pub watermark_ms: i64,
    pub value: f64,
    pub received_at_ms: i64,
}

/// A row of `rejected_events`.
#[derive(Debug, Clone, PartialEq, Row, Serialize, Deserialize)]
pub struct RejectedRow {
    pub source_topic: String,
    pub partition: i32,
    pub offset: i64,
    pub reason_kind: String,
    pub reason: String,
    pub payload: String,
    pub payload_bytes: u32,
    pub received_at_ms: i64,
}

/// At most this much of a rejected payload is stored for reading; the exact
/// bytes are in the dead-letter topic.
pub const REJECTED_PAYLOAD_BYTES: usize = 4096;

impl From<&RejectedMessage> for RejectedRow {
    fn from(r: &RejectedMessage) -> Self {
        let readable = &r.payload[..r.payload.len().min(REJECTED_PAYLOAD_BYTES)];
        Self {
            source_topic: r.topic.clone(),
            partition: r.partition,
            offset: r.offset,
            reason_kind: r.kind.as_str().to_owned(),
            reason: r.reason.clone(),
            payload: String::from_utf8_lossy(readable).into_owned(),
            payload_bytes: r.payload.len() as u32,
            received_at_ms: r.received_at_ms,
        }
    }
}

impl TryFrom<RejectedRow> for RejectedMessage {
    type Error = StoreError;

    /// The message as far as it is stored: its payload is the readable
    /// prefix, whole only when `payload_bytes` says so.
    fn try_from(r: RejectedRow) -> Result<Self, StoreError> {
        let kind = RejectKind::from_name(&r.reason_kind)
            .ok_or_else(|| invalid(RejectedRow::TABLE, "reason_kind", &r.reason_kind))?;
        Ok(Self {
            kind,
            topic: r.source_topic,
            partition: r.partition,
            offset: r.offset,
            payload: r.payload.into_bytes(),
            reason: r.reason,
            received_at_ms: r.received_at_ms,
        })
    }
}

/// A row of `pipeline_checkpoints`: where a partition resumes.
#[derive(Debug, Clone, PartialEq, Row, Serialize, Deserialize)]
pub struct CheckpointRow {
    pub group_id: String,
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub max_seen_ms: Option<i64>,
    pub stored_below_ms: Option<i64>,
    pub written_at_ms: i64,
}

/// A row of `source_watermarks`: one source's completeness and liveness as
/// one pipeline worker sees it.
#[derive(Debug, Clone, PartialEq, Row, Serialize, Deserialize)]
pub struct WatermarkRow {
    pub committee: String,
    pub source_agency: String,
    pub source_system: String,
    pub schema: String,
    pub worker: u32,
    pub final_up_to_ms: i64,
    pub last_event_ms: i64,
    pub last_seen_ms: i64,
    pub expected_cadence_s: u32,
    pub events_total: u64,
    pub written_at_ms: i64,
}

/// A row of `audit_log`: one dashboard request and what was decided.
#[derive(Debug, Clone, PartialEq, Row, Serialize, Deserialize)]
pub struct AuditRow {
    pub at_ms: i64,
    pub user: String,
    pub role: String,
    pub method: String,
    pub route: String,
    pub params: String,
    pub decision: String,
    pub reason: String,
    pub status: u16,
    pub peer: String,
}

impl From<AuditEntry> for AuditRow {
    fn from(e: AuditEntry) -> Self {
        Self {
            at_ms: e.at_ms,
            user: e.user,
            role: e.role,
            method: e.method,
            route: e.route,
            params: e.params,
            decision: e.decision,
            reason: e.reason,
            status: e.status,
            peer: e.peer,
        }
    }
}

impl From<AuditRow> for AuditEntry {
    fn from(r: AuditRow) -> Self {
        Self {
            at_ms: r.at_ms,
            user: r.user,
            role: r.role,
            method: r.method,
            route: r.route,
            params: r.params,
            decision: r.decision,
            reason: r.reason,
            status: r.status,
            peer: r.peer,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aggregate(p50: Option<f64>, is_final: bool) -> WindowAggregate {
        WindowAggregate {
            metric: MetricId::ServiceWaitMinutes,
            area_level: AreaLevel::District,
            area_code: "5001".to_owned(),
            window_start_ms: 1_790_000_040_000,
            window_end_ms: 1_790_000_100_000,
            count: 7,
            sum: 91.5,
            weight: 7.0,
            min: 2.0,
            max: 31.25,
            last: 12.0,
            last_event_time_ms: 1_790_000_099_123,
            p50,
            p95: p50.map(|p| p * 2.0),
            is_final,
        }
    }

    #[test]
    fn a_window_survives_the_round_trip_and_the_final_row_wins() {
        for a in [aggregate(Some(11.0), true), aggregate(None, false)] {
            let row = WindowRow::new(&a, 1_790_000_101_000);
            assert_eq!(WindowAggregate::try_from(&row).ok(), Some(a.clone()));
            assert_eq!(row.window_seconds, 60);
            assert_eq!(
                (row.committee.as_str(), row.source.as_str()),
                ("population", "DOPA")
            );
        }
        let running = WindowRow::new(&aggregate(None, false), 1_000);
        let last = WindowRow::new(&aggregate(None, true), 1_000);
        assert!(last.version > running.version, "same instant: final wins");
        assert!(p_is_nan(&running), "no distribution: NaN in ClickHouse");

        let mut bad = last;
        bad.area_level = "county".to_owned();
        assert!(matches!(
            WindowAggregate::try_from(&bad),
            Err(StoreError::InvalidValue {
                column: "area_level",
                ..
            })
        ));
    }

    fn p_is_nan(row: &WindowRow) -> bool {
        row.p50.is_nan() && row.p95.is_nan()
    }

    fn alert(state: AlertState, updated_at_ms: i64) -> AlertEvent {
        AlertEvent {
            alert_id: "water_over_bank:province:50:60000".to_owned(),
            rule: "water_over_bank".to_owned(),
            severity: Severity::Critical,
            committee: Committee::Water,
            metric: "water_freeboard_m".to_owned(),
            area_level: "province".to_owned(),
            area_code: "50".to_owned(),
            state,
            opened_at_ms: 60_000,
            updated_at_ms,
            resolved_at_ms: if state == AlertState::Resolved {
                updated_at_ms
            } else {
                0
            },
            value: -0.3,
            threshold: 0.0,
            evidence: "water_freeboard_m -0.30 vs 0.00".to_owned(),
            revision: 0,
        }
    }

    #[test]
    fn an_alert_survives_the_round_trip_and_later_transitions_win() {
        let opened = alert(AlertState::Open, 120_000);
        let row = AlertRow::from(&opened);
        assert_eq!(
            (row.severity.as_str(), row.state.as_str()),
            ("critical", "open")
        );
        assert_eq!(AlertEvent::try_from(row.clone()).ok(), Some(opened));
        // Resolved in the same window as an update: the resolution wins.
        let updated = AlertRow::from(&alert(AlertState::Updated, 180_000));
        let resolved = AlertRow::from(&alert(AlertState::Resolved, 180_000));
        assert!(row.version < updated.version && updated.version < resolved.version);
        // Judged again with late values: the correction, dated earlier,
        // replaces the later resolution, and its revision comes back.
        let corrected = AlertEvent {
            revision: 1,
            ..alert(AlertState::Withdrawn, 150_000)
        };
        let corrected_row = AlertRow::from(&corrected);
        assert!(corrected_row.version > resolved.version);
        assert_eq!(AlertEvent::try_from(corrected_row).ok(), Some(corrected));

        let mut bad = row;
        bad.severity = "apocalyptic".to_owned();
        let err = AlertEvent::try_from(bad).expect_err("unknown severity");
        assert!(err.to_string().contains("alerts.severity"), "{err}");
    }

    #[test]
    fn an_action_and_a_rejected_message_survive_the_round_trip() {
        let action = AlertAction {
            alert_id: "a".to_owned(),
            action: "acknowledge".to_owned(),
            comment: "crew sent".to_owned(),
            actor: "somchai".to_owned(),
            at_ms: 1_790_000_000_000,
        };
        assert_eq!(AlertAction::from(ActionRow::from(&action)), action);

        let rejected = RejectedMessage {
            topic: "pmoc.water.v1".to_owned(),
            partition: 3,
            offset: 42,
            payload: br#"{"schema":"hii.rainfall"}"#.to_vec(),
            kind: RejectKind::MissingField,
            reason: "payload is missing".to_owned(),
            received_at_ms: 1_790_000_000_000,
        };
        let row = RejectedRow::from(&rejected);
        assert_eq!(row.payload_bytes as usize, rejected.payload.len());
        assert_eq!(RejectedMessage::try_from(row).ok(), Some(rejected.clone()));

        // Only a readable prefix of a large payload is stored.
        let big = RejectedMessage {
            payload: vec![b'x'; 3 * REJECTED_PAYLOAD_BYTES],
            ..rejected
        };
        let row = RejectedRow::from(&big);
        assert_eq!(
            (row.payload.len(), row.payload_bytes as usize),
            (REJECTED_PAYLOAD_BYTES, big.payload.len())
        );

        let entry = AuditEntry {
            at_ms: 1_790_000_000_000,
            user: "somchai".to_owned(),
            role: "liaison_water".to_owned(),
            method: "GET".to_owned(),
            route: "/api/area/{level}/{code}".to_owned(),
            params: "level=province&code=10".to_owned(),
            decision: "deny".to_owned(),
            reason: "out_of_scope".to_owned(),
            status: 403,
            peer: "127.0.0.1".to_owned(),
        };
        assert_eq!(AuditEntry::from(AuditRow::from(entry.clone())), entry);
    }
}
