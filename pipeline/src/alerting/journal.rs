//! Alerts judged again when late values revise a window.
//!
//! An alert is a function of its (rule, area)'s windows in time order:
//! a late value that revises a window from three hours ago can open an
//! alert that was missed, resolve one earlier, or show that a breach never
//! happened. So each (rule, area) keeps what its rule read of every window
//! within the correction horizon ([`Input`], a few bytes), the state before
//! the oldest of them, and the transition each produced. A revision
//! replaces its window's input and judges that window and every later one
//! again from the state before it; what the corrected history says of each
//! alert it touches is then published if it differs from what was stored:
//! with a higher `revision`, so it replaces rows of later event time, and
//! as [`AlertState::Withdrawn`] for an alert the corrected history never
//! opens. An alert's id keeps its opening window, so a correction of an
//! alert is a new row of the same alert, and an alert opened earlier or
//! later by it is another one.
//!
//! Windows beyond the horizon, or before the first window this run judged
//! for the (rule, area) (judged before the pipeline last started, or never
//! judged), are not judged again; their late values stay in the revised
//! figures and in `late_events`.

use std::collections::{HashMap, VecDeque};

use pmoc_schemas::alert::{AlertEvent, AlertState};

use super::judge::{Input, Judging, KeyState};

/// A window judged, as kept for judging it again.
#[derive(Debug, Clone)]
struct Judged {
    start_ms: i64,
    end_ms: i64,
    input: Input,
    /// The transition it produced, as published (boxed: most windows have
    /// none, and a week of minute windows is 10,080 of them).
    emitted: Option<Box<AlertEvent>>,
}

/// One (rule, area): its state, and its journal of judged windows.
#[derive(Debug, Default)]
pub(super) struct Key {
    /// The state before the journal's first window.
    base: KeyState,
    /// The state after its last.
    now: KeyState,
    journal: VecDeque<Judged>,
    /// Alerts rewritten by corrections, and how often (0 when absent).
    revisions: HashMap<String, u32>,
    /// The first window this run judged: the state before it is not
    /// known (judged before the pipeline last started, or never).
    since_ms: Option<i64>,
    /// With an alert open when the pipeline last stopped: the end of the
    /// last window that run judged it on.
    restored_until_ms: i64,
}

/// What became of a window given to [`Key::judge`].
#[derive(Debug, PartialEq)]
pub(super) enum Judgement {
    /// The newest window: judged at once.
    Judged(Option<AlertEvent>),
    /// A revised or newly filled older window: judge again from journal
    /// position `from` ([`Key::replay`]).
    Revised { from: usize },
    /// The same input as when it was judged: nothing to do.
    Unchanged,
    /// Older than the journal: not judged again.
    TooOld,
}

impl Key {
    /// A key whose alert was open when the pipeline last stopped.
    pub(super) fn with_open(event: AlertEvent) -> Self {
        let mut key = Self::default();
        if event.revision > 0 {
            key.revisions.insert(event.alert_id.clone(), event.revision);
        }
        key.restored_until_ms = event.updated_at_ms;
        key.base.open = Some(event.clone());
        key.now.open = Some(event);
        key
    }

    /// Whether a window starting at `start_ms` is after the newest judged.
    pub(super) fn is_new(&self, start_ms: i64) -> bool {
        self.journal.back().is_none_or(|w| start_ms > w.start_ms)
    }

    /// Takes window `j` with `input`. A window after the journal's newest is
    /// judged now; an older one replaces its journal entry's input, for
    /// [`Key::replay`].
    pub(super) fn judge(&mut self, j: &Judging<'_>, input: Input, horizon_ms: i64) -> Judgement {
        let newest = self.journal.back().map(|w| w.start_ms);
        // Judged by the run before this one, with the alert it left open.
        if self.journal.is_empty() && j.end_ms <= self.restored_until_ms {
            return Judgement::TooOld;
        }
        if self.is_new(j.start_ms) {
            let emitted = self.now.step(j, &input).map(|e| self.published(e));
            self.journal.push_back(Judged {
                start_ms: j.start_ms,
                end_ms: j.end_ms,
                input,
                emitted: emitted.clone().map(Box::new),
            });
            self.since_ms.get_or_insert(j.start_ms);
            return Judgement::Judged(emitted);
        }
        // Beyond the horizon, or before the first window this run judged
        // (the state before it is not known).
        if newest.is_some_and(|n| j.start_ms < n - horizon_ms)
            || self.since_ms.is_some_and(|s| j.start_ms < s)
        {
            return Judgement::TooOld;
        }
        match self
            .journal
            .binary_search_by_key(&j.start_ms, |w| w.start_ms)
        {
            Ok(at) if self.journal[at].input == input => Judgement::Unchanged,
            Ok(at) => {
                self.journal[at].input = input;
                Judgement::Revised { from: at }
            }
            // A window without values when judged, filled by late ones.
            Err(at) => {
                self.journal.insert(
                    at,
                    Judged {
                        start_ms: j.start_ms,
                        end_ms: j.end_ms,
                        input,
                        emitted: None,
                    },
                );
                Judgement::Revised { from: at }
            }
        }
    }

    /// Judges the journal again from position `from`; returns the alerts'
    /// records that the corrected history changes. `judging` gives the
    /// rule, area and privacy (its window is ignored).
    pub(super) fn replay(&mut self, from: usize, judging: &Judging<'_>) -> Vec<AlertEvent> {
        let at = |w: &Judged| Judging {
            start_ms: w.start_ms,
            end_ms: w.end_ms,
            ..*judging
        };
        let mut state = self.base.clone();
        for w in self.journal.range(..from) {
            state.step(&at(w), &w.input);
        }
        let mut old = Vec::new();
        for w in self.journal.range_mut(from..) {
            old.extend(w.emitted.take().map(|e| *e));
            w.emitted = state.step(&at(w), &w.input).map(Box::new);
        }
        self.now = state;
        let published = |range: std::ops::Range<usize>| -> Vec<&AlertEvent> {
            (self.journal.range(range))
                .filter_map(|w| w.emitted.as_deref())
                .collect()
        };
        let earlier = published(0..from);
        let new = published(from..self.journal.len());
        // Every alert the old or the corrected history touches from `from`.
        let mut ids: Vec<&str> = Vec::new();
        for e in old.iter().chain(new.iter().copied()) {
            if !ids.contains(&e.alert_id.as_str()) {
                ids.push(&e.alert_id);
            }
        }
        let newest_end = self.journal.back().map_or(0, |w| w.end_ms);
        let mut out = Vec::new();
        let mut corrected_total = 0;
        for id in ids {
            // Its record before `from`: unchanged by this replay.
            let before = last(earlier.iter().copied(), id)
                .or_else(|| (self.base.open.as_ref()).filter(|e| e.alert_id == id));
            let stored = last(old.iter(), id).or(before).cloned();
            let truth = last(new.iter().copied(), id).or(before).cloned();
            let corrected = match (truth, stored) {
                (Some(t), Some(s)) if same_record(&t, &s) => continue,
                // First published now (a window judged in this replay),
                // unless withdrawn before: then it replaces the withdrawal.
                (Some(t), None) if !self.revisions.contains_key(id) => {
                    out.push(self.published(t));
                    continue;
                }
                (Some(t), _) => t,
                (None, Some(s)) => withdrawn(s, newest_end),
                (None, None) => continue,
            };
            let revision = self.revisions.entry(id.to_owned()).or_default();
            *revision += 1;
            corrected_total += 1;
            out.push(AlertEvent {
                revision: *revision,
                ..corrected
            });
        }
        // Transitions of this replay, as later ones will be published.
        let revisions = &self.revisions;
        for w in self.journal.range_mut(from..) {
            if let Some(e) = &mut w.emitted {
                e.revision = revisions.get(&e.alert_id).copied().unwrap_or(0);
            }
        }
        metrics::counter!("pmoc_pipeline_alerts_corrected_total").increment(corrected_total);
        out
    }

    /// Forgets windows more than `horizon_ms` older than the newest,
    /// folding them into the base state.
    pub(super) fn prune(&mut self, judging: &Judging<'_>, horizon_ms: i64) {
        let Some(newest) = self.journal.back().map(|w| w.start_ms) else {
            return;
        };
        while self
            .journal
            .front()
            .is_some_and(|w| w.start_ms < newest - horizon_ms)
        {
            let Some(w) = self.journal.pop_front() else {
                break;
            };
            self.base.step(
                &Judging {
                    start_ms: w.start_ms,
                    end_ms: w.end_ms,
                    ..*judging
                },
                &w.input,
            );
            // Ended before the journal: no correction can reach it.
            if let Some(e) = w.emitted
                && !e.state.is_open()
            {
                self.revisions.remove(&e.alert_id);
            }
        }
        // Keep the revision of every alert a correction can still reach:
        // open, with a transition in the journal, or opened within a
        // horizon of its start (a streak carried in the base state can
        // reopen an alert dated before the journal).
        if let Some(front) = self.journal.front()
            && !self.revisions.is_empty()
        {
            let open = self.base.open.as_ref().map(|e| e.alert_id.as_str());
            let journal = &self.journal;
            self.revisions.retain(|id, _| {
                Some(id.as_str()) == open
                    || opened_ms(id) >= front.start_ms - horizon_ms
                    || journal
                        .iter()
                        .any(|w| w.emitted.as_deref().is_some_and(|e| e.alert_id == *id))
            });
        }
    }

    /// A transition as published: with the alert's revision.
    fn published(&self, mut event: AlertEvent) -> AlertEvent {
        event.revision = self.revisions.get(&event.alert_id).copied().unwrap_or(0);
        event
    }
}

/// The last of `events` about alert `id`.
fn last<'a>(
    mut events: impl DoubleEndedIterator<Item = &'a AlertEvent>,
    id: &str,
) -> Option<&'a AlertEvent> {
    events.rfind(|e| e.alert_id == id)
}

/// The opening window of an alert, from its id (`rule:level:code:ms`).
fn opened_ms(id: &str) -> i64 {
    id.rsplit(':')
        .next()
        .and_then(|ms| ms.parse().ok())
        .unwrap_or(i64::MAX)
}

/// The same record but for its revision.
fn same_record(a: &AlertEvent, b: &AlertEvent) -> bool {
    *a == AlertEvent {
        revision: a.revision,
        ..b.clone()
    }
}

/// `stored` withdrawn at `at_ms`: corrected figures never breach.
fn withdrawn(stored: AlertEvent, at_ms: i64) -> AlertEvent {
    AlertEvent {
        state: AlertState::Withdrawn,
        updated_at_ms: at_ms,
        resolved_at_ms: at_ms,
        evidence: format!(
            "{} (withdrawn: judged again with late values, no breach)",
            stored.evidence
        ),
        ..stored
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_judged_window_costs_a_few_bytes() {
        // The README's memory figure (a week of minute windows in 77
        // provinces: about 45 MB) assumes at most 64 bytes a window.
        assert!(std::mem::size_of::<super::Judged>() <= 64);
    }
}
