//! The PMOC dashboard's components (client-side rendered).
//!
//! Data arrives as a first JSON read and then as Server-Sent Events; while
//! the stream is down the page says so and keeps showing the as-of time of
//! what it has, rather than silently freezing.

mod live;
mod map;
mod water;

use leptos::prelude::*;
use pmoc_schemas::{api::WaterSnapshot, calendar::Lang};

pub use live::Connection;

/// The whole page.
#[component]
pub fn App() -> impl IntoView {
    let snapshot = RwSignal::new(None::<WaterSnapshot>);
    let connection = RwSignal::new(Connection::Connecting);
    let lang = RwSignal::new(Lang::Th);
    live::start(snapshot, connection);

    let t = move |th: &'static str, en: &'static str| {
        move || match lang.get() {
            Lang::Th => th,
            Lang::En => en,
        }
    };
    view! {
        <header class="top">
            <h1>{t("ศูนย์ปฏิบัติการนายกรัฐมนตรี", "Prime Minister's Operations Centre")}</h1>
            <live::Status connection lang />
            <button id="lang-toggle" on:click=move |_| lang.update(|l| *l = match l { Lang::Th => Lang::En, Lang::En => Lang::Th })>
                {move || match lang.get() { Lang::Th => "English", Lang::En => "ไทย" }}
            </button>
        </header>
        <main class="grid">
            <map::ProvinceMap snapshot lang />
            <water::WaterPanel snapshot lang />
        </main>
        <footer>
            {t("ขอบเขตการปกครอง: กรมแผนที่ทหาร ผ่าน OCHA HDX (CC BY-IGO)", "Boundaries: Royal Thai Survey Department via OCHA HDX (CC BY-IGO)")}
        </footer>
    }
}
