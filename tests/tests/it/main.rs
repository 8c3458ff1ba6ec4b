//! End-to-end tests: one binary, each test with its own servers, topics and
//! database.

mod access;
mod alerts_page;
mod burst;
mod connectors;
mod crash_recovery;
mod current_clickhouse;
mod harness;
mod http_ingest;
mod local_stack;
mod outages;
mod privacy;
mod replicas;
mod retention;
mod scale_out;
mod schema_version;
mod staleness;
mod supervision;
mod support;
mod walking_skeleton;
mod wall_screen;
