//! A private ClickHouse server for one test.

use std::{path::Path, process::Command, time::Duration};

use crate::process::{ChildGuard, free_port, require_binary, wait_http_ok};

const SERVER: &str = "/usr/sbin/clickhouse-server";

#[derive(Debug)]
pub struct ClickHouse {
    pub url: String,
    pub process: ChildGuard,
    state: std::path::PathBuf,
}

impl ClickHouse {
    /// Starts ClickHouse with its data under `dir` and waits for `/ping`.
    pub async fn start(dir: &Path) -> anyhow::Result<Self> {
        require_binary(
            Path::new(SERVER),
            "scripts/setup.sh (apt-get install clickhouse-server)",
        )?;
        let (http, tcp) = (free_port()?, free_port()?);
        let state = dir.join("clickhouse");
        std::fs::create_dir_all(&state)?;
        let template =
            std::fs::read_to_string(crate::repo_root().join("config/clickhouse/config.xml.in"))?;
        let config = template
            .replace("@STATE@", &state.to_string_lossy())
            .replace("@HTTP_PORT@", &http.to_string())
            .replace("@TCP_PORT@", &tcp.to_string());
        std::fs::write(state.join("config.xml"), config)?;
        std::fs::copy(
            crate::repo_root().join("config/clickhouse/users.xml"),
            state.join("users.xml"),
        )?;
        let url = format!("http://127.0.0.1:{http}");
        let process = spawn_and_wait(&state, &url).await?;
        Ok(Self {
            url,
            process,
            state,
        })
    }

    /// Kills the server, for outage tests; its data stays.
    pub fn stop(&mut self) {
        self.process.kill();
    }

    /// Starts the server again on the same ports and data.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.process = spawn_and_wait(&self.state, &self.url).await?;
        Ok(())
    }
}

async fn spawn_and_wait(state: &Path, url: &str) -> anyhow::Result<ChildGuard> {
    let mut command = Command::new(SERVER);
    command.arg(format!(
        "--config-file={}",
        state.join("config.xml").display()
    ));
    let mut process = ChildGuard::spawn("clickhouse-server", command, &state.join("stdout.log"))?;
    wait_http_ok(
        "clickhouse /ping",
        &mut process,
        &format!("{url}/ping"),
        Duration::from_secs(60),
    )
    .await?;
    Ok(process)
}
