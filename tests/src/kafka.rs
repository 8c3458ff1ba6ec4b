//! A private Kafka-protocol broker for one test: the stack's broker
//! (`nisshi`, or `tansu` with `PMOC_BROKER=tansu`, as in scripts/lib.sh)
//! with SQLite storage in the test's temporary folder.

use std::{path::Path, process::Command, time::Duration};

use crate::process::{ChildGuard, free_port, require_binary, wait_for};

#[derive(Debug)]
pub struct Broker {
    pub bootstrap: String,
    pub process: ChildGuard,
    state: std::path::PathBuf,
    port: u16,
    storage: String,
}

/// The storage URL: SQLite, resolved against the broker's working directory.
const STORAGE: &str = "sqlite://broker.db";

impl Broker {
    /// Starts the broker with its storage under `dir` and waits for its port.
    pub async fn start(dir: &Path) -> anyhow::Result<Self> {
        Self::start_with(dir, STORAGE.to_owned()).await
    }

    /// [`Self::start`] sweeping expired records (topics' `retention.ms`)
    /// every second instead of every ten minutes (nisshi's storage option).
    pub async fn start_sweeping(dir: &Path) -> anyhow::Result<Self> {
        Self::start_with(dir, format!("{STORAGE}?maintenance_interval=1s")).await
    }

    async fn start_with(dir: &Path, storage: String) -> anyhow::Result<Self> {
        let binary = binary();
        require_binary(
            &binary,
            "scripts/setup.sh (builds the broker into ~/.cache/pmoc/tools)",
        )?;
        let port = free_port()?;
        let state = dir.join("broker");
        std::fs::create_dir_all(&state)?;
        let process = spawn_and_wait(&binary, &state, port, &storage).await?;
        Ok(Self {
            bootstrap: format!("127.0.0.1:{port}"),
            process,
            state,
            port,
            storage,
        })
    }

    /// Kills the broker and starts it again on the same port and storage.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.process.kill();
        self.process = spawn_and_wait(&binary(), &self.state, self.port, &self.storage).await?;
        Ok(())
    }
}

/// The broker's binary: `PMOC_BROKER` (nisshi by default) in the tools cache.
fn binary() -> std::path::PathBuf {
    let name = std::env::var("PMOC_BROKER").unwrap_or_else(|_| "nisshi".to_owned());
    crate::cache_dir().join("tools/bin").join(name)
}

async fn spawn_and_wait(
    binary: &Path,
    state: &Path,
    port: u16,
    storage: &str,
) -> anyhow::Result<ChildGuard> {
    let listener = format!("tcp://127.0.0.1:{port}");
    let mut command = Command::new(binary);
    // Its own log level, not the test's RUST_LOG: a broker at debug writes
    // gigabytes in a burst test. PMOC_BROKER_LOG raises it when needed.
    command.env(
        "RUST_LOG",
        std::env::var("PMOC_BROKER_LOG").unwrap_or_else(|_| "warn".to_owned()),
    );
    command.current_dir(state).args([
        "broker",
        "--cluster-id",
        "pmoc-test",
        "--listener-url",
        &listener,
        "--advertised-listener-url",
        &listener,
        "--storage-engine",
        storage,
    ]);
    let mut process = ChildGuard::spawn("broker", command, &state.join("broker.log"))?;
    let addr = format!("127.0.0.1:{port}");
    wait_for("broker port", Duration::from_secs(60), || {
        let ready = process.check_running();
        let connect = tokio::net::TcpStream::connect(addr.clone());
        async move {
            ready?;
            Ok(connect.await.ok().map(|_| ()))
        }
    })
    .await?;
    Ok(process)
}
