//! Viewers of one area share its reads: the dashboard reads an area once
//! per refresh for everyone asking for it or subscribed to it, reads it
//! again only when its committee's stored figures moved (or it is older
//! than `area_max_age_ms`), and pushes its changes to every subscriber.
//! The national district map is shared the same way, tagged for
//! conditional requests. The dashboard runs as its own process here, so
//! its `/metrics` counts its reads alone (the in-process servers of other
//! tests share this process's recorder).

use std::time::Duration;

use anyhow::Context;
use pmoc_schemas::{
    api::{AreaDetail, MapLayer},
    config::Settings,
};
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

/// Twenty requests of `url`, ten at a time by each of two viewers: each
/// answer's `ETag` and body.
async fn twenty(
    a: &Session,
    b: &Session,
    url: &str,
) -> anyhow::Result<Vec<(Option<String>, Vec<u8>)>> {
    let mut requests = tokio::task::JoinSet::new();
    for _ in 0..10 {
        for s in [a, b] {
            let (cookie, url) = (s.cookie.clone(), url.to_owned());
            requests.spawn(async move {
                let r = http()
                    .get(url)
                    .header(reqwest::header::COOKIE, cookie)
                    .send()
                    .await?
                    .error_for_status()?;
                let tag = r
                    .headers()
                    .get(reqwest::header::ETAG)
                    .and_then(|t| t.to_str().ok())
                    .map(str::to_owned);
                anyhow::Ok((tag, r.bytes().await?.to_vec()))
            });
        }
    }
    let mut answers = Vec::new();
    while let Some(answer) = requests.join_next().await {
        answers.push(answer??);
    }
    Ok(answers)
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
async fn viewers_share_reads_repeated_only_when_their_committee_moved_and_get_changes_pushed()
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
        // No safety re-read while the test runs: every read it sees was
        // made because something moved.
        ("PMOC_DASHBOARD__AREA_MAX_AGE_MS", "120000".to_owned()),
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
    let details = twenty(&a, &b, &format!("{base}{AREA}"))
        .await?
        .into_iter()
        .map(|(_, body)| Ok(serde_json::from_slice::<AreaDetail>(&body)?))
        .collect::<anyhow::Result<Vec<_>>>()?;
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

    // 2. Both subscribe. Nothing is stored meanwhile: the refreshes skip
    // the area instead of reading it again (at most one read, should the
    // clock cross an hour and a seeded window leave the wall's range).
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
    let skipped = "pmoc_dashboard_area_reads_skipped_total";
    let (q2, r2, s2) = (
        counter(&base, &a, queries).await?,
        counter(&base, &a, refreshes).await?,
        counter(&base, &a, skipped).await?,
    );
    wait_for("eight refreshes", Duration::from_secs(20), || async {
        Ok((counter(&base, &a, refreshes).await? >= r2 + 8.0).then_some(()))
    })
    .await?;
    let (q3, r3, s3) = (
        counter(&base, &a, queries).await?,
        counter(&base, &a, refreshes).await?,
        counter(&base, &a, skipped).await?,
    );
    assert!(
        q3 - q2 <= 1.0,
        "nothing stored, yet {} reads over {} refreshes",
        q3 - q2,
        r3 - r2
    );
    assert!(
        s3 - s2 >= r3 - r2 - 2.0,
        "{} reads skipped over {} refreshes",
        s3 - s2,
        r3 - r2
    );

    // 3. The national district map: twenty requests, at most one read plus
    // one per refresh; asked again with its tag, 304 and no body.
    let maps = "pmoc_dashboard_district_map_queries_total";
    let map_url = format!("{base}/api/map/districts?committee=water&range=1d");
    let (m0, r4) = (
        counter(&base, &a, maps).await?,
        counter(&base, &a, refreshes).await?,
    );
    let mut layers = Vec::new();
    for (tag, body) in twenty(&a, &b, &map_url).await? {
        let tag = tag.context("a tagged district map")?;
        layers.push((tag, serde_json::from_slice::<MapLayer>(&body)?));
    }
    let (m1, r5) = (
        counter(&base, &a, maps).await?,
        counter(&base, &a, refreshes).await?,
    );
    assert!(
        m1 - m0 <= 1.0 + (r5 - r4),
        "20 requests made {} district map reads over {} refreshes",
        m1 - m0,
        r5 - r4
    );
    let (tag, layer) = layers.swap_remove(0);
    assert_eq!(layer.metric, "water_freeboard_m");
    let freeboard_3401 = |l: &MapLayer| {
        l.provinces
            .iter()
            .find(|(code, _)| code == "3401")
            .and_then(|(_, p)| p.value)
    };
    let conditional = |tag: String| {
        http()
            .get(&map_url)
            .header(reqwest::header::COOKIE, &a.cookie)
            .header(reqwest::header::IF_NONE_MATCH, tag)
            .send()
    };
    let again = conditional(tag.clone()).await?;
    assert_eq!(again.status(), reqwest::StatusCode::NOT_MODIFIED);
    assert!(again.bytes().await?.is_empty(), "a 304 has no body");
    // As a browser asks: the same bytes gzipped (compressed once per read,
    // not per request), under a tag of their own that validates only them.
    let gz = |tag: Option<&str>| {
        let mut r = http()
            .get(&map_url)
            .header(reqwest::header::COOKIE, &a.cookie)
            .header(reqwest::header::ACCEPT_ENCODING, "gzip, deflate, br, zstd");
        if let Some(tag) = tag {
            r = r.header(reqwest::header::IF_NONE_MATCH, tag);
        }
        r.send()
    };
    let zipped = gz(Some(&tag)).await?;
    assert_eq!(
        zipped.status(),
        reqwest::StatusCode::OK,
        "the plain tag is not the gzip one's"
    );
    assert_eq!(zipped.headers()["content-encoding"], "gzip");
    assert_eq!(zipped.headers()["vary"], "accept-encoding");
    let gz_tag = zipped.headers()["etag"].to_str()?.to_owned();
    assert_ne!(gz_tag, tag);
    let mut unzipped = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(&zipped.bytes().await?[..]),
        &mut unzipped,
    )?;
    let plain = conditional("\"none\"".to_owned()).await?.bytes().await?;
    assert_eq!(unzipped, plain, "gzip carries the plain body");
    assert_eq!(
        gz(Some(&gz_tag)).await?.status(),
        reqwest::StatusCode::NOT_MODIFIED
    );
    // The wall too: the stream's cut for this scope, kept gzipped.
    let wall = http()
        .get(format!("{base}/api/wall"))
        .header(reqwest::header::COOKIE, &a.cookie)
        .header(reqwest::header::ACCEPT_ENCODING, "gzip")
        .send()
        .await?;
    assert_eq!(wall.headers()["content-encoding"], "gzip");
    let mut unzipped = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(&wall.bytes().await?[..]),
        &mut unzipped,
    )?;
    let wall: pmoc_schemas::api::WallSnapshot = serde_json::from_slice(&unzipped)?;
    assert!(
        wall.generated_at_ms > 0,
        "the polled snapshot, not an empty one"
    );

    // 4. A newer running value for Ubon (its headline is the stations
    // reporting) and a freeboard for 3401, stored as the pipeline stores
    // them: rows, then the source's watermark. Read again at once (not at
    // the two-minute safety age): both subscribers are pushed the value,
    // and the district map is re-read under a new tag.
    let hour = seeded_at / 1000 - (seeded_at / 1000) % HOUR;
    let mut newer = Window::new("water_level_m_msl", "province", "34", 3600, hour, 97.0);
    newer.is_final = false;
    newer.version = 9;
    let mut freeboard = Window::new("water_freeboard_m", "district", "3401", 3600, hour, 0.25);
    freeboard.is_final = false;
    seed::windows(&client, &[newer, freeboard]).await?;
    let stored = pmoc_pipeline::clock::now_ms();
    seed::watermark(
        &client,
        ("water", "HII", "hii.water_level"),
        stored - stored % (HOUR * 1000),
        stored,
        600,
    )
    .await?;
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
    let newer_map = wait_for(
        "the district map re-read",
        Duration::from_secs(20),
        || async {
            let r = conditional(tag.clone()).await?.error_for_status()?;
            if r.status() == reqwest::StatusCode::NOT_MODIFIED {
                return Ok(None);
            }
            Ok(Some(r.json::<MapLayer>().await?))
        },
    )
    .await?;
    assert_ne!(freeboard_3401(&layer), Some(0.25));
    assert_eq!(freeboard_3401(&newer_map), Some(0.25));
    Ok(())
}
