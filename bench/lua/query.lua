-- eq owner (1,000 distinct values) + orderBy _created desc + limit 10. Args: TOKEN APP
function init(args)
  token, app = args[1], args[2]
  headers = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/vnd.kii.QueryRequest+json" }
end
function request()
  local body = string.format('{"bucketQuery":{"clause":{"type":"eq","field":"owner","value":"owner-%d"},' ..
    '"orderBy":"_created","descending":true},"bestEffortLimit":10}', math.random(0, 999))
  return wrk.format("POST", "/api/apps/" .. app .. "/buckets/bench/query", headers, body)
end
function response(status, headers, body)
  if status ~= 200 then io.stderr:write("status " .. status .. "\n") end
end
