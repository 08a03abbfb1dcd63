#!/usr/bin/env bash
# Server-code benchmarks against a release build, at 32 connections:
#   - a trivial endpoint (`return params;`),
#   - an endpoint that saves one object with the admin context,
#   - deploy -> set current -> first successful run (wall time, repeated),
#   - the server's resident memory during and after the load.
# Needs wrk (Debian package). Usage: bench/servercode.sh [sqlite|postgres|both]
# (env: SECONDS_PER_RUN=10 CONNECTIONS=32)
set -euo pipefail
cd "$(dirname "$0")/.."
which wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
backends="${1:-sqlite}"; [ "$backends" = both ] && backends="sqlite postgres"
secs="${SECONDS_PER_RUN:-10}"; conns="${CONNECTIONS:-32}"; threads=2
pg_admin="${KUMO_BENCH_PG:-postgres://postgres@127.0.0.1:5432/test}"
# KUMO_BIN=path runs a binary built elsewhere (e.g. an older commit, for an A/B run).
bin="${KUMO_BIN:-target/release/kumo}"
[ -n "${KUMO_BIN:-}" ] || cargo build --release -q -p kumo-cli --bin kumo

summary() { # label, wrk output file
  awk -v label="$1" '
    /Requests\/sec/ { rps = $2 }
    $1 == "50%" { p50 = $2 } $1 == "99%" { p99 = $2 }
    /Non-2xx/ { errs = $NF }
    END { printf "%-34s %10s req/s   p50 %8s   p99 %8s   non-2xx %s\n", label, rps, p50, p99, (errs == "" ? 0 : errs) }' "$2"
}

rss() { awk '/VmRSS/ {printf "%.1f MiB", $2 / 1024}' "/proc/$1/status"; }

run_backend() {
  local backend=$1 dir port db="" pid
  dir=$(mktemp -d); port=$((20000 + RANDOM % 10000))
  local args=(serve --listen "127.0.0.1:$port" --data-dir "$dir")
  if [ "$backend" = postgres ]; then
    db="kumo_bench_$$_$RANDOM"
    psql "$pg_admin" -qc "CREATE DATABASE $db" >/dev/null
    args+=(--database-url "${pg_admin%/*}/$db")
  fi
  KUMO_LOG=warn "$bin" "${args[@]}" >/dev/null &
  pid=$!
  cleanup="kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf $dir; if [ -n '$db' ]; then psql '$pg_admin' -qc 'DROP DATABASE IF EXISTS $db' >/dev/null 2>&1; fi; true"
  trap "$cleanup" EXIT
  for _ in $(seq 200); do [ -f "$dir/default-app.json" ] && curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.05; done
  local app base admin
  read -r app cid secret < <(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(d['appID'], d['clientID'], d['clientSecret'])" "$dir/default-app.json")
  base="http://127.0.0.1:$port/api"
  admin=$(curl -sf -X POST "$base/oauth2/token" -H "x-kii-appid: $app" -d "{\"client_id\":\"$cid\",\"client_secret\":\"$secret\"}" |
    python3 -c "import json,sys; print(json.load(sys.stdin)['access_token'])")
  echo "$backend: server RSS at start $(rss $pid)"
  # Deploy -> current -> first successful run, timed end to end (each deploy is new code).
  python3 - "$base" "$app" "$admin" <<'PY'
import json, sys, time, urllib.request
base, app, admin = sys.argv[1:4]
def call(method, path, body=b"", ctype="application/json", token=admin):
    req = urllib.request.Request(base + path, data=body, method=method,
                                 headers={"content-type": ctype, "authorization": "Bearer " + token})
    with urllib.request.urlopen(req) as r:
        return r.status, r.read()
times = []
for i in range(20):
    source = f"function main(params, context) {{ return {{run: {i}, p: params}}; }}".encode()
    t0 = time.perf_counter()
    _, body = call("POST", f"/apps/{app}/server-code", source, "application/javascript")
    version = json.loads(body)["versionID"]
    call("PUT", f"/apps/{app}/server-code/versions/current", version.encode(), "text/plain")
    status, body = call("POST", f"/apps/{app}/server-code/versions/current/main", b'{"x":1}')
    times.append((time.perf_counter() - t0) * 1000)
    assert json.loads(body)["returnedValue"]["run"] == i, body
times.sort()
print(f"deploy -> first run: median {times[len(times)//2]:.1f} ms, max {times[-1]:.1f} ms (20 deploys)")
PY
  local code version
  code='function echo(params, context) { return params; }
function save(params, context, done) {
  var obj = context.getAppAdminContext().bucketWithName("bench").createObject();
  obj.set("n", params.n); obj.set("name", params.name);
  obj.save({ success: function (o) { done(o.getUUID()); }, failure: function (o, e) { throw new Error(e); } });
}'
  version=$(curl -sf -X POST "$base/apps/$app/server-code" -H "authorization: Bearer $admin" \
    -H 'content-type: application/javascript' --data-binary "$code" |
    python3 -c "import json,sys; print(json.load(sys.stdin)['versionID'])")
  curl -sf -X PUT "$base/apps/$app/server-code/versions/current" -H "authorization: Bearer $admin" -d "$version"
  local out; out=$(mktemp)
  wrk -t$threads -c$conns -d${secs}s --latency -s bench/lua/run.lua "http://127.0.0.1:$port" -- "$app" echo >"$out" 2>&1 &
  local w=$!; sleep $((secs / 2)); local during; during=$(rss $pid); wait $w
  summary "$backend: trivial endpoint" "$out"
  echo "$backend: server RSS during trivial load $during"
  wrk -t$threads -c$conns -d${secs}s --latency -s bench/lua/run.lua "http://127.0.0.1:$port" -- "$app" save >"$out" 2>&1 &
  w=$!; sleep $((secs / 2)); during=$(rss $pid); wait $w
  summary "$backend: admin-context object save" "$out"
  echo "$backend: server RSS during save load $during, after $(rss $pid)"
  rm -f "$out"
  eval "$cleanup"; trap - EXIT
}

for b in $backends; do run_backend "$b"; done
