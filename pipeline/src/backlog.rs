//! The rows handed to the ClickHouse writer and not yet acknowledged, shared
//! by the sinks that add to it, the writer that acknowledges, and the
//! sources that stop polling Kafka while it is over its bound.
//!
//! This is what keeps memory bounded when ClickHouse is slow or down: the
//! writer cannot drain, so the sources stop reading, and open windows,
//! which only emit when their input changes, stop producing rows. Kafka
//! keeps the unread messages; nothing is dropped, results are only delayed.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

#[derive(Debug, Clone)]
pub struct Backlog {
    rows: Arc<AtomicUsize>,
    limit: usize,
}

impl Backlog {
    pub fn new(limit: usize) -> Self {
        Self {
            rows: Arc::new(AtomicUsize::new(0)),
            limit: limit.max(1),
        }
    }

    /// `n` rows were handed to the writer.
    pub fn add(&self, n: usize) {
        let now = self.rows.fetch_add(n, Ordering::Relaxed) + n;
        metrics::gauge!("pmoc_pipeline_unstored_rows").set(now as f64);
    }

    /// `n` rows were acknowledged by ClickHouse (or abandoned at shutdown).
    pub fn done(&self, n: usize) {
        let before = self
            .rows
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |r| {
                Some(r.saturating_sub(n))
            })
            .unwrap_or_default();
        metrics::gauge!("pmoc_pipeline_unstored_rows").set(before.saturating_sub(n) as f64);
    }

    pub fn rows(&self) -> usize {
        self.rows.load(Ordering::Relaxed)
    }

    /// Whether sources should stop reading until the writer catches up.
    pub fn is_full(&self) -> bool {
        self.rows() >= self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_at_the_limit_until_rows_are_acknowledged() {
        let b = Backlog::new(10);
        b.add(6);
        assert!(!b.is_full());
        b.add(4);
        assert!(b.is_full());
        b.clone().done(3);
        assert_eq!(b.rows(), 7);
        assert!(!b.is_full());
        b.done(100);
        assert_eq!(b.rows(), 0, "never below zero");
    }
}
