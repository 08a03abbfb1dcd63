#!/usr/bin/env bash
# Object benchmarks against a release build: seed a bucket (objects with an `owner` field of
# 1,000 distinct values; examples/seed.rs), then at 10,000 and at 100,000 objects measure, at 32 connections:
# GET by ID, the query `eq owner` + `orderBy _created desc` + limit 10, and object create
# (POST, into a separate bucket). Needs wrk (Debian package); PostgreSQL runs use psql to
# make and drop a scratch database.
#
# Usage: bench/objects.sh [sqlite|postgres|both]   (env: SECONDS_PER_RUN=10 CONNECTIONS=32)
set -euo pipefail
cd "$(dirname "$0")/.."
which wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
backends="${1:-both}"; [ "$backends" = both ] && backends="sqlite postgres"
secs="${SECONDS_PER_RUN:-10}"; conns="${CONNECTIONS:-32}"; threads=2
pg_admin="${KUMO_BENCH_PG:-postgres://postgres@127.0.0.1:5432/test}"
cargo build --release -q -p kumo-cli --bin kumo --example seed
bin=target/release/kumo
lua=bench/lua

summary() { # label, wrk output file
  awk -v label="$1" '
    /Requests\/sec/ { rps = $2 }
    $1 == "50%" { p50 = $2 } $1 == "99%" { p99 = $2 }
    /Non-2xx/ { errs = $NF }
    END { printf "%-34s %10s req/s   p50 %8s   p99 %8s   non-2xx %s\n", label, rps, p50, p99, (errs == "" ? 0 : errs) }' "$2"
}

run_backend() {
  local backend=$1 dir port db="" pid
  dir=$(mktemp -d); port=$((20000 + RANDOM % 10000))
  local args=(serve --listen "127.0.0.1:$port" --data-dir "$dir") url="sqlite://$dir/kumo.db?mode=rwc"
  if [ "$backend" = postgres ]; then
    db="kumo_bench_$$_$RANDOM"
    psql "$pg_admin" -qc "CREATE DATABASE $db" >/dev/null
    url="${pg_admin%/*}/$db"
    args+=(--database-url "$url")
  fi
  KUMO_LOG=warn "$bin" "${args[@]}" >/dev/null &
  pid=$!
  trap "kill $pid 2>/dev/null; rm -rf $dir; [ -n '$db' ] && psql '$pg_admin' -qc 'DROP DATABASE IF EXISTS $db' >/dev/null 2>&1" RETURN
  for _ in $(seq 200); do [ -f "$dir/default-app.json" ] && curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.05; done
  local app base token
  app=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['appID'])" "$dir/default-app.json")
  base="http://127.0.0.1:$port"
  local uid
  uid=$(curl -sf -X POST "$base/api/apps/$app/users" -d '{"loginName":"bench","password":"bench1234"}' |
    python3 -c "import json,sys; print(json.load(sys.stdin)['userID'])")
  token=$(curl -sf -X POST "$base/api/oauth2/token" -H "x-kii-appid: $app" -d '{"username":"bench","password":"bench1234"}' |
    python3 -c "import json,sys; print(json.load(sys.stdin)['access_token'])")
  local out; out=$(mktemp)
  local have=0
  for size in 10000 100000; do
    # Seeding goes through the service layer in-process (the same rules as PUT), many at once.
    printf "%-10s " "$backend"; target/release/examples/seed "$url" "$app" "$uid" $((have + 1)) $((size - have))
    have=$size
    wrk -t$threads -c$conns -d${secs}s --latency -s $lua/get.lua "$base" -- "$token" "$app" $size >"$out" 2>&1
    summary "$backend @${size}: GET by ID" "$out"
    wrk -t$threads -c$conns -d${secs}s --latency -s $lua/query.lua "$base" -- "$token" "$app" >"$out" 2>&1
    summary "$backend @${size}: query eq+orderBy+limit10" "$out"
    wrk -t$threads -c$conns -d${secs}s --latency -s $lua/post.lua "$base" -- "$token" "$app" >"$out" 2>&1
    summary "$backend @${size}: POST create" "$out"
  done
  echo "$backend: server RSS $(awk '/VmRSS/ {print $2 " kB"}' /proc/$pid/status)"
  rm -f "$out"
}

for b in $backends; do run_backend "$b"; done
