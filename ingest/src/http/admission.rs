//! Admission control: whether a request may be read and its records queued
//! for the broker, decided before any of it costs memory.
//!
//! Three checks, each answered at once with 429 and `Retry-After` rather
//! than by queueing (a queue in front of a slow broker only grows until the
//! process dies, which is how the endpoint used to collapse under a burst):
//!
//! - requests at once ([`Admission::enter`]): each holds its body, so this
//!   bounds the memory of bodies being read and sorted;
//! - messages awaiting the broker ([`Admission::reserve`]): a request takes
//!   one slot per record (dead letters included) before anything of it is
//!   queued, and gives the slots back only when the broker has answered for
//!   every one of its messages, even if the request itself was answered 503
//!   before that. So the producer never holds more than `max_queued_messages`;
//! - the time the broker would take ([`Admission::reserve`] again): from the
//!   rate at which it acknowledged messages over the last seconds, a batch
//!   that could not be acknowledged within half the acknowledgement timeout
//!   is refused now. Queued anyway, it would be answered 503 and sent again
//!   while still in flight: every resend is a copy the broker stores, which
//!   slows it further (a burst once doubled its own load that way).

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError};

/// How far back the broker's acknowledgement rate is measured.
const RATE_WINDOW: Duration = Duration::from_secs(10);

/// Why a request is not taken now.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum Refusal {
    #[error("{0} requests are already being handled; send this one again after Retry-After")]
    Busy(usize),
    #[error(
        "{waiting} messages are awaiting the broker (limit {limit}); this batch of {wanted} \
         would exceed it: send it again after Retry-After (nothing of it was queued)"
    )]
    Backlog {
        waiting: usize,
        limit: usize,
        wanted: usize,
    },
    #[error(
        "{waiting} messages are waiting for the broker, whose pace is not measured yet: send \
         this batch again after Retry-After (nothing of it was queued)"
    )]
    Measuring { waiting: usize },
    #[error(
        "the broker acknowledges about {rate:.0} messages/s and {waiting} are waiting: this \
         batch of {wanted} would take {expected_s:.1} s; send it again after Retry-After \
         (nothing of it was queued)"
    )]
    Slow {
        rate: f64,
        waiting: usize,
        wanted: usize,
        expected_s: f64,
        /// The part of `expected_s` over the budget.
        over_s: f64,
    },
}

impl Refusal {
    /// When the client should try again: soon when only requests are many,
    /// longer the fuller or slower the broker is.
    pub fn retry_after(&self) -> Duration {
        let secs = match *self {
            Self::Busy(_) | Self::Measuring { .. } => 1.0,
            Self::Backlog { waiting, limit, .. } => {
                let fullness = waiting as f64 / limit.max(1) as f64;
                1.0 + 9.0 * fullness.clamp(0.0, 1.0)
            }
            Self::Slow { over_s, .. } => over_s,
        };
        Duration::from_secs(secs.round().clamp(1.0, 30.0) as u64)
    }

    /// The metric label.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Busy(_) => "busy",
            Self::Backlog { .. } => "backlog",
            Self::Measuring { .. } | Self::Slow { .. } => "slow_broker",
        }
    }
}

/// The endpoint's bounds, shared by every request.
#[derive(Debug, Clone)]
pub struct Admission {
    requests: Arc<Semaphore>,
    max_requests: usize,
    slots: Arc<Semaphore>,
    max_slots: usize,
    /// What a batch may be expected to wait for its acknowledgements.
    budget: Duration,
    acked: Arc<Mutex<Acked>>,
}

/// Batches the broker answered for over [`RATE_WINDOW`]: when each was
/// queued, when its last message was answered, and how many it had.
#[derive(Debug, Default)]
struct Acked {
    recent: VecDeque<(Instant, Instant, usize)>,
}

impl Acked {
    fn record(&mut self, queued: Instant, answered: Instant, messages: usize) {
        self.recent.push_back((queued, answered, messages));
        self.forget(answered);
    }

    fn forget(&mut self, now: Instant) {
        while self
            .recent
            .front()
            .is_some_and(|(_, t, _)| now.saturating_duration_since(*t) > RATE_WINDOW)
        {
            self.recent.pop_front();
        }
    }

    /// Messages per second the broker answered: all recent batches' messages
    /// over the time from the first one queued to the last one answered
    /// (batches overlap, so their own durations would count time twice).
    /// `None` until there is something to go by.
    fn rate(&mut self, now: Instant) -> Option<f64> {
        self.forget(now);
        let first = self.recent.iter().map(|(q, _, _)| *q).min()?;
        let last = self.recent.iter().map(|(_, a, _)| *a).max()?;
        let total: usize = self.recent.iter().map(|(_, _, n)| n).sum();
        let span = last.duration_since(first).max(Duration::from_millis(100));
        Some(total as f64 / span.as_secs_f64())
    }
}

impl Admission {
    /// `ack_timeout`: how long a request waits for the broker; a batch is
    /// admitted only if the broker's recent pace acknowledges it (and what
    /// waits before it) within half of that.
    pub fn new(max_requests: usize, max_queued_messages: usize, ack_timeout: Duration) -> Self {
        let max_requests = max_requests.max(1);
        let max_slots = max_queued_messages.clamp(1, Semaphore::MAX_PERMITS);
        Self {
            requests: Arc::new(Semaphore::new(max_requests)),
            max_requests,
            slots: Arc::new(Semaphore::new(max_slots)),
            max_slots,
            budget: ack_timeout / 2,
            acked: Arc::default(),
        }
    }

    /// A place for one request, held until it is answered.
    pub fn enter(&self) -> Result<OwnedSemaphorePermit, Refusal> {
        self.requests
            .clone()
            .try_acquire_owned()
            .map_err(|_| Refusal::Busy(self.max_requests))
    }

    /// Slots for `messages` messages, held until the broker has answered for
    /// each of them ([`Self::answered`] is then called by the holder).
    pub fn reserve(&self, messages: usize) -> Result<Option<OwnedSemaphorePermit>, Refusal> {
        self.reserve_at(messages, Instant::now())
    }

    fn reserve_at(
        &self,
        messages: usize,
        now: Instant,
    ) -> Result<Option<OwnedSemaphorePermit>, Refusal> {
        if messages == 0 {
            return Ok(None);
        }
        let waiting = self.waiting();
        let backlog = || Refusal::Backlog {
            waiting,
            limit: self.max_slots,
            wanted: messages,
        };
        let n = u32::try_from(messages).map_err(|_| backlog())?;
        if (self.slots.available_permits() as u64) < u64::from(n) {
            return Err(backlog());
        }
        // With nothing waiting a batch always goes, so one batch can always
        // get through and the broker's pace is measured, not guessed. With
        // something waiting and no recent pace to go by, the next batch
        // waits for that measure (a slow start, as in TCP): queueing
        // blindly is what turned slow acknowledgements into 503s and
        // resent copies.
        if waiting > 0 {
            let budget_s = self.budget.as_secs_f64();
            let Some(rate) = self.acked.lock().ok().and_then(|mut a| a.rate(now)) else {
                return Err(Refusal::Measuring { waiting });
            };
            let expected_s = (waiting + messages) as f64 / rate.max(1.0);
            if expected_s > budget_s {
                return Err(Refusal::Slow {
                    rate,
                    waiting,
                    wanted: messages,
                    expected_s,
                    over_s: expected_s - budget_s,
                });
            }
        }
        match self.slots.clone().try_acquire_many_owned(n) {
            Ok(permit) => Ok(Some(permit)),
            Err(TryAcquireError::NoPermits | TryAcquireError::Closed) => Err(backlog()),
        }
    }

    /// The broker answered for a batch of `messages` messages queued at
    /// `queued` (acknowledged or not): the pace admission judges by.
    pub fn answered(&self, queued: Instant, messages: usize) {
        if let Ok(mut a) = self.acked.lock() {
            a.record(queued, Instant::now(), messages);
        }
    }

    /// Messages queued for the broker and not yet answered.
    pub fn waiting(&self) -> usize {
        self.max_slots - self.slots.available_permits()
    }

    pub fn limit(&self) -> usize {
        self.max_slots
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUT: Duration = Duration::from_secs(10);

    #[test]
    fn requests_beyond_the_limit_are_refused_until_one_ends() {
        let a = Admission::new(2, 100, TIMEOUT);
        let first = a.enter().expect("first");
        let _second = a.enter().expect("second");
        assert_eq!(a.enter().unwrap_err(), Refusal::Busy(2));
        drop(first);
        assert!(a.enter().is_ok());
    }

    #[test]
    fn slots_are_held_until_released_and_refusals_say_how_full() {
        let a = Admission::new(4, 100, TIMEOUT);
        let batch = a.reserve(70).expect("room").expect("slots");
        assert_eq!(a.waiting(), 70);
        let refusal = a.reserve(40).unwrap_err();
        assert_eq!(
            refusal,
            Refusal::Backlog {
                waiting: 70,
                limit: 100,
                wanted: 40
            }
        );
        assert_eq!(refusal.retry_after(), Duration::from_secs(7));
        // 30 more would fit, but the broker's pace is not known yet.
        assert_eq!(
            a.reserve(30).unwrap_err(),
            Refusal::Measuring { waiting: 70 }
        );
        assert!(a.reserve(0).expect("nothing to hold").is_none());
        drop(batch);
        assert_eq!(a.waiting(), 0);
        assert!(a.reserve(100).is_ok());
    }

    #[test]
    fn a_batch_the_broker_could_not_acknowledge_in_time_is_refused() {
        let a = Admission::new(4, 100_000, TIMEOUT);
        let t0 = Instant::now();
        // The broker acknowledged 2,000 messages a second for 4 s.
        for s in 0..4 {
            let at = t0 + Duration::from_secs(s);
            a.acked
                .lock()
                .expect("lock")
                .record(at, at + Duration::from_secs(1), 2_000);
        }
        let now = t0 + Duration::from_secs(4);
        // Nothing waiting: a batch goes whatever the pace.
        let first = a.reserve_at(10_000, now).expect("admitted").expect("slots");
        // 10,000 waiting + 10,000 at 2,000/s = 10 s, over the 5 s budget.
        let refusal = a.reserve_at(10_000, now).unwrap_err();
        assert!(
            matches!(
                refusal,
                Refusal::Slow {
                    waiting: 10_000,
                    ..
                }
            ),
            "{refusal:?}"
        );
        assert_eq!(refusal.retry_after(), Duration::from_secs(5));
        // Once the first batch is answered, the next one goes.
        drop(first);
        assert!(a.reserve_at(9_000, now).is_ok());
    }

    #[test]
    fn without_a_measured_pace_one_batch_goes_at_a_time() {
        let a = Admission::new(4, 30_000, TIMEOUT);
        let one = a.reserve(10_000).expect("first").expect("slots");
        let refusal = a.reserve(10_000).unwrap_err();
        assert_eq!(refusal, Refusal::Measuring { waiting: 10_000 });
        assert_eq!(refusal.retry_after(), Duration::from_secs(1));
        drop(one);
        assert!(a.reserve(10_000).is_ok());
    }

    #[test]
    fn overlapping_batches_are_not_counted_twice_in_the_pace() {
        let mut acked = Acked::default();
        let t0 = Instant::now();
        // Two batches of 1,000 both in flight from 0 to 2 s: 1,000/s, not 2,000.
        acked.record(t0, t0 + Duration::from_secs(2), 1_000);
        acked.record(t0, t0 + Duration::from_secs(2), 1_000);
        let rate = acked.rate(t0 + Duration::from_secs(2)).expect("rate");
        assert!((rate - 1_000.0).abs() < 1e-6, "{rate}");
    }
}
