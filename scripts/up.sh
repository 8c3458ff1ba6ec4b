#!/usr/bin/env bash
# README command 1: install what is missing, build, and run the whole local
# stack (broker, ClickHouse, migrations, simulators, pipeline, dashboard,
# HTTP ingest) with its state under .state/. Each part runs under a small
# supervisor that restarts it, with back-off, when it exits, and logs that
# (.state/log/supervisor.log). Ctrl-C stops everything it started; running
# it again reuses the stored data.
#
# PMOC_BROKER=nisshi|tansu chooses the broker, PMOC_BROKER_STORAGE=sqlite|
# postgres its storage (PostgreSQL runs as a user process under .state/).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$PMOC_ROOT"

STATE="${PMOC_STATE:-$PMOC_ROOT/.state}"
BROKER_PORT="${PMOC_BROKER_PORT:-19092}"
BROKER_STORAGE="${PMOC_BROKER_STORAGE:-sqlite}"
PG_PORT="${PMOC_POSTGRES_PORT:-15432}"
CH_HTTP_PORT="${PMOC_CLICKHOUSE_HTTP_PORT:-18123}"
CH_TCP_PORT="${PMOC_CLICKHOUSE_TCP_PORT:-19000}"
PIPELINE_METRICS="${PMOC_PIPELINE_METRICS:-127.0.0.1:9464}"
DASHBOARD="${PMOC_DASHBOARD__LISTEN:-127.0.0.1:8080}"
HTTP_INGEST="${PMOC_HTTP_INGEST__LISTEN:-127.0.0.1:8090}"
# Prometheus reads the dashboard's and the HTTP ingest's metrics on loopback
# listeners of their own, never on the ones people and agencies use.
DASHBOARD_METRICS="${PMOC_DASHBOARD__METRICS_LISTEN:-127.0.0.1:9465}"
INGEST_METRICS="${PMOC_HTTP_INGEST__METRICS_LISTEN:-127.0.0.1:9466}"
# A development-only bearer token for agency HII on the HTTP ingest endpoint;
# the server is given only its SHA-256 hash. Never use it beyond a laptop.
DEV_TOKEN="${PMOC_HTTP_INGEST_DEV_TOKEN:-pmoc-dev-token-hii}"
mkdir -p "$STATE"/{clickhouse,broker,log,run}
source "$PMOC_ROOT/scripts/stack.sh"

# Before building anything: every port this stack needs must be free.
require_free_port "$CH_HTTP_PORT" "ClickHouse HTTP"
require_free_port "$CH_TCP_PORT" "ClickHouse native"
require_free_port "$BROKER_PORT" "broker"
[[ $BROKER_STORAGE == postgres ]] && require_free_port "$PG_PORT" "PostgreSQL"
require_free_port "${PIPELINE_METRICS##*:}" "pipeline metrics"
require_free_port "${DASHBOARD##*:}" "dashboard"
require_free_port "${HTTP_INGEST##*:}" "HTTP ingest"
require_free_port "${DASHBOARD_METRICS##*:}" "dashboard metrics"
require_free_port "${INGEST_METRICS##*:}" "HTTP ingest metrics"
rm -f "$STATE/run/stopping"

bash scripts/setup.sh
bash scripts/build.sh

# The local stack's settings (simulated cadences); PMOC_CONFIG overrides.
export PMOC_CONFIG="${PMOC_CONFIG:-$PMOC_ROOT/config/local.toml}"
export PMOC_KAFKA__BROKERS="127.0.0.1:$BROKER_PORT"
export PMOC_CLICKHOUSE__URL="http://127.0.0.1:$CH_HTTP_PORT"
export PMOC_DASHBOARD__LISTEN="$DASHBOARD"
export PMOC_DASHBOARD__ASSETS_DIR="$PMOC_DIST"
export PMOC_HTTP_INGEST__LISTEN="$HTTP_INGEST"
# Dashboard sign-in: local accounts and wall-screen tokens live in .state/.
export PMOC_AUTH__ACCOUNTS_FILE="$STATE/accounts.json"
export PMOC_AUTH__KIOSKS_FILE="$STATE/kiosks.json"
export PMOC_DASHBOARD__METRICS_LISTEN="$DASHBOARD_METRICS"
export PMOC_HTTP_INGEST__METRICS_LISTEN="$INGEST_METRICS"
bin="$CARGO_TARGET_DIR/release"

supervisors=()
cleanup() {
  trap - EXIT INT TERM
  step "stopping"
  touch "$STATE/run/stopping"
  # Supervisors stop their process (TERM, KILL after 5 s) and then exit.
  ((${#supervisors[@]})) && kill -TERM "${supervisors[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -f "$STATE"/run/*.pid "$STATE/run/stopping"
}
trap cleanup EXIT INT TERM

# start NAME COMMAND...: under a supervisor, in the background.
start() {
  supervise "$@" &
  supervisors+=($!)
}

step "starting ClickHouse on 127.0.0.1:$CH_HTTP_PORT (data in $STATE/clickhouse)"
sed -e "s|@STATE@|$STATE/clickhouse|g" -e "s|@HTTP_PORT@|$CH_HTTP_PORT|" -e "s|@TCP_PORT@|$CH_TCP_PORT|" \
  config/clickhouse/config.xml.in > "$STATE/clickhouse/config.xml"
cp config/clickhouse/users.xml "$STATE/clickhouse/users.xml"
start clickhouse /usr/sbin/clickhouse-server --config-file="$STATE/clickhouse/config.xml"
wait_until 60 ClickHouse curl -fsS "http://127.0.0.1:$CH_HTTP_PORT/ping"

storage_url="sqlite://pmoc.db"
if [[ $BROKER_STORAGE == postgres ]]; then
  pg_dir=$(postgres_dir "$STATE")
  step "starting PostgreSQL on 127.0.0.1:$PG_PORT for the broker (data in $pg_dir)"
  postgres_init "$pg_dir"
  start postgres run_postgres "$pg_dir" "$PG_PORT"
  wait_until 60 PostgreSQL "$(pg_bin pg_isready)" -h 127.0.0.1 -p "$PG_PORT"
  storage_url="$(broker_storage_url postgres "$PG_PORT")"
fi

step "starting the Kafka-protocol broker ($PMOC_BROKER, $BROKER_STORAGE storage) on 127.0.0.1:$BROKER_PORT"
start broker run_broker "$BROKER_PORT" "$storage_url"
wait_until 60 broker port_open "$BROKER_PORT"

step "creating topics and tables (idempotent)"
"$bin/pmoc-ingest" topics
"$bin/pmoc-pipeline" --migrate-only --metrics-listen ""

step "starting the pipeline, the simulators and the dashboard"
start pipeline "$bin/pmoc-pipeline" --metrics-listen "$PIPELINE_METRICS"
start committees "$bin/pmoc-ingest" simulate --committee all
# Once: an operator account with a generated password, and a wall-screen
# token, both kept (owner-only) in .state/ so every run prints the same.
(
  umask 077
  if [[ ! -s $STATE/operator-password ]]; then
    { "$bin/pmoc-dashboard" accounts add operator --role operator --generate 2>/dev/null ||
      "$bin/pmoc-dashboard" accounts reset operator --generate; } |
      sed -n 's/^password: //p' >"$STATE/operator-password"
  fi
  if [[ ! -s $STATE/wall-url ]]; then
    "$bin/pmoc-dashboard" kiosk enrol wall --url "http://$DASHBOARD" | tail -n 1 >"$STATE/wall-url"
  fi
)
start dashboard "$bin/pmoc-dashboard"
wait_until 30 dashboard curl -fsS "http://$DASHBOARD/healthz"

step "starting the HTTP ingest endpoint on $HTTP_INGEST (agency HII, dev token)"
export PMOC_HTTP_INGEST__AGENCIES__HII="$(printf '%s\n' "$DEV_TOKEN" | "$bin/pmoc-ingest" hash-token)"
start http-ingest "$bin/pmoc-ingest" serve
wait_until 30 "http ingest" curl -fsS "http://$HTTP_INGEST/healthz"

cat <<MSG

  PMOC is running.   Dashboard: http://$DASHBOARD/
  Sign in as "operator" with password $(cat "$STATE/operator-password")
  Wall screen (kiosk token, no sign-in): $(cat "$STATE/wall-url")
  Drill-down: http://$DASHBOARD/area/nation/TH   Alerts: http://$DASHBOARD/alerts
  Running (provisional) figures appear within seconds; one-minute windows
  become final 30 s after they end. Logs: $STATE/log/ (restarts in
  supervisor.log)   Metrics: http://$PMOC_DASHBOARD__METRICS_LISTEN/metrics,
  http://$PIPELINE_METRICS/metrics (pipeline), http://$PMOC_HTTP_INGEST__METRICS_LISTEN/metrics (HTTP ingest).

  HTTP ingest (agencies without Kafka): POST http://$HTTP_INGEST/v1/events
  with the development token of agency HII, e.g.
    curl -sS -H "Authorization: Bearer $DEV_TOKEN" \\
      -H 'Content-Type: application/x-ndjson' --data-binary @- \\
      http://$HTTP_INGEST/v1/events <<'EOF'
    {"schema":"hii.rainfall","schema_version":1,"event_id":"demo-1","source_agency":"HII","source_system":"curl","committee":"water","event_time":"$(date -u +%Y-%m-%dT%H:%M:%SZ)","area":{"province":"50"},"payload":{"station_id":"CPY011","rain_1h_mm":12.5,"rain_24h_mm":80.0}}
    EOF
  Press Ctrl-C to stop everything.

MSG
# Supervisors restart what exits; this waits until Ctrl-C (or TERM).
wait
