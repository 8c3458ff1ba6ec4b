#!/usr/bin/env bash
# Builds the binaries (release) and the WASM front end into $PMOC_DIST.
# Usage: build.sh [all|frontend]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$PMOC_ROOT"

# `build.sh frontend` builds only the front end (the tests run the rest in-process).
if [[ ${1:-all} != frontend ]]; then
  step "building binaries (release)"
  cargo build --release -p pmoc-ingest -p pmoc-pipeline -p pmoc-server --bins
fi

step "building the front end (wasm32)"
cargo build --profile wasm-release -p pmoc-frontend --target wasm32-unknown-unknown
mkdir -p "$PMOC_DIST/pkg"
wasm-bindgen --target web --no-typescript --out-name pmoc_frontend --out-dir "$PMOC_DIST/pkg" \
  "$CARGO_TARGET_DIR/wasm32-unknown-unknown/wasm-release/pmoc-frontend.wasm"
# No wasm-opt: Debian's binaryen (108) predates the reference types current
# Rust emits and produces a module browsers reject. The wasm-release profile
# (opt-level "z", LTO) already keeps the bundle small.
cp dashboard/assets/* "$PMOC_DIST/"
step "front end in $PMOC_DIST ($(du -h "$PMOC_DIST/pkg/pmoc_frontend_bg.wasm" | cut -f1) wasm)"
