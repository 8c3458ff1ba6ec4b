//! The envelope decoder from the outside: round trips, the corpus of
//! rejected input, and the promise that no input makes it panic.
//!
//! One test binary (as in clickhouse-rs's `tests/it`) so the crate is linked
//! once for all of them.

// clippy's `allow-unwrap-in-tests` covers `#[test]` functions only, not the
// helpers that build the corpus; a failed unwrap there is a broken test.
#![allow(clippy::unwrap_used)]

mod corpus;
mod no_panic;
mod round_trip;
mod samples;
