-- wrk -s benchmarks/wrk/tools_call.lua -t T -c C -d S URL -- TOKEN VERSION [SESSIONS_FILE]
-- A JSON-RPC `tools/call` of get_profile per request, shaped as the SDK's Python client sends it:
--   VERSION 2026-07-28: no session; the MCP-Protocol-Version, Mcp-Method and Mcp-Name headers, and the
--     request's `_meta` (protocol version, client info, capabilities);
--   VERSION 2025-11-25: the MCP-Protocol-Version header; with SESSIONS_FILE (one Mcp-Session-Id a line, one per
--     thread: run with -t equal to -c), each thread's connection uses its own initialized session.
-- A reply that is not a 200 carrying a JSON-RPC result without isError counts as bad; done() prints one JSON
-- line: requests, bad, wrk's socket errors, duration and latency percentiles (microseconds).

local threads = {}
local sessions = {}
local counter = 0

function setup(thread)
  -- main state: hand each thread its session id (read from the file named by the third argument)
  table.insert(threads, thread)
  counter = counter + 1
  thread:set("index", counter)
end

function init(args)
  local token, version, file = args[1], args[2], args[3]
  local session = nil
  if file ~= nil then
    local line_number = 0
    for line in io.lines(file) do
      line_number = line_number + 1
      if line_number == index then session = line end
    end
    assert(session ~= nil, "no session id for thread " .. index)
  end
  local headers = {
    ["Authorization"] = "Bearer " .. token,
    ["Accept"] = "application/json, text/event-stream",
    ["Content-Type"] = "application/json",
    ["MCP-Protocol-Version"] = version,
  }
  local body
  if version == "2026-07-28" then
    headers["Mcp-Method"] = "tools/call"
    headers["Mcp-Name"] = "get_profile"
    body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_profile","arguments":{},'
      .. '"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",'
      .. '"io.modelcontextprotocol/clientInfo":{"name":"mcp","version":"0.1.0"},'
      .. '"io.modelcontextprotocol/clientCapabilities":{}}}}'
  else
    body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_profile","arguments":{}}}'
  end
  if session ~= nil then headers["Mcp-Session-Id"] = session end
  prepared = wrk.format("POST", nil, headers, body)
  bad = 0
  first_bad = ""
end

function request()
  return prepared
end

function response(status, headers, body)
  if status ~= 200 or not body:find('"result"', 1, true) or body:find('"isError":true', 1, true) then
    bad = bad + 1
    if first_bad == "" then first_bad = tostring(status) .. " " .. body:sub(1, 300) end
  end
end

function done(summary, latency, requests)
  local total_bad, sample = 0, ""
  for _, thread in ipairs(threads) do
    total_bad = total_bad + thread:get("bad")
    local one = thread:get("first_bad")
    if sample == "" and one ~= nil then sample = one:gsub('[%c"\\]', " ") end
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"bad":%d,"socket_errors":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"sample":"%s"}\n',
    summary.requests, total_bad, e.connect + e.read + e.write + e.status + e.timeout, summary.duration,
    latency:percentile(50), latency:percentile(99), sample))
end
