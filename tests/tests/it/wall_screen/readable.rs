//! Readable from the back of the room: on the wall, nothing is cut (an
//! element whose content is wider than its box, or text, a tile, a
//! sparkline, a badge or a light outside a box that clips it) and no text
//! is smaller than 1/60 of the screen height, nor a headline figure
//! smaller than 1/20 (about five metres from a 65-inch screen). Checked in the page itself, on what the browser laid out.

use std::time::Duration;

use anyhow::Context;
use fantoccini::Locator;
use pmoc_tests::{browser::Browser, process::wait_for};
use serde::Deserialize;

/// What the page found; each list names the offending elements.
#[derive(Debug, Deserialize)]
struct Findings {
    texts: u32,
    headlines: u32,
    smallest: f64,
    smallest_headline: f64,
    cut: Vec<String>,
    small: Vec<String>,
    small_headlines: Vec<String>,
}

const CHECK: &str = r#"
const wall = document.getElementById('wall');
const h = window.innerHeight;
const name = el => {
  const cls = typeof el.className === 'string' && el.className.trim() ? '.' + el.className.trim().split(/\s+/).join('.') : '';
  return el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + cls + ' "' + el.textContent.trim().slice(0, 50) + '"';
};
const shown = el => {
  const r = el.getBoundingClientRect();
  return (r.width > 0 || r.height > 0) && getComputedStyle(el).visibility !== 'hidden';
};
// The nearest ancestor that clips and that `el` lies outside of, if any.
const clippedBy = el => {
  const r = el.getBoundingClientRect();
  for (let a = el.parentElement; a && a !== document.documentElement; a = a.parentElement) {
    const s = getComputedStyle(a);
    if (s.overflowX === 'visible' && s.overflowY === 'visible') continue;
    const b = a.getBoundingClientRect();
    if (r.right > b.right + 1 || r.bottom > b.bottom + 1 || r.left < b.left - 1 || r.top < b.top - 1) return a;
  }
  return null;
};
const out = { texts: 0, headlines: 0, smallest: 1e9, smallest_headline: 1e9, cut: [], small: [], small_headlines: [] };
for (const el of wall.querySelectorAll('*')) {
  const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
  if (!own || !shown(el)) continue;
  out.texts++;
  const size = parseFloat(getComputedStyle(el).fontSize);
  out.smallest = Math.min(out.smallest, size);
  if (size < h / 60) out.small.push(name(el) + ' ' + size + 'px');
  // The ticker crawls past its box by design.
  if (el.closest('.ticker')) continue;
  if (el.clientWidth > 0 && el.scrollWidth > el.clientWidth) {
    out.cut.push(name(el) + ': scrollWidth ' + el.scrollWidth + ' > clientWidth ' + el.clientWidth);
  }
  // Inline text has no box of its own: it is cut when it lies outside an
  // ancestor that clips.
  const a = clippedBy(el);
  if (a) out.cut.push(name(el) + ' outside ' + name(a).slice(0, 60));
}
// Not only text: a tile, its sparkline, a badge or a source's light cut
// by its panel or strip is as lost to the room.
for (const el of wall.querySelectorAll('.tile-m, .sparkline, .badge, .light')) {
  if (!shown(el)) continue;
  const a = clippedBy(el);
  if (a) out.cut.push(name(el) + ' outside ' + name(a).slice(0, 60));
}
for (const el of wall.querySelectorAll('.headline')) {
  if (!shown(el)) continue;
  out.headlines++;
  const size = parseFloat(getComputedStyle(el).fontSize);
  out.smallest_headline = Math.min(out.smallest_headline, size);
  if (size < h / 20) out.small_headlines.push(name(el) + ' ' + size + 'px');
}
return out;
"#;

/// Opens `path` (a wall URL), waits until it shows `ready`, its fonts and
/// a freshness strip settled on one line, checks it and saves a screenshot
/// named `shot`.
pub async fn check_wall(
    browser: &Browser,
    url: &str,
    ready: &str,
    shot: &str,
) -> anyhow::Result<()> {
    browser.client.goto(url).await?;
    wait_for(
        &format!("{ready} on {url}"),
        Duration::from_secs(20),
        || async {
            let els = browser.client.find_all(Locator::Css(ready)).await?;
            let settled = browser
                .client
                .find_all(Locator::Css("#freshness[data-fits='true']"))
                .await?;
            let fonts = browser
                .client
                .execute("return document.fonts.status === 'loaded';", vec![])
                .await?;
            Ok(
                (!els.is_empty() && !settled.is_empty() && fonts == serde_json::json!(true))
                    .then_some(()),
            )
        },
    )
    .await?;
    let (w, h) = browser.viewport().await?;
    let path = browser.screenshot(shot).await?;
    let found: Findings = serde_json::from_value(browser.client.execute(CHECK, vec![]).await?)
        .context("the readability check's result")?;
    tracing::info!(
        url,
        viewport = %format!("{w}x{h}"),
        texts = found.texts,
        smallest_px = found.smallest,
        smallest_headline_px = found.smallest_headline,
        screenshot = %path.display(),
        "wall readability"
    );
    let context = || format!("{url} at {w}x{h}, screenshot {}", path.display());
    anyhow::ensure!(
        found.texts > 20 && found.headlines > 0,
        "too little on the wall to judge: {found:?}; {}",
        context()
    );
    anyhow::ensure!(
        found.cut.is_empty(),
        "text cut: {:#?}; {}",
        found.cut,
        context()
    );
    anyhow::ensure!(
        found.small.is_empty(),
        "text smaller than 1/60 of the height ({:.1}px): {:#?}; {}",
        f64::from(h) / 60.0,
        found.small,
        context()
    );
    anyhow::ensure!(
        found.small_headlines.is_empty(),
        "headlines smaller than 1/20 of the height ({:.1}px): {:#?}; {}",
        f64::from(h) / 20.0,
        found.small_headlines,
        context()
    );
    Ok(())
}

/// The wall in both languages, on a committee and on the alerts, at the
/// browser's size; screenshots named `wall_{size}_{focus}_{lang}`.
pub async fn check_all(browser: &Browser, base: &str) -> anyhow::Result<()> {
    let (w, h) = browser.viewport().await?;
    for lang in ["th", "en"] {
        for (focus, ready) in [
            (
                "water",
                "#panel-water-focus .tile-m[data-metric='water_level_m_msl'] .headline",
            ),
            // Regions of 20 and 25 provinces: tables side by side.
            ("region:NE", "#wall-focus .region-table tbody tr"),
            ("region:C", "#wall-focus .region-table tbody tr"),
            // Last: the caller goes on with the alert area.
            ("alerts", "#alerts-shown[data-fits='true']"),
        ] {
            check_wall(
                browser,
                &format!("{base}/wall?focus={focus}&lang={lang}"),
                ready,
                &format!("wall_{w}x{h}_{}_{lang}", focus.replace(':', "-")),
            )
            .await?;
        }
    }
    Ok(())
}
