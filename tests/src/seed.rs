//! Realistic rows for the dashboard's tables, written straight into
//! ClickHouse: the dashboard's tests need a known state, not the pipeline
//! (which has its own tests against an oracle).

use std::fmt::Write;

use pmoc_schemas::metric::{self, MetricDef};

/// One row of `window_aggregates`, all figures derived from one `value`.
#[derive(Debug, Clone)]
pub struct Window {
    pub metric: &'static MetricDef,
    pub area_level: &'static str,
    pub area_code: String,
    pub window_seconds: u32,
    pub start_s: i64,
    pub value: f64,
    pub is_final: bool,
    pub version: u64,
    /// Late values folded in after the window was final.
    pub revised_count: u32,
}

impl Window {
    /// A window whose headline (per the catalogue) is `value`.
    pub fn new(
        metric: &str,
        level: &'static str,
        code: &str,
        width: u32,
        start_s: i64,
        value: f64,
    ) -> Self {
        let def = metric::METRICS
            .iter()
            .find(|d| d.name == metric)
            .unwrap_or_else(|| panic!("{metric} is not in the catalogue"));
        Self {
            metric: def,
            area_level: level,
            area_code: code.to_owned(),
            window_seconds: width,
            start_s,
            value,
            is_final: true,
            version: 2,
            revised_count: 0,
        }
    }

    fn values_sql(&self) -> String {
        use pmoc_schemas::metric::Headline as H;
        let v = self.value;
        // Every figure consistent with the headline being `v`.
        let (count, sum, min, max, last, p50) = match self.metric.headline {
            H::Count => (v as u64, v * 2.5, 1.0, 4.0, 2.0, 2.0),
            H::Sum => (12, v, v / 24.0, v / 6.0, v / 12.0, v / 12.0),
            H::Mean => (10, v * 10.0, v - 1.0, v + 1.0, v, v),
            H::Max => (10, v * 8.0, v / 2.0, v, v * 0.9, v * 0.8),
            H::Min => (10, v * 12.0, v, v * 1.5, v * 1.2, v * 1.2),
            H::Last => (10, v * 10.0, v - 0.5, v + 0.5, v, v),
            H::P50 => (40, v * 44.0, 1.0, v * 3.0, v, v),
            // v of 120 stations.
            H::SumOfCount => (120, v, 0.0, 1.0, 1.0, 1.0),
        };
        let end = self.start_s + i64::from(self.window_seconds);
        format!(
            "('{}','{}','{}','{}','{}',{},{},{},{count},{sum},{min},{max},{last},{},{p50},{},{},{},{},{})",
            self.metric.name,
            self.metric.committee.as_str(),
            self.metric.source,
            self.area_level,
            self.area_code,
            self.window_seconds,
            self.start_s,
            end,
            (end - 1) * 1000,
            // Only distributions keep percentiles; the pipeline writes NaN.
            if self.metric.distribution {
                format!("{}", p50 * 1.8)
            } else {
                "nan".to_owned()
            },
            u8::from(self.is_final),
            // A running value was computed a moment ago, a final one at the end.
            if self.is_final {
                end * 1000
            } else {
                (self.start_s + 60) * 1000
            },
            self.version,
            self.revised_count,
        )
    }
}

/// Inserts windows in one statement.
pub async fn windows(client: &clickhouse::Client, rows: &[Window]) -> anyhow::Result<()> {
    let mut sql = String::from(
        "INSERT INTO window_aggregates (metric, committee, source, area_level, area_code, \
         window_seconds, window_start, window_end, count, sum, min, max, last, \
         last_event_time_ms, p50, p95, is_final, computed_at_ms, version, revised_count) VALUES ",
    );
    for (i, r) in rows.iter().enumerate() {
        if i > 0 {
            sql.push(',');
        }
        sql.push_str(&r.values_sql());
    }
    client.query(&sql).execute().await?;
    Ok(())
}

/// One source's completeness and liveness, as one pipeline worker reports it.
pub async fn watermark(
    client: &clickhouse::Client,
    (committee, agency, schema): (&str, &str, &str),
    final_up_to_ms: i64,
    last_seen_ms: i64,
    cadence_s: u32,
) -> anyhow::Result<()> {
    let system = format!("{agency} feed");
    watermark_of(
        client,
        (committee, agency, &system, schema),
        final_up_to_ms,
        last_seen_ms,
        cadence_s,
    )
    .await
}

/// [`watermark`] of a named system: two systems sending one feed are two
/// sources.
pub async fn watermark_of(
    client: &clickhouse::Client,
    (committee, agency, system, schema): (&str, &str, &str, &str),
    final_up_to_ms: i64,
    last_seen_ms: i64,
    cadence_s: u32,
) -> anyhow::Result<()> {
    client
        .query(&format!(
            "INSERT INTO source_watermarks VALUES ('{committee}','{agency}','{system}','{schema}',0,\
             {final_up_to_ms},{last_seen_ms},{last_seen_ms},{cadence_s},1200,{last_seen_ms})"
        ))
        .execute()
        .await?;
    Ok(())
}

/// An open alert.
pub struct Alert<'a> {
    pub id: &'a str,
    pub rule: &'a str,
    pub severity: &'a str,
    pub committee: &'a str,
    pub metric: &'a str,
    pub area: (&'a str, &'a str),
    pub opened_at_ms: i64,
    pub value: f64,
    pub threshold: f64,
}

pub async fn alerts(client: &clickhouse::Client, alerts: &[Alert<'_>]) -> anyhow::Result<()> {
    let mut sql = String::from("INSERT INTO alerts VALUES ");
    for (i, a) in alerts.iter().enumerate() {
        if i > 0 {
            sql.push(',');
        }
        let _ = write!(
            sql,
            "('{}','{}','{}','{}','{}','{}','{}','open',{},{},0,{},{},'{} {} over {}',1)",
            a.id,
            a.rule,
            a.severity,
            a.committee,
            a.metric,
            a.area.0,
            a.area.1,
            a.opened_at_ms,
            a.opened_at_ms,
            a.value,
            a.threshold,
            a.metric,
            a.value,
            a.threshold
        );
    }
    client.query(&sql).execute().await?;
    Ok(())
}

/// `n` rejected messages of one reason on `topic`.
pub async fn rejects(
    client: &clickhouse::Client,
    topic: &str,
    reason_kind: &str,
    n: i64,
    at_ms: i64,
) -> anyhow::Result<()> {
    let rows: Vec<String> = (0..n)
        .map(|i| format!("('{topic}',0,{i},'{reason_kind}','bad input','{{}}',2,{at_ms})"))
        .collect();
    client
        .query(&format!(
            "INSERT INTO rejected_events VALUES {}",
            rows.join(",")
        ))
        .execute()
        .await?;
    Ok(())
}

/// `n` late values of `metric` with event time `event_ms`: corrections the
/// figure of that window does not include.
pub async fn late(
    client: &clickhouse::Client,
    metric: &str,
    event_ms: i64,
    n: i64,
) -> anyhow::Result<()> {
    let rows: Vec<String> = (0..n)
        .map(|i| {
            format!("('{metric}','late-{metric}-{i}','10',{event_ms},{event_ms},1.0,{event_ms})")
        })
        .collect();
    client
        .query(&format!(
            "INSERT INTO late_events VALUES {}",
            rows.join(",")
        ))
        .execute()
        .await?;
    Ok(())
}
