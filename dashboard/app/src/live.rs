//! The live connection: a first fetch, then the server's event stream.

use leptos::{prelude::*, task::spawn_local};
use pmoc_schemas::{
    api::{WallSnapshot, WaterSnapshot},
    calendar::Lang,
};
use wasm_bindgen::{JsCast, closure::Closure};
use web_sys::{EventSource, MessageEvent};

/// State of the push connection, shown on the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connection {
    Connecting,
    Live,
    /// The browser retries by itself; the page says it is showing old data.
    Disconnected,
}

/// Loads the current snapshots and subscribes to updates.
pub fn start(
    snapshot: RwSignal<Option<WaterSnapshot>>,
    wall: RwSignal<Option<WallSnapshot>>,
    connection: RwSignal<Connection>,
) {
    spawn_local(async move {
        let fetched = async {
            crate::api::get("/api/water")
                .await?
                .json::<WaterSnapshot>()
                .await
        }
        .await;
        match fetched {
            Ok(s) => snapshot.set(Some(s)),
            Err(e) => leptos::logging::warn!("initial load failed: {e}"),
        }
    });
    spawn_local(async move {
        let fetched = async {
            crate::api::get("/api/wall")
                .await?
                .json::<WallSnapshot>()
                .await
        }
        .await;
        match fetched {
            // The stream may already have delivered a newer one.
            Ok(s) if wall.with_untracked(Option::is_none) => wall.set(Some(s)),
            Ok(_) => {}
            Err(e) => leptos::logging::warn!("initial wall load failed: {e}"),
        }
    });

    let Ok(source) = EventSource::new("/api/stream") else {
        connection.set(Connection::Disconnected);
        return;
    };
    let on_water = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
        if let Some(text) = e.data().as_string() {
            match serde_json::from_str::<WaterSnapshot>(&text) {
                Ok(s) => snapshot.set(Some(s)),
                Err(err) => leptos::logging::warn!("bad snapshot: {err}"),
            }
        }
        connection.set(Connection::Live);
    });
    let on_wall = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
        if let Some(text) = e.data().as_string() {
            match serde_json::from_str::<WallSnapshot>(&text) {
                Ok(s) => wall.set(Some(s)),
                Err(err) => leptos::logging::warn!("bad wall snapshot: {err}"),
            }
        }
        connection.set(Connection::Live);
    });
    let on_open = Closure::<dyn FnMut()>::new(move || connection.set(Connection::Live));
    let on_error = Closure::<dyn FnMut()>::new(move || {
        connection.set(Connection::Disconnected);
        // The stream cannot tell a lapsed session from a network fault;
        // asking for the session redirects to sign-in on a 401.
        spawn_local(async {
            let _ = crate::api::get("/api/session").await;
        });
    });
    let _ = source.add_event_listener_with_callback("water", on_water.as_ref().unchecked_ref());
    let _ = source.add_event_listener_with_callback("wall", on_wall.as_ref().unchecked_ref());
    source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    // The page lives as long as the stream: both closures stay for good.
    on_water.forget();
    on_wall.forget();
    on_open.forget();
    on_error.forget();
    std::mem::forget(source);
}

/// The connection badge.
#[component]
pub fn Status(connection: RwSignal<Connection>, lang: RwSignal<Lang>) -> impl IntoView {
    let label = move || match (connection.get(), lang.get()) {
        (Connection::Connecting, Lang::Th) => "กำลังเชื่อมต่อ",
        (Connection::Connecting, Lang::En) => "Connecting",
        (Connection::Live, Lang::Th) => "สด",
        (Connection::Live, Lang::En) => "Live",
        (Connection::Disconnected, Lang::Th) => "ขาดการเชื่อมต่อ: แสดงข้อมูล ณ เวลาล่าสุด",
        (Connection::Disconnected, Lang::En) => "Disconnected: showing data as of last update",
    };
    let class = move || match connection.get() {
        Connection::Live => "status live",
        Connection::Connecting => "status connecting",
        Connection::Disconnected => "status down",
    };
    view! { <span id="connection" class=class>{label}</span> }
}
