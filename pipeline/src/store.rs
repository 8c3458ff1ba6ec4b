//! The writer that turns sink batches into inserts and acknowledges them
//! only once ClickHouse has them.

use std::time::Duration;

use pmoc_schemas::{alert::AlertEvent, dead_letter::RejectedMessage};
use pmoc_store::{
    AlertRow, CheckpointRow, LateRow, RejectedRow, Store, Table, WatermarkRow, WindowRow,
};
use tokio::sync::mpsc::UnboundedReceiver;

use crate::{
    dataflow::{Output, SinkAck, SinkBatch, WriterMessage},
    dead_letter::DeadLetter,
    source::now_ms,
    telemetry,
};

/// Why one flush failed; it is retried until it succeeds.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    #[error("clickhouse")]
    Store(#[from] pmoc_store::StoreError),
    #[error("dead-letter topic")]
    DeadLetter(#[from] rdkafka::error::KafkaError),
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
            Output::Window(w) => {
                let aggregate = w
                    .acc
                    .finish(w.metric, w.area, (w.start_ms, w.end_ms), w.is_final);
                split
                    .windows
                    .push(WindowRow::new(&aggregate, computed_at_ms));
            }
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

async fn insert_all<T: Table>(store: &Store, rows: &[T]) -> Result<(), WriteError> {
    let written = store.insert(rows).await?;
    if written > 0 {
        telemetry::rows_written(T::TABLE, written);
    }
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
    store: Store,
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
                insert_all(&store, &rejected).await?;
                insert_all(&store, &split.windows).await?;
                insert_all(&store, &split.late).await?;
                if !split.alerts.is_empty() {
                    dead_letter.publish_alerts(&split.alerts).await?;
                }
                insert_all(&store, &alerts).await?;
                insert_all(&store, &marks).await?;
                insert_all(&store, &watermarks).await
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
