-- wrk script: POST /v1/events with generated events, for Eddy's load tool (tools/bench/run.sh).
-- Environment:
--   EDDY_OP     put | incr | get | fraud | transfer   (default put)
--               fraud: the default configuration's fraud_score query over EDDY_KEYS keys per table
--               (preloaded as ip<n>, email<n>, addr<n>); transfer: the transfer procedure between
--               EDDY_KEYS accounts acct<n>, amount 1, each call with a unique request ID
--   EDDY_BATCH  events per request      (default 1: unpipelined single events)
--   EDDY_KEYS   key space for incr/get  (default 100000)
--   EDDY_VALUE  bytes of payload per put (default 100)
--   EDDY_TABLE  table written and read      (default bench)
-- Every put/incr carries a unique request ID, so the server does its full exactly-once work.

local op = os.getenv("EDDY_OP") or "put"
local batch = tonumber(os.getenv("EDDY_BATCH") or "1")
local keys = tonumber(os.getenv("EDDY_KEYS") or "100000")
local valueBytes = tonumber(os.getenv("EDDY_VALUE") or "100")
local payload = string.rep("x", valueBytes)
local tableName = os.getenv("EDDY_TABLE") or "bench"

local threads = {}
local counter = 0
-- A prefix unique to this run and thread, so IDs never repeat across runs or threads
-- (a repeated ID would be answered as a retry, which is not what a write benchmark measures).
local run = string.format("%x", os.time())

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  -- `tid` is the global set by setup() in this thread's Lua state.
  math.randomseed(os.time() * 7919 + tid)
  run = run .. "t" .. tid
  wrk.headers["Content-Type"] = "application/json"
end

local function event()
  counter = counter + 1
  local n = counter
  if op == "put" then
    return string.format('{"id":"%s-%d","op":"put","table":"%s","key":"%s-%d","value":{"v":"%s"}}', run, n, tableName, run, n, payload)
  elseif op == "incr" then
    return string.format('{"id":"%s-%d","op":"incr","table":"%s","key":"c%d","field":"n"}', run, n, tableName, math.random(keys))
  elseif op == "fraud" then
    return string.format('{"op":"query","query":"fraud_score","input":{"ip":"ip%d","email":"email%d","billing":"addr%d","shipping":"addr%d"}}',
      math.random(keys), math.random(keys), math.random(keys), math.random(keys))
  elseif op == "transfer" then
    local from = math.random(keys)
    local to = (from - 1 + math.random(keys - 1)) % keys + 1
    return string.format('{"id":"%s-%d","op":"call","procedure":"transfer","input":{"from":"acct%d","to":"acct%d","amount":1}}', run, n, from, to)
  else
    return string.format('{"op":"get","table":"%s","key":"k%d","client":"bench"}', tableName, math.random(keys))
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

-- No response() callback: wrk already counts statuses above 399 in summary.errors.status, and
-- the callback makes it parse every response's headers and body into Lua, which took CPU from
-- the server it shares the machine with.

function done(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT requests=%d events=%d seconds=%.3f p50_ms=%.3f p99_ms=%.3f errors=%d\n",
    summary.requests, summary.requests * batch, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, errors))
end
