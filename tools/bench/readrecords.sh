#!/usr/bin/env bash
# Read-record cost (provenance issue): get throughput with read records against without, on
# one warm data directory, alternating the two RUNS times so drift hits both alike.
#
#   RUNS=3 SECONDS_EACH=5 tools/bench/readrecords.sh
#
# Every process it starts listens on 127.0.0.1 only and is stopped by PID when it ends.
set -euo pipefail
cd "$(dirname "$0")/../.."

RUNS=${RUNS:-3}
SECONDS_EACH=${SECONDS_EACH:-5}
PORT=${PORT:-7462}
source tools/bench/common.sh
need_tools wrk=wrk
build_eddy

printf 'tables:\n  - name: bench\n' > "$WORK/logged.yaml"
printf 'storage:\n  logReads: false\ntables:\n  - name: bench\n' > "$WORK/unlogged.yaml"

gets() { wrk_events get 1 64 100000 "$SECONDS_EACH" | summarize; }

start_eddy "$WORK/logged.yaml" "$WORK/data"
python3 - "$PORT" <<'PY'
import http.client, json, sys
conn = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=60)
for start in range(1, 100001, 1000):
    events = [{"op": "put", "table": "bench", "key": f"k{n}", "value": {"v": "x" * 100}} for n in range(start, start + 1000)]
    conn.request("POST", "/v1/events", json.dumps(events), {"Content-Type": "application/json"})
    reply = conn.getresponse(); reply.read()
    assert reply.status == 200
PY
gets > /dev/null  # warm the caches
stop_eddy

logged=(); unlogged=()
for _ in $(seq 1 "$RUNS"); do
  start_eddy "$WORK/logged.yaml" "$WORK/data";   logged+=("$(gets)");   stop_eddy
  start_eddy "$WORK/unlogged.yaml" "$WORK/data"; unlogged+=("$(gets)"); stop_eddy
done
median() { printf '%s\n' "$@" | sort -n | awk -v n="$#" 'NR==int((n+1)/2)'; }
L=$(median "${logged[@]}"); U=$(median "${unlogged[@]}")
echo "with read records (events/s p50 p99 errors), each run: ${logged[*]}"
echo "without, each run: ${unlogged[*]}"
echo "median with: $L"
echo "median without: $U"
awk -v l="${L%% *}" -v u="${U%% *}" 'BEGIN{printf "read-record cost: %.1f%% of get throughput\n", (u-l)/u*100}'
