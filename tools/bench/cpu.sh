#!/usr/bin/env bash
# Where a request's server CPU goes, by thread: microseconds of CPU per request for each of
# the server's threads (event loops, workers, the WAL sync thread), over one wrk run. CPU
# per request varies less than throughput on a noisy machine, so it is the figure to compare
# two builds by (alternate them: EDDY_BINARY=old, then new, then old...).
#
#   OP=put CONNS=64 SECONDS_EACH=5 tools/bench/cpu.sh
#
# OP is any of tools/bench/events.lua's ops. put, incr and get run on one table `bench`;
# fraud and transfer on the embedded default configuration, preloaded with KEYS reputation
# rows per table and KEYS accounts (preload_demo in common.sh). Every process it starts
# listens on 127.0.0.1 only and is stopped by PID when it ends.
set -euo pipefail
cd "$(dirname "$0")/../.."

OP=${OP:-put}
CONNS=${CONNS:-64}
KEYS=${KEYS:-10000}
SECONDS_EACH=${SECONDS_EACH:-5}
PORT=${PORT:-7464}
source tools/bench/common.sh
need_tools wrk=wrk
build_eddy

if [ "$OP" = fraud ] || [ "$OP" = transfer ]; then
  start_eddy - "$WORK/data"
  preload_demo "$KEYS"
else
  printf 'tables:\n  - name: bench\n' > "$WORK/bench.yaml"
  start_eddy "$WORK/bench.yaml" "$WORK/data"
fi
wrk_events "$OP" 1 "$CONNS" "$KEYS" 2 > /dev/null  # warm up

# name cpu-ticks context-switches, a line per thread, summed by thread name.
threads() {
  for task in /proc/"$SERVER_PID"/task/*; do
    printf '%s %s %s\n' "$(tr ' ' _ < "$task/comm")" "$(awk '{print $14 + $15}' "$task/stat")" \
      "$(awk '/^(non)?voluntary_ctxt_switches/{s += $2} END{print s}' "$task/status")"
  done | awk '{cpu[$1] += $2; cs[$1] += $3} END{for (n in cpu) print n, cpu[n], cs[n]}' | sort
}
threads > "$WORK/before"
line=$(wrk_events "$OP" 1 "$CONNS" "$KEYS" "$SECONDS_EACH")
threads > "$WORK/after"
stop_eddy

echo "$line"
requests=$(tr ' ' '\n' <<< "$line" | awk -F= '$1 == "requests" {print $2}')
ticks=$(getconf CLK_TCK)
join "$WORK/before" "$WORK/after" | awk -v r="$requests" -v hz="$ticks" '
  { us = ($4 - $2) * 1e6 / hz / r; cs = ($5 - $3) / r; total += us; switches += cs
    if (us >= 0.5 || cs >= 0.05) printf "%-22s %7.1f us/request  %5.2f context switches/request\n", $1, us, cs }
  END { printf "%-22s %7.1f us/request  %5.2f context switches/request\n", "server total", total, switches }'
