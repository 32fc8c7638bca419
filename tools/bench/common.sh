# Shared by the load tool's scripts (tools/bench/*.sh), which source it after setting PORT:
# a scratch directory, clean-up of every process they start, missing packages, the release
# build, starting and stopping `eddy serve` on 127.0.0.1, and the results file.

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
# a fixed acknowledgement and doing no work. Stopped with stop_eddy, like a server.
start_floor() {
  launch_server "$WORK/floor.out" "$EDDY" bench floor --listen "127.0.0.1:$PORT"
}

stop_eddy() {
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}
