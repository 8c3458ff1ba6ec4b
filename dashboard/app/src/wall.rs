//! The wall screen (`/wall`): a kiosk page with no chrome, no cursor and
//! no scrolling, sized from the viewport so it reads the same from five
//! metres on a 1080p or a 4K screen.
//!
//! Query parameters for the kiosk's start-up URL: `lang=en`, and
//! `focus=water` (or `alerts`, `region:NE`) to pin one focus view instead
//! of rotating.

use leptos::prelude::*;
use pmoc_schemas::{
    api::{CommitteePanel, Light, MetricSeries, SourceFreshness, WallSnapshot},
    area::provinces,
    calendar::{Lang, format_datetime},
    committee::Committee,
};

use crate::{
    Ctx,
    charts::Sparkline,
    choropleth::{Layer, ProvinceChoropleth, metric_layer, severity_layer},
    ctx, format,
    format::tr,
    live::Status,
    nav::location,
    rotation::{Focus, Rotation},
};

/// How many tiles a committee's small panel shows; its focus view shows all.
const SMALL_PANEL_TILES: usize = 4;

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
            let newest = layer
                .provinces
                .iter()
                .map(|(_, p)| p.computed_at_ms)
                .max()?;
            let source = format::def(&m).map(|d| d.source).unwrap_or_default();
            Some(format!(
                "{} · {source}",
                format_datetime(newest, lang.get())
            ))
        })
    };
    view! {
        <h2>{title}</h2>
        <p class="asof">{asof}</p>
        <ProvinceChoropleth layer keep lang />
    }
}

fn panel_of(w: &WallSnapshot, committee: &str) -> Option<CommitteePanel> {
    w.panels.iter().find(|p| p.committee == committee).cloned()
}

/// The worst light of a committee's sources, at the server's time.
fn light_now(w: &WallSnapshot, committee: &str, now: i64) -> Light {
    w.freshness
        .iter()
        .filter(|f| f.committee == committee)
        .map(|f| f.light_at(now))
        .max()
        .unwrap_or(Light::Unknown)
}

/// A committee's panel: headline tiles with sparklines, and what every
/// tile owes its reader: as-of time, source, completeness, staleness.
#[component]
fn PanelView(committee: String, large: bool) -> impl IntoView {
    let Ctx {
        wall, lang, now, ..
    } = ctx();
    let c = committee.clone();
    let panel = Memo::new(move |_| wall.with(|w| w.as_ref().and_then(|w| panel_of(w, &c))));
    let c = committee.clone();
    let light = Memo::new(move |_| {
        let t = now.get();
        wall.with(|w| w.as_ref().map_or(Light::Unknown, |w| light_now(w, &c, t)))
    });
    let c = committee.clone();
    let sources = {
        let mut s: Vec<&str> = Committee::from_name(&c)
            .map(|c| {
                pmoc_schemas::metric::of_committee(c)
                    .map(|d| d.source)
                    .collect()
            })
            .unwrap_or_default();
        s.dedup();
        s.join(", ")
    };
    let id = format!("panel-{}{}", committee, if large { "-focus" } else { "" });
    let tiles = move || {
        let lang = lang.get();
        let Some(p) = panel.get() else {
            return view! { <p class="empty">{tr(lang, "กำลังโหลด…", "Loading…")}</p> }.into_any();
        };
        let take = if large { usize::MAX } else { SMALL_PANEL_TILES };
        p.series
            .into_iter()
            .take(take)
            .map(|s| {
                let metric = s.metric.clone();
                let stale = Signal::derive(move || {
                    let t = now.get();
                    wall.with(|w| {
                        w.as_ref().is_some_and(|w| {
                            SourceFreshness::of_metric(&w.freshness, &metric, t).is_stale()
                        })
                    })
                });
                view! { <Tile series=s lang stale /> }
            })
            .collect_view()
            .into_any()
    };
    let asof = move || {
        panel.with(|p| {
            p.as_ref()?
                .series
                .iter()
                .filter_map(|s| s.latest().map(|p| p.computed_at_ms))
                .max()
        })
    };
    view! {
        <article id=id class="panel-c" class:large=large data-committee=committee.clone() data-light=move || light.get().as_str()>
            <h2>
                {move || format::committee_name(&c, lang.get())}
                <span class="stale" class:hidden=move || !matches!(light.get(), Light::Amber | Light::Red)>
                    {move || tr(lang.get(), "ล่าช้า", "STALE")}
                </span>
            </h2>
            <div class="tiles">{tiles}</div>
            <p class="meta">
                <span class="asof">
                    {move || tr(lang.get(), "ณ ", "As of ")}
                    {move || asof().map(|t| format_datetime(t, lang.get())).unwrap_or_else(|| "-".to_owned())}
                </span>
                <span class="source">{move || tr(lang.get(), " · แหล่ง: ", " · Source: ")}{sources.clone()}</span>
                <span class="complete">
                    {move || tr(lang.get(), " · ครบถึง ", " · Complete to ")}
                    {move || panel.with(|p| p.as_ref().and_then(|p| p.complete_up_to_ms)).map(|t| format_datetime(t, lang.get())).unwrap_or_else(|| "-".to_owned())}
                </span>
            </p>
        </article>
    }
}

/// One metric's headline; marked stale when its source's newest data is
/// older than the source's cadence allows.
#[component]
fn Tile(series: MetricSeries, lang: Lang, stale: Signal<bool>) -> impl IntoView {
    let latest = series.latest().cloned();
    let provisional = latest.as_ref().is_some_and(|p| !p.final_);
    // Values that came after the window was final: shown, not hidden.
    let late = latest.as_ref().map_or(0, |p| p.late);
    let value = latest
        .as_ref()
        .map(|p| format::headline(&series.metric, p, lang))
        .unwrap_or_else(|| "-".to_owned());
    // The statistic and period, from the declaration: "highest station · now".
    let meaning = format::meaning(&series.metric, latest.as_ref(), lang);
    let unit = format::def(&series.metric)
        .map(|d| d.unit)
        .unwrap_or_default();
    view! {
        <div class="tile-m" class:tile-stale=stale data-metric=series.metric.clone() data-stale=move || stale.get().to_string()>
            <span class="label">{format::metric_label(&series.metric, lang)}</span>
            <span class="meaning">{meaning}</span>
            <span class="headline" class:provisional=provisional>{value}</span>
            <span class="unit">{unit}</span>
            <span class="marks">
                <span class="prov-mark" class:hidden=!provisional>{tr(lang, "ชั่วคราว", "provisional")}</span>
                <span class="stale-mark" class:hidden=move || !stale.get()>{tr(lang, "ล่าช้า", "stale")}</span>
                <span class="late-mark" class:hidden=late == 0>
                    {tr(lang, "ข้อมูลล่าช้า +", "late +")}{late}
                </span>
            </span>
            <Sparkline points=series.points />
        </div>
    }
}

/// How an alert on the wall has been dealt with: `new`, `acknowledged`, or
/// `closed` (an operator closed it but the pipeline still sees the breach).
fn alert_mark(a: &pmoc_schemas::api::Alert) -> &'static str {
    if a.closed_by_operator() {
        "closed"
    } else if a.acknowledged() {
        "acknowledged"
    } else {
        "new"
    }
}

/// Open alerts, worst first; the one holding the wall is marked.
#[component]
fn AlertList(held: Memo<Option<String>>) -> impl IntoView {
    let Ctx { wall, lang, .. } = ctx();
    move || {
        let lang = lang.get();
        let alerts = wall.get().map(|w| w.alerts).unwrap_or_default();
        if alerts.is_empty() {
            return view! { <p class="empty">{tr(lang, "ไม่มีการแจ้งเตือนที่เปิดอยู่", "No open alerts")}</p> }.into_any();
        }
        let held = held.get();
        view! {
            <h2>{tr(lang, "การแจ้งเตือนที่เปิดอยู่", "Open alerts")}</h2>
            <ol class="alert-list">
                {alerts
                    .into_iter()
                    .take(8)
                    .map(|a| {
                        let e = &a.event;
                        let holding = held.as_deref() == Some(e.alert_id.as_str());
                        view! {
                            <li data-severity=e.severity.as_str() class:holding=holding data-alert=e.alert_id.clone()
                                data-mark=alert_mark(&a)>
                                <span class="sev">{format::severity_name(e.severity, lang)}</span>
                                <span class="area">{if lang == Lang::Th { a.area_th.clone() } else { a.area_en.clone() }}</span>
                                <span class="rule">{format::metric_label(&e.metric, lang)}" · "{format::rule_label(&e.rule, lang)}</span>
                                <span class="val">{format::number(e.value)}" / "{format::number(e.threshold)}</span>
                                <span class="ack">
                                    {if a.closed_by_operator() { tr(lang, "ปิดแล้ว ยังเกินเกณฑ์", "closed, still in breach") } else if a.acknowledged() { tr(lang, "รับทราบแล้ว", "acknowledged") } else if holding { tr(lang, "รอการรับทราบ", "awaiting acknowledgement") } else { "" }}
                                </span>
                            </li>
                        }
                    })
                    .collect_view()}
            </ol>
        }
        .into_any()
    }
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
        let rows = provinces()
            .iter()
            .filter(|p| p.region4 == region)
            .map(|p| {
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
            })
            .collect_view();
        let heads = w
            .maps
            .iter()
            .map(|l| view! { <th>{format::metric_label(&l.metric, lang)}</th> })
            .collect_view();
        view! {
            <table class="region-table">
                <thead><tr><th>{tr(lang, "จังหวัด", "Province")}</th>{heads}</tr></thead>
                <tbody>{rows}</tbody>
            </table>
        }
        .into_any()
    }
}

/// One light per source, plus the day's rejected messages.
#[component]
fn Freshness() -> impl IntoView {
    let Ctx {
        wall, lang, now, ..
    } = ctx();
    move || {
        let lang = lang.get();
        let t = now.get();
        let Some(w) = wall.get() else {
            return ().into_any();
        };
        let lights = w
            .freshness
            .iter()
            .map(|f| {
                let light = f.light_at(t);
                // The agency is the schema's prefix; the subject is what differs.
                let subject = f
                    .schema
                    .split_once('.')
                    .map_or(f.schema.as_str(), |(_, s)| s)
                    .to_owned();
                view! {
                    <li class="light" data-light=light.as_str() data-schema=f.schema.clone()>
                        <span class="dot"></span>
                        <span class="who" title=f.schema.clone()>{subject}</span>
                        <span class="age">{format::age(t - f.last_event_ms, lang)}</span>
                    </li>
                }
            })
            .collect_view();
        // One completeness time for the strip: every source is final up to it.
        let complete = w.freshness.iter().map(|f| f.final_up_to_ms).min();
        let rejected: u64 = w.rejects.iter().map(|r| r.count).sum();
        let reasons = w
            .rejects
            .iter()
            .map(|r| format!("{} {}", r.reason_kind, r.count))
            .collect::<Vec<_>>()
            .join(", ");
        let tip = reasons.clone();
        view! {
            <section id="freshness" class="freshness">
                <ul>{lights}</ul>
                <p class="complete">
                    {tr(lang, "ครบถึง ", "Complete to ")}
                    {complete.map(pmoc_schemas::calendar::format_time).unwrap_or_else(|| "-".to_owned())}
                </p>
                <p id="rejects" class="rejects" title=tip>
                    {tr(lang, "ข้อความถูกปฏิเสธ 24 ชม.: ", "Rejected, 24 h: ")}{format::number(rejected as f64)}
                    <span class="reasons">{reasons}</span>
                </p>
            </section>
        }
        .into_any()
    }
}

/// The alert ticker: open alerts crawling along the bottom edge.
#[component]
fn Ticker() -> impl IntoView {
    let Ctx { wall, lang, .. } = ctx();
    view! {
        <section id="ticker" class="ticker">
            <div class="crawl">
                {move || {
                    let lang = lang.get();
                    let alerts = wall.get().map(|w| w.alerts).unwrap_or_default();
                    if alerts.is_empty() {
                        return view! { <span class="quiet">{tr(lang, "ไม่มีการแจ้งเตือน", "No open alerts")}</span> }.into_any();
                    }
                    alerts
                        .into_iter()
                        .map(|a| {
                            let area = if lang == Lang::Th { a.area_th.clone() } else { a.area_en.clone() };
                            let e = &a.event;
                            view! {
                                <span class="item" data-severity=e.severity.as_str() data-alert=e.alert_id.clone()>
                                    <b>{format::severity_name(e.severity, lang)}</b>" "{area}" · "
                                    {format::metric_label(&e.metric, lang)}" "{format::number(e.value)}" · "{format::rule_label(&e.rule, lang)}
                                </span>
                            }
                        })
                        .collect_view()
                        .into_any()
                }}
            </div>
        </section>
    }
}
