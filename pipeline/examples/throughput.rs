//! Throughput of the windowing core, printed next to a single-threaded
//! baseline run in the same process on the same input.
//!
//! ```sh
//! cargo run --release -p pmoc-pipeline --example throughput -- [EVENTS]
//! ```
//!
//! Measures the dataflow (the real `windows` operator, exchange included)
//! fed from memory, not Kafka or ClickHouse: it answers "how fast is the
//! core", and checks every variant computes the same windows.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Instant,
};

use pmoc_pipeline::{
    record::{Output, Record},
    window::{Accumulator, Area, Metric, Observation},
    windowing::windows,
};
use pmoc_schemas::{aggregate::AreaLevel, calendar::window_of, envelope, metric, source::Sources};
use timely::{
    container::CapacityContainerBuilder,
    dataflow::{
        InputHandle, ProbeHandle,
        operators::{Input as _, Inspect, Probe},
    },
};

const WINDOW_MS: i64 = 60_000;
const LATENESS_MS: i64 = 30_000;
const T0_MS: i64 = 1_790_000_000_000;
const PROVINCES: &[u16] = &[
    10, 12, 14, 18, 30, 31, 34, 40, 44, 50, 53, 57, 60, 65, 80, 84, 90,
];

/// In event-time order, 1 ms apart, spread over the provinces.
fn observations(n: usize) -> Vec<Observation> {
    (0..n)
        .map(|i| Observation {
            metric: Metric::WaterLevel,
            area: Area {
                level: AreaLevel::Province,
                code: PROVINCES[i % PROVINCES.len()],
            },
            event_ms: T0_MS + i as i64,
            value: 100.0 + (i % 997) as f64 / 100.0,
            // One station per province, as in the JSON below.
            entity: metric::entity_key(&format!("S{}", PROVINCES[i % PROVINCES.len()])),
            weight: 1.0,
            offset: i as i64,
            widths: 1,
        })
        .collect()
}

fn json(obs: &[Observation]) -> Vec<Vec<u8>> {
    obs.iter()
        .map(|o| {
            format!(
                concat!(
                    r#"{{"schema":"hii.water_level","schema_version":1,"event_id":"e{}","#,
                    r#""source_agency":"HII","source_system":"telemetry","committee":"water","#,
                    r#""event_time":"{}","area":{{"province":"{:02}"}},"payload":{{"station_id":"S{}","#,
                    r#""level_m_msl":{},"bank_level_m_msl":120.0}}}}"#
                ),
                o.offset,
                time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(o.event_ms) * 1_000_000)
                    .expect("time")
                    .format(&time::format_description::well_known::Rfc3339)
                    .expect("format"),
                o.area.code,
                o.area.code,
                o.value
            )
            .into_bytes()
        })
        .collect()
}

/// The registry the pipeline checks every message against: the defaults.
static SOURCES: std::sync::LazyLock<Sources> = std::sync::LazyLock::new(Sources::default);

/// What the source does per message: decode and validate the envelope
/// (the source registry included), then take its first metric value (the
/// water level).
fn decode(bytes: &[u8], offset: i64) -> Observation {
    let e = envelope::decode(
        bytes,
        i64::MAX / 2,
        envelope::DEFAULT_MAX_MESSAGE_BYTES,
        &SOURCES,
    )
    .expect("valid");
    let v = metric::values(&e)[0];
    Observation {
        metric: v.metric,
        area: Area::province(&e.area.province),
        event_ms: e.event_time_ms(),
        value: v.value,
        entity: v.entity,
        weight: v.weight,
        offset,
        widths: 1,
    }
}

/// (windows, total count, sum of sums): what every variant must agree on.
type Digest = (usize, u64, f64);

/// The simplest good single-threaded implementation: one hash map fold.
fn baseline(obs: impl Iterator<Item = Observation>) -> Digest {
    let mut open: HashMap<(Metric, Area, i64), Accumulator> = HashMap::new();
    for o in obs {
        let w = window_of(o.event_ms, WINDOW_MS).0;
        open.entry((o.metric, o.area, w))
            .and_modify(|a| a.add(&o))
            .or_insert_with(|| Accumulator::new(&o));
    }
    let count = open.values().map(|a| a.count).sum();
    let sum = open.values().map(|a| a.sum).sum();
    (open.len(), count, sum)
}

/// The dataflow core with `workers` threads; each worker feeds its share
/// and advances time to the watermark after every batch.
fn dataflow(workers: usize, input: Arc<Source>) -> Digest {
    let digest = Arc::new(Mutex::new((0usize, 0u64, 0.0f64)));
    let out = digest.clone();
    timely::execute(timely::Config::process(workers), move |worker| {
        let (index, peers) = (worker.index(), worker.peers());
        let mut handle = InputHandle::<u64, CapacityContainerBuilder<Vec<Record>>>::new();
        let probe = ProbeHandle::new();
        let out = out.clone();
        worker.dataflow::<u64, _, _>(|scope| {
            windows(scope, scope.input_from(&mut handle), vec![WINDOW_MS])
                .inspect(move |o| {
                    if let Output::Window(w) = o
                        && w.is_final
                        && let Ok(mut d) = out.lock()
                    {
                        d.0 += 1;
                        d.1 += w.acc.count;
                        d.2 += w.acc.sum;
                    }
                })
                .probe_with(&probe);
        });
        const BATCH: usize = 4096;
        const MAX_IN_FLIGHT: usize = 16;
        let mut in_flight = std::collections::VecDeque::new();
        let total = input.len();
        let mut i = index * BATCH;
        while i < total {
            let end = (i + BATCH).min(total);
            let mut max_ms = 0;
            for j in i..end {
                let o = input.observation(j);
                max_ms = max_ms.max(o.event_ms);
                handle.send(Record::Observation(o));
            }
            let watermark = (max_ms - LATENESS_MS - T0_MS).max(0) as u64;
            if watermark > *handle.time() {
                handle.advance_to(watermark);
            }
            // Keep a bounded number of batches in flight, not lockstep.
            in_flight.push_back(*handle.time());
            worker.step();
            if in_flight.len() > MAX_IN_FLIGHT
                && let Some(oldest) = in_flight.pop_front()
            {
                while probe.less_than(&oldest) {
                    worker.step();
                }
            }
            i += BATCH * peers;
        }
        handle.close();
        while !probe.done() {
            worker.step();
        }
    })
    .expect("timely");
    *digest.lock().expect("digest")
}

/// Pre-decoded observations or raw JSON, decoded inside the workers.
enum Source {
    Decoded(Vec<Observation>),
    Json(Vec<Vec<u8>>),
}

impl Source {
    fn len(&self) -> usize {
        match self {
            Source::Decoded(v) => v.len(),
            Source::Json(v) => v.len(),
        }
    }

    fn observation(&self, i: usize) -> Observation {
        match self {
            Source::Decoded(v) => v[i],
            Source::Json(v) => decode(&v[i], i as i64),
        }
    }
}

/// Runs `f` this many times; the median damps a shared machine's noise.
const REPEATS: usize = 5;

/// events/s over the repeats: (median, min, max), and the digest.
struct Rate {
    median: f64,
    min: f64,
    max: f64,
}

/// Times `f` REPEATS times; every run must produce the same digest.
fn measure(events: usize, f: impl Fn() -> Digest) -> (Rate, Digest) {
    let mut rates = Vec::with_capacity(REPEATS);
    let mut digest: Option<Digest> = None;
    for _ in 0..REPEATS {
        let start = Instant::now();
        let d = f();
        rates.push(events as f64 / start.elapsed().as_secs_f64());
        if let Some(previous) = digest {
            assert_eq!((d.0, d.1), (previous.0, previous.1), "runs disagree");
        }
        digest = Some(d);
    }
    rates.sort_by(f64::total_cmp);
    let rate = Rate {
        median: rates[REPEATS / 2],
        min: rates[0],
        max: rates[REPEATS - 1],
    };
    (rate, digest.expect("at least one run"))
}

fn main() {
    let events: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(4_000_000);
    eprintln!("generating {events} events...");
    let obs = observations(events);
    let raw = json(&obs);
    println!(
        "events: {events}; cores: {}; median of {REPEATS} runs (min-max)",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "{:<34} {:>8} {:>14} {:>27} {:>12}",
        "implementation", "workers", "events/s", "range", "vs baseline"
    );
    let row = |name: &str, workers: usize, rate: &Rate, base: &Rate| {
        let range = format!("{:.0}-{:.0}", rate.min, rate.max);
        println!(
            "{name:<34} {workers:>8} {:>14.0} {range:>27} {:>11.2}x",
            rate.median,
            rate.median / base.median
        );
    };
    let (base, want) = measure(events, || baseline(obs.iter().copied()));
    row("baseline: hash-map fold (decoded)", 1, &base, &base);
    let decoded = Arc::new(Source::Decoded(obs));
    for workers in [1, 2] {
        let (rate, got) = measure(events, || dataflow(workers, decoded.clone()));
        assert_eq!((got.0, got.1), (want.0, want.1), "same windows");
        row("timely windows (decoded)", workers, &rate, &base);
    }
    let (base_json, want_json) = measure(events, || {
        baseline(raw.iter().enumerate().map(|(i, b)| decode(b, i as i64)))
    });
    assert_eq!(want_json.1, want.1);
    row("baseline: decode + fold (JSON)", 1, &base_json, &base_json);
    let json_input = Arc::new(Source::Json(raw));
    for workers in [1, 2] {
        let (rate, got) = measure(events, || dataflow(workers, json_input.clone()));
        assert_eq!((got.0, got.1), (want.0, want.1), "same windows");
        row("timely decode + windows (JSON)", workers, &rate, &base_json);
    }
}
