-- POST new objects at a paced rate per connection. Args: TOKEN APP BUCKET PER_CONNECTION_RATE
function init(args)
  token, app, bucket = args[1], args[2], args[3]
  pause = 1000 / tonumber(args[4])
  headers = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
  n = 0
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
end
