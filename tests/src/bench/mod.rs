//! The whole-stack benchmark (`pmoc-bench`, `scripts/bench.sh`): measures a
//! running local stack (`scripts/up.sh`) phase by phase and reports figures,
//! never pass or fail. Each phase is a module; this one holds what they
//! share: percentiles, a Server-Sent Events reader, the signed-in session
//! and a clock common to every task of the process.

pub mod api;
pub mod fanout;
pub mod fresh;
pub mod ingest;
pub mod load;
pub mod wall;

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use serde::Serialize;

/// Wall-clock milliseconds: production and arrival are stamped by the same
/// process, so their difference is a latency without clock skew.
pub fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or_default()
}

/// A distribution's summary, in the unit of its samples.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Summary {
    pub n: usize,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
    pub mean: f64,
}

/// The `q`-quantile (0..=1) of sorted samples by the nearest-rank method:
/// the smallest sample with at least `q` of the samples at or below it, so
/// every figure reported is one that was measured.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (q.clamp(0.0, 1.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Summarises samples (NaN ones are ignored); all NaN when there are none.
pub fn summarise(samples: &[f64]) -> Summary {
    let mut s: Vec<f64> = samples.iter().copied().filter(|v| !v.is_nan()).collect();
    s.sort_by(f64::total_cmp);
    if s.is_empty() {
        return Summary {
            n: 0,
            p50: f64::NAN,
            p95: f64::NAN,
            p99: f64::NAN,
            max: f64::NAN,
            mean: f64::NAN,
        };
    }
    Summary {
        n: s.len(),
        p50: quantile(&s, 0.50),
        p95: quantile(&s, 0.95),
        p99: quantile(&s, 0.99),
        max: s[s.len() - 1],
        mean: s.iter().sum::<f64>() / s.len() as f64,
    }
}

/// Where the stack is and who the benchmark signs in as.
#[derive(Debug, Clone)]
pub struct Stack {
    /// `http://127.0.0.1:8080`.
    pub dashboard: String,
    /// `http://127.0.0.1:8090/v1/events`.
    pub ingest: String,
    pub ingest_token: String,
    /// `http://127.0.0.1:9464/metrics`.
    pub pipeline_metrics: String,
    pub clickhouse: pmoc_schemas::config::ClickHouseSettings,
    pub brokers: String,
    /// `Cookie` header value of a signed-in operator.
    pub cookie: String,
}

/// Signs `user` in through the sign-in form; returns the session cookie.
pub async fn sign_in(base: &str, user: &str, password: &str) -> anyhow::Result<String> {
    let response = crate::auth::post_sign_in(base, user, password).await?;
    anyhow::ensure!(
        response.status() == reqwest::StatusCode::SEE_OTHER,
        "signing {user} in at {base} answered {}: is the password in .state/operator-password?",
        response.status()
    );
    crate::auth::set_cookie(&response, "pmoc_session").context("no session cookie")
}

/// The pipeline's Kafka lag (messages, every partition summed), from its
/// Prometheus text; `None` when it cannot be read.
pub async fn pipeline_lag(http: &reqwest::Client, metrics_url: &str) -> Option<f64> {
    let text = http.get(metrics_url).send().await.ok()?.text().await.ok()?;
    Some(
        text.lines()
            .filter(|l| l.starts_with("pmoc_pipeline_kafka_lag_messages"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum(),
    )
}

/// One Server-Sent Event: its name, its data and when its last byte came.
#[derive(Debug, Clone)]
pub struct SseEvent {
    pub name: String,
    pub data: String,
    pub at_ms: f64,
    /// Bytes of the event on the wire (field names and newlines included).
    pub bytes: usize,
}

/// Reads events from an `text/event-stream` response as they arrive.
#[derive(Debug)]
pub struct SseReader {
    response: reqwest::Response,
    buffer: Vec<u8>,
    /// How much of `buffer` is known to hold no blank line (an 85 KB
    /// event comes in many chunks: each is searched once).
    scanned: usize,
}

impl SseReader {
    /// Opens `url` with `cookie`; fails unless it answers 200.
    pub async fn open(http: &reqwest::Client, url: &str, cookie: &str) -> anyhow::Result<Self> {
        let response = http
            .get(url)
            .header(reqwest::header::COOKIE, cookie)
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .send()
            .await?;
        anyhow::ensure!(
            response.status().is_success(),
            "{url} answered {}",
            response.status()
        );
        Ok(Self {
            response,
            buffer: Vec::new(),
            scanned: 0,
        })
    }

    /// The next event (comments, such as keep-alives, skipped); `None` at
    /// the end of the stream.
    pub async fn next(&mut self) -> anyhow::Result<Option<SseEvent>> {
        loop {
            let from = self.scanned.saturating_sub(1);
            if let Some((len, with_blank)) = find_blank_line(&self.buffer[from..]) {
                let block: Vec<u8> = self.buffer.drain(..from + with_blank).collect();
                self.scanned = 0;
                if let Some(event) = parse_block(&block[..from + len], now_ms()) {
                    return Ok(Some(event));
                }
                continue;
            }
            self.scanned = self.buffer.len();
            match self.response.chunk().await? {
                Some(chunk) => self.buffer.extend_from_slice(&chunk),
                None => return Ok(None),
            }
        }
    }
}

/// The end of the first event block: (its length, with the blank line).
fn find_blank_line(buffer: &[u8]) -> Option<(usize, usize)> {
    buffer
        .windows(2)
        .position(|w| w == b"\n\n")
        .map(|i| (i, i + 2))
}

fn parse_block(block: &[u8], at_ms: f64) -> Option<SseEvent> {
    let text = String::from_utf8_lossy(block);
    let (mut name, mut data) = (String::from("message"), String::new());
    let mut any = false;
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("event:") {
            name = v.trim_start().to_owned();
            any = true;
        } else if let Some(v) = line.strip_prefix("data:") {
            if !data.is_empty() {
                data.push('\n');
            }
            data.push_str(v.strip_prefix(' ').unwrap_or(v));
            any = true;
        }
    }
    any.then(|| SseEvent {
        name,
        data,
        at_ms,
        bytes: block.len() + 2,
    })
}

/// A number as a table cell: `-` for none, no decimals from 100 on.
pub fn cell(v: f64) -> String {
    if v.is_nan() {
        "-".to_owned()
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_quantiles_are_measured_samples() {
        let samples: Vec<f64> = (1..=100).map(f64::from).rev().collect();
        let s = summarise(&samples);
        assert_eq!(
            (s.n, s.p50, s.p95, s.p99, s.max),
            (100, 50.0, 95.0, 99.0, 100.0)
        );
        assert!((s.mean - 50.5).abs() < 1e-9);
        let one = summarise(&[7.0, f64::NAN]);
        assert_eq!((one.n, one.p50, one.p99), (1, 7.0, 7.0));
        assert!(summarise(&[]).p50.is_nan());
        // Ten samples: p95 and p99 are the greatest, p50 the fifth.
        let ten: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(quantile(&ten, 0.5), 5.0);
        assert_eq!(quantile(&ten, 0.95), 10.0);
    }

    #[test]
    fn event_stream_blocks_parse_with_names_data_and_size() {
        let raw = b": keep-alive\n\nevent: wall\ndata: {\"a\":1}\n\n";
        let first = find_blank_line(raw).map(|e| e.0);
        assert_eq!(first, Some(12));
        assert!(parse_block(&raw[..12], 0.0).is_none(), "a comment only");
        let rest = &raw[14..];
        let end = find_blank_line(rest).map(|e| e.0).unwrap_or_default();
        let event = parse_block(&rest[..end], 1.0);
        let event = event
            .as_ref()
            .map(|e| (e.name.as_str(), e.data.as_str(), e.bytes));
        assert_eq!(event, Some(("wall", "{\"a\":1}", rest.len())));
    }
}
