"""Drives bench/hooks.sh against one running Kumo server (see the header there)."""
import datetime
import json
import sqlite3
import subprocess
import sys
import time
import urllib.request

backend, origin, creds_file, dburl, secs, rate, conns = sys.argv[1:8]
secs, rate, conns = int(secs), int(rate), int(conns)
creds = json.load(open(creds_file))
app = creds["appID"]
base = origin + "/api"


def call(method, path, body=b"", ctype="application/json", token=None):
    headers = {"content-type": ctype, "x-kii-appid": app, "x-kii-appkey": creds["appKey"]}
    if token:
        headers["authorization"] = "Bearer " + token
    req = urllib.request.Request(base + path, data=body, method=method, headers=headers)
    with urllib.request.urlopen(req) as r:
        text = r.read()
        return json.loads(text) if text else None


admin = call("POST", "/oauth2/token", json.dumps(
    {"client_id": creds["clientID"], "client_secret": creds["clientSecret"]}).encode())["access_token"]


def deploy(source, hooks):
    version = call("POST", f"/apps/{app}/server-code", source.encode(),
                   "application/javascript", admin)["versionID"]
    if hooks is not None:
        call("PUT", f"/apps/{app}/hooks/versions/{version}", json.dumps(hooks).encode(),
             "application/vnd.kii.HooksDeploymentRequest+json", admin)
    call("PUT", f"/apps/{app}/server-code/versions/current", version.encode(), "text/plain", admin)
    return version


def executions(clause):
    out, key = [], None
    while True:
        body = {"scheduleExecutionQuery": {"clause": clause}, "bestEffortLimit": 1000}
        if key:
            body["paginationKey"] = key
        r = call("POST", f"/apps/{app}/hooks/executions/query", json.dumps(body).encode(),
                 "application/vnd.kii.ScheduleExecutionQueryRequest+json", admin)
        out += r["results"]
        key = r.get("nextPaginationKey")
        if not key:
            return out


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))]


def describe(label, values):
    print(f"{backend}: {label}: n={len(values)} p50 {pct(values, 50)} ms  p99 {pct(values, 99)} ms  "
          f"max {max(values)} ms")


def sql(query):
    if backend == "sqlite":
        con = sqlite3.connect(dburl[len("sqlite:"):], timeout=30)
        try:
            return [tuple(r) for r in con.execute(query).fetchall()]
        finally:
            con.close()
    out = subprocess.run(["psql", dburl, "-At", "-F", "\t", "-c", query], check=True,
                         capture_output=True, text=True).stdout
    return [tuple(line.split("\t")) for line in out.splitlines() if line]


TRIVIAL = "function tick(params, context) { return 1; }\nfunction echo(params, context) { return params; }\n"

# 1. One job every second, idle server.
deploy(TRIVIAL, {"kiicloud://scheduler": {"single": {
    "cron": "* * * * * *", "endpoint": "tick", "what": "EXECUTE_SERVER_CODE"}}})
time.sleep(31)
deploy(TRIVIAL, None)
time.sleep(1.5)
runs = [r for r in executions({"type": "eq", "field": "name", "value": "single"}) if "finishedAt" in r]
# The first firing after the deploy, reported apart: it shows whether the node took the new
# version's schedule in at once.
runs.sort(key=lambda r: r["scheduledAt"])
print(f"{backend}: single job, first firing after the deploy: started "
      f"{runs[0]['startedAt'] - runs[0]['scheduledAt']} ms late")
describe("single job, start lag (after the first)", [r["startedAt"] - r["scheduledAt"] for r in runs[1:]])
describe("single job, end lag (after the first)", [r["finishedAt"] - r["scheduledAt"] for r in runs[1:]])

# 2. 1,000 jobs due in the same second (6-field cron, UTC), a few seconds ahead.
due = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) + datetime.timedelta(seconds=6)
cron = f"{due.second} {due.minute} {due.hour} * * *"
jobs = {f"burst{i:04d}": {"cron": cron, "endpoint": "tick", "what": "EXECUTE_SERVER_CODE"}
        for i in range(1000)}
deploy(TRIVIAL, {"kiicloud://scheduler": jobs})
time.sleep(max(0.0, due.timestamp() - time.time()) + 4)
burst = executions({"type": "prefix", "field": "name", "prefix": "burst"})
done = [r for r in burst if r.get("status") == "SUCCESS"]
print(f"{backend}: 1000 jobs due at once: {len(burst)} recorded, {len(done)} succeeded")
describe("1000 jobs, start lag", [r["startedAt"] - r["scheduledAt"] for r in burst])
describe("1000 jobs, end lag", [r["finishedAt"] - r["scheduledAt"] for r in done])

# 3. Paced creates with a trigger hook, and a manual endpoint at the same time.
deploy(TRIVIAL, {"kiicloud://buckets/paced": [
    {"when": "DATA_OBJECT_CREATED", "what": "EXECUTE_SERVER_CODE", "endpoint": "tick"}]})
load = subprocess.Popen(["wrk", "-t2", f"-c{conns}", f"-d{secs}s", "-s", "bench/lua/post_paced.lua",
                         origin, "--", admin, app, "paced", str(rate / conns), str(conns // 2)],
                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
manual = subprocess.run(["wrk", "-t1", "-c1", f"-d{secs}s", "--latency", "-s", "bench/lua/run.lua",
                         origin, "--", app, "echo"], capture_output=True, text=True).stdout
creates = load.communicate()[0]
created = int(sql("SELECT count(*) FROM events WHERE kind = 'object.created'")[0][0])
rps = next((line.split()[1] for line in creates.splitlines() if "Requests/sec" in line), "?")
p99 = next((line.split()[1] for line in manual.splitlines() if line.strip().startswith("99%")), "?")
print(f"{backend}: creates: {created} in {secs} s ({rps} req/s by wrk); manual endpoint meanwhile: p99 {p99}")
created_at = {int(seq): int(at) for seq, at in
              sql("SELECT seq, created_at FROM events WHERE kind = 'object.created'")}


def trigger_lags():
    """Change -> hook run start, from the hook runs' developer-log records (decoded from the
    log's chunks: each a JSON array of [index, time_ms, level, key, user_id, fields])."""
    lags = []
    for (body,) in sql("SELECT body FROM dev_log_chunks"):
        for _, time_ms, _, key, _, fields in json.loads(body):
            event = int(fields.get("eventID", -1))
            if key == "servercode.hook.run" and event in created_at:
                lags.append(time_ms - int(fields["durationMs"]) - created_at[event])
    return lags


deadline = time.time() + 120
while True:
    lags = trigger_lags()
    if len(lags) >= created or time.time() > deadline:
        break
    time.sleep(0.5)
print(f"{backend}: trigger runs delivered: {len(lags)} of {created}")
describe("trigger lag (change -> run start)", lags)
