//! Phase 4, push fan-out: many signed-in `/api/stream` clients at once (as
//! wall screens and open pages are), each recording every `wall` push it
//! gets, whole or as a delta (its id is the snapshot's `generated_at_ms`),
//! when, and its size.
//! From those: how far apart the same push arrives, bytes per push per
//! client in steady state (the full snapshot a connection starts with
//! counted apart), and pushes a client never got; beside them the server's CPU and
//! resident memory from `/proc`.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::Arc,
    time::Duration,
};

use serde::Serialize;

use super::{SseReader, Summary, now_ms, summarise};

#[derive(Debug, Clone, Serialize)]
pub struct Fanout {
    pub clients: usize,
    pub connected: usize,
    pub seconds: f64,
    /// Distinct `wall` pushes produced while every client was listening.
    pub pushes: usize,
    /// Per push: last arrival minus first arrival over the clients (ms).
    pub spread_ms: Summary,
    /// Per push and client: arrival after the push's first arrival (ms).
    pub delay_after_first_ms: Summary,
    /// Mean size of one `wall` or `wall-delta` event on the wire in steady
    /// state: every push but the full snapshot a connection starts with.
    pub wall_bytes_per_push_per_client: f64,
    /// Mean size of the full snapshot a connection starts with.
    pub first_snapshot_bytes: f64,
    /// Full snapshots sent in steady state, per client (a delta would not
    /// have been much smaller, or the client fell behind).
    pub full_snapshots_per_client: f64,
    /// Every event (wall, water, health) per client per second.
    pub bytes_per_client_per_s: f64,
    /// Pushes some client got and another, listening all along, did not.
    pub dropped: usize,
    /// Server CPU over the phase, in cores (1.0 = one core busy).
    pub server_cpu_cores: Option<f64>,
    pub server_rss_mb_start: Option<f64>,
    pub server_rss_mb_peak: Option<f64>,
    pub client_errors: usize,
}

/// What one client saw.
#[derive(Debug, Default)]
struct Seen {
    /// Push id to arrival time (ms).
    walls: BTreeMap<i64, f64>,
    /// Size of the full snapshot the connection started with.
    first_bytes: usize,
    /// Steady state: every push after that one.
    wall_bytes: usize,
    wall_events: usize,
    full_snapshots: usize,
    all_bytes: usize,
    error: bool,
}

/// The snapshot's `generated_at_ms`, found without parsing 85 KB of JSON:
/// a full snapshot's field, or a delta's change of it (merged at the root).
fn push_id(data: &str) -> Option<i64> {
    let key = "\"generated_at_ms\":";
    let rest = &data[data.find(key)? + key.len()..];
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// Opens `clients` streams, listens `seconds` once all are open.
pub async fn run(
    dashboard: &str,
    cookie: &str,
    clients: usize,
    seconds: f64,
    server_pid: Option<u32>,
) -> anyhow::Result<Fanout> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()?;
    let url = format!("{dashboard}/api/stream");
    let opened = Arc::new(tokio::sync::Semaphore::new(0));
    let (start, started) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::with_capacity(clients);
    for _ in 0..clients {
        let (http, url, cookie) = (http.clone(), url.clone(), cookie.to_owned());
        let (opened, mut started) = (opened.clone(), started.clone());
        tasks.push(tokio::spawn(async move {
            let mut seen = Seen::default();
            let reader = SseReader::open(&http, &url, &cookie).await;
            opened.add_permits(1);
            let Ok(mut reader) = reader else {
                seen.error = true;
                return seen;
            };
            if started.wait_for(|go| *go).await.is_err() {
                seen.error = true;
                return seen;
            }
            let end = now_ms() + seconds * 1000.0 + 3_000.0;
            loop {
                let left = end - now_ms();
                if left <= 0.0 {
                    break;
                }
                let next = tokio::time::timeout(Duration::from_millis(left as u64), reader.next());
                match next.await {
                    Ok(Ok(Some(e))) => {
                        seen.all_bytes += e.bytes;
                        if (e.name == "wall" || e.name == "wall-delta")
                            && let Some(id) = push_id(&e.data)
                        {
                            seen.walls.entry(id).or_insert(e.at_ms);
                            if seen.first_bytes == 0 && e.name == "wall" {
                                seen.first_bytes = e.bytes;
                            } else {
                                seen.wall_bytes += e.bytes;
                                seen.wall_events += 1;
                                seen.full_snapshots += usize::from(e.name == "wall");
                            }
                        }
                    }
                    Ok(Ok(None)) | Ok(Err(_)) => {
                        seen.error = true;
                        break;
                    }
                    Err(_) => break,
                }
            }
            seen
        }));
    }
    let _all = opened.acquire_many(clients as u32).await?;
    start.send_replace(true);
    let t0 = now_ms();
    let cpu0 = server_pid.and_then(cpu_ticks);
    let rss0 = server_pid.and_then(rss_mb);
    let mut rss_peak = rss0;
    while now_ms() < t0 + seconds * 1000.0 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        if let Some(r) = server_pid.and_then(rss_mb) {
            rss_peak = Some(rss_peak.map_or(r, |p: f64| p.max(r)));
        }
    }
    let cpu1 = server_pid.and_then(cpu_ticks);
    let elapsed = (now_ms() - t0) / 1000.0;
    let mut seen = Vec::with_capacity(clients);
    for t in tasks {
        seen.push(t.await?);
    }
    let listening: Vec<&Seen> = seen.iter().filter(|s| !s.error).collect();
    // Pushes generated while everyone listened, with margin for delivery.
    let window = (t0 as i64)..((t0 + seconds * 1000.0) as i64);
    let pushes: BTreeSet<i64> = listening
        .iter()
        .flat_map(|s| s.walls.keys().copied())
        .filter(|id| window.contains(id))
        .collect();
    let (mut spreads, mut delays, mut dropped) = (Vec::new(), Vec::new(), 0usize);
    for id in &pushes {
        let arrivals: Vec<f64> = listening
            .iter()
            .filter_map(|s| s.walls.get(id).copied())
            .collect();
        dropped += listening.len() - arrivals.len();
        let first = arrivals.iter().copied().fold(f64::INFINITY, f64::min);
        let last = arrivals.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        spreads.push(last - first);
        delays.extend(arrivals.iter().map(|a| a - first));
    }
    let wall_events: usize = listening.iter().map(|s| s.wall_events).sum();
    let wall_bytes: usize = listening.iter().map(|s| s.wall_bytes).sum();
    let all_bytes: usize = listening.iter().map(|s| s.all_bytes).sum();
    let first_bytes: usize = listening.iter().map(|s| s.first_bytes).sum();
    let full_snapshots: usize = listening.iter().map(|s| s.full_snapshots).sum();
    let per_client = |n: usize| n as f64 / listening.len().max(1) as f64;
    let ticks_per_s = 100.0; // USER_HZ on Linux
    Ok(Fanout {
        clients,
        connected: listening.len(),
        seconds: elapsed,
        pushes: pushes.len(),
        spread_ms: summarise(&spreads),
        delay_after_first_ms: summarise(&delays),
        wall_bytes_per_push_per_client: wall_bytes as f64 / wall_events.max(1) as f64,
        first_snapshot_bytes: per_client(first_bytes),
        full_snapshots_per_client: per_client(full_snapshots),
        bytes_per_client_per_s: all_bytes as f64
            / listening.len().max(1) as f64
            / (elapsed + 3.0).max(1e-9),
        dropped,
        server_cpu_cores: cpu0
            .zip(cpu1)
            .map(|(a, b)| (b - a) as f64 / ticks_per_s / elapsed.max(1e-9)),
        server_rss_mb_start: rss0,
        server_rss_mb_peak: rss_peak,
        client_errors: seen.iter().filter(|s| s.error).count(),
    })
}

/// utime + stime of a process, in clock ticks.
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command (which may hold spaces) in parentheses.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// Resident memory of a process in MB.
pub fn rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_ids_come_from_the_snapshot_time() {
        assert_eq!(
            push_id(r#"{"generated_at_ms":1790000000123,"panels":[]}"#),
            Some(1_790_000_000_123)
        );
        assert_eq!(push_id(r#"{"panels":[]}"#), None);
        assert_eq!(
            push_id(
                r#"{"seq":3,"ops":[{"op":"merge","p":[],"v":{"generated_at_ms":17}},{"op":"set","p":["panels",0],"v":{}}]}"#
            ),
            Some(17)
        );
        let me = std::process::id();
        assert!(cpu_ticks(me).is_some() && rss_mb(me).is_some_and(|m| m > 0.0));
    }
}
