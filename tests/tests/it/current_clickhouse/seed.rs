//! The rows both ClickHouse versions are given, written through the store's
//! own writer (`Store::insert`) as the pipeline and the dashboard write
//! them: windows of every level and width computed by the oracle from the
//! fault tests' events, with running rows and replays that `FINAL` must
//! collapse; late values, rejects, checkpoints, watermarks, alert
//! transitions, operator actions and audit entries.

use pmoc_schemas::{
    RejectKind,
    aggregate::{AreaLevel, WindowAggregate},
    alert::{AlertEvent, AlertState, Severity},
    api::AlertAction,
    auth::AuditEntry,
    committee::Committee,
    dead_letter::RejectedMessage,
    metric::MetricId,
};
use pmoc_store::{
    ActionRow, AlertRow, AuditRow, CheckpointRow, LateRow, RejectedRow, Store, WatermarkRow,
    WindowRow,
};
use pmoc_tests::oracle::{self, Delivered};

use crate::support;

/// Rounds of the fault tests' events: 3,000 events, 13 minutes.
const ROUNDS: i64 = 40;

/// What the reads are asked about.
#[derive(Debug)]
pub struct Seeded {
    /// The events' first instant, Unix ms.
    pub t0_ms: i64,
    /// A district with public-service windows.
    pub district: String,
    pub group: String,
    pub alert_ids: Vec<String>,
    /// How many rows of each kind were written, replays included.
    pub windows: usize,
}

/// Writes the same rows, in the same inserts, into `store`.
pub async fn seed(store: &Store) -> anyhow::Result<Seeded> {
    let events = support::events(ROUNDS);
    let t0_ms = events
        .iter()
        .map(|e| e.event_time.unix_timestamp() * 1000)
        .min()
        .unwrap_or_default();
    let delivered: Vec<Delivered> = events
        .into_iter()
        .enumerate()
        .map(|(i, e)| ("pmoc.seed".to_owned(), (i % 4) as i32, (i / 4) as i64, e))
        .collect();
    // A horizon as short as the lateness: the late values stay in
    // `late_events`, which the named reads must then find.
    let expected = oracle::windows(
        &delivered,
        support::LATENESS_MS,
        support::LATENESS_MS,
        &support::WIDTHS_S,
    );

    // Running rows first, then the final ones in several inserts (parts
    // FINAL has to merge), then replays of some final rows.
    let mut finals = Vec::new();
    let mut running = Vec::new();
    for (i, (key, w)) in expected.windows.iter().enumerate() {
        let (metric, level, code, width, start_ms) = key;
        let mut aggregate = WindowAggregate {
            metric: MetricId::from_name(metric).ok_or_else(|| anyhow::anyhow!("{metric}"))?,
            area_level: AreaLevel::from_name(level).ok_or_else(|| anyhow::anyhow!("{level}"))?,
            area_code: code.clone(),
            window_start_ms: *start_ms,
            window_end_ms: start_ms + i64::from(*width) * 1000,
            count: w.count,
            sum: w.sum,
            weight: w.weight,
            min: w.min,
            max: w.max,
            last: w.last,
            last_event_time_ms: w.last_event_time_ms,
            p50: w.p50,
            p95: w.p95,
            is_final: true,
        };
        let end = aggregate.window_end_ms;
        finals.push(WindowRow::new(&aggregate, end + 1_000));
        if i % 3 == 0 {
            aggregate.is_final = false;
            aggregate.count = aggregate.count.saturating_sub(1);
            aggregate.sum -= 1.0;
            running.push(WindowRow::new(&aggregate, end - 500));
        }
    }
    let replays: Vec<WindowRow> = finals.iter().step_by(5).cloned().collect();
    let windows = running.len() + finals.len() + replays.len();
    store.insert(&running).await?;
    for part in finals.chunks(finals.len().div_ceil(3)) {
        store.insert(part).await?;
    }
    store.insert(&replays).await?;

    let district = expected
        .windows
        .keys()
        .find(|k| k.0 == MetricId::ServiceWaitMinutes.name() && k.1 == "district")
        .map(|k| k.2.clone())
        .ok_or_else(|| anyhow::anyhow!("no district windows"))?;

    let late: Vec<LateRow> = expected
        .late
        .iter()
        .enumerate()
        .map(|(i, (id, metric))| LateRow {
            metric: metric.clone(),
            event_id: id.clone(),
            area_code: "10".to_owned(),
            event_time_ms: t0_ms + i as i64 * 7_000,
            watermark_ms: t0_ms + i as i64 * 7_000 + 45_000,
            value: i as f64 * 0.5,
            received_at_ms: t0_ms + 600_000,
        })
        .collect();
    store.insert(&late).await?;
    store.insert(&late[..late.len() / 2]).await?;

    let rejected: Vec<RejectedRow> = (0..24)
        .map(|i| {
            RejectedRow::from(&RejectedMessage {
                topic: ["pmoc.water", "pmoc.population"][i % 2].to_owned(),
                partition: (i % 3) as i32,
                offset: i as i64,
                payload: format!("{{\"n\":{i}}}").into_bytes(),
                kind: RejectKind::ALL[i % 4],
                reason: format!("reason {i}"),
                received_at_ms: t0_ms + i as i64 * 60_000,
            })
        })
        .collect();
    store.insert(&rejected).await?;

    let group = "pmoc-seed".to_owned();
    for written_at_ms in [t0_ms, t0_ms + 5_000] {
        let marks: Vec<CheckpointRow> = (0..4)
            .map(|p| CheckpointRow {
                group_id: group.clone(),
                topic: format!("pmoc.topic{}", p % 2),
                partition: p,
                offset: written_at_ms - t0_ms + i64::from(p),
                max_seen_ms: (p != 3).then_some(written_at_ms),
                stored_below_ms: (p % 2 == 0).then_some(written_at_ms - 60_000),
                written_at_ms,
            })
            .collect();
        store.insert(&marks).await?;
    }

    for written_at_ms in [t0_ms + 1_000, t0_ms + 2_000] {
        let marks: Vec<WatermarkRow> = [
            (Committee::Water, "HII", "hii.water_level"),
            (Committee::Population, "DOPA", "dopa.public_service"),
            (Committee::Security, "NSC", "nsc.incident"),
        ]
        .into_iter()
        .flat_map(|(c, agency, schema)| {
            (0..2).map(move |worker| WatermarkRow {
                committee: c.as_str().to_owned(),
                source_agency: agency.to_owned(),
                source_system: format!("{agency} feed"),
                schema: schema.to_owned(),
                worker,
                final_up_to_ms: written_at_ms - 60_000 * i64::from(worker + 1),
                last_event_ms: written_at_ms - 1_000 * i64::from(worker),
                last_seen_ms: written_at_ms,
                expected_cadence_s: 600,
                events_total: 100 * u64::from(worker + 1) + (written_at_ms - t0_ms) as u64,
                written_at_ms,
            })
        })
        .collect();
        store.insert(&marks).await?;
    }

    let mut alert_ids = Vec::new();
    for (i, (severity, last)) in [
        (Severity::Critical, AlertState::Open),
        (Severity::Warning, AlertState::Updated),
        (Severity::Info, AlertState::Resolved),
        (Severity::Critical, AlertState::Resolved),
        (Severity::Warning, AlertState::Open),
    ]
    .into_iter()
    .enumerate()
    {
        let opened_at_ms = t0_ms + i as i64 * 60_000;
        let id = format!("water_over_bank:province:{}:{opened_at_ms}", 30 + i);
        let states = [AlertState::Open, AlertState::Updated, AlertState::Resolved];
        for (k, state) in states.into_iter().enumerate() {
            let updated_at_ms = opened_at_ms + k as i64 * 60_000;
            let event = AlertEvent {
                alert_id: id.clone(),
                rule: "water_over_bank".to_owned(),
                severity,
                committee: Committee::Water,
                metric: MetricId::WaterFreeboard.name().to_owned(),
                area_level: "province".to_owned(),
                area_code: format!("{}", 30 + i),
                state,
                opened_at_ms,
                updated_at_ms,
                resolved_at_ms: if state == AlertState::Resolved {
                    updated_at_ms
                } else {
                    0
                },
                value: -0.1 * (k as f64 + 1.0),
                threshold: 0.0,
                evidence: format!("freeboard {k}"),
                revision: 0,
            };
            store.insert(&[AlertRow::from(&event)]).await?;
            if state == last {
                break;
            }
        }
        alert_ids.push(id);
    }
    let actions: Vec<ActionRow> = alert_ids
        .iter()
        .take(3)
        .enumerate()
        .map(|(i, id)| {
            ActionRow::from(&AlertAction {
                alert_id: id.clone(),
                action: ["acknowledge", "resolve"][i % 2].to_owned(),
                comment: format!("crew {i}"),
                actor: "somchai".to_owned(),
                at_ms: t0_ms + 900_000 + i as i64,
            })
        })
        .collect();
    store.insert(&actions).await?;

    let audit: Vec<AuditRow> = (0..30)
        .map(|i| {
            AuditRow::from(AuditEntry {
                at_ms: t0_ms + i * 1_000,
                user: ["somchai", "malee", ""][i as usize % 3].to_owned(),
                role: "operator".to_owned(),
                method: "GET".to_owned(),
                route: ["/api/wall", "/api/area/{level}/{code}", "/api/audit"][i as usize % 3]
                    .to_owned(),
                params: format!("n={i}"),
                decision: if i % 4 == 0 { "deny" } else { "allow" }.to_owned(),
                reason: if i % 4 == 0 { "out_of_scope" } else { "" }.to_owned(),
                status: if i % 4 == 0 { 403 } else { 200 },
                peer: "127.0.0.1".to_owned(),
            })
        })
        .collect();
    store.insert(&audit).await?;

    Ok(Seeded {
        t0_ms,
        district,
        group,
        alert_ids,
        windows,
    })
}
