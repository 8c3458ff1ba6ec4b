//! Alerts (`/alerts`): acknowledge, or (operators) close with a reason, and
//! the history of what was done. Who acted is the signed-in user, recorded
//! by the server; the page offers only what the user's role allows.

use leptos::{html, prelude::*, task::spawn_local};
use pmoc_schemas::{
    api::{ActionRequest, Alert, MAX_COMMENT_CHARS},
    auth::SessionInfo,
    calendar::{Lang, format_datetime},
};

use crate::{Ctx, Footer, TopBar, api, ctx, format, format::tr};

#[component]
pub fn AlertsPage() -> impl IntoView {
    let Ctx { wall, lang, .. } = ctx();
    let session = api::session();
    let alerts = RwSignal::new(Vec::<Alert>::new());
    let reload = RwSignal::new(0u32);
    Effect::new(move |_| {
        wall.track();
        reload.track();
        spawn_local(async move {
            let got = async {
                crate::api::get("/api/alerts?all=true")
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
    view! {
        <TopBar />
        <main class="alerts-page">
            <p id="action-message" class="problem" class:hidden=move || message.with(String::is_empty)>{move || message.get()}</p>
            <div id="alerts">
                {move || {
                    let lang = lang.get();
                    let me = session.get();
                    alerts
                        .get()
                        .into_iter()
                        .map(|a| view! { <AlertCard alert=a lang me=me.clone() act /> })
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
    let may_close = me.as_ref().is_some_and(SessionInfo::is_operator);
    let still_breaching = alert.is_open() && alert.closed_by_operator();
    let history = alert
        .actions
        .iter()
        .map(|a| {
            let what = match a.action.as_str() {
                "acknowledge" => tr(lang, "รับทราบ", "Acknowledged"),
                _ => tr(lang, "ปิด", "Closed"),
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
                {format::rule_label(&e.rule, lang)}" · "{format::alert_figure(&alert, e.value)}" / "{format::alert_figure(&alert, e.threshold)}" · "
                {tr(lang, "เปิดเมื่อ ", "opened ")}{format_datetime(e.opened_at_ms, lang)}" · "{e.state.as_str()}
            </p>
            <p class="evidence">{e.evidence.clone()}</p>
            <p class="breaching" class:hidden=!still_breaching>
                {tr(lang, "ปิดโดยผู้ปฏิบัติงาน แต่ยังเกินเกณฑ์: ยังแสดงบนจอผนัง", "Closed by an operator, still in breach: stays on the wall")}
            </p>
            <ol class="history">{history}</ol>
            <div class="actions" class:hidden=closed || !may_ack>
                <textarea class="comment" node_ref=comment maxlength=MAX_COMMENT_CHARS placeholder=tr(lang, "หมายเหตุ / เหตุผลที่ปิด (จำเป็น)", "Comment / reason for closing (required)")></textarea>
                <button class="ack" on:click=move |_| send("acknowledge")>{tr(lang, "รับทราบ", "Acknowledge")}</button>
                <button class="resolve" class:hidden=!may_close on:click=move |_| send2("resolve")>{tr(lang, "ปิดการแจ้งเตือน", "Close with reason")}</button>
            </div>
        </article>
    }
}
