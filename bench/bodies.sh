#!/usr/bin/env bash
# Object-body benchmark against a release build: upload a 1 GiB body with one streamed PUT
# (curl, chunked from a pipe), download it (to /dev/null, then through sha256sum to check it),
# and read the server's peak resident size (VmHWM) before and after each step.
# Needs curl and python3; PostgreSQL runs use psql to make and drop a scratch database.
#
# Usage: bench/bodies.sh [sqlite|postgres|both]   (env: MIB=1024 KUMO_BIN=path)
set -euo pipefail
cd "$(dirname "$0")/.."
backends="${1:-both}"; [ "$backends" = both ] && backends="sqlite postgres"
mib="${MIB:-1024}"
pg_admin="${KUMO_BENCH_PG:-postgres://postgres@127.0.0.1:5432/test}"
bin="${KUMO_BIN:-target/release/kumo}"
[ -n "${KUMO_BIN:-}" ] || cargo build --release -q -p kumo-cli --bin kumo

hwm() { awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }
rss() { awk '/VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }

run_backend() {
  local backend=$1 dir port db="" pid site app token obj block
  dir=$(mktemp -d); port=$((20000 + RANDOM % 10000))
  local args=(serve --listen "127.0.0.1:$port" --data-dir "$dir" --max-object-body-bytes $((mib * 2 * 1024 * 1024)))
  if [ "$backend" = postgres ]; then
    db="kumo_bodybench_$$_$RANDOM"
    psql "$pg_admin" -qc "CREATE DATABASE $db" >/dev/null
    args+=(--database-url "${pg_admin%/*}/$db")
  fi
  KUMO_LOG=warn "$bin" "${args[@]}" >/dev/null &
  pid=$!
  local cleanup="kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf $dir; if [ -n '$db' ]; then psql '$pg_admin' -qc 'DROP DATABASE IF EXISTS $db' >/dev/null 2>&1; fi; true"
  trap "$cleanup" EXIT
  for _ in $(seq 200); do [ -f "$dir/default-app.json" ] && curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.05; done
  site="http://127.0.0.1:$port/api"
  app=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["appID"])' "$dir/default-app.json")
  curl -sf -H 'content-type: application/json' -d '{"loginName":"bench","password":"benchpass1"}' "$site/apps/$app/users" >/dev/null
  token=$(curl -sf -H 'content-type: application/json' -d '{"username":"bench","password":"benchpass1"}' "$site/apps/$app/oauth2/token" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  obj=$(curl -sf -H "authorization: Bearer $token" -H 'content-type: application/json' -d '{"kind":"bench"}' \
    "$site/apps/$app/buckets/bench/objects" | python3 -c 'import json,sys; print(json.load(sys.stdin)["objectID"])')
  local url="$site/apps/$app/buckets/bench/objects/$obj/body"
  block="$dir/block"; head -c 1048576 /dev/urandom >"$block"
  local expect; expect=$(for _ in $(seq "$mib"); do cat "$block"; done | sha256sum | cut -d' ' -f1)
  local idle; idle=$(rss $pid)

  local up; up=$(for _ in $(seq "$mib"); do cat "$block"; done |
    curl -sf -X PUT -T - -H "authorization: Bearer $token" -H 'content-type: application/octet-stream' \
      -o /dev/null -w '%{time_total} %{size_upload}' "$url")
  local up_hwm; up_hwm=$(hwm $pid)
  local down; down=$(curl -sf -H "authorization: Bearer $token" -o /dev/null -w '%{time_total} %{size_download}' "$url")
  local down_hwm; down_hwm=$(hwm $pid)
  local got; got=$(curl -sf -H "authorization: Bearer $token" "$url" | sha256sum | cut -d' ' -f1)
  [ "$got" = "$expect" ] || { echo "$backend: downloaded body differs from the upload" >&2; exit 1; }
  python3 - "$backend" "$mib" "$up" "$down" "$idle" "$up_hwm" "$down_hwm" <<'PY'
import sys
backend, mib, up, down, idle, up_hwm, down_hwm = sys.argv[1:]
ut, ub = map(float, up.split()); dt, db = map(float, down.split())
print(f"{backend:9} {int(mib)} MiB body: upload {ub / ut / 1e6:7.1f} MB/s ({ut:5.1f} s)   "
      f"download {db / dt / 1e6:7.1f} MB/s ({dt:5.1f} s)   "
      f"RSS idle {idle} MiB, peak after upload {up_hwm} MiB, after download {down_hwm} MiB   (checksum ok)")
PY
  eval "$cleanup"; trap - EXIT
}

for b in $backends; do run_backend "$b"; done
