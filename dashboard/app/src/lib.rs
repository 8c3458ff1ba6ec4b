//! The PMOC dashboard's components (client-side rendered).
//!
//! Data arrives as a first JSON read and then as Server-Sent Events; while
//! the stream is down the page says so and keeps showing the as-of time of
//! what it has, rather than silently freezing.
//!
//! Pages: `/` (water overview), `/wall` (kiosk wall screen),
//! `/area/{level}/{code}?range=1d&committee=water` (drill-down),
//! `/alerts` (acknowledge and close), `/audit` (operators: refused requests).
//! Every page needs a signed-in user; the server's sign-in page is not part
//! of the app (it must work without script).

mod alerts;
mod api;
mod area;
mod audit;
mod charts;
mod choropleth;
mod format;
mod live;
mod map;
mod nav;
mod outlines;
mod rotation;
mod wall;
mod water;

use std::time::Duration;

use leptos::prelude::*;
use pmoc_schemas::{
    api::{WallSnapshot, WaterSnapshot},
    auth::SessionInfo,
    calendar::Lang,
};

pub use live::Connection;

use crate::{format::tr, nav::Link};

/// What every page shares: the live snapshots, the connection, the
/// server's word on whether data flows, the language and a clock that
/// ticks each second (ages, lights, rotation).
#[derive(Debug, Clone, Copy)]
pub struct Ctx {
    pub water: RwSignal<Option<WaterSnapshot>>,
    pub wall: RwSignal<Option<WallSnapshot>>,
    pub connection: RwSignal<Connection>,
    pub heard: RwSignal<Option<live::Heard>>,
    pub lang: RwSignal<Lang>,
    /// The server's time as this page reckons it: ages and lights are
    /// judged on one clock, whatever the wall screen's own clock says.
    pub now: RwSignal<i64>,
}

pub fn ctx() -> Ctx {
    expect_context::<Ctx>()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Page {
    Home,
    Wall,
    Area,
    Alerts,
    Audit,
}

/// The app: picks the page from the path.
#[component]
pub fn App() -> impl IntoView {
    let loc = nav::Location::install();
    let ctx = Ctx {
        water: RwSignal::new(None),
        wall: RwSignal::new(None),
        connection: RwSignal::new(Connection::Connecting),
        heard: RwSignal::new(None),
        lang: RwSignal::new(match loc.param("lang").as_deref() {
            Some("en") => Lang::En,
            _ => Lang::Th,
        }),
        now: RwSignal::new(js_sys::Date::now() as i64),
    };
    provide_context(ctx);
    let session = RwSignal::new(None::<SessionInfo>);
    provide_context(session);
    leptos::task::spawn_local(api::load_session(session));
    outlines::provide();
    live::start(ctx.water, ctx.wall, ctx.connection, ctx.heard);
    let server_now = move || {
        let browser = js_sys::Date::now() as i64;
        ctx.heard
            .with_untracked(|h| h.map_or(browser, |h| h.server_time(browser)))
    };
    let _ = set_interval_with_handle(move || ctx.now.set(server_now()), Duration::from_secs(1));
    // Only the first segment picks the page, so moving between places of
    // the drill-down keeps the page (and its map) instead of rebuilding it.
    let page = Memo::new(move |_| {
        loc.path
            .with(|p| match p.trim_matches('/').split('/').next() {
                Some("wall") => Page::Wall,
                Some("area") => Page::Area,
                Some("alerts") => Page::Alerts,
                Some("audit") => Page::Audit,
                _ => Page::Home,
            })
    });
    move || match page.get() {
        Page::Home => view! { <Home /> }.into_any(),
        Page::Wall => view! { <wall::Wall /> }.into_any(),
        Page::Area => view! { <area::AreaPage /> }.into_any(),
        Page::Alerts => view! { <alerts::AlertsPage /> }.into_any(),
        Page::Audit => view! { <audit::AuditPage /> }.into_any(),
    }
}

/// The header of the normal (non-kiosk) pages.
#[component]
pub fn TopBar() -> impl IntoView {
    let Ctx {
        connection,
        heard,
        now,
        lang,
        ..
    } = ctx();
    let session = api::session();
    let t = move |th: &'static str, en: &'static str| move || tr(lang.get(), th, en);
    let operator = move || session.with(|s| s.as_ref().is_some_and(SessionInfo::is_operator));
    let sign_out = move |_| {
        let csrf = session
            .with_untracked(|s| s.as_ref().map(|s| s.csrf.clone()))
            .unwrap_or_default();
        leptos::task::spawn_local(api::sign_out(csrf));
    };
    view! {
        <header class="top">
            <h1>{t("ศูนย์ปฏิบัติการนายกรัฐมนตรี", "Prime Minister's Operations Centre")}</h1>
            <nav class="pages">
                <Link href="/">{t("ภาพรวม", "Overview")}</Link>
                <Link href="/area/nation/TH">{t("เจาะลึกพื้นที่", "Drill-down")}</Link>
                <Link href="/alerts">{t("การแจ้งเตือน", "Alerts")}</Link>
                <a href="/wall">{t("จอผนัง", "Wall screen")}</a>
                <span class:hidden=move || !operator()>
                    <Link href="/audit">{t("บันทึกการตรวจสอบ", "Audit")}</Link>
                </span>
            </nav>
            <span id="signed-in" class="who">
                {move || session.with(|s| s.as_ref().map(|s| format!("{} · {}", s.user, s.role)).unwrap_or_default())}
            </span>
            <button id="sign-out" on:click=sign_out>{t("ออกจากระบบ", "Sign out")}</button>
            <live::Status connection heard now lang />
            <button id="lang-toggle" on:click=move |_| lang.update(|l| *l = match l { Lang::Th => Lang::En, Lang::En => Lang::Th })>
                {move || match lang.get() { Lang::Th => "English", Lang::En => "ไทย" }}
            </button>
        </header>
    }
}

#[component]
pub fn Footer() -> impl IntoView {
    let lang = ctx().lang;
    view! {
        <footer>
            {move || tr(lang.get(), "ขอบเขตการปกครอง: กรมแผนที่ทหาร ผ่าน OCHA HDX (CC BY-IGO)", "Boundaries: Royal Thai Survey Department via OCHA HDX (CC BY-IGO)")}
        </footer>
    }
}

/// The overview: the water map and table of every province.
#[component]
fn Home() -> impl IntoView {
    let Ctx { water, lang, .. } = ctx();
    view! {
        <TopBar />
        <main class="grid">
            <map::ProvinceMap snapshot=water lang />
            <water::WaterPanel snapshot=water lang />
        </main>
        <Footer />
    }
}
