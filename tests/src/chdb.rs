//! A current ClickHouse (26.x, embedded by chDB) behind a small HTTP front
//! (`tests/chdb/server.py`), so PMOC's own code runs against it unchanged.

use std::{path::Path, process::Command, time::Duration};

use crate::process::{ChildGuard, free_port, require_binary, wait_http_ok};

/// chDB's version, pinned: scripts/setup.sh installs exactly this one.
pub const CHDB_VERSION: &str = "26.9.0";

#[derive(Debug)]
pub struct Chdb {
    pub url: String,
    pub process: ChildGuard,
}

impl Chdb {
    /// Starts the front with its data under `dir` and waits for `/ping`.
    pub async fn start(dir: &Path) -> anyhow::Result<Self> {
        let python = crate::cache_dir().join("chdb/bin/python");
        require_binary(
            &python,
            &format!("scripts/setup.sh (pip installs chdb-core=={CHDB_VERSION} into a venv there)"),
        )?;
        let state = dir.join("chdb");
        std::fs::create_dir_all(&state)?;
        let port = free_port()?;
        let mut command = Command::new(python);
        command
            .arg(crate::repo_root().join("tests/chdb/server.py"))
            .arg("--path")
            .arg(state.join("data"))
            .args(["--port", &port.to_string()]);
        let mut process = ChildGuard::spawn("chdb-http", command, &state.join("server.log"))?;
        let url = format!("http://127.0.0.1:{port}");
        wait_http_ok(
            "chdb /ping",
            &mut process,
            &format!("{url}/ping"),
            Duration::from_secs(60),
        )
        .await?;
        Ok(Self { url, process })
    }
}
