//! The dashboard server: sign-in, JSON API, live push over Server-Sent
//! Events, the static WASM front end, the audit log and Prometheus metrics.
//!
//! `run` serves on a listener the caller bound, until the shutdown future
//! completes, so tests run it on port 0 in-process.

pub mod alerts;
pub mod area;
pub mod area_cache;
pub mod audit;
pub mod auth;
pub mod body;
pub mod cli;
pub mod export;
pub mod geo;
pub mod live;
pub mod marks;
pub mod push;
pub mod read;
pub mod routes;
pub mod series;
pub mod shared;
pub mod wall;

use std::{future::Future, path::PathBuf, sync::Arc, time::Duration};

use pmoc_schemas::{
    api::{WallSnapshot, WaterSnapshot},
    config::Settings,
    health::Health,
};
use pmoc_tls::Peer;
use tokio::{net::TcpListener, sync::watch};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    #[error(transparent)]
    Settings(#[from] pmoc_schemas::config::InvalidSetting),
    #[error("clickhouse")]
    Store(#[from] pmoc_store::StoreError),
    #[error("serving http")]
    Io(#[from] std::io::Error),
    #[error("sign-in settings")]
    Auth(#[from] auth::AuthError),
    #[error("tls")]
    Tls(#[from] pmoc_tls::TlsError),
}

/// How long an area nobody subscribes to stays cached (and refreshed)
/// after its last request: a page reloaded or a CSV exported a moment
/// later still costs no query.
const AREA_KEEP: Duration = Duration::from_secs(30);

/// Shared by every request.
#[derive(Clone)]
pub struct AppState {
    pub reader: read::Reader,
    pub snapshots: watch::Receiver<Arc<WaterSnapshot>>,
    /// Unrestricted; each connection cuts it to its caller's scope.
    pub wall: watch::Receiver<Arc<WallSnapshot>>,
    /// Whether data is flowing; the same for every role.
    pub health: watch::Receiver<Health>,
    /// The drill-down's reads, shared by every viewer of an area.
    pub areas: area_cache::AreaCache,
    /// The national district maps, shared by every viewer of one.
    pub district_maps: area_cache::DistrictMapCache,
    /// Pushes cut per scope, shared by the connections of each scope.
    pub cuts: Arc<push::Cuts>,
    pub metrics: pmoc_telemetry::PrometheusHandle,
    pub assets_dir: PathBuf,
    pub gate: auth::Gate,
}

/// Serves until `shutdown` resolves. The live poller stops with it.
///
/// With `[dashboard.tls]` set the listener speaks TLS. Sign-in settings are
/// checked against the listener's address first: beyond loopback the
/// server refuses to start unless sign-in is configured (and the
/// connection is encrypted, here or at a proxy).
///
/// Refuses to start on a database whose schema is not the version this
/// build expects ([`pmoc_store::SCHEMA_VERSION`]): better one clear error
/// now than a wrong column on some page later.
pub async fn run(
    listener: TcpListener,
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    settings.validate()?;
    let local = listener.local_addr()?;
    let listener = match settings.dashboard.tls.files() {
        Some((cert, key)) => {
            pmoc_tls::Listener::tls(listener, pmoc_tls::server_config(cert, key)?)?
        }
        None => pmoc_tls::Listener::plain(listener)?,
    };
    let auth = Arc::new(auth::Auth::build(&settings, local, listener.is_tls())?);
    if !auth.sign_in_configured() {
        tracing::warn!(
            "nobody can sign in: add an account with `pmoc-dashboard accounts add` or configure [auth.oidc]"
        );
    }
    let reader = read::Reader::new(&settings);
    let version = reader.store.check_schema().await?;
    tracing::info!(version, "clickhouse schema as expected");
    let (audit, audit_writer) = audit::AuditLog::start(&reader);
    let (tx, rx) = watch::channel(Arc::new(WaterSnapshot::default()));
    let (wall_tx, wall_rx) = watch::channel(Arc::new(WallSnapshot::default()));
    let (health_tx, health_rx) = watch::channel(Health::default());
    let (marks_tx, marks_rx) = watch::channel(marks::Marks::default());
    let (stop_tx, stop_rx) = watch::channel(false);
    let poller = tokio::spawn(live::poll(
        reader.clone(),
        live::Channels {
            water: tx,
            wall: wall_tx,
            health: health_tx,
            marks: marks_tx,
        },
        Duration::from_millis(settings.dashboard.refresh_ms),
        Duration::from_secs(u64::from(settings.dashboard.stall_after_seconds)),
        stop_rx.clone(),
    ));
    let refresh = Duration::from_millis(settings.dashboard.area_refresh_ms);
    let max_age = Duration::from_millis(settings.dashboard.area_max_age_ms);
    let keep = AREA_KEEP.max(refresh * 4);
    let areas = area_cache::AreaCache::new(reader.clone(), keep, marks_rx.clone());
    let district_maps = area_cache::DistrictMapCache::new(reader.clone(), keep, marks_rx.clone());
    let area_refresher = tokio::spawn(area_cache::run(
        (areas.clone(), district_maps.clone()),
        (refresh, max_age),
        marks_rx,
        stop_rx.clone(),
    ));
    let metrics = pmoc_telemetry::metrics_handle();
    let metrics_server = match settings.dashboard.metrics_listen.as_str() {
        "" => None,
        addr => {
            let bound = TcpListener::bind(addr).await?;
            tracing::info!(addr = %bound.local_addr()?, "metrics listening");
            let app = routes::metrics_router(Arc::new(metrics.clone()));
            let mut stop = stop_rx.clone();
            Some(tokio::spawn(async move {
                let _ = axum::serve(bound, app)
                    .with_graceful_shutdown(async move {
                        let _ = stop.changed().await;
                    })
                    .await;
            }))
        }
    };
    let state = AppState {
        reader,
        snapshots: rx,
        wall: wall_rx,
        health: health_rx,
        areas,
        district_maps,
        cuts: Arc::default(),
        metrics,
        assets_dir: PathBuf::from(&settings.dashboard.assets_dir),
        gate: auth::Gate { auth, audit },
    };
    tracing::info!(addr = %local, tls = listener.is_tls(), "dashboard listening");
    let app = routes::router(state, stop_rx);
    axum::serve(listener, app.into_make_service_with_connect_info::<Peer>())
        .with_graceful_shutdown(async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        })
        .await?;
    poller.abort();
    area_refresher.abort();
    if let Some(m) = metrics_server {
        m.abort();
    }
    // The router (and with it every audit sender) is gone: the writer
    // flushes what is queued and ends.
    let _ = tokio::time::timeout(Duration::from_secs(5), audit_writer).await;
    Ok(())
}
