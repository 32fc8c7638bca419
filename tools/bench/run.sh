#!/usr/bin/env bash
# Eddy's load tool: drives a real `eddy serve` over loopback with wrk (tools/bench/events.lua)
# and measures the peers in the same run: Redis via redis-benchmark, RocksDB via db_bench, and
# the transport floor (`eddy bench floor`: the same HTTP stack doing no work, driven by wrk).
# Prints one line per figure: scenario, throughput (median of RUNS runs), p50 and p99 latency
# (of the median run), and writes them to bench-results/results.tsv.
#
#   tools/bench/run.sh                # everything except the 10-million-key RSS run
#   BIG=1 tools/bench/run.sh          # also load 10,000,000 keys and report RSS
#   RUNS=3 SECONDS_EACH=5 tools/bench/run.sh
#
# Every process it starts listens on 127.0.0.1 only and is stopped by PID when it ends.
set -euo pipefail
cd "$(dirname "$0")/../.."

RUNS=${RUNS:-3}
SECONDS_EACH=${SECONDS_EACH:-5}
PORT=${PORT:-7460}
REDIS_PORT=${REDIS_PORT:-6460}
source tools/bench/common.sh
results_file results.tsv
need_tools wrk=wrk redis-benchmark="redis-server redis-tools" db_bench=rocksdb-tools
build_eddy

# Loads `count` documents bench/k1..k<count> with batched puts (for reads, RSS, recovery).
preload() { # count
  local count=$1 batch=1000
  python3 - "$PORT" "$count" "$batch" <<'PY'
import http.client, json, sys
port, count, batch = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
for start in range(1, count + 1, batch):
    events = [{"op": "put", "table": "bench", "key": f"k{n}", "value": {"v": "x" * 100}} for n in range(start, min(start + batch, count + 1))]
    conn.request("POST", "/v1/events", json.dumps(events), {"Content-Type": "application/json"})
    reply = conn.getresponse(); body = reply.read()
    if reply.status != 200: sys.exit(f"preload failed: {reply.status} {body[:200]}")
PY
}

printf 'tables:\n  - name: bench\n' > "$WORK/logged.yaml"
printf 'storage:\n  logReads: false\ntables:\n  - name: bench\n' > "$WORK/unlogged.yaml"

echo "# machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; runs=$RUNS x ${SECONDS_EACH}s" | tee -a "$RESULTS"
printf 'scenario\tops_per_s\tp50_ms\tp99_ms\tnote\n' | tee -a "$RESULTS"

# --- Eddy: durable writes, unpipelined and batched ---------------------------------------
start_eddy "$WORK/logged.yaml" "$WORK/data"
for c in 1 16 64; do eddy_wrk "eddy put c=$c" put 1 "$c" 100000; done
for c in 1 16 64; do eddy_wrk "eddy incr c=$c" incr 1 "$c" 100000; done
for c in 1 16 64; do eddy_wrk "eddy put batch=100 c=$c" put 100 "$c" 100000; done

# --- Eddy: one-off reads, with and without read records ----------------------------------
preload 100000
# Warm the block and page caches first, so the first read scenario is not the cold one.
wrk_events get 1 64 100000 5 >/dev/null
eddy_wrk "eddy get (read records) c=64" get 1 64 100000
stop_eddy
start_eddy "$WORK/unlogged.yaml" "$WORK/data"
eddy_wrk "eddy get (no read records) c=64" get 1 64 100000
stop_eddy

# --- The transport floor: HTTP alone, no work, same requests ---------------------------------
start_floor
for c in 1 16 64; do eddy_wrk "http floor (eddy bench floor) put c=$c" put 1 "$c" 100000; done
stop_eddy

# --- Recovery after kill -9 under write load ----------------------------------------------
start_eddy "$WORK/logged.yaml" "$WORK/data"
wrk_events put 100 16 100000 3 >/dev/null &
WRK_PID=$!
sleep 2
kill -9 "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
wait "$WRK_PID" 2>/dev/null || true
t0=$(date +%s.%N)
start_eddy "$WORK/logged.yaml" "$WORK/data"
until curl -sf "http://127.0.0.1:$PORT/health" >/dev/null; do sleep 0.005; done
t1=$(date +%s.%N)
record "eddy recovery after kill -9 (start to healthy)" "-" "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.0f", (b-a)*1000}')" "-" "ms; data dir $(du -sh "$WORK/data" | cut -f1)"
stop_eddy

# --- Offline audit of the same data directory ------------------------------------------------
summary=$("$EDDY" audit --data-dir "$WORK/data" --config "$WORK/logged.yaml" | tail -1)
record "eddy audit (verify chains, re-derive, compare)" "$(echo "$summary" | python3 -c 'import json,sys; print(json.load(sys.stdin)["recordsPerSecond"])')" "-" "-" "records/s; $(echo "$summary" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["recordsVerified"], "records in", d["seconds"], "s, ok =", d["ok"])')"

# --- Server RSS with 10 million keys (BIG=1) ------------------------------------------------
if [ "${BIG:-0}" = 1 ]; then
  rm -rf "$WORK/big"
  start_eddy "$WORK/logged.yaml" "$WORK/big"
  t0=$(date +%s)
  preload 10000000
  t1=$(date +%s)
  rss=$(awk '/VmRSS/{print $2}' "/proc/$SERVER_PID/status")
  record "eddy RSS with 10,000,000 keys" "$((10000000 / (t1 - t0 + 1)))" "-" "-" "RSS $((rss / 1024)) MiB after loading in $((t1 - t0)) s (ops/s = load rate)"
  stop_eddy
fi

# --- Peers, same run -------------------------------------------------------------------------
start_redis --appendonly yes --appendfsync always
for c in 1 16 64; do redis_median "redis SET appendfsync=always c=$c" -t set -c "$c" -n $((c == 1 ? 10000 : 100000)) -r 1000000 -d 100; done
redis_median "redis SET appendfsync=always c=64 pipeline=100" -t set -c 64 -n 1000000 -r 1000000 -d 100 -P 100
redis-cli -p "$REDIS_PORT" config set appendfsync no >/dev/null
redis-benchmark -p "$REDIS_PORT" -t set -n 100000 -r 100000 -d 100 -q >/dev/null
redis_median "redis GET c=64" -t get -c 64 -n 300000 -r 100000
stop_redis

rm -rf "$WORK/dbb"
dbb=$(db_bench --benchmarks=fillbatch --sync=1 --num=500000 --value_size=100 --db="$WORK/dbb" 2>/dev/null | awk '/^fillbatch/{print $5}')
record "rocksdb db_bench fillbatch sync=1" "$dbb" "-" "-" "storage limit: batches of 1000 keys, one sync each"
rm -rf "$WORK/dbb"
dbs=$(db_bench --benchmarks=fillrandom --sync=1 --num=20000 --value_size=100 --db="$WORK/dbb" 2>/dev/null | awk '/^fillrandom/{print $5}')
record "rocksdb db_bench fillrandom sync=1 (one key per sync)" "$dbs" "-" "-" "one fsync per write, single thread"

echo "results in $RESULTS"
