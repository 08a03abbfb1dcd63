#!/usr/bin/env bash
# Time from `kumo serve` being started to `/health` answering 200, on an existing data dir.
# Usage: bench/startup.sh [RUNS]   (builds the release binary unless KUMO_BIN is set)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-20}"
if [ -z "${KUMO_BIN:-}" ]; then
  cargo build --release -q -p kumo-cli
  KUMO_BIN=target/release/kumo
fi
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
python3 - "$KUMO_BIN" "$dir" "$runs" <<'PY'
import json, os, socket, statistics, subprocess, sys, time

binary, data_dir, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
port = 18000 + os.getpid() % 1000

def start():
    return subprocess.Popen([binary, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", data_dir],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "KUMO_LOG": "warn"})

def healthy():
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return s.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False

def time_start():
    t0 = time.perf_counter()
    p = start()
    while not healthy():
        if time.perf_counter() - t0 > 10:
            p.kill(); raise SystemExit("kumo did not become healthy in 10 s")
        time.sleep(0.0005)
    ms = (time.perf_counter() - t0) * 1000
    p.terminate(); p.wait()
    return ms

first = time_start()  # creates the database and the default app
samples = sorted(time_start() for _ in range(runs))
print(f"first start (empty data dir): {first:.1f} ms")
print(f"existing data dir, {runs} runs: min {samples[0]:.1f} ms, median {statistics.median(samples):.1f} ms, "
      f"p90 {samples[int(0.9 * (runs - 1))]:.1f} ms, max {samples[-1]:.1f} ms")
PY
