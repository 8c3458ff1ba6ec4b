//! Reproducible simulated feeds, for the local stack and for tests.

pub mod water;
