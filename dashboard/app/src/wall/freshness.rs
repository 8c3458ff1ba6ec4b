//! The freshness strip: one line of lights, late and silent sources first
//! with their age, sources on time one light per agency; plus completeness
//! and the day's rejected messages.
//!
//! One line whatever happens: when the broker is down every source goes
//! late at once, and a strip that wrapped would take the focus panel's
//! room (its second row of tiles was cut at 1080p with a dozen late
//! sources). The strip says as much as fits (see [`Detail`]), measured in
//! the page ([`super::fit`]).

use std::collections::BTreeMap;

use leptos::prelude::*;
use pmoc_schemas::{
    api::{Light, SourceFreshness},
    calendar::{Lang, format_time},
    catalogue,
};

use super::fit::Fit;
use crate::{Ctx, ctx, format, format::tr};

/// How much the strip says, from the most to the least: who is late
/// matters more than who is on time, so sources on time become a count
/// first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Detail {
    /// Each late source by agency and feed, with its age; sources on time
    /// one light per agency.
    Full,
    /// Each late source in full; sources on time as one count.
    LateFeeds,
    /// Late sources grouped by agency, with the oldest age; on time as one
    /// count.
    LateAgencies,
    /// One light for all late sources, one for all on time.
    Count,
}

impl Detail {
    fn coarser(self) -> Option<Self> {
        match self {
            Self::Full => Some(Self::LateFeeds),
            Self::LateFeeds => Some(Self::LateAgencies),
            Self::LateAgencies => Some(Self::Count),
            Self::Count => None,
        }
    }
}

/// One light on the strip.
#[derive(Debug, Clone, PartialEq)]
pub struct Lamp {
    pub light: Light,
    pub who: String,
    /// How old the newest data is (of a group, the oldest); none for
    /// sources on time (a green light needs no age from the back of the
    /// room) and for sources never heard from.
    pub age_ms: Option<i64>,
    /// Every source the light stands for, on hover.
    pub title: String,
    /// How many sources that is (`data-sources`).
    pub sources: usize,
    /// The feed, when the light is one late source.
    pub schema: Option<String>,
    /// The agency, when the light is one agency's sources.
    pub agency: Option<String>,
}

/// Whether another light is the same agency's same feed from another
/// system: only then does the light name its system.
fn shares_feed(all: &[SourceFreshness], f: &SourceFreshness) -> bool {
    all.iter().any(|o| {
        o.source_agency == f.source_agency
            && o.schema == f.schema
            && o.source_system != f.source_system
    })
}

fn agency_name(id: &str, lang: Lang) -> String {
    catalogue::agency(id)
        .map_or(id, |a| a.short.get(lang))
        .to_owned()
}

/// "กรมการปกครอง ×2": an agency and how many of its sources a light
/// stands for.
fn times(who: String, n: usize) -> String {
    if n > 1 { format!("{who} ×{n}") } else { who }
}

/// Sources and their lights, by agency.
fn by_agency<'a>(
    of: &[(&'a SourceFreshness, Light)],
) -> BTreeMap<&'a str, Vec<(&'a SourceFreshness, Light)>> {
    let mut groups: BTreeMap<&str, Vec<(&SourceFreshness, Light)>> = BTreeMap::new();
    for &(f, light) in of {
        groups
            .entry(f.source_agency.as_str())
            .or_default()
            .push((f, light));
    }
    groups
}

/// The strip's lights at `now_ms`, at `detail`: late ones first, the worst
/// and oldest leading.
pub fn lamps(all: &[SourceFreshness], now_ms: i64, detail: Detail, lang: Lang) -> Vec<Lamp> {
    let name = |f: &SourceFreshness| {
        let system = shares_feed(all, f).then_some(f.source_system.as_str());
        catalogue::source_name(&f.source_agency, &f.schema, system, lang)
    };
    let age = |f: &SourceFreshness| (f.last_event_ms > 0).then(|| now_ms - f.last_event_ms);
    let (green, mut late): (Vec<_>, Vec<_>) = all
        .iter()
        .map(|f| (f, f.light_at(now_ms)))
        .partition(|(_, light)| *light == Light::Green);
    late.sort_by_key(|(f, light)| (std::cmp::Reverse(*light), f.last_event_ms));
    let names = |of: &[(&SourceFreshness, Light)]| {
        of.iter()
            .map(|(f, _)| name(f))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let group = |agency: &str, members: &[(&SourceFreshness, Light)]| Lamp {
        light: members.iter().map(|(_, l)| *l).max().unwrap_or_default(),
        who: times(agency_name(agency, lang), members.len()),
        age_ms: members.iter().filter_map(|(f, _)| age(f)).max(),
        title: names(members),
        sources: members.len(),
        schema: None,
        agency: Some(agency.to_owned()),
    };
    let mut out: Vec<Lamp> = match detail {
        Detail::Full | Detail::LateFeeds => late
            .iter()
            .map(|&(f, light)| Lamp {
                light,
                who: name(f),
                age_ms: age(f),
                title: format!("{} {} {}", f.source_agency, f.source_system, f.schema),
                sources: 1,
                schema: Some(f.schema.clone()),
                agency: None,
            })
            .collect(),
        Detail::LateAgencies => {
            let mut groups: Vec<Lamp> = by_agency(&late)
                .iter()
                .map(|(agency, members)| group(agency, members))
                .collect();
            groups.sort_by_key(|l| (std::cmp::Reverse(l.light), std::cmp::Reverse(l.age_ms)));
            groups
        }
        Detail::Count if late.is_empty() => Vec::new(),
        Detail::Count => vec![Lamp {
            light: late.iter().map(|(_, l)| *l).max().unwrap_or_default(),
            who: catalogue::sources_late(late.len(), by_agency(&late).len(), lang),
            age_ms: late.iter().filter_map(|(f, _)| age(f)).max(),
            title: names(&late),
            sources: late.len(),
            schema: None,
            agency: None,
        }],
    };
    match detail {
        Detail::Full => out.extend(by_agency(&green).iter().map(|(agency, members)| Lamp {
            age_ms: None,
            ..group(agency, members)
        })),
        _ if green.is_empty() => {}
        _ => out.push(Lamp {
            light: Light::Green,
            who: catalogue::sources_on_time(green.len(), lang),
            age_ms: None,
            title: names(&green),
            sources: green.len(),
            schema: None,
            agency: None,
        }),
    }
    out
}

#[component]
pub fn Freshness() -> impl IntoView {
    let Ctx {
        wall, lang, now, ..
    } = ctx();
    let list = NodeRef::<leptos::html::Ul>::new();
    // Which sources are late, and how: when that changes, the strip starts
    // again from full detail (a source back on time may leave room).
    let late = Memo::new(move |_| {
        let t = now.get();
        wall.with(|w| {
            w.as_ref().map_or_else(Vec::new, |w| {
                w.freshness
                    .iter()
                    .map(|f| (f.light_at(t), f.source_agency.clone(), f.schema.clone()))
                    .filter(|(light, _, _)| *light != Light::Green)
                    .collect::<Vec<_>>()
            })
        })
    });
    let fit = Fit::new(
        Detail::Full,
        Detail::coarser,
        move || {
            list.get_untracked()
                .map(|ul| ul.scroll_width() > ul.client_width())
        },
        move || {
            late.track();
            lang.track();
        },
        move || {
            now.track();
            wall.track();
        },
    );
    // Text laid out in a fallback font, before the wall's fonts load, may
    // not fit where the real one does: start again once they have.
    Effect::new(move |_| {
        leptos::task::spawn_local(async move {
            if let Ok(ready) = document().fonts().ready() {
                let _ = wasm_bindgen_futures::JsFuture::from(ready).await;
                fit.restart();
            }
        });
    });
    move || {
        let lang = lang.get();
        let t = now.get();
        let Some(w) = wall.get() else {
            return ().into_any();
        };
        let shown = fit.level.get();
        let lights = lamps(&w.freshness, t, shown, lang)
            .into_iter()
            .map(|l| {
                view! {
                    <li class="light" data-light=l.light.as_str() data-sources=l.sources data-schema=l.schema data-agency=l.agency title=l.title>
                        <span class="dot"></span>
                        <span class="who">{l.who}</span>
                        {l.age_ms.map(|ms| view! { <span class="age">{format::age(ms, lang)}</span> })}
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
            <section id="freshness" class="freshness" data-detail=format!("{shown:?}").to_lowercase() data-fits=move || fit.fits.get().to_string()>
                <ul node_ref=list>{lights}</ul>
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

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 10 * 3_600_000;

    fn source(agency: &str, system: &str, schema: &str, silent_min: i64) -> SourceFreshness {
        SourceFreshness {
            committee: "water".to_owned(),
            source_agency: agency.to_owned(),
            source_system: system.to_owned(),
            schema: schema.to_owned(),
            final_up_to_ms: 0,
            last_event_ms: NOW - silent_min * 60_000,
            last_seen_ms: 0,
            expected_cadence_s: 600,
            events_total: 0,
            light: Light::Unknown,
        }
    }

    /// Two HII feeds late (one from two systems), TMD late, DOPA on time.
    fn sources() -> Vec<SourceFreshness> {
        vec![
            source("DOPA", "a", "dopa.civil_registration", 1),
            source("DOPA", "a", "dopa.public_service", 1),
            source("HII", "sim", "hii.water_level", 20),
            source("HII", "thaiwater", "hii.water_level", 45),
            source("HII", "sim", "hii.rainfall", 1),
            source("TMD", "a", "tmd.weather", 90),
        ]
    }

    fn said(lamps: &[Lamp]) -> Vec<(Light, &str, Option<i64>)> {
        lamps
            .iter()
            .map(|l| (l.light, l.who.as_str(), l.age_ms.map(|ms| ms / 60_000)))
            .collect()
    }

    #[test]
    fn each_coarser_form_says_less_but_hides_no_late_source() {
        let all = sources();
        let late = [
            (Light::Red, "TMD · weather stations", Some(90)),
            (Light::Red, "HII · water levels (thaiwater)", Some(45)),
            (Light::Amber, "HII · water levels (sim)", Some(20)),
        ];
        let full = lamps(&all, NOW, Detail::Full, Lang::En);
        assert_eq!(said(&full)[..3], late);
        assert_eq!(
            said(&full)[3..],
            [(Light::Green, "DOPA ×2", None), (Light::Green, "HII", None)]
        );
        let feeds = lamps(&all, NOW, Detail::LateFeeds, Lang::En);
        assert_eq!(said(&feeds)[..3], late);
        assert_eq!(said(&feeds)[3..], [(Light::Green, "3 on time", None)]);
        let agencies = lamps(&all, NOW, Detail::LateAgencies, Lang::En);
        assert_eq!(
            said(&agencies),
            [
                (Light::Red, "TMD", Some(90)),
                (Light::Red, "HII ×2", Some(45)),
                (Light::Green, "3 on time", None),
            ]
        );
        let count = lamps(&all, NOW, Detail::Count, Lang::En);
        assert_eq!(
            said(&count),
            [
                (Light::Red, "3 sources of 2 agencies late", Some(90)),
                (Light::Green, "3 on time", None),
            ]
        );
        assert!(count[0].title.contains("TMD · weather stations"));
        for detail in [
            Detail::Full,
            Detail::LateFeeds,
            Detail::LateAgencies,
            Detail::Count,
        ] {
            let lamps = lamps(&all, NOW, detail, Lang::En);
            let late: usize = lamps
                .iter()
                .filter(|l| l.light != Light::Green)
                .map(|l| l.sources)
                .sum();
            let on_time: usize = lamps
                .iter()
                .filter(|l| l.light == Light::Green)
                .map(|l| l.sources)
                .sum();
            assert_eq!(
                (late, on_time),
                (3, 3),
                "{detail:?} accounts for every source"
            );
        }
        let th = lamps(&all, NOW, Detail::Count, Lang::Th);
        assert_eq!(th[0].who, "ล่าช้า 3 แหล่ง จาก 2 หน่วยงาน");
    }

    #[test]
    fn all_on_time_is_one_light_per_agency_or_one_count() {
        let all: Vec<_> = sources()
            .into_iter()
            .map(|mut f| {
                f.last_event_ms = NOW - 60_000;
                f
            })
            .collect();
        assert_eq!(
            lamps(&all, NOW, Detail::Full, Lang::En).len(),
            3,
            "DOPA, HII, TMD"
        );
        assert_eq!(
            said(&lamps(&all, NOW, Detail::Count, Lang::En)),
            [(Light::Green, "6 on time", None)]
        );
    }
}
