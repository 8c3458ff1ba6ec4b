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
//! 24-hour standard), from the latest reading per station of each window.
//! Alert ids and timestamps come from event time, not the wall clock, so a
//! replay after a crash rewrites the same rows instead of adding new ones.
//! A window revised by late values is judged again with every window after
//! it, and the alerts the corrected history changes are rewritten
//! ([`journal`]).

mod journal;
mod judge;

use std::collections::{BTreeMap, HashMap};

use pmoc_schemas::{
    aggregate::AreaLevel,
    alert::{AlertEvent, AlertRules, Severity, Statistic, ThresholdRule},
    metric::MetricId,
    privacy::PrivacySettings,
};
use timely::{
    container::CapacityContainerBuilder,
    dataflow::{
        Stream,
        channels::pact::{Exchange, Pipeline},
        operators::{Capability, Concat, Operator},
    },
};

use self::{
    journal::{Judgement, Key},
    judge::{Input, Judging},
};
use crate::{
    record::{Output, WindowValue},
    window::Area,
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
        let width_ms = match self {
            Rule::Threshold { width_ms, .. } | Rule::Rate { width_ms, .. } => *width_ms,
        };
        w.metric == self.metric() && w.end_ms - w.start_ms == width_ms
    }

    fn metric(&self) -> MetricId {
        match self {
            Rule::Threshold { metric, .. } | Rule::Rate { metric, .. } => *metric,
        }
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

/// What one worker knows of its (rule, area)s.
#[derive(Default)]
struct State {
    privacy: PrivacySettings,
    /// How far back (event time) a revised window is judged again.
    horizon_ms: i64,
    keys: HashMap<(usize, Area), Key>,
}

impl State {
    /// Judges a batch of final windows, in time order, by every rule that
    /// reads them; returns the alerts' transitions and corrections.
    fn judge(&mut self, rules: &[Rule], windows: &[WindowValue]) -> Vec<AlertEvent> {
        self.judge_by(rules.iter().enumerate(), windows)
    }

    /// [`Self::judge`] by `rules`, each with its index in the settings.
    fn judge_by<'r>(
        &mut self,
        rules: impl Iterator<Item = (usize, &'r Rule)> + Clone,
        windows: &[WindowValue],
    ) -> Vec<AlertEvent> {
        let mut out = Vec::new();
        // Each key this batch touched, with its rule and, when a window of
        // it was revised, the earliest journal position to judge again.
        let mut touched: BTreeMap<(usize, Area), (&Rule, Option<usize>)> = BTreeMap::new();
        let privacy = self.privacy;
        let judging = |rule, area, start_ms, end_ms| Judging {
            rule,
            area,
            privacy,
            start_ms,
            end_ms,
        };
        for w in windows {
            for (i, rule) in rules.clone() {
                if !rule.applies_to(w) {
                    continue;
                }
                let key = (i, w.area);
                let j = judging(rule, w.area, w.start_ms, w.end_ms);
                let k = self.keys.entry(key).or_default();
                let replay = &mut touched.entry(key).or_insert((rule, None)).1;
                // Revisions of this key come first (by time): judge them
                // before a newer window, so its transition is a plain one.
                if k.is_new(w.start_ms)
                    && let Some(from) = replay.take()
                {
                    out.extend(k.replay(from, &j));
                }
                match k.judge(&j, Input::of(rule, w), self.horizon_ms) {
                    Judgement::Judged(e) => out.extend(e),
                    Judgement::Revised { from } => {
                        *replay = Some(replay.map_or(from, |at| at.min(from)));
                    }
                    Judgement::Unchanged => {}
                    Judgement::TooOld => {
                        metrics::counter!("pmoc_pipeline_alert_revisions_too_old_total")
                            .increment(1);
                    }
                }
            }
        }
        for ((i, area), (rule, replay)) in touched {
            if let Some(k) = self.keys.get_mut(&(i, area)) {
                // Replay and pruning read the rule, area and privacy only.
                let j = judging(rule, area, 0, 0);
                if let Some(from) = replay {
                    out.extend(k.replay(from, &j));
                }
                k.prune(&j, self.horizon_ms);
            }
        }
        out
    }
}

/// Adds the alert transitions of the final province windows in `outputs`.
/// `open` are the alerts open when the pipeline last stopped, so a restart
/// updates or resolves them instead of opening duplicates. A window revised
/// by late values within `horizon_ms` of the newest is judged again with
/// those after it ([`journal`]).
pub fn alerts<'s>(
    outputs: Stream<'s, u64, Vec<Output>>,
    rules: &AlertRules,
    privacy: PrivacySettings,
    open: Vec<AlertEvent>,
    horizon_ms: i64,
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
                horizon_ms,
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
                    state.keys.insert((index, area), Key::with_open(event));
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
                    for event in state.judge(&rules, &windows) {
                        session.give(Output::Alert(Box::new(event)));
                    }
                }
            }
        },
    );
    outputs.concat(transitions)
}

#[cfg(test)]
mod tests;
