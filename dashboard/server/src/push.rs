//! The push channels (Server-Sent Events).
//!
//! `/api/stream`: the wall and the water overview, cut per connection to
//! the caller's scope, then sent as what changed since the connection's
//! last push (`pmoc_schemas::delta`): a full `wall`/`water` event first,
//! then `wall-delta`/`water-delta` events numbered from 1; a full event
//! again whenever the change is not much smaller than the snapshot. Cut
//! and encoded once per refresh per distinct scope ([`Cuts`]), so a
//! hundred wall screens of one role cost one cut and a hundred diffs.
//!
//! A connection is never silently behind: its stream is fed from watch
//! channels, so a client that reads slowly skips the refreshes it missed
//! and is sent the difference between what it holds and the newest state
//! (or that state whole), never a delta against a state it did not get.
//!
//! `/api/area/{level}/{code}/stream`: one drill-down, from the shared
//! area cache (`area_cache`).

use std::{
    collections::HashMap,
    convert::Infallible,
    hash::{DefaultHasher, Hash, Hasher},
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    extract::{Path, Query, State},
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
};
use futures::Stream;
use pmoc_schemas::{
    committee::Committee,
    delta::{Encoded, Push, Sent},
};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::{
    AppState,
    auth::{Person, Principal, Reason, Refusal, scope::Access},
    body::Body,
    routes::{AreaQuery, area_key, bad_request, committee_of, unavailable},
};

#[derive(Debug, Deserialize)]
pub struct StreamQuery {
    /// Only this committee's part (it must be one the caller sees in full).
    committee: Option<String>,
}

/// One encoded cut per scope: the snapshot it was cut from (kept, so the
/// pointer comparison cannot mistake a new snapshot at a reused address)
/// and the result.
type CutMap<S> = Mutex<HashMap<String, (Arc<S>, Arc<Encoded>)>>;

/// Snapshots cut to a scope and encoded, shared by every connection of that
/// scope until the next refresh. Scopes are few (roles × committee
/// filters), so the maps stay small.
#[derive(Default)]
pub struct Cuts {
    wall: CutMap<pmoc_schemas::api::WallSnapshot>,
    water: CutMap<pmoc_schemas::api::WaterSnapshot>,
    /// `/api/wall`'s answers: a scope's wall cut as sent whole, gzipped
    /// beside it, with the cut it was made from.
    wall_bodies: Mutex<HashMap<String, (Arc<Encoded>, Body)>>,
}

impl std::fmt::Debug for Cuts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cuts")
    }
}

fn cut<S, T: Serialize>(
    map: &CutMap<S>,
    scope: &str,
    snapshot: &Arc<S>,
    make: impl FnOnce(&S) -> T,
) -> Option<Arc<Encoded>> {
    let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((from, encoded)) = map.get(scope)
        && Arc::ptr_eq(from, snapshot)
    {
        return Some(encoded.clone());
    }
    match Encoded::new(&make(snapshot)) {
        Ok(encoded) => {
            let encoded = Arc::new(encoded);
            map.insert(scope.to_owned(), (snapshot.clone(), encoded.clone()));
            Some(encoded)
        }
        Err(error) => {
            tracing::warn!(%error, "encoding a push failed");
            None
        }
    }
}

/// The scope key of a connection or request: everything the cut depends on.
fn scope_of(access: &Access, only: Option<Committee>) -> String {
    format!("{access:?}|{only:?}")
}

/// `/api/wall`'s answer for `access`: the same cut of `snapshot` the
/// stream sends that scope (shared with its connections), kept encoded and
/// gzipped until the next snapshot, so a request costs a reference count.
pub(crate) fn wall_body(
    cuts: &Cuts,
    access: &Access,
    snapshot: &Arc<pmoc_schemas::api::WallSnapshot>,
) -> Option<Body> {
    let scope = scope_of(access, None);
    let encoded = cut(&cuts.wall, &scope, snapshot, |s| access.restrict(s))?;
    let mut bodies = cuts.wall_bodies.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((from, body)) = bodies.get(&scope)
        && Arc::ptr_eq(from, &encoded)
    {
        return Some(body.clone());
    }
    let mut hash = DefaultHasher::new();
    scope.hash(&mut hash);
    let etag = format!("\"w{}-{:x}\"", snapshot.generated_at_ms, hash.finish());
    match Body::new(encoded.json.clone().into_bytes(), etag) {
        Ok(body) => {
            bodies.insert(scope, (encoded, body.clone()));
            Some(body)
        }
        Err(error) => {
            tracing::warn!(%error, "compressing the wall failed");
            None
        }
    }
}

/// The SSE event for a push, its size counted.
fn event(kind: &'static str, delta_kind: &'static str, push: Push) -> Event {
    let (name, data) = match push {
        Push::Full(data) => (kind, data),
        Push::Delta(data) => (delta_kind, data),
    };
    metrics::counter!("pmoc_dashboard_push_bytes_total", "event" => name)
        .increment(data.len() as u64);
    metrics::counter!("pmoc_dashboard_pushes_total", "event" => name).increment(1);
    Event::default().event(name).data(data)
}

/// Pushes every new snapshot, cut for this connection's caller: `water`
/// (people who see water) and `wall`; the current ones first, then what
/// changed (see the module's documentation).
pub(crate) async fn stream(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<StreamQuery>,
    mut stop: watch::Receiver<bool>,
) -> Response {
    let only = match committee_of(q.committee.as_deref()) {
        Ok(c) => c,
        Err(e) => return bad_request(e),
    };
    if only.is_some_and(|c| !p.access.sees(c)) {
        return Refusal::new(Reason::OutOfScope).into_response();
    }
    let access = p.access.clone();
    let mut rx = state.snapshots.clone();
    let mut wall_rx = state.wall.clone();
    let mut health_rx = state.health.clone();
    let cuts = state.cuts.clone();
    let sees_water = !p.is_kiosk()
        && access.sees(Committee::Water)
        && only.is_none_or(|c| c == Committee::Water);
    // Everything the cut depends on: the same scope, the same cut.
    let scope = scope_of(&access, only);
    let events = async_stream::stream! {
        let (mut water_changed, mut wall_changed, mut health_changed) = (true, true, true);
        let (mut water_sent, mut wall_sent) = (Sent::default(), Sent::default());
        loop {
            if water_changed && sees_water {
                let snapshot = rx.borrow_and_update().clone();
                if !snapshot.provinces.is_empty()
                    && let Some(encoded) = cut(&cuts.water, &scope, &snapshot, |s| access.water(s))
                    && let Ok(Some(push)) = water_sent.push(encoded)
                {
                    yield Ok::<_, Infallible>(event("water", "water-delta", push));
                }
            }
            if wall_changed {
                let snapshot = wall_rx.borrow_and_update().clone();
                if snapshot.generated_at_ms > 0
                    && let Some(encoded) = cut(&cuts.wall, &scope, &snapshot, |s| {
                        let mut cut = access.restrict(s);
                        if let Some(c) = only {
                            cut.panels.retain(|p| p.committee == c.as_str());
                            cut.alerts.retain(|a| a.event.committee == c);
                            cut.freshness.retain(|f| f.committee == c.as_str());
                            cut.rejects.retain(|r| r.committee == c.as_str());
                        }
                        cut
                    })
                    && let Ok(Some(push)) = wall_sent.push(encoded)
                {
                    yield Ok(event("wall", "wall-delta", push));
                }
            }
            if health_changed {
                let health = *health_rx.borrow_and_update();
                if health.server_now_ms > 0
                    && let Ok(event) = Event::default().event("health").json_data(health)
                {
                    yield Ok(event);
                }
            }
            (water_changed, wall_changed, health_changed) = (false, false, false);
            tokio::select! {
                changed = health_rx.changed() => match changed {
                    Ok(()) => health_changed = true,
                    Err(_) => break,
                },
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

/// The drill-down's push: the area's detail now, then again each time its
/// figures change (`area` events, with the version as the event id), cut
/// to the caller like `GET /api/area/...`. The page subscribes to the area
/// it shows instead of refetching on every wall push; while it does, the
/// area is read once per refresh for all its viewers.
pub(crate) async fn area(
    State(state): State<AppState>,
    Person(p): Person,
    Path((level, code)): Path<(String, String)>,
    Query(q): Query<AreaQuery>,
    mut stop: watch::Receiver<bool>,
) -> Response {
    let key = match area_key(&p, &level, &code, &q) {
        Ok(key) => key,
        Err(refused) => return refused,
    };
    let mut rx = match state.areas.subscribe(&key).await {
        Ok(rx) => rx,
        Err(error) => return unavailable("api/area stream", &error),
    };
    let access = p.access.clone();
    let events = async_stream::stream! {
        loop {
            let current = rx.borrow_and_update().clone();
            if let Some(v) = current
                && let Ok(event) = Event::default()
                    .event("area")
                    .id(v.version.to_string())
                    .json_data(access.area((*v.value).clone()))
            {
                yield Ok::<_, Infallible>(event);
            }
            tokio::select! {
                changed = rx.changed() => if changed.is_err() { break },
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

#[cfg(test)]
mod tests {
    use pmoc_schemas::{
        api::WallSnapshot,
        auth::{RoleKind, RoleSettings},
        committee::security::Classification,
    };

    use super::*;

    fn access(name: &str, kind: RoleKind) -> Access {
        let role = RoleSettings {
            committees: vec![Committee::Water],
            ..RoleSettings::new(kind, Classification::Restricted)
        };
        Access::from_settings(name, &role).expect("a valid role")
    }

    #[test]
    fn the_wall_is_encoded_once_per_snapshot_and_scope() {
        let cuts = Cuts::default();
        let (executive, liaison) = (
            access("executive", RoleKind::Executive),
            access("liaison", RoleKind::Liaison),
        );
        let first = Arc::new(WallSnapshot {
            generated_at_ms: 1_000,
            ..WallSnapshot::default()
        });
        let a = wall_body(&cuts, &executive, &first).expect("encodes");
        let again = wall_body(&cuts, &executive, &first).expect("encodes");
        assert_eq!(again.json.as_ptr(), a.json.as_ptr(), "the same bytes");
        assert_eq!(again.gzip.as_ptr(), a.gzip.as_ptr(), "gzipped once");
        let other = wall_body(&cuts, &liaison, &first).expect("encodes");
        assert_ne!(other.etag, a.etag, "another scope, another tag");

        let next = Arc::new(WallSnapshot {
            generated_at_ms: 1_500,
            ..WallSnapshot::default()
        });
        let b = wall_body(&cuts, &executive, &next).expect("encodes");
        assert_ne!(b.etag, a.etag, "a new snapshot, a new tag");
        let decoded: WallSnapshot = serde_json::from_slice(&b.json).expect("a wall");
        assert_eq!(decoded.generated_at_ms, 1_500);
    }
}
