//! The freshness strip: one light per source, named by agency and feed in
//! the reader's language, plus the day's rejected messages.

use leptos::prelude::*;
use pmoc_schemas::{api::SourceFreshness, calendar::format_time, catalogue};

use crate::{Ctx, ctx, format, format::tr};

/// Whether another light is the same agency's same feed from another
/// system: only then does the light name its system.
fn shares_feed(all: &[SourceFreshness], f: &SourceFreshness) -> bool {
    all.iter().any(|o| {
        o.source_agency == f.source_agency
            && o.schema == f.schema
            && o.source_system != f.source_system
    })
}

#[component]
pub fn Freshness() -> impl IntoView {
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
                let system = shares_feed(&w.freshness, f).then_some(f.source_system.as_str());
                let name = catalogue::source_name(&f.source_agency, &f.schema, system, lang);
                let detail = format!("{} {} {}", f.source_agency, f.source_system, f.schema);
                view! {
                    <li class="light" data-light=light.as_str() data-schema=f.schema.clone() title=detail>
                        <span class="dot"></span>
                        <span class="who">{name}</span>
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
        view! {
            <section id="freshness" class="freshness">
                <ul>{lights}</ul>
                <p class="complete">
                    {tr(lang, "ครบถึง ", "Complete to ")}
                    {complete.map(format_time).unwrap_or_else(|| "-".to_owned())}
                </p>
                <p id="rejects" class="rejects" title=reasons>
                    {tr(lang, "ถูกปฏิเสธ 24 ชม.: ", "Rejected, 24 h: ")}{format::number(rejected as f64)}
                </p>
            </section>
        }
        .into_any()
    }
}
