//! What a connector run did, for the operator and for tests.

use std::{collections::BTreeMap, fmt, time::Duration};

use pmoc_schemas::RejectReason;

/// Counts of one run; rejects by reason kind, so a systematic problem (a
/// renamed column, a new marker of absence) shows up as one large line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// Records read from the source.
    pub read: u64,
    /// Records that mapped and validated (published unless a dry run).
    pub valid: u64,
    /// Envelopes acknowledged by the broker on the committee topic.
    pub published: u64,
    /// Rejected records acknowledged on the dead-letter topic.
    pub dead_lettered: u64,
    /// Rejected records by reason kind.
    pub rejected: BTreeMap<String, u64>,
    pub elapsed: Duration,
}

impl Summary {
    pub fn reject(&mut self, reason: &RejectReason) {
        *self
            .rejected
            .entry(reason.kind.as_str().to_owned())
            .or_default() += 1;
    }

    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }

    /// Records read per second of wall time.
    pub fn records_per_second(&self) -> f64 {
        self.read as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "read {} records in {:.2?} ({:.0} records/s): {} valid, {} published, {} rejected ({} dead-lettered)",
            self.read,
            self.elapsed,
            self.records_per_second(),
            self.valid,
            self.published,
            self.rejected_total(),
            self.dead_lettered
        )?;
        for (kind, n) in &self.rejected {
            writeln!(f, "  rejected {kind}: {n}")?;
        }
        Ok(())
    }
}
