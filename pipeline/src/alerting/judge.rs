//! One (rule, area)'s state machine: what a rule reads of a window in, the
//! alert's transition, if any, out. Pure, so that a window revised by late
//! values can be judged again with every window after it
//! ([`super::journal`]).

use std::collections::{BTreeMap, VecDeque};

use pmoc_schemas::{
    alert::{AlertEvent, AlertState, Statistic},
    privacy::{PrivacySettings, is_people},
};

use super::Rule;
use crate::{
    record::WindowValue,
    window::{Accumulator, Area},
};

/// What a rule reads of one window: kept for every window judged within
/// the correction horizon, a few bytes each instead of the window.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Input {
    /// The rule's statistic of the window (`None`: nothing to judge).
    Value(Option<f64>),
    /// Each entity's latest value, for a rule over each entity's mean.
    Entities(Vec<(u64, f64)>),
    /// The window's count, for a rate rule.
    Count(u64),
}

impl Input {
    pub(super) fn of(rule: &Rule, w: &WindowValue) -> Self {
        match rule {
            Rule::Threshold {
                statistic: s,
                averaging_windows,
                ..
            } if *averaging_windows > 1 => Self::Entities(w.acc.entities.as_ref().map_or_else(
                || vec![(0, statistic(&w.acc, *s).unwrap_or(f64::NAN))],
                |e| e.iter().map(|(&k, l)| (k, l.value)).collect(),
            )),
            Rule::Threshold { statistic: s, .. } => Self::Value(statistic(&w.acc, *s)),
            Rule::Rate { .. } => Self::Count(w.acc.totals().count),
        }
    }
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

/// What one (rule, area) knows between windows.
#[derive(Debug, Clone, Default)]
pub(super) struct KeyState {
    /// The open alert, as last published.
    pub open: Option<AlertEvent>,
    /// Counts of the trailing windows of a rate rule: (window start, count).
    history: VecDeque<(i64, u64)>,
    /// Trailing windows of an averaging rule.
    trail: Trail,
    /// Consecutive breaching windows not yet opened, with the first's start.
    streak: Option<(u32, i64)>,
}

/// Which window is judged, by which rule, for which area.
pub(super) struct Judging<'a> {
    pub rule: &'a Rule,
    pub area: Area,
    pub privacy: PrivacySettings,
    pub start_ms: i64,
    pub end_ms: i64,
}

impl KeyState {
    /// Judges the window `j` whose rule read `input`; returns the
    /// transition, if any.
    pub(super) fn step(&mut self, j: &Judging<'_>, input: &Input) -> Option<AlertEvent> {
        let (rule, area, privacy) = (j.rule, j.area, j.privacy);
        let metric = rule.metric();
        let people = is_people(metric.name());
        // What the rule may see of a people count: the published figure.
        let shown = |v: f64| if people { privacy.comparable(v) } else { v };
        let (breach, value, limit, severity) = match (rule, input) {
            (
                Rule::Threshold {
                    statistic: s,
                    limit,
                    severity,
                    averaging_windows,
                    width_ms,
                    rule,
                    ..
                },
                Input::Value(_) | Input::Entities(_),
            ) => {
                let value = match input {
                    Input::Entities(latest) => {
                        self.trail.push_back((j.start_ms, latest.clone()));
                        let oldest = j.start_ms - (*averaging_windows as i64 - 1) * width_ms;
                        while self.trail.front().is_some_and(|(start, _)| *start < oldest) {
                            self.trail.pop_front();
                        }
                        averaged(&self.trail, *s, *averaging_windows)
                    }
                    Input::Value(v) => *v,
                    Input::Count(_) => None,
                };
                let value = shown(value.filter(|v| v.is_finite())?);
                let breach = if self.open.is_some() {
                    !rule.cleared(value)
                } else {
                    let streak = self.streak.get_or_insert((0, j.start_ms));
                    if rule.comparison.breached(value, *limit) {
                        streak.0 += 1;
                    } else {
                        *streak = (0, j.start_ms);
                    }
                    if streak.0 == 1 {
                        streak.1 = j.start_ms;
                    }
                    streak.0 >= rule.min_windows
                };
                (breach, value, *limit, *severity)
            }
            (
                Rule::Rate {
                    width_ms,
                    baseline_windows,
                    factor,
                    min_count,
                    severity,
                    ..
                },
                Input::Count(count),
            ) => {
                let history = &mut self.history;
                // Windows without events are zeros of the baseline.
                if let Some(&(last, _)) = history.back() {
                    let mut start = last + width_ms;
                    while start < j.start_ms && history.len() <= *baseline_windows {
                        history.push_back((start, 0));
                        start += width_ms;
                    }
                }
                let baseline = if history.is_empty() {
                    None
                } else {
                    Some(history.iter().map(|(_, c)| *c).sum::<u64>() as f64 / history.len() as f64)
                };
                let count = shown(*count as f64) as u64;
                let limit = baseline.map_or(f64::INFINITY, |b| (b * factor).max(*min_count as f64));
                history.push_back((j.start_ms, count));
                while history.len() > *baseline_windows {
                    history.pop_front();
                }
                (count as f64 >= limit, count as f64, limit, *severity)
            }
            _ => return None,
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
                metric.name(),
                (j.end_ms - j.start_ms) / 1000,
                crate::window::local_time(j.start_ms),
                rule.name(),
            )
        };
        match (breach, self.open.as_mut()) {
            (true, None) => {
                // Opened when the breach began, not when it had lasted.
                let opened_ms = self.streak.take().map_or(j.start_ms, |(_, s)| s);
                let def = metric.def();
                let code = area.code_string();
                let mut event = AlertEvent {
                    alert_id: format!(
                        "{}:{}:{code}:{}",
                        rule.name(),
                        area.level.as_str(),
                        opened_ms
                    ),
                    rule: rule.name().to_owned(),
                    severity,
                    committee: def.committee,
                    metric: def.name.to_owned(),
                    area_level: area.level.as_str().to_owned(),
                    area_code: code,
                    state: AlertState::Open,
                    opened_at_ms: opened_ms,
                    updated_at_ms: j.end_ms,
                    resolved_at_ms: 0,
                    value,
                    threshold: limit,
                    evidence: evidence(value),
                    revision: 0,
                };
                privacy.alert(&mut event);
                self.open = Some(event.clone());
                Some(event)
            }
            (true, Some(open)) if open.value != privacy_value(&privacy, people, value) => {
                open.state = AlertState::Updated;
                open.value = value;
                open.threshold = limit;
                open.updated_at_ms = j.end_ms;
                open.evidence = evidence(value);
                privacy.alert(open);
                Some(open.clone())
            }
            (false, Some(_)) => {
                let mut event = self.open.take()?;
                event.state = AlertState::Resolved;
                event.value = value;
                event.updated_at_ms = j.end_ms;
                event.resolved_at_ms = j.end_ms;
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
