//! Phase 1, sustained ingest: steps of a steady event rate over the HTTP
//! ingest (the burst client, pacing its batches), each held for a while;
//! a step holds when the endpoint took the rate and the pipeline's Kafka
//! lag stayed bounded. Beside it, the broker's own ceiling: an idempotent
//! producer and a consumer on a scratch topic of the same broker.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context;
use rdkafka::{
    ClientConfig, Message,
    admin::{AdminClient, AdminOptions, NewTopic, TopicReplication},
    client::DefaultClientContext,
    consumer::{BaseConsumer, Consumer},
};
use serde::Serialize;
use time::OffsetDateTime;

use super::{Stack, now_ms, pipeline_lag};
use crate::burst::{self, BurstConfig};

/// One step of the ramp.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub target_per_s: f64,
    pub seconds: f64,
    pub accepted: usize,
    pub accepted_per_s: f64,
    pub retries: usize,
    pub abandoned: usize,
    /// Greatest lag seen during the step and just after it.
    pub peak_lag: f64,
    /// Lag when the step's last batch was acknowledged, and 5 s later
    /// (librdkafka reports lag every 5 s).
    pub end_lag: f64,
    pub held: bool,
    /// Lag samples: (seconds into the step, messages).
    pub lag_series: Vec<(f64, f64)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Ramp {
    pub steps: Vec<Step>,
    /// The greatest rate held, if any.
    pub sustained_per_s: Option<f64>,
    /// Lag under which a step counts as bounded: `lag_seconds` of the rate.
    pub lag_seconds: f64,
}

/// Runs the steps in order, stopping at the first that does not hold.
pub async fn ramp(
    stack: &Stack,
    rates: &[f64],
    step_seconds: f64,
    lag_seconds: f64,
) -> anyhow::Result<Ramp> {
    let http = reqwest::Client::new();
    let mut steps = Vec::new();
    for &rate in rates {
        wait_caught_up(
            &http,
            &stack.pipeline_metrics,
            1_000.0,
            Duration::from_secs(120),
        )
        .await;
        eprintln!("  ingest: {rate:.0} events/s for {step_seconds:.0} s");
        let step = one_step(stack, &http, rate, step_seconds, lag_seconds).await?;
        eprintln!(
            "  ingest: accepted {:.0}/s, peak lag {:.0}, end lag {:.0}: {}",
            step.accepted_per_s,
            step.peak_lag,
            step.end_lag,
            if step.held { "held" } else { "not held" }
        );
        let held = step.held;
        steps.push(step);
        if !held {
            break;
        }
    }
    let sustained_per_s = steps
        .iter()
        .filter(|s| s.held)
        .map(|s| s.target_per_s)
        .reduce(f64::max);
    Ok(Ramp {
        steps,
        sustained_per_s,
        lag_seconds,
    })
}

/// A steady burst at `rate` for `seconds`, as [`ramp`]'s steps and the
/// freshness phase's background load send it.
pub fn steady(stack: &Stack, rate: f64, seconds: f64, tag: &str) -> BurstConfig {
    // About four batches a second over four connections, at most 5,000 records each.
    let batch = ((rate / 4.0).ceil() as usize).clamp(50, 5_000);
    BurstConfig {
        endpoint: stack.ingest.clone(),
        token: stack.ingest_token.clone(),
        agency: "HII".to_owned(),
        run_id: format!("bench-{tag}-{}", now_ms() as u64),
        valid: (rate * seconds) as usize,
        junk: 0,
        batch,
        concurrency: 4,
        junk_first: false,
        rate: Some(rate),
        give_up_after: Duration::from_secs(60),
    }
}

async fn one_step(
    stack: &Stack,
    http: &reqwest::Client,
    rate: f64,
    seconds: f64,
    lag_seconds: f64,
) -> anyhow::Result<Step> {
    let config = steady(stack, rate, seconds, &format!("r{rate:.0}"));
    let started = Instant::now();
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (http, url, done) = (http.clone(), stack.pipeline_metrics.clone(), done.clone());
        tokio::spawn(async move {
            let mut series = Vec::new();
            while !done.load(Ordering::Relaxed) {
                if let Some(lag) = pipeline_lag(&http, &url).await {
                    series.push((started.elapsed().as_secs_f64(), lag));
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            series
        })
    };
    let report = burst::run(&config).await?;
    let sent_at = started.elapsed().as_secs_f64();
    // Two lag reports after the last acknowledgement.
    tokio::time::sleep(Duration::from_secs(6)).await;
    done.store(true, Ordering::Relaxed);
    let lag_series = sampler.await.context("lag sampler")?;
    let peak_lag = lag_series.iter().map(|s| s.1).fold(0.0, f64::max);
    let end_lag = lag_series
        .iter()
        .filter(|s| s.0 >= sent_at - 1.0)
        .map(|s| s.1)
        .fold(0.0, f64::max);
    let accepted_per_s = report.accepted as f64 / report.seconds.max(1e-9);
    let bound = (rate * lag_seconds).max(1_000.0);
    Ok(Step {
        target_per_s: rate,
        seconds: report.seconds,
        accepted: report.accepted,
        accepted_per_s,
        retries: report.retries,
        abandoned: report.abandoned,
        peak_lag,
        end_lag,
        // The endpoint took 95 % of the rate, lost nothing, and the
        // pipeline was less than `lag_seconds` of traffic behind.
        held: accepted_per_s >= 0.95 * rate && report.abandoned == 0 && end_lag <= bound,
        lag_series,
    })
}

/// Waits (up to `limit`) until the pipeline's lag is at most `under`.
pub async fn wait_caught_up(http: &reqwest::Client, url: &str, under: f64, limit: Duration) {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if pipeline_lag(http, url).await.is_some_and(|l| l <= under) {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// The broker's own ceiling on one scratch topic.
#[derive(Debug, Clone, Serialize)]
pub struct BrokerCeiling {
    pub messages: usize,
    pub message_bytes: usize,
    pub partitions: i32,
    /// Acknowledged messages per second (idempotent producer, acks=all).
    pub produce_per_s: f64,
    /// Messages per second from the first send to the last one consumed.
    pub produce_and_consume_per_s: f64,
}

/// Produces `messages` envelopes (as the HTTP ingest would) to a scratch
/// topic with the project's idempotent producer while a consumer reads
/// them back; deletes the topic afterwards.
pub async fn broker_ceiling(
    brokers: &str,
    messages: usize,
    partitions: i32,
) -> anyhow::Result<BrokerCeiling> {
    let topic = format!("pmoc.bench-scratch.{}", now_ms() as u64);
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()?;
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    admin
        .create_topics(
            &[NewTopic::new(
                &topic,
                partitions,
                TopicReplication::Fixed(1),
            )],
            &opts,
        )
        .await?
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .map_err(|(t, code)| anyhow::anyhow!("creating {t}: {code}"))?;

    let at = OffsetDateTime::now_utc();
    let payloads: Vec<(String, Vec<u8>)> = (0..messages)
        .map(|i| {
            let province = format!("{}", 10 + i % 80);
            let body = burst::rainfall(&format!("ceiling-{i}"), "HII", &province, at, 1.0);
            (province, body.into_bytes())
        })
        .collect();
    let message_bytes = payloads.first().map_or(0, |p| p.1.len());

    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", format!("{topic}-reader"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()?;
    consumer.subscribe(&[&topic])?;
    let started = Instant::now();
    let reader = tokio::task::spawn_blocking(move || -> anyhow::Result<Duration> {
        let mut read = 0usize;
        let deadline = Instant::now() + Duration::from_secs(600);
        while read < messages {
            anyhow::ensure!(Instant::now() < deadline, "read {read} of {messages}");
            if let Some(m) = consumer.poll(Duration::from_millis(200))
                && m?.payload().is_some()
            {
                read += 1;
            }
        }
        Ok(started.elapsed())
    });
    let publisher = pmoc_ingest::kafka::Publisher::new(brokers)?;
    publisher.send_all(&topic, payloads).await?;
    let produced = started.elapsed();
    let consumed = reader.await.context("consumer")??;
    if let Err(error) = admin.delete_topics(&[&topic], &opts).await {
        eprintln!("  (scratch topic {topic} not deleted: {error})");
    }
    Ok(BrokerCeiling {
        messages,
        message_bytes,
        partitions,
        produce_per_s: messages as f64 / produced.as_secs_f64(),
        produce_and_consume_per_s: messages as f64 / consumed.as_secs_f64(),
    })
}
