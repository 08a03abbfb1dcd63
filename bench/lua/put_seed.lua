-- Creates objects obj-<n> with PUT (client-chosen IDs, so later runs can GET them) until this
-- thread has created its share, then stops. Args: TOKEN APP START COUNT THREADS
local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end
function init(args)
  token, app = args[1], args[2]
  start, count, nthreads = tonumber(args[3]), tonumber(args[4]), tonumber(args[5])
  per = math.ceil(count / nthreads)
  sent, done = 0, 0
  headers = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
end
function request()
  local n = start + tid + sent * nthreads
  sent = sent + 1
  local body = string.format('{"owner":"owner-%d","score":%d,"name":"name-%d","tag":"t%d"}',
    n % 1000, n % 997, n, n % 7)
  return wrk.format("PUT", "/api/apps/" .. app .. "/buckets/bench/objects/obj-" .. n, headers, body)
end
function response(status)
  done = done + 1
  if status ~= 200 and status ~= 201 then io.stderr:write("status " .. status .. "\n") end
  if done >= per then wrk.thread:stop() end
end
