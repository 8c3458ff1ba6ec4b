//! Privacy by construction (issue 12, item 3) against a seeded ClickHouse
//! and the real server in-process: everything an operator and a liaison
//! can fetch about births in a province with small district counts (the
//! drill-down at every level and range, its CSV export, the wall, the
//! district map, the pushes of the live stream, alerts) obeys the rule
//! (rounded to 10, below 5 suppressed with no number, never 0), and the
//! subtraction attack over all of it at once (`attack`) recovers no cell.

mod attack;
mod data;

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{Arc, Mutex},
    time::Duration,
};

use anyhow::Context;
use pmoc_schemas::{
    api::{Alert, AreaDetail, MapLayer, Point, WallSnapshot, children},
    committee::Committee,
    config::Settings,
    privacy::PrivacySettings,
};
use pmoc_tests::{
    auth::{self, Session, add_account, sign_in},
    clickhouse::ClickHouse,
    dashboard::Running,
    init_tracing,
    process::wait_for,
    seed, unique_name,
};
use reqwest::StatusCode;
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

use attack::{Cell, Knowledge, Shown};
use data::{DAY, HOUR, MINUTE, ROUNDS, Truth};

fn now_ms() -> i64 {
    pmoc_pipeline::clock::now_ms()
}

/// Everything published, as the attacker collects it.
struct Observer {
    privacy: PrivacySettings,
    knowledge: Knowledge,
    /// Cells seen published, by round.
    seen: BTreeSet<Cell>,
    /// `(round, level, code, width, from_ms)`: every window of the place
    /// from `from_ms` on was in one response, so a missing one is 0.
    covered: Vec<(u32, String, String, u32, i64)>,
    figures: usize,
    suppressed: usize,
}

impl Observer {
    fn new(privacy: PrivacySettings) -> Self {
        Self {
            privacy,
            knowledge: Knowledge::new(privacy.min_count, privacy.rounding_base),
            seen: BTreeSet::new(),
            covered: Vec::new(),
            figures: 0,
            suppressed: 0,
        }
    }

    /// The rule on one published people figure; what it shows.
    fn check(&mut self, what: &str, p: &Point) -> Shown {
        self.figures += 1;
        assert_eq!(p.count, None, "{what}: no event count for people: {p:?}");
        assert_eq!(p.p95, None, "{what}: {p:?}");
        match (p.value, p.suppressed_below) {
            (None, Some(k)) => {
                assert_eq!(k, self.privacy.min_count, "{what}");
                self.suppressed += 1;
                Shown::Suppressed
            }
            (Some(v), None) => {
                let base = self.privacy.rounding_base as f64;
                assert!(
                    v >= self.privacy.min_count as f64 && v % base == 0.0,
                    "{what}: a people figure published as {v}: below k or not rounded"
                );
                Shown::Rounded(v as u64)
            }
            other => panic!("{what}: value and suppression disagree: {other:?}"),
        }
    }

    fn record(&mut self, what: &str, cell: Cell, p: &Point) {
        let shown = self.check(what, p);
        self.knowledge.observe(&cell, shown);
        self.seen.insert(cell);
    }

    fn area(&mut self, round: u32, who: &str, detail: &AreaDetail, from_ms: i64) {
        let place = detail.breadcrumbs.last().expect("a place");
        let width = detail.window_seconds;
        let births = detail.series.iter().position(|s| s.metric == "births");
        let births = births.expect("births in the population drill-down");
        for p in &detail.series[births].points {
            let what = format!("{who} area {} {} {}", place.level, place.code, detail.range);
            self.record(&what, cell(round, &place.level, &place.code, width, p), p);
        }
        self.covered.push((
            round,
            place.level.clone(),
            place.code.clone(),
            width,
            from_ms,
        ));
        for child in &detail.children {
            let (level, code) = (&child.place.level, &child.place.code);
            match &child.values[births] {
                Some(p) => {
                    let what = format!("{who} child {level} {code} of {}", place.code);
                    self.record(&what, cell(round, level, code, width, p), p);
                }
                // No window in the range at all.
                None => self
                    .covered
                    .push((round, level.clone(), code.clone(), width, from_ms)),
            }
        }
    }

    fn layer(&mut self, round: u32, who: &str, level: &str, width: u32, layer: &MapLayer) {
        if layer.metric != "births" {
            return;
        }
        for (code, p) in &layer.provinces {
            let what = format!("{who} map {level} {code}");
            self.record(&what, cell(round, level, code, width, p), p);
        }
    }

    fn wall(&mut self, round: Option<u32>, who: &str, wall: &WallSnapshot) {
        for panel in &wall.panels {
            for s in panel.series.iter().filter(|s| s.metric == "births") {
                for p in &s.points {
                    let what = format!("{who} wall births");
                    match round {
                        Some(r) => {
                            self.record(&what, cell(r, "nation", "TH", panel.window_seconds, p), p)
                        }
                        None => {
                            self.check(&what, p);
                        }
                    }
                }
            }
        }
        for layer in &wall.maps {
            match round {
                Some(r) => self.layer(r, who, "province", DAY, layer),
                None if layer.metric == "births" => {
                    for (_, p) in &layer.provinces {
                        self.check(&format!("{who} wall map"), p);
                    }
                }
                None => {}
            }
        }
        alerts_protected(who, &wall.alerts);
    }

    /// Whether `(round, place, width)` has a known 0 at `start_ms`.
    fn known_absent(&self, c: &Cell) -> bool {
        self.covered.iter().any(|(r, level, code, width, from)| {
            *r == c.round
                && *level == c.level
                && *code == c.code
                && *width == c.width
                && c.start_ms >= *from
        })
    }

    /// A part of a sum: what was seen, a known 0, or unknown.
    fn part(&self, knowledge: &mut Knowledge, c: Cell) -> Cell {
        if !self.seen.contains(&c) && self.known_absent(&c) {
            knowledge.absent(&c);
        }
        c
    }

    /// The constraints the published structure implies, into `knowledge`.
    fn constrain(&self, knowledge: &mut Knowledge, truth: &Truth) {
        for c in &self.seen {
            // A parent is the sum of all its children.
            let kids = children(&c.level, &c.code);
            if !kids.is_empty() {
                let parts = kids
                    .iter()
                    .map(|k| {
                        self.part(
                            knowledge,
                            Cell {
                                level: k.level.clone(),
                                code: k.code.clone(),
                                ..c.clone()
                            },
                        )
                    })
                    .collect();
                knowledge.sum(c.clone(), parts);
            }
            // A wide window is the sum of the narrow ones inside it.
            let narrow = match c.width {
                DAY => Some(HOUR),
                HOUR => Some(MINUTE),
                _ => None,
            };
            if let Some(n) = narrow {
                let parts = (0..i64::from(c.width / n))
                    .map(|j| {
                        self.part(
                            knowledge,
                            Cell {
                                width: n,
                                start_ms: c.start_ms + j * i64::from(n) * 1000,
                                ..c.clone()
                            },
                        )
                    })
                    .collect();
                knowledge.sum(c.clone(), parts);
            }
            // Pushes: a final figure stays, a provisional one only grows.
            if c.round < ROUNDS {
                let next = Cell {
                    round: c.round + 1,
                    ..c.clone()
                };
                knowledge.at_most(c.clone(), next.clone());
                if !truth.open.get(c).copied().unwrap_or(true) {
                    knowledge.at_most(next, c.clone());
                }
            }
        }
    }
}

fn cell(round: u32, level: &str, code: &str, width: u32, p: &Point) -> Cell {
    Cell {
        round,
        level: level.to_owned(),
        code: code.to_owned(),
        width,
        start_ms: p.window_start_ms,
    }
}

/// Alerts about people: no raw figure in value, limit or text.
fn alerts_protected(who: &str, alerts: &[Alert]) {
    for a in alerts
        .iter()
        .filter(|a| a.event.metric == "incident_severity")
    {
        let e = &a.event;
        assert_eq!(a.suppressed_below, Some(5), "{who}: {a:?}");
        assert!(
            e.value.is_nan(),
            "{who}: 3 incidents leave as no number: {e:?}"
        );
        assert_eq!(e.threshold, 10.0, "{who}: the limit is rounded too");
        assert_eq!(e.evidence, "incident_severity <5 vs 10", "{who}");
    }
}

async fn json<T: serde::de::DeserializeOwned>(
    s: &Session,
    url: &str,
) -> anyhow::Result<(T, String)> {
    let text = s
        .get(url)
        .send()
        .await?
        .error_for_status()
        .with_context(|| url.to_owned())?
        .text()
        .await?;
    Ok((
        serde_json::from_str(&text).with_context(|| url.to_owned())?,
        text,
    ))
}

/// The drill-down's CSV: every births row obeys the rule, then is recorded.
async fn export(
    obs: &mut Observer,
    round: u32,
    who: &str,
    s: &Session,
    url: &str,
) -> anyhow::Result<usize> {
    let response = s.get(url).send().await?.error_for_status()?;
    let disposition = response
        .headers()
        .get(reqwest::header::CONTENT_DISPOSITION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        disposition.starts_with("attachment; filename=\"pmoc-population-province-34-"),
        "{disposition}"
    );
    let body = response.text().await?;
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let mut rows = 0;
    for record in reader.deserialize::<BTreeMap<String, String>>() {
        let r = record?;
        if r["metric"] != "births" {
            continue;
        }
        rows += 1;
        let start = OffsetDateTime::parse(&r["window_start"], &Rfc3339)?;
        let end = OffsetDateTime::parse(&r["window_end"], &Rfc3339)?;
        let width = (end - start).whole_seconds() as u32;
        let shown = match (r["value"].as_str(), r["suppressed"].as_str()) {
            ("", "<5") => Shown::Suppressed,
            (v, "") => {
                let v: u64 = v
                    .parse()
                    .with_context(|| format!("{who} csv value {v:?}"))?;
                assert!(
                    v >= 5 && v.is_multiple_of(10),
                    "{who} csv: {v} is not a published figure"
                );
                Shown::Rounded(v)
            }
            other => panic!("{who} csv: value and suppression disagree: {other:?}"),
        };
        obs.figures += 1;
        let c = Cell {
            round,
            level: r["area_level"].clone(),
            code: r["area_code"].clone(),
            width,
            start_ms: (start.unix_timestamp_nanos() / 1_000_000) as i64,
        };
        obs.knowledge.observe(&c, shown);
        obs.seen.insert(c);
    }
    Ok(rows)
}

/// Reads `wall` pushes into `pushes` until the stream ends.
fn collect_pushes(mut response: reqwest::Response, pushes: Arc<Mutex<Vec<WallSnapshot>>>) {
    tokio::spawn(async move {
        let mut buffer = String::new();
        while let Ok(Some(chunk)) = response.chunk().await {
            buffer.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buffer.find("\n\n") {
                let block: String = buffer.drain(..end + 2).collect();
                let event = block.lines().find_map(|l| l.strip_prefix("event: "));
                let data = block.lines().find_map(|l| l.strip_prefix("data: "));
                if let (Some("wall"), Some(data)) = (event, data)
                    && let Ok(wall) = serde_json::from_str(data)
                    && let Ok(mut p) = pushes.lock()
                {
                    p.push(wall);
                }
            }
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_published_figure_recovers_a_small_count() -> anyhow::Result<()> {
    init_tracing();
    let dir = tempfile::tempdir()?;
    let clickhouse = ClickHouse::start(dir.path()).await?;
    let mut settings = Settings::default();
    settings.clickhouse.url = clickhouse.url.clone();
    settings.clickhouse.database = unique_name("privacy");
    settings.dashboard.assets_dir = dir.path().join("dist").to_string_lossy().into_owned();
    std::fs::create_dir_all(&settings.dashboard.assets_dir)?;
    std::fs::write(dir.path().join("dist/index.html"), "<!DOCTYPE html>")?;
    settings.dashboard.refresh_ms = 200;
    // Drill-down areas re-read at the wall's pace: a round is read once the
    // wall shows it, and an area older than that would contradict it.
    settings.dashboard.area_refresh_ms = 200;
    // Every tick, not only when the committee's figures moved: a round's
    // marks can move before the last of its rows is read back.
    settings.dashboard.area_max_age_ms = 200;
    // Day windows on the wall, so all three widths are published.
    settings.dashboard.wall_window_seconds = DAY;
    auth::stores_in(&mut settings, dir.path());
    settings.auth.sign_ins_per_minute = 1_000;
    settings.auth.roles.insert(
        "population_ne".to_owned(),
        crate::access::liaison(Committee::Population, "NE"),
    );
    add_account(&settings, "op", "operator")?;
    add_account(&settings, "pne", "population_ne")?;
    pmoc_store::migrate(&settings.clickhouse).await?;
    let client = pmoc_store::client(&settings.clickhouse);
    let truth = Truth::new(now_ms() / 1000);
    // An alert row written before the rule: raw small figures in it.
    seed::alerts(
        &client,
        &[seed::Alert {
            id: "incident_spike:province:34:0",
            rule: "incident_spike",
            severity: "critical",
            committee: "security",
            metric: "incident_severity",
            area: ("province", "34"),
            opened_at_ms: now_ms(),
            value: 3.0,
            threshold: 13.5,
        }],
    )
    .await?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let running = Running::spawn(listener, settings.clone());
    let (op, pne) = (sign_in(&base, "op").await?, sign_in(&base, "pne").await?);
    let pushes = Arc::new(Mutex::new(Vec::new()));
    collect_pushes(
        op.get(&format!("{base}/api/stream"))
            .send()
            .await?
            .error_for_status()?,
        pushes.clone(),
    );

    let mut obs = Observer::new(settings.privacy);
    let mut rounds: Vec<(i64, i64)> = Vec::new();
    let mut places = vec![
        ("nation", "TH".to_owned()),
        ("region4", "NE".to_owned()),
        ("province", "34".to_owned()),
    ];
    places.extend(truth.districts.iter().map(|d| ("district", d.clone())));
    for round in 1..=ROUNDS {
        let started = now_ms();
        seed::windows(&client, &truth.rows(round)).await?;
        let inserted = now_ms();
        rounds.push((started, inserted));
        wait_for(
            &format!("wall of round {round}"),
            Duration::from_secs(20),
            || async {
                let (wall, _): (WallSnapshot, String) =
                    json(&op, &format!("{base}/api/wall")).await?;
                Ok((wall.generated_at_ms > inserted).then_some(()))
            },
        )
        .await?;
        for (who, s) in [("op", &op), ("pne", &pne)] {
            for (range, back_s) in [("1h", 3_600), ("1d", 86_400)] {
                for (level, code) in &places {
                    let url = format!(
                        "{base}/api/area/{level}/{code}?committee=population&range={range}"
                    );
                    if who == "pne" && *level == "nation" {
                        let status = s.get(&url).send().await?.status();
                        assert_eq!(status, StatusCode::FORBIDDEN, "nation is outside NE");
                        continue;
                    }
                    let (detail, text): (AreaDetail, String) = json(s, &url).await?;
                    let from_ms = now_ms() - back_s * 1000;
                    obs.area(round, who, &detail, from_ms);
                    let counts = text.match_indices("\"count\":");
                    assert!(
                        counts
                            .into_iter()
                            .all(|(at, m)| text[at + m.len()..].starts_with("null")),
                        "{who} {url}: an event count of people left the server: {text}"
                    );
                }
                let url = format!(
                    "{base}/api/area/province/34/export.csv?committee=population&range={range}"
                );
                let rows = export(&mut obs, round, who, s, &url).await?;
                assert!(
                    rows > 25,
                    "{who} {range}: the export has the series and every district ({rows})"
                );
            }
            let (wall, _): (WallSnapshot, String) = json(s, &format!("{base}/api/wall")).await?;
            obs.wall(Some(round), who, &wall);
            let (layer, _): (MapLayer, String) = json(
                s,
                &format!("{base}/api/map/districts?committee=population&range=1d"),
            )
            .await?;
            obs.layer(round, who, "district", HOUR, &layer);
        }
    }

    // Alerts, read by the operator (the liaison sees no security alert).
    let (alerts, text): (Vec<Alert>, String) =
        json(&op, &format!("{base}/api/alerts?all=true")).await?;
    assert!(alerts.iter().any(|a| a.event.metric == "incident_severity"));
    alerts_protected("op alerts", &alerts);
    assert!(
        !text.contains("13.5") && !text.contains(" 3 over"),
        "{text}"
    );

    // Every push, in the round it belongs to (pushes read during an insert
    // are checked but not attributed).
    let pushed = pushes.lock().map(|p| p.clone()).unwrap_or_default();
    assert!(!pushed.is_empty(), "the stream pushed the wall");
    for wall in &pushed {
        let round = rounds.iter().enumerate().find_map(|(i, (_, inserted))| {
            let next_start = rounds.get(i + 1).map_or(i64::MAX, |r| r.0);
            (wall.generated_at_ms > *inserted && wall.generated_at_ms < next_start)
                .then_some(i as u32 + 1)
        });
        obs.wall(round, "push", wall);
    }

    // The control: the same attack on what the old rule published (exact
    // figures, 1 to 4 hidden, 0 shown) recovers small counts, 3401's three
    // births of the hour before the open one among them.
    let mut control = Knowledge::new(5, 1);
    for c in &obs.seen {
        match truth.values.get(c).copied().unwrap_or_default() {
            0 => control.absent(c),
            t if t < 5 => control.observe(c, Shown::Suppressed),
            t => control.observe(c, Shown::Rounded(t)),
        }
    }
    obs.constrain(&mut control, &truth);
    control.propagate();
    let recovered: Vec<&Cell> = obs
        .seen
        .iter()
        .filter(|c| {
            let (lo, hi) = control.interval(c);
            (1..5).contains(&truth.values[*c]) && lo == hi
        })
        .collect();
    assert!(
        recovered
            .iter()
            .any(|c| c.code == "3401" && c.width == HOUR),
        "the attack recovers 3401's hidden count from exact figures: {recovered:?}"
    );

    // The attack, over everything published at once.
    let mut knowledge = std::mem::take(&mut obs.knowledge);
    obs.constrain(&mut knowledge, &truth);
    let constraints = knowledge.constraints();
    let passes = knowledge.propagate();
    let mut attacked = 0;
    let mut narrowest = i64::MAX;
    for c in &obs.seen {
        let t = *truth
            .values
            .get(c)
            .with_context(|| format!("published {c:?} was never seeded"))? as i64;
        let (lo, hi) = knowledge.interval(c);
        assert!(
            lo <= t && t <= hi,
            "the attack model is unsound at {c:?}: {t} outside {lo}..={hi}"
        );
        assert!(
            hi > lo,
            "{c:?}: the published figures pin it to {lo} (true {t})"
        );
        if t < 5 {
            assert!(lo < 5 && hi >= 1, "{c:?}: {lo}..={hi} for {t}");
        }
        attacked += 1;
        narrowest = narrowest.min(hi - lo + 1);
    }
    tracing::warn!(
        figures = obs.figures,
        suppressed = obs.suppressed,
        cells = attacked,
        constraints,
        passes,
        narrowest,
        recovered_by_the_old_rule = recovered.len(),
        pushes = pushed.len(),
        "privacy: subtraction attack over every published figure"
    );
    assert!(
        obs.suppressed > 100,
        "small counts were published as suppressed ({})",
        obs.suppressed
    );
    running.stop().await?;
    Ok(())
}
