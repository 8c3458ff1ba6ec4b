//! HTTP routes.
//!
//! | route | what |
//! | --- | --- |
//! | `GET /api/water` | newest water-level window per province (the first page) |
//! | `GET /api/wall` | the wall screen's snapshot (`api::WallSnapshot`) |
//! | `GET /api/area/{level}/{code}?range=1h\|1d\|7d&committee=water` | drill-down (`api::AreaDetail`) |
//! | `GET /api/alerts[?all=true]` | open (or all recent) alerts with their action history |
//! | `POST /api/alerts/{id}/acknowledge`, `/resolve` | `{"comment": ..., "actor": ...}`; the actor is the `X-PMOC-User` header when set |
//! | `GET /api/geo/districts/{province}` | that province's district outlines |
//! | `GET /api/geo/districts` | all 928 district outlines (the national district map) |
//! | `GET /api/map/districts?committee=water&range=1d` | newest figure of the committee's map metric in every district (`api::MapLayer`) |
//! | `GET /api/stream` | SSE: `water` and `wall` events |
//!
//! Every `/api` result is restricted to what the `X-PMOC-Role` header may
//! see (see [`crate::role`]); a page path the router does not know gets
//! `index.html`, so `/wall` and `/area/...` load the app.

use std::{convert::Infallible, time::Duration};

use axum::{
    Json, Router,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
    routing::{get, post},
};
use futures::Stream;
use pmoc_schemas::{
    api::{ActionRequest, AlertAction, place},
    committee::Committee,
};
use serde::Deserialize;
use tokio::sync::watch;
use tower_http::services::{ServeDir, ServeFile};

use crate::{
    AppState,
    live::now_ms,
    role::{self, Role},
};

pub fn router(state: AppState, stop: watch::Receiver<bool>) -> Router {
    let index = state.assets_dir.join("index.html");
    let assets = ServeDir::new(&state.assets_dir).fallback(ServeFile::new(index));
    Router::new()
        .route("/api/water", get(water))
        .route("/api/wall", get(wall))
        .route("/api/area/{level}/{code}", get(area))
        .route("/api/alerts", get(alerts))
        .route("/api/alerts/{id}/{action}", post(act))
        .route("/api/geo/districts/{province}", get(districts))
        .route("/api/geo/districts", get(all_districts))
        .route("/api/map/districts", get(district_map))
        .route(
            "/api/stream",
            get(move |s: State<AppState>, h: HeaderMap| stream(s, h, stop.clone())),
        )
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok" }))
        .fallback_service(assets)
        .with_state(state)
}

/// ClickHouse failed: say so plainly, log the cause.
fn unavailable(what: &str, error: &(dyn std::error::Error + 'static)) -> Response {
    tracing::warn!(error = %pmoc_schemas::error::chain(error), what, "read failed");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "ClickHouse is not reachable; try again shortly",
    )
        .into_response()
}

fn role_of(headers: &HeaderMap) -> Result<Role, (StatusCode, String)> {
    Role::from_headers(headers).map_err(|e| (StatusCode::FORBIDDEN, e.to_string()))
}

fn forbidden(what: &str) -> Response {
    (StatusCode::FORBIDDEN, format!("your role may not {what}")).into_response()
}

/// The current water snapshot, read fresh from ClickHouse.
async fn water(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match role_of(&headers) {
        Ok(r) if r.sees(Committee::Water) => {}
        Ok(_) => return forbidden("see the water committee"),
        Err(e) => return e.into_response(),
    }
    match state.reader.water_snapshot(now_ms()).await {
        Ok(snapshot) => Json(snapshot).into_response(),
        Err(error) => unavailable("api/water", &error),
    }
}

async fn wall(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let role = match role_of(&headers) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    match state.reader.wall_snapshot(now_ms()).await {
        Ok(snapshot) => Json(role.restrict(&snapshot)).into_response(),
        Err(error) => unavailable("api/wall", &error),
    }
}

#[derive(Debug, Deserialize)]
struct AreaQuery {
    range: Option<String>,
    committee: Option<String>,
}

async fn area(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((level, code)): Path<(String, String)>,
    Query(q): Query<AreaQuery>,
) -> Response {
    let role = match role_of(&headers) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    if place(&level, &code).is_none() {
        return (StatusCode::NOT_FOUND, "no such area").into_response();
    }
    let committee = match q.committee.as_deref() {
        None | Some("") => role.default_committee(),
        Some(name) => match Committee::from_name(name) {
            Some(c) => c,
            None => return (StatusCode::NOT_FOUND, "no such committee").into_response(),
        },
    };
    if !role.sees(committee) {
        return forbidden("see this committee");
    }
    match state
        .reader
        .area_detail(&level, &code, committee, q.range.as_deref(), now_ms())
        .await
    {
        Ok(detail) => Json(detail).into_response(),
        Err(error) => unavailable("api/area", &error),
    }
}

#[derive(Debug, Deserialize)]
struct AlertsQuery {
    #[serde(default)]
    all: bool,
}

async fn alerts(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<AlertsQuery>,
) -> Response {
    let role = match role_of(&headers) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    match state.reader.store.alerts(!q.all).await {
        Ok(alerts) => Json(
            alerts
                .into_iter()
                .filter(|a| role.sees(a.event.committee))
                .collect::<Vec<_>>(),
        )
        .into_response(),
        Err(error) => unavailable("api/alerts", &error),
    }
}

/// Acknowledges or resolves an alert: who (proxy header, else the body),
/// when (the server's clock) and why (a comment, required).
async fn act(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, action)): Path<(String, String)>,
    Json(request): Json<ActionRequest>,
) -> Response {
    let role = match role_of(&headers) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    if action != "acknowledge" && action != "resolve" {
        return (StatusCode::NOT_FOUND, "actions are acknowledge and resolve").into_response();
    }
    let Some(actor) = role::actor(&headers, request.actor.as_deref()) else {
        return (
            StatusCode::BAD_REQUEST,
            "who is acting? set X-PMOC-User or the actor field",
        )
            .into_response();
    };
    let comment = request.comment.trim();
    if comment.is_empty() {
        return (StatusCode::BAD_REQUEST, "a comment is required").into_response();
    }
    let committee = match state.reader.store.alert_committee(&id).await {
        Ok(Some(c)) => c,
        Ok(None) => return (StatusCode::NOT_FOUND, "no such alert").into_response(),
        Err(error) => return unavailable("alert lookup", &error),
    };
    if !role.acts_on(committee) {
        return forbidden("act on this alert");
    }
    let recorded = AlertAction {
        alert_id: id,
        action,
        comment: comment.to_owned(),
        actor,
        at_ms: now_ms(),
    };
    match state.reader.record_action(&recorded).await {
        Ok(()) => (StatusCode::CREATED, Json(recorded)).into_response(),
        Err(error) => unavailable("alert action", &error),
    }
}

async fn districts(Path(province): Path<String>) -> Response {
    match crate::geo::districts_of(&province) {
        Some(outlines) => (
            // Boundaries change by act of parliament, not by the minute.
            [("cache-control", "public, max-age=86400")],
            Json(outlines),
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such province").into_response(),
    }
}

async fn all_districts() -> Response {
    (
        [("cache-control", "public, max-age=86400")],
        Json(crate::geo::all_districts()),
    )
        .into_response()
}

/// Every district's newest figure of one committee's map metric.
async fn district_map(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<AreaQuery>,
) -> Response {
    let role = match role_of(&headers) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let Some(committee) = q.committee.as_deref().and_then(Committee::from_name) else {
        return (
            StatusCode::BAD_REQUEST,
            "committee= is one of population, security, water, resources",
        )
            .into_response();
    };
    if !role.sees(committee) {
        return forbidden("see this committee");
    }
    match state
        .reader
        .district_layer(committee, q.range.as_deref(), now_ms())
        .await
    {
        Ok(layer) => Json(layer).into_response(),
        Err(error) => unavailable("api/map/districts", &error),
    }
}

/// Pushes every new snapshot: `water` (if the role sees water) and `wall`
/// (restricted to the role); the current ones first.
async fn stream(
    State(state): State<AppState>,
    headers: HeaderMap,
    mut stop: watch::Receiver<bool>,
) -> Response {
    let role = match role_of(&headers) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let mut rx = state.snapshots.clone();
    let mut wall_rx = state.wall.clone();
    let sees_water = role.sees(Committee::Water);
    let events = async_stream::stream! {
        let (mut water_changed, mut wall_changed) = (true, true);
        loop {
            if water_changed && sees_water {
                let snapshot = rx.borrow_and_update().clone();
                if !snapshot.provinces.is_empty()
                    && let Ok(event) = Event::default().event("water").json_data(&*snapshot)
                {
                    yield Ok::<_, Infallible>(event);
                }
            }
            if wall_changed {
                let snapshot = wall_rx.borrow_and_update().clone();
                if snapshot.generated_at_ms > 0
                    && let Ok(event) = Event::default().event("wall").json_data(role.restrict(&snapshot))
                {
                    yield Ok(event);
                }
            }
            (water_changed, wall_changed) = (false, false);
            tokio::select! {
                changed = rx.changed() => match changed {
                    Ok(()) => water_changed = true,
                    Err(_) => break,
                },
                changed = wall_rx.changed() => match changed {
                    Ok(()) => wall_changed = true,
                    Err(_) => break,
                },
                _ = stop.changed() => break,
            }
        }
    };
    sse(events).into_response()
}

fn sse(
    events: impl Stream<Item = Result<Event, Infallible>> + Send + 'static,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(10)))
}

async fn metrics(State(state): State<AppState>) -> String {
    state.metrics.render()
}
