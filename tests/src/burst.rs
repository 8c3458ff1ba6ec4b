//! A burst of agency traffic against the HTTP ingest endpoint, sent the way
//! a well-behaved client would: NDJSON batches from several connections as
//! fast as they are taken, each batch sent again, unchanged, after the
//! `Retry-After` of a 429 or 503 (event ids make that safe). Used by the
//! burst test and by `pmoc-burst` (the broker evaluation on the local stack).

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::Context;
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use time::{OffsetDateTime, format_description::well_known::Rfc3339, macros::offset};

/// Provinces the valid records are spread over (every region).
const PROVINCES: [&str; 16] = [
    "10", "12", "14", "18", "30", "34", "40", "44", "50", "53", "57", "65", "80", "84", "90", "96",
];

/// What to send.
#[derive(Debug, Clone)]
pub struct BurstConfig {
    /// `http://host:port/v1/events`.
    pub endpoint: String,
    pub token: String,
    /// The token's agency: the valid records' `source_agency`.
    pub agency: String,
    /// Prefix of every event id, so runs never collide.
    pub run_id: String,
    pub valid: usize,
    pub junk: usize,
    pub batch: usize,
    /// Connections sending at once.
    pub concurrency: usize,
    /// Junk first (in batches of its own, then the valid records), or mixed
    /// into every batch.
    pub junk_first: bool,
    /// Records per second at most, over all connections; `None`: no limit.
    pub rate: Option<f64>,
    /// Give up on a batch after this long of retrying.
    pub give_up_after: Duration,
}

/// What happened.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct BurstReport {
    pub records_sent: usize,
    pub accepted: usize,
    pub rejected: usize,
    pub batches: usize,
    /// Answers by status code, retries included.
    pub statuses: BTreeMap<u16, usize>,
    /// Batches sent again after a 429 or 503 (or a connection error).
    pub retries: usize,
    /// Batches abandoned after `give_up_after`.
    pub abandoned: usize,
    pub seconds: f64,
    /// Accepted records per second over the whole run.
    pub accepted_per_second: f64,
    /// Ids of every valid record the endpoint acknowledged.
    #[serde(skip)]
    pub accepted_ids: Vec<String>,
}

/// One record of a batch, rendered when the batch is first sent.
#[derive(Debug, Clone, Copy)]
enum Record {
    Valid(usize),
    Junk(usize),
}

/// One batch: its records and the ids of its valid ones.
#[derive(Debug, Clone)]
struct Batch {
    records: Vec<Record>,
    valid_ids: Vec<String>,
}

impl Batch {
    /// NDJSON lines timed `at`: the moment of the first send, so a burst
    /// that takes minutes is as current as a real client's records; a
    /// resend sends these very bytes again.
    fn render(&self, config: &BurstConfig, at: OffsetDateTime) -> String {
        self.records
            .iter()
            .map(|r| match *r {
                Record::Valid(i) => {
                    let p = PROVINCES[i % PROVINCES.len()];
                    let mm = (i % 50) as f64 / 2.0;
                    rainfall(&valid_id(config, i), &config.agency, p, at, mm)
                }
                Record::Junk(i) => junk(i, &format!("{}-j{i}", config.run_id), &config.agency, at),
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn valid_id(config: &BurstConfig, i: usize) -> String {
    format!("{}-v{i}", config.run_id)
}

/// A valid `hii.rainfall` envelope timed `at` (Bangkok offset).
pub fn rainfall(id: &str, agency: &str, province: &str, at: OffsetDateTime, mm: f64) -> String {
    rainfall_at(id, agency, province, &format!("BURST-{province}"), at, mm)
}

/// A `hii.rainfall` record of one named gauge: a level's latest report per
/// station is what counts, so a probe needs a gauge no other load reports.
pub fn rainfall_at(
    id: &str,
    agency: &str,
    province: &str,
    station: &str,
    at: OffsetDateTime,
    mm: f64,
) -> String {
    let time = at
        .to_offset(offset!(+7))
        .format(&Rfc3339)
        .unwrap_or_default();
    format!(
        r#"{{"schema":"hii.rainfall","schema_version":1,"event_id":"{id}","source_agency":"{agency}","source_system":"telemetry","committee":"water","event_time":"{time}","area":{{"province":"{province}"}},"payload":{{"station_id":"{station}","rain_1h_mm":{mm},"rain_24h_mm":{mm}}}}}"#
    )
}

/// One of several kinds of record every validator must refuse.
fn junk(i: usize, id: &str, agency: &str, at: OffsetDateTime) -> String {
    match i % 6 {
        0 => format!("{{\"event_id\": \"{id}\", \"schema\": \"hii.rainfall\""),
        1 => rainfall(id, agency, "99", at, 1.0),
        2 => rainfall(id, "NOT-THIS-AGENCY", "10", at, 1.0),
        3 => rainfall(id, agency, "10", at + time::Duration::days(400), 1.0),
        4 => format!("[{i}]"),
        _ => format!("{{\"schema\":\"hii.rainfall\",\"event_id\":\"{id}\"}}"),
    }
}

fn batches(config: &BurstConfig) -> Vec<Batch> {
    let mut records: Vec<Record> = Vec::with_capacity(config.valid + config.junk);
    let valid = (0..config.valid).map(Record::Valid);
    let junk = (0..config.junk).map(Record::Junk);
    if config.junk_first {
        records.extend(junk);
        records.extend(valid);
    } else {
        // Interleaved evenly: every batch carries its share of junk.
        let (mut v, mut j) = (valid.peekable(), junk.peekable());
        let ratio = config.junk as f64 / (config.valid + config.junk).max(1) as f64;
        let mut owed = 0.0;
        while v.peek().is_some() || j.peek().is_some() {
            owed += ratio;
            if owed >= 1.0 && j.peek().is_some() || v.peek().is_none() {
                owed -= 1.0;
                records.extend(j.next());
            } else {
                records.extend(v.next());
            }
        }
    }
    records
        .chunks(config.batch.max(1))
        .map(|chunk| Batch {
            records: chunk.to_vec(),
            valid_ids: chunk
                .iter()
                .filter_map(|r| match *r {
                    Record::Valid(i) => Some(valid_id(config, i)),
                    Record::Junk(_) => None,
                })
                .collect(),
        })
        .collect()
}

#[derive(Debug, Deserialize)]
struct Answer {
    accepted: usize,
    rejected: Vec<serde_json::Value>,
}

/// Sends the burst and reports; fails only if the endpoint cannot be used
/// at all (a batch that never gets through is counted as abandoned).
pub async fn run(config: &BurstConfig) -> anyhow::Result<BurstReport> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()?;
    let queue = Arc::new(Mutex::new(
        batches(config).into_iter().rev().collect::<Vec<_>>(),
    ));
    let report = Arc::new(Mutex::new(BurstReport::default()));
    let started = Instant::now();
    let per_record = config
        .rate
        .map(|r| Duration::from_secs_f64(1.0 / r.max(0.001)));
    let next_slot = Arc::new(Mutex::new(Instant::now()));
    let mut senders = tokio::task::JoinSet::new();
    for _ in 0..config.concurrency.max(1) {
        let (client, queue, report, config) = (
            client.clone(),
            queue.clone(),
            report.clone(),
            config.clone(),
        );
        let next_slot = next_slot.clone();
        senders.spawn(async move {
            loop {
                let Some(batch) = queue.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.pop()
                else {
                    return anyhow::Ok(());
                };
                let lines = batch.records.len();
                if let Some(per) = per_record {
                    // Pace to the rate: each batch takes the next free slot.
                    let at = {
                        let mut slot = next_slot.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
                        let at = (*slot).max(Instant::now());
                        *slot = at + per * lines as u32;
                        at
                    };
                    tokio::time::sleep_until(at.into()).await;
                }
                send_batch(&client, &config, &batch, lines, &report).await?;
            }
        });
    }
    while let Some(done) = senders.join_next().await {
        done.context("burst sender")??;
    }
    let mut report = Arc::try_unwrap(report)
        .map_err(|_| anyhow::anyhow!("senders still running"))?
        .into_inner()
        .map_err(|_| anyhow::anyhow!("poisoned"))?;
    report.seconds = started.elapsed().as_secs_f64();
    report.accepted_per_second = report.accepted as f64 / report.seconds.max(1e-9);
    Ok(report)
}

/// Sends one batch until it is answered for good (or `give_up_after`).
async fn send_batch(
    client: &reqwest::Client,
    config: &BurstConfig,
    batch: &Batch,
    lines: usize,
    report: &Mutex<BurstReport>,
) -> anyhow::Result<()> {
    let first = Instant::now();
    let body = batch.render(config, OffsetDateTime::now_utc());
    let mut attempt = 0u32;
    loop {
        let sent = client
            .post(&config.endpoint)
            .bearer_auth(&config.token)
            .header("content-type", "application/x-ndjson")
            .body(body.clone())
            .send()
            .await;
        let wait = match sent {
            Ok(response) => {
                let status = response.status();
                let retry_after = response
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
                let body = response.bytes().await.unwrap_or_default();
                let mut r = report.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
                *r.statuses.entry(status.as_u16()).or_default() += 1;
                if matches!(
                    status,
                    StatusCode::OK | StatusCode::MULTI_STATUS | StatusCode::UNPROCESSABLE_ENTITY
                ) {
                    let answer: Answer = serde_json::from_slice(&body)
                        .with_context(|| format!("answer to a {status} batch"))?;
                    anyhow::ensure!(
                        answer.accepted == batch.valid_ids.len(),
                        "a batch of {} valid records had {} accepted: {}",
                        batch.valid_ids.len(),
                        answer.accepted,
                        String::from_utf8_lossy(&body[..body.len().min(400)])
                    );
                    r.batches += 1;
                    r.records_sent += lines;
                    r.accepted += answer.accepted;
                    r.rejected += answer.rejected.len();
                    r.accepted_ids.extend(batch.valid_ids.iter().cloned());
                    return Ok(());
                }
                anyhow::ensure!(
                    matches!(
                        status,
                        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
                    ),
                    "unexpected answer {status}: {}",
                    String::from_utf8_lossy(&body[..body.len().min(400)])
                );
                Duration::from_secs(retry_after.unwrap_or(1))
            }
            // The endpoint restarting or overloaded: back off and resend.
            Err(_) => Duration::from_millis(250 * 2u64.pow(attempt.min(4))),
        };
        attempt += 1;
        if first.elapsed() > config.give_up_after {
            let mut r = report.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
            r.abandoned += 1;
            return Ok(());
        }
        report
            .lock()
            .map_err(|_| anyhow::anyhow!("poisoned"))?
            .retries += 1;
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(junk_first: bool) -> BurstConfig {
        BurstConfig {
            endpoint: String::new(),
            token: String::new(),
            agency: "HII".to_owned(),
            run_id: "t".to_owned(),
            valid: 20,
            junk: 10,
            batch: 7,
            concurrency: 1,
            junk_first,
            rate: None,
            give_up_after: Duration::from_secs(1),
        }
    }

    #[test]
    fn batches_carry_every_record_once_in_the_asked_order() {
        for junk_first in [false, true] {
            let b = batches(&config(junk_first));
            assert_eq!(b.len(), 5);
            let now = OffsetDateTime::now_utc();
            let lines: usize = b
                .iter()
                .map(|b| b.render(&config(junk_first), now).lines().count())
                .sum();
            assert_eq!(lines, 30);
            let ids: Vec<&String> = b.iter().flat_map(|b| &b.valid_ids).collect();
            assert_eq!(ids.len(), 20);
            if junk_first {
                assert!(b[0].valid_ids.is_empty());
            } else {
                assert!(b.iter().all(|b| !b.valid_ids.is_empty()));
            }
        }
    }
}
