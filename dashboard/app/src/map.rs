//! The province choropleth: 77 outlines coloured by the newest window's
//! least freeboard (how far below its bank the river stayed).
//!
//! Paths are built once; only each path's `data-band` attribute is
//! reactive, so a new snapshot recolours provinces in place and never
//! rebuilds the SVG. Colours live in CSS, keyed by band.

use std::collections::HashMap;

use leptos::prelude::*;
use pmoc_schemas::{api::WaterSnapshot, area::province, calendar::Lang, geo};

/// Freeboard bands, worst first: (band, lower bound in m, Thai, English).
const BANDS: &[(&str, f64, &str, &str)] = &[
    (
        "overflow",
        f64::NEG_INFINITY,
        "ล้นตลิ่ง (< 0 ม.)",
        "Overtopped (< 0 m)",
    ),
    ("critical", 0.0, "วิกฤต (0–0.5 ม.)", "Critical (0–0.5 m)"),
    (
        "warning",
        0.5,
        "เฝ้าระวัง (0.5–1.5 ม.)",
        "Warning (0.5–1.5 m)",
    ),
    ("watch", 1.5, "ติดตาม (1.5–3 ม.)", "Watch (1.5–3 m)"),
    ("normal", 3.0, "ปกติ (≥ 3 ม.)", "Normal (≥ 3 m)"),
];

/// The band of a freeboard, or `none` without data.
pub fn band(freeboard_m: Option<f64>) -> &'static str {
    match freeboard_m {
        None => "none",
        Some(f) => BANDS
            .iter()
            .rev()
            .find(|(_, lower, _, _)| f >= *lower)
            .map_or("overflow", |(band, ..)| band),
    }
}

#[component]
pub fn ProvinceMap(
    snapshot: RwSignal<Option<WaterSnapshot>>,
    lang: RwSignal<Lang>,
) -> impl IntoView {
    let freeboard = Memo::new(move |_| {
        snapshot
            .get()
            .map(|s| {
                s.provinces
                    .iter()
                    .filter_map(|p| p.min_freeboard_m.map(|f| (p.province_code.clone(), f)))
                    .collect::<HashMap<_, _>>()
            })
            .unwrap_or_default()
    });
    let outlines = crate::outlines::provinces();
    // Built once, when the outlines arrive; a new snapshot only changes
    // each path's band.
    let paths = move || {
        outlines.get().map(|shapes| {
            shapes
                .iter()
                .map(|shape| {
                    let code = shape.code.clone();
                    let band = move || band(freeboard.with(|m| m.get(&code).copied()));
                    let (th, en) = province(&shape.code)
                        .map(|p| (p.name_th.clone(), p.name_en.clone()))
                        .unwrap_or_default();
                    let name = move || {
                        if lang.get() == Lang::Th {
                            th.clone()
                        } else {
                            en.clone()
                        }
                    };
                    view! {
                        <path class="province" data-province=shape.code.clone() d=shape.path.clone() data-band=band>
                            <title>{name}</title>
                        </path>
                    }
                })
                .collect_view()
        })
    };
    let is_th = move || lang.get() == Lang::Th;
    view! {
        <section class="panel map">
            <h2>{move || if is_th() { "ระยะห่างระดับน้ำจากตลิ่ง" } else { "Freeboard: water below bank" }}</h2>
            <svg id="province-map" viewBox=geo::view_box() role="img">
                {paths}
            </svg>
            <ul class="legend">
                {BANDS
                    .iter()
                    .rev()
                    .map(|(band, _, th, en)| {
                        view! {
                            <li><span class="swatch" data-band=*band></span>
                            {move || if is_th() { *th } else { *en }}</li>
                        }
                    })
                    .collect_view()}
                <li><span class="swatch" data-band="none"></span>
                {move || if is_th() { "ไม่มีข้อมูล" } else { "No data" }}</li>
            </ul>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::band;

    #[test]
    fn freeboard_bands_have_inclusive_lower_bounds() {
        let cases = [
            (None, "none"),
            (Some(-0.01), "overflow"),
            (Some(0.0), "critical"),
            (Some(0.49), "critical"),
            (Some(0.5), "warning"),
            (Some(1.5), "watch"),
            (Some(3.0), "normal"),
            (Some(12.0), "normal"),
        ];
        for (freeboard, want) in cases {
            assert_eq!(band(freeboard), want, "{freeboard:?}");
        }
    }
}
