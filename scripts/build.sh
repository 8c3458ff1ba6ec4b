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
# The Thai font travels with the app, so every wall screen renders alike:
# TLWG Loma from Debian's fonts-tlwg-loma-ttf (GPL-2+ with the font
# exception), with its licence beside it.
mkdir -p "$PMOC_DIST/fonts"
cp /usr/share/fonts/truetype/tlwg/Loma.ttf /usr/share/fonts/truetype/tlwg/Loma-Bold.ttf "$PMOC_DIST/fonts/"
cp /usr/share/doc/fonts-tlwg-loma-ttf/copyright "$PMOC_DIST/fonts/LICENSE-Loma.txt"
step "front end in $PMOC_DIST ($(du -h "$PMOC_DIST/pkg/pmoc_frontend_bg.wasm" | cut -f1) wasm)"
