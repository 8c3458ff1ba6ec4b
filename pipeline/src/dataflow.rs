//! The dataflow: Kafka source -> exchange by area -> event-time windows ->
//! ClickHouse sink, with a probe on the sink that tells the sources which
//! event times are durably stored (and so which offsets may be committed).

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, atomic::AtomicBool},
};

use pmoc_schemas::{aggregate::WindowAggregate, water::WaterLevelReading};
use serde::{Deserialize, Serialize};
use timely::{
    container::CapacityContainerBuilder,
    dataflow::{
        ProbeHandle, Scope, Stream,
        channels::pact::{Exchange, Pipeline},
        operators::{Capability, Operator, Probe},
    },
    scheduling::SyncActivator,
};
use tokio::sync::mpsc::UnboundedSender;

use crate::{
    source::{SourceConfig, kafka_source},
    window::{Accumulator, Area, Metric, window_of},
};

/// What flows from the sources to the windows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Record {
    Observation(crate::window::Observation),
    /// Too late for its window: kept, stored and counted, never dropped.
    /// Boxed, like `Rejected`: rare variants must not make every record
    /// large, since records are moved through the exchange by value.
    Late(Box<LateEvent>),
    /// Failed validation: goes to the dead-letter topic and `rejected_events`.
    Rejected(Box<RejectedMessage>),
}

impl Record {
    /// Routes every record of an area to the same worker.
    fn route(&self) -> u64 {
        match self {
            Record::Observation(o) => u64::from(o.area.code),
            Record::Late(l) => u64::from(l.area.code),
            Record::Rejected(r) => r.offset as u64,
        }
    }
}

/// An event that arrived after its window could still take it.
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

impl LateEvent {
    pub fn new(
        metric: Metric,
        reading: &WaterLevelReading,
        watermark_ms: i64,
        received_at_ms: i64,
    ) -> Self {
        Self {
            metric,
            event_id: reading.event_id.to_string(),
            area: Area::province(&reading.province_code),
            event_ms: reading.event_time_ms(),
            watermark_ms,
            value: reading.level_m_msl,
            received_at_ms,
        }
    }
}

/// A message that failed validation, with where it came from and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RejectedMessage {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub payload: Vec<u8>,
    pub kind: String,
    pub reason: String,
    pub received_at_ms: i64,
}

/// What the sink writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Output {
    Aggregate {
        aggregate: WindowAggregate,
        source: String,
    },
    Late(LateEvent),
    Rejected(RejectedMessage),
}

/// What workers send the process's ClickHouse writer.
#[derive(Debug)]
pub enum WriterMessage {
    Rows(SinkBatch),
    Checkpoint(Vec<crate::store::CheckpointRow>),
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
}

/// Builds the dataflow in `scope`; returns the probe of stored event time.
pub fn build(
    scope: Scope<'_, u64>,
    config: DataflowConfig,
    writer: UnboundedSender<WriterMessage>,
    failed: Arc<AtomicBool>,
) -> ProbeHandle<u64> {
    let stored = ProbeHandle::new();
    let window_ms = config.source.window_ms;
    let records = kafka_source(scope, config.source, stored.clone(), writer.clone(), failed);
    let outputs = crate::rollup::rollups(windows(records, window_ms));
    sink(scope, outputs, writer).probe_with(&stored);
    stored
}

/// Tumbling event-time windows per (metric, area), final once the frontier
/// passes their end. Late records pass straight through to the sink.
pub fn windows<'s>(
    records: Stream<'s, u64, Vec<Record>>,
    window_ms: i64,
) -> Stream<'s, u64, Vec<Output>> {
    type Open = BTreeMap<i64, (Capability<u64>, BTreeMap<(Metric, Area), Accumulator>)>;
    records
        .unary_frontier(Exchange::new(Record::route), "Windows", |_cap, _info| {
            let mut open: Open = BTreeMap::new();
            move |(input, frontier), output| {
                input.for_each_stamp(|cap, data| {
                    let Some(cap) = cap.retain_least(output.output_index()) else {
                        return;
                    };
                    for batch in data {
                        for record in batch.drain(..) {
                            match record {
                                Record::Observation(obs) => {
                                    let (start, end) = window_of(obs.event_ms, window_ms);
                                    let (_, accs) = open.entry(end).or_insert_with(|| {
                                        // The source emits at or before the event time,
                                        // so `end - 1` is never before `cap`.
                                        (cap.delayed(&((end - 1) as u64)), BTreeMap::new())
                                    });
                                    debug_assert!(start <= obs.event_ms);
                                    accs.entry((obs.metric, obs.area))
                                        .and_modify(|a| a.add(&obs))
                                        .or_insert_with(|| Accumulator::new(&obs));
                                }
                                Record::Late(late) => {
                                    output.session(&cap).give(Output::Late(*late));
                                }
                                Record::Rejected(r) => {
                                    output.session(&cap).give(Output::Rejected(*r));
                                }
                            }
                        }
                    }
                });
                while let Some(entry) = open.first_entry() {
                    let end = *entry.key();
                    if frontier.less_equal(&((end - 1) as u64)) {
                        break;
                    }
                    let (cap, accs) = entry.remove();
                    let rows = accs
                        .into_iter()
                        .map(|((metric, area), acc)| Output::Aggregate {
                            aggregate: acc.finish(metric, area, (end - window_ms, end)),
                            source: metric.source().to_owned(),
                        });
                    output.session(&cap).give_iterator(rows);
                }
            }
        })
        .container::<Vec<Output>>()
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
