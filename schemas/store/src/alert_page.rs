//! The alerts page's read: filtered, counted, grouped and paged in
//! ClickHouse, so a thousand open alerts cost the browser one page of them.
//!
//! Only closed sets (committees, severities, states) and province codes
//! checked against the reference list are written into the SQL; nothing a
//! caller typed reaches it.

use std::collections::{BTreeMap, BTreeSet};

use clickhouse::Row;
use pmoc_schemas::{
    alert::{AlertState, Severity},
    api::{AlertGroup, AlertPage, AlertStateFilter},
    area::{province, region4_of},
    committee::Committee,
};
use serde::Deserialize;

use crate::{
    Result, Store,
    rows::{ActionRow, Table},
};

/// Which alerts, and which page of them.
#[derive(Debug, Clone, Copy)]
pub struct AlertFilter<'a> {
    /// Alerts of these committees only (the caller's scope and choice).
    pub committees: &'a [Committee],
    pub severity: Option<Severity>,
    pub state: AlertStateFilter,
    /// Only alerts in these provinces or their districts; `None`: anywhere,
    /// the nation included.
    pub provinces: Option<&'a BTreeSet<String>>,
    pub page: u32,
    pub per_page: u32,
}

/// Worst first, newest first within a severity; the id breaks ties so a
/// page boundary is stable.
const ORDER: &str = "multiIf(severity = 'critical', 2, severity = 'warning', 1, 0) DESC, \
                     opened_at_ms DESC, alert_id";

impl AlertFilter<'_> {
    /// The `WHERE` condition; `None` when nothing can match.
    fn condition(&self) -> Option<String> {
        let quoted = |items: &mut dyn Iterator<Item = &str>| {
            items
                .map(|s| format!("'{s}'"))
                .collect::<Vec<_>>()
                .join(",")
        };
        if self.committees.is_empty() {
            return None;
        }
        let mut parts = vec![format!(
            "committee IN ({})",
            quoted(&mut self.committees.iter().map(|c| c.as_str()))
        )];
        if let Some(s) = self.severity {
            parts.push(format!("severity = '{}'", s.as_str()));
        }
        let acted = format!("alert_id IN (SELECT alert_id FROM {})", ActionRow::TABLE);
        let open = AlertState::OPEN_SQL;
        match self.state {
            AlertStateFilter::Open => parts.push(open.to_owned()),
            AlertStateFilter::Unacknowledged => parts.push(format!("{open} AND NOT ({acted})")),
            AlertStateFilter::Acknowledged => parts.push(format!("{open} AND {acted}")),
            // Ended either way: the breach passed, or corrected figures
            // show it never was.
            AlertStateFilter::Resolved => parts.push(format!("NOT ({open})")),
            AlertStateFilter::All => {}
        }
        if let Some(codes) = self.provinces {
            let known: Vec<&str> = codes
                .iter()
                .map(String::as_str)
                .filter(|c| province(c).is_some())
                .collect();
            if known.is_empty() {
                return None;
            }
            let list = quoted(&mut known.into_iter());
            parts.push(format!(
                "((area_level = 'province' AND area_code IN ({list})) \
                 OR (area_level = 'district' AND substring(area_code, 1, 2) IN ({list})))"
            ));
        }
        Some(parts.join(" AND "))
    }
}

/// Matching alerts of one rule, area and severity.
#[derive(Debug, Row, Deserialize)]
struct GroupRow {
    rule: String,
    area_level: String,
    area_code: String,
    severity: String,
    n: u64,
}

impl Store {
    /// One page of the alerts matching `filter`, worst and newest first,
    /// with their action history, the number matching, and all matching
    /// alerts counted by rule and region. Values and evidence leave
    /// protected by `privacy`, as every alert read does.
    pub async fn alert_page(
        &self,
        filter: &AlertFilter<'_>,
        privacy: &pmoc_schemas::privacy::PrivacySettings,
    ) -> Result<AlertPage> {
        let per_page = filter.per_page.max(1);
        let mut page = AlertPage {
            page: filter.page,
            per_page,
            ..AlertPage::default()
        };
        let Some(cond) = filter.condition() else {
            return Ok(page);
        };
        let alerts = crate::read::latest_alerts();
        let groups: Vec<GroupRow> = self
            .servers
            .run(|c| {
                c.query(&format!(
                    "SELECT rule, area_level, area_code, severity, count() AS n
                     FROM {alerts} WHERE {cond}
                     GROUP BY rule, area_level, area_code, severity"
                ))
                .fetch_all()
            })
            .await?;
        page.total = groups.iter().map(|g| g.n).sum();
        page.groups = by_rule_and_region(groups);
        if page.total == 0 {
            return Ok(page);
        }
        // `LIMIT offset, count`: the form every ClickHouse release reads.
        let offset = u64::from(filter.page) * u64::from(per_page);
        let limit = format!("LIMIT {offset}, {per_page}");
        page.alerts = self
            .alerts_with_history(
                &format!("SELECT ?fields FROM {alerts} WHERE {cond} ORDER BY {ORDER} {limit}"),
                &format!("SELECT alert_id FROM {alerts} WHERE {cond} ORDER BY {ORDER} {limit}"),
                privacy,
            )
            .await?;
        Ok(page)
    }
}

/// Rolls (rule, area, severity) counts up into (rule, region): worst first,
/// then most alerts first.
fn by_rule_and_region(rows: Vec<GroupRow>) -> Vec<AlertGroup> {
    let mut groups: BTreeMap<(String, &'static str), (u64, Severity)> = BTreeMap::new();
    for r in rows {
        let severity = Severity::from_name(&r.severity).unwrap_or_default();
        let g = groups
            .entry((r.rule, region4_of(&r.area_level, &r.area_code)))
            .or_insert((0, Severity::Info));
        g.0 += r.n;
        g.1 = g.1.max(severity);
    }
    let mut out: Vec<AlertGroup> = groups
        .into_iter()
        .map(|((rule, region), (count, worst))| AlertGroup {
            rule,
            region: region.to_owned(),
            count,
            worst,
        })
        .collect();
    out.sort_by(|a, b| b.worst.cmp(&a.worst).then(b.count.cmp(&a.count)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_condition_holds_only_closed_sets_and_known_provinces() {
        let provinces: BTreeSet<String> = ["34".to_owned(), "x' OR 1=1 --".to_owned()].into();
        let f = AlertFilter {
            committees: &[Committee::Water],
            severity: Some(Severity::Critical),
            state: AlertStateFilter::Unacknowledged,
            provinces: Some(&provinces),
            page: 0,
            per_page: 50,
        };
        let sql = f.condition().expect("a condition");
        assert!(sql.contains("committee IN ('water')"), "{sql}");
        assert!(sql.contains("severity = 'critical'"), "{sql}");
        assert!(sql.contains("IN ('34')") && !sql.contains("1=1"), "{sql}");
        let nowhere = AlertFilter {
            committees: &[],
            ..f
        };
        assert_eq!(nowhere.condition(), None);
    }

    #[test]
    fn groups_roll_districts_and_provinces_up_into_regions() {
        let row = |rule: &str, level: &str, code: &str, severity: &str, n| GroupRow {
            rule: rule.to_owned(),
            area_level: level.to_owned(),
            area_code: code.to_owned(),
            severity: severity.to_owned(),
            n,
        };
        let groups = by_rule_and_region(vec![
            row("pm25", "province", "50", "warning", 3),
            row("pm25", "district", "5001", "critical", 1),
            row("rain", "province", "34", "warning", 7),
            row("source_silent", "nation", "TH", "warning", 1),
        ]);
        assert_eq!(groups[0].rule, "pm25");
        assert_eq!((groups[0].region.as_str(), groups[0].count), ("N", 4));
        assert_eq!(groups[0].worst, Severity::Critical);
        assert_eq!((groups[1].region.as_str(), groups[1].count), ("NE", 7));
        assert_eq!(groups[2].region, "TH");
    }
}
