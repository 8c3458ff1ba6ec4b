//! What the wall-screen test seeds: a day of windows for every metric, the
//! map figures of every province, Ubon's districts, source watermarks,
//! alerts and rejects, all relative to the test's start.

use pmoc_schemas::{area::provinces, config::Settings, district::districts, metric::Headline};
use pmoc_tests::seed::{self, Window};

pub const HOUR: i64 = 3_600;

/// A day of hourly nation windows for every metric plus the open hour,
/// every province's map figures, Ubon's districts and its region.
pub fn windows(now_s: i64) -> Vec<Window> {
    let hour = now_s - now_s % HOUR;
    let mut rows = Vec::new();
    for (i, m) in pmoc_schemas::metric::METRICS.iter().enumerate() {
        for k in 0..24 {
            let start = hour - HOUR * (24 - k);
            let v = if m.headline == Headline::SumOfCount {
                // Stations meeting a condition, of the 120 reporting.
                ((k * 7) % 9) as f64
            } else {
                100.0 * (i as f64 + 1.0) + (k as f64 * 7.0) % 23.0
            };
            let mut w = Window::new(m.name, "nation", "TH", 3600, start, v);
            // The last hour's rain was revised by three late gauges.
            if m.name == "rain_1h_mm" && k == 23 {
                w.revised_count = 3;
                w.version = 3;
            }
            rows.push(w);
        }
    }
    // The open hour: provisional headlines the test looks for.
    for (metric, v) in [
        ("water_level_m_msl", 12.34),
        ("births", 4321.0),
        ("incident_severity", 57.0),
        ("pm25_ugm3", 87.5),
    ] {
        let mut w = Window::new(metric, "nation", "TH", 3600, hour, v);
        w.is_final = false;
        w.version = 1;
        rows.push(w);
    }
    for (n, p) in provinces().iter().enumerate() {
        let x = n as f64;
        for (metric, v) in [
            ("births", 40.0 + x * 3.0),
            ("incident_severity", (x * 7.0) % 13.0),
            ("water_freeboard_m", 0.2 + (x * 0.37) % 6.0),
            ("pm25_ugm3", 15.0 + (x * 11.0) % 90.0),
        ] {
            for k in 0..3 {
                rows.push(Window::new(
                    metric,
                    "province",
                    &p.code,
                    3600,
                    hour - HOUR * k,
                    v + k as f64,
                ));
            }
        }
    }
    for k in 0..24 {
        let start = hour - HOUR * k;
        rows.push(Window::new(
            "water_level_m_msl",
            "province",
            "34",
            3600,
            start,
            110.0 + k as f64 * 0.1,
        ));
        rows.push(Window::new(
            "water_level_m_msl",
            "region4",
            "NE",
            3600,
            start,
            108.0 + k as f64 * 0.1,
        ));
    }
    for (n, d) in districts()
        .iter()
        .filter(|d| d.province_code == "34")
        .enumerate()
    {
        rows.push(Window::new(
            "water_level_m_msl",
            "district",
            &d.code,
            3600,
            hour - HOUR,
            105.0 + n as f64,
        ));
        // 3401 has three births: a small count of people, never shown.
        let births = if d.code == "3401" {
            3.0
        } else {
            20.0 + n as f64
        };
        rows.push(Window::new(
            "births",
            "district",
            &d.code,
            3600,
            hour - HOUR,
            births,
        ));
    }
    rows
}

pub async fn seed_all(
    client: &clickhouse::Client,
    settings: &Settings,
    now_ms: i64,
) -> anyhow::Result<()> {
    seed::windows(client, &windows(now_ms / 1000)).await?;
    let hour_ms = now_ms - now_ms % (HOUR * 1000);
    // Twelve births of the open hour arrived too late for it (shown as 10:
    // corrections to a count of people are rounded like it).
    seed::late(client, "births", hour_ms + 60_000, 12).await?;
    seed::watermark(
        client,
        ("water", "HII", "hii.water_level"),
        hour_ms,
        now_ms - 60_000,
        600,
    )
    .await?;
    seed::watermark(
        client,
        ("population", "DOPA", "dopa.civil_registration"),
        hour_ms,
        now_ms - 600_000,
        3600,
    )
    .await?;
    // Security has gone quiet for 40 min against a 15-min cadence: amber.
    seed::watermark(
        client,
        ("security", "NSC", "nsc.incident"),
        hour_ms - 3_600_000,
        now_ms - 2_400_000,
        900,
    )
    .await?;
    seed::watermark(
        client,
        ("resources", "PCD", "pcd.air_quality"),
        hour_ms,
        now_ms - 120_000,
        3600,
    )
    .await?;
    seed::alerts(
        client,
        &[
            seed::Alert {
                id: "a-water-34",
                rule: "water_over_bank",
                severity: "critical",
                committee: "water",
                metric: "water_freeboard_m",
                area: ("province", "34"),
                opened_at_ms: now_ms - 600_000,
                value: -0.3,
                threshold: 0.0,
            },
            seed::Alert {
                id: "a-sec-95",
                rule: "incident_spike",
                severity: "warning",
                committee: "security",
                metric: "incident_severity",
                area: ("province", "95"),
                opened_at_ms: now_ms - 1_200_000,
                value: 14.0,
                threshold: 8.0,
            },
            seed::Alert {
                id: "a-res-50",
                rule: "pm25_hazardous",
                severity: "info",
                committee: "resources",
                metric: "pm25_ugm3",
                area: ("province", "50"),
                opened_at_ms: now_ms - 300_000,
                value: 92.0,
                threshold: 75.0,
            },
        ],
    )
    .await?;
    seed::rejects(
        client,
        &settings.kafka.topics.water,
        "invalid_field",
        3,
        now_ms - 60_000,
    )
    .await?;
    Ok(())
}

/// More open alerts than the wall has room for: 34 PM2.5 warnings across
/// provinces (none in Bangkok, whose map colour the test checks), so the
/// alert area must say how many it shows and summarise the rest.
pub async fn seed_crowd(client: &clickhouse::Client, now_ms: i64) -> anyhow::Result<usize> {
    let codes: Vec<String> = provinces()
        .iter()
        .map(|p| p.code.clone())
        .filter(|c| !["10", "34", "50", "95"].contains(&c.as_str()))
        .take(34)
        .collect();
    let ids: Vec<String> = codes.iter().map(|c| format!("a-pm-{c}")).collect();
    let crowd: Vec<seed::Alert<'_>> = codes
        .iter()
        .zip(&ids)
        .enumerate()
        .map(|(i, (code, id))| seed::Alert {
            id,
            rule: "pm25_over_standard",
            severity: "warning",
            committee: "resources",
            metric: "pm25_ugm3",
            area: ("province", code),
            opened_at_ms: now_ms - 60_000 * (i as i64 + 1),
            value: 40.0 + i as f64,
            threshold: 37.5,
        })
        .collect();
    seed::alerts(client, &crowd).await?;
    Ok(crowd.len())
}

/// The rest of the registered sources, as on a stack where many are late
/// at once (seven late or silent, one feed from two systems): the
/// freshness strip must still take one line, and the focus panel keep its
/// room.
pub async fn seed_late_sources(client: &clickhouse::Client, now_ms: i64) -> anyhow::Result<()> {
    let min = 60_000;
    for (source, silent_min, cadence_s) in [
        (
            ("population", "DOPA", "DOPA feed", "dopa.public_service"),
            40,
            300,
        ),
        (("water", "HII", "HII feed", "hii.rainfall"), 20, 600),
        (("water", "HII", "thaiwater", "hii.water_level"), 95, 600),
        (("water", "RID", "RID feed", "rid.dam_storage"), 300, 86_400),
        (("water", "TMD", "TMD feed", "tmd.weather"), 200, 3_600),
        (
            ("resources", "GISTDA", "GISTDA feed", "gistda.hotspot"),
            30,
            21_600,
        ),
        (
            ("resources", "CGD", "CGD feed", "cgd.budget_disbursement"),
            4_400,
            86_400,
        ),
        (
            ("resources", "CGD", "CGD feed", "cgd.procurement_contract"),
            150,
            3_600,
        ),
    ] {
        let last = now_ms - silent_min * min;
        seed::watermark_of(client, source, last - last % (HOUR * 1000), last, cadence_s).await?;
    }
    Ok(())
}
