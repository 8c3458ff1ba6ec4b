//! The wall's alert area and ticker. The area has room for a few alerts; it
//! says how many of how many it shows ("5 of 37 shown") and summarises the
//! rest by rule and region, so nothing open is silently off screen.

use std::collections::BTreeMap;

use leptos::prelude::*;
use pmoc_schemas::{alert::Severity, api::Alert, area::region4_of, calendar::Lang};

use super::fit::Fit;
use crate::{Ctx, ctx, format, format::tr};

/// Alerts the area lists one per line when it has the room; the rest are
/// summarised.
pub const LISTED: usize = 5;
/// Fewest listed: when the panels below take more height (a wrapped badge
/// or note), the area lists fewer rather than cut the summary.
const MIN_LISTED: usize = 3;
/// Summary lines (rule and region) the area has room for.
const SUMMARY_LINES: usize = 4;

/// How an alert on the wall has been dealt with: `new`, `acknowledged`, or
/// `closed` (an operator closed it but the pipeline still sees the breach).
fn alert_mark(a: &Alert) -> &'static str {
    if a.closed_by_operator() {
        "closed"
    } else if a.acknowledged() {
        "acknowledged"
    } else {
        "new"
    }
}

fn area_name(a: &Alert, lang: Lang) -> String {
    if lang == Lang::Th {
        a.area_th.clone()
    } else {
        a.area_en.clone()
    }
}

fn region_of(a: &Alert) -> String {
    region4_of(&a.event.area_level, &a.event.area_code).to_owned()
}

/// The alerts not listed, counted by (rule, region), most first, with the
/// worst severity of each group.
fn summary(rest: &[Alert]) -> Vec<(String, String, usize, Severity)> {
    let mut groups: BTreeMap<(String, String), (usize, Severity)> = BTreeMap::new();
    for a in rest {
        let g = groups
            .entry((a.event.rule.clone(), region_of(a)))
            .or_insert((0, Severity::Info));
        g.0 += 1;
        g.1 = g.1.max(a.event.severity);
    }
    let mut out: Vec<_> = groups
        .into_iter()
        .map(|((rule, region), (n, sev))| (rule, region, n, sev))
        .collect();
    out.sort_by(|a, b| b.3.cmp(&a.3).then(b.2.cmp(&a.2)));
    out
}

/// Open alerts, worst first; the one holding the wall is marked.
#[component]
pub fn AlertList(held: Memo<Option<String>>) -> impl IntoView {
    let Ctx { wall, lang, .. } = ctx();
    // How many to list: LISTED, one fewer while the area overflows (down
    // to MIN_LISTED). A new count of alerts or language starts again.
    let count = Memo::new(move |_| wall.with(|w| w.as_ref().map_or(0, |w| w.alerts.len())));
    let fit = Fit::new(
        LISTED,
        |r| (r > MIN_LISTED).then(|| r - 1),
        || {
            document()
                .get_element_by_id("wall-focus")
                .map(|area| area.scroll_height() > area.client_height())
        },
        move || {
            count.track();
            lang.track();
            held.track();
        },
        move || wall.track(),
    );
    move || {
        let lang = lang.get();
        let alerts = wall.get().map(|w| w.alerts).unwrap_or_default();
        if alerts.is_empty() {
            return view! { <p class="empty">{tr(lang, "ไม่มีการแจ้งเตือนที่เปิดอยู่", "No open alerts")}</p> }.into_any();
        }
        let held = held.get();
        let total = alerts.len();
        // The holding alert is always listed, first.
        let mut ordered = alerts;
        if let Some(i) = ordered
            .iter()
            .position(|a| held.as_deref() == Some(a.event.alert_id.as_str()))
        {
            let h = ordered.remove(i);
            ordered.insert(0, h);
        }
        let rest = ordered.split_off(fit.level.get().min(ordered.len()));
        let shown = ordered.len();
        let counted = match lang {
            Lang::Th => format!("แสดง {shown} จาก {total} รายการ"),
            Lang::En => format!("{shown} of {total} shown"),
        };
        let groups = summary(&rest);
        let more = groups.len().saturating_sub(SUMMARY_LINES);
        let summary_view = groups
            .into_iter()
            .take(SUMMARY_LINES)
            .map(|(rule, region, n, sev)| {
                view! {
                    <li data-severity=sev.as_str()>
                        <b class="n">{n}</b>" "{format::rule_label(&rule, lang)}" · "{format::region_name(&region, lang)}
                    </li>
                }
            })
            .collect_view();
        let more = (more > 0).then(|| match lang {
            Lang::Th => format!("และอีก {more} กลุ่ม: ดูหน้าการแจ้งเตือน"),
            Lang::En => format!("and {more} more groups: see the alerts page"),
        });
        view! {
            <header class="alerts-head">
                <h2>{tr(lang, "การแจ้งเตือนที่เปิดอยู่", "Open alerts")}</h2>
                <span id="alerts-shown" class="shown" data-shown=shown data-total=total data-fits=move || fit.fits.get().to_string()>{counted}</span>
            </header>
            <ol class="alert-list">
                {ordered
                    .into_iter()
                    .map(|a| {
                        let e = &a.event;
                        let holding = held.as_deref() == Some(e.alert_id.as_str());
                        let state = if a.closed_by_operator() {
                            tr(lang, "ปิดแล้ว ยังเกินเกณฑ์", "closed, still in breach")
                        } else if a.acknowledged() {
                            tr(lang, "รับทราบแล้ว", "acknowledged")
                        } else if holding {
                            tr(lang, "รอการรับทราบ", "awaiting acknowledgement")
                        } else {
                            ""
                        };
                        view! {
                            <li data-severity=e.severity.as_str() class:holding=holding data-alert=e.alert_id.clone()
                                data-mark=alert_mark(&a)>
                                <span class="sev">{format::severity_name(e.severity, lang)}</span>
                                <span class="area">{area_name(&a, lang)}</span>
                                <span class="rule">{format::rule_label(&e.rule, lang)}</span>
                                <span class="val">{pmoc_schemas::catalogue::evidence(e, lang)}</span>
                                <span class="ack" class:hidden=state.is_empty()>{state}</span>
                            </li>
                        }
                    })
                    .collect_view()}
            </ol>
            <div id="alerts-rest" class="alerts-rest" class:hidden=rest.is_empty()>
                <h3>{match lang { Lang::Th => format!("อีก {} รายการ ตามกฎและภาค", rest.len()), Lang::En => format!("The other {}, by rule and region", rest.len()) }}</h3>
                <ul>{summary_view}</ul>
                <p class="more" class:hidden=more.is_none()>{more.clone().unwrap_or_default()}</p>
            </div>
        }
        .into_any()
    }
}

/// The alert ticker: open alerts crawling along the bottom edge.
#[component]
pub fn Ticker() -> impl IntoView {
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
                            let area = area_name(&a, lang);
                            let e = &a.event;
                            view! {
                                <span class="item" data-severity=e.severity.as_str() data-alert=e.alert_id.clone()>
                                    <b>{format::severity_name(e.severity, lang)}</b>" "{area}" · "
                                    {format::rule_label(&e.rule, lang)}" · "{pmoc_schemas::catalogue::evidence(e, lang)}
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
