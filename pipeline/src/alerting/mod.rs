//! Alerts: threshold and rate rules evaluated on final province windows in
//! the dataflow, and silence rules evaluated by the writer from the sources'
//! last-seen times.
//!
//! A rule over a count of people compares the figure as the dashboard may
//! publish it (`pmoc_schemas::privacy`: rounded, a suppressed one as 0), and
//! its alerts carry value, limit and evidence already protected, so neither
//! an alert's text nor whether and when it fired tells more than the
//! published figures.
//!
//! Each (rule, area) has at most one open alert. A breach held for the
//! rule's `min_windows` opens it, further breaching windows update it when
//! the value changes, and the first window on the safe side of the limit by
//! the rule's `clear_margin` resolves it (hysteresis: a value hovering at
//! the limit opens one alert, not one a minute). A rule with
//! `averaging_seconds` judges each station's mean over that period (PM2.5's
//! 24-hour standard), from the latest reading per station of each window. Alert ids and timestamps come from event
//! time, not the wall clock, so a replay after a crash rewrites the same
//! rows instead of adding new ones.

use std::collections::{BTreeMap, HashMap, VecDeque};

use pmoc_schemas::{
    aggregate::AreaLevel,
    alert::{AlertEvent, AlertRules, AlertState, Severity, Statistic, ThresholdRule},
    metric::MetricId,
    privacy::{PrivacySettings, is_people},
};
use timely::{
    container::CapacityContainerBuilder,
    dataflow::{
        Stream,
        channels::pact::{Exchange, Pipeline},
        operators::{Capability, Concat, Operator},
    },
};

use crate::{
    record::{Output, WindowValue},
    window::{Accumulator, Area},
};

/// A rule, resolved against the metric catalogue once.
#[derive(Debug, Clone)]
enum Rule {
    Threshold {
        name: String,
        metric: MetricId,
        width_ms: i64,
        statistic: Statistic,
        limit: f64,
        severity: Severity,
        /// How many windows each entity's mean is taken over (1: none).
        averaging_windows: usize,
        rule: ThresholdRule,
    },
    Rate {
        name: String,
        metric: MetricId,
        width_ms: i64,
        baseline_windows: usize,
        factor: f64,
        min_count: u64,
        severity: Severity,
    },
}

impl Rule {
    fn applies_to(&self, w: &WindowValue) -> bool {
        let (metric, width_ms) = match self {
            Rule::Threshold {
                metric, width_ms, ..
            }
            | Rule::Rate {
                metric, width_ms, ..
            } => (*metric, *width_ms),
        };
        w.metric == metric && w.end_ms - w.start_ms == width_ms
    }

    fn name(&self) -> &str {
        match self {
            Rule::Threshold { name, .. } | Rule::Rate { name, .. } => name,
        }
    }
}

/// The rules of the settings that name a known metric; unknown ones are
/// logged and skipped rather than stopping the pipeline.
fn compile(rules: &AlertRules) -> Vec<Rule> {
    let metric = |name: &str, rule: &str| {
        let m = MetricId::from_name(name);
        if m.is_none() {
            tracing::error!(
                rule,
                metric = name,
                "alert rule names an unknown metric; skipped"
            );
        }
        m
    };
    let mut out = Vec::new();
    for t in &rules.thresholds {
        if let Some(m) = metric(&t.metric, &t.name) {
            let windows = t.averaging_seconds / t.window_seconds.max(1);
            out.push(Rule::Threshold {
                name: t.name.clone(),
                metric: m,
                width_ms: i64::from(t.window_seconds) * 1000,
                statistic: t.statistic,
                limit: t.limit,
                severity: t.severity,
                averaging_windows: windows.max(1) as usize,
                rule: t.clone(),
            });
        }
    }
    for r in &rules.rates {
        if let Some(m) = metric(&r.metric, &r.name) {
            out.push(Rule::Rate {
                name: r.name.clone(),
                metric: m,
                width_ms: i64::from(r.window_seconds) * 1000,
                baseline_windows: r.baseline_windows.max(1) as usize,
                factor: r.factor,
                min_count: r.min_count,
                severity: r.severity,
            });
        }
    }
    out
}

/// The rule's figure of a window: over each entity's latest report for the
/// entity kinds (the province's dams together: total over capacity); `None`
/// when it has none (no dam of known capacity), so no alert reads a NaN.
fn statistic(acc: &Accumulator, s: Statistic) -> Option<f64> {
    let t = acc.totals();
    match s {
        Statistic::Count => Some(t.count as f64),
        Statistic::Sum => Some(t.sum),
        Statistic::Mean => t.mean(),
        Statistic::Min => Some(t.min),
        Statistic::Max => Some(t.max),
        Statistic::Last => Some(acc.last),
    }
}

/// Each entity's values in the trailing windows of an averaging rule.
type Trail = VecDeque<(i64, Vec<(u64, f64)>)>;

/// The statistic over each entity's mean across `trail`: the worst
/// station's 24-hour mean for `Max`. Only entities with values in at least
/// three quarters of the period count (PCD's completeness rule for a
/// 24-hour mean: 18 hours), so one spiking hour after a quiet start or a
/// restart is not a day's mean.
fn averaged(trail: &Trail, s: Statistic, periods: usize) -> Option<f64> {
    let needed = (periods * 3).div_ceil(4) as u32;
    let mut means: BTreeMap<u64, (f64, u32)> = BTreeMap::new();
    for (_, values) in trail {
        for &(entity, v) in values {
            let m = means.entry(entity).or_default();
            *m = (m.0 + v, m.1 + 1);
        }
    }
    let means = means
        .values()
        .filter(|(_, n)| *n >= needed)
        .map(|(sum, n)| sum / f64::from(*n));
    match s {
        Statistic::Count => Some(trail.back().map_or(0, |(_, v)| v.len()) as f64),
        Statistic::Sum => Some(means.sum()),
        Statistic::Mean => {
            let (sum, n) = means.fold((0.0, 0u32), |(s, n), m| (s + m, n + 1));
            (n > 0).then(|| sum / f64::from(n))
        }
        Statistic::Min => means.reduce(f64::min),
        Statistic::Max | Statistic::Last => means.reduce(f64::max),
    }
}

/// Consecutive breaching windows and the first one's start.
type Streak = (u32, i64);

/// What one worker knows per (rule index, area).
#[derive(Default)]
struct State {
    privacy: PrivacySettings,
    open: HashMap<(usize, Area), AlertEvent>,
    /// Counts of the trailing windows of rate rules: (window start, count).
    history: HashMap<(usize, Area), VecDeque<(i64, u64)>>,
    /// Trailing windows of averaging rules.
    trails: HashMap<(usize, Area), Trail>,
    /// Consecutive breaching windows not yet opened, with the first's start.
    streaks: HashMap<(usize, Area), (u32, i64)>,
    /// The start of the newest window judged, and the streak before it: a
    /// revised window is judged again only while it is the newest (an
    /// alert's history is not rewritten), replacing its first judgement.
    judged: HashMap<(usize, Area), (i64, Option<Streak>)>,
}

impl State {
    /// Evaluates `rule` on one final window; returns the transition, if any.
    fn evaluate(&mut self, index: usize, rule: &Rule, w: &WindowValue) -> Option<AlertEvent> {
        let people = is_people(w.metric.name());
        let privacy = self.privacy;
        // What the rule may see of a people count: the published figure.
        let shown = |v: f64| if people { privacy.comparable(v) } else { v };
        let key = (index, w.area);
        match self.judged.get(&key).copied() {
            // A later window was judged already: too old to judge again.
            Some((start, _)) if w.start_ms < start => return None,
            // Judged before late values revised it: undo that judgement's
            // traces (trailing means, baseline, streak) and judge it again.
            Some((start, streak)) if w.start_ms == start => {
                let same = |s: Option<i64>| s == Some(start);
                if let Some(trail) = self.trails.get_mut(&key)
                    && same(trail.back().map(|(s, _)| *s))
                {
                    trail.pop_back();
                }
                if let Some(history) = self.history.get_mut(&key)
                    && same(history.back().map(|(s, _)| *s))
                {
                    history.pop_back();
                }
                match streak {
                    Some(s) => self.streaks.insert(key, s),
                    None => self.streaks.remove(&key),
                };
            }
            _ => {
                let streak = self.streaks.get(&key).copied();
                self.judged.insert(key, (w.start_ms, streak));
            }
        }
        let (breach, value, limit, severity) = match rule {
            Rule::Threshold {
                statistic: s,
                limit,
                severity,
                averaging_windows,
                width_ms,
                rule,
                ..
            } => {
                let value = if *averaging_windows > 1 {
                    let trail = self.trails.entry(key).or_default();
                    let latest = w.acc.entities.as_ref().map_or_else(
                        || vec![(0, statistic(&w.acc, *s).unwrap_or(f64::NAN))],
                        |e| e.iter().map(|(&k, l)| (k, l.value)).collect(),
                    );
                    trail.push_back((w.start_ms, latest));
                    let oldest = w.start_ms - (*averaging_windows as i64 - 1) * width_ms;
                    while trail.front().is_some_and(|(start, _)| *start < oldest) {
                        trail.pop_front();
                    }
                    averaged(trail, *s, *averaging_windows)
                } else {
                    statistic(&w.acc, *s)
                };
                let value = shown(value.filter(|v| v.is_finite())?);
                let breach = if self.open.contains_key(&key) {
                    !rule.cleared(value)
                } else {
                    let streak = self.streaks.entry(key).or_insert((0, w.start_ms));
                    if rule.comparison.breached(value, *limit) {
                        streak.0 += 1;
                    } else {
                        *streak = (0, w.start_ms);
                    }
                    if streak.0 == 1 {
                        streak.1 = w.start_ms;
                    }
                    streak.0 >= rule.min_windows
                };
                (breach, value, *limit, *severity)
            }
            Rule::Rate {
                width_ms,
                baseline_windows,
                factor,
                min_count,
                severity,
                ..
            } => {
                let history = self.history.entry((index, w.area)).or_default();
                // Windows without events are zeros of the baseline.
                if let Some(&(last, _)) = history.back() {
                    let mut start = last + width_ms;
                    while start < w.start_ms && history.len() <= *baseline_windows {
                        history.push_back((start, 0));
                        start += width_ms;
                    }
                }
                let baseline = if history.is_empty() {
                    None
                } else {
                    Some(history.iter().map(|(_, c)| *c).sum::<u64>() as f64 / history.len() as f64)
                };
                let count = shown(w.acc.totals().count as f64) as u64;
                let limit = baseline.map_or(f64::INFINITY, |b| (b * factor).max(*min_count as f64));
                history.push_back((w.start_ms, count));
                while history.len() > *baseline_windows {
                    history.pop_front();
                }
                (count as f64 >= limit, count as f64, limit, *severity)
            }
        };
        let averaging = match rule {
            Rule::Threshold {
                averaging_windows,
                width_ms,
                ..
            } if *averaging_windows > 1 => format!(
                ", each station's mean over {} h",
                *averaging_windows as i64 * width_ms / 3_600_000
            ),
            _ => String::new(),
        };
        let evidence = |value: f64| {
            // Rewritten with the published figures when about people
            // (`PrivacySettings::alert`), keeping the window and the rule.
            format!(
                "{} {value:.2} vs {limit:.2} in the {} s window from {}{averaging} ({})",
                w.metric.name(),
                (w.end_ms - w.start_ms) / 1000,
                crate::window::local_time(w.start_ms),
                rule.name(),
            )
        };
        match (breach, self.open.get_mut(&key)) {
            (true, None) => {
                // Opened when the breach began, not when it had lasted.
                let opened_ms = self.streaks.remove(&key).map_or(w.start_ms, |(_, s)| s);
                let def = w.metric.def();
                let area = w.area.code_string();
                let mut event = AlertEvent {
                    alert_id: format!(
                        "{}:{}:{area}:{}",
                        rule.name(),
                        w.area.level.as_str(),
                        opened_ms
                    ),
                    rule: rule.name().to_owned(),
                    severity,
                    committee: def.committee,
                    metric: def.name.to_owned(),
                    area_level: w.area.level.as_str().to_owned(),
                    area_code: area,
                    state: AlertState::Open,
                    opened_at_ms: opened_ms,
                    updated_at_ms: w.end_ms,
                    resolved_at_ms: 0,
                    value,
                    threshold: limit,
                    evidence: evidence(value),
                };
                privacy.alert(&mut event);
                self.open.insert(key, event.clone());
                Some(event)
            }
            (true, Some(open)) if open.value != privacy_value(&privacy, people, value) => {
                open.state = AlertState::Updated;
                open.value = value;
                open.threshold = limit;
                open.updated_at_ms = w.end_ms;
                open.evidence = evidence(value);
                privacy.alert(open);
                Some(open.clone())
            }
            (false, Some(_)) => {
                let mut event = self.open.remove(&key)?;
                event.state = AlertState::Resolved;
                event.value = value;
                event.updated_at_ms = w.end_ms;
                event.resolved_at_ms = w.end_ms;
                event.evidence = evidence(value);
                privacy.alert(&mut event);
                Some(event)
            }
            _ => None,
        }
    }
}

/// A breaching value as its alert stores it (a breach over people is
/// never suppressed: rules compare suppressed counts as 0).
fn privacy_value(privacy: &PrivacySettings, people: bool, value: f64) -> f64 {
    if people {
        privacy.published(value)
    } else {
        value
    }
}

/// Adds the alert transitions of the final province windows in `outputs`.
/// `open` are the alerts open when the pipeline last stopped, so a restart
/// updates or resolves them instead of opening duplicates.
pub fn alerts<'s>(
    outputs: Stream<'s, u64, Vec<Output>>,
    rules: &AlertRules,
    privacy: PrivacySettings,
    open: Vec<AlertEvent>,
) -> Stream<'s, u64, Vec<Output>> {
    let rules = compile(rules);
    // Only final province windows some rule reads cross the exchange.
    let wanted = rules.clone();
    let candidates = outputs
        .clone()
        .unary::<CapacityContainerBuilder<Vec<WindowValue>>, _, _, _>(
            Pipeline,
            "AlertCandidates",
            move |_, _| {
                move |input, output| {
                    input.for_each(|cap, data| {
                        let mut session = output.session(&cap);
                        for o in data.iter() {
                            if let Output::Window(w) = o
                                && w.is_final
                                && w.area.level == AreaLevel::Province
                                && wanted.iter().any(|r| r.applies_to(w))
                            {
                                session.give((**w).clone());
                            }
                        }
                    });
                }
            },
        );
    let transitions = candidates.unary_frontier::<CapacityContainerBuilder<Vec<Output>>, _, _, _>(
        Exchange::new(|w: &WindowValue| w.area.route()),
        "Alerts",
        move |_, _| {
            let mut state = State {
                privacy,
                ..State::default()
            };
            for event in open {
                let Some(index) = rules.iter().position(|r| r.name() == event.rule) else {
                    continue;
                };
                if event.area_level == AreaLevel::Province.as_str()
                    && let Ok(code) = event.area_code.parse()
                {
                    let area = Area {
                        level: AreaLevel::Province,
                        code,
                    };
                    state.open.insert((index, area), event);
                }
            }
            // Final windows, by time, evaluated in time order once complete.
            let mut pending: BTreeMap<u64, (Capability<u64>, Vec<WindowValue>)> = BTreeMap::new();
            move |(input, frontier), output| {
                input.for_each_stamp(|cap, data| {
                    let windows: Vec<WindowValue> =
                        data.flat_map(|batch| batch.drain(..)).collect();
                    if windows.is_empty() {
                        return;
                    }
                    let Some(cap) = cap.retain_least(output.output_index()) else {
                        return;
                    };
                    pending
                        .entry(*cap.time())
                        .or_insert_with(|| (cap, Vec::new()))
                        .1
                        .extend(windows);
                });
                while let Some(entry) = pending.first_entry() {
                    if frontier.less_equal(entry.key()) {
                        break;
                    }
                    let (cap, mut windows) = entry.remove();
                    windows.sort_by_key(|w| (w.start_ms, w.metric, w.area));
                    let mut session = output.session(&cap);
                    for w in &windows {
                        for (i, rule) in rules.iter().enumerate() {
                            if rule.applies_to(w)
                                && let Some(event) = state.evaluate(i, rule, w)
                            {
                                session.give(Output::Alert(Box::new(event)));
                            }
                        }
                    }
                }
            }
        },
    );
    outputs.concat(transitions)
}

#[cfg(test)]
mod tests;
