//! The dataflow: Kafka sources -> exchange by area -> event-time windows ->
//! rollups -> ClickHouse sink, with a probe on the sink that tells the
//! sources which event times are durably stored (and so which offsets may be
//! committed).

use std::{
    collections::HashMap,
    sync::{Arc, atomic::AtomicBool},
};

use pmoc_schemas::dead_letter::RejectedMessage;
use serde::{Deserialize, Serialize};
use timely::{
    container::CapacityContainerBuilder,
    dataflow::{
        ProbeHandle, Scope, Stream,
        channels::pact::Pipeline,
        operators::{Capability, Operator, Probe},
    },
    scheduling::SyncActivator,
};
use tokio::sync::mpsc::UnboundedSender;

use crate::{
    source::{SourceConfig, kafka_source},
    window::{Accumulator, Area, Metric, Observation},
};

/// What flows from the sources to the windows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Record {
    Observation(Observation),
    /// Too late for its window: kept, stored and counted, never dropped.
    /// Boxed, like `Rejected`: rare variants must not make every record
    /// large, since records are moved through the exchange by value.
    Late(Box<LateEvent>),
    /// Failed validation: goes to the dead-letter topic and `rejected_events`.
    Rejected(Box<RejectedMessage>),
}

impl Record {
    /// Routes every record of an area to the same worker.
    pub fn route(&self) -> u64 {
        match self {
            Record::Observation(o) => o.area.route(),
            Record::Late(l) => l.area.route(),
            Record::Rejected(r) => r.offset as u64,
        }
    }
}

/// An event that arrived after its window could still take it: one row per
/// metric value of the message, written to `late_events` as a correction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LateEvent {
    pub metric: Metric,
    pub event_id: String,
    pub area: Area,
    pub event_ms: i64,
    pub watermark_ms: i64,
    pub value: f64,
    pub received_at_ms: i64,
}

/// One window's aggregate, running (`is_final` false) or final.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowValue {
    pub metric: Metric,
    pub area: Area,
    pub start_ms: i64,
    pub end_ms: i64,
    pub acc: Accumulator,
    pub is_final: bool,
}

/// What the sink writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Output {
    Window(Box<WindowValue>),
    Late(LateEvent),
    Rejected(RejectedMessage),
    Alert(Box<pmoc_schemas::alert::AlertEvent>),
}

/// What workers send the process's ClickHouse writer.
#[derive(Debug)]
pub enum WriterMessage {
    Rows(SinkBatch),
    Checkpoint(Vec<pmoc_store::CheckpointRow>),
    /// Per-source completeness and freshness, written with the checkpoints.
    Watermarks(Vec<pmoc_store::WatermarkRow>),
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
    tx: std::sync::mpsc::Sender<u64>,
    activator: SyncActivator,
}

impl std::fmt::Debug for SinkAck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SinkAck").field("id", &self.id).finish()
    }
}

impl SinkAck {
    pub fn done(self) {
        // The operator may be gone at shutdown; then nobody waits for the ack.
        if self.tx.send(self.id).is_ok() {
            let _ = self.activator.activate();
        }
    }
}

/// Everything one worker needs to build its part of the dataflow.
#[derive(Debug, Clone)]
pub struct DataflowConfig {
    pub source: SourceConfig,
    pub alert_rules: Arc<pmoc_schemas::alert::AlertRules>,
    /// Alerts open when the pipeline last stopped.
    pub open_alerts: Vec<pmoc_schemas::alert::AlertEvent>,
}

/// Builds the dataflow in `scope`; returns the probe of stored event time.
pub fn build(
    scope: Scope<'_, u64>,
    config: DataflowConfig,
    writer: UnboundedSender<WriterMessage>,
    failed: Arc<AtomicBool>,
) -> ProbeHandle<u64> {
    let stored = ProbeHandle::new();
    let widths = config.source.widths_ms.clone();
    let records = kafka_source(
        scope,
        config.source.clone(),
        stored.clone(),
        writer.clone(),
        failed,
    );
    let windows = crate::windowing::windows(scope, records, widths);
    let outputs = crate::rollup::rollups(windows);
    let outputs = crate::alerting::alerts(outputs, &config.alert_rules, config.open_alerts);
    sink(scope, outputs, writer).probe_with(&stored);
    stored
}

/// Hands rows to the asynchronous ClickHouse writer and holds their
/// capability until the writer acknowledges the insert, so the output
/// frontier of this operator is exactly "stored up to here".
pub fn sink<'s>(
    scope: Scope<'s, u64>,
    outputs: Stream<'s, u64, Vec<Output>>,
    writer: UnboundedSender<WriterMessage>,
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
                        let ack = SinkAck {
                            id: next_id,
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
