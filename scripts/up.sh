#!/usr/bin/env bash
# README command 1: install what is missing, build, and run the whole local
# stack (broker, ClickHouse, migrations, simulator, pipeline, dashboard, HTTP
# ingest) with its state under .state/. Ctrl-C stops everything it started;
# running it again reuses the stored data.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$PMOC_ROOT"

bash scripts/setup.sh
bash scripts/build.sh

STATE="${PMOC_STATE:-$PMOC_ROOT/.state}"
BROKER_PORT="${PMOC_BROKER_PORT:-19092}"
CH_HTTP_PORT="${PMOC_CLICKHOUSE_HTTP_PORT:-18123}"
CH_TCP_PORT="${PMOC_CLICKHOUSE_TCP_PORT:-19000}"
DASHBOARD="${PMOC_DASHBOARD__LISTEN:-127.0.0.1:8080}"
HTTP_INGEST="${PMOC_HTTP_INGEST__LISTEN:-127.0.0.1:8090}"
# A development-only bearer token for agency HII on the HTTP ingest endpoint;
# the server is given only its SHA-256 hash. Never use it beyond a laptop.
DEV_TOKEN="${PMOC_HTTP_INGEST_DEV_TOKEN:-pmoc-dev-token-hii}"
export PMOC_KAFKA__BROKERS="127.0.0.1:$BROKER_PORT"
export PMOC_CLICKHOUSE__URL="http://127.0.0.1:$CH_HTTP_PORT"
export PMOC_DASHBOARD__LISTEN="$DASHBOARD"
export PMOC_DASHBOARD__ASSETS_DIR="$PMOC_DIST"
export PMOC_HTTP_INGEST__LISTEN="$HTTP_INGEST"
# Dashboard sign-in: local accounts and wall-screen tokens live in .state/;
# Prometheus reads the dashboard's metrics on a loopback listener of its own.
export PMOC_AUTH__ACCOUNTS_FILE="$STATE/accounts.json"
export PMOC_AUTH__KIOSKS_FILE="$STATE/kiosks.json"
export PMOC_DASHBOARD__METRICS_LISTEN="${PMOC_DASHBOARD__METRICS_LISTEN:-127.0.0.1:9465}"
export PMOC_HTTP_INGEST__METRICS_LISTEN="${PMOC_HTTP_INGEST__METRICS_LISTEN:-127.0.0.1:9466}"
bin="$CARGO_TARGET_DIR/release"
mkdir -p "$STATE"/{clickhouse,broker,log}

pids=()
cleanup() {
  trap - EXIT INT TERM
  step "stopping"
  ((${#pids[@]})) && kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

# Waits until a command succeeds, up to $1 seconds, re-checking often.
wait_until() {
  local limit=$1 what=$2; shift 2
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "$what did not become ready in ${limit}s (logs in $STATE/log)"
    sleep 0.2
  done
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

step "starting ClickHouse on 127.0.0.1:$CH_HTTP_PORT (data in $STATE/clickhouse)"
sed -e "s|@STATE@|$STATE/clickhouse|g" -e "s|@HTTP_PORT@|$CH_HTTP_PORT|" -e "s|@TCP_PORT@|$CH_TCP_PORT|" \
  config/clickhouse/config.xml.in > "$STATE/clickhouse/config.xml"
cp config/clickhouse/users.xml "$STATE/clickhouse/users.xml"
/usr/sbin/clickhouse-server --config-file="$STATE/clickhouse/config.xml" >"$STATE/log/clickhouse.out" 2>&1 &
pids+=($!)
wait_until 60 ClickHouse curl -fsS "http://127.0.0.1:$CH_HTTP_PORT/ping"

step "starting the Kafka-protocol broker (tansu) on 127.0.0.1:$BROKER_PORT"
# tansu resolves sqlite:// paths against its working directory.
(cd "$STATE/broker" && exec tansu broker --cluster-id pmoc \
  --listener-url "tcp://127.0.0.1:$BROKER_PORT" --advertised-listener-url "tcp://127.0.0.1:$BROKER_PORT" \
  --storage-engine "sqlite://pmoc.db") >"$STATE/log/broker.log" 2>&1 &
pids+=($!)
wait_until 60 broker port_open "$BROKER_PORT"

step "creating topics and tables (idempotent)"
"$bin/pmoc-ingest" topics
"$bin/pmoc-pipeline" --migrate-only --metrics-listen ""

step "starting the pipeline, the simulators and the dashboard"
"$bin/pmoc-pipeline" >"$STATE/log/pipeline.log" 2>&1 &
pids+=($!)
"$bin/pmoc-ingest" simulate --committee all >"$STATE/log/committees.log" 2>&1 &
pids+=($!)
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
"$bin/pmoc-dashboard" >"$STATE/log/dashboard.log" 2>&1 &
pids+=($!)
wait_until 30 dashboard curl -fsS "http://$DASHBOARD/healthz"

step "starting the HTTP ingest endpoint on $HTTP_INGEST (agency HII, dev token)"
dev_hash="$(printf '%s\n' "$DEV_TOKEN" | "$bin/pmoc-ingest" hash-token)"
PMOC_HTTP_INGEST__AGENCIES__HII="$dev_hash" "$bin/pmoc-ingest" serve >"$STATE/log/http-ingest.log" 2>&1 &
pids+=($!)
wait_until 30 "http ingest" curl -fsS "http://$HTTP_INGEST/healthz"

cat <<MSG

  PMOC is running.   Dashboard: http://$DASHBOARD/
  Sign in as "operator" with password $(cat "$STATE/operator-password")
  Wall screen (kiosk token, no sign-in): $(cat "$STATE/wall-url")
  Drill-down: http://$DASHBOARD/area/nation/TH   Alerts: http://$DASHBOARD/alerts
  Running (provisional) figures appear within seconds; one-minute windows
  become final 30 s after they end. Logs: $STATE/log/   Metrics:
  http://$PMOC_DASHBOARD__METRICS_LISTEN/metrics, http://127.0.0.1:9464/metrics (pipeline),
  http://$PMOC_HTTP_INGEST__METRICS_LISTEN/metrics (HTTP ingest).

  HTTP ingest (agencies without Kafka): POST http://$HTTP_INGEST/v1/events
  with the development token of agency HII, e.g.
    curl -sS -H "Authorization: Bearer $DEV_TOKEN" \\
      -H 'Content-Type: application/x-ndjson' --data-binary @- \\
      http://$HTTP_INGEST/v1/events <<'EOF'
    {"schema":"hii.rainfall","schema_version":1,"event_id":"demo-1","source_agency":"HII","source_system":"curl","committee":"water","event_time":"$(date -u +%Y-%m-%dT%H:%M:%SZ)","area":{"province":"50"},"payload":{"station_id":"CPY011","rain_1h_mm":12.5,"rain_24h_mm":80.0}}
    EOF
  Press Ctrl-C to stop everything.

MSG
# If any process exits, stop the rest and report it.
wait -n "${pids[@]}" || true
die "a process exited; see $STATE/log/"
