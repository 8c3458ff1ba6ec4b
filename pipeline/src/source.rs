//! The Kafka source operator: reads a worker's partitions, classifies each
//! record as on time or late, and advances the event-time frontier.
//!
//! Every record of one poll is emitted at the worker's current capability
//! time, which is never later than any on-time record's event time, so a
//! window cannot close while one of its records is in flight. Then the
//! capability moves to the least watermark of the partitions that may hold.

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use pmoc_schemas::water::WaterLevelReading;
use rdkafka::message::Message;
use timely::dataflow::{
    ProbeHandle, Scope, Stream, operators::generic::operator::source as timely_source,
};

use crate::{
    dataflow::{LateEvent, Record, RejectedMessage, WriterMessage},
    kafka::KafkaReader,
    partition::{Arrival, CommitPoint, PartitionState},
    store::CheckpointRow,
    telemetry,
    window::{Area, Metric, Observation, window_of},
};

/// What the source needs to know, cloned into every worker.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    pub brokers: String,
    pub group_id: String,
    pub topic: String,
    pub window_ms: i64,
    pub lateness_ms: i64,
    pub idle: Duration,
    pub commit_every: Duration,
    /// Resume points read from ClickHouse at start, by partition.
    pub checkpoints: Arc<HashMap<i32, CommitPoint>>,
}

/// Most messages handled in one activation, so other operators get to run.
const MAX_POLL_BATCH: usize = 10_000;
/// Longest one activation keeps polling.
const MAX_POLL_TIME: Duration = Duration::from_millis(20);
/// How long to wait before polling again when nothing arrived.
const IDLE_BACKOFF: Duration = Duration::from_millis(25);

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// Builds the source for this worker. `stored` probes the sink: its frontier
/// is the event time up to which everything is durably in ClickHouse, which
/// decides the offsets that are safe to commit.
pub fn kafka_source<'s>(
    scope: Scope<'s, u64>,
    config: SourceConfig,
    stored: ProbeHandle<u64>,
    writer: tokio::sync::mpsc::UnboundedSender<WriterMessage>,
    failed: Arc<AtomicBool>,
) -> Stream<'s, u64, Vec<Record>> {
    let (worker, peers) = (scope.index(), scope.peers());
    timely_source(scope, "KafkaSource", move |capability, info| {
        let activator = scope.activator_for(info.address);
        let mut reader = match KafkaReader::open(
            &config.brokers,
            &config.group_id,
            &config.topic,
            worker,
            peers,
            &config.checkpoints,
        ) {
            Ok(reader) => Some(reader),
            Err(error) => {
                tracing::error!(error = %pmoc_schemas::error::chain(&error), worker, "kafka source could not start");
                failed.store(true, Ordering::SeqCst);
                None
            }
        };
        // A worker that owns no partition must not hold the frontier back.
        let mut cap = reader
            .as_ref()
            .filter(|r| !r.partitions.is_empty())
            .map(|_| capability);
        let mut last_commit = Instant::now();
        let mut batch = Vec::new();

        move |output| {
            let (Some(reader), Some(cap)) = (reader.as_mut(), cap.as_mut()) else {
                return;
            };
            let started = Instant::now();
            let cap_ms = *cap.time() as i64;
            let mut read = 0;
            // One clock read per poll: validation's "not in the future" and
            // the received-at stamps need no finer grain than a poll.
            let poll_ms = now_ms();
            while batch.len() < MAX_POLL_BATCH && started.elapsed() < MAX_POLL_TIME {
                match reader.consumer.poll(Duration::ZERO) {
                    None => break,
                    Some(Err(error)) => telemetry::consume_error(&error),
                    Some(Ok(message)) => {
                        read += 1;
                        let (p, offset) = (message.partition(), message.offset());
                        let payload = message.payload().unwrap_or_default();
                        let Some(state) = partition(&mut reader.partitions, p) else {
                            continue;
                        };
                        let reading = match WaterLevelReading::decode(payload, poll_ms) {
                            Ok(r) => r,
                            Err(reason) => {
                                // Stored like a late event: its offset is committed
                                // only once the dead letter is written.
                                telemetry::rejected(&reason);
                                state.arrive_rejected(offset, started);
                                state.track(offset, state.max_seen_ms(), cap_ms + 1);
                                batch.push(Record::Rejected(Box::new(RejectedMessage {
                                    topic: config.topic.clone(),
                                    partition: p,
                                    offset,
                                    payload: payload.to_vec(),
                                    kind: reason.kind,
                                    reason: reason.detail,
                                    received_at_ms: poll_ms,
                                })));
                                continue;
                            }
                        };
                        let event_ms = reading.event_time_ms();
                        let before = state.max_seen_ms();
                        let arrival =
                            match state.arrive(offset, event_ms, config.lateness_ms, started) {
                                // A record behind the worker's frontier cannot join its
                                // window any more, whatever its own partition says.
                                Arrival::OnTime if event_ms < cap_ms => Arrival::Late {
                                    watermark_ms: cap_ms,
                                },
                                a => a,
                            };
                        let window_end = window_of(event_ms, config.window_ms).1;
                        if arrival == Arrival::OnTime && state.already_stored(window_end) {
                            // Replayed after a restart: already in a stored window.
                            state.skip(offset);
                            state.advance(event_ms);
                            continue;
                        }
                        let stored_from = match arrival {
                            Arrival::OnTime => {
                                let area = Area::province(&reading.province_code);
                                let freeboard = reading.bank_level_m_msl - reading.level_m_msl;
                                for (metric, value) in [
                                    (Metric::WaterLevel, reading.level_m_msl),
                                    (Metric::WaterFreeboard, freeboard),
                                ] {
                                    batch.push(Record::Observation(Observation {
                                        metric,
                                        area,
                                        event_ms,
                                        value,
                                        offset,
                                    }));
                                }
                                window_end
                            }
                            Arrival::Late { watermark_ms } => {
                                telemetry::late(Metric::WaterLevel);
                                batch.push(Record::Late(Box::new(LateEvent::new(
                                    Metric::WaterLevel,
                                    &reading,
                                    watermark_ms,
                                    poll_ms,
                                ))));
                                cap_ms + 1
                            }
                        };
                        state.track(offset, before, stored_from);
                        state.advance(event_ms);
                    }
                }
            }
            if read > 0 {
                telemetry::consumed(read);
            }
            if !batch.is_empty() {
                output.session(&*cap).give_iterator(batch.drain(..));
            }

            if read == 0 {
                reader.check_quiet_partitions(started, config.idle);
            }
            if let Some(next) = next_frontier(reader, &config, cap_ms, started)
                && next > cap_ms
            {
                cap.downgrade(&(next as u64));
            }

            if last_commit.elapsed() >= config.commit_every {
                last_commit = Instant::now();
                let frontier = stored.with_frontier(|f| f.first().map(|&t| t as i64));
                match reader.commit(frontier) {
                    Ok(points) if !points.is_empty() => {
                        let written_at_ms = now_ms();
                        let rows = points
                            .into_iter()
                            .map(|(partition, p)| CheckpointRow {
                                group_id: config.group_id.clone(),
                                topic: config.topic.clone(),
                                partition,
                                offset: p.offset,
                                max_seen_ms: p.max_seen_ms,
                                stored_below_ms: p.stored_below_ms,
                                written_at_ms,
                            })
                            .collect();
                        let _ = writer.send(WriterMessage::Checkpoint(rows));
                    }
                    Ok(_) => {}
                    Err(error) => telemetry::commit_error(&error),
                }
            }
            if read > 0 {
                activator.activate();
            } else {
                activator.activate_after(IDLE_BACKOFF);
            }
        }
    })
}

fn partition(partitions: &mut [PartitionState], p: i32) -> Option<&mut PartitionState> {
    partitions.iter_mut().find(|s| s.partition == p)
}

/// The worker's new event-time frontier: the least watermark of the
/// partitions that hold, or, when none does, the wall clock less the
/// lateness and idle allowances (so an idle worker lets the others' windows
/// close). `None` while a partition holds without having said where it is.
fn next_frontier(
    reader: &KafkaReader,
    config: &SourceConfig,
    cap_ms: i64,
    now: Instant,
) -> Option<i64> {
    let mut least: Option<i64> = None;
    let mut any_holds = false;
    for p in &reader.partitions {
        if p.holds(now, config.idle) {
            any_holds = true;
            let w = p.watermark(config.lateness_ms)?;
            least = Some(least.map_or(w, |l| l.min(w)));
        }
    }
    if any_holds {
        least
    } else {
        let idle_ms = config.idle.as_millis() as i64;
        Some((now_ms() - config.lateness_ms - idle_ms).max(cap_ms))
    }
}
