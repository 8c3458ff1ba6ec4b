//! Phase 2, freshness: from an event's production to its value in the
//! server's push, under a steady background load, next to a conventional
//! dashboard that polls ClickHouse every 5 s (run in the same process).
//!
//! A probe is one `hii.rainfall` record for Bangkok whose `rain_1h_mm` is
//! greater than any real reading (the simulators stay under 300 mm) and
//! grows with the time into its hour. The wall's nation headline of
//! `rain_1h_mm` is the hour's maximum, so the probe is visible exactly
//! when that window's value reaches it, and later probes never hide
//! earlier ones. All probes go to one province, hence one partition, in
//! order.
//!
//! With the wall's kiosk URL, the same probes are also timed to the DOM:
//! headless Chromium shows the wall at 1920x1080 and a `MutationObserver`
//! logs every change of the nation's `rain_1h_mm` headline with its time
//! (`Date.now()`, the same clock as the producer's). A probe is in the DOM
//! when the headline reads at least its value (shown to 0.1 mm; probes
//! grow 0.14 mm a second, so each reads differently).

use std::{
    collections::BTreeMap,
    path::Path,
    sync::{Arc, Mutex},
    time::Duration,
};

use anyhow::Context;
use clickhouse::Row;
use pmoc_schemas::calendar::window_of;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{SseReader, Stack, Summary, now_ms, summarise};
use crate::{browser::Browser, burst};

const HOUR_MS: i64 = 3_600_000;
const METRIC: &str = "rain_1h_mm";

/// One probe and when each reader first saw it.
#[derive(Debug, Clone, Serialize)]
pub struct Probe {
    pub value: f64,
    pub window_start_ms: i64,
    pub produced_ms: f64,
    pub pushed_ms: Option<f64>,
    pub polled_ms: Option<f64>,
    pub dom_ms: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Freshness {
    pub background_per_s: f64,
    pub probes: usize,
    /// Production to the first `wall` push carrying the value (ms).
    pub push_ms: Summary,
    /// Production to the first 5 s poll of ClickHouse that sees it (ms).
    pub poll_5s_ms: Summary,
    /// Production to the wall's headline in headless Chromium (ms); `None`
    /// without a kiosk URL or when the wall shows no `rain_1h_mm` headline.
    pub dom_ms: Option<Summary>,
    /// Poll p50 over push p50: how many times fresher the push is.
    pub ratio_p50: f64,
    pub not_pushed: usize,
    pub not_polled: usize,
    pub samples: Vec<Probe>,
}

/// The probe value for an event at `at_ms`: 500 mm plus the time into its
/// hour (0-500 mm over the hour, 0.139 mm a second).
fn probe_value(at_ms: i64) -> (f64, i64) {
    let (start, _) = window_of(at_ms, HOUR_MS);
    let v = 500.0 + (at_ms - start) as f64 / 7_200.0;
    ((v * 1e4).round() / 1e4, start)
}

type Probes = Arc<Mutex<Vec<Probe>>>;

/// Runs a background burst at `rate` for `seconds`, one probe a second;
/// with `wall_url`, also times the probes to the wall's DOM.
pub async fn run(
    stack: &Stack,
    rate: f64,
    seconds: f64,
    wall_url: Option<&str>,
    scratch: &Path,
) -> anyhow::Result<Freshness> {
    let probes: Probes = Arc::new(Mutex::new(Vec::new()));
    let wall = match wall_url {
        Some(url) => match DomLog::open(url, &scratch.join("browser-fresh")).await {
            Ok(w) => Some(w),
            Err(error) => {
                eprintln!("  freshness: no DOM timing: {error:#}");
                None
            }
        },
        None => None,
    };
    let http = reqwest::Client::new();
    let mut sse = SseReader::open(
        &http,
        &format!("{}/api/stream?committee=water", stack.dashboard),
        &stack.cookie,
    )
    .await?;
    let watcher = {
        let probes = probes.clone();
        tokio::spawn(async move {
            // The wall as the browser rebuilds it from full pushes and deltas.
            let mut held = pmoc_schemas::delta::Held::default();
            while let Ok(Some(event)) = sse.next().await {
                let rebuilt = match event.name.as_str() {
                    "wall" => serde_json::from_str(&event.data)
                        .map(|state| held = pmoc_schemas::delta::Held::full(state))
                        .is_ok(),
                    "wall-delta" => serde_json::from_str(&event.data)
                        .ok()
                        .is_some_and(|delta| held.next(&delta).is_ok()),
                    _ => false,
                };
                if !rebuilt {
                    continue;
                }
                let maxima = nation_maxima(&held.state);
                mark(&probes, &maxima, event.at_ms, |p| &mut p.pushed_ms);
            }
        })
    };
    let poller = {
        let (probes, client) = (probes.clone(), pmoc_store::client(&stack.clickhouse));
        tokio::spawn(async move {
            // A conventional dashboard's timer, started at an arbitrary phase.
            let mut every = tokio::time::interval(Duration::from_secs(5));
            loop {
                every.tick().await;
                let from_s = (now_ms() as i64 - 2 * HOUR_MS) / 1000;
                match poll_maxima(&client, from_s).await {
                    Ok(maxima) => mark(&probes, &maxima, now_ms(), |p| &mut p.polled_ms),
                    Err(error) => eprintln!("  freshness: 5 s poll failed: {error:#}"),
                }
            }
        })
    };

    let background = (rate > 0.0).then(|| {
        let config = super::ingest::steady(stack, rate, seconds, "fresh");
        tokio::spawn(async move { burst::run(&config).await })
    });
    let client = reqwest::Client::new();
    let ticks = seconds.max(1.0) as usize;
    for i in 0..ticks {
        let produced_ms = now_ms();
        let (value, window_start_ms) = probe_value(produced_ms as i64);
        let at = OffsetDateTime::from_unix_timestamp_nanos(produced_ms as i128 * 1_000_000)?;
        let id = format!("bench-probe-{}-{i}", produced_ms as u64);
        // Its own gauge: the background load's Bangkok gauge reports later
        // times, and a gauge's latest report is what the hour's maximum
        // takes, so a shared gauge would hide the probe within seconds.
        let body = burst::rainfall_at(&id, "HII", "10", "BENCH-PROBE", at, value);
        let answer = client
            .post(&stack.ingest)
            .bearer_auth(&stack.ingest_token)
            .header("content-type", "application/x-ndjson")
            .body(body)
            .send()
            .await?;
        if answer.status().is_success() {
            lock(&probes)?.push(Probe {
                value,
                window_start_ms,
                produced_ms,
                pushed_ms: None,
                polled_ms: None,
                dom_ms: None,
            });
        } else {
            eprintln!("  freshness: probe answered {}", answer.status());
        }
        tokio::time::sleep_until(
            tokio::time::Instant::now() + Duration::from_secs(1)
                - Duration::from_millis((now_ms() - produced_ms).clamp(0.0, 999.0) as u64),
        )
        .await;
    }
    if let Some(background) = background {
        let report = background.await.context("background load")??;
        eprintln!(
            "  freshness: background load {:.0} accepted/s",
            report.accepted_per_second
        );
    }
    // Stragglers: until both readers saw every probe, or 30 s.
    let deadline = now_ms() + 30_000.0;
    while now_ms() < deadline {
        let all = lock(&probes)?
            .iter()
            .all(|p| p.pushed_ms.is_some() && p.polled_ms.is_some());
        if all {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    watcher.abort();
    poller.abort();
    let mut samples = lock(&probes)?.clone();
    let dom_seen = match wall {
        Some(wall) => {
            let log = wall.log().await;
            wall.close().await;
            match log {
                Ok(log) if !log.is_empty() => {
                    mark_dom(&mut samples, &log);
                    true
                }
                Ok(_) => false,
                Err(error) => {
                    eprintln!("  freshness: reading the DOM log: {error:#}");
                    false
                }
            }
        }
        None => false,
    };
    let latency = |f: fn(&Probe) -> Option<f64>| -> Vec<f64> {
        samples
            .iter()
            .map(|p| f(p).map_or(f64::NAN, |t| t - p.produced_ms))
            .collect()
    };
    let push_ms = summarise(&latency(|p| p.pushed_ms));
    let poll_5s_ms = summarise(&latency(|p| p.polled_ms));
    let dom_ms = dom_seen.then(|| summarise(&latency(|p| p.dom_ms)));
    Ok(Freshness {
        dom_ms,
        background_per_s: rate,
        probes: samples.len(),
        ratio_p50: poll_5s_ms.p50 / push_ms.p50,
        not_pushed: samples.iter().filter(|p| p.pushed_ms.is_none()).count(),
        not_polled: samples.iter().filter(|p| p.polled_ms.is_none()).count(),
        push_ms,
        poll_5s_ms,
        samples,
    })
}

fn lock(probes: &Probes) -> anyhow::Result<std::sync::MutexGuard<'_, Vec<Probe>>> {
    probes.lock().map_err(|_| anyhow::anyhow!("poisoned"))
}

/// Stamps every probe not yet seen whose window's maximum reached it.
fn mark(
    probes: &Probes,
    maxima: &BTreeMap<i64, f64>,
    at_ms: f64,
    field: fn(&mut Probe) -> &mut Option<f64>,
) {
    let Ok(mut probes) = probes.lock() else {
        return;
    };
    for p in probes.iter_mut() {
        let seen = maxima
            .get(&p.window_start_ms)
            .is_some_and(|&m| m >= p.value - 1e-6);
        let slot = field(p);
        if seen && slot.is_none() {
            *slot = Some(at_ms);
        }
    }
}

/// The nation's `rain_1h_mm` by window start, from a pushed wall snapshot.
fn nation_maxima(wall: &serde_json::Value) -> BTreeMap<i64, f64> {
    let mut out = BTreeMap::new();
    let panels = wall["panels"].as_array().into_iter().flatten();
    for series in panels.flat_map(|p| p["series"].as_array().into_iter().flatten()) {
        if series["metric"] != METRIC {
            continue;
        }
        for point in series["points"].as_array().into_iter().flatten() {
            if let (Some(start), Some(v)) =
                (point["window_start_ms"].as_i64(), point["value"].as_f64())
            {
                out.insert(start, v);
            }
        }
    }
    out
}

/// Stamps each probe with the first DOM change, at or after its
/// production, whose headline reads at least its value as shown (0.1 mm).
/// A reading more than 50 mm above is another hour's maximum, not this one.
fn mark_dom(probes: &mut [Probe], log: &[(f64, f64)]) {
    for p in probes.iter_mut() {
        let shown = (p.value * 10.0).round() / 10.0;
        p.dom_ms = log
            .iter()
            .find(|&&(at, v)| at >= p.produced_ms && v >= shown - 1e-6 && v < shown + 50.0)
            .map(|&(at, _)| at);
    }
}

/// Installed in the wall's page: logs `[Date.now(), text]` at each change of
/// the `rain_1h_mm` headline; answers whether the headline is there yet.
const DOM_LOG_JS: &str = r#"
const sel = '[data-metric="rain_1h_mm"] .headline';
if (!window.__pmocLog) {
  window.__pmocLog = [];
  const record = () => {
    const e = document.querySelector(sel);
    if (!e) return;
    const t = e.textContent.trim();
    const log = window.__pmocLog;
    if (log.length === 0 || log[log.length - 1][1] !== t) log.push([Date.now(), t]);
  };
  new MutationObserver(record).observe(document.body,
    { subtree: true, childList: true, characterData: true });
  record();
}
return document.querySelector(sel) !== null;
"#;

/// The wall in headless Chromium, logging its `rain_1h_mm` headline.
struct DomLog {
    browser: Browser,
}

impl DomLog {
    async fn open(url: &str, dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let browser = Browser::start(dir, 1920, 1080).await?;
        let installed = async {
            browser.client.goto(url).await?;
            let started = std::time::Instant::now();
            loop {
                let there = browser.client.execute(DOM_LOG_JS, vec![]).await?;
                if there.as_bool() == Some(true) {
                    return Ok(());
                }
                anyhow::ensure!(
                    started.elapsed() < Duration::from_secs(60),
                    "the wall shows no rain_1h_mm headline within 60 s"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        .await;
        match installed {
            Ok(()) => Ok(Self { browser }),
            Err(error) => {
                let _ = browser.close().await;
                Err(error)
            }
        }
    }

    /// The log as (time ms, headline as a number); unreadable texts skipped.
    async fn log(&self) -> anyhow::Result<Vec<(f64, f64)>> {
        let v = self
            .browser
            .client
            .execute("return window.__pmocLog || [];", vec![])
            .await?;
        let raw: Vec<(f64, String)> = serde_json::from_value(v)?;
        Ok(raw
            .into_iter()
            .filter_map(|(at, text)| {
                let figure: String = text
                    .chars()
                    .take_while(|c| !c.is_whitespace())
                    .filter(|c| *c != ',')
                    .collect();
                figure.parse::<f64>().ok().map(|v| (at, v))
            })
            .collect())
    }

    async fn close(self) {
        if let Err(error) = self.browser.close().await {
            eprintln!("  freshness: closing the browser: {error:#}");
        }
    }
}

#[derive(Debug, Row, Deserialize)]
struct Maximum {
    start: u32,
    top: f64,
}

/// What a dashboard polling ClickHouse directly sees: the same window's
/// maximum of the same metric at the nation level.
async fn poll_maxima(
    client: &clickhouse::Client,
    from_s: i64,
) -> anyhow::Result<BTreeMap<i64, f64>> {
    let rows: Vec<Maximum> = client
        .query(
            "SELECT toUInt32(window_start) AS start, max(max) AS top
             FROM window_aggregates FINAL
             WHERE metric = ? AND area_level = 'nation' AND window_seconds = 3600
               AND toUInt32(window_start) >= ?
             GROUP BY start",
        )
        .bind(METRIC)
        .bind(from_s)
        .fetch_all()
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| (i64::from(r.start) * 1000, r.top))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_probe_is_in_the_dom_when_its_hours_headline_reaches_it() {
        let probe = |value, produced_ms| Probe {
            value,
            window_start_ms: 0,
            produced_ms,
            pushed_ms: None,
            polled_ms: None,
            dom_ms: None,
        };
        let mut probes = [
            probe(600.04, 1_000.0),
            probe(600.18, 2_000.0),
            probe(601.0, 3_000.0),
        ];
        // Before production, below the value, another hour's 990: not it.
        let log = [
            (900.0, 600.0),
            (1_500.0, 990.0),
            (1_700.0, 600.0),
            (2_600.0, 600.2),
        ];
        mark_dom(&mut probes, &log);
        assert_eq!(probes[0].dom_ms, Some(1_700.0));
        assert_eq!(probes[1].dom_ms, Some(2_600.0));
        assert_eq!(probes[2].dom_ms, None);
    }

    #[test]
    fn probe_values_grow_within_an_hour_and_stay_valid() {
        let start = 1_790_000_000_000 - 1_790_000_000_000 % HOUR_MS;
        let (a, wa) = probe_value(start + 1_000);
        let (b, wb) = probe_value(start + 2_000);
        let (c, _) = probe_value(start + HOUR_MS - 1);
        assert_eq!((wa, wb), (start, start));
        assert!(a > 500.0 && b > a && c <= 1000.0, "{a} {b} {c}");
    }
}
