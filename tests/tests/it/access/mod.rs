//! Sign-in, roles and scopes against a seeded ClickHouse and the real
//! server in-process: for each role, requests inside and outside its scope
//! over HTTP and over the push channel; every refusal must be audited.

mod browser;
mod hostile;
mod limits;
mod stream;

use std::time::Duration;

use pmoc_schemas::{
    auth::{RoleKind, RoleSettings},
    committee::{Committee, security::Classification},
    config::Settings,
};
use pmoc_tests::{
    auth::{self, Session, add_account, enrol_kiosk, http, sign_in},
    clickhouse::ClickHouse,
    dashboard::Running,
    init_tracing,
    process::wait_for,
    unique_name,
};
use reqwest::StatusCode;

use crate::wall_screen::data::seed_all;

/// A dashboard on port 0 over a seeded database, with four accounts and a
/// kiosk: `op` (operator), `exec` (executive), `wne` (water liaison for the
/// Northeast), `sec` (security liaison, not cleared for incident detail).
pub struct Stack {
    pub base: String,
    pub settings: Settings,
    pub client: clickhouse::Client,
    pub kiosk: String,
    running: Running,
    _clickhouse: ClickHouse,
    _dir: tempfile::TempDir,
}

pub fn liaison(committee: Committee, region: &str) -> RoleSettings {
    RoleSettings {
        committees: vec![committee],
        region: region.to_owned(),
        ..RoleSettings::new(RoleKind::Liaison, Classification::Restricted)
    }
}

impl Stack {
    pub async fn start(name: &str, tune: impl FnOnce(&mut Settings)) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        Self::start_on(listener, name, tune).await
    }

    /// On a listener the caller bound (to know the address beforehand).
    pub async fn start_on(
        listener: tokio::net::TcpListener,
        name: &str,
        tune: impl FnOnce(&mut Settings),
    ) -> anyhow::Result<Self> {
        init_tracing();
        let dir = tempfile::tempdir()?;
        let clickhouse = ClickHouse::start(dir.path()).await?;
        let mut settings = Settings::default();
        settings.clickhouse.url = clickhouse.url.clone();
        settings.clickhouse.database = unique_name(name);
        settings.dashboard.assets_dir = dir.path().join("dist").to_string_lossy().into_owned();
        std::fs::create_dir_all(&settings.dashboard.assets_dir)?;
        std::fs::write(
            dir.path().join("dist/index.html"),
            "<!DOCTYPE html><title>app</title>",
        )?;
        settings.dashboard.refresh_ms = 200;
        auth::stores_in(&mut settings, dir.path());
        settings.auth.sign_ins_per_minute = 1_000;
        let roles = &mut settings.auth.roles;
        roles.insert("water_ne".to_owned(), liaison(Committee::Water, "NE"));
        roles.insert(
            "security_liaison".to_owned(),
            liaison(Committee::Security, ""),
        );
        tune(&mut settings);
        for (user, role) in [
            ("op", "operator"),
            ("exec", "executive"),
            ("wne", "water_ne"),
            ("sec", "security_liaison"),
        ] {
            add_account(&settings, user, role)?;
        }
        let kiosk = enrol_kiosk(&settings, "wall-1", "executive")?;
        pmoc_store::migrate(&settings.clickhouse).await?;
        let client = pmoc_store::client(&settings.clickhouse);
        seed_all(&client, &settings, pmoc_pipeline::clock::now_ms()).await?;
        let base = format!("http://{}", listener.local_addr()?);
        let running = Running::spawn(listener, settings.clone());
        Ok(Self {
            base,
            settings,
            client,
            kiosk,
            running,
            _clickhouse: clickhouse,
            _dir: dir,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The kiosk's cookie, as its browser holds it after enrolling.
    pub async fn kiosk_cookie(&self) -> anyhow::Result<String> {
        let r = http()
            .get(self.url(&format!("/kiosk?token={}", self.kiosk)))
            .send()
            .await?;
        anyhow::ensure!(
            r.status() == StatusCode::SEE_OTHER,
            "kiosk enrol: {}",
            r.status()
        );
        auth::set_cookie(&r, "pmoc_kiosk").ok_or_else(|| anyhow::anyhow!("kiosk cookie"))
    }

    pub async fn stop(self) -> anyhow::Result<()> {
        self.running.stop().await
    }

    /// Waits until the audit log holds a refusal of `user` (empty:
    /// anonymous) on `route` for `reason`.
    pub async fn audited(&self, user: &str, route: &str, reason: &str) -> anyhow::Result<()> {
        wait_for(
            &format!("audit row: {user:?} {route} {reason}"),
            Duration::from_secs(20),
            || async {
                let n: u64 = self
                    .client
                    .query(
                        "SELECT count() FROM audit_log WHERE decision = 'deny' \
                         AND user = ? AND route = ? AND reason = ?",
                    )
                    .bind(user)
                    .bind(route)
                    .bind(reason)
                    .fetch_one()
                    .await?;
                Ok((n > 0).then_some(()))
            },
        )
        .await
    }
}

/// Who sends a request in the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Anonymous,
    User(&'static str),
    Kiosk,
}

/// One row of the matrix: who, method, path, body, expected status and,
/// for a refusal, the audited route pattern and reason.
struct Case {
    who: Who,
    post: Option<&'static str>,
    path: &'static str,
    status: u16,
    refusal: Option<(&'static str, &'static str)>,
}

const fn get(who: Who, path: &'static str, status: u16) -> Case {
    Case {
        who,
        post: None,
        path,
        status,
        refusal: None,
    }
}

const fn refused(
    who: Who,
    path: &'static str,
    status: u16,
    route: &'static str,
    reason: &'static str,
) -> Case {
    Case {
        who,
        post: None,
        path,
        status,
        refusal: Some((route, reason)),
    }
}

const fn post(mut case: Case, body: &'static str) -> Case {
    case.post = Some(body);
    case
}

use Who::{Anonymous, Kiosk, User};

const ACT: &str = "/api/alerts/{id}/{action}";
const AREA: &str = "/api/area/{level}/{code}";
const EXPORT: &str = "/api/area/{level}/{code}/export.csv";
const ACK: &str = r#"{"comment": "seen"}"#;
const CLOSE: &str = r#"{"comment": "dealt with by the province"}"#;

fn matrix() -> Vec<Case> {
    let (op, exec, wne, sec) = (User("op"), User("exec"), User("wne"), User("sec"));
    vec![
        // Nobody signed in: nothing but the sign-in flow.
        refused(Anonymous, "/api/wall", 401, "/api/wall", "no_session"),
        refused(Anonymous, "/api/alerts", 401, "/api/alerts", "no_session"),
        refused(
            Anonymous,
            "/api/area/nation/TH?committee=water",
            401,
            AREA,
            "no_session",
        ),
        refused(
            Anonymous,
            "/api/area/province/34/export.csv?committee=water",
            401,
            EXPORT,
            "no_session",
        ),
        refused(Anonymous, "/api/audit", 401, "/api/audit", "no_session"),
        refused(Anonymous, "/metrics", 401, "/metrics", "no_session"),
        refused(Anonymous, "/wall", 303, "/wall", "no_session"),
        post(
            refused(
                Anonymous,
                "/api/alerts/a-water-34/acknowledge",
                401,
                ACT,
                "no_session",
            ),
            ACK,
        ),
        get(Anonymous, "/signin", 200),
        get(Anonymous, "/healthz", 200),
        // Operators: everything.
        get(op, "/api/wall", 200),
        get(op, "/api/area/nation/TH?committee=security&range=1h", 200),
        get(op, "/api/area/province/95?committee=security", 200),
        get(
            op,
            "/api/area/province/95/export.csv?committee=security",
            200,
        ),
        get(op, "/api/map/districts?committee=security", 200),
        get(op, "/api/audit", 200),
        get(op, "/metrics", 200),
        get(op, "/wall", 200),
        post(get(op, "/api/alerts/a-sec-95/acknowledge", 201), ACK),
        // Executives: see everything, act on nothing.
        get(exec, "/api/area/province/95?committee=security", 200),
        get(exec, "/api/map/districts?committee=water", 200),
        post(
            refused(
                exec,
                "/api/alerts/a-water-34/acknowledge",
                403,
                ACT,
                "read_only",
            ),
            ACK,
        ),
        post(
            refused(
                exec,
                "/api/alerts/a-water-34/resolve",
                403,
                ACT,
                "read_only",
            ),
            CLOSE,
        ),
        refused(exec, "/api/audit", 403, "/api/audit", "not_operator"),
        refused(exec, "/metrics", 403, "/metrics", "not_operator"),
        // A water liaison for the Northeast.
        get(wne, "/api/area/province/34?committee=water", 200),
        get(wne, "/api/area/region4/NE?committee=water", 200),
        get(wne, "/api/area/district/3401?committee=water", 200),
        get(wne, "/api/area/province/34/export.csv?committee=water", 200),
        refused(
            wne,
            "/api/area/province/50/export.csv?committee=water",
            403,
            EXPORT,
            "out_of_scope",
        ),
        get(wne, "/api/map/districts?committee=water", 200),
        get(wne, "/api/water", 200),
        refused(
            wne,
            "/api/area/province/50?committee=water",
            403,
            AREA,
            "out_of_scope",
        ),
        refused(
            wne,
            "/api/area/nation/TH?committee=water",
            403,
            AREA,
            "out_of_scope",
        ),
        refused(
            wne,
            "/api/area/province/34?committee=security",
            403,
            AREA,
            "out_of_scope",
        ),
        refused(
            wne,
            "/api/map/districts?committee=resources",
            403,
            "/api/map/districts",
            "out_of_scope",
        ),
        post(get(wne, "/api/alerts/a-water-34/acknowledge", 201), ACK),
        post(
            refused(
                wne,
                "/api/alerts/a-res-50/acknowledge",
                403,
                ACT,
                "out_of_scope",
            ),
            ACK,
        ),
        post(
            refused(
                wne,
                "/api/alerts/a-water-34/resolve",
                403,
                ACT,
                "not_operator",
            ),
            CLOSE,
        ),
        refused(wne, "/api/audit", 403, "/api/audit", "not_operator"),
        // A security liaison, not cleared for incident-level detail.
        get(sec, "/api/area/region4/S?committee=security", 200),
        refused(
            sec,
            "/api/area/region4/S?committee=security&range=1h",
            403,
            AREA,
            "not_cleared",
        ),
        refused(
            sec,
            "/api/area/province/95?committee=security",
            403,
            AREA,
            "not_cleared",
        ),
        refused(
            sec,
            "/api/area/province/95/export.csv?committee=security",
            403,
            EXPORT,
            "not_cleared",
        ),
        refused(
            sec,
            "/api/map/districts?committee=security",
            403,
            "/api/map/districts",
            "not_cleared",
        ),
        refused(sec, "/api/water", 403, "/api/water", "out_of_scope"),
        // A wall screen: the wall and its push, nothing else.
        get(Kiosk, "/api/wall", 200),
        get(Kiosk, "/api/session", 200),
        get(Kiosk, "/wall", 200),
        refused(
            Kiosk,
            "/api/alerts",
            403,
            "/api/alerts",
            "kiosk_display_only",
        ),
        refused(
            Kiosk,
            "/api/area/nation/TH?committee=water",
            403,
            AREA,
            "kiosk_display_only",
        ),
        refused(
            Kiosk,
            "/api/area/province/34/export.csv?committee=water",
            403,
            EXPORT,
            "kiosk_display_only",
        ),
        refused(
            Kiosk,
            "/api/geo/districts",
            403,
            "/api/geo/districts",
            "kiosk_display_only",
        ),
        post(
            refused(
                Kiosk,
                "/api/alerts/a-water-34/acknowledge",
                403,
                ACT,
                "kiosk_display_only",
            ),
            ACK,
        ),
    ]
}

fn audit_user(who: Who) -> &'static str {
    match who {
        Anonymous => "",
        User(u) => u,
        Kiosk => "kiosk:wall-1",
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_sees_only_its_scope_and_every_refusal_is_audited() -> anyhow::Result<()> {
    let stack = Stack::start("access", |_| {}).await?;
    let mut sessions = std::collections::HashMap::<&str, Session>::new();
    for user in ["op", "exec", "wne", "sec"] {
        sessions.insert(user, sign_in(&stack.base, user).await?);
    }
    let kiosk = stack.kiosk_cookie().await?;
    let mut failures = Vec::new();
    for case in matrix() {
        let url = stack.url(case.path);
        let request = match (case.who, case.post) {
            (User(u), Some(body)) => sessions[u].post(&url).body(body),
            (User(u), None) => sessions[u].get(&url),
            (Kiosk, Some(body)) => http().post(&url).header("cookie", &kiosk).body(body),
            (Kiosk, None) => http().get(&url).header("cookie", &kiosk),
            (Anonymous, Some(body)) => http().post(&url).body(body),
            (Anonymous, None) => http().get(&url),
        };
        let request = if case.post.is_some() {
            request.header("content-type", "application/json")
        } else {
            request
        };
        let status = request.send().await?.status().as_u16();
        if status != case.status {
            failures.push(format!(
                "{:?} {} {}: {status}, expected {}",
                case.who,
                if case.post.is_some() { "POST" } else { "GET" },
                case.path,
                case.status
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "unexpected answers:\n{}",
        failures.join("\n")
    );
    for case in matrix() {
        if let Some((route, reason)) = case.refusal {
            stack.audited(audit_user(case.who), route, reason).await?;
        }
    }

    // What a liaison receives is cut to its scope, not only refused outside it.
    let wne = &sessions["wne"];
    let wall: pmoc_schemas::api::WallSnapshot = wne
        .get(&stack.url("/api/wall"))
        .send()
        .await?
        .json()
        .await?;
    assert!(
        wall.panels.is_empty(),
        "nation-wide panels are outside a regional scope"
    );
    assert!(
        wall.alerts
            .iter()
            .all(|a| a.event.committee == Committee::Water && a.event.area_code == "34")
    );
    assert!(wall.maps.iter().all(|m| m.metric.starts_with("water")));
    assert!(
        wall.maps
            .iter()
            .flat_map(|m| &m.provinces)
            .all(|(code, _)| {
                pmoc_schemas::area::province(code).is_some_and(|p| p.region4 == "NE")
            })
    );
    let alerts: Vec<pmoc_schemas::api::Alert> = wne
        .get(&stack.url("/api/alerts?all=true"))
        .send()
        .await?
        .json()
        .await?;
    let ids: Vec<&str> = alerts.iter().map(|a| a.event.alert_id.as_str()).collect();
    assert_eq!(ids, ["a-water-34"]);
    let acted: String = stack
        .client
        .query("SELECT actor FROM alert_actions WHERE alert_id = 'a-water-34'")
        .fetch_one()
        .await?;
    assert_eq!(acted, "wne", "the actor is the signed-in user");
    let sec = &sessions["sec"];
    let wall: pmoc_schemas::api::WallSnapshot = sec
        .get(&stack.url("/api/wall"))
        .send()
        .await?
        .json()
        .await?;
    for panel in &wall.panels {
        let longest = panel
            .series
            .iter()
            .map(|s| s.points.len())
            .max()
            .unwrap_or(0);
        if panel.committee == "security" {
            assert!(longest > 1, "own committee with its sparklines");
        } else {
            assert!(longest <= 1, "{}: headline only", panel.committee);
        }
    }
    assert!(wall.maps.iter().all(|m| m.metric == "incident_severity"));
    stack.stop().await
}
