-- GET random objects obj-1..obj-N. Args: TOKEN APP N
function init(args)
  token, app, max = args[1], args[2], tonumber(args[3])
  headers = { ["Authorization"] = "Bearer " .. token }
end
function request()
  return wrk.format("GET", "/api/apps/" .. app .. "/buckets/bench/objects/obj-" .. math.random(1, max), headers)
end
function response(status)
  if status ~= 200 then io.stderr:write("status " .. status .. "\n") end
end
