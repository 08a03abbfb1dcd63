-- POST a server-code run. Args: APP ENDPOINT [TOKEN]
function init(args)
  app, endpoint, token = args[1], args[2], args[3]
  headers = { ["Content-Type"] = "application/json" }
  if token then headers["Authorization"] = "Bearer " .. token end
  n = 0
end
function request()
  n = n + 1
  return wrk.format("POST", "/api/apps/" .. app .. "/server-code/versions/current/" .. endpoint,
    headers, string.format('{"n":%d,"name":"bench"}', n))
end
function response(status)
  if status ~= 200 then io.stderr:write("status " .. status .. "\n") end
end
