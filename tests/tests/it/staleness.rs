//! Honest staleness: with the simulators feeding the whole stack, the wall
//! says "live"; once the broker is stopped it says, within 30 s, that data
//! stopped flowing and since when, and marks the figures whose sources are
//! overdue as stale; when the broker returns it says "live" again.

use std::time::{Duration, Instant};

use fantoccini::Locator;
use pmoc_ingest::kafka::ensure_topics;
use pmoc_tests::{
    auth, browser::Browser, clickhouse::ClickHouse, dist_dir, init_tracing, kafka::Broker,
    process::wait_for,
};

use crate::support;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_wall_says_when_data_stops_flowing_and_when_it_flows_again() -> anyhow::Result<()> {
    init_tracing();
    let dir = tempfile::tempdir()?;
    let mut broker = Broker::start(dir.path()).await?;
    let clickhouse = ClickHouse::start(dir.path()).await?;
    let mut settings = support::settings(&broker, &clickhouse, "it_staleness");
    settings.dashboard.refresh_ms = 250;
    settings.dashboard.stall_after_seconds = 8;
    settings.dashboard.assets_dir = dist_dir()?.to_string_lossy().into_owned();
    // The simulated feeds' cadences, as the local stack judges them.
    let local = pmoc_tests::repo_root().join("config/local.toml");
    settings.sources = pmoc_schemas::config::Settings::load(Some(&local))?.sources;
    auth::stores_in(&mut settings, dir.path());
    let kiosk = auth::enrol_kiosk(&settings, "ops-wall", "executive")?;
    ensure_topics(&settings.kafka).await?;
    pmoc_store::migrate(&settings.clickhouse).await?;

    let mut pipeline = support::pipeline(&settings, 30, &dir.path().join("pipeline.log"), &[])?;
    let (stop_sim, sim_stopped) = tokio::sync::watch::channel(false);
    let simulators = tokio::spawn(support::simulate(settings.clone(), sim_stopped));

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop_server, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(pmoc_server::run(listener, settings.clone(), async {
        let _ = stopped.await;
    }));
    let browser = Browser::start(dir.path(), 1920, 1080).await?;
    // A wall screen: enrolled with its kiosk token, then pinned to water.
    browser
        .client
        .goto(&format!("http://{addr}/kiosk?token={kiosk}"))
        .await?;
    browser
        .client
        .goto(&format!("http://{addr}/wall?lang=en&focus=water"))
        .await?;

    let outcome = async {
        wait_state(&browser, "live", Duration::from_secs(90)).await?;
        // Figures on the wall before the stall: the water panel fills.
        wait_for("water figures", Duration::from_secs(60), || async {
            Ok((stale_tiles(&browser).await?.1 > 0).then_some(()))
        })
        .await?;
        let (stale, _) = stale_tiles(&browser).await?;
        anyhow::ensure!(stale == 0, "{stale} tiles stale while data flows");

        broker.process.kill();
        let stopped_at = Instant::now();
        let text = wait_state(&browser, "stalled", Duration::from_secs(30)).await?;
        tracing::info!(after = ?stopped_at.elapsed(), %text, "the wall says stalled");
        anyhow::ensure!(text.starts_with("Stalled since "), "badge says {text:?}");
        wait_for(
            "overdue figures marked stale",
            Duration::from_secs(30),
            || async { Ok((stale_tiles(&browser).await?.0 > 0).then_some(())) },
        )
        .await?;
        let shot = browser.screenshot("staleness_stalled_1920x1080").await?;
        tracing::info!(path = %shot.display(), "screenshot saved");

        broker.restart().await?;
        wait_state(&browser, "live", Duration::from_secs(90)).await?;
        wait_for("fresh figures again", Duration::from_secs(60), || async {
            Ok((stale_tiles(&browser).await?.0 == 0).then_some(()))
        })
        .await?;
        pipeline.check_running()?;
        anyhow::Ok(())
    }
    .await;
    if outcome.is_err() {
        let _ = browser.screenshot("staleness_failure").await;
    }
    stop_sim.send(true)?;
    browser.close().await?;
    let _ = stop_server.send(());
    server.await??;
    outcome?;
    // The simulators waited out the outage and stopped when told.
    tokio::time::timeout(Duration::from_secs(30), simulators).await???;
    Ok(())
}

/// Waits until the badge's `data-state` is `state`; returns its text.
async fn wait_state(browser: &Browser, state: &str, within: Duration) -> anyhow::Result<String> {
    wait_for(&format!("the badge to say {state}"), within, || async {
        let badge = browser.client.find(Locator::Id("connection")).await?;
        let now = badge.attr("data-state").await?.unwrap_or_default();
        Ok(if now == state {
            Some(badge.text().await?)
        } else {
            None
        })
    })
    .await
}

/// (stale, all) headline tiles on the wall.
async fn stale_tiles(browser: &Browser) -> anyhow::Result<(usize, usize)> {
    let tiles = browser
        .client
        .find_all(Locator::Css("#wall .tile-m[data-metric]"))
        .await?;
    let mut stale = 0;
    for t in &tiles {
        if t.attr("data-stale").await?.as_deref() == Some("true") {
            stale += 1;
        }
    }
    Ok((stale, tiles.len()))
}
