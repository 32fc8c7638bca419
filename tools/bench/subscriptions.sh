#!/usr/bin/env bash
# Subscription benchmarks (issue: subscriptions as persistent joins), with Redis pub/sub as
# the peer in the same run. Uses `eddy bench` (Sources/EddyBench): real SSE subscribers and
# writers over loopback, each write stamped with its send time so subscribers measure
# write-to-delivery latency.
#
#   tools/bench/subscriptions.sh                  # RUNS=3, 1,000 fan-out subscribers, 10,000 subscriptions
#   RUNS=1 FANOUT=1000 MANY=10000 RATE=1000 tools/bench/subscriptions.sh
#   ONLY_SLOW=1 SLOW_RUNS=9 tools/bench/subscriptions.sh  # only writers with and without a stopped subscriber
#
# Prints one JSON line per run and a TSV summary in bench-results/subscriptions.tsv.
# Every process it starts listens on 127.0.0.1 only and is stopped by PID when it ends.
set -euo pipefail
cd "$(dirname "$0")/../.."

RUNS=${RUNS:-3}
FANOUT=${FANOUT:-1000}
MANY=${MANY:-10000}
RATE=${RATE:-1000}
SECONDS_EACH=${SECONDS_EACH:-5}
PORT=${PORT:-7461}
REDIS_PORT=${REDIS_PORT:-6461}
source tools/bench/common.sh
results_file subscriptions.tsv
need_tools redis-server=redis-server wrk=wrk curl=curl
build_eddy
# 10,000 subscriber connections need as many file descriptors, in the tool and the server.
ulimit -n "$(ulimit -Hn)"

cat > "$WORK/eddy.yaml" <<YAML
subscriptions:
  max: 200000
tables:
  - name: counters
  - name: bench
  - name: bench_watched
YAML

start_eddy "$WORK/eddy.yaml" "$WORK/data"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --maxclients 20000 > "$WORK/redis.out" 2>&1 &
REDIS_PID=$!
sleep 0.5

summarize() { # name file-of-json-lines
  python3 - "$1" "$2" <<'PY' | tee -a "$RESULTS"
import json, statistics, sys
name, path = sys.argv[1], sys.argv[2]
runs = [json.loads(l) for l in open(path) if l.strip()]
rates = sorted(r["deliveredPerSecond"] for r in runs)
median = sorted(runs, key=lambda r: r["deliveredPerSecond"])[len(runs) // 2]
rss = median.get("serverRSSMiB")
print(f'{name}\tdelivered/s={statistics.median(rates):.0f}\tp50_ms={median["p50Millis"]}\tp99_ms={median["p99Millis"]}\t'
      f'writes={median["writes"]}\tdelivered={median["delivered"]}\tsubscribers={median["subscribers"]}\trss_mib={rss}')
PY
}

S="--server http://127.0.0.1:$PORT"
# Waits (up to 30 s) until the server holds no subscriptions, so runs do not overlap.
drained() {
  for _ in $(seq 1 300); do
    [ "$(curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^eddy_subscriptions /{print $2}')" = "0" ] && return 0
    sleep 0.1
  done
  echo "warning: subscriptions of the last run are still open" >&2
}
# ONLY_SLOW=1 runs only the slow-subscriber comparison below.
if [ "${ONLY_SLOW:-0}" != 1 ]; then
  : > "$WORK/fanout-eddy"; : > "$WORK/fanout-redis"; : > "$WORK/many"
  for _ in $(seq 1 "$RUNS"); do
    "$EDDY" bench fanout $S --subscribers "$FANOUT" --writers 16 --seconds "$SECONDS_EACH" | tee -a "$WORK/fanout-eddy"
    drained
    "$EDDY" bench fanout --redis "127.0.0.1:$REDIS_PORT" --subscribers "$FANOUT" --writers 16 --seconds "$SECONDS_EACH" | tee -a "$WORK/fanout-redis"
  done
  for _ in $(seq 1 "$RUNS"); do
    "$EDDY" bench subscriptions $S --subscriptions "$MANY" --rate "$RATE" --seconds 10 --server-pid "$SERVER_PID" | tee -a "$WORK/many"
    drained
  done
fi

# Writers with and without a subscriber that reads nothing: a stopped curl follows the
# whole of table bench_watched. Runs alternate, one writing bench (no subscriber gets those
# writes) and one writing bench_watched (all of them go to the stopped subscriber), on the
# same server at the same time, so drift on this noisy machine hits both sides alike.
# Each side's median over SLOW_RUNS runs is compared.
SLOW_RUNS=${SLOW_RUNS:-$((RUNS * 2 + 1))}
puts() { curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^eddy_events_total\{op="put"\}/{print $2}'; }
writer_run() { # table -> "events/s p50 p99 errors"
  EDDY_TABLE=$1 wrk_events put 1 16 100000 "$SECONDS_EACH" | summarize
}
median_of() { # label file-of-"events/s p50 p99"-lines
  sort -n "$2" | awk -v n="$(wc -l < "$2")" -v label="$1" 'NR==int((n+1)/2){printf "%s\tevents/s=%s\tp50_ms=%s\tp99_ms=%s\n", label, $1, $2, $3}' | tee -a "$RESULTS"
}
watched_written=0
curl -sN "http://127.0.0.1:$PORT/v1/subscribe?table=bench_watched" > "$WORK/slow.out" &
SLOW_PID=$!
# A stopped reader must not outlive the script, whatever ends it.
# (`|| true`: under `set -e` a failed kill, of a reader already gone, would end the trap
# before `cleanup`, leaving the server and Redis running.)
trap 'kill -CONT "$SLOW_PID" 2>/dev/null || true; kill "$SLOW_PID" 2>/dev/null || true; cleanup' EXIT
sleep 0.5
kill -STOP "$SLOW_PID"
: > "$WORK/writers-free"; : > "$WORK/writers-watched"
for _ in $(seq 1 "$SLOW_RUNS"); do
  writer_run bench >> "$WORK/writers-free"
  sleep 0.5  # requests still in flight when wrk stopped are counted on their own side
  before=$(puts)
  writer_run bench_watched >> "$WORK/writers-watched"
  sleep 0.5
  watched_written=$(( watched_written + $(puts) - before ))
done
stalls=$(curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^eddy_subscription_stalls_total/{print $2}')
median_of "writers c=16, no subscriber" "$WORK/writers-free"
median_of "writers c=16, one stopped subscriber" "$WORK/writers-watched"
kill -CONT "$SLOW_PID"
for _ in $(seq 1 300); do
  got=$(grep -c '^data:' "$WORK/slow.out" || true)
  [ "$got" -ge "$watched_written" ] && break
  sleep 0.2
done
kill "$SLOW_PID" 2>/dev/null || true
printf 'slow subscriber\tstalls=%s\treceived=%s\tputs_written=%s\n' "$stalls" "$got" "$watched_written" | tee -a "$RESULTS"
if [ "${ONLY_SLOW:-0}" != 1 ]; then
  summarize "eddy fan-out x$FANOUT" "$WORK/fanout-eddy"
  summarize "redis pub/sub x$FANOUT" "$WORK/fanout-redis"
  summarize "eddy $MANY subscriptions at $RATE writes/s" "$WORK/many"
fi
