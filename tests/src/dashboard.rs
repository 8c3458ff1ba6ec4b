//! The dashboard server in-process on a free port, with an operator signed
//! in over HTTP: for tests that read what the pipeline wrote through the
//! dashboard's API, as a screen would.

use std::path::Path;

use pmoc_schemas::config::Settings;
use serde::de::DeserializeOwned;
use tokio::{sync::oneshot, task::JoinHandle};

use crate::auth::{self, Session};

/// A dashboard server running in-process until stopped (aborted if it is
/// dropped without being stopped: a failing test).
pub struct Running {
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<Result<(), pmoc_server::ServerError>>>,
}

impl Running {
    pub fn spawn(listener: tokio::net::TcpListener, settings: Settings) -> Self {
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(pmoc_server::run(listener, settings, async {
            let _ = stopped.await;
        }));
        Self {
            stop: Some(stop),
            server: Some(server),
        }
    }

    /// Stops the server and returns how it ended.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.await??;
        }
        Ok(())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

/// A running dashboard and an operator's session on it.
pub struct Dashboard {
    pub base: String,
    pub session: Session,
    running: Running,
}

impl Dashboard {
    /// Serves `settings` (its account and kiosk files and a placeholder
    /// front end put under `dir`) with the operator `duty.officer` signed in.
    pub async fn start(mut settings: Settings, dir: &Path) -> anyhow::Result<Self> {
        let assets = dir.join("dist");
        std::fs::create_dir_all(&assets)?;
        std::fs::write(
            assets.join("index.html"),
            "<!DOCTYPE html><title>app</title>",
        )?;
        settings.dashboard.assets_dir = assets.to_string_lossy().into_owned();
        auth::stores_in(&mut settings, dir);
        auth::add_account(&settings, "duty.officer", "operator")?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let running = Running::spawn(listener, settings);
        let session = auth::sign_in(&base, "duty.officer").await?;
        Ok(Self {
            base,
            session,
            running,
        })
    }

    /// `GET path` as the operator; fails on any status but 200.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        let response = self
            .session
            .get(&format!("{}{path}", self.base))
            .send()
            .await?;
        let status = response.status();
        anyhow::ensure!(
            status.is_success(),
            "GET {path}: {status} {}",
            response.text().await.unwrap_or_default()
        );
        Ok(response.json().await?)
    }

    /// Stops the server and returns how it ended.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.running.stop().await
    }
}
