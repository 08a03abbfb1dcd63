-- POST new objects (server-chosen IDs). Args: TOKEN APP
function init(args)
  token, app = args[1], args[2]
  headers = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
  n = 0
end
function request()
  n = n + 1
  local body = string.format('{"owner":"owner-%d","score":%d,"name":"post-%d","tag":"t%d"}',
    math.random(0, 999), math.random(0, 996), n, n % 7)
  return wrk.format("POST", "/api/apps/" .. app .. "/buckets/postbench/objects", headers, body)
end
function response(status)
  if status ~= 201 then io.stderr:write("status " .. status .. "\n") end
end
