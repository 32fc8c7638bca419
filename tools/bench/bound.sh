#!/usr/bin/env bash
# Can the throughput targets of issues 2 and 4 be met on this machine at all? Measures, in one
# run, what each target allows per request and what the work the issues require costs at the
# least, from parts that owe nothing to Eddy's code:
#
#   budget = 2 cores / (target ratio x the peer's rate)           CPU per request, client included
#   floor  = CPU of `eddy bench floor --handoff` (HTTP answered with a fixed body after a trip
#            to a thread of the server's own and back, batched both ways, and no other work;
#            the cheaper of one event loop and one per core) + wrk's CPU. Issue 2 keeps
#            storage off the event loops, so no design it allows skips that trip
#   store  = RocksDB's own CPU per key, from db_bench, x the fewest keys the issues require the
#            request to write, + db_bench readrandom's CPU per read x its reads. Every choice
#            is the most favourable one: sequential keys, the largest batch per sync that 64
#            connections allow, reads from a database small enough to stay in memory, and
#            none of the bookkeeping Eddy adds (applied offsets, read indexes, IDs of reads).
#            A write's exactly-once check is one read of a missing key (its new request ID)
#   left   = budget - floor - store
#
# `left` is what the target leaves, per request, for everything else the server does: parse
# and validate the event, hash-chain the record, render the answer, and any hop beyond the
# one. Compare it with what Eddy spends on that (tools/bench/cpu.sh's server total, less the
# floor's server CPU and `store`). A negative
# `left` means no implementation of the design the issues prescribe reaches the target here.
#
#   tools/bench/bound.sh                  # about 3 minutes
#
# Every process it starts listens on 127.0.0.1 only and is stopped by PID when it ends.
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/../.."

SECONDS_EACH=${SECONDS_EACH:-5}
PORT=${PORT:-7465}
REDIS_PORT=${REDIS_PORT:-6465}
KEYS=${KEYS:-10000}
source tools/bench/common.sh
results_file bound.tsv
need_tools wrk=wrk redis-benchmark="redis-server redis-tools" db_bench=rocksdb-tools
build_eddy
hz=$(getconf CLK_TCK)
cores=$(nproc)

# CPU seconds (user + system) of process PID so far.
cpu_of() { awk -v hz="$hz" '{printf "%.4f", ($14 + $15) / hz}' "/proc/$1/stat"; }

# --- Peers: the rates the targets are ratios of ------------------------------------------
start_redis --appendonly yes --appendfsync always
redis_rate() { redis-benchmark -p "$REDIS_PORT" --csv "$@" | tail -1 | tr -d '"' | cut -d, -f2; }
set_rate=$(redis_rate -t set -c 64 -n 200000 -r 1000000 -d 100)
redis-cli -p "$REDIS_PORT" config set appendfsync no >/dev/null
preload_redis_scores "$KEYS"
get_rate=$(redis_rate -t get -c 64 -n 300000 -r "$KEYS")
mget_rate=$(redis_rate -c 64 -n 300000 -r "$KEYS" MGET ip:__rand_int__ email:__rand_int__ addr:__rand_int__ addr:__rand_int__)
stop_redis

# --- The HTTP floor, the hop to a thread of the server's own, and the client ---------------
floor_cpu() { # op -> "server_us wrk_us requests_per_s"; fails if the floor died or served nothing
  local before after line requests wrk_cpu
  before=$(cpu_of "$SERVER_PID")
  line=$( { /usr/bin/time -f "WRKCPU %U %S" env EDDY_OP="$1" EDDY_BATCH=1 EDDY_KEYS="$KEYS" \
      wrk -t1 -c64 -d"${SECONDS_EACH}s" -s tools/bench/events.lua "http://127.0.0.1:$PORT"; } 2>&1 )
  kill -0 "$SERVER_PID" 2>/dev/null || { echo "the floor died: $(cat "$WORK/floor.out")" >&2; return 1; }
  after=$(cpu_of "$SERVER_PID")
  requests=$(grep '^RESULT' <<< "$line" | tr ' ' '\n' | awk -F= '$1 == "requests" {print $2}')
  wrk_cpu=$(awk '/^WRKCPU/ {print $2 + $3}' <<< "$line")
  awk -v b="$before" -v a="$after" -v w="$wrk_cpu" -v r="${requests:-0}" -v s="$SECONDS_EACH" '
    BEGIN { if (r <= 0 || a <= b) { print "the floor served no requests" > "/dev/stderr"; exit 1 }
            printf "%.1f %.1f %.0f", (a - b) * 1e6 / r, w * 1e6 / r, r / s }'
}
# Each shape against one floor configuration; appends "config op server_us wrk_us rate" lines.
measure_floor() { # config-name floor-options...
  local name=$1 op cost; shift
  start_floor "$@"
  wrk_events put 1 64 "$KEYS" 2 >/dev/null  # warm up
  for op in put get fraud; do
    cost=$(floor_cpu "$op")
    echo "$name $op $cost" >> "$WORK/floors"
  done
  stop_eddy
}
# Storage must stay off the event loops (issue 2), so every request makes the trip to a thread
# of the server's own and back: the floor the bound charges is the cheapest such trip, over
# NIO's shared loops (one per core, as `eddy serve` runs) and over one loop. The plain
# floors, with no trip, show what the trip costs at each loop count.
: > "$WORK/floors"
measure_floor "plain-$cores-loops"
measure_floor "plain-1-loop" --event-loops 1
measure_floor "handoff-$cores-loops" --handoff
measure_floor "handoff-1-loop" --handoff --event-loops 1
# op -> "server_us wrk_us rate config" of the cheapest handoff floor for that op.
least_floor() {
  awk -v op="$1" '$1 ~ /^handoff/ && $2 == op && $3 > 0 && $4 > 0 {
      if (best == "" || $3 + $4 < least) { least = $3 + $4; best = $3 " " $4 " " $5 " " $1 } }
    END { if (best == "") exit 1; print best }' "$WORK/floors"
}
put_least=$(least_floor put)
get_least=$(least_floor get)
fraud_least=$(least_floor fraud)
read -r put_server put_wrk put_floor_rate put_floor_config <<< "$put_least"
read -r get_server get_wrk get_floor_rate get_floor_config <<< "$get_least"
read -r fraud_server fraud_wrk fraud_floor_rate fraud_floor_config <<< "$fraud_least"

# --- RocksDB's own cost per key and per read (db_bench) -----------------------------------
# CPU microseconds per operation of one db_bench invocation (on the database in $WORK/dbb).
db_us() { # ops db_bench-args...
  local ops=$1; shift
  /usr/bin/time -o "$WORK/db.time" -f "%U %S" db_bench --db="$WORK/dbb" --value_size=150 --key_size=24 "$@" > "$WORK/db.out" 2>&1
  awk -v n="$ops" '{printf "%.2f", ($1 + $2) * 1e6 / n}' "$WORK/db.time"
}
# A durable put writes three keys (log record, state, request ID); at 64 connections one sync
# covers at most 64 requests, so at most 192 keys. Sequential keys are the cheapest to insert.
rm -rf "$WORK/dbb"
synced_key_us=$(db_us 960000 --benchmarks=fillseq --num=960000 --batch_size=192 --sync=1)
# A write's request ID is new, so its exactly-once check reads a key that is not there: with
# Bloom filters on the memtable and the tables, as Eddy has, it rarely touches the data.
rm -rf "$WORK/dbb"
blooms=(--bloom_bits=10 --memtable_bloom_size_ratio=0.02 --memtable_whole_key_filtering=1)
db_us 30000 --benchmarks=fillseq --num=30000 "${blooms[@]}" >/dev/null
missing_us=$(db_us 1000000 --use_existing_db=1 --benchmarks=readmissing --num=30000 --reads=1000000 "${blooms[@]}")
# A read record is one key (the log record), written unsynced.
rm -rf "$WORK/dbb"
unsynced_key_us=$(db_us 960000 --benchmarks=fillseq --num=960000 --batch_size=128 --sync=0)
# A point read of a key that exists, from a database of the demo's size (30,000 keys), in memory.
rm -rf "$WORK/dbb"
db_us 30000 --benchmarks=fillseq --num=30000 >/dev/null
read_us=$(db_us 1000000 --use_existing_db=1 --benchmarks=readrandom --num=30000 --reads=1000000)
rm -rf "$WORK/dbb"

echo "# machine: $cores cores, $(free -g | awk '/Mem:/{print $2}') GiB; wrk -t1 -c64, ${SECONDS_EACH}s per shape" | tee -a "$RESULTS"
printf 'target\tbudget_us\tfloor_and_hop_server_us\twrk_us\tstorage_us\tleft_us\n' | tee -a "$RESULTS"
bound() { # name ratio peer_rate server_us wrk_us storage_us
  awk -v n="$1" -v k="$2" -v r="$3" -v s="$4" -v w="$5" -v st="$6" -v c="$cores" 'BEGIN {
    budget = c * 1e6 / (k * r); left = budget - s - w - st
    printf "%s\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\n", n, budget, s, w, st, left }' | tee -a "$RESULTS"
}
bound "durable put >= 1.0x Redis SET always ($set_rate/s)" 1.0 "$set_rate" "$put_server" "$put_wrk" \
  "$(awk -v k="$synced_key_us" -v m="$missing_us" 'BEGIN {print 3 * k + m}')"
bound "logged get >= 0.5x Redis GET ($get_rate/s)" 0.5 "$get_rate" "$get_server" "$get_wrk" \
  "$(awk -v k="$unsynced_key_us" -v r="$read_us" 'BEGIN {print k + r}')"
# fraud_score: four lookups, each a read and its read record, and the query's own record:
# five keys and four reads, none synced.
bound "fraud_score >= 0.5x Redis MGET ($mget_rate/s)" 0.5 "$mget_rate" "$fraud_server" "$fraud_wrk" \
  "$(awk -v k="$unsynced_key_us" -v r="$read_us" 'BEGIN {print 5 * k + 4 * r}')"
echo "# parts: RocksDB us/key synced (fillseq, 192 per sync) $synced_key_us; unsynced (128 per batch) $unsynced_key_us; us/read (readrandom, 30,000 keys) $read_us; us/missing read (readmissing) $missing_us" | tee -a "$RESULTS"
echo "# cheapest floor with the hop (requests/s, configuration): put-shaped $put_floor_rate ($put_floor_config), get-shaped $get_floor_rate ($get_floor_config), fraud-shaped $fraud_floor_rate ($fraud_floor_config)" | tee -a "$RESULTS"
echo "# every floor measured (configuration, shape, server us, wrk us, requests/s):" | tee -a "$RESULTS"
sed 's/^/#   /' "$WORK/floors" | tee -a "$RESULTS"
echo "results in $RESULTS"
