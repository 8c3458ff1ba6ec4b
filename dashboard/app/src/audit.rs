//! The audit page (`/audit`, operators only): refused requests, newest
//! first, with filters; the server decides who may read it.

use leptos::{prelude::*, task::spawn_local};
use pmoc_schemas::{auth::AuditEntry, calendar::format_datetime};

use crate::{Ctx, Footer, TopBar, api, ctx, format::tr};

#[component]
pub fn AuditPage() -> impl IntoView {
    let Ctx { lang, .. } = ctx();
    let entries = RwSignal::new(Vec::<AuditEntry>::new());
    let problem = RwSignal::new(String::new());
    let decision = RwSignal::new("deny".to_owned());
    let user = RwSignal::new(String::new());
    let reason = RwSignal::new(String::new());
    Effect::new(move |_| {
        let url = format!(
            "/api/audit?decision={}&user={}&reason={}&limit=200",
            js_sys::encode_uri_component(&decision.get()),
            js_sys::encode_uri_component(&user.get()),
            js_sys::encode_uri_component(&reason.get()),
        );
        spawn_local(async move {
            match api::get(&url).await {
                Ok(r) if r.ok() => match r.json::<Vec<AuditEntry>>().await {
                    Ok(e) => {
                        problem.set(String::new());
                        entries.set(e);
                    }
                    Err(e) => problem.set(e.to_string()),
                },
                Ok(r) => problem.set(r.text().await.unwrap_or_default()),
                Err(e) => problem.set(e.to_string()),
            }
        });
    });
    let t = move |th: &'static str, en: &'static str| move || tr(lang.get(), th, en);
    view! {
        <TopBar />
        <main class="audit-page">
            <h2>{t("บันทึกการตรวจสอบ", "Audit log")}</h2>
            <form class="filters" on:submit=|e| e.prevent_default()>
                <label>{t("ผลการตัดสิน ", "Decision ")}
                    <select id="audit-decision" on:change=move |e| decision.set(event_target_value(&e))>
                        <option value="deny" selected>{t("ปฏิเสธ", "refused")}</option>
                        <option value="all">{t("ทั้งหมด", "all")}</option>
                        <option value="allow">{t("อนุญาต", "allowed")}</option>
                        <option value="invalid">{t("ไม่ถูกต้อง", "invalid")}</option>
                    </select>
                </label>
                <label>{t("ผู้ใช้ ", "User ")}<input id="audit-user" maxlength="64" on:change=move |e| user.set(event_target_value(&e)) /></label>
                <label>{t("เหตุผล ", "Reason ")}<input id="audit-reason" maxlength="64" on:change=move |e| reason.set(event_target_value(&e)) /></label>
            </form>
            <p class="problem" class:hidden=move || problem.with(String::is_empty)>{move || problem.get()}</p>
            <table id="audit-table">
                <thead><tr>
                    <th>{t("เวลา", "Time")}</th><th>{t("ผู้ใช้", "User")}</th><th>{t("บทบาท", "Role")}</th>
                    <th>{t("คำขอ", "Request")}</th><th>{t("ผล", "Decision")}</th><th>{t("เหตุผล", "Reason")}</th>
                    <th>{t("จาก", "From")}</th>
                </tr></thead>
                <tbody>
                    {move || {
                        let lang = lang.get();
                        entries
                            .get()
                            .into_iter()
                            .map(|e| view! {
                                <tr data-reason=e.reason.clone() data-decision=e.decision.clone()>
                                    <td>{format_datetime(e.at_ms, lang)}</td>
                                    <td class="user">{e.user.clone()}</td>
                                    <td>{e.role.clone()}</td>
                                    <td class="request">{format!("{} {}", e.method, e.params)}</td>
                                    <td>{format!("{} {}", e.decision, e.status)}</td>
                                    <td class="reason">{e.reason.clone()}</td>
                                    <td>{e.peer.clone()}</td>
                                </tr>
                            })
                            .collect_view()
                    }}
                </tbody>
            </table>
        </main>
        <Footer />
    }
}
