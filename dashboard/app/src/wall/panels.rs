//! A committee's panel on the wall: headline tiles with sparklines, and,
//! once for the whole panel, what its figures owe the reader: as-of time,
//! sources, completeness, and the states (provisional, stale, revised,
//! suppressed) as badges readable from the back of the room.

use leptos::prelude::*;
use pmoc_schemas::{
    api::{CommitteePanel, Light, MetricSeries, SourceFreshness, WallSnapshot},
    calendar::{Lang, format_time},
    catalogue::{self, Badge},
    committee::Committee,
};

use crate::{
    Ctx,
    charts::{RevisedMark, Sparkline},
    ctx, format,
    format::tr,
};

/// How many tiles a committee's small panel shows; its focus view shows all.
const SMALL_PANEL_TILES: usize = 4;

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

/// The tiles a panel shows.
fn shown(p: &CommitteePanel, large: bool) -> impl Iterator<Item = &MetricSeries> {
    p.series
        .iter()
        .take(if large { usize::MAX } else { SMALL_PANEL_TILES })
}

/// Tiles a row in the focus view: all of them in at most two rows (a
/// committee with eleven headlines would otherwise run off a 1080p
/// screen), 3 to 6 a row.
fn focus_per_row(tiles: usize) -> usize {
    tiles.div_ceil(2).clamp(3, 6)
}

/// The panel's badges: each state once, however many figures are in it.
fn badges(p: &CommitteePanel, large: bool, stale: bool) -> Vec<Badge> {
    let latest = || shown(p, large).filter_map(MetricSeries::latest);
    let mut out = Vec::new();
    if latest().any(|x| !x.final_) {
        out.push(Badge::Provisional);
    }
    if stale {
        out.push(Badge::Stale);
    }
    if latest().any(|x| x.revised > 0) {
        out.push(Badge::Revised);
    }
    if latest().any(|x| x.suppressed_below.is_some()) {
        out.push(Badge::Suppressed);
    }
    out
}

/// A state as a badge.
#[component]
pub fn BadgeView(badge: Badge, lang: Lang) -> impl IntoView {
    view! { <span class="badge" data-badge=badge.as_str()>{badge.text().get(lang)}</span> }
}

/// The agencies behind a committee's figures, by name.
fn sources(committee: &str, lang: Lang) -> String {
    let mut ids: Vec<&str> = Committee::from_name(committee)
        .map(|c| {
            pmoc_schemas::metric::of_committee(c)
                .map(|d| d.source)
                .collect()
        })
        .unwrap_or_default();
    ids.dedup();
    ids.iter()
        .map(|id| catalogue::agency(id).map_or(*id, |a| a.short.get(lang)))
        .collect::<Vec<_>>()
        .join(", ")
}

#[component]
pub fn PanelView(committee: String, large: bool) -> impl IntoView {
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
    let stale = move || matches!(light.get(), Light::Amber | Light::Red);
    let id = format!("panel-{}{}", committee, if large { "-focus" } else { "" });
    let columns = move || {
        large.then(|| {
            let n = panel.with(|p| p.as_ref().map_or(0, |p| shown(p, true).count()));
            format!("repeat({}, minmax(0, 1fr))", focus_per_row(n))
        })
    };
    let tiles = move || {
        let lang = lang.get();
        let Some(p) = panel.get() else {
            return view! { <p class="empty">{tr(lang, "กำลังโหลด…", "Loading…")}</p> }.into_any();
        };
        // Six a row leave no room for the long labels at 1080p in Thai.
        let long_labels = large && focus_per_row(shown(&p, large).count()) <= 5;
        shown(&p, large)
            .cloned()
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
                view! { <Tile series=s lang stale long_labels /> }
            })
            .collect_view()
            .into_any()
    };
    let marks = move || {
        let lang = lang.get();
        panel
            .get()
            .map(|p| badges(&p, large, stale()))
            .unwrap_or_default()
            .into_iter()
            .map(|badge| view! { <BadgeView badge lang /> })
            .collect_view()
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
    let c = committee.clone();
    let c2 = committee.clone();
    let name = move || {
        if large {
            format::committee_name(&c, lang.get())
        } else {
            format::committee_short(&c, lang.get())
        }
    };
    view! {
        <article id=id class="panel-c" class:large=large data-committee=committee.clone() data-light=move || light.get().as_str()>
            <header>
                <h2>{name}</h2>
                <span class="badges">{marks}</span>
            </header>
            <div class="tiles" style:grid-template-columns=columns>{tiles}</div>
            <p class="meta">
                <span class="asof">
                    {move || tr(lang.get(), "ณ ", "As of ")}
                    {move || asof().map(format_time).unwrap_or_else(|| "-".to_owned())}
                </span>
                <span class="complete">
                    {move || tr(lang.get(), " · ครบถึง ", " · complete to ")}
                    {move || panel.with(|p| p.as_ref().and_then(|p| p.complete_up_to_ms)).map(format_time).unwrap_or_else(|| "-".to_owned())}
                </span>
                <span class="source">{move || tr(lang.get(), " · ", " · ")}{move || sources(&c2, lang.get())}</span>
            </p>
        </article>
    }
}

/// One metric's headline. Its states are the panel's badges; the tile
/// keeps only what says *which* figure they apply to (a stale figure is
/// dimmed, a revised one says by how many late values).
#[component]
fn Tile(series: MetricSeries, lang: Lang, stale: Signal<bool>, long_labels: bool) -> impl IntoView {
    let latest = series.latest().cloned();
    let provisional = latest.as_ref().is_some_and(|p| !p.final_);
    // Late values folded in after the window was final, and those too old
    // to be: each said beside the figure, never hidden.
    let revised = latest.as_ref().map_or(0, |p| p.revised);
    let late = latest.as_ref().map_or(0, |p| p.late);
    let (value, unit) = format::figure_and_unit(&series.metric, latest.as_ref(), lang);
    // The statistic and period, from the declaration: "highest station · now".
    let meaning = format::meaning(&series.metric, latest.as_ref(), lang);
    // The focus view has room for the full label (up to five tiles a
    // row); a small panel's quarter of the screen width does not, at 1080p
    // in Thai.
    let label = if long_labels {
        format::metric_label(&series.metric, lang)
    } else {
        format::metric_short(&series.metric, lang)
    };
    view! {
        <div class="tile-m" class:tile-stale=stale data-metric=series.metric.clone() data-stale=move || stale.get().to_string()>
            <span class="label">{label}</span>
            <span class="meaning">{meaning}</span>
            <span class="figure">
                <span class="headline" class:provisional=provisional>{value}</span>
                <span class="unit">{unit}</span>
            </span>
            <span class="late-mark" class:hidden=late == 0>
                {catalogue::late_not_included(late, lang)}
            </span>
            // Beside the sparkline, so a revised tile is no taller than the
            // others (a full focus panel at 1080p has no line to spare);
            // the sentence is its accessible name.
            <span class="spark-row">
                <Sparkline points=series.points />
                <RevisedMark revised lang />
            </span>
        </div>
    }
}
