//! The live connection: a first fetch, then the server's event stream.

use leptos::{prelude::*, task::spawn_local};
use pmoc_schemas::{
    api::{WallSnapshot, WaterSnapshot},
    calendar::{Lang, format_time},
    health::{Health, StallCause},
};
use wasm_bindgen::{JsCast, closure::Closure};

use crate::format::tr;
use std::{cell::RefCell, rc::Rc};

use pmoc_schemas::delta::{Delta, Held};
use web_sys::{EventSource, MessageEvent};

/// State of the push connection, shown on the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connection {
    Connecting,
    Live,
    /// The browser retries by itself; the page says it is showing old data.
    Disconnected,
}

/// The newest health from the server, and when (browser clock) it came.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Heard {
    pub health: Health,
    pub at_ms: i64,
}

impl Heard {
    /// The server's clock as this page reckons it at browser time `now`.
    pub fn server_time(&self, browser_now_ms: i64) -> i64 {
        browser_now_ms + (self.health.server_now_ms - self.at_ms)
    }
}

/// Health arrives every second; this long without any means the server
/// itself is stuck, which the page must not show as live either.
const SILENT_SERVER_MS: i64 = 5_000;

/// What the badge says, from the connection, the server's health and how
/// long ago it was heard (browser clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Connecting,
    Live,
    /// Data stopped flowing at `since` (server time), for `cause`; `None`:
    /// the server itself went silent.
    Stalled {
        since: i64,
        cause: Option<StallCause>,
    },
    Disconnected,
}

impl Flow {
    pub fn judge(connection: Connection, heard: Option<Heard>, browser_now_ms: i64) -> Self {
        match (connection, heard) {
            (Connection::Disconnected, _) => Self::Disconnected,
            (_, None) => Self::Connecting,
            (_, Some(h)) if browser_now_ms - h.at_ms > SILENT_SERVER_MS => Self::Stalled {
                since: h.health.server_now_ms,
                cause: None,
            },
            (_, Some(h)) => match h.health.stalled {
                Some(s) => Self::Stalled {
                    since: s.since_ms,
                    cause: Some(s.cause),
                },
                None => Self::Live,
            },
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connecting => "connecting",
            Self::Live => "live",
            Self::Stalled { .. } => "stalled",
            Self::Disconnected => "disconnected",
        }
    }
}

/// Loads the current snapshots and subscribes to updates.
pub fn start(
    snapshot: RwSignal<Option<WaterSnapshot>>,
    wall: RwSignal<Option<WallSnapshot>>,
    connection: RwSignal<Connection>,
    heard: RwSignal<Option<Heard>>,
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

    connect(snapshot, wall, connection, heard);
}

/// What this page holds of the pushed snapshots, to apply deltas to.
#[derive(Default)]
struct Holding {
    water: Held,
    wall: Held,
}

/// A push of one kind: a full snapshot (`full`) or a delta.
fn receive<T: serde::de::DeserializeOwned>(
    held: &mut Held,
    text: &str,
    full: bool,
) -> Result<T, String> {
    if full {
        let state: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        *held = Held::full(state);
    } else {
        let delta: Delta = serde_json::from_str(text).map_err(|e| e.to_string())?;
        held.next(&delta).map_err(|e| e.to_string())?;
    }
    T::deserialize(&held.state).map_err(|e| e.to_string())
}

/// Opens the stream. A delta that cannot be applied (this page lost its
/// base) closes it and opens a new one, which starts with full snapshots.
fn connect(
    snapshot: RwSignal<Option<WaterSnapshot>>,
    wall: RwSignal<Option<WallSnapshot>>,
    connection: RwSignal<Connection>,
    heard: RwSignal<Option<Heard>>,
) {
    let Ok(source) = EventSource::new("/api/stream") else {
        connection.set(Connection::Disconnected);
        return;
    };
    let holding = Rc::new(RefCell::new(Holding::default()));
    let on_push = |kind: &'static str, full: bool| {
        let holding = holding.clone();
        let source = source.clone();
        Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            let Some(text) = e.data().as_string() else {
                return;
            };
            let mut h = holding.borrow_mut();
            let got = if kind == "water" {
                receive::<WaterSnapshot>(&mut h.water, &text, full).map(|s| snapshot.set(Some(s)))
            } else {
                receive::<WallSnapshot>(&mut h.wall, &text, full).map(|s| wall.set(Some(s)))
            };
            match got {
                Ok(()) => connection.set(Connection::Live),
                Err(err) => {
                    leptos::logging::warn!("bad {kind} push ({err}): reconnecting");
                    source.close();
                    connect(snapshot, wall, connection, heard);
                }
            }
        })
    };
    let listeners = [
        ("water", on_push("water", true)),
        ("water-delta", on_push("water", false)),
        ("wall", on_push("wall", true)),
        ("wall-delta", on_push("wall", false)),
    ];
    let on_health = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
        if let Some(text) = e.data().as_string() {
            match serde_json::from_str::<Health>(&text) {
                Ok(health) => heard.set(Some(Heard {
                    health,
                    at_ms: js_sys::Date::now() as i64,
                })),
                Err(err) => leptos::logging::warn!("bad health: {err}"),
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
    // Leaving the page closes its stream: a page kept in the back-forward
    // cache must not hold one of the six connections a browser allows a
    // server; one restored from that cache loads afresh.
    let leaving = {
        let source = source.clone();
        Closure::<dyn FnMut()>::new(move || source.close())
    };
    let back = Closure::<dyn FnMut(web_sys::PageTransitionEvent)>::new(
        |e: web_sys::PageTransitionEvent| {
            if e.persisted() {
                let _ = leptos::prelude::window().location().reload();
            }
        },
    );
    let window = leptos::prelude::window();
    let _ = window.add_event_listener_with_callback("pagehide", leaving.as_ref().unchecked_ref());
    let _ = window.add_event_listener_with_callback("pageshow", back.as_ref().unchecked_ref());
    leaving.forget();
    back.forget();
    for (name, listener) in listeners {
        let _ = source.add_event_listener_with_callback(name, listener.as_ref().unchecked_ref());
        listener.forget();
    }
    let _ = source.add_event_listener_with_callback("health", on_health.as_ref().unchecked_ref());
    source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    // The page lives as long as the stream: both closures stay for good.
    on_health.forget();
    on_open.forget();
    on_error.forget();
    std::mem::forget(source);
}

/// The badge: whether figures are being renewed, not merely whether the
/// page is connected (`data-state` is live, stalled, disconnected or
/// connecting).
#[component]
pub fn Status(
    connection: RwSignal<Connection>,
    heard: RwSignal<Option<Heard>>,
    now: RwSignal<i64>,
    lang: RwSignal<Lang>,
) -> impl IntoView {
    // `now` only paces the check; silence is measured on the browser's own
    // clock, the one `Heard::at_ms` was taken with.
    let flow = Memo::new(move |_| {
        now.track();
        Flow::judge(connection.get(), heard.get(), js_sys::Date::now() as i64)
    });
    let label = move || {
        let lang = lang.get();
        match flow.get() {
            Flow::Connecting => tr(lang, "กำลังเชื่อมต่อ", "Connecting").to_owned(),
            Flow::Live => tr(lang, "สด", "Live").to_owned(),
            Flow::Disconnected => tr(
                lang,
                "ขาดการเชื่อมต่อ: แสดงข้อมูล ณ เวลาล่าสุด",
                "Disconnected: showing data as of last update",
            )
            .to_owned(),
            Flow::Stalled { since, cause } => {
                let why = match cause {
                    Some(StallCause::Pipeline) => tr(lang, "ไม่มีผลลัพธ์ใหม่", "no new results"),
                    Some(StallCause::Storage) => tr(lang, "อ่านฐานข้อมูลไม่ได้", "database unreachable"),
                    None => tr(lang, "เซิร์ฟเวอร์ไม่ตอบ", "server not answering"),
                };
                match lang {
                    Lang::Th => format!("หยุดนิ่งตั้งแต่ {} น. · {why}", format_time(since)),
                    Lang::En => format!("Stalled since {} · {why}", format_time(since)),
                }
            }
        }
    };
    let class = move || match flow.get() {
        Flow::Live => "status live",
        Flow::Connecting => "status connecting",
        Flow::Stalled { .. } => "status stalled",
        Flow::Disconnected => "status down",
    };
    view! { <span id="connection" class=class data-state=move || flow.get().as_str()>{label}</span> }
}
