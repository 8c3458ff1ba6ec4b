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
stage="$(mktemp -d "${TMPDIR:-/tmp}/pmoc-dist.XXXXXX")"
trap 'rm -rf "$stage"' EXIT
wasm-bindgen --target web --no-typescript --out-name pmoc_frontend --out-dir "$stage/pkg" \
  "$CARGO_TARGET_DIR/wasm32-unknown-unknown/wasm-release/pmoc-frontend.wasm"
# A current binaryen's wasm-opt (npm `binaryen`, installed by setup.sh):
# Debian's 108 predates the reference types current Rust emits. The features
# are those Rust's wasm32-unknown-unknown target enables by default.
raw_kb=$(( $(stat -c %s "$stage/pkg/pmoc_frontend_bg.wasm") / 1024 ))
"$WASM_OPT" -Oz --enable-bulk-memory --enable-mutable-globals --enable-nontrapping-float-to-int \
  --enable-reference-types --enable-sign-ext --enable-multivalue \
  -o "$stage/pkg/pmoc_frontend_bg.wasm" "$stage/pkg/pmoc_frontend_bg.wasm"
cp dashboard/assets/boot.js dashboard/assets/style.css "$stage/"
# The Thai font travels with the app, so every wall screen renders alike:
# TLWG Loma from Debian's fonts-tlwg-loma-ttf (GPL-2+ with the font
# exception), with its licence beside it.
mkdir -p "$stage/fonts"
cp /usr/share/fonts/truetype/tlwg/Loma.ttf /usr/share/fonts/truetype/tlwg/Loma-Bold.ttf "$stage/fonts/"
cp /usr/share/doc/fonts-tlwg-loma-ttf/copyright "$stage/fonts/LICENSE-Loma.txt"

# The app's files live under /static/<hash of their content>/, which the
# server lets browsers cache for a year: a new build is a new name, so a
# wall screen never runs a stale mix. index.html (revalidated at every load)
# names the current hash. The sign-in page keeps /style.css and /fonts/.
hash="$(cd "$stage" && find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)"
mkdir -p "$PMOC_DIST"
rm -rf "$PMOC_DIST/static.new" && mkdir -p "$PMOC_DIST/static.new"
cp -r "$stage" "$PMOC_DIST/static.new/$hash"
sed -e "s#href=\"/style.css\"#href=\"/static/$hash/style.css\"#" \
    -e "s#src=\"/boot.js\"#src=\"/static/$hash/boot.js\"#" \
    dashboard/assets/index.html > "$PMOC_DIST/index.html.new"
grep -q "/static/$hash/boot.js" "$PMOC_DIST/index.html.new" || die "index.html does not load /boot.js as build.sh expects"
cp dashboard/assets/style.css "$PMOC_DIST/style.css"
rm -rf "$PMOC_DIST/fonts" "$PMOC_DIST/pkg" "$PMOC_DIST/boot.js" && cp -r "$stage/fonts" "$PMOC_DIST/fonts"
# Compressed once here, served as they are (Brotli, else gzip) by the server.
find "$PMOC_DIST/static.new" "$PMOC_DIST/index.html.new" "$PMOC_DIST/style.css" \
    -type f \( -name '*.wasm' -o -name '*.js' -o -name '*.css' -o -name '*.html.new' -o -name '*.html' -o -name '*.ttf' \) \
    -print0 | while IFS= read -r -d '' f; do
  out="${f%.new}"
  gzip -9 -n -c "$f" > "$out.gz"
  brotli -q 11 -c "$f" > "$out.br"
done
rm -rf "$PMOC_DIST/static" && mv "$PMOC_DIST/static.new" "$PMOC_DIST/static"
mv "$PMOC_DIST/index.html.new" "$PMOC_DIST/index.html"
wasm="$PMOC_DIST/static/$hash/pkg/pmoc_frontend_bg.wasm"
step "front end in $PMOC_DIST/static/$hash: wasm ${raw_kb} KB from wasm-bindgen, $(( $(stat -c %s "$wasm") / 1024 )) KB after wasm-opt, $(( $(stat -c %s "$wasm.gz") / 1024 )) KB gzip, $(( $(stat -c %s "$wasm.br") / 1024 )) KB brotli"
