//! ClickHouse: connection, migrations, and the writer that turns sink batches
//! into inserts and acknowledges them only once ClickHouse has them.

use std::time::Duration;

use clickhouse::{Client, Row};
use pmoc_schemas::alert::{AlertEvent, AlertState, Severity};
pub use pmoc_store::{client, migrate};
use serde::Serialize;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::{
    dataflow::{Output, RejectedMessage, SinkAck, SinkBatch, WindowValue, WriterMessage},
    dead_letter::DeadLetter,
    partition::CommitPoint,
    source::now_ms,
    telemetry,
};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("clickhouse")]
    ClickHouse(#[from] clickhouse::error::Error),
    #[error("dead-letter topic")]
    DeadLetter(#[from] rdkafka::error::KafkaError),
}

/// A row of `window_aggregates` (see `pmoc_schemas::tables`).
#[derive(Debug, Clone, PartialEq, Row, Serialize, serde::Deserialize)]
pub struct WindowRow {
    pub metric: String,
    pub committee: String,
    pub source: String,
    pub area_level: String,
    pub area_code: String,
    pub window_seconds: u32,
    pub window_start: u32,
    pub window_end: u32,
    pub count: u64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
    pub last: f64,
    pub last_event_time_ms: i64,
    /// NaN for metrics without a distribution.
    pub p50: f64,
    pub p95: f64,
    pub is_final: u8,
    pub computed_at_ms: i64,
    pub version: u64,
}

impl WindowRow {
    pub fn new(w: &WindowValue, computed_at_ms: i64) -> Self {
        let a = w
            .acc
            .finish(w.metric, w.area, (w.start_ms, w.end_ms), w.is_final);
        let def = w.metric.def();
        Self {
            metric: a.metric,
            committee: def.committee.as_str().to_owned(),
            source: def.source.to_owned(),
            area_level: a.area_level.as_str().to_owned(),
            area_code: a.area_code,
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
        }
    }
}

/// A row of `alerts`.
#[derive(Debug, Clone, PartialEq, Row, Serialize, serde::Deserialize)]
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
            AlertState::Resolved => 2,
        };
        Self {
            alert_id: a.alert_id.clone(),
            rule: a.rule.clone(),
            severity: a.severity.as_str().to_owned(),
            committee: a.committee.clone(),
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
            // Event time, so a replayed transition rewrites its own row.
            version: (a.updated_at_ms.max(0) as u64) * 4 + order,
        }
    }
}

/// The alerts not resolved when the pipeline last stopped.
pub async fn load_open_alerts(client: &Client) -> Result<Vec<AlertEvent>, StoreError> {
    let rows: Vec<AlertRow> = client
        .query("SELECT ?fields FROM alerts FINAL WHERE state != 'resolved'")
        .fetch_all()
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| AlertEvent {
            alert_id: r.alert_id,
            rule: r.rule,
            severity: Severity::from_name(&r.severity).unwrap_or_default(),
            committee: r.committee,
            metric: r.metric,
            area_level: r.area_level,
            area_code: r.area_code,
            // Only unresolved alerts are loaded.
            state: AlertState::from_name(&r.state).unwrap_or(AlertState::Updated),
            opened_at_ms: r.opened_at_ms,
            updated_at_ms: r.updated_at_ms,
            resolved_at_ms: r.resolved_at_ms,
            value: r.value,
            threshold: r.threshold,
            evidence: r.evidence,
        })
        .collect())
}

/// The newest freshness row of every source and worker, so silence is
/// judged across restarts.
pub async fn load_watermarks(client: &Client) -> Result<Vec<WatermarkRow>, StoreError> {
    Ok(client
        .query("SELECT ?fields FROM source_watermarks FINAL")
        .fetch_all()
        .await?)
}

/// A row of `source_watermarks`.
#[derive(Debug, Clone, PartialEq, Row, Serialize, serde::Deserialize)]
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

/// A row of `pipeline_checkpoints`.
#[derive(Debug, Clone, PartialEq, Row, Serialize, serde::Deserialize)]
pub struct CheckpointRow {
    pub group_id: String,
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub max_seen_ms: Option<i64>,
    pub stored_below_ms: Option<i64>,
    pub written_at_ms: i64,
}

/// The newest resume point of each partition of `topics` for `group_id`.
pub async fn load_checkpoints(
    client: &Client,
    group_id: &str,
    topics: &[String],
) -> Result<crate::kafka::Checkpoints, StoreError> {
    let rows: Vec<CheckpointRow> = client
        .query("SELECT ?fields FROM pipeline_checkpoints FINAL WHERE group_id = ?")
        .bind(group_id)
        .fetch_all()
        .await?;
    Ok(rows
        .into_iter()
        .filter(|r| topics.contains(&r.topic))
        .map(|r| {
            let point = CommitPoint {
                offset: r.offset,
                max_seen_ms: r.max_seen_ms,
                stored_below_ms: r.stored_below_ms,
            };
            ((r.topic, r.partition), point)
        })
        .collect())
}

/// A row of `late_events`.
#[derive(Debug, Clone, PartialEq, Row, Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Row, Serialize, serde::Deserialize)]
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

impl From<&RejectedMessage> for RejectedRow {
    fn from(r: &RejectedMessage) -> Self {
        Self {
            source_topic: r.topic.clone(),
            partition: r.partition,
            offset: r.offset,
            reason_kind: r.kind.clone(),
            reason: r.reason.clone(),
            // For reading; the exact bytes are in the dead-letter topic.
            payload: String::from_utf8_lossy(&r.payload[..r.payload.len().min(4096)]).into_owned(),
            payload_bytes: r.payload.len() as u32,
            received_at_ms: r.received_at_ms,
        }
    }
}

/// Rows of one writer flush, by table.
#[derive(Default)]
struct Split {
    windows: Vec<WindowRow>,
    late: Vec<LateRow>,
    rejected: Vec<RejectedMessage>,
    alerts: Vec<AlertEvent>,
}

fn split_rows(rows: Vec<Output>, computed_at_ms: i64) -> Split {
    let mut split = Split::default();
    for row in rows {
        match row {
            Output::Window(w) => split.windows.push(WindowRow::new(&w, computed_at_ms)),
            Output::Late(l) => split.late.push(LateRow {
                metric: l.metric.name().to_owned(),
                event_id: l.event_id,
                area_code: l.area.code_string(),
                event_time_ms: l.event_ms,
                watermark_ms: l.watermark_ms,
                value: l.value,
                received_at_ms: l.received_at_ms,
            }),
            Output::Rejected(r) => split.rejected.push(r),
            Output::Alert(a) => split.alerts.push(*a),
        }
    }
    split
}

async fn insert_all<T: clickhouse::RowOwned + clickhouse::RowWrite>(
    client: &Client,
    table: &'static str,
    rows: &[T],
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut insert = client.insert::<T>(table).await?;
    for row in rows {
        insert.write(row).await?;
    }
    insert.end().await?;
    telemetry::rows_written(table, rows.len());
    Ok(())
}

/// What the writer has gathered for its next inserts.
#[derive(Default)]
struct Pending {
    rows: Vec<Output>,
    acks: Vec<SinkAck>,
    checkpoints: Vec<CheckpointRow>,
    watermarks: Vec<WatermarkRow>,
}

impl Pending {
    fn take(&mut self, message: WriterMessage) {
        match message {
            WriterMessage::Rows(SinkBatch { rows, ack }) => {
                self.rows.extend(rows);
                self.acks.push(ack);
            }
            // Checkpoints are computed from what is already acknowledged, so
            // writing them with any later batch never claims unstored rows.
            WriterMessage::Checkpoint(c) => self.checkpoints.extend(c),
            WriterMessage::Watermarks(w) => self.watermarks.extend(w),
        }
    }
}

/// Batches what the sink operators send, inserts it, and acknowledges each
/// batch only after ClickHouse accepted it. A failing insert is retried with
/// backoff for as long as it takes: held acknowledgements hold the frontier
/// and the Kafka offsets, so an outage delays results and never loses them.
pub async fn run_writer(
    client: Client,
    dead_letter: DeadLetter,
    mut silence: crate::silence::Silence,
    mut messages: UnboundedReceiver<WriterMessage>,
    flush_interval: Duration,
    max_rows: usize,
) {
    let mut pending = Pending::default();
    loop {
        // Wait for the first message, then gather more until the deadline.
        match messages.recv().await {
            Some(m) => pending.take(m),
            None => return,
        }
        let deadline = tokio::time::Instant::now() + flush_interval;
        while pending.rows.len() < max_rows {
            match tokio::time::timeout_at(deadline, messages.recv()).await {
                Ok(Some(m)) => pending.take(m),
                Ok(None) | Err(_) => break,
            }
        }
        let mut split = split_rows(std::mem::take(&mut pending.rows), now_ms());
        silence.observe(&pending.watermarks);
        split.alerts.extend(silence.check(now_ms()));
        let rejected: Vec<RejectedRow> = split.rejected.iter().map(RejectedRow::from).collect();
        let alerts: Vec<AlertRow> = split.alerts.iter().map(AlertRow::from).collect();
        let marks = std::mem::take(&mut pending.checkpoints);
        let watermarks = std::mem::take(&mut pending.watermarks);
        let mut attempt = 0u32;
        loop {
            let result = async {
                if !split.rejected.is_empty() {
                    dead_letter.publish(&split.rejected).await?;
                }
                insert_all(&client, "rejected_events", &rejected).await?;
                insert_all(&client, "window_aggregates", &split.windows).await?;
                insert_all(&client, "late_events", &split.late).await?;
                if !split.alerts.is_empty() {
                    dead_letter.publish_alerts(&split.alerts).await?;
                }
                insert_all(&client, "alerts", &alerts).await?;
                insert_all(&client, "pipeline_checkpoints", &marks).await?;
                insert_all(&client, "source_watermarks", &watermarks).await
            }
            .await;
            match result {
                Ok(()) => break,
                Err(error) => {
                    attempt += 1;
                    telemetry::write_failed(&error, attempt);
                    let backoff = Duration::from_millis(100 * 2u64.pow(attempt.min(6)));
                    tokio::time::sleep(backoff).await;
                }
            }
        }
        pending.acks.drain(..).for_each(SinkAck::done);
    }
}
