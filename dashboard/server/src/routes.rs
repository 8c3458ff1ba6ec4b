//! HTTP routes. Every one but the sign-in flow, `/healthz` and the static
//! shell needs a signed-in caller (see [`crate::auth`]); each handler names
//! who may call it by its extractor and cuts its result to the caller's
//! scope ([`crate::auth::scope::Access`]).
//!
//! | route | who | what |
//! | --- | --- | --- |
//! | `GET /api/session` | signed in | user, role, CSRF token |
//! | `GET /api/water` | person, water | newest water-level window per province |
//! | `GET /api/wall` | signed in, kiosks too | the wall screen's snapshot |
//! | `GET /api/area/{level}/{code}?range=1h\|1d\|7d&committee=water` | person, own committee and area | drill-down |
//! | `GET /api/area/{level}/{code}/export.csv?range=&committee=` | as the drill-down | the drill-down as CSV (`export`) |
//! | `GET /api/area/{level}/{code}/stream?range=&committee=` | as the drill-down | SSE: `area`, the drill-down now and on each change |
//! | `GET /api/alerts[?all=true]` | person | alerts in scope with their history |
//! | `GET /api/alerts/page?committee=&severity=&state=&area=&page=` | person | one page of the alerts in scope matching the filters, worst and newest first, with counts by rule and region (`api::AlertPage`) |
//! | `POST /api/alerts/{id}/acknowledge` | operator, liaison in scope | `{"comment"}`; the actor is the signed-in user |
//! | `POST /api/alerts/{id}/resolve` | operator | `{"comment"}`: the reason, required |
//! | `GET /api/geo/districts[/{province}]` | person | district outlines |
//! | `GET /api/map/districts?committee=water&range=1d` | person, own committee | every district's newest figure, tagged (`ETag`; 304 to `If-None-Match` when unchanged) |
//! | `GET /api/health` | signed in, kiosks too | whether data is flowing (`health::Health`) |
//! | `GET /api/stream[?committee=water]` | signed in, kiosks too | SSE: `water` and `wall`, cut per connection; `health` each second |
//! | `GET /api/audit?decision=deny&user=&reason=&route=&limit=` | operator | the audit log, newest first |
//! | `GET /metrics` | operator | Prometheus (also on `dashboard.metrics_listen`) |
//!
//! A page path the router does not know gets `index.html` (signed in only),
//! so `/wall` and `/area/...` load the app.

use std::{collections::BTreeSet, sync::Arc};

use axum::{
    Json, Router,
    extract::{
        DefaultBodyLimit, Path, Query, State,
        rejection::{JsonRejection, QueryRejection},
    },
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use pmoc_schemas::{
    api::{
        ALERTS_PER_PAGE, ActionRequest, AlertAction, AlertQuery, MAX_ACTIONS_PER_ALERT,
        MAX_COMMENT_CHARS, RANGES, place,
    },
    area::{REGIONS4, province, provinces},
    auth::RoleKind,
    committee::Committee,
};
use pmoc_store::AlertFilter;
use serde::Deserialize;
use tokio::sync::watch;
use tower_http::services::{ServeDir, ServeFile};

use crate::{
    AppState,
    area_cache::{AreaKey, DistrictMapKey},
    audit::AuditQuery,
    auth::{self, Operator, Person, Principal, Reason, Refusal, scope::Geo, signin},
    live::now_ms,
    push,
};

/// Largest request body: the API takes only short JSON (an alert comment).
const MAX_BODY_BYTES: usize = 16 * 1024;
/// Deepest page of alerts served: 50,000 alerts, far beyond any crisis.
const MAX_ALERT_PAGE: u32 = 1_000;
/// Longest alert id accepted (ids are rule, area and window: ~60 chars).
const MAX_ALERT_ID_CHARS: usize = 128;

pub fn router(state: AppState, stop: watch::Receiver<bool>) -> Router {
    let index = state.assets_dir.join("index.html");
    // `build.sh` writes a Brotli and a gzip copy beside every file: served
    // to browsers that accept them, without compressing per request.
    let assets = ServeDir::new(&state.assets_dir)
        .precompressed_br()
        .precompressed_gzip()
        .fallback(
            ServeFile::new(index)
                .precompressed_br()
                .precompressed_gzip(),
        );
    let gate = state.gate.clone();
    let sign_in = Router::new()
        .route("/signin", get(signin::form).post(signin::submit))
        .route("/signin/oidc", get(signin::oidc_begin))
        .route("/oidc/callback", get(signin::oidc_callback))
        .route("/kiosk", get(signin::kiosk))
        .route("/api/signout", post(signin::sign_out))
        .route("/api/session", get(signin::session_info))
        .with_state(state.gate.auth.clone());
    Router::new()
        .route("/api/water", get(water))
        .route("/api/wall", get(wall))
        .route(
            "/api/health",
            get(|State(s): State<AppState>| async move { Json(*s.health.borrow()) }),
        )
        .route("/api/area/{level}/{code}", get(area))
        .route("/api/area/{level}/{code}/export.csv", get(area_csv))
        .route(
            "/api/area/{level}/{code}/stream",
            get({
                let stop = stop.clone();
                move |s: State<AppState>,
                      p: Person,
                      path: Path<(String, String)>,
                      q: Query<AreaQuery>| {
                    push::area(s, p, path, q, stop.clone())
                }
            }),
        )
        .route("/api/alerts", get(alerts))
        .route("/api/alerts/page", get(alert_page))
        .route("/api/alerts/{id}/{action}", post(act))
        .route(
            "/api/geo/provinces",
            get(|| async { Json(crate::geo::provinces()) }),
        )
        .route("/api/geo/districts/{province}", get(districts))
        .route("/api/geo/districts", get(all_districts))
        .route("/api/map/districts", get(district_map))
        .route(
            "/api/stream",
            get(
                move |s: State<AppState>, p: Principal, q: Query<push::StreamQuery>| {
                    push::stream(s, p, q, stop.clone())
                },
            ),
        )
        .route("/api/audit", get(audit))
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok" }))
        .merge(sign_in)
        .fallback_service(assets)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(gate, auth::layer))
        .with_state(state)
}

/// ClickHouse failed: say so plainly, log the cause.
pub(crate) fn unavailable(what: &str, error: &(dyn std::error::Error + 'static)) -> Response {
    tracing::warn!(error = %pmoc_schemas::error::chain(error), what, "read failed");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "ClickHouse is not reachable; try again shortly",
    )
        .into_response()
}

pub(crate) fn bad_request(message: &'static str) -> Response {
    (StatusCode::BAD_REQUEST, message).into_response()
}

/// The current water snapshot, read fresh, cut to the caller's provinces.
async fn water(State(state): State<AppState>, Person(p): Person) -> Response {
    if !p.access.sees(Committee::Water) {
        return Refusal::new(Reason::OutOfScope).into_response();
    }
    // Served from what the poller last read, like the push: every viewer
    // costs memory, not a ClickHouse query. Only before the first read
    // (the server just started) does a request read ClickHouse itself.
    let polled = state.snapshots.borrow().clone();
    if polled.generated_at_ms > 0 {
        return Json(p.access.water(&polled)).into_response();
    }
    match state.reader.water_snapshot(now_ms()).await {
        Ok(snapshot) => Json(p.access.water(&snapshot)).into_response(),
        Err(error) => unavailable("api/water", &error),
    }
}

async fn wall(State(state): State<AppState>, p: Principal, headers: HeaderMap) -> Response {
    // From the poller's snapshot, as `water` above, cut, encoded and
    // gzipped once per snapshot and scope (the stream's cut, shared).
    let polled = state.wall.borrow().clone();
    if polled.generated_at_ms > 0 {
        return match push::wall_body(&state.cuts, &p.access, &polled) {
            Some(body) => body.respond(&headers, Some("private, no-cache")),
            None => Json(p.access.restrict(&polled)).into_response(),
        };
    }
    match state.reader.wall_snapshot(now_ms()).await {
        Ok(snapshot) => Json(p.access.restrict(&snapshot)).into_response(),
        Err(error) => unavailable("api/wall", &error),
    }
}

#[derive(Debug, Deserialize)]
pub struct AreaQuery {
    range: Option<String>,
    committee: Option<String>,
}

/// A range key, checked: `None` is the default day, anything unknown is an error.
fn range_of(key: Option<&str>) -> Result<(&'static str, u32), &'static str> {
    match key {
        None | Some("") => Ok(("1d", 3_600)),
        Some(k) => RANGES
            .iter()
            .find(|r| r.0 == k)
            .map(|r| (r.0, r.2))
            .ok_or("range= is one of 1h, 1d, 7d"),
    }
}

pub(crate) fn committee_of(name: Option<&str>) -> Result<Option<Committee>, &'static str> {
    match name {
        None | Some("") => Ok(None),
        Some(n) => Committee::from_name(n)
            .map(Some)
            .ok_or("committee= is one of population, security, water, resources"),
    }
}

async fn area(
    State(state): State<AppState>,
    Person(p): Person,
    Path((level, code)): Path<(String, String)>,
    Query(q): Query<AreaQuery>,
    headers: HeaderMap,
) -> Response {
    let key = match area_key(&p, &level, &code, &q) {
        Ok(key) => key,
        Err(refused) => return refused,
    };
    // Encoded (and gzipped) once per refresh and scope
    // (`Versioned::json_for`).
    match state
        .areas
        .get(&key)
        .await
        .map(|v| v.json_for::<AreaKey>(&p.access))
    {
        // Cut per viewer: no shared cache may keep it.
        Ok(Ok(body)) => body.respond(&headers, Some("private, no-cache")),
        Ok(Err(error)) => {
            tracing::warn!(%error, "encoding an area failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
        Err(error) => unavailable("api/area", &error),
    }
}

/// The drill-down as a CSV download: the same checks, the same cut and the
/// same protected figures as [`area`], because it is the same read.
async fn area_csv(
    State(state): State<AppState>,
    Person(p): Person,
    Path((level, code)): Path<(String, String)>,
    Query(q): Query<AreaQuery>,
) -> Response {
    let detail = match area_detail(&state, &p, &level, &code, &q).await {
        Ok(detail) => detail,
        Err(refused) => return refused,
    };
    match crate::export::csv(&detail) {
        Ok(body) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    crate::export::disposition(&detail),
                ),
            ],
            body,
        )
            .into_response(),
        Err(error) => {
            tracing::warn!(%error, "csv export failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Which cached read a drill-down request is for, once the caller's scope
/// allows it: the checks of [`area`], its export and its stream.
#[expect(
    clippy::result_large_err,
    reason = "the error is the refusal itself, answered straight away"
)]
pub(crate) fn area_key(
    p: &auth::Principal,
    level: &str,
    code: &str,
    q: &AreaQuery,
) -> Result<AreaKey, Response> {
    if place(level, code).is_none() {
        return Err((StatusCode::NOT_FOUND, "no such area").into_response());
    }
    let (range, width) = range_of(q.range.as_deref()).map_err(bad_request)?;
    // Water when the role sees it, as the pages always opened on it.
    let committee = committee_of(q.committee.as_deref())
        .map_err(bad_request)?
        .or_else(|| {
            if p.access.sees(Committee::Water) {
                Some(Committee::Water)
            } else {
                p.access.committees.first().copied()
            }
        });
    let Some(committee) = committee else {
        return Err(Refusal::new(Reason::OutOfScope).into_response());
    };
    if !p.access.sees(committee) || !p.access.in_geo(level, code) {
        return Err(Refusal::new(Reason::OutOfScope).into_response());
    }
    // The page itself, and the level of its children rows.
    let child = match level {
        "province" => "district",
        l => l,
    };
    if p.access.detail_withheld(committee, level, width)
        || p.access.detail_withheld(committee, child, width)
    {
        return Err(Refusal::new(Reason::NotCleared).into_response());
    }
    Ok(AreaKey {
        level: level.to_owned(),
        code: code.to_owned(),
        committee,
        range,
    })
}

/// One committee at one place, checked against the caller's scope and cut
/// to it: what the drill-down and its export send. Read from the shared
/// cache (`area_cache`), so viewers of one area cost one query a refresh.
async fn area_detail(
    state: &AppState,
    p: &auth::Principal,
    level: &str,
    code: &str,
    q: &AreaQuery,
) -> Result<pmoc_schemas::api::AreaDetail, Response> {
    let key = area_key(p, level, code, q)?;
    match state.areas.get(&key).await {
        Ok(v) => Ok(p.access.area((*v.value).clone())),
        Err(error) => Err(unavailable("api/area", &error)),
    }
}

#[derive(Debug, Deserialize)]
struct AlertsQuery {
    #[serde(default)]
    all: bool,
}

async fn alerts(
    State(state): State<AppState>,
    Person(p): Person,
    Query(q): Query<AlertsQuery>,
) -> Response {
    match state.reader.alerts(!q.all).await {
        Ok(alerts) => Json(p.access.alerts(&alerts)).into_response(),
        Err(error) => unavailable("api/alerts", &error),
    }
}

/// The alerts page: filtered and paged by the store, inside the caller's
/// scope (committees and provinces are narrowed in the query itself, then
/// the page is cut once more by the same rule every other route uses).
async fn alert_page(
    State(state): State<AppState>,
    Person(p): Person,
    query: Result<Query<AlertQuery>, QueryRejection>,
) -> Response {
    let Ok(Query(q)) = query else {
        return bad_request("committee, severity, state, area or page is not valid");
    };
    let committees: Vec<Committee> = p
        .access
        .committees
        .iter()
        .copied()
        .filter(|c| q.committee.is_none_or(|want| want == *c))
        .collect();
    let chosen: Option<BTreeSet<String>> = match q.area.as_deref() {
        None | Some("") => None,
        Some(region) if REGIONS4.contains(&region) => Some(
            provinces()
                .iter()
                .filter(|p| p.region4 == region)
                .map(|p| p.code.clone())
                .collect(),
        ),
        Some(code) if province(code).is_some() => Some([code.to_owned()].into()),
        Some(_) => return bad_request("area is a region (NE) or a province code (34)"),
    };
    let scope = match &p.access.geo {
        Geo::Nation => None,
        Geo::Provinces(codes) => Some(codes.clone()),
    };
    let provinces = match (chosen, scope) {
        (Some(a), Some(b)) => Some(a.intersection(&b).cloned().collect()),
        (a, b) => a.or(b),
    };
    let filter = AlertFilter {
        committees: &committees,
        severity: q.severity,
        state: q.state,
        provinces: provinces.as_ref(),
        page: q.page.min(MAX_ALERT_PAGE),
        per_page: ALERTS_PER_PAGE,
    };
    match state
        .reader
        .store
        .alert_page(&filter, &state.reader.privacy)
        .await
    {
        Ok(mut page) => {
            page.alerts = p.access.alerts(&page.alerts);
            Json(page).into_response()
        }
        Err(error) => unavailable("api/alerts/page", &error),
    }
}

fn valid_alert_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ALERT_ID_CHARS
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

/// Acknowledges or closes an alert: who (the signed-in user, never the
/// body), when (the server's clock) and why (a comment, required; for
/// closing, the reason). Closing is for operators; it marks the alert, and
/// an alert the pipeline still sees in breach stays on the wall.
async fn act(
    State(state): State<AppState>,
    Person(p): Person,
    Path((id, action)): Path<(String, String)>,
    body: Result<Json<ActionRequest>, JsonRejection>,
) -> Response {
    if action != "acknowledge" && action != "resolve" {
        return (StatusCode::NOT_FOUND, "actions are acknowledge and resolve").into_response();
    }
    if !valid_alert_id(&id) {
        return (StatusCode::NOT_FOUND, "no such alert").into_response();
    }
    if p.access.kind == RoleKind::Executive {
        return Refusal::new(Reason::ReadOnly).into_response();
    }
    if action == "resolve" && p.access.kind != RoleKind::Operator {
        return Refusal::new(Reason::NotOperator).into_response();
    }
    let Json(request) = match body {
        Ok(b) => b,
        Err(rejection) => return rejection.into_response(),
    };
    let comment = request.comment.trim();
    if comment.is_empty() {
        return bad_request("a comment (for closing: the reason) is required");
    }
    if comment.chars().count() > MAX_COMMENT_CHARS {
        return (StatusCode::PAYLOAD_TOO_LARGE, "the comment is too long").into_response();
    }
    let target = match state.reader.store.alert_target(&id).await {
        Ok(Some(t)) => t,
        Ok(None) => return (StatusCode::NOT_FOUND, "no such alert").into_response(),
        Err(error) => return unavailable("alert lookup", &error),
    };
    if !p.access.acts_on(target.committee)
        || !p.access.in_geo(&target.area_level, &target.area_code)
    {
        return Refusal::new(Reason::OutOfScope).into_response();
    }
    if target.actions >= MAX_ACTIONS_PER_ALERT as u64 {
        return (
            StatusCode::CONFLICT,
            "this alert has too many actions already",
        )
            .into_response();
    }
    let recorded = AlertAction {
        alert_id: id,
        action,
        comment: comment.to_owned(),
        actor: p.user,
        at_ms: now_ms(),
    };
    match state.reader.record_action(&recorded).await {
        Ok(()) => (StatusCode::CREATED, Json(recorded)).into_response(),
        Err(error) => unavailable("alert action", &error),
    }
}

async fn districts(_: Person, Path(province): Path<String>) -> Response {
    match crate::geo::districts_of(&province) {
        Some(outlines) => Json(outlines).into_response(),
        None => (StatusCode::NOT_FOUND, "no such province").into_response(),
    }
}

async fn all_districts(_: Person) -> Response {
    Json(crate::geo::all_districts()).into_response()
}

/// Every district's newest figure of one committee's map metric, from the
/// shared read of the committee and range (`area_cache`): one query per
/// refresh for every viewer, cut to each one's districts. Tagged with the
/// read's version and cut, so a page asking again with `If-None-Match`
/// after nothing changed is answered 304 with no body.
async fn district_map(
    State(state): State<AppState>,
    Person(p): Person,
    Query(q): Query<AreaQuery>,
    headers: HeaderMap,
) -> Response {
    let (range, width) = match range_of(q.range.as_deref()) {
        Ok(r) => r,
        Err(e) => return bad_request(e),
    };
    let committee = match committee_of(q.committee.as_deref()) {
        Ok(Some(c)) => c,
        Ok(None) => {
            return bad_request("committee= is one of population, security, water, resources");
        }
        Err(e) => return bad_request(e),
    };
    if !p.access.sees(committee) {
        return Refusal::new(Reason::OutOfScope).into_response();
    }
    if p.access.detail_withheld(committee, "district", width) {
        return Refusal::new(Reason::NotCleared).into_response();
    }
    let key = DistrictMapKey { committee, range };
    let body = match state.district_maps.get(&key).await {
        Ok(v) => v.json_for::<DistrictMapKey>(&p.access),
        Err(error) => return unavailable("api/map/districts", &error),
    };
    let body = match body {
        Ok(body) => body,
        Err(error) => {
            tracing::warn!(%error, "encoding a district map failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    // Per viewer (cut to their scope): no shared cache may keep it, and a
    // browser's own must ask each time (the page does, with the tag).
    body.respond(&headers, Some("private, no-cache"))
}

/// The audit log for operators; refusals by default.
async fn audit(
    State(state): State<AppState>,
    _: Operator,
    Query(q): Query<AuditQuery>,
) -> Response {
    let too_long = [&q.decision, &q.user, &q.reason, &q.route]
        .iter()
        .any(|v| v.as_ref().is_some_and(|v| v.chars().count() > 200));
    if too_long {
        return bad_request("filters are at most 200 characters");
    }
    match state.reader.audit(&q).await {
        Ok(entries) => Json(entries).into_response(),
        Err(error) => unavailable("api/audit", &error),
    }
}

async fn metrics(State(state): State<AppState>, _: Operator) -> String {
    state.metrics.render()
}

/// The private metrics listener's router (no sign-in: keep it off the
/// network, e.g. on loopback for a local Prometheus).
pub fn metrics_router(handle: Arc<pmoc_telemetry::PrometheusHandle>) -> Router {
    Router::new().route(
        "/metrics",
        get(move || {
            let handle = handle.clone();
            async move { handle.render() }
        }),
    )
}
