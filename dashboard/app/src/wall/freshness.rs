//! The freshness strip: a light per late or silent source, named by agency
//! and feed in the reader's language with its age; sources on time one
//! light per agency; plus the day's rejected messages.

use std::collections::BTreeMap;

use leptos::prelude::*;
use pmoc_schemas::{
    api::{Light, SourceFreshness},
    calendar::format_time,
    catalogue,
};

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
        // Sources on time, one light per agency ("กรมการปกครอง ×2"): from
        // the back of the room a green light needs no age, and thirteen
        // sources in full take three lines a 1080p wall does not have.
        // Late, silent or unknown sources are shown in full, with their age.
        let (green, others): (Vec<_>, Vec<_>) = w
            .freshness
            .iter()
            .map(|f| (f, f.light_at(t)))
            .partition(|(_, light)| *light == Light::Green);
        let mut on_time: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for (f, _) in green {
            let system = shares_feed(&w.freshness, f).then_some(f.source_system.as_str());
            on_time
                .entry(f.source_agency.as_str())
                .or_default()
                .push(catalogue::source_name(
                    &f.source_agency,
                    &f.schema,
                    system,
                    lang,
                ));
        }
        let grouped = on_time
            .into_iter()
            .map(|(agency, feeds)| {
                let who = catalogue::agency(agency).map_or(agency, |a| a.short.get(lang));
                let times = if feeds.len() > 1 {
                    format!(" ×{}", feeds.len())
                } else {
                    String::new()
                };
                view! {
                    <li class="light" data-light="green" data-agency=agency.to_owned() title=feeds.join(", ")>
                        <span class="dot"></span>
                        <span class="who">{who.to_owned()}{times}</span>
                    </li>
                }
            })
            .collect_view();
        let lights = others
            .into_iter()
            .map(|(f, light)| {
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
                <ul>{lights}{grouped}</ul>
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
