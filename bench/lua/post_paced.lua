-- POST new objects at a paced rate. Args: TOKEN APP BUCKET PER_CONNECTION_RATE CONNECTIONS_PER_THREAD
-- wrk waits `delay()` after each response, so a fixed pause gives less than the rate (the
-- response time adds to it); each thread compares what it sent in the last second with its
-- share of the rate and scales the pause to match.
function init(args)
  token, app, bucket = args[1], args[2], args[3]
  per_thread = tonumber(args[4]) * tonumber(args[5] or 1)
  pause = 1000 / tonumber(args[4])
  headers = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
  n, sent, second = 0, 0, os.time()
end
function delay()
  return pause
end
function request()
  n = n + 1
  return wrk.format("POST", "/api/apps/" .. app .. "/buckets/" .. bucket .. "/objects", headers,
    string.format('{"n":%d}', n))
end
function response(status)
  if status ~= 201 then io.stderr:write("status " .. status .. "\n") end
  sent = sent + 1
  local now = os.time()
  if now ~= second then
    if sent > 0 then
      pause = math.max(0, math.min(1000, pause * sent / per_thread))
    end
    sent, second = 0, now
  end
end
