//! The dashboard server: JSON API, live push over Server-Sent Events, the
//! static WASM front end, and Prometheus metrics.
//!
//! `build` prepares the state; `run` serves on a listener the caller bound,
//! until the shutdown future completes, so tests run it on port 0 in-process.

pub mod alerts;
pub mod area;
pub mod geo;
pub mod live;
pub mod read;
pub mod role;
pub mod routes;
pub mod series;
pub mod wall;

use std::{future::Future, path::PathBuf, sync::Arc, time::Duration};

use pmoc_schemas::{
    api::{WallSnapshot, WaterSnapshot},
    config::Settings,
};
use tokio::{net::TcpListener, sync::watch};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    #[error("clickhouse")]
    Store(#[from] pmoc_store::StoreError),
    #[error("serving http")]
    Io(#[from] std::io::Error),
}

/// Shared by every request.
#[derive(Clone)]
pub struct AppState {
    pub reader: read::Reader,
    pub snapshots: watch::Receiver<Arc<WaterSnapshot>>,
    /// Unrestricted; each connection filters it by role.
    pub wall: watch::Receiver<Arc<WallSnapshot>>,
    pub metrics: pmoc_telemetry::PrometheusHandle,
    pub assets_dir: PathBuf,
}

/// Serves until `shutdown` resolves. The live poller stops with it.
///
/// Refuses to start on a database whose schema is not the version this
/// build expects ([`pmoc_store::SCHEMA_VERSION`]): better one clear error
/// now than a wrong column on some page later.
pub async fn run(
    listener: TcpListener,
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let reader = read::Reader::new(&settings);
    let version = reader.store.check_schema().await?;
    tracing::info!(version, "clickhouse schema as expected");
    let (tx, rx) = watch::channel(Arc::new(WaterSnapshot::default()));
    let (wall_tx, wall_rx) = watch::channel(Arc::new(WallSnapshot::default()));
    let (stop_tx, stop_rx) = watch::channel(false);
    let poller = tokio::spawn(live::poll(
        reader.clone(),
        tx,
        wall_tx,
        Duration::from_millis(settings.dashboard.refresh_ms),
        stop_rx.clone(),
    ));
    let state = AppState {
        reader,
        snapshots: rx,
        wall: wall_rx,
        metrics: pmoc_telemetry::metrics_handle(),
        assets_dir: PathBuf::from(&settings.dashboard.assets_dir),
    };
    tracing::info!(addr = %listener.local_addr()?, "dashboard listening");
    let app = routes::router(state, stop_rx);
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        })
        .await?;
    poller.abort();
    Ok(())
}
