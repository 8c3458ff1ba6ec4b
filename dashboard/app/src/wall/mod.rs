//! The wall screen (`/wall`): a kiosk page with no chrome, no cursor and
//! no scrolling, sized from the viewport so it reads the same from five
//! metres on a 1080p or a 4K screen.
//!
//! Query parameters for the kiosk's start-up URL: `lang=en`, and
//! `focus=water` (or `alerts`, `region:NE`) to pin one focus view instead
//! of rotating.

mod alerts;
mod fit;
mod freshness;
mod panels;

use leptos::prelude::*;
use pmoc_schemas::{
    area::provinces,
    calendar::{Lang, format_datetime, format_time},
    catalogue,
    committee::Committee,
};

use self::{
    alerts::{AlertList, Ticker},
    freshness::Freshness,
    panels::PanelView,
};
use crate::{
    Ctx,
    choropleth::{Layer, ProvinceChoropleth, metric_layer, severity_layer},
    ctx, format,
    format::tr,
    live::Status,
    nav::location,
    rotation::{Focus, Rotation},
};

#[component]
pub fn Wall() -> impl IntoView {
    let Ctx {
        wall,
        connection,
        heard,
        lang,
        now,
        ..
    } = ctx();
    let pinned = location().param("focus").and_then(|f| Focus::parse(&f));
    let rotation = RwSignal::new(Rotation::default());
    Effect::new(move |_| {
        let t = now.get();
        wall.with_untracked(|w| {
            if let Some(w) = w {
                rotation.update(|r| r.tick(t, &w.alerts, &w.settings));
            }
        });
    });
    let focus = Memo::new(move |_| {
        pinned.clone().unwrap_or_else(|| {
            wall.with(|w| {
                w.as_ref()
                    .map_or(Focus::Alerts, |w| rotation.with(|r| r.focus(&w.settings)))
            })
        })
    });
    let held = Memo::new(move |_| rotation.with(|r| r.held.as_ref().map(|h| h.0.clone())));
    let t = move |th: &'static str, en: &'static str| move || tr(lang.get(), th, en);

    view! {
        <div id="wall" class="wall" data-focus=move || focus_key(&focus.get())>
            <header class="wall-top">
                <h1>{t("ศูนย์ปฏิบัติการนายกรัฐมนตรี", "Prime Minister's Operations Centre")}</h1>
                <span class="focus-name">{move || focus_name(&focus.get(), lang.get())}</span>
                <Status connection heard now lang />
                <span class="asof-down" class:hidden=move || connection.get() != crate::Connection::Disconnected>
                    {t("ข้อมูล ณ ", "Data as of ")}
                    {move || wall.get().map(|w| format_datetime(w.generated_at_ms, lang.get())).unwrap_or_default()}
                </span>
                <time id="wall-clock" class="clock">{move || format_datetime(now.get(), lang.get())}</time>
            </header>
            <section class="wall-map tile">
                <WallMap focus lang />
            </section>
            <section id="wall-focus" class="wall-focus tile">
                {move || match focus.get() {
                    Focus::Committee(c) => view! { <PanelView committee=c large=true /> }.into_any(),
                    Focus::Alerts => view! { <AlertList held /> }.into_any(),
                    Focus::Region(r) => view! { <RegionView region=r /> }.into_any(),
                }}
            </section>
            <section class="wall-panels">
                {Committee::ALL
                    .into_iter()
                    .map(|c| view! { <PanelView committee=c.as_str().to_owned() large=false /> })
                    .collect_view()}
            </section>
            <Freshness />
            <Ticker />
        </div>
    }
}

fn focus_key(f: &Focus) -> String {
    match f {
        Focus::Committee(c) => c.clone(),
        Focus::Alerts => "alerts".to_owned(),
        Focus::Region(r) => format!("region:{r}"),
    }
}

fn focus_name(f: &Focus, lang: Lang) -> String {
    match f {
        Focus::Committee(c) => format::committee_name(c, lang).to_owned(),
        Focus::Alerts => tr(lang, "การแจ้งเตือน", "Alerts").to_owned(),
        Focus::Region(r) => pmoc_schemas::api::place("region4", r)
            .map(|p| {
                if lang == Lang::Th {
                    p.name_th
                } else {
                    p.name_en
                }
            })
            .unwrap_or_default(),
    }
}

/// The committee whose map layer a focus shows.
fn map_committee(f: &Focus) -> Option<&str> {
    match f {
        Focus::Committee(c) => Some(c),
        Focus::Region(_) => Some("water"),
        Focus::Alerts => None,
    }
}

#[component]
fn WallMap(focus: Memo<Focus>, lang: RwSignal<Lang>) -> impl IntoView {
    let Ctx { wall, .. } = ctx();
    let metric = Memo::new(move |_| {
        let f = focus.get();
        let committee = map_committee(&f)?.to_owned();
        wall.with(|w| {
            w.as_ref()?
                .maps
                .iter()
                .find(|m| format::def(&m.metric).is_some_and(|d| d.committee.as_str() == committee))
                .map(|m| m.metric.clone())
        })
    });
    let layer = Memo::new(move |_| {
        let lang = lang.get();
        wall.with(|w| {
            let Some(w) = w else { return Layer::default() };
            match metric.get() {
                Some(m) => w
                    .maps
                    .iter()
                    .find(|l| l.metric == m)
                    .map(|l| metric_layer(&m, &l.provinces, lang))
                    .unwrap_or_default(),
                None => severity_layer(&w.alerts, lang),
            }
        })
    });
    let keep = Signal::derive(move || match focus.get() {
        Focus::Region(r) => Some(r),
        _ => None,
    });
    let title = move || match metric.get() {
        Some(m) => format::metric_label(&m, lang.get()),
        None => tr(
            lang.get(),
            "ระดับการแจ้งเตือนสูงสุดรายจังหวัด",
            "Worst open alert by province",
        )
        .to_owned(),
    };
    let asof = move || {
        let m = metric.get()?;
        wall.with(|w| {
            let layer = w.as_ref()?.maps.iter().find(|l| l.metric == m)?;
            // The layer's own as-of: a province's point keeps the time its
            // figure last changed.
            let newest = Some(layer.computed_at_ms).filter(|t| *t > 0)?;
            let lang = lang.get();
            let source = format::def(&m)
                .and_then(|d| catalogue::agency(d.source))
                .map_or("", |a| a.short.get(lang));
            Some(format!(
                "{} {} · {source}",
                tr(lang, "ณ", "As of"),
                format_time(newest)
            ))
        })
    };
    view! {
        <h2>{title}</h2>
        <p class="asof">{asof}</p>
        <ProvinceChoropleth layer keep lang />
    }
}

/// Most provinces a region table lists in one column: the focus area at
/// 1080p holds a header and eleven rows, so a larger region is laid out as
/// tables side by side (the north-east's twenty as two of ten).
const REGION_ROWS: usize = 10;

/// Rows a table of a region of `n` provinces: as few side-by-side tables as
/// keep to [`REGION_ROWS`], their lengths as even as can be.
fn region_rows(n: usize) -> usize {
    n.div_ceil(n.div_ceil(REGION_ROWS).max(1)).max(1)
}

/// A region's provinces with each committee's map figure.
#[component]
fn RegionView(region: String) -> impl IntoView {
    let Ctx { wall, lang, .. } = ctx();
    move || {
        let lang = lang.get();
        let Some(w) = wall.get() else {
            return ().into_any();
        };
        let members: Vec<_> = provinces().iter().filter(|p| p.region4 == region).collect();
        let row = |p: &pmoc_schemas::area::Province| {
            let cells = w
                .maps
                .iter()
                .map(|l| {
                    let v = l
                        .provinces
                        .iter()
                        .find(|(c, _)| *c == p.code)
                        .map(|(_, pt)| format::value(&l.metric, pt))
                        .unwrap_or_else(|| "-".to_owned());
                    view! { <td>{v}</td> }
                })
                .collect_view();
            let name = if lang == Lang::Th {
                p.name_th.clone()
            } else {
                p.name_en.clone()
            };
            view! { <tr data-province=p.code.clone()><td>{name}</td>{cells}</tr> }
        };
        let rows_each = region_rows(members.len());
        // Side by side, a table has no room for the long labels.
        let side_by_side = rows_each < members.len();
        let head = || {
            let heads = w
                .maps
                .iter()
                .map(|l| {
                    let label = if side_by_side {
                        format::metric_short(&l.metric, lang)
                    } else {
                        format::metric_label(&l.metric, lang)
                    };
                    view! { <th>{label}</th> }
                })
                .collect_view();
            view! { <thead><tr><th>{tr(lang, "จังหวัด", "Province")}</th>{heads}</tr></thead> }
        };
        let tables = members
            .chunks(rows_each)
            .map(|chunk| {
                let rows = chunk.iter().map(|p| row(p)).collect_view();
                view! { <table class="region-table">{head()}<tbody>{rows}</tbody></table> }
            })
            .collect_view();
        view! { <div class="region-tables">{tables}</div> }.into_any()
    }
}

#[cfg(test)]
mod tests {
    use super::region_rows;

    #[test]
    fn large_regions_split_into_even_tables() {
        // Bangkok, the south (14), the north (17), the north-east (20),
        // the centre (25).
        let tables = |n: usize| (n.div_ceil(region_rows(n)), region_rows(n));
        assert_eq!(tables(1), (1, 1));
        assert_eq!(tables(10), (1, 10));
        assert_eq!(tables(14), (2, 7));
        assert_eq!(tables(17), (2, 9));
        assert_eq!(tables(20), (2, 10));
        assert_eq!(tables(25), (3, 9));
        assert_eq!(region_rows(0), 1);
    }
}
