//! The whole chain with real parts: broker -> timely pipeline -> ClickHouse ->
//! dashboard API -> Leptos page in headless Chromium, including live push.

use std::{
    collections::BTreeMap,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use anyhow::Context;
use fantoccini::Locator;
use pmoc_ingest::{Publisher, kafka::ensure_topics};
use pmoc_schemas::{
    api::WaterSnapshot,
    config::Settings,
    envelope::{Envelope, Payload},
};
use pmoc_store::{LateRow, WindowRow};
use pmoc_tests::{
    auth::{self, add_account, browser_sign_in, sign_in},
    browser::Browser,
    clickhouse::ClickHouse,
    dist_dir, init_tracing,
    kafka::Broker,
    oracle::{self, Delivered, Expected},
    process::wait_for,
    topic::read_topic,
};
use time::{Duration as TimeDelta, OffsetDateTime, macros::datetime};

use crate::support::{self, LATENESS_MS, stored};

/// 2026-09-22 10:00:00 in Bangkok: a fixed past minute, so windows are known.
const T0: OffsetDateTime = datetime!(2026-09-22 10:00:00 +07:00);
const MINUTE_MS: i64 = 60_000;

/// A water-level reading; Ubon's readings also name their district.
fn reading(id: &str, province: &str, at: OffsetDateTime, level: f64) -> Envelope {
    support::water(id, province, at, level, province == "34")
}

/// A reading 0.30 m above its bank: the river overtops.
fn overtopping(id: &str, province: &str, at: OffsetDateTime, level: f64) -> Envelope {
    let mut e = reading(id, province, at, level);
    if let Payload::WaterLevel(w) = &mut e.payload {
        w.bank_level_m_msl = level - 0.3;
    }
    e
}

/// Three provinces, each in its own later block of time so the scenario
/// holds whichever provinces share a partition. Out-of-order events inside
/// the 30 s lateness count; `34-late` and `50-late` arrive beyond it but
/// within the correction horizon ([`HORIZON_S`]) and revise their windows;
/// `10-old` arrives beyond the horizon and is only kept in `late_events`.
fn scenario() -> Vec<Envelope> {
    let s = |n: i64| TimeDelta::seconds(n);
    let (t1, t2) = (T0 + s(600), T0 + s(1200));
    vec![
        reading("34-a", "34", T0 + s(5), 112.10),
        reading("34-b", "34", T0 + s(20), 112.30),
        reading("34-c", "34", T0 + s(50), 112.20),
        reading("34-d", "34", T0 + s(70), 112.50),
        reading("34-e", "34", T0 + s(45), 112.40), // 25 s behind: on time
        reading("34-f", "34", T0 + s(130), 112.60),
        reading("34-late", "34", T0 + s(55), 112.90), // 75 s behind: late
        reading("34-g", "34", T0 + s(125), 112.70),   // on time, earlier than 34-f
        // The station's latest reading of its first minute: opens an alert
        // (a level is judged by each station's latest reading).
        overtopping("50-a", "50", t1 + s(50), 300.00),
        reading("50-b", "50", t1 + s(30), 301.00),
        reading("50-c", "50", t1 + s(65), 302.00),
        reading("50-late", "50", t1 + s(15), 299.00), // 50 s behind: late
        reading("50-d", "50", t1 + s(40), 301.50),
        reading("10-a", "10", t2 + s(90), 1.25),
        reading("10-old", "10", t2 - s(610), 9.75), // 700 s behind: too old
    ]
}

/// The correction horizon of this test: 10 minutes.
const HORIZON_S: u32 = 600;

fn settings(broker: &Broker, clickhouse: &ClickHouse) -> anyhow::Result<Settings> {
    let mut s = support::settings(broker, clickhouse, "it_walking_skeleton");
    s.kafka.partitions = 2;
    s.pipeline.allowed_lateness_seconds = (LATENESS_MS / 1000) as u32;
    // No shorter than the lateness: the settings refuse it (see validate).
    s.pipeline.idle_partition_seconds = s.pipeline.allowed_lateness_seconds;
    s.pipeline.correction_horizon_seconds = HORIZON_S;
    s.pipeline.flush_interval_ms = 100;
    s.dashboard.refresh_ms = 200;
    s.dashboard.assets_dir = dist_dir()?.to_string_lossy().into_owned();
    Ok(s)
}

/// Publishes one at a time, in order, to the water topic.
async fn publish(
    publisher: &Publisher,
    topic: &str,
    events: &[Envelope],
    delivered: &mut Vec<Delivered>,
) -> anyhow::Result<()> {
    for e in events {
        let bytes = e.encode().map_err(|r| anyhow::anyhow!("{r}"))?;
        let d = publisher
            .send(topic, e.area.province.as_str(), &bytes)
            .await?;
        delivered.push((topic.to_owned(), d.partition, d.offset, e.clone()));
    }
    Ok(())
}

fn assert_matches_oracle(rows: &[WindowRow], late: &[LateRow], expected: &Expected) {
    let got: BTreeMap<oracle::WindowKey, &WindowRow> = rows
        .iter()
        .map(|r| {
            let key = (
                r.metric.clone(),
                r.area_level.clone(),
                r.area_code.clone(),
                r.window_seconds,
                i64::from(r.window_start) * 1000,
            );
            (key, r)
        })
        .collect();
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        expected.windows.keys().collect::<Vec<_>>(),
        "windows in ClickHouse"
    );
    for (key, want) in &expected.windows {
        let row = got[key];
        assert_eq!(row.count, want.count, "count of {key:?}");
        assert_eq!(
            (row.min, row.max, row.last),
            (want.min, want.max, want.last),
            "{key:?}"
        );
        assert!(oracle::close(row.sum, want.sum), "sum of {key:?}");
        assert_eq!(row.last_event_time_ms, want.last_event_time_ms, "{key:?}");
        assert_eq!(row.revised_count, want.revised, "late values in {key:?}");
        assert_eq!(row.window_end - row.window_start, key.3);
        assert_eq!(
            (row.source.as_str(), row.committee.as_str()),
            ("HII", "water")
        );
    }
    let late: Vec<(String, String)> = late
        .iter()
        .map(|l| (l.event_id.clone(), l.metric.clone()))
        .collect();
    assert_eq!(late, expected.late, "late values");
}

/// Each bad message is in `rejected_events` with its reason, and in the
/// dead-letter topic with its exact bytes.
async fn assert_rejects_kept(
    settings: &Settings,
    client: &clickhouse::Client,
    bad: &[(&str, &[u8])],
) -> anyhow::Result<()> {
    let rejected: Vec<pmoc_store::RejectedRow> = client
        .query("SELECT ?fields FROM rejected_events FINAL ORDER BY offset")
        .fetch_all()
        .await?;
    let kinds: Vec<&str> = rejected.iter().map(|r| r.reason_kind.as_str()).collect();
    let want: Vec<&str> = bad.iter().map(|(k, _)| *k).collect();
    assert_eq!(kinds, want, "reasons in rejected_events");
    assert!(rejected.iter().all(|r| !r.reason.is_empty()));

    let k = &settings.kafka;
    let mut dead: Vec<(Option<String>, Vec<u8>)> =
        read_topic(&k.brokers, &k.dead_letter_topic, k.partitions, bad.len())?
            .into_iter()
            .map(|m| (m.headers.get("pmoc-reason-kind").cloned(), m.payload))
            .collect();
    dead.sort();
    let mut expected: Vec<(Option<String>, Vec<u8>)> = bad
        .iter()
        .map(|(k, b)| (Some((*k).to_owned()), b.to_vec()))
        .collect();
    expected.sort();
    assert_eq!(dead, expected, "dead-letter topic holds the original bytes");
    Ok(())
}

/// Chiang Mai's first window overtops (freeboard -0.30 m): the standing
/// `water_over_bank` rule opens one alert, and the next window, 5 m below
/// the bank, resolves it; both transitions are on the alerts topic.
async fn assert_alert_opened_and_resolved(
    settings: &Settings,
    client: &clickhouse::Client,
) -> anyhow::Result<()> {
    use pmoc_schemas::alert::{AlertEvent, AlertState};
    let t1_ms = (T0.unix_timestamp() + 600) * 1000;
    let id = format!("water_over_bank:province:50:{t1_ms}");
    let alert = wait_for("the alert resolved", Duration::from_secs(30), || async {
        let rows: Vec<pmoc_store::AlertRow> = client
            .query("SELECT ?fields FROM alerts FINAL")
            .fetch_all()
            .await?;
        Ok(rows
            .into_iter()
            .find(|a| a.alert_id == id && a.state == "resolved"))
    })
    .await?;
    assert_eq!(
        (alert.severity.as_str(), alert.area_code.as_str()),
        ("critical", "50")
    );
    assert_eq!(alert.opened_at_ms, t1_ms);
    assert_eq!(alert.resolved_at_ms, t1_ms + 2 * MINUTE_MS);
    let all: u64 = client
        .query("SELECT count() FROM alerts FINAL")
        .fetch_one()
        .await?;
    assert_eq!(all, 1, "no other alert, no duplicate");

    // One alert's transitions share a key, so they keep their order.
    let k = &settings.kafka;
    let mut states = Vec::new();
    for m in read_topic(&k.brokers, &k.alerts_topic, k.partitions, 2)? {
        let event: AlertEvent = serde_json::from_slice(&m.payload)?;
        assert_eq!(event.alert_id, id);
        states.push(event.state);
    }
    assert_eq!(
        states,
        [AlertState::Open, AlertState::Resolved],
        "alerts topic"
    );
    Ok(())
}

async fn cell(browser: &Browser, province: &str, field: &str) -> anyhow::Result<String> {
    let css = format!("tr[data-province='{province}'] td[data-field='{field}']");
    Ok(browser
        .client
        .find(Locator::Css(&css))
        .await?
        .text()
        .await?)
}

/// Waits until the page shows `want` for each province's newest window.
async fn wait_for_page(
    browser: &Browser,
    want: &BTreeMap<String, (u64, f64)>,
) -> anyhow::Result<()> {
    let shown = wait_for(
        "the page to show the newest windows",
        Duration::from_secs(30),
        || async {
            for (province, (count, last)) in want {
                let shown = (
                    cell(browser, province, "count").await,
                    cell(browser, province, "last").await,
                );
                match shown {
                    (Ok(c), Ok(l)) if c == count.to_string() && l == format!("{last:.2}") => {}
                    _ => return Ok(None),
                }
            }
            Ok(Some(()))
        },
    )
    .await;
    if shown.is_err() {
        // Leave evidence for whoever reads the failure.
        let shot = browser.screenshot("walking_skeleton_failure").await?;
        let html = browser.client.source().await.unwrap_or_default();
        return shown.with_context(|| format!("screenshot {}; page:\n{html}", shot.display()));
    }
    shown
}

/// The newest window of each province: (count, last).
fn newest_per_province(expected: &Expected) -> BTreeMap<String, (u64, f64)> {
    let mut newest = BTreeMap::new();
    for ((metric, level, province, width, _), w) in &expected.windows {
        // BTreeMap order: later windows overwrite earlier ones.
        if metric == "water_level_m_msl" && level == "province" && *width == 60 {
            newest.insert(province.clone(), (w.count, w.last));
        }
    }
    newest
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn water_levels_flow_from_kafka_to_the_browser() -> anyhow::Result<()> {
    init_tracing();
    let dir = tempfile::tempdir()?;
    let clickhouse = ClickHouse::start(dir.path()).await?;
    let broker = Broker::start(dir.path()).await?;
    let mut settings = settings(&broker, &clickhouse)?;
    auth::stores_in(&mut settings, dir.path());
    add_account(&settings, "duty.officer", "operator")?;
    let topic = settings.kafka.topics.water.clone();

    ensure_topics(&settings.kafka).await?;
    let publisher = Publisher::new(&settings.kafka.brokers)?;
    let mut delivered = Vec::new();
    let events = scenario();
    publish(&publisher, &topic, &events[..3], &mut delivered).await?;
    // Bad input among the good: rejected with a reason, the stream goes on.
    let unknown_province = String::from_utf8(
        reading("bad-1", "34", T0, 1.0)
            .encode()
            .map_err(|r| anyhow::anyhow!("{r}"))?,
    )?
    .replace(r#""province":"34""#, r#""province":"99""#)
    .replace(r#","district":"3401""#, "");
    let wrong_committee = support::service("bad-2", "34", T0, 5.0)
        .encode()
        .map_err(|r| anyhow::anyhow!("{r}"))?;
    let bad: [(&str, &[u8]); 4] = [
        ("malformed_json", b"{\"event_id\": \"x\", "),
        ("invalid_utf8", &[0xff, 0xfe, 0x7b]),
        ("unknown_province", unknown_province.as_bytes()),
        ("wrong_committee_for_topic", &wrong_committee),
    ];
    for (_, bytes) in &bad {
        publisher.send(&topic, "34", bytes).await?;
    }
    // A republished copy (a client's retry): same id, dropped, not counted
    // again; it is not in `delivered`, which is what the oracle counts.
    let copy = events[1].encode().map_err(|r| anyhow::anyhow!("{r}"))?;
    publisher.send(&topic, "34", &copy).await?;
    publish(&publisher, &topic, &events[3..], &mut delivered).await?;
    let expected = oracle::windows(
        &delivered,
        LATENESS_MS,
        i64::from(HORIZON_S) * 1000,
        &support::WIDTHS_S,
    );
    // The scenario itself: both kinds of lateness are exercised. Beyond the
    // horizon, a value counts nowhere and is kept as a correction.
    assert_eq!(expected.late_ids(), ["10-old"]);
    assert!(
        !expected
            .windows
            .keys()
            .any(|k| k.2 == "10" && k.3 == 60 && k.4 < (T0.unix_timestamp() + 1200) * 1000),
        "10-old is in no window"
    );
    let t0_ms = T0.unix_timestamp() * 1000;
    let window = |level: &str, code: &str| {
        let metric = "water_level_m_msl".to_owned();
        (metric, level.to_owned(), code.to_owned(), 60, t0_ms)
    };
    // A level: Ubon's one station counts once, with its latest reading of
    // the minute, not the highest of its reports: on time that was 34-c at
    // 50 s (112.20); 34-late, at 55 s, arrived after the minute was final
    // and revised it (112.90), marked as revised by one late value.
    let ubon = &expected.windows[&window("province", "34")];
    assert_eq!(
        (ubon.count, ubon.max, ubon.last, ubon.revised),
        (1, 112.90, 112.90, 1)
    );
    // Ubon is the only north-eastern province in its first window; the
    // nation's first window holds Ubon's station alone too, revised alike.
    assert_eq!(expected.windows[&window("region4", "NE")].count, 1);
    let nation = &expected.windows[&window("nation", "TH")];
    assert_eq!((nation.last, nation.revised), (112.90, 1));
    // Ubon's readings name their district: its windows are the province's.
    assert_eq!(expected.windows[&window("district", "3401")].count, 1);
    assert_eq!(expected.windows[&window("district", "3401")].revised, 1);
    // The hour and the Thai day hold the station once, at its latest of
    // its eight readings (34-f at 130 s): 34-late counts there too, revising
    // them without changing the figure.
    let day_start = (T0 - TimeDelta::hours(10)).unix_timestamp() * 1000;
    let day = (
        "water_level_m_msl".to_owned(),
        "province".to_owned(),
        "34".to_owned(),
        86_400,
        day_start,
    );
    assert_eq!(
        (
            expected.windows[&day].count,
            expected.windows[&day].max,
            expected.windows[&day].revised
        ),
        (1, 112.60, 1)
    );
    let freeboard = (
        "water_freeboard_m".to_owned(),
        "province".to_owned(),
        "34".to_owned(),
        60,
        t0_ms,
    );
    assert!(
        oracle::close(expected.windows[&freeboard].min, 5.0),
        "bank is 5 m above every reading"
    );

    // The dashboard and a browser first, on an empty database: everything
    // the page shows later must arrive by push, without a reload.
    pmoc_store::migrate(&settings.clickhouse).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop_server, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(pmoc_server::run(listener, settings.clone(), async {
        let _ = stopped.await;
    }));
    let browser = Browser::start(dir.path(), 1920, 1080).await?;
    // Nothing is shown before signing in: the page is the sign-in form.
    browser.client.goto(&format!("http://{addr}/")).await?;
    browser
        .client
        .wait()
        .for_element(Locator::Id("signin-user"))
        .await?;
    browser_sign_in(&browser, &format!("http://{addr}"), "duty.officer", "/").await?;
    browser
        .client
        .wait()
        .for_element(Locator::Id("water-table"))
        .await?;
    let rows = browser
        .client
        .find_all(Locator::Css("#water-table tbody tr"))
        .await?;
    assert!(rows.is_empty(), "nothing is computed yet");
    let provinces = browser
        .client
        .find_all(Locator::Css("#province-map path[data-province]"))
        .await?;
    assert_eq!(provinces.len(), 77, "all provinces on the map");
    browser
        .client
        .execute("window.pmocMarker = 42; return null;", vec![])
        .await?;

    let shutdown = Arc::new(AtomicBool::new(false));
    let pipeline = {
        let (settings, flag) = (settings.clone(), shutdown.clone());
        std::thread::spawn(move || {
            pmoc_pipeline::run::run(&settings, timely::Config::thread(), flag)
        })
    };

    // 1. ClickHouse holds exactly the oracle's windows and late events.
    let client = pmoc_store::client(&settings.clickhouse);
    // Seen while waiting: merges collapse running rows into their final
    // one, and revisions' inserts make merges come soon.
    let provisional = AtomicBool::new(false);
    let (rows, late) = wait_for(
        "all windows in clickhouse",
        Duration::from_secs(90),
        || async {
            let running: u64 = client
                .query("SELECT count() FROM window_aggregates WHERE is_final = 0")
                .fetch_one()
                .await?;
            if running > 0 {
                provisional.store(true, Ordering::SeqCst);
            }
            let (rows, late) = stored(&client).await?;
            // Revisions replace rows already there: wait for them too.
            let revised: u64 = rows.iter().map(|r| u64::from(r.revised_count)).sum();
            let done = rows.len() == expected.windows.len()
                && late.len() == expected.late.len()
                && revised == expected.revised();
            Ok(done.then_some((rows, late)))
        },
    )
    .await?;
    assert_matches_oracle(&rows, &late, &expected);
    assert_rejects_kept(&settings, &client, &bad).await?;
    // Running values were written while windows were open, and every
    // window's newest row is now its final one.
    assert!(
        provisional.load(Ordering::SeqCst),
        "provisional rows were written"
    );
    let newest_all: u64 = client
        .query("SELECT count() FROM window_aggregates FINAL")
        .fetch_one()
        .await?;
    assert_eq!(
        newest_all as usize,
        rows.len(),
        "no window ends provisional"
    );
    assert_alert_opened_and_resolved(&settings, &client).await?;

    // 2. The API returns the newest window of each province. It answers
    // from the server's last poll of ClickHouse (every `refresh_ms`), so it
    // gets there within a few polls of the rows being stored.
    let newest = newest_per_province(&expected);
    let session = sign_in(&format!("http://{addr}"), "duty.officer").await?;
    let per_province = |api: &WaterSnapshot| -> BTreeMap<String, (u64, f64)> {
        api.provinces
            .iter()
            .map(|p| (p.province_code.clone(), (p.count, p.last)))
            .collect()
    };
    let fetch = || async {
        anyhow::Ok(
            session
                .get(&format!("http://{addr}/api/water"))
                .send()
                .await?
                .error_for_status()?
                .json::<WaterSnapshot>()
                .await?,
        )
    };
    let settled = wait_for(
        "the API at the stored rows",
        Duration::from_secs(20),
        || async {
            let api = fetch().await?;
            Ok((per_province(&api) == newest).then_some(api))
        },
    )
    .await;
    let api = match settled {
        Ok(api) => api,
        Err(_) => fetch().await?,
    };
    assert_eq!(per_province(&api), newest);
    let newest_end = expected
        .windows
        .keys()
        .filter(|k| k.3 == 60)
        .map(|(_, _, _, _, s)| s + MINUTE_MS)
        .max();
    assert_eq!(api.newest_closed_window_end_ms, newest_end);
    let chiang_mai = api.provinces.iter().find(|p| p.province_code == "50");
    assert_eq!(chiang_mai.map(|p| p.name_en.as_str()), Some("Chiang Mai"));

    // 3. The open page received them by push, without a reload.
    wait_for_page(&browser, &newest).await?;
    let marker = browser
        .client
        .execute("return window.pmocMarker;", vec![])
        .await?;
    assert_eq!(marker, serde_json::json!(42), "the page was not reloaded");
    assert_eq!(
        cell(&browser, "34", "name").await?,
        "อุบลราชธานี",
        "Thai by default"
    );
    // The bundled Thai font is the one in use, not a system fallback.
    let font = browser
        .client
        .execute(
            "return document.fonts.ready.then(() => document.fonts.check('16px \"PMOC Thai\"', 'ศูนย์') \
             && [...document.fonts].some(f => f.family.includes('PMOC Thai') && f.status === 'loaded'));",
            vec![],
        )
        .await?;
    assert_eq!(font, serde_json::json!(true), "bundled font loaded");
    // Recoloured in place: every newest window is 5 m below its bank.
    for (province, band) in [
        ("34", "normal"),
        ("50", "normal"),
        ("10", "normal"),
        ("90", "none"),
    ] {
        let css = format!("#province-map path[data-province='{province}']");
        let path = browser.client.find(Locator::Css(&css)).await?;
        assert_eq!(
            path.attr("data-band").await?.as_deref(),
            Some(band),
            "{province}"
        );
    }
    let end_ms = browser
        .client
        .find(Locator::Id("newest-window-end"))
        .await?
        .attr("data-ms")
        .await?;
    assert_eq!(end_ms, newest_end.map(|e| e.to_string()));
    let shot = browser.screenshot("walking_skeleton_1920x1080").await?;
    tracing::info!(path = %shot.display(), "screenshot saved");

    // The language toggle switches labels and the date format, in place.
    let date = |b: &Browser| {
        let client = b.client.clone();
        async move {
            client
                .find(Locator::Id("newest-window-end"))
                .await?
                .text()
                .await
        }
    };
    assert_eq!(date(&browser).await?, "22 ก.ย. 2569 10:22:00");
    browser
        .client
        .find(Locator::Id("lang-toggle"))
        .await?
        .click()
        .await?;
    wait_for("English labels", Duration::from_secs(10), || async {
        Ok((cell(&browser, "34", "name").await? == "Ubon Ratchathani").then_some(()))
    })
    .await?;
    assert_eq!(date(&browser).await?, "22 Sep BE 2569 10:22:00");
    let title = browser
        .client
        .find(Locator::Css("header h1"))
        .await?
        .text()
        .await?;
    assert_eq!(title, "Prime Minister's Operations Centre");
    browser.close().await?;

    // The same page on a 4K wall screen, for a person to look at.
    let wall = Browser::start(dir.path(), 3840, 2160).await?;
    wall.client.goto(&format!("http://{addr}/")).await?;
    wait_for_page(&wall, &newest).await?;
    let shot = wall.screenshot("walking_skeleton_3840x2160").await?;
    tracing::info!(path = %shot.display(), "screenshot saved");
    wall.close().await?;

    let _ = stop_server.send(());
    server.await??;
    shutdown.store(true, Ordering::SeqCst);
    pipeline
        .join()
        .map_err(|_| anyhow::anyhow!("pipeline thread panicked"))??;
    Ok(())
}
