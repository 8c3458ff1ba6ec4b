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
    /// chromedriver's URL, for the Chrome-only commands fantoccini lacks.
    driver_url: String,
    _driver: ChildGuard,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium whose page gets exactly
    /// `width` x `height` CSS pixels, with a fresh profile under `dir`.
    ///
    /// Sizing the window is not enough: the page gets the window less the
    /// browser's own frame (1920x1080 gave 1920x937), so the tests would
    /// judge a wall screen that exists nowhere. The viewport itself is set
    /// through DevTools (`Emulation.setDeviceMetricsOverride`), and checked.
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
                    // Taller than the page: the browser's frame takes its
                    // share, and the emulated viewport must fit the window
                    // for clicks to land where the page has its elements.
                    format!("--window-size={width},{}", height + 240),
                ]
            }),
        );
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&url)
            .await?;
        let browser = Self {
            client,
            driver_url: url,
            _driver: driver,
        };
        browser.set_viewport(width, height).await?;
        Ok(browser)
    }

    /// Gives the page exactly `width` x `height` CSS pixels at a device pixel
    /// ratio of 1, as a wall screen's kiosk browser has.
    pub async fn set_viewport(&self, width: u32, height: u32) -> anyhow::Result<()> {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": false }),
        )
        .await?;
        let (w, h) = self.viewport().await?;
        anyhow::ensure!(
            (w, h) == (width, height),
            "asked for a {width}x{height} viewport, the page has {w}x{h}"
        );
        Ok(())
    }

    /// The page's `window.innerWidth` x `window.innerHeight`.
    pub async fn viewport(&self) -> anyhow::Result<(u32, u32)> {
        let v = self
            .client
            .execute("return [window.innerWidth, window.innerHeight];", vec![])
            .await?;
        Ok(serde_json::from_value(v)?)
    }

    /// Runs a Chrome DevTools Protocol command through chromedriver
    /// (`goog/cdp/execute`), which the W3C protocol has no command for.
    pub async fn cdp(
        &self,
        command: &str,
        params: serde_json::Value,
    ) -> anyhow::Result<serde_json::Value> {
        let session = self
            .client
            .session_id()
            .await?
            .ok_or_else(|| anyhow::anyhow!("no WebDriver session"))?;
        let response = reqwest::Client::new()
            .post(format!(
                "{}/session/{session}/goog/cdp/execute",
                self.driver_url
            ))
            .json(&json!({ "cmd": command, "params": params }))
            .send()
            .await?;
        let status = response.status();
        let body: serde_json::Value = response.json().await?;
        anyhow::ensure!(status.is_success(), "{command}: {status} {body}");
        Ok(body["value"].clone())
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
