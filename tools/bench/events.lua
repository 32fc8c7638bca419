-- wrk script: POST /v1/events with generated events, for Eddy's load tool (tools/bench/run.sh).
-- Environment:
--   EDDY_OP     put | incr | get        (default put)
--   EDDY_BATCH  events per request      (default 1: unpipelined single events)
--   EDDY_KEYS   key space for incr/get  (default 100000)
--   EDDY_VALUE  bytes of payload per put (default 100)
-- Every put/incr carries a unique request ID, so the server does its full exactly-once work.

local op = os.getenv("EDDY_OP") or "put"
local batch = tonumber(os.getenv("EDDY_BATCH") or "1")
local keys = tonumber(os.getenv("EDDY_KEYS") or "100000")
local valueBytes = tonumber(os.getenv("EDDY_VALUE") or "100")
local payload = string.rep("x", valueBytes)

local threads = {}
local counter = 0
local tid = 0

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() + tid * 7919)
  wrk.headers["Content-Type"] = "application/json"
end

local function event()
  counter = counter + 1
  local n = tid * 1000000000 + counter
  if op == "put" then
    return string.format('{"id":"b%d","op":"put","table":"bench","key":"k%d","value":{"v":"%s"}}', n, n, payload)
  elseif op == "incr" then
    return string.format('{"id":"b%d","op":"incr","table":"bench","key":"c%d","field":"n"}', n, math.random(keys))
  else
    return string.format('{"op":"get","table":"bench","key":"k%d","client":"bench"}', math.random(keys))
  end
end

function request()
  local body
  if batch == 1 then
    body = event()
  else
    local parts = {}
    for i = 1, batch do parts[i] = event() end
    body = "[" .. table.concat(parts, ",") .. "]"
  end
  return wrk.format("POST", "/v1/events", nil, body)
end

local failures = 0
function response(status, headers, body)
  if status ~= 200 then failures = failures + 1 end
end

function done(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT requests=%d events=%d seconds=%.3f p50_ms=%.3f p99_ms=%.3f errors=%d\n",
    summary.requests, summary.requests * batch, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, errors))
end
