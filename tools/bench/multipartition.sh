#!/usr/bin/env bash
# Multi-partition scenarios of Eddy's load tool, with their Redis peer in the same run:
#   - fraud_score (a fan-out query over four reputation tables) at 64 connections, against
#     redis-benchmark MGET of four keys at 64 clients;
#   - durable transfers/s (the transfer procedure: debit, credit and outcome, each a synced
#     stage in its own partition) at 16 and 64 connections;
#   - the transport floor (`eddy bench floor`: the same HTTP stack doing no work) with the
#     same requests at 16 and 64 connections.
# Runs the default configuration (Config/eddy.yaml), which declares both.
#
#   tools/bench/multipartition.sh
#   RUNS=3 SECONDS_EACH=5 tools/bench/multipartition.sh
#
# Every process it starts listens on 127.0.0.1 only and is stopped by PID when it ends.
# Results are appended to bench-results/multipartition.tsv.
set -euo pipefail
cd "$(dirname "$0")/../.."

RUNS=${RUNS:-3}
SECONDS_EACH=${SECONDS_EACH:-5}
PORT=${PORT:-7461}
REDIS_PORT=${REDIS_PORT:-6461}
KEYS=${KEYS:-10000}
source tools/bench/common.sh
results_file multipartition.tsv
need_tools wrk=wrk redis-benchmark="redis-server redis-tools"
build_eddy
start_eddy - "$WORK/data"
preload_demo "$KEYS"

echo "# machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; runs=$RUNS x ${SECONDS_EACH}s; keys=$KEYS per table" | tee -a "$RESULTS"
printf 'scenario\tops_per_s\tp50_ms\tp99_ms\tnote\n' | tee -a "$RESULTS"

# Warm the caches, then measure.
wrk_events fraud 1 64 "$KEYS" 3 >/dev/null
eddy_wrk "eddy fraud_score c=64" fraud 1 64 "$KEYS"
eddy_wrk "eddy fraud_score c=16" fraud 1 16 "$KEYS"
eddy_wrk "eddy transfer (durable) c=16" transfer 1 16 "$KEYS"
eddy_wrk "eddy transfer (durable) c=64" transfer 1 64 "$KEYS"
stop_eddy

# The transport floor: the same requests answered by HTTP alone, doing no work.
start_floor
eddy_wrk "http floor (eddy bench floor) fraud-shaped c=64" fraud 1 64 "$KEYS"
eddy_wrk "http floor (eddy bench floor) fraud-shaped c=16" fraud 1 16 "$KEYS"
stop_eddy

# Redis: the same four-key read as one MGET, at the same concurrency, in the same run.
start_redis --appendonly no
preload_redis_scores "$KEYS"
for c in 64 16; do
  redis_median "redis MGET 4 keys c=$c" -c "$c" -n 300000 -r "$KEYS" MGET ip:__rand_int__ email:__rand_int__ addr:__rand_int__ addr:__rand_int__
done
stop_redis
echo "results in $RESULTS"
