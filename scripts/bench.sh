#!/usr/bin/env bash
# The whole-stack benchmark: measures the running local stack (scripts/up.sh,
# same PMOC_STATE and ports) and prints a table next to the targets of
# issue 10; writes the same figures as JSON to $STATE/log/bench-<stamp>.json.
#
# Phases (pmoc-bench --help for every option; each can be left out with
# --phases): sustained ingest over the HTTP ingest with the broker's own
# ceiling beside it; freshness from an event's production to the server's
# push against a 5 s ClickHouse poll; drill-down API latency with wrk after
# loading the final windows of 10 M events; push fan-out to 500 clients;
# the wall's cold load in headless Chromium and the WASM's size.
#
# Usage: scripts/bench.sh [pmoc-bench options...], e.g. a quick look:
#   scripts/bench.sh --rates 500,1000 --step-seconds 20 --fresh-seconds 20 \
#     --stored-events 100000 --api-clients 20 --api-seconds 10 --push-clients 50
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$PMOC_ROOT"

STATE="${PMOC_STATE:-$PMOC_ROOT/.state}"
BROKER_PORT="${PMOC_BROKER_PORT:-19092}"
CH_HTTP_PORT="${PMOC_CLICKHOUSE_HTTP_PORT:-18123}"
PIPELINE_METRICS="${PMOC_PIPELINE_METRICS:-127.0.0.1:9464}"
DASHBOARD="${PMOC_DASHBOARD__LISTEN:-127.0.0.1:8080}"
HTTP_INGEST="${PMOC_HTTP_INGEST__LISTEN:-127.0.0.1:8090}"
DEV_TOKEN="${PMOC_HTTP_INGEST_DEV_TOKEN:-pmoc-dev-token-hii}"

source "$PMOC_ROOT/scripts/stack.sh"

# A running stack (scripts/up.sh, same PMOC_STATE and ports) is reused; with
# none, this starts one, lets the simulators feed it for a while so the
# figures are taken on a stack in steady state, and stops it afterwards.
own_stack=""
stop_own_stack() {
  [[ -n $own_stack ]] || return 0
  step "stopping the stack this benchmark started"
  kill -TERM "$own_stack" 2>/dev/null || true
  wait "$own_stack" 2>/dev/null || true
}
if ! curl -fsS "http://$DASHBOARD/healthz" >/dev/null 2>&1; then
  mkdir -p "$STATE/log"
  step "no stack at $DASHBOARD: starting scripts/up.sh (log: $STATE/log/bench-up.log)"
  PMOC_STATE="$STATE" bash scripts/up.sh >"$STATE/log/bench-up.log" 2>&1 &
  own_stack=$!
  trap stop_own_stack EXIT
  deadline=$((SECONDS + 3600)) # a fresh machine builds first
  until curl -fsS "http://$HTTP_INGEST/healthz" >/dev/null 2>&1; do
    kill -0 "$own_stack" 2>/dev/null || die "scripts/up.sh stopped: see $STATE/log/bench-up.log"
    ((SECONDS < deadline)) || die "the stack did not come up within an hour: see $STATE/log/bench-up.log"
    sleep 1
  done
  warm="${PMOC_BENCH_WARMUP_SECONDS:-120}"
  step "stack up; simulators feed it for ${warm} s before measuring"
  sleep "$warm" # a duration to wait, not a condition: the feeds' steady state
fi
curl -fsS "http://$HTTP_INGEST/healthz" >/dev/null 2>&1 \
  || die "no HTTP ingest at $HTTP_INGEST: start the stack first (scripts/up.sh)"
[[ -s $STATE/operator-password ]] || die "no $STATE/operator-password: is PMOC_STATE the stack's?"
command -v wrk >/dev/null || die "wrk is missing: run scripts/setup.sh"

step "building pmoc-bench (release)"
cargo build --release -q -p pmoc-tests --bin pmoc-bench

stamp="$(date +%Y%m%dT%H%M%S)"
out="$STATE/log/bench-$stamp.json"
scratch="${TMPDIR:-/tmp}/pmoc-bench-$stamp"
mkdir -p "$scratch" "$STATE/log"
trap 'rm -rf "$scratch"; stop_own_stack' EXIT

# The stack's own settings, as up.sh gives them to its processes.
export PMOC_CONFIG="${PMOC_CONFIG:-$PMOC_ROOT/config/local.toml}"
export PMOC_KAFKA__BROKERS="127.0.0.1:$BROKER_PORT"
export PMOC_CLICKHOUSE__URL="http://127.0.0.1:$CH_HTTP_PORT"

pid_args=()
[[ -s $STATE/run/dashboard.pid ]] && pid_args+=(--server-pid "$(cat "$STATE/run/dashboard.pid")")
[[ -s $STATE/run/clickhouse.pid ]] && pid_args+=(--clickhouse-pid "$(cat "$STATE/run/clickhouse.pid")")

# The wall's screenshots at each viewport go beside the figures.
export PMOC_ARTIFACTS="$STATE/log/bench-$stamp"
step "benchmark (figures: $out, screenshots: $PMOC_ARTIFACTS)"
PMOC_BENCH_TOKEN="$DEV_TOKEN" nice -n "${PMOC_BENCH_NICE:-10}" "$CARGO_TARGET_DIR/release/pmoc-bench" \
  --dashboard "http://$DASHBOARD" \
  --ingest "http://$HTTP_INGEST/v1/events" \
  --pipeline-metrics "http://$PIPELINE_METRICS/metrics" \
  --password-file "$STATE/operator-password" \
  --wall-url-file "$STATE/wall-url" \
  --dist "$PMOC_DIST" \
  --scratch "$scratch" \
  --out "$out" \
  "${pid_args[@]}" "$@"
