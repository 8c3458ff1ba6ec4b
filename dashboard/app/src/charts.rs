//! Inline SVG charts: no chart library, just polylines, so a sparkline
//! costs a few hundred bytes of DOM and renders identically everywhere.

use leptos::prelude::*;
use pmoc_schemas::{
    api::Point,
    calendar::{Lang, format_datetime},
    catalogue,
};

use crate::format::{self, tr};

/// `x,y` pairs of `points` scaled into `width` x `height` (y grows down),
/// skipping suppressed windows (their value is not known here).
pub fn polyline(points: &[Point], width: f64, height: f64) -> String {
    let shown: Vec<(usize, f64)> = points
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.value.filter(|v| v.is_finite()).map(|v| (i, v)))
        .collect();
    let (lo, hi) = bounds(shown.iter().map(|(_, v)| *v));
    let span = if hi > lo { hi - lo } else { 1.0 };
    let last = points.len().saturating_sub(1).max(1) as f64;
    shown
        .iter()
        .map(|(i, v)| {
            let x = *i as f64 / last * width;
            let y = height - (v - lo) / span * height;
            format!("{x:.1},{y:.1}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    })
}

/// A sparkline of a tile's recent windows; an open window's point is hollow.
#[component]
pub fn Sparkline(points: Vec<Point>) -> impl IntoView {
    let line = polyline(&points, 100.0, 24.0);
    let provisional = points.last().is_some_and(|p| !p.final_);
    let tip = line.rsplit(' ').next().unwrap_or_default().to_owned();
    let (cx, cy) = tip.split_once(',').unwrap_or(("0", "0"));
    let (cx, cy) = (cx.to_owned(), cy.to_owned());
    view! {
        <svg class="sparkline" viewBox="-2 -2 104 28" preserveAspectRatio="none" aria-hidden="true">
            <polyline points=line />
            <circle cx=cx cy=cy r="2" class:provisional=provisional />
        </svg>
    }
}

/// A time-series chart with its range written beside it.
#[component]
pub fn LineChart(
    metric: String,
    points: Vec<Point>,
    lang: Lang,
    /// Whether the metric's source is older than its cadence allows.
    #[prop(into)]
    stale: Signal<bool>,
) -> impl IntoView {
    let line = polyline(&points, 300.0, 80.0);
    let values = points.iter().filter_map(|p| p.value);
    let (lo, hi) = bounds(values);
    let has = lo.is_finite();
    let first = points
        .first()
        .map(|p| format_datetime(p.window_start_ms, lang));
    let last = points
        .last()
        .map(|p| format_datetime(p.window_end_ms, lang));
    let newest = points.last().map(|p| format::headline(&metric, p, lang));
    let meaning = format::meaning(&metric, points.last(), lang);
    let unit = format::unit(&metric, lang);
    let provisional = points.last().is_some_and(|p| !p.final_);
    // Late values in the period: folded into its figures after they were
    // final, and those too old to be, each said as on the wall.
    let revised: u64 = points.iter().map(|p| p.revised).sum();
    let late: u64 = points.iter().map(|p| p.late).sum();
    // A median hides the long waits people complain about: show the tail.
    let p95 = points.last().and_then(|p| p.p95).map(|v| {
        format!(
            "{} {} {unit}",
            tr(lang, "· 95% ไม่เกิน", "· p95"),
            format::number(v)
        )
    });
    view! {
        <figure class="chart" class:chart-stale=stale data-metric=metric.clone() data-stale=move || stale.get().to_string()>
            <figcaption>
                <span class="label">{format::metric_label(&metric, lang)}</span>
                <span class="meaning">{meaning}</span>
                <span class="value" class:provisional=provisional>
                    {newest.unwrap_or_else(|| "-".to_owned())}
                </span>
                <span class="unit">{unit}</span>
                <span class="p95">{p95.unwrap_or_default()}</span>
                <span class="stale-mark" class:hidden=move || !stale.get()>{tr(lang, "ล่าช้า", "stale")}</span>
                <RevisedMark revised lang />
                <span class="late-mark" class:hidden=late == 0>{catalogue::late_not_included(late, lang)}</span>
            </figcaption>
            <svg viewBox="-4 -4 308 88" preserveAspectRatio="none" aria-hidden="true">
                <polyline points=line />
            </svg>
            <div class="axis">
                <span>{first.unwrap_or_default()}</span>
                <span>
                    {if has { format!("{} – {}", format::number(lo), format::number(hi)) } else { String::new() }}
                </span>
                <span>{last.unwrap_or_default()}</span>
            </div>
        </figure>
    }
}

/// "ปรับแก้ +3": late values folded into a figure after it was final, with
/// the sentence ("revised by 3 late values") as its accessible name; hidden
/// when there are none. The wall's tiles and the drill-down's charts say it
/// alike.
#[component]
pub fn RevisedMark(revised: u64, lang: Lang) -> impl IntoView {
    view! {
        <span
            class="revised-mark"
            class:hidden=revised == 0
            data-revised=revised.to_string()
            title=catalogue::revised_by(revised, lang)
            aria-label=catalogue::revised_by(revised, lang)
        >
            {catalogue::revised_mark(revised, lang)}
        </span>
    }
}
