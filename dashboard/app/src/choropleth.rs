//! Choropleth maps of provinces (and, in the drill-down, districts).
//!
//! Outlines are rendered once; only each path's `data-band` and
//! `data-dim` attributes are reactive, so new figures recolour the map in
//! place and never rebuild the SVG. Colours live in CSS, keyed by band.

use std::collections::HashMap;

use leptos::prelude::*;
use pmoc_schemas::{
    alert::Severity,
    api::{Alert, Point},
    area::province,
    calendar::Lang,
    geo,
};

use crate::format::{self, tr};

/// Bands per area and the legend that explains them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Layer {
    pub bands: HashMap<String, &'static str>,
    /// `(band, label)`, low to high.
    pub legend: Vec<(&'static str, String)>,
}

const CLASSES: [&str; 5] = ["q0", "q1", "q2", "q3", "q4"];

/// Five equal-width classes between the smallest and largest figure; a
/// suppressed small count falls in the lowest class without its number.
pub fn metric_layer(metric: &str, values: &[(String, Point)], lang: Lang) -> Layer {
    let shown = values.iter().filter_map(|(_, p)| p.value);
    let (lo, hi) = shown.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if !lo.is_finite() {
        return Layer {
            bands: HashMap::new(),
            legend: vec![("none", tr(lang, "ไม่มีข้อมูล", "No data").to_owned())],
        };
    }
    let step = if hi > lo { (hi - lo) / 5.0 } else { 1.0 };
    let class = |v: f64| CLASSES[(((v - lo) / step) as usize).min(4)];
    let bands = values
        .iter()
        .map(|(code, p)| (code.clone(), p.value.map_or("q0", class)))
        .collect();
    let unit = format::unit(metric, lang);
    let mut legend: Vec<(&'static str, String)> = CLASSES
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let from = lo + step * i as f64;
            (
                *c,
                format!("{} – {}", format::number(from), format::number(from + step)),
            )
        })
        .collect();
    if let Some(last) = legend.last_mut() {
        last.1 = format!("{} {unit}", last.1);
    }
    legend.push(("none", tr(lang, "ไม่มีข้อมูล", "No data").to_owned()));
    Layer { bands, legend }
}

/// Each province by its worst open alert (district alerts count for their
/// province).
pub fn severity_layer(alerts: &[Alert], lang: Lang) -> Layer {
    let mut worst: HashMap<String, Severity> = HashMap::new();
    for a in alerts.iter().filter(|a| a.is_open()) {
        let code = match a.event.area_level.as_str() {
            "province" => a.event.area_code.clone(),
            "district" => a.event.area_code.chars().take(2).collect(),
            _ => continue,
        };
        let s = worst.entry(code).or_insert(a.event.severity);
        *s = (*s).max(a.event.severity);
    }
    let bands = worst.into_iter().map(|(code, s)| (code, band(s))).collect();
    let legend = [Severity::Info, Severity::Warning, Severity::Critical]
        .into_iter()
        .map(|s| (band(s), format::severity_name(s, lang).to_owned()))
        .chain([("none", tr(lang, "ไม่มีการแจ้งเตือน", "No alert").to_owned())])
        .collect();
    Layer { bands, legend }
}

/// Own band names: the water map's "critical" freeboard band is orange.
fn band(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "sev-critical",
        Severity::Warning => "sev-warning",
        Severity::Info => "sev-info",
    }
}

/// The 77 provinces. `keep` (a region key) dims the others; `pick` is
/// called with a province code on click.
#[component]
pub fn ProvinceChoropleth(
    #[prop(into)] layer: Signal<Layer>,
    #[prop(into)] keep: Signal<Option<String>>,
    lang: RwSignal<Lang>,
    #[prop(optional)] pick: Option<Callback<String>>,
) -> impl IntoView {
    let outlines = crate::outlines::provinces();
    // Built once, when the outlines arrive; new figures only change each
    // path's band.
    let paths = move || {
        outlines.get().map(|shapes| {
            shapes
                .iter()
                .map(|shape| {
                    let reference = province(&shape.code);
                    let region = reference.map(|p| p.region4.clone()).unwrap_or_default();
                    let (th, en) = reference
                        .map(|p| (p.name_th.clone(), p.name_en.clone()))
                        .unwrap_or_default();
                    let code = shape.code.clone();
                    let band = {
                        let code = code.clone();
                        move || layer.with(|l| l.bands.get(&code).copied().unwrap_or("none"))
                    };
                    let dim = move || keep.with(|k| k.as_ref().is_some_and(|k| *k != region));
                    let click = code.clone();
                    view! {
                        <path
                            class="province"
                            data-province=code
                            d=shape.path.clone()
                            data-band=band
                            data-dim=move || dim().to_string()
                            on:click=move |_| if let Some(pick) = pick { pick.run(click.clone()) }
                        >
                            <title>{move || if lang.get() == Lang::Th { th.clone() } else { en.clone() }}</title>
                        </path>
                    }
                })
                .collect_view()
        })
    };
    view! {
        <svg class="choropleth" viewBox=geo::view_box() role="img">
            {paths}
        </svg>
        <Legend layer />
    }
}

#[component]
pub fn Legend(#[prop(into)] layer: Signal<Layer>) -> impl IntoView {
    view! {
        <ul class="legend">
            {move || {
                layer
                    .get()
                    .legend
                    .into_iter()
                    .map(|(band, label)| {
                        view! { <li><span class="swatch" data-band=band></span>{label}</li> }
                    })
                    .collect_view()
            }}
        </ul>
    }
}
