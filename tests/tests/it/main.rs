//! End-to-end tests: one binary, each test with its own servers, topics and
//! database.

mod crash_recovery;
mod walking_skeleton;
