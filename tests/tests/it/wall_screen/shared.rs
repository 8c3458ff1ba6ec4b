//! Viewers of one area share its reads: the dashboard reads an area once
//! per refresh for everyone asking for it or subscribed to it, and pushes
//! its changes to every subscriber. The dashboard runs as its own process
//! here, so its `/metrics` counts its reads alone (the in-process servers
//! of other tests share this process's recorder).

use std::time::Duration;

use anyhow::Context;
use pmoc_schemas::{api::AreaDetail, config::Settings};
use pmoc_tests::{
    auth::{self, Session, add_account, http, sign_in},
    clickhouse::ClickHouse,
    init_tracing,
    process::{ChildGuard, free_port, wait_for},
    seed::{self, Window},
    unique_name, workspace_binary,
};

use super::data::{HOUR, seed_all};

const AREA: &str = "/api/area/province/34?committee=water&range=1d";

async fn get(session: &Session, url: &str) -> anyhow::Result<reqwest::Response> {
    Ok(http()
        .get(url)
        .header(reqwest::header::COOKIE, &session.cookie)
        .send()
        .await?
        .error_for_status()?)
}

/// A counter of the dashboard's `/metrics` (0 before its first increment).
async fn counter(base: &str, session: &Session, name: &str) -> anyhow::Result<f64> {
    let text = get(session, &format!("{base}/metrics"))
        .await?
        .text()
        .await?;
    Ok(text
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or(0.0))
}

/// The next `area` event of a drill-down stream.
async fn next_area(
    response: &mut reqwest::Response,
    buffer: &mut String,
) -> anyhow::Result<AreaDetail> {
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            while let Some(end) = buffer.find("\n\n") {
                let block: String = buffer.drain(..end + 2).collect();
                let event = block.lines().find_map(|l| l.strip_prefix("event: "));
                let data = block.lines().find_map(|l| l.strip_prefix("data: "));
                if let (Some("area"), Some(data)) = (event, data) {
                    return Ok(serde_json::from_str(data)?);
                }
            }
            let chunk = response.chunk().await?.context("the stream ended")?;
            buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    })
    .await
    .context("no area event within 20 s")?
}

fn headline(detail: &AreaDetail, metric: &str) -> Option<f64> {
    detail
        .series
        .iter()
        .find(|s| s.metric == metric)?
        .latest()?
        .value
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_viewers_of_one_area_cost_one_query_per_refresh_and_get_its_changes_pushed()
-> anyhow::Result<()> {
    init_tracing();
    let dir = tempfile::tempdir()?;
    let clickhouse = ClickHouse::start(dir.path()).await?;
    let mut settings = Settings::default();
    settings.clickhouse.url = clickhouse.url.clone();
    settings.clickhouse.database = unique_name("shared_area");
    auth::stores_in(&mut settings, dir.path());
    add_account(&settings, "somchai", "operator")?;
    add_account(&settings, "malee", "operator")?;
    pmoc_store::migrate(&settings.clickhouse).await?;
    let client = pmoc_store::client(&settings.clickhouse);
    let seeded_at = pmoc_pipeline::clock::now_ms();
    seed_all(&client, &settings, seeded_at).await?;

    let port = free_port()?;
    let mut command = std::process::Command::new(workspace_binary("pmoc-dashboard")?);
    command.envs([
        ("PMOC_CLICKHOUSE__URL", settings.clickhouse.url.clone()),
        (
            "PMOC_CLICKHOUSE__DATABASE",
            settings.clickhouse.database.clone(),
        ),
        ("PMOC_DASHBOARD__LISTEN", format!("127.0.0.1:{port}")),
        ("PMOC_DASHBOARD__REFRESH_MS", "200".to_owned()),
        ("PMOC_DASHBOARD__AREA_REFRESH_MS", "200".to_owned()),
        (
            "PMOC_AUTH__ACCOUNTS_FILE",
            settings.auth.accounts_file.clone(),
        ),
        ("PMOC_AUTH__KIOSKS_FILE", settings.auth.kiosks_file.clone()),
        ("PMOC_LOG", "info".to_owned()),
    ]);
    let _dashboard =
        ChildGuard::spawn("pmoc-dashboard", command, &dir.path().join("dashboard.log"))?;
    let base = format!("http://127.0.0.1:{port}");
    wait_for("the dashboard", Duration::from_secs(30), || async {
        Ok(reqwest::get(format!("{base}/healthz"))
            .await
            .is_ok_and(|r| r.status().is_success())
            .then_some(()))
    })
    .await?;
    let (a, b) = (
        sign_in(&base, "somchai").await?,
        sign_in(&base, "malee").await?,
    );

    // 1. Twenty requests of two viewers, ten at a time each: the first read
    // is shared and the rest come from the cache, so the reads made are at
    // most one plus one per refresh in between, far below twenty.
    let queries = "pmoc_dashboard_area_queries_total";
    let refreshes = "pmoc_dashboard_area_refreshes_total";
    let (q0, r0) = (
        counter(&base, &a, queries).await?,
        counter(&base, &a, refreshes).await?,
    );
    let mut requests = tokio::task::JoinSet::new();
    for _ in 0..10 {
        for s in [&a, &b] {
            let (cookie, url) = (s.cookie.clone(), format!("{base}{AREA}"));
            requests.spawn(async move {
                let r = http()
                    .get(url)
                    .header(reqwest::header::COOKIE, cookie)
                    .send();
                anyhow::Ok(r.await?.error_for_status()?.json::<AreaDetail>().await?)
            });
        }
    }
    let mut details = Vec::new();
    while let Some(detail) = requests.join_next().await {
        details.push(detail??);
    }
    let (q1, r1) = (
        counter(&base, &a, queries).await?,
        counter(&base, &a, refreshes).await?,
    );
    assert!(
        details
            .iter()
            .all(|d| d.breadcrumbs.last().is_some_and(|p| p.code == "34"))
    );
    assert!(q1 > q0, "the area was read");
    assert!(
        q1 - q0 <= 1.0 + (r1 - r0),
        "20 requests made {} reads over {} refreshes",
        q1 - q0,
        r1 - r0
    );

    // 2. Both subscribe; for as long as they do, one read per refresh.
    let mut streams = Vec::new();
    for s in [&a, &b] {
        let mut response = get(
            s,
            &format!("{base}/api/area/province/34/stream?committee=water&range=1d"),
        )
        .await?;
        let mut buffer = String::new();
        let first = next_area(&mut response, &mut buffer)
            .await
            .context("the stream's first push")?;
        assert_eq!(
            headline(&first, "water_level_m_msl"),
            headline(&details[0], "water_level_m_msl")
        );
        streams.push((response, buffer));
    }
    let (q2, r2) = (
        counter(&base, &a, queries).await?,
        counter(&base, &a, refreshes).await?,
    );
    wait_for("five refreshes", Duration::from_secs(20), || async {
        Ok((counter(&base, &a, refreshes).await? >= r2 + 5.0).then_some(()))
    })
    .await?;
    let (q3, r3) = (
        counter(&base, &a, queries).await?,
        counter(&base, &a, refreshes).await?,
    );
    assert!(
        q3 - q2 <= r3 - r2 + 1.0,
        "two subscribers made {} reads over {} refreshes",
        q3 - q2,
        r3 - r2
    );
    assert!(
        q3 - q2 >= r3 - r2 - 1.0,
        "a watched area is read every refresh"
    );

    // 3. A newer running value for Ubon (its headline is the stations
    // reporting): both subscribers are pushed it.
    let hour = seeded_at / 1000 - (seeded_at / 1000) % HOUR;
    let mut newer = Window::new("water_level_m_msl", "province", "34", 3600, hour, 97.0);
    newer.is_final = false;
    newer.version = 9;
    seed::windows(&client, &[newer]).await?;
    for (response, buffer) in &mut streams {
        loop {
            let pushed = next_area(response, buffer)
                .await
                .context("the push of the newer value")?;
            if headline(&pushed, "water_level_m_msl") == Some(97.0) {
                break;
            }
        }
    }
    Ok(())
}
