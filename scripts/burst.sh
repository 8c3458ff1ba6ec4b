#!/usr/bin/env bash
# Measures the running local stack (scripts/up.sh, same PMOC_STATE) under a
# burst of agency traffic on the HTTP ingest: records accepted per second,
# the pipeline's time to catch up (its Kafka lag back to normal), the peak
# RSS of every process, restarts, and whether every process stayed up.
# Prints a table and writes the same figures as JSON to $STATE/log/.
#
# Usage: scripts/burst.sh [pmoc-burst options...]
#   default: 200,000 valid hii.rainfall records with 100,000 junk records
#   mixed in, batches of 10,000, 4 connections (`pmoc-burst --help`), e.g.
#   `--valid 600000 --junk 0 --rate 5000` for a steady 5,000 events/s.
# PMOC_CLICKHOUSE_OUTAGE=60 freezes ClickHouse (SIGSTOP) for 60 s, starting
# PMOC_CLICKHOUSE_OUTAGE_AFTER (default 20) s into the burst: what the
# pipeline's memory does while it cannot store (the README's figure).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$PMOC_ROOT"

STATE="${PMOC_STATE:-$PMOC_ROOT/.state}"
HTTP_INGEST="${PMOC_HTTP_INGEST__LISTEN:-127.0.0.1:8090}"
PIPELINE_METRICS="${PMOC_PIPELINE_METRICS:-127.0.0.1:9464}"
DEV_TOKEN="${PMOC_HTTP_INGEST_DEV_TOKEN:-pmoc-dev-token-hii}"
# Lag (messages) the pipeline counts as caught up: what the simulators
# publish in about a second.
CAUGHT_UP_LAG="${PMOC_CAUGHT_UP_LAG:-500}"
source "$PMOC_ROOT/scripts/stack.sh"

curl -fsS "http://$HTTP_INGEST/healthz" >/dev/null 2>&1 \
  || die "no HTTP ingest at $HTTP_INGEST: start the stack with scripts/up.sh first"
step "building pmoc-burst (release)"
cargo build --release -q -p pmoc-tests --bin pmoc-burst
burst="$CARGO_TARGET_DIR/release/pmoc-burst"

stamp="$(date +%Y%m%dT%H%M%S)"
samples="$STATE/log/burst-$stamp.rss"
restarts_before=$(grep -c 'restarting' "$STATE/log/supervisor.log" 2>/dev/null || true)

# Samples every process's resident memory twice a second until stopped.
sample_rss() {
  while true; do
    for f in "$STATE"/run/*.pid; do
      local name pid kb
      name="$(basename "$f" .pid)"
      pid="$(cat "$f" 2>/dev/null)" || continue
      # ClickHouse and PostgreSQL fork workers: count the whole tree.
      kb=$(ps -o rss= --pid "$pid" --ppid "$pid" 2>/dev/null | awk '{s += $1} END {print s + 0}')
      echo "$name $kb"
    done
    sleep 0.5
  done >"$samples"
}
sample_rss &
sampler=$!
trap 'kill $sampler 2>/dev/null || true' EXIT

lag() {
  curl -fsS "http://$PIPELINE_METRICS/metrics" 2>/dev/null \
    | awk '/^pmoc_pipeline_kafka_lag_messages/ {s += $NF} END {print s + 0}'
}

outage=""
if [[ -n ${PMOC_CLICKHOUSE_OUTAGE:-} ]]; then
  ch_pid="$(cat "$STATE/run/clickhouse.pid")"
  (
    sleep "${PMOC_CLICKHOUSE_OUTAGE_AFTER:-20}"
    say "burst: freezing ClickHouse (pid $ch_pid) for ${PMOC_CLICKHOUSE_OUTAGE}s"
    kill -STOP "$ch_pid"
    sleep "$PMOC_CLICKHOUSE_OUTAGE"
    kill -CONT "$ch_pid"
    say "burst: ClickHouse resumed"
  ) &
  outage=$!
  trap 'kill $sampler 2>/dev/null || true; kill -CONT "$ch_pid" 2>/dev/null || true' EXIT
fi

step "burst: $* (log: $STATE/log/burst-$stamp.json)"
start=$(date +%s.%N)
report="$(PMOC_BURST_TOKEN="$DEV_TOKEN" "$burst" --endpoint "http://$HTTP_INGEST/v1/events" "$@")"
sent=$(date +%s.%N)
[[ -n $outage ]] && wait "$outage"

step "waiting for the pipeline to catch up (lag under $CAUGHT_UP_LAG messages)"
deadline=$((SECONDS + 900))
peak_lag=0 caught_up=""
# librdkafka reports lag every 5 s: wait for two reports at or under the mark.
low=0
while ((SECONDS < deadline)); do
  l=$(lag)
  ((l > peak_lag)) && peak_lag=$l
  if ((l <= CAUGHT_UP_LAG)); then
    low=$((low + 1))
    ((low >= 2)) && { caught_up=$(date +%s.%N); break; }
  else
    low=0
  fi
  sleep 2.5
done
kill $sampler 2>/dev/null || true

restarts=$(($(grep -c 'restarting' "$STATE/log/supervisor.log" 2>/dev/null || true) - restarts_before))
down=()
for f in "$STATE"/run/*.pid; do
  kill -0 "$(cat "$f")" 2>/dev/null || down+=("$(basename "$f" .pid)")
done
peaks="$(awk '{ if ($2 > m[$1]) m[$1] = $2 } END { for (n in m) printf "%s %d\n", n, m[n] / 1024 }' "$samples" | sort)"

python3 - "$report" "$start" "$sent" "${caught_up:-}" "$peak_lag" "$restarts" "${down[*]:-}" "$peaks" \
  "$PMOC_BROKER" "${PMOC_BROKER_STORAGE:-sqlite}" "$STATE/log/burst-$stamp.json" <<'PY'
import json, sys
report, start, sent, caught, peak_lag, restarts, down, peaks, broker, storage, out = sys.argv[1:]
r = json.loads(report)
start, sent = float(start), float(sent)
fig = {
    "broker": broker, "storage": storage,
    "records_sent": r["records_sent"], "accepted": r["accepted"], "rejected": r["rejected"],
    "abandoned_batches": r["abandoned"], "retries": r["retries"], "statuses": r["statuses"],
    "burst_seconds": round(sent - start, 1),
    "accepted_per_second": round(r["accepted"] / max(sent - start, 1e-9)),
    "records_per_second": round(r["records_sent"] / max(sent - start, 1e-9)),
    "catch_up_seconds_after_burst": round(float(caught) - sent, 1) if caught else None,
    "peak_lag_messages": int(peak_lag),
    "restarts": int(restarts), "down_at_end": down.split() if down else [],
    "peak_rss_mb": {l.split()[0]: int(l.split()[1]) for l in peaks.splitlines() if l.strip()},
}
json.dump(fig, open(out, "w"), indent=2)
print(f"\n  broker {broker} ({storage} storage)")
for k in ["records_sent", "accepted", "rejected", "abandoned_batches", "retries", "statuses",
          "burst_seconds", "accepted_per_second", "records_per_second",
          "catch_up_seconds_after_burst", "peak_lag_messages", "restarts", "down_at_end"]:
    print(f"  {k:30} {fig[k]}")
print("  peak RSS (MB):                 " + ", ".join(f"{n} {m}" for n, m in fig["peak_rss_mb"].items()))
print(f"  figures: {out}")
PY
