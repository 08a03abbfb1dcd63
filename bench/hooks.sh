#!/usr/bin/env bash
# Server-hook benchmarks against a release build:
#   1. one job firing every second on an idle server, 30 s: how late each firing starts
#      (startedAt - scheduledAt) and ends (finishedAt - scheduledAt);
#   2. 1,000 jobs due in the same second: how late the last of them finishes;
#   3. object creates paced at RATE per second for SECONDS_PER_RUN seconds with a trigger hook
#      on their bucket: every create delivered? lag from the change to the hook run's start
#      (p50/p99/max), while a manual trivial endpoint is called on one connection (its p99).
# Lags are read from the execution history and, for triggers, from the developer log joined
# with the change events in the database. Needs wrk (Debian package) and psql for PostgreSQL.
# Usage: bench/hooks.sh [sqlite|postgres|both]   (env: RATE=5000 SECONDS_PER_RUN=10)
set -euo pipefail
cd "$(dirname "$0")/.."
which wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
backends="${1:-sqlite}"; [ "$backends" = both ] && backends="sqlite postgres"
secs="${SECONDS_PER_RUN:-10}"; rate="${RATE:-5000}"; conns=16
pg_admin="${KUMO_BENCH_PG:-postgres://postgres@127.0.0.1:5432/test}"
# KUMO_BIN=path runs a binary built elsewhere (e.g. an older commit, for an A/B run).
bin="${KUMO_BIN:-target/release/kumo}"
[ -n "${KUMO_BIN:-}" ] || cargo build --release -q -p kumo-cli --bin kumo

run_backend() {
  local backend=$1 dir port db="" pid dburl
  dir=$(mktemp -d); port=$((20000 + RANDOM % 10000))
  local args=(serve --listen "127.0.0.1:$port" --data-dir "$dir" --devlog-mb 512)
  dburl="sqlite:$dir/kumo.db"
  if [ "$backend" = postgres ]; then
    db="kumo_hookbench_$$_$RANDOM"
    psql "$pg_admin" -qc "CREATE DATABASE $db" >/dev/null
    dburl="${pg_admin%/*}/$db"
    args+=(--database-url "$dburl")
  fi
  KUMO_LOG=warn "$bin" "${args[@]}" >/dev/null &
  pid=$!
  cleanup="kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf $dir; if [ -n '$db' ]; then psql '$pg_admin' -qc 'DROP DATABASE IF EXISTS $db' >/dev/null 2>&1; fi; true"
  trap "$cleanup" EXIT
  for _ in $(seq 200); do [ -f "$dir/default-app.json" ] && curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.05; done
  python3 bench/hooks_driver.py "$backend" "http://127.0.0.1:$port" "$dir/default-app.json" "$dburl" "$secs" "$rate" "$conns"
  eval "$cleanup"; trap - EXIT
}

for b in $backends; do run_backend "$b"; done
