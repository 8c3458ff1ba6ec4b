//! HTTP routes.

use std::{convert::Infallible, time::Duration};

use axum::{
    Json, Router,
    extract::State,
    http::StatusCode,
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
    routing::get,
};
use futures::Stream;
use tokio::sync::watch;
use tower_http::services::{ServeDir, ServeFile};

use crate::{AppState, live::now_ms};

pub fn router(state: AppState, stop: watch::Receiver<bool>) -> Router {
    let index = state.assets_dir.join("index.html");
    let assets = ServeDir::new(&state.assets_dir).fallback(ServeFile::new(index));
    Router::new()
        .route("/api/water", get(water))
        .route(
            "/api/stream",
            get(move |s: State<AppState>| stream(s, stop.clone())),
        )
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok" }))
        .fallback_service(assets)
        .with_state(state)
}

/// The current water snapshot, read fresh from ClickHouse.
async fn water(State(state): State<AppState>) -> Response {
    match state.reader.water_snapshot(now_ms()).await {
        Ok(snapshot) => Json(snapshot).into_response(),
        Err(error) => {
            tracing::warn!(error = %pmoc_schemas::error::chain(&error), "api/water failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "ClickHouse is not reachable; try again shortly",
            )
                .into_response()
        }
    }
}

/// Pushes every new snapshot as a `water` event; the current one first.
async fn stream(
    State(state): State<AppState>,
    mut stop: watch::Receiver<bool>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let mut rx = state.snapshots.clone();
    let events = async_stream::stream! {
        loop {
            let snapshot = rx.borrow_and_update().clone();
            if !snapshot.provinces.is_empty()
                && let Ok(event) = Event::default().event("water").json_data(&*snapshot)
            {
                yield Ok(event);
            }
            tokio::select! {
                changed = rx.changed() => if changed.is_err() { break },
                _ = stop.changed() => break,
            }
        }
    };
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(10)))
}

async fn metrics(State(state): State<AppState>) -> String {
    state.metrics.render()
}
