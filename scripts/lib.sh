# Shared by PMOC's scripts: where caches live and small helpers.
# Build caches and tools live outside the clone so a fresh clone reuses them.

PMOC_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PMOC_CACHE="${PMOC_CACHE:-$HOME/.cache/pmoc}"
PMOC_TOOLS="$PMOC_CACHE/tools/bin"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PMOC_CACHE/target}"
export PATH="$PMOC_TOOLS:$HOME/.cargo/bin:$PATH"
# Where the built front end goes (index.html, style.css, pkg/).
export PMOC_DIST="${PMOC_DIST:-$CARGO_TARGET_DIR/dist}"

# The Kafka-protocol broker of the local stack and of the tests, built from
# crates.io into the cache by setup.sh. `nisshi` (tansu's successor) by
# default; PMOC_BROKER=tansu selects tansu 0.6, kept for comparison (see the
# README, "The broker"). Production points the same code at Apache Kafka.
PMOC_BROKER="${PMOC_BROKER:-nisshi}"
TANSU_VERSION="0.6.0"
NISSHI_VERSION="0.8.1"
# nisshi 0.8 needs rustc >= 1.96; only its build uses this toolchain, the
# workspace stays on rust-toolchain.toml's.
NISSHI_TOOLCHAIN="1.96.0"
broker_binary() { echo "$PMOC_TOOLS/$PMOC_BROKER"; }
# Keep in step with tests/src/oidc.rs (VERSION).
OIDC_PROVIDER_VERSION="9.13.3"
# A current binaryen's wasm-opt for the front end, from the npm registry
# (Debian's binaryen 108 rejects what current Rust emits).
BINARYEN_VERSION="132.0.0"
WASM_OPT="$PMOC_CACHE/binaryen/node_modules/.bin/wasm-opt"
# chDB (a current ClickHouse as a library); keep in step with tests/src/chdb.rs.
CHDB_VERSION="26.9.0"

step() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# The wasm-bindgen version Cargo.lock resolved; the CLI must match it exactly.
wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' "$PMOC_ROOT/Cargo.lock"
}

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}
