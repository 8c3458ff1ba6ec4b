//! Phase 3, drill-down API latency under many concurrent clients, measured
//! by Debian's `wrk` (a well-kept closed-loop load tool) with the signed-in
//! operator's session cookie. wrk's default 2 s timeout would drop the slow
//! answers from its latency figures, so it waits up to 60 s instead and
//! reports through a Lua `done` hook as one line of JSON.

use std::{path::Path, process::Command, time::Instant};

use anyhow::Context;
use serde::{Deserialize, Serialize};

/// The paths measured: the issue's examples.
pub const PATHS: &[&str] = &[
    "/api/area/province/34?committee=water&range=1d",
    "/api/area/province/34?committee=water&range=7d",
    "/api/area/nation/TH?committee=population&range=7d",
    "/api/wall",
];

const REPORT_LUA: &str = r#"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\nPMOC-JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,"non_2xx":%d,"timeouts":%d,"p50_us":%d,"p95_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max, latency.mean))
end
"#;

/// wrk's figures for one path.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Latency {
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub clients: u32,
    /// Whether the clients asked for gzip, as browsers do (runs before
    /// 2026-12-02 did not: `false`).
    #[serde(default)]
    pub gzip: bool,
    pub requests: u64,
    pub duration_us: u64,
    pub bytes: u64,
    pub connect_errors: u64,
    pub read_errors: u64,
    pub write_errors: u64,
    pub non_2xx: u64,
    pub timeouts: u64,
    pub p50_us: u64,
    pub p95_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
    pub mean_us: f64,
    #[serde(default)]
    pub requests_per_s: f64,
    /// CPU (cores) of the dashboard server and of ClickHouse meanwhile:
    /// where the time goes.
    #[serde(default)]
    pub server_cpu_cores: Option<f64>,
    #[serde(default)]
    pub clickhouse_cpu_cores: Option<f64>,
}

/// How hard and how long wrk asks.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    /// Connections, each asking again as soon as answered.
    pub clients: u32,
    /// Accepting gzip, as a browser does.
    pub gzip: bool,
    pub seconds: u32,
}

/// Runs wrk against `base` + each of `paths` under `load`.
pub fn run(
    base: &str,
    cookie: &str,
    paths: &[&str],
    Load {
        clients,
        gzip,
        seconds,
    }: Load,
    scratch: &Path,
    (server_pid, clickhouse_pid): (Option<u32>, Option<u32>),
) -> anyhow::Result<Vec<Latency>> {
    let ticks = |pid: Option<u32>| pid.and_then(super::fanout::cpu_ticks);
    let script = scratch.join("pmoc-bench-report.lua");
    std::fs::write(&script, REPORT_LUA)?;
    let mut out = Vec::new();
    for path in paths {
        let coding = if gzip { "gzip" } else { "plain" };
        eprintln!("  api: {path}, {clients} clients, {coding}, {seconds} s");
        let (s0, c0, t0) = (ticks(server_pid), ticks(clickhouse_pid), Instant::now());
        // What Chromium sends: a browser always takes gzip, and the server
        // keeps each shared read gzipped.
        let accept = if gzip {
            "Accept-Encoding: gzip, deflate, br, zstd"
        } else {
            "Accept-Encoding: identity"
        };
        let output = Command::new("wrk")
            .args(["-t", &clients.clamp(1, 2).to_string()])
            .args(["-c", &clients.to_string()])
            .args(["-d", &format!("{seconds}s"), "--timeout", "60s"])
            .args(["-H", &format!("Cookie: {cookie}")])
            .args(["-H", accept])
            .arg("-s")
            .arg(&script)
            .arg(format!("{base}{path}"))
            .output()
            .context("running wrk (scripts/setup.sh installs it: apt-get install wrk)")?;
        let elapsed = t0.elapsed().as_secs_f64();
        let cores = |a: Option<u64>, b: Option<u64>| {
            a.zip(b).map(|(a, b)| (b - a) as f64 / 100.0 / elapsed)
        };
        let (server_cpu, clickhouse_cpu) = (
            cores(s0, ticks(server_pid)),
            cores(c0, ticks(clickhouse_pid)),
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        anyhow::ensure!(
            output.status.success(),
            "wrk failed: {stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let line = stdout
            .lines()
            .find_map(|l| l.strip_prefix("PMOC-JSON "))
            .context("no report from wrk")?;
        let mut l: Latency = serde_json::from_str(line)?;
        l.path = (*path).to_owned();
        l.clients = clients;
        l.gzip = gzip;
        l.requests_per_s = l.requests as f64 / (l.duration_us as f64 / 1e6).max(1e-9);
        (l.server_cpu_cores, l.clickhouse_cpu_cores) = (server_cpu, clickhouse_cpu);
        eprintln!(
            "  api: {:.0} req/s, p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, non-2xx {}, timeouts {}; CPU server {:?}, ClickHouse {:?}",
            l.requests_per_s,
            l.p50_us as f64 / 1e3,
            l.p95_us as f64 / 1e3,
            l.p99_us as f64 / 1e3,
            l.non_2xx,
            l.timeouts,
            l.server_cpu_cores,
            l.clickhouse_cpu_cores
        );
        out.push(l);
    }
    Ok(out)
}

/// One path's answer times with nothing else asking: the service time that
/// bounds what many clients can get.
#[derive(Debug, Clone, Serialize)]
pub struct Alone {
    pub path: String,
    /// Each request's time to the whole answer (ms); NaN: failed or over 120 s.
    pub ms: Vec<f64>,
    pub bytes: usize,
    /// Sent gzipped to a client that accepts it (`None`: sent plain).
    pub gzip_bytes: Option<usize>,
}

/// `n` requests to each path, one after another.
pub async fn alone(base: &str, cookie: &str, paths: &[&str], n: usize) -> Vec<Alone> {
    let http = reqwest::Client::new();
    let mut out = Vec::new();
    for path in paths {
        let get = || {
            http.get(format!("{base}{path}"))
                .header(reqwest::header::COOKIE, cookie)
                .timeout(std::time::Duration::from_secs(120))
        };
        let (mut ms, mut bytes) = (Vec::new(), 0);
        for _ in 0..n {
            let started = Instant::now();
            let answer = get().send().await;
            let body = match answer {
                Ok(a) if a.status().is_success() => a.bytes().await.ok(),
                _ => None,
            };
            ms.push(
                body.as_ref()
                    .map_or(f64::NAN, |_| started.elapsed().as_secs_f64() * 1000.0),
            );
            bytes = body.map_or(bytes, |b| b.len());
        }
        // As a browser gets it (this client does not decode gzip).
        let gzip_bytes = match get()
            .header(reqwest::header::ACCEPT_ENCODING, "gzip")
            .send()
            .await
        {
            Ok(a) if a.status().is_success() && a.headers().contains_key("content-encoding") => {
                a.bytes().await.ok().map(|b| b.len())
            }
            _ => None,
        };
        eprintln!("  api alone: {path}: {ms:.0?} ms, {bytes} B, gzip {gzip_bytes:?} B");
        out.push(Alone {
            path: (*path).to_owned(),
            ms,
            bytes,
            gzip_bytes,
        });
    }
    out
}
