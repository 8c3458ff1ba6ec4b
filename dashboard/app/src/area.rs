//! The drill-down (`/area/{level}/{code}?range=1d&committee=water`):
//! nation, region, province, district, by clicking the map or a table row.
//! The URL is the state, so any view can be bookmarked and shared.

use leptos::{prelude::*, task::spawn_local};
use pmoc_schemas::{
    api::{AreaDetail, RANGES, SourceFreshness},
    calendar::{Lang, format_datetime},
    committee::Committee,
};
use serde::Deserialize;
use wasm_bindgen::{JsCast, closure::Closure};
use web_sys::{EventSource, MessageEvent};

use crate::{
    Ctx, Footer, TopBar,
    charts::LineChart,
    choropleth::{Layer, Legend, ProvinceChoropleth, metric_layer},
    ctx, format,
    format::tr,
    nav::{Link, location},
};

/// One district outline from `/api/geo/districts/{province}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
struct Outline {
    code: String,
    path: String,
}

/// The page's address, from the URL.
#[derive(Debug, Clone, PartialEq)]
struct Here {
    level: String,
    code: String,
    range: String,
    committee: String,
    /// On the nation page, `districts` shows all 928 districts.
    map: String,
}

impl Here {
    /// The province whose districts the map shows (empty: the whole
    /// country's), if the map shows districts.
    fn province(&self) -> Option<String> {
        match self.level.as_str() {
            "province" => Some(self.code.clone()),
            "district" => Some(self.code.chars().take(2).collect()),
            "nation" if self.national_districts() => Some(String::new()),
            _ => None,
        }
    }

    fn national_districts(&self) -> bool {
        self.level == "nation" && self.map == "districts"
    }
}

/// How often the national district map asks whether its figures changed
/// when nothing else has told it (the server's safety re-read is 10 s).
const MAP_RECHECK_MS: i64 = 10_000;

fn href(level: &str, code: &str, range: &str, committee: &str) -> String {
    format!("/area/{level}/{code}?range={range}&committee={committee}")
}

#[component]
pub fn AreaPage() -> impl IntoView {
    let Ctx {
        wall, lang, now, ..
    } = ctx();
    let loc = location();
    let here = Memo::new(move |_| {
        let path = loc.path.get();
        let mut parts = path.trim_matches('/').split('/').skip(1);
        let level = parts.next().unwrap_or("nation").to_owned();
        let code = parts.next().unwrap_or("TH").to_owned();
        let committee = loc
            .param("committee")
            .filter(|c| Committee::from_name(c).is_some())
            .unwrap_or_else(|| "water".to_owned());
        let range = loc
            .param("range")
            .filter(|r| RANGES.iter().any(|x| x.0 == r))
            .unwrap_or_else(|| "1d".to_owned());
        let map = loc.param("map").unwrap_or_default();
        Here {
            level,
            code,
            range,
            committee,
            map,
        }
    });
    let detail = RwSignal::new(None::<AreaDetail>);
    let problem = RwSignal::new(None::<String>);
    // The area's figures: fetched when the place changes (which also says
    // why, when the server refuses), then pushed by the area's own stream
    // whenever they change, never refetched on the wall's pushes. The
    // server reads each watched area once per refresh for all its viewers.
    let stream = StoredValue::new_local(None::<(EventSource, Closure<dyn FnMut(MessageEvent)>)>);
    let close = move || {
        stream.try_update_value(|s| {
            if let Some((source, _)) = s.take() {
                source.close();
            }
        });
    };
    on_cleanup(close);
    // A page left for another (or frozen in the back-forward cache) must
    // not keep its stream: browsers allow six connections to a server, and
    // pages kept alive with two streams each soon starve the next request.
    let leaving = window_event_listener(leptos::ev::pagehide, move |_| close());
    on_cleanup(move || leaving.remove());
    Effect::new(move |_| {
        let h = here.get();
        close();
        let query = format!(
            "{}/{}?range={}&committee={}",
            h.level, h.code, h.range, h.committee
        );
        let url = format!("/api/area/{query}");
        let fetched_for = h.clone();
        spawn_local(async move {
            let got = async {
                let r = crate::api::get(&url).await?;
                if r.ok() {
                    r.json::<AreaDetail>().await.map(Ok)
                } else {
                    Ok(Err(format!(
                        "{} {}",
                        r.status(),
                        r.text().await.unwrap_or_default()
                    )))
                }
            }
            .await;
            // A slower answer for a place already left is dropped.
            if here.get_untracked() != fetched_for {
                return;
            }
            match got {
                Ok(Ok(d)) => {
                    problem.set(None);
                    detail.set(Some(d));
                }
                Ok(Err(e)) => problem.set(Some(e)),
                Err(e) => problem.set(Some(e.to_string())),
            }
        });
        let Ok(source) = EventSource::new(&format!(
            "/api/area/{}/{}/stream?range={}&committee={}",
            h.level, h.code, h.range, h.committee
        )) else {
            return;
        };
        let on_area = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            let Some(text) = e.data().as_string() else {
                return;
            };
            if here.get_untracked() != h {
                return;
            }
            match serde_json::from_str::<AreaDetail>(&text) {
                Ok(d) => {
                    problem.set(None);
                    detail.set(Some(d));
                }
                Err(err) => leptos::logging::warn!("bad area push: {err}"),
            }
        });
        let _ = source.add_event_listener_with_callback("area", on_area.as_ref().unchecked_ref());
        stream.set_value(Some((source, on_area)));
    });

    let go = move |level: &str, code: &str| {
        let h = here.get_untracked();
        loc.go(&href(level, code, &h.range, &h.committee));
    };
    let pick_province = Callback::new(move |code: String| go("province", &code));
    let pick_district = Callback::new(move |code: String| go("district", &code));

    // Provinces coloured by the committee's live map layer.
    let province_layer = Memo::new(move |_| {
        let committee = here.with(|h| h.committee.clone());
        let lang = lang.get();
        wall.with(|w| {
            w.as_ref()
                .and_then(|w| {
                    w.maps.iter().find(|m| {
                        format::def(&m.metric).is_some_and(|d| d.committee.as_str() == committee)
                    })
                })
                .map(|m| metric_layer(&m.metric, &m.provinces, lang))
                .unwrap_or_default()
        })
    });
    let keep =
        Signal::derive(move || here.with(|h| (h.level == "region4").then(|| h.code.clone())));
    // Districts coloured by the first metric any district has data for;
    // kept while on a district so its siblings stay coloured.
    let district_layer = RwSignal::new(Layer::default());
    Effect::new(move |_| {
        let lang = lang.get();
        detail.with(|d| {
            let Some(d) = d else { return };
            if d.breadcrumbs.last().is_none_or(|p| p.level != "province") {
                return;
            }
            let Some(i) = (0..d.series.len()).find(|i| {
                d.children
                    .iter()
                    .any(|c| c.values.get(*i).is_some_and(Option::is_some))
            }) else {
                return;
            };
            let metric = d.series[i].metric.clone();
            let values: Vec<_> = d
                .children
                .iter()
                .filter_map(|c| Some((c.place.code.clone(), c.values.get(i)?.clone()?)))
                .collect();
            district_layer.set(metric_layer(&metric, &values, lang));
        });
    });

    // All districts coloured by the committee's map metric: asked again
    // when the page's own figures are pushed (the server repeats its reads
    // of a committee together, district map first, and only when the
    // committee's stored figures moved) and, to catch what that push does
    // not show, every `MAP_RECHECK_MS`; not on the wall's pushes (twice a
    // second). The server answers 304 with no body while its read is
    // unchanged; only the bands change, in place.
    // The tag of the layer shown; forgotten on leaving the page's place,
    // whose map another layer may have replaced meanwhile.
    let map_tag = StoredValue::new(None::<String>);
    let recheck = Memo::new(move |_| now.get() / MAP_RECHECK_MS);
    Effect::new(move |was: Option<Here>| {
        let h = here.get();
        detail.track();
        recheck.track();
        if was.as_ref() != Some(&h) {
            map_tag.set_value(None);
        }
        if !h.national_districts() {
            return h;
        }
        let lang = lang.get_untracked();
        let url = format!(
            "/api/map/districts?committee={}&range={}",
            h.committee, h.range
        );
        let tag = map_tag.get_value();
        let fetched_for = h.clone();
        spawn_local(async move {
            let got = async {
                let r = crate::api::get_if_changed(&url, tag.as_deref()).await?;
                if r.status() == 304 || !r.ok() {
                    return Ok(None);
                }
                let tag = r.headers().get("ETag");
                let layer = r.json::<pmoc_schemas::api::MapLayer>().await?;
                Ok::<_, gloo_net::Error>(Some((layer, tag)))
            }
            .await;
            match got {
                Ok(Some((m, tag))) if here.get_untracked() == fetched_for => {
                    map_tag.set_value(tag);
                    district_layer.set(metric_layer(&m.metric, &m.provinces, lang));
                }
                Ok(_) => {}
                Err(e) => leptos::logging::warn!("district map: {e}"),
            }
        });
        h
    });

    // The map is rebuilt only when what it outlines changes, not when the
    // range, committee or live figures do.
    let map_province = Memo::new(move |_| here.with(Here::province));

    let t = move |th: &'static str, en: &'static str| move || tr(lang.get(), th, en);
    view! {
        <TopBar />
        <main class="area">
            <nav id="breadcrumbs" class="breadcrumbs">
                {move || {
                    let h = here.get();
                    detail
                        .get()
                        .map(|d| {
                            d.breadcrumbs
                                .into_iter()
                                .map(|p| {
                                    let name = if lang.get() == Lang::Th { p.name_th } else { p.name_en };
                                    let to = href(&p.level, &p.code, &h.range, &h.committee);
                                    view! { <Link href=to class=format!("crumb {}", p.level)>{name}</Link> }
                                })
                                .collect_view()
                        })
                }}
            </nav>
            <div class="controls">
                <span class="committees">
                    {Committee::ALL
                        .into_iter()
                        .map(|c| {
                            let to = Signal::derive(move || {
                                let h = here.get();
                                href(&h.level, &h.code, &h.range, c.as_str())
                            });
                            let class = Signal::derive(move || {
                                if here.with(|h| h.committee == c.as_str()) { "tab active".to_owned() } else { "tab".to_owned() }
                            });
                            view! { <Link href=to class>{move || format::committee_name(c.as_str(), lang.get())}</Link> }
                        })
                        .collect_view()}
                </span>
                <span class="granularity" class:hidden=move || here.with(|h| h.level != "nation")>
                    {[("", "จังหวัด", "Provinces"), ("districts", "อำเภอ (928)", "Districts (928)")]
                        .into_iter()
                        .map(|(map, th, en)| {
                            let to = Signal::derive(move || {
                                let h = here.get();
                                let base = href(&h.level, &h.code, &h.range, &h.committee);
                                if map.is_empty() { base } else { format!("{base}&map={map}") }
                            });
                            let class = Signal::derive(move || {
                                if here.with(|h| h.map == map) { "tab active".to_owned() } else { "tab".to_owned() }
                            });
                            view! { <Link href=to class>{move || tr(lang.get(), th, en)}</Link> }
                        })
                        .collect_view()}
                </span>
                <span class="ranges">
                    {RANGES
                        .iter()
                        .map(|(key, ..)| {
                            let key = *key;
                            let to = Signal::derive(move || {
                                let h = here.get();
                                href(&h.level, &h.code, key, &h.committee)
                            });
                            let class = Signal::derive(move || {
                                if here.with(|h| h.range == key) { "tab active".to_owned() } else { "tab".to_owned() }
                            });
                            let label = move || match (key, lang.get()) {
                                ("1h", Lang::Th) => "1 ชั่วโมง",
                                ("1h", Lang::En) => "Last hour",
                                ("1d", Lang::Th) => "1 วัน",
                                ("1d", Lang::En) => "Last day",
                                (_, Lang::Th) => "7 วัน",
                                (_, Lang::En) => "Last 7 days",
                            };
                            view! { <Link href=to class>{label}</Link> }
                        })
                        .collect_view()}
                </span>
                // The same figures as a file, as protected as on screen.
                <a
                    id="export-csv"
                    class="tab export"
                    rel="external"
                    download
                    href=move || {
                        let h = here.get();
                        format!(
                            "/api/area/{}/{}/export.csv?range={}&committee={}",
                            h.level, h.code, h.range, h.committee
                        )
                    }
                >
                    {move || tr(lang.get(), "ดาวน์โหลด CSV", "Download CSV")}
                </a>
            </div>
            <p class="problem" class:hidden=move || problem.with(Option::is_none)>{move || problem.get()}</p>
            <div class="area-grid">
                <section class="panel map">
                    {move || match map_province.get() {
                        None => view! { <ProvinceChoropleth layer=province_layer keep lang pick=pick_province /> }.into_any(),
                        Some(p) => view! { <DistrictMap province=p here layer=district_layer pick=pick_district /> }.into_any(),
                    }}
                </section>
                <section class="panel detail">
                    <p class="asof">
                        {t("ณ ", "As of ")}
                        {move || detail.get().map(|d| format_datetime(d.generated_at_ms, lang.get())).unwrap_or_default()}
                        {t(" · ครบถึง ", " · complete to ")}
                        {move || detail.get().and_then(|d| d.complete_up_to_ms).map(|t| format_datetime(t, lang.get())).unwrap_or_else(|| "-".to_owned())}
                        {t(" · ช่วงละ ", " · windows of ")}
                        {move || detail.get().map(|d| format::age(i64::from(d.window_seconds) * 1000, lang.get())).unwrap_or_default()}
                    </p>
                    <div class="charts">
                        {move || {
                            let lang = lang.get();
                            detail
                                .get()
                                .map(|d| {
                                    d.series
                                        .into_iter()
                                        .map(|s| {
                                            let m = s.metric.clone();
                                            let stale = Signal::derive(move || {
                                                let t = now.get();
                                                wall.with(|w| w.as_ref().is_some_and(|w| {
                                                    SourceFreshness::of_metric(&w.freshness, &m, t).is_stale()
                                                }))
                                            });
                                            view! { <LineChart metric=s.metric points=s.points lang stale /> }
                                        })
                                        .collect_view()
                                })
                        }}
                    </div>
                    <ChildTable detail here />
                </section>
            </div>
        </main>
        <Footer />
    }
}

/// The places one level down, each row a link into it.
#[component]
fn ChildTable(detail: RwSignal<Option<AreaDetail>>, here: Memo<Here>) -> impl IntoView {
    let lang = ctx().lang;
    move || {
        let lang = lang.get();
        let d = detail.get()?;
        if d.children.is_empty() {
            return None;
        }
        let h = here.get();
        let heads = d
            .series
            .iter()
            .map(|s| {
                let meaning = format::meaning(&s.metric, s.latest(), lang);
                view! { <th>{format::metric_label(&s.metric, lang)}<small class="meaning">{meaning}</small></th> }
            })
            .collect_view();
        let metrics: Vec<String> = d.series.iter().map(|s| s.metric.clone()).collect();
        let rows = d
            .children
            .into_iter()
            .map(|c| {
                let to = href(&c.place.level, &c.place.code, &h.range, &h.committee);
                let name = if lang == Lang::Th {
                    c.place.name_th
                } else {
                    c.place.name_en
                };
                let cells = c
                    .values
                    .iter()
                    .zip(&metrics)
                    .map(|(v, m)| {
                        let provisional = v.as_ref().is_some_and(|p| !p.final_);
                        let text = v
                            .as_ref()
                            .map(|p| format::headline(m, p, lang))
                            .unwrap_or_else(|| "-".to_owned());
                        view! { <td class:provisional=provisional>{text}</td> }
                    })
                    .collect_view();
                view! {
                    <tr data-code=c.place.code.clone()>
                        <td><Link href=to class="drill">{name}</Link></td>
                        {cells}
                    </tr>
                }
            })
            .collect_view();
        Some(view! {
            <table id="children-table">
                <thead><tr><th>{tr(lang, "พื้นที่", "Area")}</th>{heads}</tr></thead>
                <tbody>{rows}</tbody>
            </table>
        })
    }
}

/// One province's districts (or, for an empty `province`, all 928),
/// fetched when the province changes; new figures only change each path's
/// `data-band`.
#[component]
fn DistrictMap(
    province: String,
    here: Memo<Here>,
    layer: RwSignal<Layer>,
    pick: Callback<String>,
) -> impl IntoView {
    let outlines = RwSignal::new(Vec::<Outline>::new());
    let url = if province.is_empty() {
        "/api/geo/districts".to_owned()
    } else {
        format!("/api/geo/districts/{province}")
    };
    spawn_local(async move {
        let got = async { crate::api::get(&url).await?.json::<Vec<Outline>>().await }.await;
        match got {
            Ok(o) => outlines.set(o),
            Err(e) => leptos::logging::warn!("district outlines: {e}"),
        }
    });
    let view_box = Memo::new(move |_| outlines.with(|o| bounding_box(o)));
    view! {
        <svg id="district-map" class="choropleth" viewBox=move || view_box.get() role="img">
            {move || {
                outlines
                    .get()
                    .into_iter()
                    .map(|o| {
                        let code = o.code.clone();
                        let band = {
                            let code = code.clone();
                            move || layer.with(|l| l.bands.get(&code).copied().unwrap_or("none"))
                        };
                        let selected = {
                            let code = code.clone();
                            move || here.with(|h| h.level == "district" && h.code == code).to_string()
                        };
                        let click = code.clone();
                        let name = pmoc_schemas::district::district(&code)
                            .map(|d| format!("{} / {}", d.name_th, d.name_en))
                            .unwrap_or_default();
                        view! {
                            <path class="district" data-district=code d=o.path data-band=band data-selected=selected
                                on:click=move |_| pick.run(click.clone())>
                                <title>{name}</title>
                            </path>
                        }
                    })
                    .collect_view()
            }}
        </svg>
        <Legend layer />
    }
}

/// The `viewBox` around a set of outlines, with a small margin.
fn bounding_box(outlines: &[Outline]) -> String {
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for o in outlines {
        for pair in o.path.split(['M', 'L', 'Z']).filter(|p| !p.is_empty()) {
            if let Some((x, y)) = pair.split_once(',')
                && let (Ok(x), Ok(y)) = (x.parse::<f64>(), y.parse::<f64>())
            {
                (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
            }
        }
    }
    if x0 > x1 {
        return pmoc_schemas::geo::view_box();
    }
    let m = ((x1 - x0).max(y1 - y0) * 0.03).max(1.0);
    format!(
        "{:.1} {:.1} {:.1} {:.1}",
        x0 - m,
        y0 - m,
        x1 - x0 + 2.0 * m,
        y1 - y0 + 2.0 * m
    )
}
