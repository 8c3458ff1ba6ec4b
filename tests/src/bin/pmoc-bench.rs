//! `pmoc-bench`: the whole-stack benchmark against a running local stack
//! (`scripts/bench.sh` starts it with the stack's ports, token, password
//! and kiosk URL). Each phase is optional; it prints a table of figures
//! next to the targets and writes the same figures as JSON. It
//! measures and reports; it asserts nothing.

use std::{path::PathBuf, time::Duration};

use anyhow::Context;
use clap::Parser;
use pmoc_schemas::config::Settings;
use pmoc_tests::bench::{self, Stack, Summary, api, cell, fanout, fresh, ingest, load, wall};
use serde::Serialize;

#[derive(Debug, Parser)]
#[command(about = "Measure a running PMOC stack: ingest, freshness, API, push fan-out, wall load")]
struct Cli {
    /// Phases to run, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "ingest,fresh,fanout,wall,api"
    )]
    phases: Vec<String>,
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    dashboard: String,
    #[arg(long, default_value = "http://127.0.0.1:8090/v1/events")]
    ingest: String,
    /// Bearer token of agency HII on the HTTP ingest.
    #[arg(long, env = "PMOC_BENCH_TOKEN")]
    token: String,
    #[arg(long, default_value = "http://127.0.0.1:9464/metrics")]
    pipeline_metrics: String,
    #[arg(long, default_value = "operator")]
    user: String,
    /// File holding the user's password (`.state/operator-password`).
    #[arg(long)]
    password_file: PathBuf,
    /// File holding the wall's kiosk URL (`.state/wall-url`).
    #[arg(long)]
    wall_url_file: Option<PathBuf>,
    /// The dashboard server's process id, for its CPU and memory.
    #[arg(long)]
    server_pid: Option<u32>,
    /// ClickHouse's process id, for its CPU during the API phase.
    #[arg(long)]
    clickhouse_pid: Option<u32>,
    /// The built front end (`PMOC_DIST`).
    #[arg(long, env = "PMOC_DIST")]
    dist: Option<PathBuf>,
    /// Where to write the JSON.
    #[arg(long)]
    out: PathBuf,
    /// Scratch folder (browser profiles, wrk's script).
    #[arg(long, default_value_os_t = std::env::temp_dir().join("pmoc-bench"))]
    scratch: PathBuf,

    /// Ingest: event rates tried in turn, stopping at the first not held.
    #[arg(long, value_delimiter = ',', default_value = "2500,5000,10000,20000")]
    rates: Vec<f64>,
    #[arg(long, default_value_t = 60.0)]
    step_seconds: f64,
    /// Ingest: a step holds if the lag ends under this many seconds of its rate.
    #[arg(long, default_value_t = 5.0)]
    lag_seconds: f64,
    /// Ingest: messages of the broker's own produce-and-consume ceiling.
    #[arg(long, default_value_t = 100_000)]
    ceiling_messages: usize,

    /// Freshness: background rate (default: the sustained rate found, else 500).
    #[arg(long)]
    fresh_rate: Option<f64>,
    /// Freshness: seconds of probes (one a second).
    #[arg(long, default_value_t = 60.0)]
    fresh_seconds: f64,

    /// API: raw events whose windows are loaded before measuring (0: none).
    #[arg(long, default_value_t = 10_000_000)]
    stored_events: usize,
    #[arg(long, default_value_t = 7.0)]
    stored_days: f64,
    /// API: longest wait, after loading, for ClickHouse to merge the loaded
    /// parts (the phase then runs regardless, and says so).
    #[arg(long, default_value_t = 600)]
    merge_wait_s: u64,
    /// API: wrk runs of this many clients each, per path.
    #[arg(long, value_delimiter = ',', default_value = "200")]
    api_clients: Vec<u32>,
    #[arg(long, default_value_t = 20)]
    api_seconds: u32,
    /// API: requests to each path one at a time before wrk (service time).
    #[arg(long, default_value_t = 2)]
    api_alone: usize,

    /// Fan-out: `/api/stream` clients at once.
    #[arg(long, default_value_t = 500)]
    push_clients: usize,
    #[arg(long, default_value_t = 20.0)]
    push_seconds: f64,

    /// Wall: page viewports, e.g. 1920x1080,3840x2160.
    #[arg(long, value_delimiter = ',', default_value = "1920x1080,3840x2160")]
    viewports: Vec<String>,
}

#[derive(Debug, Default, Serialize)]
struct Report {
    started_utc: String,
    machine: Machine,
    ingest: Option<ingest::Ramp>,
    broker_ceiling: Option<ingest::BrokerCeiling>,
    /// At the sustained rate, and at 20,000 events/s if the stack held it.
    freshness: Vec<fresh::Freshness>,
    stored: Option<load::Loaded>,
    /// The wait for the load's merges before the drill-down was measured.
    merges_settled: Option<load::Settled>,
    window_aggregates_rows: Option<u64>,
    /// CPU (cores) over 10 s before any phase, with only the simulators
    /// feeding: the "ClickHouse under half a core".
    idle_cpu: Option<IdleCpu>,
    api_alone: Vec<api::Alone>,
    api: Vec<api::Latency>,
    fanout: Option<fanout::Fanout>,
    cold_loads: Vec<wall::ColdLoad>,
    wasm: Option<wall::WasmSize>,
    /// Phases that failed, with why.
    errors: Vec<String>,
}

#[derive(Debug, Default, Serialize)]
struct IdleCpu {
    clickhouse_cores: Option<f64>,
    server_cores: Option<f64>,
}

/// Each process's CPU over `seconds`, in cores.
async fn cpu_over(pids: &[Option<u32>], seconds: f64) -> Vec<Option<f64>> {
    let before: Vec<Option<u64>> = pids.iter().map(|p| p.and_then(fanout::cpu_ticks)).collect();
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    pids.iter()
        .zip(before)
        .map(|(p, b)| {
            let a = p.and_then(fanout::cpu_ticks)?;
            Some((a - b?) as f64 / 100.0 / seconds)
        })
        .collect()
}

#[derive(Debug, Default, Serialize)]
struct Machine {
    cpus: usize,
    cpu_model: String,
    memory_gb: f64,
    kernel: String,
}

fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    Machine {
        cpus: std::thread::available_parallelism().map_or(0, usize::from),
        cpu_model: cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
            .unwrap_or_default(),
        memory_gb: meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0 / 1024.0),
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
            .to_owned(),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::load(
        std::env::var_os("PMOC_CONFIG")
            .as_deref()
            .map(std::path::Path::new),
    )?;
    std::fs::create_dir_all(&cli.scratch)?;
    let password = std::fs::read_to_string(&cli.password_file)
        .with_context(|| format!("reading {}", cli.password_file.display()))?;
    let cookie = bench::sign_in(&cli.dashboard, &cli.user, password.trim()).await?;
    let stack = Stack {
        dashboard: cli.dashboard.clone(),
        ingest: cli.ingest.clone(),
        ingest_token: cli.token.clone(),
        pipeline_metrics: cli.pipeline_metrics.clone(),
        clickhouse: settings.clickhouse.clone(),
        brokers: settings.kafka.brokers.clone(),
        cookie,
    };
    let on = |p: &str| cli.phases.iter().any(|x| x == p);
    let mut r = Report {
        started_utc: time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)?,
        machine: machine(),
        ..Report::default()
    };

    if cli.clickhouse_pid.is_some() || cli.server_pid.is_some() {
        eprintln!("==> CPU at the simulators' load (10 s)");
        let cpu = cpu_over(&[cli.clickhouse_pid, cli.server_pid], 10.0).await;
        r.idle_cpu = Some(IdleCpu {
            clickhouse_cores: cpu[0],
            server_cores: cpu[1],
        });
    }
    if on("ingest") {
        eprintln!("==> sustained ingest");
        match ingest::broker_ceiling(
            &stack.brokers,
            cli.ceiling_messages,
            settings.kafka.partitions,
        )
        .await
        {
            Ok(c) => r.broker_ceiling = Some(c),
            Err(e) => r.errors.push(format!("broker ceiling: {e:#}")),
        }
        match ingest::ramp(&stack, &cli.rates, cli.step_seconds, cli.lag_seconds).await {
            Ok(ramp) => r.ingest = Some(ramp),
            Err(e) => r.errors.push(format!("ingest: {e:#}")),
        }
    }
    if on("fresh") {
        let sustained = r.ingest.as_ref().and_then(|i| i.sustained_per_s);
        let mut rates = vec![cli.fresh_rate.or(sustained).unwrap_or(500.0)];
        // The second point, only where the stack holds it.
        if sustained.is_some_and(|s| s >= HIGH_FRESH_RATE) && rates[0] != HIGH_FRESH_RATE {
            rates.push(HIGH_FRESH_RATE);
        }
        let wall_url = match &cli.wall_url_file {
            Some(file) => Some(std::fs::read_to_string(file)?.trim().to_owned()),
            None => None,
        };
        for rate in rates {
            eprintln!("==> freshness at {rate:.0} events/s");
            let http = reqwest::Client::new();
            ingest::wait_caught_up(
                &http,
                &stack.pipeline_metrics,
                1_000.0,
                Duration::from_secs(120),
            )
            .await;
            match fresh::run(
                &stack,
                rate,
                cli.fresh_seconds,
                wall_url.as_deref(),
                &cli.scratch,
            )
            .await
            {
                Ok(f) => r.freshness.push(f),
                Err(e) => r.errors.push(format!("freshness at {rate:.0}/s: {e:#}")),
            }
        }
    }
    if on("fanout") {
        eprintln!("==> push fan-out to {} clients", cli.push_clients);
        match fanout::run(
            &cli.dashboard,
            &stack.cookie,
            cli.push_clients,
            cli.push_seconds,
            cli.server_pid,
        )
        .await
        {
            Ok(f) => r.fanout = Some(f),
            Err(e) => r.errors.push(format!("fan-out: {e:#}")),
        }
    }
    if on("wall") {
        eprintln!("==> wall cold load and WASM size");
        if let Some(dist) = &cli.dist {
            match wall::wasm_size(dist) {
                Ok(w) => r.wasm = Some(w),
                Err(e) => r.errors.push(format!("wasm size: {e:#}")),
            }
        }
        match &cli.wall_url_file {
            Some(file) => {
                let url = std::fs::read_to_string(file)?.trim().to_owned();
                let viewports = cli
                    .viewports
                    .iter()
                    .map(|v| {
                        let (w, h) = v.split_once('x').context("viewport WxH")?;
                        Ok((w.parse()?, h.parse()?))
                    })
                    .collect::<anyhow::Result<Vec<(u32, u32)>>>()?;
                match wall::cold_loads(&url, &viewports, &cli.scratch).await {
                    Ok(c) => r.cold_loads = c,
                    Err(e) => r.errors.push(format!("cold load: {e:#}")),
                }
            }
            None => r.errors.push("cold load: no --wall-url-file".to_owned()),
        }
    }

    if on("api") {
        let store = pmoc_store::Store::new(&settings.clickhouse);
        if cli.stored_events > 0 {
            eprintln!(
                "==> loading the windows of {} events over {} days",
                cli.stored_events, cli.stored_days
            );
            match load::load(
                &store,
                cli.stored_events,
                cli.stored_days,
                &settings.pipeline.windows_seconds,
                200_000,
            )
            .await
            {
                Ok(l) => {
                    eprintln!("  stored {} rows in {:.0} s", l.rows, l.seconds);
                    r.stored = Some(l);
                }
                Err(e) => r.errors.push(format!("load: {e:#}")),
            }
            let client = pmoc_store::client(&settings.clickhouse);
            match load::settle(&client, Duration::from_secs(cli.merge_wait_s)).await {
                Ok(s) => {
                    eprintln!(
                        "  merges {} after {:.0} s, {} parts",
                        if s.quiet { "done" } else { "still running" },
                        s.seconds,
                        s.active_parts
                    );
                    r.merges_settled = Some(s);
                }
                Err(e) => r.errors.push(format!("waiting for merges: {e:#}")),
            }
        }
        r.window_aggregates_rows = table_rows(&settings).await.ok();
        eprintln!("==> drill-down API");
        r.api_alone = api::alone(&cli.dashboard, &stack.cookie, api::PATHS, cli.api_alone).await;
        for &clients in &cli.api_clients {
            // Every path as browsers ask, then the first one plain: the
            // baseline for what compression does to the same load.
            for (paths, gzip) in [(api::PATHS, true), (&api::PATHS[..1], false)] {
                match api::run(
                    &cli.dashboard,
                    &stack.cookie,
                    paths,
                    api::Load {
                        clients,
                        gzip,
                        seconds: cli.api_seconds,
                    },
                    &cli.scratch,
                    (cli.server_pid, cli.clickhouse_pid),
                ) {
                    Ok(a) => r.api.extend(a),
                    Err(e) => r.errors.push(format!("api: {e:#}")),
                }
            }
        }
    }

    print_table(&r, &cli);
    if let Some(dir) = cli.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&cli.out, serde_json::to_string_pretty(&r)?)?;
    eprintln!("\n  figures: {}", cli.out.display());
    Ok(())
}

async fn table_rows(settings: &Settings) -> anyhow::Result<u64> {
    Ok(pmoc_store::client(&settings.clickhouse)
        .query("SELECT count() FROM window_aggregates")
        .fetch_one::<u64>()
        .await?)
}

/// The target for an API path.
fn target(path: &str) -> &'static str {
    if path == "/api/wall" {
        ">= 2,000 req/s"
    } else {
        "p95 <= 50 ms (200 clients, 10 M events)"
    }
}

/// The second freshness rate the issue asks for, when the stack holds it.
const HIGH_FRESH_RATE: f64 = 20_000.0;

fn ms(s: &Summary) -> String {
    format!("p50 {} ms, p99 {} ms (n={})", cell(s.p50), cell(s.p99), s.n)
}

/// The figures next to the targets.
fn print_table(r: &Report, cli: &Cli) {
    let mut rows: Vec<(String, String, String)> = Vec::new();
    if let Some(c) = &r.idle_cpu {
        let f = |v: Option<f64>| v.map_or("-".into(), |c| format!("{c:.2}"));
        rows.push((
            "CPU at the simulators' load, 10 s".into(),
            format!(
                "ClickHouse {} cores, server {}",
                f(c.clickhouse_cores),
                f(c.server_cores)
            ),
            "ClickHouse < 0.5 core".into(),
        ));
    }
    if let Some(c) = &r.broker_ceiling {
        rows.push((
            format!(
                "broker ceiling ({} msgs, {} B, {} partitions)",
                c.messages, c.message_bytes, c.partitions
            ),
            format!(
                "produce {:.0}/s; produce+consume {:.0}/s",
                c.produce_per_s, c.produce_and_consume_per_s
            ),
            "-".into(),
        ));
    }
    if let Some(i) = &r.ingest {
        let steps: Vec<String> = i
            .steps
            .iter()
            .map(|s| {
                format!(
                    "{:.0}:{}",
                    s.target_per_s,
                    if s.held { "held" } else { "no" }
                )
            })
            .collect();
        rows.push((
            format!("sustained ingest, HTTP, {:.0} s steps", cli.step_seconds),
            format!(
                "{} events/s held ({})",
                i.sustained_per_s
                    .map_or("none".to_owned(), |v| format!("{v:.0}")),
                steps.join(", ")
            ),
            format!(
                "held {:.0} s, lag < {:.0} s of rate",
                cli.step_seconds, i.lag_seconds
            ),
        ));
    }
    for f in &r.freshness {
        rows.push((
            format!("freshness to push, {:.0} events/s", f.background_per_s),
            ms(&f.push_ms),
            "-".into(),
        ));
        rows.push((
            format!(
                "freshness to the wall's DOM, {:.0} events/s",
                f.background_per_s
            ),
            f.dom_ms.as_ref().map_or("not measured".into(), ms),
            "-".into(),
        ));
        rows.push((
            "same events, 5 s ClickHouse poll".into(),
            format!("{}; poll/push p50 {:.1}x", ms(&f.poll_5s_ms), f.ratio_p50),
            "-".into(),
        ));
    }
    if let Some(l) = &r.stored {
        rows.push((
            "history loaded (bulk, final windows)".into(),
            format!("{} events, {} rows in {:.0} s", l.events, l.rows, l.seconds),
            "10 M raw events".into(),
        ));
    }
    for a in &r.api_alone {
        let shown: Vec<String> = a.ms.iter().map(|m| cell(*m)).collect();
        rows.push((
            format!("GET {} alone", a.path),
            format!(
                "{} ms ({:.0} KB{})",
                shown.join(", "),
                a.bytes as f64 / 1024.0,
                a.gzip_bytes.map_or(String::new(), |g| format!(
                    ", {:.1} KB gzip",
                    g as f64 / 1024.0
                ))
            ),
            "-".into(),
        ));
    }
    for a in r.api.iter().filter(|a| a.requests == 0) {
        rows.push((
            format!(
                "GET {} x{}{}",
                a.path,
                a.clients,
                if a.gzip { ", gzip" } else { ", plain" }
            ),
            format!(
                "none answered in {} s; CPU server {}, ClickHouse {}",
                cli.api_seconds,
                a.server_cpu_cores.map_or("-".into(), |c| format!("{c:.2}")),
                a.clickhouse_cpu_cores
                    .map_or("-".into(), |c| format!("{c:.2}"))
            ),
            target(&a.path).into(),
        ));
    }
    for a in r.api.iter().filter(|a| a.requests > 0) {
        rows.push((
            format!(
                "GET {} x{}{}",
                a.path,
                a.clients,
                if a.gzip { ", gzip" } else { ", plain" }
            ),
            format!(
                "{:.1} req/s, p50 {} / p95 {} / p99 {} ms, non-2xx {}, timeouts {}; CPU server {}, ClickHouse {}",
                a.requests_per_s,
                cell(a.p50_us as f64 / 1e3),
                cell(a.p95_us as f64 / 1e3),
                cell(a.p99_us as f64 / 1e3),
                a.non_2xx,
                a.timeouts,
                a.server_cpu_cores.map_or("-".into(), |c| format!("{c:.2}")),
                a.clickhouse_cpu_cores.map_or("-".into(), |c| format!("{c:.2}"))
            ),
            target(&a.path).into(),
        ));
    }
    if let Some(f) = &r.fanout {
        rows.push((
            format!(
                "push fan-out, {} clients ({} open), {:.0} s",
                f.clients, f.connected, f.seconds
            ),
            format!(
                "{} pushes; spread p50 {} / p99 {} ms; dropped {}",
                f.pushes,
                cell(f.spread_ms.p50),
                cell(f.spread_ms.p99),
                f.dropped
            ),
            "spread p99 <= 250 ms; dropped 0".into(),
        ));
        rows.push((
            "  bytes per push per client".into(),
            format!(
                "{:.1} KB steady ({:.2} full resends per client; first snapshot {:.1} KB; all events {:.1} KB/s per client)",
                f.wall_bytes_per_push_per_client / 1024.0,
                f.full_snapshots_per_client,
                f.first_snapshot_bytes / 1024.0,
                f.bytes_per_client_per_s / 1024.0
            ),
            "<= 5 KB".into(),
        ));
        rows.push((
            "  server CPU, RSS".into(),
            format!(
                "{} cores, {} -> {} MB",
                f.server_cpu_cores.map_or("-".into(), |c| format!("{c:.2}")),
                f.server_rss_mb_start
                    .map_or("-".into(), |m| format!("{m:.0}")),
                f.server_rss_mb_peak
                    .map_or("-".into(), |m| format!("{m:.0}"))
            ),
            "-".into(),
        ));
    }
    for c in &r.cold_loads {
        rows.push((
            format!("wall cold load {}x{}", c.viewport.0, c.viewport.1),
            format!(
                "first figure {:.0} ms; {:.0} KB transferred (WASM {:.0} KB)",
                c.first_figure_ms,
                c.transferred_bytes / 1024.0,
                c.wasm_transferred_bytes / 1024.0
            ),
            "-".into(),
        ));
    }
    if let Some(w) = &r.wasm {
        let kb = |v: Option<u64>| v.map_or("-".into(), |b| format!("{:.0} KB", b as f64 / 1024.0));
        rows.push((
            format!("WASM {}", w.file),
            format!(
                "{:.0} KB raw, gzip {}, brotli {}{}",
                w.raw as f64 / 1024.0,
                kb(w.gzip),
                kb(w.brotli),
                if w.precompressed {
                    " (precompressed)"
                } else {
                    " (not precompressed)"
                }
            ),
            "<= 600 KB gzip".into(),
        ));
    }
    let width = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(10);
    let mwidth = rows.iter().map(|r| r.1.chars().count()).max().unwrap_or(10);
    println!();
    println!("  {:width$}  {:mwidth$}  target", "what", "measured");
    for (what, measured, target) in &rows {
        println!("  {what:width$}  {measured:mwidth$}  {target}");
    }
    for e in &r.errors {
        println!("  error: {e}");
    }
}
