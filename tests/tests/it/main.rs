//! End-to-end tests: one binary, each test with its own servers, topics and
//! database.

mod walking_skeleton;
