#!/usr/bin/env bash
# Fan-out of one key to FANOUT subscribers with two builds of eddy, alternately, and Redis
# pub/sub between them: on this noisy machine only a comparison made in one interleaved run
# says whether a change helped.
#
#   tools/bench/fanout-compare.sh OLD_BINARY NEW_BINARY
#   ROUNDS=5 FANOUT=1000 SECONDS_EACH=5 tools/bench/fanout-compare.sh /tmp/eddy-a .build/release/eddy
#
# Prints one JSON line per run and the median delivered/s of each side; every process it
# starts listens on 127.0.0.1 only and is stopped by PID.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ $# -eq 2 ] || { echo "usage: $0 OLD_BINARY NEW_BINARY" >&2; exit 2; }
ROUNDS=${ROUNDS:-3}
FANOUT=${FANOUT:-1000}
SECONDS_EACH=${SECONDS_EACH:-5}
PORT=${PORT:-7462}
REDIS_PORT=${REDIS_PORT:-6462}
source tools/bench/common.sh
results_file fanout-compare.tsv
need_tools redis-server=redis-server
ulimit -n "$(ulimit -Hn)"
printf 'subscriptions:\n  max: 200000\ntables:\n  - name: counters\n' > "$WORK/eddy.yaml"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --maxclients 20000 > "$WORK/redis.out" 2>&1 &
REDIS_PID=$!
sleep 0.5

for round in $(seq 1 "$ROUNDS"); do
  for side in old new; do
    if [ "$side" = old ]; then EDDY=$1; else EDDY=$2; fi
    rm -rf "$WORK/data"
    start_eddy "$WORK/eddy.yaml" "$WORK/data"
    # The new build's load generator drives both servers, so only the server differs.
    "$2" bench fanout --server "http://127.0.0.1:$PORT" --subscribers "$FANOUT" --writers 16 --seconds "$SECONDS_EACH" | tee -a "$WORK/$side"
    stop_eddy
  done
  "$2" bench fanout --redis "127.0.0.1:$REDIS_PORT" --subscribers "$FANOUT" --writers 16 --seconds "$SECONDS_EACH" | tee -a "$WORK/redis"
done

for side in old new redis; do
  python3 - "$side" "$WORK/$side" <<'PY' | tee -a "$RESULTS"
import json, statistics, sys
runs = [json.loads(line) for line in open(sys.argv[2]) if line.strip()]
rates = [r["deliveredPerSecond"] for r in runs]
print(f'{sys.argv[1]}\tmedian delivered/s={statistics.median(rates):.0f}\truns={" ".join(f"{r:.0f}" for r in rates)}')
PY
done
