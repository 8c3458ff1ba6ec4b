#!/usr/bin/env bash
# Installs what PMOC needs and is missing; safe to run again (it then does
# nothing). Debian packages, the wasm32 target, the broker (built once
# into the cache) and wasm-bindgen-cli at the exact version Cargo.lock uses.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# rdkafka-sys builds librdkafka with cmake; its sources include <curl/curl.h>
# even with the curl feature off, so the curl headers are a build dependency.
# openssl makes the TLS test's certificate. zookeeper (with its Java) is what
# the replicated ClickHouse test replicates through; python3-venv holds chDB;
# brotli precompresses the front end; wrk is the benchmark's HTTP load tool
# (scripts/bench.sh).
packages=(clickhouse-server chromium chromium-driver fonts-thai-tlwg fonts-tlwg-loma-ttf
          cmake g++ make pkg-config zlib1g-dev libcurl4-openssl-dev libssl-dev curl ca-certificates
          openssl zookeeper python3 python3-venv brotli wrk)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js and npm run the OpenID provider the sign-in tests sign in through.
# Checked as commands, not packages: a Node.js that ships its own npm (as
# NodeSource's does) conflicts with Debian's npm package.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if ((${#missing[@]})); then
  step "installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  step "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

mkdir -p "$PMOC_TOOLS"
# The broker: built once into the cache (a fresh build takes 10-15 minutes).
case $PMOC_BROKER in
  nisshi) broker_version=$NISSHI_VERSION toolchain=("+$NISSHI_TOOLCHAIN") locked=() ;;
  # tansu 0.6's PostgreSQL storage no longer compiles against today's
  # crates.io (tokio-postgres): only its own lock file builds it.
  tansu) broker_version=$TANSU_VERSION toolchain=() locked=(--locked) ;;
  *) die "PMOC_BROKER=$PMOC_BROKER: expected nisshi or tansu" ;;
esac
if ! "$PMOC_TOOLS/$PMOC_BROKER" --version 2>/dev/null | grep -q "$broker_version"; then
  if ((${#toolchain[@]})) && ! rustup toolchain list | grep -q "^$NISSHI_TOOLCHAIN"; then
    step "installing Rust $NISSHI_TOOLCHAIN for the broker's build"
    rustup toolchain install "$NISSHI_TOOLCHAIN" --profile minimal
  fi
  step "building the $PMOC_BROKER broker $broker_version (once, 10-15 minutes; cached in $PMOC_CACHE)"
  cargo "${toolchain[@]}" install "$PMOC_BROKER" --version "$broker_version" "${locked[@]}" \
    --features dynostore,libsql,postgres \
    --root "$PMOC_CACHE/tools" --target-dir "$PMOC_CACHE/$PMOC_BROKER-target"
fi

wbg="$(wasm_bindgen_version)"
[[ -n $wbg ]] || die "wasm-bindgen is not in Cargo.lock"
if ! "$PMOC_TOOLS/wasm-bindgen" --version 2>/dev/null | grep -q " $wbg\$"; then
  step "building wasm-bindgen-cli $wbg (once, about 5 minutes)"
  # Not --locked: its lock file names a crate version the registry mirror lacks.
  cargo install wasm-bindgen-cli --version "$wbg" --root "$PMOC_CACHE/tools" \
    --target-dir "$PMOC_CACHE/wasm-bindgen-target"
fi
# The OpenID provider for the sign-in tests (tests/oidc/provider.mjs):
# oidc-provider from the npm registry, pinned, into the cache.
if ! grep -qs "\"version\": \"$OIDC_PROVIDER_VERSION\"" "$PMOC_CACHE/oidc/node_modules/oidc-provider/package.json"; then
  step "installing oidc-provider $OIDC_PROVIDER_VERSION (npm) into $PMOC_CACHE/oidc"
  mkdir -p "$PMOC_CACHE/oidc"
  npm install --prefix "$PMOC_CACHE/oidc" --no-audit --no-fund --omit=dev \
    "oidc-provider@$OIDC_PROVIDER_VERSION" >/dev/null
fi
# wasm-opt from a current binaryen (npm `binaryen`, pinned) for the front end.
if ! grep -qs "\"version\": \"$BINARYEN_VERSION\"" "$PMOC_CACHE/binaryen/node_modules/binaryen/package.json"; then
  step "installing binaryen $BINARYEN_VERSION (npm, for wasm-opt) into $PMOC_CACHE/binaryen"
  mkdir -p "$PMOC_CACHE/binaryen"
  npm install --prefix "$PMOC_CACHE/binaryen" --no-audit --no-fund --omit=dev \
    "binaryen@$BINARYEN_VERSION" >/dev/null
fi
# A current ClickHouse for the compatibility test: chDB (PyPI chdb-core),
# pinned, in a virtual environment in the cache (the system's Python stays
# untouched); tests/chdb/server.py puts an HTTP front on it.
chdb_python="$PMOC_CACHE/chdb/bin/python"
if ! "$chdb_python" -c "import chdb, sys; sys.exit(chdb.__version__ != '$CHDB_VERSION')" 2>/dev/null; then
  step "installing chdb-core $CHDB_VERSION (PyPI) into $PMOC_CACHE/chdb"
  python3 -m venv "$PMOC_CACHE/chdb"
  "$chdb_python" -m pip install --quiet --disable-pip-version-check "chdb-core==$CHDB_VERSION"
fi
step "setup complete"
