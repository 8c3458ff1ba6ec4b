//! Talking to the server: every request goes through here, so a lapsed
//! session (401) sends the browser to the sign-in page, and every write
//! carries the session's CSRF token.

use gloo_net::http::{Request, Response};
use leptos::prelude::*;
use pmoc_schemas::auth::{CSRF_HEADER, SessionInfo};

/// The signed-in user, once `/api/session` answered.
pub fn session() -> RwSignal<Option<SessionInfo>> {
    expect_context::<RwSignal<Option<SessionInfo>>>()
}

/// To the sign-in page, coming back to where the user was.
pub fn to_sign_in() {
    let l = window().location();
    let here = format!(
        "{}{}",
        l.pathname().unwrap_or_default(),
        l.search().unwrap_or_default()
    );
    let next = js_sys::encode_uri_component(&here);
    let _ = l.set_href(&format!("/signin?next={next}"));
}

fn checked(response: Response) -> Response {
    if response.status() == 401 {
        to_sign_in();
    }
    response
}

pub async fn get(url: &str) -> Result<Response, gloo_net::Error> {
    Request::get(url).send().await.map(checked)
}

/// A GET of what the page holds a copy of, tagged `tag` (the server's
/// `ETag`): the server answers 304 with no body while it is unchanged.
pub async fn get_if_changed(url: &str, tag: Option<&str>) -> Result<Response, gloo_net::Error> {
    let mut request = Request::get(url);
    if let Some(tag) = tag {
        request = request.header("If-None-Match", tag);
    }
    request.send().await.map(checked)
}

/// A JSON POST with the CSRF token.
pub async fn post_json<T: serde::Serialize>(
    url: &str,
    csrf: &str,
    body: &T,
) -> Result<Response, gloo_net::Error> {
    Request::post(url)
        .header(CSRF_HEADER, csrf)
        .json(body)?
        .send()
        .await
        .map(checked)
}

/// Loads who is signed in (redirecting to sign in when nobody is).
pub async fn load_session(into: RwSignal<Option<SessionInfo>>) {
    match get("/api/session").await {
        Ok(r) if r.ok() => match r.json::<SessionInfo>().await {
            Ok(s) => into.set(Some(s)),
            Err(e) => leptos::logging::warn!("session: {e}"),
        },
        Ok(_) => {}
        Err(e) => leptos::logging::warn!("session: {e}"),
    }
}

/// Ends the session and shows the sign-in page.
pub async fn sign_out(csrf: String) {
    let _ = Request::post("/api/signout")
        .header(CSRF_HEADER, &csrf)
        .send()
        .await;
    let _ = window().location().set_href("/signin");
}
