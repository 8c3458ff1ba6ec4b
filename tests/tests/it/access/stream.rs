//! The push channel: the same scope as the API, applied to every push of
//! every connection, and the same refusals, audited.

use std::time::Duration;

use anyhow::Context;
use pmoc_schemas::{
    api::WallSnapshot,
    committee::Committee,
    delta::{Delta, Held},
};
use pmoc_tests::{
    auth::{http, sign_in},
    seed,
};
use reqwest::StatusCode;

use super::Stack;

/// One connection's stream and the wall it has rebuilt so far.
struct Pushes {
    response: reqwest::Response,
    buffer: String,
    held: Held,
    /// Every `wall` and `wall-delta` payload received, as sent.
    raw: Vec<String>,
}

impl Pushes {
    fn new(response: reqwest::Response) -> Self {
        Self {
            response,
            buffer: String::new(),
            held: Held::default(),
            raw: Vec::new(),
        }
    }
}

/// Reads the stream until the next `wall` event (a full snapshot or a
/// delta, applied to what the connection holds, as the browser does);
/// returns the wall as rebuilt and whether a `water` event came before it.
async fn next_wall(pushes: &mut Pushes) -> anyhow::Result<(WallSnapshot, bool)> {
    let Pushes {
        response,
        buffer,
        held,
        raw,
    } = pushes;
    let mut water = false;
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            while let Some(end) = buffer.find("\n\n") {
                let block: String = buffer.drain(..end + 2).collect();
                let event = block.lines().find_map(|l| l.strip_prefix("event: "));
                let data = block.lines().find_map(|l| l.strip_prefix("data: "));
                match (event, data) {
                    (Some("water" | "water-delta"), _) => water = true,
                    (Some("wall"), Some(data)) => {
                        raw.push(data.to_owned());
                        *held = Held::full(serde_json::from_str(data)?);
                        return Ok((serde_json::from_value(held.state.clone())?, water));
                    }
                    (Some("wall-delta"), Some(data)) => {
                        raw.push(data.to_owned());
                        let delta: Delta = serde_json::from_str(data)?;
                        held.next(&delta)?;
                        return Ok((serde_json::from_value(held.state.clone())?, water));
                    }
                    _ => {}
                }
            }
            let chunk = response.chunk().await?.context("the stream ended")?;
            buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    })
    .await
    .context("no wall event within 20 s")?
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_push_channel_is_cut_per_connection_and_refusals_are_audited() -> anyhow::Result<()> {
    let stack = Stack::start("access_stream", |_| {}).await?;
    let (op, wne, sec) = (
        sign_in(&stack.base, "op").await?,
        sign_in(&stack.base, "wne").await?,
        sign_in(&stack.base, "sec").await?,
    );
    let kiosk = stack.kiosk_cookie().await?;

    // Refused like the API, and audited.
    let anonymous = http().get(stack.url("/api/stream")).send().await?;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    stack.audited("", "/api/stream", "no_session").await?;
    let outside = wne
        .get(&stack.url("/api/stream?committee=security"))
        .send()
        .await?;
    assert_eq!(outside.status(), StatusCode::FORBIDDEN);
    stack.audited("wne", "/api/stream", "out_of_scope").await?;
    let bad = wne
        .get(&stack.url("/api/stream?committee=navy"))
        .send()
        .await?;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);

    // Each connection gets its own cut.
    let op_stream = op
        .get(&stack.url("/api/stream"))
        .send()
        .await?
        .error_for_status()?;
    let wne_stream = wne
        .get(&stack.url("/api/stream"))
        .send()
        .await?
        .error_for_status()?;
    let sec_stream = sec
        .get(&stack.url("/api/stream?committee=security"))
        .send()
        .await?
        .error_for_status()?;
    let kiosk_stream = http()
        .get(stack.url("/api/stream"))
        .header("cookie", &kiosk)
        .send()
        .await?
        .error_for_status()?;
    let (mut b_op, mut b_wne, mut b_sec, mut b_kiosk) = (
        Pushes::new(op_stream),
        Pushes::new(wne_stream),
        Pushes::new(sec_stream),
        Pushes::new(kiosk_stream),
    );
    let (all, _) = next_wall(&mut b_op).await?;
    assert_eq!(all.panels.len(), 4);
    assert!(all.alerts.len() >= 3);
    let (mine, _) = next_wall(&mut b_wne).await?;
    assert!(mine.panels.is_empty());
    assert!(
        mine.alerts
            .iter()
            .all(|a| a.event.committee == Committee::Water && a.event.area_code == "34")
    );
    assert!(mine.freshness.iter().all(|f| f.committee == "water"));
    let (security, _) = next_wall(&mut b_sec).await?;
    let committees: Vec<&str> = security
        .panels
        .iter()
        .map(|p| p.committee.as_str())
        .collect();
    assert_eq!(committees, ["security"], "?committee= narrows the push");
    let (wall, water) = next_wall(&mut b_kiosk).await?;
    assert!(!water, "a kiosk gets the wall only");
    assert_eq!(
        wall.panels.len(),
        4,
        "the kiosk's role (executive) sees every panel"
    );

    // A new alert outside the liaison's scope: everyone's next push is cut
    // again; the operator sees it, the Northeast water liaison does not.
    let now = pmoc_pipeline::clock::now_ms();
    seed::alerts(
        &stack.client,
        &[seed::Alert {
            id: "a-water-50-new",
            rule: "water_over_bank",
            severity: "critical",
            committee: "water",
            metric: "water_freeboard_m",
            area: ("province", "50"),
            opened_at_ms: now,
            value: -0.5,
            threshold: 0.0,
        }],
    )
    .await?;
    let (all, _) = next_wall(&mut b_op).await?;
    assert!(
        all.alerts
            .iter()
            .any(|a| a.event.alert_id == "a-water-50-new")
    );
    // Every push the liaison gets, up to the one the operator saw it in.
    loop {
        let (mine, _) = next_wall(&mut b_wne).await?;
        assert!(
            mine.alerts
                .iter()
                .all(|a| a.event.alert_id != "a-water-50-new"),
            "Chiang Mai is outside the Northeast"
        );
        if mine.generated_at_ms >= all.generated_at_ms {
            break;
        }
    }
    // Not in any push to the liaison, whole or delta.
    assert!(
        b_wne.raw.len() >= 2,
        "the liaison was pushed again after the alert"
    );
    assert!(
        b_wne.raw.iter().all(|r| !r.contains("a-water-50-new")),
        "no push to the liaison names the alert"
    );
    drop((b_op, b_wne, b_sec, b_kiosk));
    stack.stop().await
}
