//! The harness cleans up after a failing test too.

use std::{process::Command, time::Duration};

use pmoc_tests::{browser::Browser, process::wait_for};

/// Processes whose command line mentions `needle`.
fn running(needle: &str) -> anyhow::Result<usize> {
    let out = Command::new("pgrep").args(["-f", needle]).output()?;
    Ok(String::from_utf8_lossy(&out.stdout).lines().count())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_dropped_without_close_leaves_no_chromium() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let browser = Browser::start(dir.path(), 800, 600).await?;
    let profile = dir
        .path()
        .join("chrome-profile")
        .to_string_lossy()
        .into_owned();
    assert!(
        running(&profile)? > 0,
        "chromium runs with the test's profile"
    );
    drop(browser); // as when a test fails before close()
    wait_for("chromium to exit", Duration::from_secs(10), || {
        let left = running(&profile);
        async move { Ok((left? == 0).then_some(())) }
    })
    .await
}
