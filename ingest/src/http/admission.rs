//! Admission control: whether a request may be read and its records queued
//! for the broker, decided before any of it costs memory.
//!
//! Two bounds, both answered at once with 429 and `Retry-After` rather than
//! by queueing (a queue in front of a slow broker only grows until the
//! process dies, which is how the endpoint used to collapse under a burst):
//!
//! - requests at once ([`Admission::enter`]): each holds its body, so this
//!   bounds the memory of bodies being read and sorted;
//! - messages awaiting the broker ([`Admission::reserve`]): a request takes
//!   one slot per record (dead letters included) before anything of it is
//!   queued, and gives the slots back only when the broker has acknowledged
//!   or refused every one of its messages, even if the request itself was
//!   answered 503 before that. So the producer's queue never holds more
//!   than `max_queued_messages`, whatever clients do after a timeout.

use std::{sync::Arc, time::Duration};

use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError};

/// Why a request is not taken now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
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
}

impl Refusal {
    /// When the client should try again: soon when only requests are many,
    /// longer the fuller the broker's backlog is.
    pub fn retry_after(&self) -> Duration {
        match *self {
            Self::Busy(_) => Duration::from_secs(1),
            Self::Backlog { waiting, limit, .. } => {
                let fullness = waiting as f64 / limit.max(1) as f64;
                Duration::from_secs((1.0 + 9.0 * fullness.clamp(0.0, 1.0)).round() as u64)
            }
        }
    }

    /// The metric label.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Busy(_) => "busy",
            Self::Backlog { .. } => "backlog",
        }
    }
}

/// The endpoint's two bounds, shared by every request.
#[derive(Debug, Clone)]
pub struct Admission {
    requests: Arc<Semaphore>,
    max_requests: usize,
    slots: Arc<Semaphore>,
    max_slots: usize,
}

impl Admission {
    pub fn new(max_requests: usize, max_queued_messages: usize) -> Self {
        let max_requests = max_requests.max(1);
        let max_slots = max_queued_messages.clamp(1, Semaphore::MAX_PERMITS);
        Self {
            requests: Arc::new(Semaphore::new(max_requests)),
            max_requests,
            slots: Arc::new(Semaphore::new(max_slots)),
            max_slots,
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
    /// each of them. A batch larger than the whole limit is refused for good
    /// by the caller's `max_records` check before it gets here.
    pub fn reserve(&self, messages: usize) -> Result<Option<OwnedSemaphorePermit>, Refusal> {
        if messages == 0 {
            return Ok(None);
        }
        let backlog = || Refusal::Backlog {
            waiting: self.waiting(),
            limit: self.max_slots,
            wanted: messages,
        };
        let n = u32::try_from(messages).map_err(|_| backlog())?;
        match self.slots.clone().try_acquire_many_owned(n) {
            Ok(permit) => Ok(Some(permit)),
            Err(TryAcquireError::NoPermits | TryAcquireError::Closed) => Err(backlog()),
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

    #[test]
    fn requests_beyond_the_limit_are_refused_until_one_ends() {
        let a = Admission::new(2, 100);
        let first = a.enter().expect("first");
        let _second = a.enter().expect("second");
        assert_eq!(a.enter().unwrap_err(), Refusal::Busy(2));
        drop(first);
        assert!(a.enter().is_ok());
    }

    #[test]
    fn slots_are_held_until_released_and_refusals_say_how_full() {
        let a = Admission::new(4, 100);
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
        let _rest = a.reserve(30).expect("fits").expect("slots");
        assert!(a.reserve(0).expect("nothing to hold").is_none());
        drop(batch);
        assert_eq!(a.waiting(), 30);
        assert!(a.reserve(70).is_ok());
    }
}
