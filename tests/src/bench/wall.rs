//! Phase 5, the wall's cold load in headless Chromium (a fresh profile, so
//! nothing cached) at a true wall-screen viewport, and the WASM's size raw
//! and compressed from the built front end.
//!
//! The page itself gets the asked size (`Browser::start` sets the viewport
//! through DevTools; sizing the window gave the page 1920x937); the figures
//! say which viewport was measured.

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use anyhow::Context;
use serde::Serialize;

use crate::browser::Browser;

#[derive(Debug, Clone, Serialize)]
pub struct ColdLoad {
    pub viewport: (u32, u32),
    /// From navigation start (the kiosk URL, its redirect included) to the
    /// first committee headline with a figure in the DOM (ms; polled every
    /// 20 ms, so up to 20 ms late).
    pub first_figure_ms: f64,
    pub dom_content_loaded_ms: f64,
    pub load_event_ms: f64,
    /// What the browser fetched: bytes over the wire, and of the WASM.
    pub transferred_bytes: f64,
    pub wasm_transferred_bytes: f64,
}

/// Per-page figures the polling script returns once a headline has a figure.
const FIRST_FIGURE_JS: &str = r#"
const h = [...document.querySelectorAll('.tile-m .headline')]
  .find(e => { const t = e.textContent.trim(); return t !== '' && t !== '-'; });
if (!h) return null;
const nav = performance.getEntriesByType('navigation')[0] || {};
const res = performance.getEntriesByType('resource');
const sum = (xs) => xs.reduce((a, r) => a + (r.transferSize || 0), 0);
return [performance.now(), nav.domContentLoadedEventEnd || 0, nav.loadEventEnd || 0,
        sum(res) + (nav.transferSize || 0), sum(res.filter(r => r.name.includes('.wasm')))];
"#;

/// Loads `wall_url` once per viewport, each in a fresh browser profile.
pub async fn cold_loads(
    wall_url: &str,
    viewports: &[(u32, u32)],
    scratch: &Path,
) -> anyhow::Result<Vec<ColdLoad>> {
    let mut out = Vec::new();
    for (i, &(w, h)) in viewports.iter().enumerate() {
        let dir = scratch.join(format!("browser-{i}"));
        std::fs::create_dir_all(&dir)?;
        let browser = Browser::start(&dir, w, h).await?;
        let result = cold_load(&browser, wall_url, (w, h)).await;
        if result.is_ok() {
            match settled_screenshot(&browser, &format!("bench-wall-{w}x{h}")).await {
                Ok(path) => eprintln!("  wall: {w}x{h} screenshot {}", path.display()),
                Err(error) => eprintln!("  wall: no screenshot: {error:#}"),
            }
        }
        browser.close().await?;
        let load = result?;
        eprintln!(
            "  wall: {w}x{h}: first figure at {:.0} ms ({:.0} KB over the wire, WASM {:.0} KB)",
            load.first_figure_ms,
            load.transferred_bytes / 1024.0,
            load.wasm_transferred_bytes / 1024.0
        );
        out.push(load);
    }
    Ok(out)
}

async fn cold_load(browser: &Browser, url: &str, (w, h): (u32, u32)) -> anyhow::Result<ColdLoad> {
    let c = &browser.client;
    let started = Instant::now();
    c.goto(url).await?;
    let figures = loop {
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(120),
            "no figure on the wall within 120 s"
        );
        let v = c.execute(FIRST_FIGURE_JS, vec![]).await?;
        if let Some(a) = v.as_array() {
            break a
                .iter()
                .map(|x| x.as_f64().unwrap_or(f64::NAN))
                .collect::<Vec<_>>();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let inner = c
        .execute("return [window.innerWidth, window.innerHeight]", vec![])
        .await?;
    let viewport = (
        inner[0].as_u64().unwrap_or(0) as u32,
        inner[1].as_u64().unwrap_or(0) as u32,
    );
    if viewport != (w, h) {
        eprintln!(
            "  wall: asked for a {w}x{h} page, got {}x{}",
            viewport.0, viewport.1
        );
    }
    Ok(ColdLoad {
        viewport,
        first_figure_ms: figures[0],
        dom_content_loaded_ms: figures[1],
        load_event_ms: figures[2],
        transferred_bytes: figures[3],
        wasm_transferred_bytes: figures[4],
    })
}

/// A screenshot of the wall once every panel has its figures: when the
/// number of headlines with a figure has not changed for a second (15 s
/// at most), so the picture is the wall as the room sees it.
async fn settled_screenshot(browser: &Browser, name: &str) -> anyhow::Result<PathBuf> {
    const FIGURES_JS: &str = "return [...document.querySelectorAll('.tile-m .headline')]\
        .filter(e => { const t = e.textContent.trim(); return t !== '' && t !== '-'; }).length;";
    let started = Instant::now();
    let (mut last, mut since) = (u64::MAX, Instant::now());
    while started.elapsed() < Duration::from_secs(15) {
        let n = browser.client.execute(FIGURES_JS, vec![]).await?;
        let n = n.as_u64().unwrap_or(0);
        if n != last {
            (last, since) = (n, Instant::now());
        } else if since.elapsed() >= Duration::from_secs(1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    browser.screenshot(name).await
}

#[derive(Debug, Clone, Serialize)]
pub struct WasmSize {
    pub file: String,
    pub raw: u64,
    pub gzip: Option<u64>,
    pub brotli: Option<u64>,
    /// Whether the compressed sizes are of files the build wrote (served
    /// as they are) or of compressing here for the measurement.
    pub precompressed: bool,
}

/// The largest `.wasm` under `dist` (the app), raw and compressed.
pub fn wasm_size(dist: &Path) -> anyhow::Result<WasmSize> {
    let mut found = Vec::new();
    walk(dist, &mut found)?;
    let wasm = found
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "wasm"))
        .max_by_key(|p| p.metadata().map(|m| m.len()).unwrap_or(0))
        .with_context(|| format!("no .wasm under {}: run scripts/build.sh", dist.display()))?;
    let raw = wasm.metadata()?.len();
    let sibling = |ext: &str| {
        let mut name = wasm.as_os_str().to_owned();
        name.push(ext);
        PathBuf::from(name).metadata().ok().map(|m| m.len())
    };
    let (gz, br) = (sibling(".gz"), sibling(".br"));
    let precompressed = gz.is_some() && br.is_some();
    Ok(WasmSize {
        file: wasm
            .strip_prefix(dist)
            .unwrap_or(&wasm)
            .display()
            .to_string(),
        raw,
        gzip: gz.or_else(|| compressed_len("gzip", &["-9", "-c"], &wasm)),
        brotli: br.or_else(|| compressed_len("brotli", &["-q", "11", "-c"], &wasm)),
        precompressed,
    })
}

fn compressed_len(tool: &str, args: &[&str], file: &Path) -> Option<u64> {
    let out = Command::new(tool).args(args).arg(file).output().ok()?;
    out.status.success().then_some(out.stdout.len() as u64)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}
