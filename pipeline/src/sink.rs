//! The sink: the operator that hands rows to the process's ClickHouse
//! writer and holds their capability until the writer says they are stored,
//! and the writer task itself, which batches, inserts and acknowledges.
//!
//! The operator's output frontier is therefore exactly "stored up to here":
//! a probe on it tells the sources which offsets may be committed.

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use pmoc_schemas::{alert::AlertEvent, dead_letter::RejectedMessage};
use pmoc_store::{
    AlertRow, CheckpointRow, LateRow, RejectedRow, Store, Table, WatermarkRow, WindowRow,
    WindowWriteRow,
};
use timely::{
    container::CapacityContainerBuilder,
    dataflow::{
        Scope, Stream,
        channels::pact::Pipeline,
        operators::{Capability, Operator},
    },
    scheduling::SyncActivator,
};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use crate::{
    backlog::Backlog, clock::now_ms, dead_letter::DeadLetter, record::Output, silence::Silence,
    telemetry,
};

/// What workers send the process's ClickHouse writer.
#[derive(Debug)]
pub enum WriterMessage {
    Rows(SinkBatch),
    Checkpoint(Vec<CheckpointRow>),
    /// Per-source completeness and freshness, written with the checkpoints.
    Watermarks(Vec<WatermarkRow>),
}

/// Rows handed to the ClickHouse writer, acknowledged once inserted.
#[derive(Debug)]
pub struct SinkBatch {
    pub rows: Vec<Output>,
    pub ack: SinkAck,
}

/// Tells the sink operator that batch `id` is durable.
pub struct SinkAck {
    pub id: u64,
    rows: usize,
    backlog: Backlog,
    tx: std::sync::mpsc::Sender<u64>,
    activator: SyncActivator,
}

impl std::fmt::Debug for SinkAck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SinkAck").field("id", &self.id).finish()
    }
}

impl SinkAck {
    pub fn done(mut self) {
        self.backlog.done(std::mem::take(&mut self.rows));
        // The operator may be gone at shutdown; then nobody waits for the ack.
        if self.tx.send(self.id).is_ok() {
            let _ = self.activator.activate();
        }
    }
}

impl Drop for SinkAck {
    /// A batch abandoned at shutdown (never stored) leaves the backlog too;
    /// `done` has already been counted for one that was stored.
    fn drop(&mut self) {
        self.backlog.done(std::mem::take(&mut self.rows));
    }
}

/// Hands rows to the asynchronous ClickHouse writer and holds their
/// capability until the writer acknowledges the insert, so the output
/// frontier of this operator is exactly "stored up to here".
pub fn sink<'s>(
    scope: Scope<'s, u64>,
    outputs: Stream<'s, u64, Vec<Output>>,
    writer: UnboundedSender<WriterMessage>,
    backlog: Backlog,
) -> Stream<'s, u64, Vec<()>> {
    outputs
        .unary_frontier::<CapacityContainerBuilder<Vec<()>>, _, _, _>(
            Pipeline,
            "ClickHouseSink",
            move |_cap, info| {
                let activator = scope.worker().sync_activator_for(info.address.to_vec());
                let (ack_tx, ack_rx) = std::sync::mpsc::channel::<u64>();
                let mut pending: HashMap<u64, Capability<u64>> = HashMap::new();
                let mut next_id = 0u64;
                move |(input, _frontier), output| {
                    input.for_each_stamp(|cap, data| {
                        let rows: Vec<Output> = data.flat_map(|batch| batch.drain(..)).collect();
                        if rows.is_empty() {
                            return;
                        }
                        let Some(cap) = cap.retain_least(output.output_index()) else {
                            return;
                        };
                        next_id += 1;
                        backlog.add(rows.len());
                        let ack = SinkAck {
                            id: next_id,
                            rows: rows.len(),
                            backlog: backlog.clone(),
                            tx: ack_tx.clone(),
                            activator: activator.clone(),
                        };
                        if writer
                            .send(WriterMessage::Rows(SinkBatch { rows, ack }))
                            .is_err()
                        {
                            // Never acknowledged: the frontier stays, offsets stay uncommitted.
                            tracing::error!("clickhouse writer is gone; holding the frontier");
                        }
                        pending.insert(next_id, cap);
                    });
                    while let Ok(id) = ack_rx.try_recv() {
                        pending.remove(&id);
                    }
                }
            },
        )
        .container::<Vec<()>>()
}

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
    windows: Vec<WindowWriteRow>,
    late: Vec<LateRow>,
    rejected: Vec<RejectedMessage>,
    alerts: Vec<AlertEvent>,
}

fn split_rows(rows: Vec<Output>, computed_at_ms: i64) -> Split {
    let mut split = Split::default();
    // Rows of one flush share `computed_at_ms`, so two versions of a window
    // in it (a running value and its final row, or two revisions) would
    // tie on the version: only the last one emitted is written.
    let mut windows: HashMap<(pmoc_store::WindowKey, u8), usize> = HashMap::new();
    for row in rows {
        match row {
            Output::Window(w) => {
                let aggregate = w
                    .acc
                    .finish(w.metric, w.area, (w.start_ms, w.end_ms), w.is_final);
                let mut row = WindowRow::new(&aggregate, computed_at_ms);
                row.revised_count = w.acc.revised_count();
                // What a late value is folded into later (see
                // `crate::revision`); running rows need none.
                let state = if w.is_final {
                    serde_json::to_string(&w.acc).unwrap_or_else(|error| {
                        tracing::error!(%error, metric = w.metric.name(), "window state not encodable");
                        String::new()
                    })
                } else {
                    String::new()
                };
                let row = WindowWriteRow::new(row, state);
                let key = (row.key(), row.is_final);
                match windows.get(&key) {
                    Some(&i) => split.windows[i] = row,
                    None => {
                        windows.insert(key, split.windows.len());
                        split.windows.push(row);
                    }
                }
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
            // Consumed by the revisions operator before the sink.
            Output::Revision(r) => {
                tracing::error!(event_id = %r.event_id, "revision reached the sink unprocessed");
            }
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
/// and the Kafka offsets, so an outage delays results and never loses them
/// (and the sources stop reading meanwhile, see [`crate::backlog`]).
///
/// Inserts start at most once per `flush_interval`, each taking everything
/// gathered since the last one: one insert per table per interval whatever
/// the event rate, so ClickHouse is not flooded with small parts.
///
/// Once `stop` is set the writer gives up on what it has not stored (its
/// offsets were never committed: the next start replays it), so a stop is
/// never held up by an unreachable ClickHouse or broker.
pub async fn run_writer(
    store: Store,
    dead_letter: DeadLetter,
    mut silence: Silence,
    mut messages: UnboundedReceiver<WriterMessage>,
    flush_interval: Duration,
    stop: Arc<AtomicBool>,
) {
    let mut pending = Pending::default();
    let mut last_flush = tokio::time::Instant::now() - flush_interval;
    loop {
        // Wait for the first message, then gather more until the interval
        // since the last insert has passed.
        tokio::select! {
            m = messages.recv() => match m {
                Some(m) => pending.take(m),
                None => return,
            },
            () = stopped(&stop) => return,
        }
        let deadline = (last_flush + flush_interval).max(tokio::time::Instant::now());
        while let Ok(Some(m)) = tokio::time::timeout_at(deadline, messages.recv()).await {
            pending.take(m);
        }
        while let Ok(m) = messages.try_recv() {
            pending.take(m);
        }
        last_flush = tokio::time::Instant::now();
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
            };
            let result = tokio::select! {
                r = result => r,
                () = stopped(&stop) => return,
            };
            match result {
                Ok(()) => break,
                Err(error) => {
                    attempt += 1;
                    telemetry::write_failed(&error, attempt);
                    let backoff = Duration::from_millis(100 * 2u64.pow(attempt.min(6)));
                    tokio::select! {
                        () = tokio::time::sleep(backoff) => {}
                        () = stopped(&stop) => return,
                    }
                }
            }
        }
        pending.acks.drain(..).for_each(SinkAck::done);
    }
}

/// Resolves once `stop` is set (checked every 50 ms: the flag is set from a
/// signal thread and read by timely workers too).
async fn stopped(stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
