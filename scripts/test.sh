#!/usr/bin/env bash
# README command 2 (and CI): install what is missing, check formatting and
# lints, build the front end, and run every test, the end-to-end ones
# included: they start their own broker, ClickHouse and browser on free
# loopback ports and stop them afterwards.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$PMOC_ROOT"

bash scripts/setup.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (host crates, all targets)"
cargo clippy --workspace --exclude pmoc-frontend --all-targets -- -D warnings
step "cargo clippy (front end, wasm32)"
cargo clippy -p pmoc-frontend -p pmoc-app --target wasm32-unknown-unknown -- -D warnings

bash scripts/build.sh frontend

step "building the binaries the fault tests kill and restart"
cargo build -p pmoc-pipeline -p pmoc-server -p pmoc-ingest --bins

step "cargo test"
export PMOC_ARTIFACTS="${PMOC_ARTIFACTS:-$CARGO_TARGET_DIR/test-artifacts}"
cargo test --workspace --exclude pmoc-frontend --all-features
step "screenshots in $PMOC_ARTIFACTS"
