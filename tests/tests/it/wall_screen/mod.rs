//! The wall screen and the drill-down against a seeded ClickHouse: real
//! server in-process, real browser. Rows are written directly (see
//! `pmoc_tests::seed`); the pipeline that normally writes them is tested
//! elsewhere.

use std::time::{Duration, Instant};

use anyhow::Context;
use fantoccini::Locator;
use pmoc_schemas::{
    api::{AreaDetail, WallSnapshot},
    auth::{RoleKind, RoleSettings},
    committee::{Committee, security::Classification},
    config::Settings,
};
use pmoc_tests::{
    auth::{self, add_account, browser_sign_in, enrol_kiosk, sign_in},
    browser::Browser,
    clickhouse::ClickHouse,
    dist_dir, init_tracing,
    process::wait_for,
    seed::{self, Window},
    unique_name,
};

mod assets;
pub(crate) mod data;
mod readable;
mod shared;

use data::{HOUR, seed_all, seed_crowd, seed_late_sources};

async fn text(browser: &Browser, css: &str) -> anyhow::Result<String> {
    Ok(browser.client.find(Locator::Css(css)).await?.text().await?)
}

/// Waits until the element's text is `want` (the page updates by itself).
async fn wait_text(browser: &Browser, css: &str, want: &str) -> anyhow::Result<()> {
    let result = wait_for(
        &format!("{css} = {want:?}"),
        Duration::from_secs(20),
        || async { Ok((text(browser, css).await.unwrap_or_default() == want).then_some(())) },
    )
    .await;
    if result.is_err() {
        let shot = browser.screenshot("wall_screen_failure").await?;
        let seen = text(browser, css).await.unwrap_or_default();
        return result.with_context(|| format!("saw {seen:?}; screenshot {}", shot.display()));
    }
    result
}

async fn wait_url(browser: &Browser, part: &str) -> anyhow::Result<String> {
    wait_for(
        &format!("url with {part}"),
        Duration::from_secs(10),
        || async {
            let url = browser.client.current_url().await?.to_string();
            Ok(url.contains(part).then_some(url))
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wall_screen_drill_down_and_alert_actions() -> anyhow::Result<()> {
    init_tracing();
    let dir = tempfile::tempdir()?;
    let clickhouse = ClickHouse::start(dir.path()).await?;
    let mut settings = Settings::default();
    settings.clickhouse.url = clickhouse.url.clone();
    settings.clickhouse.database = unique_name("wall");
    settings.dashboard.assets_dir = dist_dir()?.to_string_lossy().into_owned();
    settings.dashboard.refresh_ms = 200;
    auth::stores_in(&mut settings, dir.path());
    settings.auth.roles.insert(
        "water_liaison".to_owned(),
        RoleSettings {
            committees: vec![Committee::Water],
            ..RoleSettings::new(RoleKind::Liaison, Classification::Restricted)
        },
    );
    add_account(&settings, "somchai", "operator")?;
    add_account(&settings, "liaison.w", "water_liaison")?;
    let kiosk = enrol_kiosk(&settings, "ops-wall-4k", "executive")?;
    pmoc_store::migrate(&settings.clickhouse).await?;
    let client = pmoc_store::client(&settings.clickhouse);
    let seeded_at = pmoc_pipeline::clock::now_ms();
    seed_all(&client, &settings, seeded_at).await?;
    let open_alerts = 3 + seed_crowd(&client, seeded_at).await?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let base = format!("http://{addr}");
    let (stop_server, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(pmoc_server::run(listener, settings.clone(), async {
        let _ = stopped.await;
    }));

    // 1. The wall, pinned on water: 77 provinces, four panels, headlines.
    let browser = Browser::start(dir.path(), 1920, 1080).await?;
    browser_sign_in(&browser, &base, "somchai", "/wall?focus=water").await?;
    let started = Instant::now();
    let level = "#panel-water .tile-m[data-metric='water_level_m_msl'] .headline";
    // Water-level stations reporting (their count is the headline since
    // the declared meanings; the seed's 12.34 is 12 stations).
    wait_text(&browser, level, "12").await?;
    tracing::warn!(
        ms = started.elapsed().as_millis() as u64,
        "wall: time to first figures"
    );
    let paths = browser
        .client
        .find_all(Locator::Css("#wall path[data-province]"))
        .await?;
    assert_eq!(paths.len(), 77, "every province on the wall map");
    let panels = browser
        .client
        .find_all(Locator::Css(".wall-panels .panel-c"))
        .await?;
    assert_eq!(panels.len(), 4, "one panel per committee");
    for (css, want) in [
        (
            "#panel-population .tile-m[data-metric='births'] .headline",
            // A count of people: published rounded to 10 (see `privacy`).
            "4,320",
        ),
        (
            "#panel-security .tile-m[data-metric='incident_severity'] .headline",
            "60",
        ),
        (
            "#panel-resources .tile-m[data-metric='pm25_ugm3'] .headline",
            "87.5",
        ),
    ] {
        assert_eq!(text(&browser, css).await?, want, "{css}");
    }
    assert_eq!(
        text(
            &browser,
            "#panel-population .tile-m[data-metric='births'] .late-mark"
        )
        .await?,
        "ข้อมูลล่าช้า 10 ค่าไม่ได้นับรวม",
        "late values too old to fold in (people: rounded like the figure) are said beside the figure"
    );
    // A figure revised by late values says so, with how many.
    let mark = browser
        .client
        .find(Locator::Css(
            "#panel-water-focus .tile-m[data-metric='rain_1h_mm'] .revised-mark",
        ))
        .await?;
    assert_eq!(mark.text().await?, "ปรับแก้ +3");
    assert_eq!(
        mark.attr("aria-label").await?.as_deref(),
        Some("ปรับแก้ด้วยข้อมูลล่าช้า 3 ค่า")
    );
    let revised = browser
        .client
        .find_all(Locator::Css(
            "#panel-water-focus .badge[data-badge='revised']",
        ))
        .await?;
    assert_eq!(revised.len(), 1, "the water panel is marked revised, once");
    let class = browser
        .client
        .find(Locator::Css(level))
        .await?
        .attr("class")
        .await?;
    assert!(
        class.unwrap_or_default().contains("provisional"),
        "the open hour looks provisional"
    );
    let security = browser.client.find(Locator::Css("#panel-security")).await?;
    assert_eq!(
        security.attr("data-light").await?.as_deref(),
        Some("amber"),
        "security is late"
    );
    assert!(
        text(&browser, "#ticker").await?.contains("อุบลราชธานี"),
        "ticker names the area in Thai"
    );
    assert!(
        text(&browser, "#ticker").await?.contains("น้ำล้นตลิ่ง"),
        "ticker says what the rule means, in Thai"
    );
    let clock = text(&browser, "#wall-clock").await?;
    assert!(
        clock.contains(&(time::OffsetDateTime::now_utc().year() + 543).to_string()),
        "{clock}"
    );
    let no_scroll: bool = serde_json::from_value(
        browser
            .client
            .execute("return document.documentElement.scrollHeight <= window.innerHeight && document.documentElement.scrollWidth <= window.innerWidth;", vec![])
            .await?,
    )?;
    assert!(no_scroll, "the wall fits the screen");

    // 2. A newer running value reaches the wall without a reload.
    browser
        .client
        .execute("window.pmocMarker = 7; return null;", vec![])
        .await?;
    let hour = seeded_at / 1000 - (seeded_at / 1000) % HOUR;
    let mut newer = Window::new("water_level_m_msl", "nation", "TH", 3600, hour, 13.57);
    newer.is_final = false;
    newer.version = 5;
    seed::windows(&client, &[newer]).await?;
    let pushed = Instant::now();
    wait_text(&browser, level, "13").await?;
    tracing::warn!(
        ms = pushed.elapsed().as_millis() as u64,
        "wall: insert to DOM"
    );
    let marker = browser
        .client
        .execute("return window.pmocMarker;", vec![])
        .await?;
    assert_eq!(marker, serde_json::json!(7), "no reload");
    browser.screenshot("wall_1920x1080").await?;
    assert_eq!(browser.viewport().await?, (1920, 1080), "a true 1080p page");

    // Readable from the back of the room, in both languages, with every
    // registered source reporting and seven of them late; then the alert
    // area: five listed, the rest counted and summarised.
    seed_late_sources(&client, seeded_at).await?;
    readable::check_all(&browser, &base).await?;
    // However little room, the strip accounts for every source: seven late
    // (six of those just seeded, and security) and five on time.
    let counted: (u64, u64) = serde_json::from_value(
        browser
            .client
            .execute(
                "const n = s => [...document.querySelectorAll('#freshness li' + s)]
                   .reduce((a, li) => a + Number(li.dataset.sources), 0);
                 return [n(':not([data-light=\"green\"])'), n('[data-light=\"green\"]')];",
                vec![],
            )
            .await?,
    )?;
    assert_eq!(counted, (7, 5), "late and on-time sources on the strip");
    // Five listed when the room allows, never fewer than three; the rest
    // counted and summarised.
    let shown: usize = browser
        .client
        .find(Locator::Id("alerts-shown"))
        .await?
        .attr("data-shown")
        .await?
        .context("data-shown")?
        .parse()?;
    assert!((3..=5).contains(&shown), "{shown} listed");
    assert_eq!(
        text(&browser, "#alerts-shown").await?,
        format!("{shown} of {open_alerts} shown")
    );
    let summary = text(&browser, "#alerts-rest").await?;
    assert!(
        summary.contains(&format!("The other {}", open_alerts - shown))
            && summary.contains("PM2.5 over the standard"),
        "{summary}"
    );
    // One "provisional" per panel, not one per figure.
    let provisional = browser
        .client
        .find_all(Locator::Css(
            "#panel-water .badge[data-badge='provisional']",
        ))
        .await?;
    assert_eq!(provisional.len(), 1, "once per panel");

    // 3. The 4K wall, rotating: the open critical alert holds it.
    let dir4k = dir.path().join("4k");
    std::fs::create_dir_all(&dir4k)?;
    let wall4k = Browser::start(&dir4k, 3840, 2160).await?;
    // A wall screen enrols with its kiosk token and lands on the wall.
    wall4k
        .client
        .goto(&format!("{base}/kiosk?token={kiosk}"))
        .await?;
    wait_url(&wall4k, "/wall").await?;
    wait_for(
        "critical alert holds the wall",
        Duration::from_secs(20),
        || async {
            let el = wall4k.client.find(Locator::Id("wall")).await?;
            let held = wall4k
                .client
                .find_all(Locator::Css(".alert-list li.holding"))
                .await?;
            Ok(
                (el.attr("data-focus").await?.as_deref() == Some("alerts") && !held.is_empty())
                    .then_some(()),
            )
        },
    )
    .await?;
    // The map shows alert severity in place of a metric, recoloured in place.
    wait_for("map by severity", Duration::from_secs(10), || async {
        let ubon = wall4k
            .client
            .find(Locator::Css("#wall path[data-province='34']"))
            .await?;
        let quiet = wall4k
            .client
            .find(Locator::Css("#wall path[data-province='10']"))
            .await?;
        Ok(
            (ubon.attr("data-band").await?.as_deref() == Some("sev-critical")
                && quiet.attr("data-band").await?.as_deref() == Some("none"))
            .then_some(()),
        )
    })
    .await?;
    wall4k.screenshot("wall_3840x2160").await?;
    assert_eq!(wall4k.viewport().await?, (3840, 2160), "a true 4K page");
    readable::check_all(&wall4k, &base).await?;
    wall4k.close().await?;

    // 4. Drill down: nation -> Ubon Ratchathani -> its first district.
    browser
        .client
        .goto(&format!("{base}/area/nation/TH?range=1d&committee=water"))
        .await?;
    browser
        .client
        .wait()
        .for_element(Locator::Css("#children-table tbody tr"))
        .await?;
    // The day's rain was revised by three late gauges: the drill-down says
    // so, as the wall does.
    let mark = browser
        .client
        .find(Locator::Css(
            "figure.chart[data-metric='rain_1h_mm'] .revised-mark",
        ))
        .await?;
    assert_eq!(mark.text().await?, "ปรับแก้ +3");
    assert_eq!(mark.attr("data-revised").await?.as_deref(), Some("3"));
    browser
        .client
        .find(Locator::Css("path[data-province='34']"))
        .await?
        .click()
        .await?;
    wait_url(&browser, "/area/province/34?range=1d&committee=water").await?;
    wait_text(&browser, "#breadcrumbs a:last-child", "อุบลราชธานี").await?;
    browser
        .client
        .wait()
        .for_element(Locator::Css("#district-map path[data-district='3401']"))
        .await?;
    wait_for("districts coloured", Duration::from_secs(10), || async {
        let p = browser
            .client
            .find(Locator::Css("#district-map path[data-district='3402']"))
            .await?;
        Ok((p.attr("data-band").await?.as_deref() != Some("none")).then_some(()))
    })
    .await?;
    browser.screenshot("drill_down_province_1920x1080").await?;
    browser
        .client
        .find(Locator::Css("#district-map path[data-district='3401']"))
        .await?
        .click()
        .await?;
    wait_url(&browser, "/area/district/3401").await?;
    wait_for("four breadcrumbs", Duration::from_secs(10), || async {
        let n = browser
            .client
            .find_all(Locator::Css("#breadcrumbs a"))
            .await?
            .len();
        Ok((n == 4).then_some(()))
    })
    .await?;
    assert_eq!(
        text(&browser, "#breadcrumbs a:nth-child(2)").await?,
        "ภาคตะวันออกเฉียงเหนือ"
    );

    // 5. The language toggle: labels and the date format.
    let asof_th = text(&browser, ".detail .asof").await?;
    assert!(
        asof_th.starts_with("ณ ") && !asof_th.contains("BE"),
        "{asof_th}"
    );
    browser
        .client
        .find(Locator::Id("lang-toggle"))
        .await?
        .click()
        .await?;
    wait_text(&browser, "#breadcrumbs a:nth-child(3)", "Ubon Ratchathani").await?;
    let asof_en = text(&browser, ".detail .asof").await?;
    assert!(
        asof_en.starts_with("As of ") && asof_en.contains(" BE "),
        "{asof_en}"
    );
    browser
        .client
        .find(Locator::Id("lang-toggle"))
        .await?
        .click()
        .await?;

    // Waiting times show their tail (p95), not only the median.
    browser
        .client
        .goto(&format!(
            "{base}/area/nation/TH?range=1d&committee=population"
        ))
        .await?;
    let tail = "figure.chart[data-metric='service_wait_min'] .p95";
    wait_for(
        "the p95 of waiting times",
        Duration::from_secs(20),
        || async {
            let shown = match browser.client.find(Locator::Css(tail)).await {
                Ok(e) => e.text().await?,
                Err(_) => String::new(),
            };
            Ok(shown.contains("95%").then_some(shown))
        },
    )
    .await?;
    let births_tail = text(&browser, "figure.chart[data-metric='births'] .p95").await?;
    assert!(
        births_tail.is_empty(),
        "no percentile for a count: {births_tail}"
    );

    // 6. All 928 districts at once; new figures recolour them in place.
    let hour = seeded_at / 1000 - (seeded_at / 1000) % HOUR;
    let freeboard = |code: &str, v: f64, version: u64| {
        let mut w = Window::new("water_freeboard_m", "district", code, 3600, hour, v);
        w.version = version;
        w
    };
    seed::windows(
        &client,
        &[freeboard("5001", -100.0, 1), freeboard("9601", 100.0, 1)],
    )
    .await?;
    browser
        .client
        .goto(&format!(
            "{base}/area/nation/TH?range=1d&committee=water&map=districts"
        ))
        .await?;
    let band = |code: &'static str| {
        let client = browser.client.clone();
        async move {
            let css = format!("#district-map path[data-district='{code}']");
            anyhow::Ok(
                client
                    .find(Locator::Css(&css))
                    .await?
                    .attr("data-band")
                    .await?,
            )
        }
    };
    wait_for(
        "national districts coloured",
        Duration::from_secs(20),
        || async {
            Ok((band("5001").await?.as_deref() == Some("q0")
                && band("9601").await?.as_deref() == Some("q4"))
            .then_some(()))
        },
    )
    .await?;
    let outlines = browser
        .client
        .find_all(Locator::Css("#district-map path[data-district]"))
        .await?;
    assert_eq!(outlines.len(), 928, "every district on the national map");
    browser
        .client
        .execute(
            "document.querySelector(\"#district-map path[data-district='5001']\").dataset.marker = 'same'; return null;",
            vec![],
        )
        .await?;
    // As in production, the districts' new figures come with their nation's
    // (the rollup of the same events), which is what the page is pushed.
    let mut nation = Window::new("water_freeboard_m", "nation", "TH", 3600, hour, 2.5);
    nation.version = 9;
    seed::windows(
        &client,
        &[
            freeboard("5001", 100.0, 2),
            freeboard("9601", -100.0, 2),
            nation,
        ],
    )
    .await?;
    wait_for("districts recoloured", Duration::from_secs(20), || async {
        Ok((band("5001").await?.as_deref() == Some("q4")
            && band("9601").await?.as_deref() == Some("q0"))
        .then_some(()))
    })
    .await?;
    let same = browser
        .client
        .execute(
            "return document.querySelector(\"#district-map path[data-district='5001']\").dataset.marker || null;",
            vec![],
        )
        .await?;
    assert_eq!(
        same,
        serde_json::json!("same"),
        "recoloured in place, not rebuilt"
    );
    browser.screenshot("drill_down_districts_1920x1080").await?;

    // Small counts of people never leave the server.
    let http = sign_in(&base, "somchai").await?;
    assets::served_hashed_compressed_and_cached(&base, &http).await?;
    let detail: AreaDetail = http
        .get(&format!(
            "{base}/api/area/province/34?range=1d&committee=population"
        ))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let births = detail
        .series
        .iter()
        .position(|s| s.metric == "births")
        .context("births")?;
    let mueang = detail
        .children
        .iter()
        .find(|c| c.place.code == "3401")
        .context("3401")?;
    let point = mueang.values[births].as_ref().context("3401 has births")?;
    assert!(
        point.is_suppressed() && point.value.is_none(),
        "no number at all, never 0: {point:?}"
    );

    // 6. Acknowledge the critical alert with a comment.
    browser.client.goto(&format!("{base}/alerts")).await?;
    let card = "article[data-alert='a-water-34']";
    browser
        .client
        .wait()
        .for_element(Locator::Css(card))
        .await?;
    browser
        .client
        .find(Locator::Css(&format!("{card} textarea.comment")))
        .await?
        .send_keys("Provincial office informed")
        .await?;
    let clicked = pmoc_pipeline::clock::now_ms();
    browser
        .client
        .find(Locator::Css(&format!("{card} button.ack")))
        .await?
        .click()
        .await?;
    let stored: (String, String, String, i64) = wait_for("action stored", Duration::from_secs(10), || async {
        let rows: Vec<(String, String, String, i64)> = client
            .query("SELECT action, comment, actor, at_ms FROM alert_actions WHERE alert_id = 'a-water-34'")
            .fetch_all()
            .await?;
        Ok(rows.into_iter().next())
    })
    .await?;
    assert_eq!(
        (stored.0.as_str(), stored.1.as_str(), stored.2.as_str()),
        ("acknowledge", "Provincial office informed", "somchai"),
        "the actor is the signed-in user"
    );
    assert!(
        (stored.3 - clicked).abs() < 10_000,
        "stored when it happened"
    );
    wait_for("history shown", Duration::from_secs(10), || async {
        Ok(text(&browser, &format!("{card} .history"))
            .await?
            .contains("somchai")
            .then_some(()))
    })
    .await?;
    // The actor never comes from the body: a body naming one is refused.
    let operator = http;
    let close = |body: serde_json::Value| {
        operator
            .post(&format!("{base}/api/alerts/a-res-50/resolve"))
            .json(&body)
            .send()
    };
    let named =
        close(serde_json::json!({"comment": "wind changed", "actor": "someone else"})).await?;
    assert_eq!(named.status(), 422, "a body naming an actor");
    let no_reason = close(serde_json::json!({"comment": "  "})).await?;
    assert_eq!(no_reason.status(), 400, "closing needs a reason");
    let resolved = close(serde_json::json!({"comment": "wind changed"})).await?;
    assert_eq!(resolved.status(), 201);
    let actor: String = client
        .query("SELECT actor FROM alert_actions WHERE alert_id = 'a-res-50'")
        .fetch_one()
        .await?;
    assert_eq!(actor, "somchai");
    // Closing the critical alert the pipeline still sees in breach keeps it
    // on the wall, marked as closed.
    let closed = operator
        .post(&format!("{base}/api/alerts/a-water-34/resolve"))
        .json(&serde_json::json!({"comment": "handed to the province; level still high"}))
        .send()
        .await?;
    assert_eq!(closed.status(), 201);
    wait_for(
        "still on the wall, marked",
        Duration::from_secs(20),
        || async {
            let wall: WallSnapshot = operator
                .get(&format!("{base}/api/wall"))
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            Ok(wall
                .alerts
                .iter()
                .any(|a| a.event.alert_id == "a-water-34" && a.closed_by_operator())
                .then_some(()))
        },
    )
    .await?;

    // 7. A liaison officer sees only their committee in full.
    let liaison = sign_in(&base, "liaison.w").await?;
    let wall: WallSnapshot = liaison
        .get(&format!("{base}/api/wall"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let water = wall.panels.iter().find(|p| p.committee == "water");
    assert!(
        water.is_some_and(|p| p.series.iter().any(|s| s.points.len() > 1)),
        "own panel in full"
    );
    assert!(
        wall.panels
            .iter()
            .filter(|p| p.committee != "water")
            .all(|p| p.series.iter().all(|s| s.points.len() <= 1)),
        "other committees: headlines only"
    );
    assert!(
        wall.alerts
            .iter()
            .all(|a| a.event.committee == Committee::Water)
            && !wall.alerts.is_empty()
    );
    assert!(wall.freshness.iter().all(|f| f.committee == "water"));
    let denied = liaison
        .get(&format!("{base}/api/area/nation/TH?committee=security"))
        .send()
        .await?;
    assert_eq!(denied.status(), 403);
    let denied = liaison
        .post(&format!("{base}/api/alerts/a-sec-95/acknowledge"))
        .json(&serde_json::json!({"comment": "not mine"}))
        .send()
        .await?;
    assert_eq!(denied.status(), 403);

    browser.close().await?;
    let _ = stop_server.send(());
    server.await??;
    Ok(())
}
