//! Headless Chromium driven through Debian's chromedriver.

use std::{path::Path, process::Command, time::Duration};

use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

use crate::process::{ChildGuard, free_port, require_binary, wait_http_ok};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

#[derive(Debug)]
pub struct Browser {
    pub client: Client,
    _driver: ChildGuard,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium of `width` x `height`,
    /// with a fresh profile under `dir`.
    pub async fn start(dir: &Path, width: u32, height: u32) -> anyhow::Result<Self> {
        require_binary(
            Path::new(CHROMEDRIVER),
            "scripts/setup.sh (apt-get install chromium chromium-driver)",
        )?;
        let port = free_port()?;
        let mut command = Command::new(CHROMEDRIVER);
        command.arg(format!("--port={port}"));
        let mut driver = ChildGuard::spawn("chromedriver", command, &dir.join("chromedriver.log"))?;
        let url = format!("http://127.0.0.1:{port}");
        wait_http_ok(
            "chromedriver",
            &mut driver,
            &format!("{url}/status"),
            Duration::from_secs(30),
        )
        .await?;

        let profile = dir.join("chrome-profile");
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".to_owned(),
            json!({
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--disable-component-update",
                    "--no-first-run", "--disable-dev-shm-usage", "--hide-scrollbars",
                    format!("--user-data-dir={}", profile.display()),
                    format!("--window-size={width},{height}"),
                ]
            }),
        );
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&url)
            .await?;
        Ok(Self {
            client,
            _driver: driver,
        })
    }

    /// Saves a screenshot under the test-artifacts folder; returns its path.
    pub async fn screenshot(&self, name: &str) -> anyhow::Result<std::path::PathBuf> {
        let dir = artifacts_dir();
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, self.client.screenshot().await?)?;
        Ok(path)
    }

    pub async fn close(self) -> anyhow::Result<()> {
        self.client.close().await?;
        Ok(())
    }
}

/// Where tests leave screenshots: `$PMOC_ARTIFACTS` or the cache's target.
pub fn artifacts_dir() -> std::path::PathBuf {
    std::env::var_os("PMOC_ARTIFACTS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| crate::cache_dir().join("test-artifacts"))
}
