#!/usr/bin/env bash
# The broker evaluation of the README ("The broker"): for each broker and
# storage given (default: nisshi and tansu, each with SQLite and with
# PostgreSQL), starts the whole local stack from scratch in its own state
# folder, lets the simulators run, sends the burst (scripts/burst.sh) twice,
# and stops the stack. Figures: $PMOC_EVAL_DIR/<broker>-<storage>-*.json.
#
# Usage: scripts/broker-eval.sh [broker:storage ...]   e.g. nisshi:sqlite
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/stack.sh"
cd "$PMOC_ROOT"

EVAL_DIR="${PMOC_EVAL_DIR:-$PMOC_CACHE/broker-eval}"
configs=("$@")
((${#configs[@]})) || configs=(nisshi:sqlite nisshi:postgres tansu:sqlite tansu:postgres)
mkdir -p "$EVAL_DIR"

for config in "${configs[@]}"; do
  broker=${config%%:*} storage=${config##*:}
  state="$EVAL_DIR/state-$broker-$storage"
  rm -rf "$state" "$(postgres_dir "$state")"
  step "== $broker with $storage storage (state $state)"
  PMOC_BROKER=$broker PMOC_BROKER_STORAGE=$storage PMOC_STATE=$state \
    bash scripts/up.sh >"$EVAL_DIR/$broker-$storage-up.log" 2>&1 &
  up=$!
  deadline=$((SECONDS + 1800))
  until curl -fsS http://127.0.0.1:8090/healthz >/dev/null 2>&1; do
    kill -0 $up 2>/dev/null || { tail -20 "$EVAL_DIR/$broker-$storage-up.log"; die "up.sh ended"; }
    ((SECONDS < deadline)) || die "the stack did not come up"
    sleep 1
  done
  # Let the simulators fill the topics and windows for a minute first.
  sleep 60
  for round in 1 2; do
    PMOC_BROKER=$broker PMOC_BROKER_STORAGE=$storage PMOC_STATE=$state \
      bash scripts/burst.sh | tee "$EVAL_DIR/$broker-$storage-round$round.txt" || true
    cp "$(ls -t "$state"/log/burst-*.json | head -1)" "$EVAL_DIR/$broker-$storage-round$round.json" 2>/dev/null || true
  done
  grep -ciE 'panic|DuplicateSequence' "$state/log/broker.log" >"$EVAL_DIR/$broker-$storage-broker-errors.txt" || true
  # TERM: a background job of a script ignores SIGINT.
  kill -TERM $up; wait $up || true
done
step "figures in $EVAL_DIR"
