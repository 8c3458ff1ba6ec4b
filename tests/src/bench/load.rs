//! Stored history for the drill-down phase, loaded fast: `events` synthetic
//! `hii.rainfall` readings spread evenly over `days` days (ending two hours
//! ago, clear of the live windows) across all 928 districts, folded here
//! into the final windows the pipeline would store for them (district,
//! province, both region schemes and the nation; every configured width;
//! count, sum, min, max, last) and inserted as the store's own
//! [`WindowRow`]s through [`pmoc_store::Store::insert`], the pipeline
//! writer's call. It is not the pipeline's path (no Kafka, no running
//! rows): a bulk path producing the same final table rows.

use std::{collections::HashMap, time::Instant};

use pmoc_schemas::{
    aggregate::{AreaLevel, WindowAggregate},
    area::{NATION_CODE, province},
    calendar::window_of,
    district::districts,
    metric::MetricId,
};
use pmoc_store::{Store, WindowRow};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Loaded {
    pub events: usize,
    pub days: f64,
    pub rows: usize,
    pub seconds: f64,
    pub rows_per_s: f64,
    pub events_per_s: f64,
}

/// One window being folded.
#[derive(Debug, Clone, Copy)]
struct Acc {
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
    last: f64,
    last_ms: i64,
}

impl Acc {
    fn add(&mut self, v: f64, at_ms: i64) {
        self.count += 1;
        self.sum += v;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        if at_ms >= self.last_ms {
            (self.last, self.last_ms) = (v, at_ms);
        }
    }
}

type Key = (MetricId, AreaLevel, String);

/// Folds one width's current window; rows come out when it closes.
struct Width {
    width_ms: i64,
    start_ms: Option<i64>,
    open: HashMap<Key, Acc>,
}

impl Width {
    fn close(&mut self, out: &mut Vec<WindowRow>) {
        let Some(start) = self.start_ms else {
            return;
        };
        let end = start + self.width_ms;
        for ((metric, level, code), a) in self.open.drain() {
            let aggregate = WindowAggregate {
                metric,
                area_level: level,
                area_code: code,
                window_start_ms: start,
                window_end_ms: end,
                count: a.count,
                sum: a.sum,
                // A flow: every report weighs one.
                weight: a.count as f64,
                min: a.min,
                max: a.max,
                last: a.last,
                last_event_time_ms: a.last_ms,
                p50: None,
                p95: None,
                is_final: true,
            };
            // Stored as final 30 s (the allowed lateness) after its end.
            out.push(WindowRow::new(&aggregate, end + 30_000));
        }
    }
}

/// Loads the history; inserts in batches of `batch` rows.
pub async fn load(
    store: &Store,
    events: usize,
    days: f64,
    widths_s: &[u32],
    batch: usize,
) -> anyhow::Result<Loaded> {
    let started = Instant::now();
    let span_ms = (days * 86_400_000.0) as i64;
    let end_ms = super::now_ms() as i64 - 2 * 3_600_000;
    let t0 = end_ms - span_ms;
    let all = districts();
    anyhow::ensure!(!all.is_empty(), "no districts in the reference list");
    let mut widths: Vec<Width> = widths_s
        .iter()
        .map(|&w| Width {
            width_ms: i64::from(w) * 1000,
            start_ms: None,
            open: HashMap::new(),
        })
        .collect();
    let mut rows = Vec::with_capacity(batch);
    let mut stored = 0usize;
    for i in 0..events {
        let at = t0 + (i as i128 * span_ms as i128 / events.max(1) as i128) as i64;
        // A fixed stride over the districts: every district, evenly.
        let d = &all[(i * 7_919) % all.len()];
        let Some(p) = province(&d.province_code) else {
            continue;
        };
        let rain_1h = ((i * 37) % 3_000) as f64 / 10.0;
        let rain_24h = ((i * 53) % 9_000) as f64 / 10.0;
        let areas = [
            (AreaLevel::District, d.code.as_str()),
            (AreaLevel::Province, p.code.as_str()),
            (AreaLevel::Region4, p.region4.as_str()),
            (AreaLevel::Region6, p.region6.as_str()),
            (AreaLevel::Nation, NATION_CODE),
        ];
        for w in &mut widths {
            let (start, _) = window_of(at, w.width_ms);
            if w.start_ms != Some(start) {
                w.close(&mut rows);
                w.start_ms = Some(start);
            }
            for (metric, v) in [(MetricId::Rain1h, rain_1h), (MetricId::Rain24h, rain_24h)] {
                for (level, code) in areas {
                    w.open
                        .entry((metric, level, code.to_owned()))
                        .or_insert(Acc {
                            count: 0,
                            sum: 0.0,
                            min: f64::INFINITY,
                            max: f64::NEG_INFINITY,
                            last: v,
                            last_ms: i64::MIN,
                        })
                        .add(v, at);
                }
            }
        }
        if rows.len() >= batch {
            stored += store.insert(&rows).await?;
            rows.clear();
        }
    }
    for w in &mut widths {
        w.close(&mut rows);
    }
    stored += store.insert(&rows).await?;
    let seconds = started.elapsed().as_secs_f64();
    Ok(Loaded {
        events,
        days,
        rows: stored,
        seconds,
        rows_per_s: stored as f64 / seconds,
        events_per_s: events as f64 / seconds,
    })
}

/// How the bulk load's merges ended before the drill-down was measured.
#[derive(Debug, Clone, Serialize)]
pub struct Settled {
    /// Waited for ClickHouse to finish merging the loaded parts.
    pub seconds: f64,
    /// Whether no merge of the table ran for three polls in a row
    /// (`false`: the limit came first, and the phase ran during merges).
    pub quiet: bool,
    pub active_parts: u64,
}

/// Waits, up to `limit`, until ClickHouse runs no merge of
/// `window_aggregates` three polls in a row. A bulk load lands in a few
/// seconds what the pipeline stores over days, in hundreds of parts whose
/// merges then take most of a core for minutes: measured during them, the
/// drill-down would report the load's aftermath, not its steady state (the
/// live feed's own small merges finish between polls).
pub async fn settle(
    client: &clickhouse::Client,
    limit: std::time::Duration,
) -> anyhow::Result<Settled> {
    let started = Instant::now();
    let mut quiet_polls = 0;
    let mut said = Instant::now();
    loop {
        let merges: u64 = client
            .query(
                "SELECT count() FROM system.merges \
                 WHERE database = currentDatabase() AND table = 'window_aggregates'",
            )
            .fetch_one()
            .await?;
        quiet_polls = if merges == 0 { quiet_polls + 1 } else { 0 };
        let done = quiet_polls >= 3;
        if done || started.elapsed() >= limit || said.elapsed().as_secs() >= 15 {
            let active_parts: u64 = client
                .query(
                    "SELECT count() FROM system.parts WHERE database = currentDatabase() \
                     AND table = 'window_aggregates' AND active",
                )
                .fetch_one()
                .await?;
            if done || started.elapsed() >= limit {
                return Ok(Settled {
                    seconds: started.elapsed().as_secs_f64(),
                    quiet: done,
                    active_parts,
                });
            }
            eprintln!(
                "  merging the loaded parts: {merges} merges running, {active_parts} parts, {:.0} s",
                started.elapsed().as_secs_f64()
            );
            said = Instant::now();
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}
