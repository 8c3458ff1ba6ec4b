//! Alerts (`/alerts`), for operators: every open alert counted by rule and
//! region, filtered by committee, severity, state and area (kept in the
//! URL, so a view can be bookmarked and shared), worst and newest first,
//! one page of compact rows at a time (the server filters and pages, so a
//! thousand open alerts cost one page). Each row: what, where, the evidence
//! in words, its history on one line, and the actions the user's role
//! allows (acknowledge; operators also close with a reason). Who acted is
//! the signed-in user, recorded by the server.

use leptos::{html, prelude::*, task::spawn_local};
use pmoc_schemas::{
    alert::{AlertState, Severity},
    api::{ActionRequest, Alert, AlertPage, AlertStateFilter, MAX_COMMENT_CHARS},
    area::{REGIONS4, provinces},
    auth::SessionInfo,
    calendar::{Lang, format_datetime, format_time},
    catalogue,
    committee::Committee,
};

use crate::{
    Ctx, Footer, TopBar, api, ctx, format,
    format::tr,
    nav::{Link, location, param},
};

/// The URL parameters of the page's filters, in the order they are written.
const FILTERS: [&str; 4] = ["committee", "severity", "state", "area"];

/// `query` (the page's) with `key` set to `value` (removed when empty) and
/// the page back to the first unless the page itself is what changes.
fn with_param(query: &str, key: &str, value: &str) -> String {
    // The language stays with the view, so a shared link reads the same.
    let mut pairs: Vec<(String, String)> = ["lang"]
        .iter()
        .chain(FILTERS.iter())
        .chain(["page"].iter())
        .filter(|k| **k != key && !(key != "page" && **k == "page"))
        .filter_map(|k| param(query, k).map(|v| ((*k).to_owned(), v)))
        .collect();
    if !value.is_empty() {
        pairs.push((key.to_owned(), value.to_owned()));
    }
    let q: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    if q.is_empty() {
        "/alerts".to_owned()
    } else {
        format!("/alerts?{}", q.join("&"))
    }
}

/// The API request for the page's URL: only the known filters pass.
fn api_url(query: &str) -> String {
    let q: Vec<String> = FILTERS
        .iter()
        .chain(["page"].iter())
        .filter_map(|k| {
            param(query, k)
                .filter(|v| !v.is_empty())
                .map(|v| format!("{k}={v}"))
        })
        .collect();
    format!("/api/alerts/page?{}", q.join("&"))
}

#[component]
pub fn AlertsPage() -> impl IntoView {
    let Ctx { wall, lang, .. } = ctx();
    let loc = location();
    let session = api::session();
    let page = RwSignal::new(None::<AlertPage>);
    let problem = RwSignal::new(String::new());
    let reload = RwSignal::new(0u32);
    Effect::new(move |_| {
        let url = api_url(&loc.query.get());
        wall.track();
        reload.track();
        spawn_local(async move {
            match api::get(&url).await {
                Ok(r) if r.ok() => match r.json::<AlertPage>().await {
                    Ok(p) => {
                        problem.set(String::new());
                        page.set(Some(p));
                    }
                    Err(e) => problem.set(e.to_string()),
                },
                Ok(r) => problem.set(r.text().await.unwrap_or_default()),
                Err(e) => problem.set(e.to_string()),
            }
        });
    });
    let message = RwSignal::new(String::new());
    let act = Callback::new(
        move |(id, action, comment): (String, &'static str, String)| {
            let csrf = session
                .with_untracked(|s| s.as_ref().map(|s| s.csrf.clone()))
                .unwrap_or_default();
            spawn_local(async move {
                let body = ActionRequest { comment };
                let sent =
                    api::post_json(&format!("/api/alerts/{id}/{action}"), &csrf, &body).await;
                match sent {
                    Ok(r) if r.ok() => message.set(String::new()),
                    Ok(r) => message.set(r.text().await.unwrap_or_default()),
                    Err(e) => message.set(e.to_string()),
                }
                reload.update(|n| *n += 1);
            });
        },
    );
    let t = move |th: &'static str, en: &'static str| move || tr(lang.get(), th, en);
    view! {
        <TopBar />
        <main class="alerts-page">
            <h2>{t("การแจ้งเตือน", "Alerts")}</h2>
            <Filters />
            <p id="action-message" class="problem" class:hidden=move || message.with(String::is_empty)>{move || message.get()}</p>
            <p class="problem" class:hidden=move || problem.with(String::is_empty)>{move || problem.get()}</p>
            <Groups page />
            <Pager page />
            <div id="alerts" class="alert-rows">
                {move || {
                    let lang = lang.get();
                    let me = session.get();
                    page.get()
                        .map(|p| p.alerts)
                        .unwrap_or_default()
                        .into_iter()
                        .map(|a| view! { <AlertRow alert=a lang me=me.clone() act /> })
                        .collect_view()
                }}
            </div>
            <Pager page />
        </main>
        <Footer />
    }
}

/// One `<select>` per filter; a change is a new URL (a history entry).
#[component]
fn Filters() -> impl IntoView {
    let Ctx { lang, .. } = ctx();
    let loc = location();
    let select = move |key: &'static str,
                       options: Vec<(String, String)>,
                       all: (&'static str, &'static str)| {
        let current = move || loc.param(key).unwrap_or_default();
        view! {
            <select id=format!("filter-{key}") on:change=move |e| {
                loc.go(&with_param(&loc.query.get_untracked(), key, &event_target_value(&e)));
            }>
                <option value="" selected=move || current().is_empty()>{move || tr(lang.get(), all.0, all.1)}</option>
                {options
                    .into_iter()
                    .map(|(value, label)| {
                        let v = value.clone();
                        view! { <option value=value selected=move || current() == v>{label}</option> }
                    })
                    .collect_view()}
            </select>
        }
    };
    move || {
        let lang = lang.get();
        let committees = Committee::ALL
            .iter()
            .map(|c| {
                (
                    c.as_str().to_owned(),
                    catalogue::committee(*c).full.get(lang).to_owned(),
                )
            })
            .collect();
        let severities = [Severity::Critical, Severity::Warning, Severity::Info]
            .iter()
            .map(|s| {
                (
                    s.as_str().to_owned(),
                    format::severity_name(*s, lang).to_owned(),
                )
            })
            .collect();
        let states = AlertStateFilter::ALL
            .iter()
            .filter(|s| **s != AlertStateFilter::Open)
            .map(|s| (s.as_str().to_owned(), state_name(*s, lang).to_owned()))
            .collect();
        let areas = REGIONS4
            .iter()
            .map(|r| ((*r).to_owned(), format::region_name(r, lang)))
            .chain(provinces().iter().map(|p| {
                let name = if lang == Lang::Th {
                    &p.name_th
                } else {
                    &p.name_en
                };
                (p.code.clone(), format!("· {name}"))
            }))
            .collect();
        view! {
            <form id="alert-filters" class="filters" on:submit=|e| e.prevent_default()>
                {select("committee", committees, ("ทุกคณะ", "All committees"))}
                {select("severity", severities, ("ทุกระดับ", "All severities"))}
                {select("state", states, ("เปิดอยู่", "Open"))}
                {select("area", areas, ("ทั้งประเทศ", "Whole country"))}
            </form>
        }
    }
}

fn state_name(s: AlertStateFilter, lang: Lang) -> &'static str {
    match s {
        AlertStateFilter::Open => tr(lang, "เปิดอยู่", "Open"),
        AlertStateFilter::Unacknowledged => tr(lang, "ยังไม่รับทราบ", "Not acknowledged"),
        AlertStateFilter::Acknowledged => tr(lang, "รับทราบแล้ว", "Acknowledged"),
        AlertStateFilter::Resolved => tr(lang, "คลี่คลายแล้ว", "Resolved"),
        AlertStateFilter::All => tr(lang, "ทั้งหมด", "All"),
    }
}

/// Every matching alert counted by rule and region; a group links to its
/// region.
#[component]
fn Groups(page: RwSignal<Option<AlertPage>>) -> impl IntoView {
    let Ctx { lang, .. } = ctx();
    let loc = location();
    move || {
        let lang = lang.get();
        let query = loc.query.get();
        let groups = page.with(|p| p.as_ref().map(|p| p.groups.clone()).unwrap_or_default());
        let items = groups
            .into_iter()
            .map(|g| {
                let href = if g.region == pmoc_schemas::area::NATION_CODE {
                    with_param(&query, "area", "")
                } else {
                    with_param(&query, "area", &g.region)
                };
                let words = format!(
                    "{} · {}",
                    format::rule_label(&g.rule, lang),
                    format::region_name(&g.region, lang)
                );
                view! {
                    <li data-severity=g.worst.as_str() data-rule=g.rule.clone() data-region=g.region.clone()>
                        <Link href=href>
                            <b class="n">{format::number(g.count as f64)}</b>" "{words}
                        </Link>
                    </li>
                }
            })
            .collect_view();
        view! { <ul id="alert-groups" class="alert-groups">{items}</ul> }
    }
}

/// "1–50 of 1,000" with the previous and next pages.
#[component]
fn Pager(page: RwSignal<Option<AlertPage>>) -> impl IntoView {
    let Ctx { lang, .. } = ctx();
    let loc = location();
    move || {
        let lang = lang.get();
        let query = loc.query.get();
        let Some((total, n, per, shown)) = page.with(|p| {
            p.as_ref()
                .map(|p| (p.total, p.page, p.per_page, p.alerts.len()))
        }) else {
            return ().into_any();
        };
        let first = u64::from(n) * u64::from(per);
        let range = if shown == 0 {
            tr(lang, "ไม่มีการแจ้งเตือนที่ตรงเงื่อนไข", "No alerts match").to_owned()
        } else {
            let (from, to) = (
                format::number((first + 1) as f64),
                format::number((first + shown as u64) as f64),
            );
            let total = format::number(total as f64);
            match lang {
                Lang::Th => format!("{from}–{to} จาก {total}"),
                Lang::En => format!("{from}–{to} of {total}"),
            }
        };
        let prev = (n > 0).then(|| with_param(&query, "page", &(n - 1).to_string()));
        let next = (first + (shown as u64) < total)
            .then(|| with_param(&query, "page", &(n + 1).to_string()));
        view! {
            <nav class="pager">
                <span class="range">{range}</span>
                {prev.map(|href| view! { <Link href=href class="page-prev">{tr(lang, "‹ ก่อนหน้า", "‹ Previous")}</Link> })}
                {next.map(|href| view! { <Link href=href class="page-next">{tr(lang, "ถัดไป ›", "Next ›")}</Link> })}
            </nav>
        }
        .into_any()
    }
}

/// The alert's life on one line: opened, updated, acknowledged or closed
/// (by whom, why), resolved.
fn history(alert: &Alert, lang: Lang) -> Vec<(&'static str, String)> {
    let e = &alert.event;
    let mut out = vec![(
        "opened",
        format!(
            "{} {}",
            tr(lang, "เปิด", "opened"),
            format_datetime(e.opened_at_ms, lang)
        ),
    )];
    if e.updated_at_ms > e.opened_at_ms && e.resolved_at_ms == 0 {
        out.push((
            "updated",
            format!(
                "{} {}",
                tr(lang, "ปรับค่า", "updated"),
                format_time(e.updated_at_ms)
            ),
        ));
    }
    for a in &alert.actions {
        let (what, verb) = match a.action.as_str() {
            "acknowledge" => ("acknowledged", tr(lang, "รับทราบ", "acknowledged")),
            _ => ("closed", tr(lang, "ปิด", "closed")),
        };
        out.push((
            what,
            format!("{verb} {} {}: {}", format_time(a.at_ms), a.actor, a.comment),
        ));
    }
    if e.revision > 0 && e.state != AlertState::Withdrawn {
        // Judged again when late values revised its windows.
        out.push((
            "revised",
            match lang {
                Lang::Th => format!("ตัดสินใหม่ด้วยข้อมูลล่าช้า {} ครั้ง", e.revision),
                Lang::En => format!("re-judged with late data ({}x)", e.revision),
            },
        ));
    }
    if e.state == AlertState::Withdrawn {
        out.push((
            "withdrawn",
            format!(
                "{} {}",
                catalogue::alert_state(e.state).get(lang),
                format_time(e.resolved_at_ms)
            ),
        ));
    } else if e.resolved_at_ms > 0 {
        out.push((
            "resolved",
            format!(
                "{} {}",
                tr(lang, "คลี่คลาย", "resolved"),
                format_time(e.resolved_at_ms)
            ),
        ));
    }
    out
}

#[component]
fn AlertRow(
    alert: Alert,
    lang: Lang,
    me: Option<SessionInfo>,
    act: Callback<(String, &'static str, String)>,
) -> impl IntoView {
    let comment = NodeRef::<html::Textarea>::new();
    let id = alert.event.alert_id.clone();
    let send = move |action: &'static str| {
        let text = comment
            .get_untracked()
            .map(|c| c.value())
            .unwrap_or_default();
        act.run((id.clone(), action, text));
    };
    let send2 = send.clone();
    let area = if lang == Lang::Th {
        alert.area_th.clone()
    } else {
        alert.area_en.clone()
    };
    let closed = !alert.is_open() || alert.closed_by_operator();
    let e = &alert.event;
    let may_ack = me.as_ref().is_some_and(|m| m.acts_on(e.committee));
    let operator = me.as_ref().is_some_and(SessionInfo::is_operator);
    let still_breaching = alert.is_open() && alert.closed_by_operator();
    let line = history(&alert, lang)
        .into_iter()
        .map(|(what, text)| view! { <span data-step=what>{text}</span> })
        .collect_view();
    view! {
        <article class="alert-row" data-alert=e.alert_id.clone() data-severity=e.severity.as_str() class:closed=closed>
            <span class="sev">{format::severity_name(e.severity, lang)}</span>
            <span class="area">{area}</span>
            <span class="rule">{format::rule_label(&e.rule, lang)}</span>
            <span class="evidence">{catalogue::evidence(e, lang)}</span>
            <p class="history">{line}</p>
            <p class="breaching" class:hidden=!still_breaching>
                {tr(lang, "ปิดโดยผู้ปฏิบัติงาน แต่ยังเกินเกณฑ์: ยังแสดงบนจอผนัง", "Closed by an operator, still in breach: stays on the wall")}
            </p>
            // The pipeline's own words, for tracing a figure back to its window.
            <details class="raw" class:hidden=!operator>
                <summary>{tr(lang, "หลักฐานดิบ", "Raw evidence")}</summary>
                <code>{e.evidence.clone()}</code>
            </details>
            <div class="actions" class:hidden=closed || !may_ack>
                <textarea class="comment" node_ref=comment maxlength=MAX_COMMENT_CHARS placeholder=tr(lang, "หมายเหตุ / เหตุผลที่ปิด (จำเป็น)", "Comment / reason for closing (required)")></textarea>
                <button class="ack" on:click=move |_| send("acknowledge")>{tr(lang, "รับทราบ", "Acknowledge")}</button>
                <button class="resolve" class:hidden=!operator on:click=move |_| send2("resolve")>{tr(lang, "ปิดการแจ้งเตือน", "Close with reason")}</button>
            </div>
        </article>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_live_in_the_url_and_a_new_filter_starts_at_the_first_page() {
        let q = "committee=water&page=3";
        assert_eq!(
            with_param(q, "severity", "critical"),
            "/alerts?committee=water&severity=critical"
        );
        assert_eq!(with_param(q, "page", "4"), "/alerts?committee=water&page=4");
        assert_eq!(with_param(q, "committee", ""), "/alerts");
        assert_eq!(api_url("area=NE&lang=en&x=1"), "/api/alerts/page?area=NE");
        assert_eq!(
            with_param("lang=en", "area", "NE"),
            "/alerts?lang=en&area=NE"
        );
    }
}
