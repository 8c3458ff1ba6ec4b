//! Alerts (`/alerts`): acknowledge or resolve with a comment, and the
//! history of what was done. The operator's name comes from the reverse
//! proxy's `X-PMOC-User` header when there is one; the name field here is
//! for a dashboard without such a proxy (kept in this browser).

use leptos::{html, prelude::*, task::spawn_local};
use pmoc_schemas::{
    api::{ActionRequest, Alert},
    calendar::{Lang, format_datetime},
};

use crate::{Ctx, Footer, TopBar, ctx, format, format::tr};

const NAME_KEY: &str = "pmoc-operator";

fn storage() -> Option<web_sys::Storage> {
    window().local_storage().ok().flatten()
}

#[component]
pub fn AlertsPage() -> impl IntoView {
    let Ctx { wall, lang, .. } = ctx();
    let alerts = RwSignal::new(Vec::<Alert>::new());
    let reload = RwSignal::new(0u32);
    Effect::new(move |_| {
        wall.track();
        reload.track();
        spawn_local(async move {
            let got = async {
                gloo_net::http::Request::get("/api/alerts?all=true")
                    .send()
                    .await?
                    .json::<Vec<Alert>>()
                    .await
            }
            .await;
            match got {
                Ok(a) => alerts.set(a),
                Err(e) => leptos::logging::warn!("alerts: {e}"),
            }
        });
    });
    let name = NodeRef::<html::Input>::new();
    let initial = storage()
        .and_then(|s| s.get_item(NAME_KEY).ok().flatten())
        .unwrap_or_default();
    let message = RwSignal::new(String::new());
    let act = Callback::new(
        move |(id, action, comment): (String, &'static str, String)| {
            let actor = name.get_untracked().map(|n| n.value()).unwrap_or_default();
            if let Some(s) = storage() {
                let _ = s.set_item(NAME_KEY, &actor);
            }
            spawn_local(async move {
                let body = ActionRequest {
                    comment,
                    actor: Some(actor).filter(|a| !a.trim().is_empty()),
                };
                let sent = async {
                    gloo_net::http::Request::post(&format!("/api/alerts/{id}/{action}"))
                        .json(&body)?
                        .send()
                        .await
                }
                .await;
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
            <label class="operator">
                {t("ชื่อผู้ปฏิบัติงาน ", "Operator name ")}
                <input id="operator-name" node_ref=name value=initial />
            </label>
            <p id="action-message" class="problem" class:hidden=move || message.with(String::is_empty)>{move || message.get()}</p>
            <div id="alerts">
                {move || {
                    let lang = lang.get();
                    alerts
                        .get()
                        .into_iter()
                        .map(|a| view! { <AlertCard alert=a lang act /> })
                        .collect_view()
                }}
            </div>
        </main>
        <Footer />
    }
}

#[component]
fn AlertCard(
    alert: Alert,
    lang: Lang,
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
    let closed = !alert.is_open();
    let e = &alert.event;
    let history = alert
        .actions
        .iter()
        .map(|a| {
            let what = match a.action.as_str() {
                "acknowledge" => tr(lang, "รับทราบ", "Acknowledged"),
                _ => tr(lang, "ปิด", "Resolved"),
            };
            view! {
                <li data-action=a.action.clone()>
                    <b>{what}</b>" · "<span class="actor">{a.actor.clone()}</span>" · "
                    <time>{format_datetime(a.at_ms, lang)}</time>" · "<span class="comment">{a.comment.clone()}</span>
                </li>
            }
        })
        .collect_view();
    view! {
        <article class="alert-card" data-alert=e.alert_id.clone() data-severity=e.severity.as_str() class:closed=closed>
            <h3>
                <span class="sev">{format::severity_name(e.severity, lang)}</span>" "
                {area}" · "{format::metric_label(&e.metric, lang)}
            </h3>
            <p class="facts">
                {format::rule_label(&e.rule, lang)}" · "{format::number(e.value)}" / "{format::number(e.threshold)}" · "
                {tr(lang, "เปิดเมื่อ ", "opened ")}{format_datetime(e.opened_at_ms, lang)}" · "{e.state.as_str()}
            </p>
            <p class="evidence">{e.evidence.clone()}</p>
            <ol class="history">{history}</ol>
            <div class="actions" class:hidden=closed>
                <textarea class="comment" node_ref=comment placeholder=tr(lang, "หมายเหตุ (จำเป็น)", "Comment (required)")></textarea>
                <button class="ack" on:click=move |_| send("acknowledge")>{tr(lang, "รับทราบ", "Acknowledge")}</button>
                <button class="resolve" on:click=move |_| send2("resolve")>{tr(lang, "ปิดการแจ้งเตือน", "Resolve")}</button>
            </div>
        </article>
    }
}
