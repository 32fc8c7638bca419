# Shared by the load tool's scripts (tools/bench/*.sh), which source it after setting PORT
# (and RUNS, SECONDS_EACH): a scratch directory, clean-up of every process they start, missing
# packages, the release build, starting and stopping `eddy serve` on 127.0.0.1, driving it
# with wrk, and the results file.

# wrk's client threads. One, as redis-benchmark uses one: on 2 cores a second client thread
# takes CPU from the server under test. In four alternating pairs of 5 s put runs at 64
# connections, one thread gave Eddy more throughput and a lower p99 every time (BENCHMARKS,
# run 9). WRK_THREADS=2 reproduces the runs recorded before that one.
WRK_THREADS=${WRK_THREADS:-1}

WORK=$(mktemp -d /tmp/eddy-bench.XXXXXX)
SERVER_PID=""
REDIS_PID=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill -9 "$SERVER_PID" 2>/dev/null || true
  [ -n "$REDIS_PID" ] && kill -9 "$REDIS_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# need_tools COMMAND=PACKAGE...: installs the Debian packages of the commands that are missing.
need_tools() {
  local missing=() pair
  for pair in "$@"; do
    command -v "${pair%%=*}" >/dev/null || missing+=(${pair#*=})
  done
  if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

# Builds the release `eddy` (SKIP_BUILD=1 uses the one already built) and sets EDDY.
# EDDY_BINARY=PATH runs that binary instead, unbuilt: for comparing two builds.
build_eddy() {
  tools/setup.sh
  if [ -n "${EDDY_BINARY:-}" ]; then
    EDDY=$EDDY_BINARY
    return
  fi
  [ "${SKIP_BUILD:-0}" = 1 ] || swift build -c release --product eddy >/dev/null
  EDDY=.build/release/eddy
}

# Results go to bench-results/NAME, which git ignores.
results_file() { # name
  mkdir -p bench-results
  RESULTS="bench-results/$1"
  : > "$RESULTS"
}

record() { # scenario ops_per_sec p50_ms p99_ms note
  printf '%s\t%s\t%s\t%s\t%s\n' "$@" | tee -a "$RESULTS"
}

# One wrk run of POST /v1/events against PORT (tools/bench/events.lua); prints its RESULT line.
wrk_events() { # op batch connections keys seconds
  local threads=$WRK_THREADS
  [ "$3" -lt "$threads" ] && threads=$3
  EDDY_OP=$1 EDDY_BATCH=$2 EDDY_KEYS=$4 wrk -t"$threads" -c"$3" -d"$5s" -s tools/bench/events.lua --latency "http://127.0.0.1:$PORT" | grep '^RESULT'
}

# wrk_events' RESULT lines as "events/s p50_ms p99_ms errors", a line each.
summarize() {
  awk '{for(i=2;i<=NF;i++){split($i,kv,"=");v[kv[1]]=kv[2]} printf "%.0f %s %s %s\n", v["events"]/v["seconds"], v["p50_ms"], v["p99_ms"], v["errors"]}'
}

# One scenario, RUNS runs of SECONDS_EACH; records the median run by events/s.
eddy_wrk() { # name op batch connections keys
  local name=$1 op=$2 batch=$3 conns=$4 keys=$5
  local lines=()
  for _ in $(seq 1 "$RUNS"); do
    lines+=("$(wrk_events "$op" "$batch" "$conns" "$keys" "$SECONDS_EACH")")
  done
  local median
  median=$(printf '%s\n' "${lines[@]}" | summarize | sort -n | awk -v n="$RUNS" 'NR==int((n+1)/2)')
  set -- $median
  record "$name" "$1" "$2" "$3" "errors=$4"
}

# Starts COMMAND in the background as SERVER_PID, and returns once it prints that it listens.
launch_server() { # output-file command...
  local output=$1; shift
  "$@" > "$output" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 500); do
    grep -q "listening" "$output" 2>/dev/null && return 0
    sleep 0.01
  done
  echo "$* did not start: $(cat "$output")" >&2
  exit 1
}

start_eddy() { # config-file (or - for the embedded default) data-dir
  local config=()
  [ "$1" != "-" ] && config=(--config "$1")
  launch_server "$WORK/server.out" "$EDDY" serve "${config[@]}" --data-dir "$2" --listen "127.0.0.1:$PORT" --log-level warning
}

# The transport floor (`eddy bench floor`): the same HTTP stack answering every request with
# a fixed acknowledgement and doing no work (options: `eddy bench floor --help`). Stopped with
# stop_eddy, like a server.
start_floor() { # [options...]
  launch_server "$WORK/floor.out" "$EDDY" bench floor --listen "127.0.0.1:$PORT" "$@"
}

# The default configuration's demo data, on the server at PORT: KEYS reputation scores per
# table (uniform in 0..1, keys ip<n>, email<n>, addr<n>) and KEYS accounts acct<n> with a
# large balance, as events.lua's fraud and transfer requests expect.
preload_demo() { # keys
  python3 - "$PORT" "$1" <<'PY'
import http.client, json, random, sys
port, keys = int(sys.argv[1]), int(sys.argv[2])
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
def send(events):
    conn.request("POST", "/v1/events", json.dumps(events), {"Content-Type": "application/json"})
    reply = conn.getresponse(); body = reply.read()
    if reply.status != 200: sys.exit(f"preload failed: {reply.status} {body[:200]}")
for table, prefix in [("ip_reputation", "ip"), ("email_reputation", "email"), ("address_reputation", "addr")]:
    for start in range(1, keys + 1, 1000):
        send([{"op": "put", "table": table, "key": f"{prefix}{n}", "value": {"score": random.random()}} for n in range(start, min(start + 1000, keys + 1))])
for start in range(1, keys + 1, 1000):
    send([{"op": "put", "table": "accounts", "key": f"acct{n}", "value": {"balance": 1e9}} for n in range(start, min(start + 1000, keys + 1))])
PY
}

# Starts redis-server on 127.0.0.1:REDIS_PORT as REDIS_PID, with no snapshots and the
# persistence options given, and returns once it answers. stop_redis (or the exit) ends it.
start_redis() { # redis-server options...
  mkdir -p "$WORK/redis"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$WORK/redis" --save '' --logfile "$WORK/redis/log" "$@" &
  REDIS_PID=$!
  until redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; do sleep 0.01; done
}

stop_redis() {
  kill -9 "$REDIS_PID"
  wait "$REDIS_PID" 2>/dev/null || true  # reaped here, so the shell reports no "Killed"
  REDIS_PID=""
}

# The keys Redis's four-key MGET reads, as the demo's fraud_score looks them up: KEYS
# scores under each of ip:, email: and addr:.
preload_redis_scores() { # keys
  local prefix
  for prefix in ip email addr; do
    redis-benchmark -p "$REDIS_PORT" -c 16 -n $(($1 * 10)) -r "$1" -q SET "$prefix:__rand_int__" '{"score":0.5}' >/dev/null
  done
}

# RUNS runs of redis-benchmark with ARGS; records the median run by throughput, with its p50
# and p99 latency.
redis_median() { # name redis-benchmark-args...
  local name=$1; shift
  local lines=()
  for _ in $(seq 1 "$RUNS"); do
    lines+=("$(redis-benchmark -p "$REDIS_PORT" --csv "$@" | tail -1 | tr -d '"')")
  done
  local median
  median=$(printf '%s\n' "${lines[@]}" | awk -F, '{printf "%.0f %s %s\n", $2, $5, $7}' | sort -n | awk -v n="$RUNS" 'NR==int((n+1)/2)')
  set -- $median
  record "$name" "$1" "$2" "$3" ""
}

stop_eddy() {
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}
