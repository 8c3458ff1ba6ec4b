//! Test harness: real servers as child processes on free loopback ports, each
//! in its own temporary directory, stopped when their guard drops (pass or
//! fail). A missing server binary fails with how to install it; nothing is
//! ever skipped silently.

pub mod auth;
pub mod bench;
pub mod browser;
pub mod burst;
pub mod chdb;
pub mod clickhouse;
pub mod dashboard;
pub mod kafka;
pub mod oidc;
pub mod oracle;
pub mod process;
pub mod seed;
pub mod topic;
pub mod zookeeper;

use std::path::PathBuf;

/// Cache folder shared with the scripts (`scripts/lib.sh`).
pub fn cache_dir() -> PathBuf {
    std::env::var_os("PMOC_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| home().join(".cache/pmoc"))
}

fn home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/root"))
}

/// The repository root (for config templates).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

/// The built front end (`scripts/build.sh` puts it there).
pub fn dist_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::var_os("PMOC_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| cache_dir().join("target"))
                .join("dist")
        });
    anyhow::ensure!(
        dir.join("index.html").exists() && dir.join("static").is_dir(),
        "the front end is not built in {}: run scripts/build.sh (scripts/test.sh does)",
        dir.display()
    );
    Ok(dir)
}

/// A binary of this workspace built by `cargo build` (scripts/test.sh builds
/// them before the tests), for tests that must kill a real process.
pub fn workspace_binary(name: &str) -> anyhow::Result<PathBuf> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| cache_dir().join("target"));
    let path = target.join("debug").join(name);
    process::require_binary(
        &path,
        &format!("cargo build --bin {name} (scripts/test.sh does)"),
    )?;
    Ok(path)
}

/// A name unique to this test run, usable as a topic, group or database name.
pub fn unique_name(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!("{prefix}_{}_{nanos}", std::process::id())
}

/// Logs for tests; safe to call from every test.
pub fn init_tracing() {
    pmoc_telemetry::init_test_logs("warn,pmoc_pipeline=info");
}
