//! The Kafka source operator: reads a worker's partitions, classifies each
//! record as on time or late, and advances the event-time frontier.
//!
//! Every record of one poll is emitted at the worker's current capability
//! time, which is never later than any on-time record's event time, so a
//! window cannot close while one of its records is in flight. Then the
//! capability moves to the least watermark of the partitions that may hold.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use pmoc_schemas::{
    RejectReason,
    calendar::window_of,
    committee::Committee,
    dead_letter::RejectedMessage,
    envelope::{self, Envelope},
    metric,
    source::Sources,
};
use pmoc_store::{CheckpointRow, WatermarkRow};
use rdkafka::message::Message;
use timely::dataflow::{
    ProbeHandle, Scope, Stream, operators::generic::operator::source as timely_source,
};

use crate::{
    backlog::Backlog,
    clock::now_ms,
    kafka::{Checkpoints, KafkaReader},
    partition::{Arrival, PartitionState},
    record::{LateEvent, Record, Revision},
    sink::WriterMessage,
    telemetry,
    window::{Area, Observation},
};

/// What the source needs to know, cloned into every worker.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    pub brokers: String,
    pub group_id: String,
    /// Each topic read, with the committee whose messages it carries.
    pub topics: Vec<(String, Committee)>,
    /// Window widths, shortest first (at most [`crate::window::MAX_WIDTHS`]).
    pub widths_ms: Vec<i64>,
    pub lateness_ms: i64,
    /// How far behind its partition's newest event a late value may be and
    /// still revise its windows; older ones only go to `late_events`.
    pub correction_horizon_ms: i64,
    pub idle: Duration,
    pub commit_every: Duration,
    pub max_message_bytes: usize,
    /// How long (event time) an event id is remembered to drop copies.
    pub dedup_horizon_ms: i64,
    /// Resume points read from ClickHouse at start.
    pub checkpoints: Arc<Checkpoints>,
    /// The known sources: who may send what, and how often.
    pub sources: Arc<Sources>,
}

/// Freshness of one source as this worker sees it.
#[derive(Debug)]
struct SourceSeen {
    committee: Committee,
    agency: String,
    system: String,
    schema: &'static str,
    last_event_ms: i64,
    last_seen_ms: i64,
    events: u64,
}

/// A few dozen sources at most: a linear scan without allocation beats
/// building an owned key for every message.
fn saw(sources: &mut Vec<SourceSeen>, e: &Envelope, seen_ms: i64) {
    let schema = e.schema_id().name;
    let event_ms = e.event_time_ms();
    match sources
        .iter_mut()
        .find(|s| s.schema == schema && s.agency == e.source_agency && s.system == e.source_system)
    {
        Some(s) => {
            s.last_event_ms = s.last_event_ms.max(event_ms);
            s.last_seen_ms = seen_ms;
            s.events += 1;
        }
        None => sources.push(SourceSeen {
            committee: e.committee,
            agency: e.source_agency.clone(),
            system: e.source_system.clone(),
            schema,
            last_event_ms: event_ms,
            last_seen_ms: seen_ms,
            events: 1,
        }),
    }
}

/// Decodes a message read from a topic of `committee`, from a source the
/// registry knows.
fn decode(
    bytes: &[u8],
    now_ms: i64,
    config: &SourceConfig,
    committee: Committee,
) -> Result<Envelope, RejectReason> {
    let e = envelope::decode(bytes, now_ms, config.max_message_bytes, &config.sources)?;
    e.check_topic_committee(committee)?;
    Ok(e)
}

/// Most messages handled in one activation, so other operators get to run.
const MAX_POLL_BATCH: usize = 10_000;
/// Longest one activation keeps polling.
const MAX_POLL_TIME: Duration = Duration::from_millis(20);
/// How long to wait before polling again when nothing arrived.
const IDLE_BACKOFF: Duration = Duration::from_millis(25);
/// How long to wait before looking again while ClickHouse is behind.
const BACKLOG_BACKOFF: Duration = Duration::from_millis(50);

/// Builds the source for this worker. `stored` probes the sink: its frontier
/// is the event time up to which everything is durably in ClickHouse, which
/// decides the offsets that are safe to commit.
pub fn kafka_source<'s>(
    scope: Scope<'s, u64>,
    config: SourceConfig,
    stored: ProbeHandle<u64>,
    writer: tokio::sync::mpsc::UnboundedSender<WriterMessage>,
    failed: Arc<AtomicBool>,
    backlog: Backlog,
) -> Stream<'s, u64, Vec<Record>> {
    let (worker, peers) = (scope.index(), scope.peers());
    timely_source(scope, "KafkaSource", move |capability, info| {
        let activator = scope.activator_for(info.address);
        let names: Vec<String> = config.topics.iter().map(|(t, _)| t.clone()).collect();
        let mut reader = match KafkaReader::open(
            &config.brokers,
            &config.group_id,
            &names,
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
        let mut sources: Vec<SourceSeen> = Vec::new();

        move |output| {
            let (Some(reader), Some(cap)) = (reader.as_mut(), cap.as_mut()) else {
                return;
            };
            // ClickHouse is behind: read nothing more (Kafka keeps it) and
            // hold the frontier where it is, until the writer catches up.
            if backlog.is_full() {
                telemetry::paused();
                activator.activate_after(BACKLOG_BACKOFF);
                return;
            }
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
                        let Some(t) = reader.topics.iter().position(|n| n == message.topic())
                        else {
                            continue;
                        };
                        let Some(state) = reader
                            .partitions
                            .iter_mut()
                            .find(|s| s.topic == t && s.partition == p)
                        else {
                            continue;
                        };
                        if offset > state.next_offset() {
                            telemetry::offsets_skipped(
                                &config.topics[t].0,
                                p,
                                state.next_offset(),
                                offset,
                            );
                        }
                        let payload = message.payload().unwrap_or_default();
                        let committee = config.topics[t].1;
                        let envelope = match decode(payload, poll_ms, &config, committee) {
                            Ok(e) => e,
                            Err(reason) => {
                                // Stored like a late event: its offset is committed
                                // only once the dead letter is written.
                                telemetry::rejected(&reason);
                                state.arrive_rejected(offset, started);
                                state.track(offset, state.max_seen_ms(), cap_ms + 1);
                                batch.push(Record::Rejected(Box::new(RejectedMessage {
                                    topic: config.topics[t].0.clone(),
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
                        saw(&mut sources, &envelope, poll_ms);
                        if state.is_duplicate(
                            envelope.event_id.as_str(),
                            envelope.event_time_ms(),
                            config.dedup_horizon_ms,
                        ) {
                            telemetry::duplicate(committee);
                            state.arrive_rejected(offset, started);
                            continue;
                        }
                        classify(
                            &config, state, &envelope, offset, cap_ms, started, poll_ms, &mut batch,
                        );
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
                checkpoint(reader, &config, frontier, &writer);
                let written_at_ms = now_ms();
                let marks = sources
                    .iter()
                    .map(|s| WatermarkRow {
                        committee: s.committee.as_str().to_owned(),
                        source_agency: s.agency.clone(),
                        source_system: s.system.clone(),
                        schema: s.schema.to_owned(),
                        worker: worker as u32,
                        // An empty frontier: everything read is stored.
                        final_up_to_ms: frontier.unwrap_or(cap_ms),
                        last_event_ms: s.last_event_ms,
                        last_seen_ms: s.last_seen_ms,
                        expected_cadence_s: config
                            .sources
                            .cadence_of(&s.agency, s.schema)
                            .unwrap_or(3_600),
                        events_total: s.events,
                        written_at_ms,
                    })
                    .collect::<Vec<_>>();
                if !marks.is_empty() {
                    let _ = writer.send(WriterMessage::Watermarks(marks));
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

/// Classifies one valid message as on time or late and turns it into
/// records: one observation per metric value, for its province and, when
/// given, its district, in the windows of each width not already stored.
#[allow(clippy::too_many_arguments)]
fn classify(
    config: &SourceConfig,
    state: &mut PartitionState,
    envelope: &Envelope,
    offset: i64,
    cap_ms: i64,
    now: Instant,
    poll_ms: i64,
    batch: &mut Vec<Record>,
) {
    let event_ms = envelope.event_time_ms();
    let before = state.max_seen_ms();
    let arrival = match state.arrive(offset, event_ms, config.lateness_ms, now) {
        // A record behind the worker's frontier cannot join its window any
        // more, whatever its own partition says.
        Arrival::OnTime if event_ms < cap_ms => Arrival::Late {
            watermark_ms: cap_ms,
        },
        a => a,
    };
    let values = metric::values(envelope);
    let province = Area::province(&envelope.area.province);
    let district = envelope.area.district.as_ref().map(Area::district);
    let stored_from = match arrival {
        Arrival::OnTime => {
            // Replayed after a restart, a record is skipped for the widths
            // whose window is already stored.
            let mut widths = 0u8;
            let mut stored_from = None;
            for (i, &w) in config.widths_ms.iter().enumerate() {
                let end = window_of(event_ms, w).1;
                if !state.already_stored(end) {
                    widths |= 1 << i;
                    stored_from = Some(stored_from.map_or(end, |s: i64| s.max(end)));
                }
            }
            let Some(stored_from) = stored_from else {
                state.skip(offset);
                state.advance(event_ms);
                return;
            };
            for area in std::iter::once(province).chain(district) {
                batch.extend(values.iter().map(|v| {
                    Record::Observation(Observation {
                        metric: v.metric,
                        area,
                        event_ms,
                        value: v.value,
                        entity: v.entity,
                        weight: v.weight,
                        offset,
                        widths,
                    })
                }));
            }
            stored_from
        }
        Arrival::Late { watermark_ms } => {
            let event_id = envelope.event_id.to_string();
            // Behind the partition's newest event (deterministic on replay),
            // or the worker's frontier when the partition has none yet.
            let newest = before.unwrap_or(cap_ms);
            let revisable = event_ms >= newest.saturating_sub(config.correction_horizon_ms);
            let all_widths = (1u8 << config.widths_ms.len()) - 1;
            // Each value's revisions are emitted now and written once their
            // windows are final and stored (never before `cap_ms`).
            let mut stored_from = cap_ms + 1;
            for &metric::Value {
                metric,
                value,
                entity,
                weight,
            } in &values
            {
                telemetry::late(metric);
                if !revisable || !value.is_finite() || !weight.is_finite() {
                    // Beyond the horizon, or a value no sum can take: kept
                    // as a correction, not folded in.
                    batch.push(Record::Late(Box::new(LateEvent {
                        metric,
                        event_id: event_id.clone(),
                        area: district.unwrap_or(province),
                        event_ms,
                        watermark_ms,
                        value,
                        received_at_ms: poll_ms,
                    })));
                    continue;
                }
                let obs = |area| Observation {
                    metric,
                    area,
                    event_ms,
                    value,
                    entity,
                    weight,
                    offset,
                    widths: all_widths,
                };
                let targets = district.map(|d| (d, obs(d))).into_iter().chain(
                    std::iter::once(province)
                        .chain(province.parents())
                        .map(|a| (a, obs(province))),
                );
                for (target, obs) in targets {
                    batch.push(Record::Revision(Box::new(Revision {
                        target,
                        obs,
                        agency: envelope.source_agency.clone(),
                        event_id: event_id.clone(),
                        watermark_ms,
                        received_at_ms: poll_ms,
                    })));
                }
                for &w in &config.widths_ms {
                    let end = window_of(event_ms, w).1;
                    stored_from = stored_from.max(end.max(cap_ms) + 1);
                }
            }
            stored_from
        }
    };
    state.track(offset, before, stored_from);
    state.advance(event_ms);
}

/// Computes the resume points the stored frontier allows, commits them to
/// Kafka (for lag tools) and sends them to the writer for ClickHouse.
fn checkpoint(
    reader: &mut KafkaReader,
    config: &SourceConfig,
    frontier: Option<i64>,
    writer: &tokio::sync::mpsc::UnboundedSender<WriterMessage>,
) {
    match reader.commit(frontier) {
        Ok(points) if !points.is_empty() => {
            let written_at_ms = now_ms();
            let rows = points
                .into_iter()
                .map(|(topic, partition, p)| CheckpointRow {
                    group_id: config.group_id.clone(),
                    topic,
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
