//! A small client-side router: the page is a function of `location`'s path
//! and query, kept in signals; links push history entries and the back
//! button pops them.
//!
//! Four routes with one or two segments do not need `leptos_router`: this
//! is sixty lines, adds no dependency and keeps the bundle smaller.

use leptos::{ev, prelude::*};
use wasm_bindgen::JsValue;

/// The current location, as signals every page reads.
#[derive(Debug, Clone, Copy)]
pub struct Location {
    pub path: RwSignal<String>,
    /// Query string without `?`.
    pub query: RwSignal<String>,
}

impl Location {
    /// Reads the browser's location and follows back/forward.
    pub fn install() -> Self {
        let (path, query) = current();
        let loc = Self {
            path: RwSignal::new(path),
            query: RwSignal::new(query),
        };
        let handle = window_event_listener(ev::popstate, move |_| loc.sync());
        // The app lives as long as the page.
        std::mem::forget(handle);
        provide_context(loc);
        loc
    }

    fn sync(self) {
        let (path, query) = current();
        self.path.set(path);
        self.query.set(query);
    }

    /// Goes to `url` (path and query) without reloading.
    pub fn go(self, url: &str) {
        if let Ok(history) = window().history() {
            let _ = history.push_state_with_url(&JsValue::NULL, "", Some(url));
        }
        self.sync();
        window().scroll_to_with_x_and_y(0.0, 0.0);
    }

    /// One query parameter, `None` when absent.
    pub fn param(self, key: &str) -> Option<String> {
        param(&self.query.get(), key)
    }
}

/// The location from context (installed by `App`).
pub fn location() -> Location {
    expect_context::<Location>()
}

fn current() -> (String, String) {
    let l = window().location();
    let path = l.pathname().unwrap_or_else(|_| "/".to_owned());
    let query = l.search().unwrap_or_default();
    (path, query.trim_start_matches('?').to_owned())
}

/// Looks `key` up in a query string (`a=1&b=2`); values here are plain
/// keys and codes, never needing percent-decoding.
pub fn param(query: &str, key: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.to_owned())
}

/// An in-app link: a real `href` (bookmarkable, middle-click opens a tab)
/// whose plain click navigates without reloading.
#[component]
pub fn Link(
    #[prop(into)] href: Signal<String>,
    #[prop(optional, into)] class: Signal<String>,
    children: Children,
) -> impl IntoView {
    let loc = location();
    view! {
        <a
            href=move || href.get()
            class=move || class.get()
            on:click=move |e: ev::MouseEvent| {
                if !(e.ctrl_key() || e.meta_key() || e.shift_key() || e.button() != 0) {
                    e.prevent_default();
                    loc.go(&href.get_untracked());
                }
            }
        >
            {children()}
        </a>
    }
}
